//! The journey endpoints: the `url` handed to the business (redirects to
//! DigiLocker's authorize), and the callback DigiLocker returns to.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;

use crate::api::{aad, JourneySecrets, StoredToken, UserDetails};
use crate::app::{now, AppState};
use crate::domain::{parse_request_id, RedirectUrl};
use crate::storage::RequestRecord;
use crate::{crypto, upstream};

/// A page telling the user what happened when we can't send them back.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let html = MessagePage { title, message }
        .render()
        .unwrap_or_else(|_| title.to_owned());
    (
        status,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Html(html),
    )
        .into_response()
}

fn open_secrets(state: &AppState, r: &RequestRecord) -> anyhow::Result<JourneySecrets> {
    state
        .keys
        .open_json(&aad(&r.id, "journey"), &r.pkce_verifier)
}

/// `GET /digilocker/{id}/start`: send the user to DigiLocker.
pub async fn start(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(id) = parse_request_id(&id) else {
        return page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This link is not valid. Please start again from the website that sent you here.",
        );
    };
    let r = match state.store.get_live_request(&id, now()).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return page(StatusCode::NOT_FOUND, "Link expired", "This link has expired or is not valid. Please start again from the website that sent you here.")
        }
        Err(e) => {
            tracing::error!(error = %e, "database error");
            return page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "Please try again in a moment.");
        }
    };
    if r.status != "unauthenticated" || r.callback_used != 0 {
        return page(StatusCode::CONFLICT, "Already used", "This link has already been used. Please start again from the website that sent you here.");
    }
    let secrets = match open_secrets(&state, &r) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot open journey secrets");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again in a moment.",
            );
        }
    };
    let url = state.dl.authorize_url(&digilocker::AuthorizeParams {
        state: secrets.state,
        code_challenge: secrets.challenge,
        req_doctype: r
            .doc_types
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        ..Default::default()
    });
    tracing::info!(request_id = %r.id, "journey started");
    Redirect::to(url.as_str()).into_response()
}

/// What DigiLocker sends back.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Doc types the user consented to, from the token's scope
/// (`issued/in.gov.pan-PANCR-...`, `file.partners/...`).
pub fn scope_doc_types(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in scope.split_whitespace() {
        let Some((_, uri)) = item.split_once('/') else {
            continue;
        };
        if let Some(doc) = uri.split('-').nth(1) {
            if !doc.is_empty()
                && doc.bytes().all(|b| b.is_ascii_alphanumeric())
                && !out.iter().any(|d| d == doc)
            {
                out.push(doc.to_owned());
            }
        }
    }
    out
}

fn clean(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// `GET /digilocker/callback`: finish the journey and send the user back to
/// the business. A replayed, forged or late callback changes nothing.
pub async fn callback(State(state): State<AppState>, Query(q): Query<CallbackQuery>) -> Response {
    let Some(raw_state) = q
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 256)
    else {
        return page(StatusCode::BAD_REQUEST, "Link not valid", "This sign-in link is not valid. Please start again from the website that sent you here.");
    };
    let r = match state
        .store
        .claim_callback(&crypto::hash_secret(raw_state), now())
        .await
    {
        Ok(Some(r)) => r,
        Ok(None) => {
            tracing::warn!("callback with an unknown, used or expired state");
            return page(StatusCode::BAD_REQUEST, "Link not valid", "This sign-in has already finished or has expired. Please start again from the website that sent you here.");
        }
        Err(e) => {
            tracing::error!(error = %e, "database error");
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again in a moment.",
            );
        }
    };
    let Ok(redirect) = RedirectUrl::parse(&r.redirect_url, state.config.sandbox_mode(), "") else {
        return page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Please go back to the website that sent you here.",
        );
    };
    let fail = |code: &str, message: &str| {
        redirect.with_params(&[
            ("success", "False"),
            ("id", &r.id),
            ("errCode", code),
            ("errMessage", message),
        ])
    };

    if let Some(error) = q.error.as_deref() {
        let description = clean(
            q.error_description
                .as_deref()
                .unwrap_or("The user did not give consent."),
            200,
        );
        let code = if error == "access_denied" {
            "user_consent_not_given".to_owned()
        } else {
            clean(error, 64)
        };
        if let Err(e) = state
            .store
            .set_consent_failed(&r.id, &code, &description)
            .await
        {
            tracing::error!(error = %e, "cannot record consent failure");
        }
        tracing::info!(request_id = %r.id, code = %code, "journey ended without consent");
        return Redirect::to(fail(&code, &description).as_str()).into_response();
    }
    let Some(code) = q
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 512)
    else {
        return Redirect::to(
            fail(
                "upstream_server_error",
                "DigiLocker returned neither a code nor an error.",
            )
            .as_str(),
        )
        .into_response();
    };
    match finish(&state, &r, code).await {
        Ok(scope) => {
            tracing::info!(request_id = %r.id, "journey authenticated");
            let url = redirect.with_params(&[
                ("success", "True"),
                ("id", &r.id),
                ("scope", &scope.join(" ")),
            ]);
            Redirect::to(url.as_str()).into_response()
        }
        Err((code, message)) => {
            if let Err(e) = state.store.set_consent_failed(&r.id, code, message).await {
                tracing::error!(error = %e, "cannot record journey failure");
            }
            Redirect::to(fail(code, message).as_str()).into_response()
        }
    }
}

async fn finish(
    state: &AppState,
    r: &RequestRecord,
    code: &str,
) -> Result<Vec<String>, (&'static str, &'static str)> {
    let internal = (
        "internal_server_error",
        "The gateway could not complete the sign-in.",
    );
    let secrets = open_secrets(state, r).map_err(|_| internal)?;
    let token = upstream::call(
        state,
        "token",
        state
            .dl
            .exchange_code(code, &SecretString::from(secrets.verifier)),
    )
    .await
    .map_err(|e| match e {
        digilocker::Error::Upstream { .. } => (
            "invalid_grant",
            "DigiLocker did not accept the sign-in; please try again.",
        ),
        _ => (
            "upstream_server_error",
            "DigiLocker could not be reached; please try again.",
        ),
    })?;
    let stored = StoredToken {
        access_token: token.access_token.clone(),
        refresh_token: token.refresh_token.clone(),
        expires_at: token.expires_in.map(|s| now() + s).unwrap_or(0),
    };
    let details = UserDetails {
        digilocker_id: token.digilockerid.clone().unwrap_or_default(),
        email: token.email.clone().unwrap_or_default(),
        phone_number: token.mobile.clone().unwrap_or_default(),
    };
    let scope = token.scope.clone().unwrap_or_default();
    let sealed_token = state
        .keys
        .seal_json(&aad(&r.id, "token"), &stored)
        .map_err(|_| internal)?;
    let sealed_user = state
        .keys
        .seal_json(&aad(&r.id, "user"), &details)
        .map_err(|_| internal)?;
    state
        .store
        .set_authenticated(&r.id, &sealed_token, &sealed_user, &scope)
        .await
        .map_err(|_| internal)?;
    Ok(scope_doc_types(&scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_parsing() {
        let s = "files.issueddocs issued/in.gov.transport-DRVLC-MH1234 userdetails picture issued/in.gov.pan-PANCR-ABCDE1234F file.partners/in.gov.cbse-SSCER issued/in.gov.pan-PANCR-X";
        assert_eq!(scope_doc_types(s), vec!["DRVLC", "PANCR", "SSCER"]);
        assert!(scope_doc_types("files.issueddocs userdetails").is_empty());
    }
}
