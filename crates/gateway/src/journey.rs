//! The journey endpoints: the `url` handed to the business (redirects to
//! DigiLocker's authorize), and the callback DigiLocker returns to.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::{
    consented_doc_types, parse_request_id, scope_param, RedirectUrl, RequestStatus,
};
use crate::http::extract::ApiPath;
use crate::sealed::{request_key, JourneySecrets, Sealed, StoredToken, UserDetails};
use crate::state::AppState;
use crate::storage::{EventKind, NewEvent, RequestRecord};
use crate::{crypto, upstream};

/// The journey's routes: the `url` handed to the business, and the
/// callback registered with DigiLocker.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/digilocker/{id}/start", get(start))
        .route("/digilocker/callback", get(callback))
}

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
    let key = request_key(&state.keys, r)?
        .ok_or_else(|| anyhow::anyhow!("the request's data was erased"))?;
    key.open_json(&Sealed::Journey.aad(&r.id), &r.journey_secrets)
}

/// The event a journey's failure is recorded as.
fn failure_event(code: &str, now: i64) -> NewEvent {
    let kind = if code == "user_consent_not_given" {
        EventKind::ConsentDenied
    } else {
        EventKind::JourneyFailed
    };
    NewEvent::new(kind, serde_json::json!({"errCode": code}), now)
}

/// The secret part of a journey link.
#[derive(Debug, serde::Deserialize)]
pub struct StartQuery {
    t: Option<String>,
}

/// `GET /digilocker/{id}/start?t=…`: send the user to DigiLocker.
pub async fn start(
    State(state): State<AppState>,
    id: Result<ApiPath<String>, crate::error::ApiError>,
    query: Result<axum::extract::Query<StartQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let id = id.map(|p| p.0).unwrap_or_default();
    let token = query.ok().and_then(|q| q.0.t).unwrap_or_default();
    let Some(id) = parse_request_id(&id).filter(|id| state.keys.journey_link_matches(id, &token))
    else {
        return page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This link is not valid. Please start again from the website that sent you here.",
        );
    };
    let r = match state.store.get_live_request(&id, state.now()).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return page(StatusCode::NOT_FOUND, "Link expired", "This link has expired or is not valid. Please start again from the website that sent you here.")
        }
        Err(e) => {
            tracing::error!(error = %e, "database error");
            return page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "Please try again in a moment.");
        }
    };
    if r.status != RequestStatus::Unauthenticated
        || r.callback_used != 0
        || r.consent_error_code.is_some()
    {
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
    let event = NewEvent::new(
        EventKind::JourneyStarted,
        serde_json::json!({}),
        state.now(),
    );
    if let Err(e) = state.store.record_event(&r.id, &r.client_id, &event).await {
        tracing::error!(error = %e, "cannot record the journey's start");
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Something went wrong",
            "Please try again in a moment.",
        );
    }
    tracing::info!(request_id = %r.id, "journey started");
    Redirect::to(url.as_str()).into_response()
}

/// What DigiLocker sends back.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The documented `errCode` and our `errMessage` for an error DigiLocker
/// ended the journey with. The user's own doing (denying, failing to sign
/// in) is `user_consent_not_given`; anything else, known or not, is
/// `upstream_server_error`.
pub fn journey_error(error: &str) -> (&'static str, &'static str) {
    match error {
        "access_denied" => (
            "user_consent_not_given",
            "The user denied access to their DigiLocker.",
        ),
        "mobile_not_linked" => (
            "user_consent_not_given",
            "The user's Aadhaar has no linked mobile number, so they could not sign up to DigiLocker.",
        ),
        "otp_attempts_exceeded" => (
            "user_consent_not_given",
            "The user entered a wrong OTP too many times; the sign-in was stopped.",
        ),
        "pin_attempts_exceeded" => (
            "user_consent_not_given",
            "The user entered a wrong security PIN too many times; the sign-in was stopped.",
        ),
        "login_required" | "consent_required" | "interaction_required" => (
            "user_consent_not_given",
            "The user did not finish signing in to DigiLocker.",
        ),
        _ => (
            "upstream_server_error",
            "DigiLocker ended the sign-in with an error; please try again.",
        ),
    }
}

fn clean(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// `GET /digilocker/callback`: finish the journey and send the user back to
/// the business. A replayed, forged or late callback changes nothing.
pub async fn callback(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    // A query we can't read (bad encoding, a parameter twice) is as good as none.
    let q: CallbackQuery =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let Some(raw_state) = q
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 256)
    else {
        return page(StatusCode::BAD_REQUEST, "Link not valid", "This sign-in link is not valid. Please start again from the website that sent you here.");
    };
    let r = match state
        .store
        .claim_callback(&crypto::state_key(raw_state), state.now())
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
    let fail = |code: &str, message: &str| -> url::Url {
        redirect.with_params(&[
            ("success", "False"),
            ("id", &r.id),
            ("errCode", code),
            ("errMessage", message),
        ])
    };

    if let Some(error) = q.error.as_deref() {
        // Only our own words reach the business: whatever DigiLocker (or
        // someone forging a callback) wrote goes to the log, cleaned.
        let (code, description) = journey_error(error);
        if let Err(e) = state
            .store
            .set_consent_failed(&r.id, code, description, &failure_event(code, state.now()))
            .await
        {
            tracing::error!(error = %e, "cannot record consent failure");
        }
        tracing::info!(
            request_id = %r.id,
            code,
            upstream_error = %clean(error, 64),
            upstream_description = %clean(q.error_description.as_deref().unwrap_or_default(), 200),
            "journey ended without consent"
        );
        return Redirect::to(fail(code, description).as_str()).into_response();
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
                ("scope", &scope_param(&scope)),
            ]);
            Redirect::to(url.as_str()).into_response()
        }
        Err((code, message)) => {
            let event = failure_event(code, state.now());
            if let Err(e) = state
                .store
                .set_consent_failed(&r.id, code, message, &event)
                .await
            {
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
    let key = request_key(&state.keys, r).ok().flatten().ok_or(internal)?;
    let secrets: JourneySecrets = key
        .open_json(&Sealed::Journey.aad(&r.id), &r.journey_secrets)
        .map_err(|_| internal)?;
    let token = upstream::call(
        &state.metrics,
        "token",
        state
            .dl
            .exchange_code(code, &SecretString::from(secrets.verifier)),
    )
    .await
    .map_err(|e| upstream::token_exchange_error(&e))?;
    let stored = StoredToken::from_response(&token, None, state.now());
    let details = UserDetails {
        digilocker_id: token.digilockerid.clone().unwrap_or_default(),
        email: token.email.clone().unwrap_or_default(),
        phone_number: token.mobile.clone().unwrap_or_default(),
    };
    let scope = token.scope.clone().unwrap_or_default();
    let seal = |column: Sealed, plain: &[u8]| key.seal(&column.aad(&r.id), plain);
    let sealed_token = serde_json::to_vec(&stored)
        .map_err(anyhow::Error::from)
        .and_then(|t| seal(Sealed::Token, &t))
        .map_err(|_| internal)?;
    let sealed_user = serde_json::to_vec(&details)
        .map_err(anyhow::Error::from)
        .and_then(|d| seal(Sealed::User, &d))
        .map_err(|_| internal)?;
    let sealed_scope = seal(Sealed::Scope, scope.as_bytes()).map_err(|_| internal)?;
    let doc_types = consented_doc_types(&scope);
    let event = NewEvent::new(
        EventKind::ConsentGiven,
        serde_json::json!({"docTypes": doc_types}),
        state.now(),
    );
    state
        .store
        .set_authenticated(&r.id, &sealed_token, &sealed_user, &sealed_scope, &event)
        .await
        .map_err(|_| internal)?;
    Ok(doc_types)
}
