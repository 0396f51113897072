//! Creating a request, its status, and revoking it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::caller_request;
use super::model::{
    CreateRequest, DocTypes, ErrorBody, RequestView, RevokeResponse, StatusView, UserDetailsView,
};
use crate::auth::Caller;
use crate::crypto;
use crate::domain::{DocType, RedirectUrl, RequestStatus};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiPath};
use crate::http::trace::current_trace_id;
use crate::sealed::{request_key, JourneySecrets, Sealed, StoredToken, UserDetails};
use crate::state::AppState;
use crate::storage::{EventKind, NewEvent, NewRequest, RequestRecord};
use crate::timefmt::ist;

/// Most doc types a request may ask DigiLocker to offer.
const MAX_DOC_TYPES: usize = 20;

/// Where the business sends its user: the journey's start. The id is
/// time-ordered (a few dozen random bits per millisecond), so the link
/// also carries 128 secret bits (`t`) that only this gateway's master key
/// makes.
fn start_url(state: &AppState, id: &str) -> String {
    let token = state.keys.journey_link_token(id);
    state.public_url(&format!("/digilocker/{id}/start?t={token}"))
}

fn view(state: &AppState, r: &RequestRecord) -> RequestView {
    RequestView {
        id: r.id.clone(),
        status: r.status,
        url: start_url(state, &r.id),
        valid_upto: ist(r.valid_upto),
    }
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let mut values = headers.get_all("idempotency-key").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 128 && values.next().is_none())
        .ok_or_else(|| {
            ApiError::InvalidPayload(
                "Idempotency-Key must be one header of 1-128 visible characters.".into(),
            )
        })?;
    Ok(Some(key.to_owned()))
}

fn doc_types(requested: Option<DocTypes>) -> ApiResult<Vec<String>> {
    let list: Vec<String> = match requested {
        None => Vec::new(),
        Some(DocTypes::One(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(DocTypes::Many(items)) => items,
    };
    if list.len() > MAX_DOC_TYPES {
        return Err(ApiError::InvalidPayload(format!(
            "docType lists more than {MAX_DOC_TYPES} document types."
        )));
    }
    for d in &list {
        DocType::parse(d).map_err(ApiError::InvalidPayload)?;
    }
    Ok(list)
}

/// The same meaningful body gives the same fingerprint, however it was
/// spaced or ordered.
fn fingerprint(body: &CreateRequest) -> ApiResult<Vec<u8>> {
    let canonical = serde_json::to_value(body)
        .and_then(|v| serde_json::to_vec(&v))
        .map_err(anyhow::Error::from)?;
    Ok(Sha256::digest(canonical).to_vec())
}

/// An earlier request made with the same key: the same answer when the body
/// is the same, `422` when it is not.
fn replay(
    state: &AppState,
    existing: &RequestRecord,
    print: &[u8],
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    if existing.idempotency_fingerprint.as_deref() != Some(print) {
        return Err(ApiError::IdempotencyKeyMismatch);
    }
    Ok((StatusCode::CREATED, Json(view(state, existing))))
}

/// Create a DigiLocker request.
#[utoipa::path(
    post, path = "/api/digilocker", tag = "requests",
    request_body = CreateRequest,
    params(("Idempotency-Key" = Option<String>, Header,
            description = "Ours: a retry with the same key and body answers the first request; another body is 422.")),
    responses(
        (status = 201, description = "Created; send the user to `url`.", body = RequestView),
        (status = 400, description = "`invalid_redirect_url`, `invalid_payload`.", body = ErrorBody),
        (status = 401, description = "`vault_secret_error` (a credential header missing), `unauthorized`.", body = ErrorBody),
        (status = 422, description = "`idempotency_key_mismatch`.", body = ErrorBody),
    ),
    security(("client" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateRequest>,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    let client_id = caller.0.client_id.as_str();
    let key = idempotency_key(&headers)?;
    // Only a keyed create is compared with an earlier one.
    let print = match &key {
        Some(_) => Some(fingerprint(&body)?),
        None => None,
    };
    if let (Some(key), Some(print)) = (&key, &print) {
        if let Some(existing) = state
            .store
            .find_idempotent(client_id, key, state.now())
            .await?
        {
            return replay(&state, &existing, print);
        }
    }
    // A missing or wrongly typed field is a malformed body (the hosted
    // API's `invalid_payload`); a URL that is there but unsafe or malformed
    // is `invalid_redirect_url`.
    let redirect = match &body.redirect_url {
        None | Some(serde_json::Value::Null) => {
            return Err(ApiError::InvalidPayload("redirectUrl is required.".into()))
        }
        Some(serde_json::Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(ApiError::InvalidPayload(
                "redirectUrl must be a string (an absolute https URL).".into(),
            ))
        }
    };
    let redirect = RedirectUrl::parse(
        redirect,
        state.config.sandbox_mode(),
        &caller.0.allowed_origins,
    )
    .map_err(ApiError::InvalidRedirectUrl)?;
    let doc_types = doc_types(body.doc_type)?;

    // A time-ordered UUID (v7: the millisecond, then 74 random bits): new
    // rows go to the end of the primary key's index instead of a random page
    // of it, and the sweeper, erasing in expiry order, frees whole pages.
    // Not a secret: another client's id answers 404 whatever it is.
    let uuid = uuid::Uuid::now_v7();
    let id = uuid.to_string();
    let pkce = digilocker::Pkce::generate();
    let secrets = JourneySecrets {
        state: crypto::new_state(&uuid),
        verifier: pkce.verifier.expose_secret().to_owned(),
        challenge: pkce.challenge.clone(),
    };
    let created_at = state.now();
    let ttl = i64::try_from(state.config.request_ttl.as_secs()).unwrap_or(i64::MAX);
    let (data_key, sealed_key) = state.keys.new_data_key(&id)?;
    let record = NewRequest {
        id: id.clone(),
        client_id: client_id.to_owned(),
        redirect_url: redirect.as_str().to_owned(),
        doc_types: doc_types.join(","),
        state_hash: crypto::state_key(&secrets.state),
        data_key: sealed_key,
        journey_secrets: data_key.seal_json(&Sealed::Journey.aad(&id), &secrets)?,
        idempotency_key: key.clone(),
        idempotency_fingerprint: print.clone(),
        created_at,
        valid_upto: created_at.saturating_add(ttl),
        trace_id: current_trace_id(),
    };
    if let Some(key) = &key {
        // A key whose request has expired starts afresh.
        state
            .store
            .release_expired_idempotency_key(client_id, key, created_at)
            .await?;
    }
    if !state.store.insert_request(&record).await? {
        // A concurrent call with the same key won the race.
        let key = key.as_deref().unwrap_or_default();
        let existing = state
            .store
            .find_idempotent(client_id, key, state.now())
            .await?
            .ok_or_else(|| anyhow::anyhow!("a request conflicted but none holds its key"))?;
        return replay(&state, &existing, print.as_deref().unwrap_or_default());
    }
    tracing::debug!(request_id = %id, client_id, "request created");
    let created = RequestRecord {
        id: record.id,
        client_id: record.client_id,
        status: RequestStatus::Unauthenticated,
        redirect_url: record.redirect_url,
        doc_types: record.doc_types,
        data_key: Some(record.data_key),
        journey_secrets: record.journey_secrets,
        callback_used: 0,
        consent_error_code: None,
        consent_error_message: None,
        token: None,
        user_details: None,
        scope_sealed: None,
        idempotency_key: record.idempotency_key,
        idempotency_fingerprint: record.idempotency_fingerprint,
        created_at,
        valid_upto: record.valid_upto,
    };
    Ok((StatusCode::CREATED, Json(view(&state, &created))))
}

/// A request's status and, once the user consented, their DigiLocker details.
#[utoipa::path(
    get, path = "/api/digilocker/{id}/status", tag = "requests",
    params(("id" = String, Path, description = "The request id.")),
    responses(
        (status = 200, body = StatusView),
        (status = 401, description = "`vault_secret_error` (a credential header missing), `unauthorized`.", body = ErrorBody),
        (status = 404, description = "`request_not_found`: unknown, another client's, or expired.", body = ErrorBody),
    ),
    security(("client" = []))
)]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<StatusView>> {
    // Only the columns status shows.
    let r = super::caller_row(&id, async |id| {
        state
            .store
            .get_request_status(&caller.0.client_id, id, state.now())
            .await
    })
    .await?;
    // The data key is opened only when there is something to read with it.
    let details = match (&r.user_details, r.status, &r.data_key) {
        (Some(sealed), RequestStatus::Authenticated, Some(data_key)) => {
            let key = state.keys.data_key(&r.id, data_key)?;
            let user: UserDetails = key.open_json(&Sealed::User.aad(&r.id), sealed)?;
            UserDetailsView {
                digilocker_id: Some(user.digilocker_id),
                email: Some(user.email),
                phone_number: Some(user.phone_number),
            }
        }
        _ => UserDetailsView::default(),
    };
    Ok(Json(StatusView {
        url: start_url(&state, &r.id),
        id: r.id,
        status: r.status,
        valid_upto: ist(r.valid_upto),
        digilocker_user_details: details,
        err_code: r.consent_error_code,
        err_message: r.consent_error_message,
        trace_id: current_trace_id(),
    }))
}

/// Revoke: erase locally at once, then revoke the user's DigiLocker token
/// upstream (retried in the background while DigiLocker fails).
#[utoipa::path(
    get, path = "/api/digilocker/{id}/revoke", tag = "requests",
    params(("id" = String, Path, description = "The request id.")),
    responses(
        (status = 200, description = "Revoked: the request's data is erased at once; DigiLocker's side follows (retried in the background while DigiLocker fails; the audit trail's `upstream_revoked` event and the `digilocker.request.revoke_confirmed` webhook say when it is done).", body = RevokeResponse),
        (status = 401, description = "`vault_secret_error` (a credential header missing), `unauthorized`, `user_not_authenticated`, `user_consent_not_given`, `token_revoked`.", body = ErrorBody),
        (status = 404, description = "`request_not_found`.", body = ErrorBody),
    ),
    security(("client" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<RevokeResponse>> {
    let r = caller_request(&state, &caller, &id).await?;
    // Not consented (yet, or ever): the same answer a fetch gets.
    crate::token::ensure_usable(&r)?;
    let now = state.now();
    let key = request_key(&state.keys, &r)?;
    let upstream = match (&r.token, key) {
        (Some(sealed), Some(key)) => {
            let token: StoredToken = key.open_json(&Sealed::Token.aad(&r.id), sealed)?;
            crate::revocation::job(&state.keys, &r.id, &token, now)?
        }
        _ => None,
    };
    // The user withdrew consent: nothing of theirs is kept, whatever
    // DigiLocker does. The data key goes first, with the tokens, details,
    // files and links; DigiLocker's revoke is queued in the same transaction.
    let pending = if upstream.is_some() {
        "pending"
    } else {
        "not_needed"
    };
    let event = NewEvent::new(
        EventKind::Revoked,
        serde_json::json!({"upstream": pending}),
        now,
    );
    let revoked = state.store.revoke(&r.id, &event, upstream.as_ref()).await?;
    tracing::info!(request_id = %r.id, upstream = pending, "request revoked and its data erased");
    if revoked && upstream.is_some() {
        tokio::spawn(crate::revocation::attempt_now(
            crate::revocation::Revoker::of(&state),
            r.id.clone(),
        ));
    }
    Ok(Json(RevokeResponse { success: true }))
}
