//! Fetched files: stored encrypted, handed out by unguessable links that
//! expire and die with their request.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::api::model::FileLink;
use crate::crypto;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::ApiPath;
use crate::state::AppState;
use crate::storage::{FileRecord, RequestRecord};
use crate::timefmt::ist;

/// The download route.
pub fn router() -> Router<AppState> {
    Router::new().route("/files/{token}", get(download))
}

fn aad(token_hash: &[u8]) -> String {
    format!("files/{}", hex::encode(token_hash))
}

/// Store a file for a request and return `{fileUrl, validUpto}`.
pub async fn store_and_link(
    state: &AppState,
    r: &RequestRecord,
    content_type: &str,
    filename: &str,
    bytes: &[u8],
) -> ApiResult<FileLink> {
    let token = crypto::random_token();
    let token_hash = crypto::hash_secret(&token);
    let ttl = i64::try_from(state.config.file_link_ttl.as_secs()).unwrap_or(i64::MAX);
    let expires_at = state.now().saturating_add(ttl).min(r.valid_upto);
    let data = state.keys.seal(&aad(&token_hash), bytes)?;
    state
        .store
        .insert_file(&FileRecord {
            token_hash,
            request_id: r.id.clone(),
            client_id: r.client_id.clone(),
            content_type: content_type.to_owned(),
            filename: filename.to_owned(),
            data,
            expires_at,
        })
        .await?;
    tracing::info!(request_id = %r.id, bytes = bytes.len(), "file stored");
    Ok(FileLink {
        file_url: state.public_url(&format!("/files/{token}")),
        valid_upto: ist(expires_at),
    })
}

/// `GET /files/{token}`. The link itself is the credential; if the caller
/// also presents a client id, it must be the owner's.
pub async fn download(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if token.len() != 43 {
        return Err(ApiError::FileNotFound);
    }
    let hash = crypto::hash_secret(&token);
    let file = state
        .store
        .get_file(&hash, state.now())
        .await?
        .ok_or(ApiError::FileNotFound)?;
    if let Some(client) = headers.get("x-client-id").and_then(|v| v.to_str().ok()) {
        if client != file.client_id {
            return Err(ApiError::FileNotFound);
        }
    }
    let bytes = state.keys.open(&aad(&hash), &file.data)?;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        file.filename.replace(['"', '\\'], "_")
    );
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&file.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
