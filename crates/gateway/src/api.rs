//! The contract's `/api/digilocker` endpoints.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::app::{now, AppState};
use crate::auth::Caller;
use crate::domain::{parse_request_id, truncate, DocType, OrgId, RedirectUrl};
use crate::error::{ApiError, ApiResult};
use crate::storage::{NewRequest, RequestRecord};
use crate::trace::current_trace_id;
use crate::{crypto, files, upstream};

/// The encrypted journey secrets of a request.
#[derive(Serialize, Deserialize)]
pub struct JourneySecrets {
    pub state: String,
    pub verifier: String,
    pub challenge: String,
}

/// The encrypted DigiLocker token of a request.
#[derive(Serialize, Deserialize)]
pub struct StoredToken {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Unix seconds; 0 when unknown.
    pub expires_at: i64,
}

/// The encrypted user details of a request.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserDetails {
    pub digilocker_id: String,
    pub email: String,
    pub phone_number: String,
}

/// Associated data binding a ciphertext to its row and column.
pub fn aad(id: &str, column: &str) -> String {
    format!("requests/{id}/{column}")
}

/// ISO 8601 in India Standard Time, as the hosted API answers.
pub fn ist(unix: i64) -> String {
    let offset = time::UtcOffset::from_hms(5, 30, 0).unwrap_or(time::UtcOffset::UTC);
    let t = time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    t.format(&format).unwrap_or_default()
}

fn parse_json(body: &Bytes) -> ApiResult<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::InvalidPayload(
            "The body must be a JSON object.".into(),
        )),
        Err(_) => Err(ApiError::InvalidPayload(
            "The body is not valid JSON.".into(),
        )),
    }
}

fn optional_str<'a>(
    map: &'a serde_json::Map<String, Value>,
    key: &str,
) -> ApiResult<Option<&'a str>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(ApiError::InvalidPayload(format!("{key} must be a string."))),
    }
}

fn required_str<'a>(map: &'a serde_json::Map<String, Value>, key: &str) -> ApiResult<&'a str> {
    optional_str(map, key)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::InvalidPayload(format!("{key} is required.")))
}

/// Look up the caller's live request; anything else is `request_not_found`.
pub async fn caller_request(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> ApiResult<RequestRecord> {
    let id = parse_request_id(raw_id).ok_or(ApiError::RequestNotFound)?;
    state
        .store
        .get_request(&caller.0.client_id, &id, now())
        .await?
        .ok_or(ApiError::RequestNotFound)
}

fn request_view(state: &AppState, r: &RequestRecord) -> Value {
    json!({
        "id": r.id,
        "status": r.status,
        "url": state.public_url(&format!("/digilocker/{}/start", r.id)),
        "validUpto": ist(r.valid_upto),
    })
}

/// `POST /api/digilocker`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let idempotency_key = headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 128)
                .map(str::to_owned)
                .ok_or_else(|| {
                    ApiError::InvalidPayload(
                        "Idempotency-Key must be 1-128 visible characters.".into(),
                    )
                })
        })
        .transpose()?;
    if let Some(key) = &idempotency_key {
        if let Some(existing) = state
            .store
            .find_idempotent(&caller.0.client_id, key, now())
            .await?
        {
            return Ok(created_response(&state, &existing));
        }
    }
    let map = parse_json(&body)?;
    let redirect = optional_str(&map, "redirectUrl")
        .map_err(|_| ApiError::InvalidRedirectUrl("it must be a string".into()))?
        .ok_or_else(|| ApiError::InvalidRedirectUrl("it is missing".into()))?;
    let redirect = RedirectUrl::parse(
        redirect,
        state.config.sandbox_mode(),
        &caller.0.allowed_origins,
    )
    .map_err(ApiError::InvalidRedirectUrl)?;
    let doc_types = match map.get("docType") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::InvalidPayload(
                        "docType must be a string or an array of strings.".into(),
                    )
                })
            })
            .collect::<ApiResult<Vec<_>>>()?,
        Some(_) => {
            return Err(ApiError::InvalidPayload(
                "docType must be a string or an array of strings.".into(),
            ))
        }
    };
    if doc_types.len() > 20 {
        return Err(ApiError::InvalidPayload(
            "docType lists more than 20 document types.".into(),
        ));
    }
    for d in &doc_types {
        DocType::parse(d).map_err(ApiError::InvalidPayload)?;
    }

    let id = uuid::Uuid::new_v4().to_string();
    let pkce = digilocker::Pkce::generate();
    let secrets = JourneySecrets {
        state: digilocker::generate_state(),
        verifier: pkce.verifier.expose_secret().to_owned(),
        challenge: pkce.challenge.clone(),
    };
    let created_at = now();
    let valid_upto = created_at + state.config.request_ttl.as_secs() as i64;
    let sealed = state.keys.seal_json(&aad(&id, "journey"), &secrets)?;
    let record = NewRequest {
        id: id.clone(),
        client_id: caller.0.client_id.clone(),
        redirect_url: redirect.as_str().to_owned(),
        doc_types: doc_types.join(","),
        state_hash: crypto::hash_secret(&secrets.state),
        pkce_verifier: sealed,
        idempotency_key: idempotency_key.clone(),
        response_cache: None,
        created_at,
        valid_upto,
    };
    if let Err(e) = state.store.insert_request(&record).await {
        // A concurrent retry with the same key won the race: answer with its request.
        if let (Some(key), sqlx::Error::Database(db)) = (&idempotency_key, &e) {
            if db.is_unique_violation() {
                if let Some(existing) = state
                    .store
                    .find_idempotent(&caller.0.client_id, key, now())
                    .await?
                {
                    return Ok(created_response(&state, &existing));
                }
            }
        }
        return Err(e.into());
    }
    tracing::info!(request_id = %id, client_id = %caller.0.client_id, "request created");
    let view = state
        .store
        .get_request(&caller.0.client_id, &id, created_at)
        .await?
        .ok_or_else(|| anyhow::anyhow!("request vanished right after insert"))?;
    Ok(created_response(&state, &view))
}

fn created_response(state: &AppState, r: &RequestRecord) -> Response {
    (StatusCode::CREATED, Json(request_view(state, r))).into_response()
}

/// `GET /api/digilocker/{id}/status`.
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let r = caller_request(&state, &caller, &id).await?;
    let mut view = request_view(&state, &r);
    let details = match (&r.user_details, r.status.as_str()) {
        (Some(sealed), "authenticated" | "revoked") => {
            let user: UserDetails = state.keys.open_json(&aad(&r.id, "user"), sealed)?;
            serde_json::to_value(user).map_err(anyhow::Error::from)?
        }
        _ => json!({}),
    };
    view["digilockerUserDetails"] = details;
    view["traceId"] = Value::String(current_trace_id());
    Ok(Json(view))
}

/// Query of `GET /api/digilocker/documents` (ours: filters).
#[derive(Debug, Deserialize)]
pub struct DocumentsQuery {
    #[serde(rename = "orgId")]
    pub org_id: Option<String>,
    #[serde(rename = "docType")]
    pub doc_type: Option<String>,
    pub q: Option<String>,
}

/// `GET /api/digilocker/documents`.
pub async fn documents(
    State(state): State<AppState>,
    _caller: Caller,
    Query(query): Query<DocumentsQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let snapshot = state.catalogue.snapshot(state.store.as_ref()).await?;
    let Some(snapshot) = snapshot else {
        return Err(ApiError::CatalogueNotReady);
    };
    let filtered = query.org_id.is_some() || query.doc_type.is_some() || query.q.is_some();
    let (body, etag) = if filtered {
        let body = snapshot.filtered_json(
            query.org_id.as_deref(),
            query.doc_type.as_deref(),
            query.q.as_deref(),
        );
        let etag = format!(
            "\"{}\"",
            hex::encode(&crypto::hash_secret(&String::from_utf8_lossy(&body))[..12])
        );
        (body, etag)
    } else {
        (snapshot.json.clone(), snapshot.etag.clone())
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::ETAG, etag),
        ],
        body,
    )
        .into_response())
}

fn ensure_usable(r: &RequestRecord) -> ApiResult<()> {
    match r.status.as_str() {
        "authenticated" => Ok(()),
        "revoked" => Err(ApiError::TokenRevoked),
        _ => match (&r.consent_error_code, &r.consent_error_message) {
            (Some(_), msg) => Err(ApiError::UserConsentNotGiven(
                msg.clone().unwrap_or_default(),
            )),
            _ => Err(ApiError::UserNotAuthenticated),
        },
    }
}

/// Run `f` with the request's access token; refresh once if DigiLocker says
/// the token expired.
pub async fn with_token<T, F, Fut>(state: &AppState, r: &RequestRecord, f: F) -> ApiResult<T>
where
    F: Fn(SecretString) -> Fut,
    Fut: std::future::Future<Output = Result<T, digilocker::Error>>,
{
    ensure_usable(r)?;
    let sealed = r.token.as_ref().ok_or(ApiError::TokenRevoked)?;
    let token: StoredToken = state.keys.open_json(&aad(&r.id, "token"), sealed)?;
    let expired = token.expires_at != 0 && token.expires_at <= now();
    if !expired {
        match f(SecretString::from(token.access_token.clone())).await {
            Err(e) if upstream::is_invalid_token(&e) => {}
            other => return other.map_err(upstream::to_api_error),
        }
    }
    let Some(refresh) = token.refresh_token.clone() else {
        return Err(ApiError::InvalidToken);
    };
    let refresh = SecretString::from(refresh);
    let fresh = match upstream::call(state, "token_refresh", state.dl.refresh(&refresh)).await {
        Ok(t) => t,
        Err(digilocker::Error::Upstream { .. }) => return Err(ApiError::InvalidToken),
        Err(e) => return Err(upstream::to_api_error(e)),
    };
    let stored = StoredToken {
        access_token: fresh.access_token.clone(),
        refresh_token: fresh.refresh_token.clone().or(token.refresh_token),
        expires_at: fresh.expires_in.map(|s| now() + s).unwrap_or(0),
    };
    let sealed = state.keys.seal_json(&aad(&r.id, "token"), &stored)?;
    state.store.update_token(&r.id, &sealed).await?;
    f(SecretString::from(fresh.access_token))
        .await
        .map_err(upstream::to_api_error)
}

/// `POST /api/digilocker/{id}/document`.
pub async fn fetch_document(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let r = caller_request(&state, &caller, &id).await?;
    let map = parse_json(&body)?;
    match map.get("consent") {
        Some(Value::String(c)) if c == "Y" => {}
        _ => return Err(ApiError::ConsentNotGiven),
    }
    // Ours: fetch an issued document by its URI.
    if let Some(uri) = optional_str(&map, "uri")? {
        if uri.is_empty() || uri.len() > 256 || uri.contains('/') || uri.contains("..") {
            return Err(ApiError::InvalidPayload(
                "uri must be a DigiLocker document URI.".into(),
            ));
        }
        ensure_usable(&r)?;
        let file = with_token(&state, &r, |t| {
            let state = state.clone();
            let uri = uri.to_owned();
            async move { upstream::call(&state, "file", state.dl.file(&t, &uri)).await }
        })
        .await?;
        let name = format!(
            "{}.{}",
            sanitize_filename(uri),
            extension(&file.content_type)
        );
        return files::store_and_link(&state, &r, &file.content_type, &name, &file.bytes)
            .await
            .map(Json);
    }
    let doc_type =
        DocType::parse(required_str(&map, "docType")?).map_err(ApiError::InvalidPayload)?;
    let org_id = OrgId::parse(required_str(&map, "orgId")?).map_err(ApiError::InvalidPayload)?;
    let format = required_str(&map, "format")?.to_ascii_lowercase();
    let params = parse_parameters(map.get("parameters"))?;
    ensure_usable(&r)?;

    let entry = state
        .catalogue
        .entry(state.store.as_ref(), org_id.as_str(), doc_type.as_str())
        .await?
        .ok_or_else(|| {
            ApiError::InvalidPayload(format!(
                "No document with docType {} and orgId {} in the catalogue (GET /api/digilocker/documents).",
                doc_type.as_str(),
                org_id.as_str()
            ))
        })?;
    if !entry.available_formats.iter().any(|f| f == &format) {
        return Err(ApiError::InvalidPayload(format!(
            "format {:?} is not available for this document; use one of {:?}.",
            truncate(&format),
            entry.available_formats
        )));
    }
    for p in &entry.parameters {
        match params.iter().find(|(n, _)| n == &p.name) {
            Some((_, v)) if !v.trim().is_empty() => {}
            _ => {
                return Err(ApiError::InvalidPayload(format!(
                    "parameter {} ({}) is required.",
                    p.name, p.description
                )))
            }
        }
    }
    if let Some((unknown, _)) = params
        .iter()
        .find(|(n, _)| !entry.parameters.iter().any(|p| &p.name == n))
    {
        return Err(ApiError::InvalidPayload(format!(
            "parameter {:?} is not one this document takes.",
            truncate(unknown)
        )));
    }

    let uri = with_token(&state, &r, |t| {
        let state = state.clone();
        let (org, doc, params) = (
            org_id.as_str().to_owned(),
            doc_type.as_str().to_owned(),
            params.clone(),
        );
        async move {
            upstream::call(
                &state,
                "pull_document",
                state.dl.pull_document(&t, &org, &doc, &params),
            )
            .await
        }
    })
    .await?;
    let (content_type, bytes) = if format == "xml" {
        let bytes = with_token(&state, &r, |t| {
            let state = state.clone();
            let uri = uri.clone();
            async move { upstream::call(&state, "xml", state.dl.xml(&t, &uri)).await }
        })
        .await?;
        ("application/xml".to_owned(), bytes)
    } else {
        let file = with_token(&state, &r, |t| {
            let state = state.clone();
            let uri = uri.clone();
            async move { upstream::call(&state, "file", state.dl.file(&t, &uri)).await }
        })
        .await?;
        (file.content_type, file.bytes)
    };
    let name = format!(
        "{}-{}.{}",
        doc_type.as_str(),
        sanitize_filename(org_id.as_str()),
        extension(&content_type)
    );
    files::store_and_link(&state, &r, &content_type, &name, &bytes)
        .await
        .map(Json)
}

fn parse_parameters(value: Option<&Value>) -> ApiResult<Vec<(String, String)>> {
    let bad = || {
        ApiError::InvalidPayload(
            "parameters must be an array of {\"name\": ..., \"value\": ...}.".into(),
        )
    };
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            if items.len() > 20 {
                return Err(ApiError::InvalidPayload(
                    "parameters has more than 20 entries.".into(),
                ));
            }
            items
                .iter()
                .map(|item| {
                    let name = item.get("name").and_then(Value::as_str).ok_or_else(bad)?;
                    let value = item.get("value").and_then(Value::as_str).ok_or_else(bad)?;
                    if name.len() > 64 || value.len() > 256 {
                        return Err(ApiError::InvalidPayload(
                            "a parameter's name or value is too long.".into(),
                        ));
                    }
                    Ok((name.to_owned(), value.to_owned()))
                })
                .collect()
        }
        Some(_) => Err(bad()),
    }
}

fn sanitize_filename(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}

fn extension(content_type: &str) -> &'static str {
    match content_type.split(';').next().unwrap_or("").trim() {
        "application/pdf" => "pdf",
        "application/xml" | "text/xml" => "xml",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/png" => "png",
        _ => "bin",
    }
}

/// `GET /api/digilocker/{id}/issued` (ours): the user's issued documents.
pub async fn issued(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let r = caller_request(&state, &caller, &id).await?;
    let items = with_token(&state, &r, |t| {
        let state = state.clone();
        async move { upstream::call(&state, "files_issued", state.dl.issued_files(&t)).await }
    })
    .await?;
    let items: Vec<Value> = items
        .into_iter()
        .map(|f| {
            json!({"name": f.name, "docType": f.doctype, "orgId": f.issuerid, "issuer": f.issuer,
                   "uri": f.uri, "mime": f.mime, "date": f.date, "description": f.description})
        })
        .collect();
    Ok(Json(json!({"id": r.id, "documents": items})))
}

/// `GET /api/digilocker/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let r = caller_request(&state, &caller, &id).await?;
    match r.status.as_str() {
        "revoked" => return Err(ApiError::TokenRevoked),
        "authenticated" => {}
        _ => return Err(ApiError::UserNotAuthenticated),
    }
    if let Some(sealed) = &r.token {
        let token: StoredToken = state.keys.open_json(&aad(&r.id, "token"), sealed)?;
        let access = SecretString::from(token.access_token);
        match upstream::call(
            &state,
            "revoke",
            state.dl.revoke(&access, digilocker::TokenHint::AccessToken),
        )
        .await
        {
            // Already invalid upstream is what we wanted.
            Ok(()) => {}
            Err(e) if upstream::is_invalid_token(&e) => {}
            Err(e) => return Err(upstream::to_api_error(e)),
        }
        if let Some(refresh) = token.refresh_token {
            let refresh = SecretString::from(refresh);
            if let Err(e) = upstream::call(
                &state,
                "revoke",
                state
                    .dl
                    .revoke(&refresh, digilocker::TokenHint::RefreshToken),
            )
            .await
            {
                tracing::warn!(error = %e, "refresh token revoke failed; the access token is revoked");
            }
        }
    }
    state.store.set_revoked(&r.id).await?;
    tracing::info!(request_id = %r.id, "request revoked");
    Ok(Json(json!({"success": true})))
}

/// `GET /readyz`: the database answers and, for the load balancer, the
/// instance is ready to serve.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "ready", "database": state.store.backend()})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "database not reachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

/// Any unknown path.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}
