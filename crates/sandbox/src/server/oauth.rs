//! `oauth2/1/token` and `oauth2/1/revoke`.

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{basic_credentials, secret_eq, ApiError, Shared, SharedState};
use crate::spelling::Spelling;
use crate::store::{random_token, AccessRecord, Grant, Store};

type Form = HashMap<String, String>;

/// Whether the request says or looks like it carries JSON.
fn is_json(headers: &HeaderMap, body: &Bytes) -> bool {
    let declared = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    declared || body.trim_ascii_start().starts_with(b"{")
}

/// The fields of a form-encoded body. The token endpoint takes only a form,
/// as DigiLocker's spec says ("passed as application/x-www-form-urlencoded
/// POST parameters"); a JSON body is `400 invalid_request`. The revoke
/// endpoint also takes a JSON object (`json_too`), the request body its
/// published schema shows.
fn parse_form(headers: &HeaderMap, body: &Bytes, json_too: bool) -> Result<Form, ApiError> {
    if is_json(headers, body) {
        if !json_too {
            return Err(ApiError::invalid_request(
                "the body must be application/x-www-form-urlencoded, not JSON",
            ));
        }
        let object: HashMap<String, Value> = serde_json::from_slice(body).map_err(|e| {
            ApiError::invalid_request(format!("the JSON body is not an object of strings: {e}"))
        })?;
        return Ok(object
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect());
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .map(|pairs| pairs.into_iter().collect())
        .map_err(|e| {
            ApiError::invalid_request(format!(
                "the body must be application/x-www-form-urlencoded: {e}"
            ))
        })
}

fn field<'a>(form: &'a Form, name: &str) -> Option<&'a str> {
    form.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// The client, authenticated by HTTP Basic or by `client_id` +
/// `client_secret` form fields.
fn authenticate_client(
    shared: &Shared,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Option<String>, ApiError> {
    let presented = basic_credentials(headers).or_else(|| {
        Some((
            field(form, "client_id")?.to_owned(),
            field(form, "client_secret")?.to_owned(),
        ))
    });
    let Some((client_id, secret)) = presented else {
        return Ok(None);
    };
    let store = shared.store();
    match store.apps.get(&client_id) {
        Some(app) if secret_eq(&app.client_secret, &secret) => Ok(Some(client_id)),
        _ => Err(ApiError::invalid_client()),
    }
}

/// `POST oauth2/1/token`.
pub(crate) async fn token(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = parse_form(&headers, &body, false)?;
    let client_id = authenticate_client(&shared, &headers, &form)?.ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication is required: send client_id and client_secret in the body or HTTP Basic",
        )
    })?;
    let answer = match field(&form, "grant_type") {
        Some("authorization_code") => exchange_code(&shared, &client_id, &form)?,
        Some("refresh_token") => refresh(&shared, &client_id, &form)?,
        Some(other) => {
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                "grant_type {other:?} is not supported; use authorization_code or refresh_token"
            ),
            ))
        }
        None => return Err(ApiError::invalid_request("grant_type is missing")),
    };
    Ok((
        [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")],
        Json(answer),
    )
        .into_response())
}

/// The S256 challenge of a verifier.
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636: 43 to 128 characters of `[A-Za-z0-9-._~]`.
fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn exchange_code(shared: &Shared, client_id: &str, form: &Form) -> Result<Value, ApiError> {
    let code = field(form, "code").ok_or_else(|| ApiError::invalid_request("code is missing"))?;
    let mut store = shared.store();
    let record = store
        .codes
        .get_mut(code)
        .filter(|c| c.client_id == client_id)
        .ok_or_else(|| ApiError::invalid_grant("The authorization code is invalid"))?;
    if record.used {
        // A replayed code may mean it was stolen: kill every token already
        // issued from it (RFC 6749 section 4.1.2).
        let grant_id = record.grant.clone();
        revoke_grant(&mut store, &grant_id);
        tracing::warn!(
            client_id,
            "authorization code replayed; its tokens are revoked"
        );
        return Err(ApiError::invalid_grant(
            "The authorization code has already been used; tokens issued from it are revoked",
        ));
    }
    // One attempt per code, whatever its outcome: a wrong verifier cannot
    // be retried until it matches.
    record.used = true;
    let record = record.clone();
    if record.expires <= Instant::now() {
        return Err(ApiError::invalid_grant(
            "The authorization code has expired",
        ));
    }
    match field(form, "redirect_uri") {
        Some(uri) if uri == record.redirect_uri => {}
        Some(_) => {
            return Err(ApiError::invalid_grant(
                "redirect_uri does not match the one the authorization code was issued for",
            ))
        }
        None => return Err(ApiError::invalid_request("redirect_uri is missing")),
    }
    let verifier = field(form, "code_verifier")
        .ok_or_else(|| ApiError::invalid_grant("code_verifier is missing (PKCE is required)"))?;
    if !valid_verifier(verifier) || !secret_eq(&s256(verifier), &record.code_challenge) {
        return Err(ApiError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let refresh = random_token();
    store
        .refresh_tokens
        .insert(refresh.clone(), record.grant.clone());
    token_answer(shared, &mut store, &record.grant, refresh)
}

fn refresh(shared: &Shared, client_id: &str, form: &Form) -> Result<Value, ApiError> {
    let refresh = field(form, "refresh_token")
        .ok_or_else(|| ApiError::invalid_request("refresh_token is missing"))?;
    let mut store = shared.store();
    let grant_id = store
        .refresh_tokens
        .get(refresh)
        .cloned()
        .ok_or_else(|| ApiError::invalid_grant("The refresh token is invalid"))?;
    let grant = store
        .grants
        .get(&grant_id)
        .ok_or_else(|| ApiError::invalid_grant("The refresh token is invalid"))?;
    if grant.client_id != client_id {
        return Err(ApiError::invalid_grant("The refresh token is invalid"));
    }
    if grant.revoked {
        return Err(ApiError::invalid_grant(
            "The refresh token has been revoked",
        ));
    }
    if grant.consent_valid_till <= now_unix() {
        return Err(ApiError::invalid_grant(
            "The user's consent has expired; ask the user to consent again",
        ));
    }
    let refresh = if shared.config.quirks {
        // Rotation: a new refresh token each time; the one just used is dead.
        store.refresh_tokens.remove(refresh);
        let fresh = random_token();
        store.refresh_tokens.insert(fresh.clone(), grant_id.clone());
        fresh
    } else {
        refresh.to_owned()
    };
    token_answer(shared, &mut store, &grant_id, refresh)
}

pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Mint an access token for `grant_id` and describe it the way DigiLocker
/// does.
fn token_answer(
    shared: &Shared,
    store: &mut Store,
    grant_id: &str,
    refresh_token: String,
) -> Result<Value, ApiError> {
    let grant = store
        .grants
        .get(grant_id)
        .ok_or_else(|| ApiError::unexpected("a code points at a missing grant"))?;
    // An access token never outlives the consent it stands for.
    let consent_left = u64::try_from(grant.consent_valid_till - now_unix()).unwrap_or(0);
    let ttl = shared
        .config
        .access_token_ttl
        .min(std::time::Duration::from_secs(consent_left));
    let access = random_token();
    let position = grant.account;
    let account = store
        .accounts
        .get_mut(position)
        .ok_or_else(|| ApiError::unexpected("a grant points at a missing account"))?;
    let spelling = if shared.config.quirks {
        Spelling::of_token_answer(position, account.token_answers)
    } else {
        Spelling::SERVICE
    };
    account.token_answers += 1;
    let citizen = &account.citizen;
    let mut answer = json!({
        "access_token": access,
        "expires_in": ttl.as_secs(),
        "token_type": "Bearer",
        "scope": scope(grant),
        "refresh_token": refresh_token,
        "name": citizen.name,
        "gender": citizen.gender,
        "reference_key": grant.reference_key,
        "new_account": yes_no(grant.new_account),
    });
    let dob = citizen.dob.replace('-', "");
    answer[spelling.id_field()] = json!(citizen.digilocker_id);
    answer[spelling.eaadhaar_field()] = json!(yes_no(eaadhaar_available(citizen)));
    if spelling.service_types {
        answer["dob"] = json!(dob);
        answer["consent_valid_till"] = json!(grant.consent_valid_till);
    } else {
        // The types of DigiLocker's own AccessResponse schema: `dob` an
        // integer (so 01011990 arrives as 1011990), `consent_valid_till` a
        // string.
        answer["dob"] = dob.parse::<u64>().map_or_else(|_| json!(dob), |n| json!(n));
        answer["consent_valid_till"] = json!(grant.consent_valid_till.to_string());
    }
    if let Some(mobile) = &citizen.mobile {
        answer["mobile"] = json!(mobile);
    }
    if !citizen.email.is_empty() {
        answer["email"] = json!(citizen.email);
    }
    store.access_tokens.insert(
        access,
        AccessRecord {
            grant: grant_id.to_owned(),
            expires: Instant::now() + ttl,
        },
    );
    Ok(answer)
}

pub(crate) fn eaadhaar_available(citizen: &crate::seed::Citizen) -> bool {
    citizen.aadhaar.is_some() && citizen.eaadhaar_available
}

pub(crate) fn yes_no(value: bool) -> &'static str {
    if value {
        "Y"
    } else {
        "N"
    }
}

/// The consented scope, e.g. `files.issueddocs userdetails picture
/// issued/in.gov.pan-PANCR-... file.partners/DRVLC`.
fn scope(grant: &Grant) -> String {
    let mut parts = vec![
        "files.issueddocs".to_owned(),
        "userdetails".to_owned(),
        "picture".to_owned(),
    ];
    parts.extend(grant.documents.iter().map(|uri| format!("issued/{uri}")));
    parts.extend(
        grant
            .partners
            .iter()
            .map(|doctype| format!("file.partners/{doctype}")),
    );
    parts.join(" ")
}

/// Kill a grant and every token issued under it.
pub(crate) fn revoke_grant(store: &mut Store, grant_id: &str) {
    if let Some(grant) = store.grants.get_mut(grant_id) {
        grant.revoked = true;
    }
    store.access_tokens.retain(|_, t| t.grant != grant_id);
    store.refresh_tokens.retain(|_, g| g != grant_id);
}

/// `POST oauth2/1/revoke`: `token` and optional `token_type_hint`. Revoking
/// either token of a grant revokes the whole grant ("other tokens based on
/// the same authorisation grant", as DigiLocker's spec says). A token that is
/// unknown, already revoked or expired is `400 invalid_token` "The token is
/// invalid", DigiLocker's documented answer (not RFC 7009's success). Client
/// credentials are optional; when sent they must be right, and another
/// client's token is invalid for them.
pub(crate) async fn revoke(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = parse_form(&headers, &body, true)?;
    let client = authenticate_client(&shared, &headers, &form)?;
    let token =
        field(&form, "token").ok_or_else(|| ApiError::invalid_request("token is missing"))?;
    let hint = field(&form, "token_type_hint");
    if let Some(hint) = hint {
        if hint != "access_token" && hint != "refresh_token" {
            return Err(ApiError::invalid_request(
                "token_type_hint must be access_token or refresh_token",
            ));
        }
    }
    let mut store = shared.store();
    let grant_id = store
        .access_tokens
        .get(token)
        .map(|t| t.grant.clone())
        .or_else(|| store.refresh_tokens.get(token).cloned());
    let owned = grant_id.filter(|id| {
        store
            .grants
            .get(id)
            .is_some_and(|g| !g.revoked && client.as_deref().is_none_or(|c| c == g.client_id))
    });
    let Some(grant_id) = owned else {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_token",
            "The token is invalid",
        ));
    };
    revoke_grant(&mut store, &grant_id);
    tracing::info!("consent revoked");
    Ok(Json(json!({})).into_response())
}
