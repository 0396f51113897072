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
use crate::sealed::request_key;
use crate::state::AppState;
use crate::storage::{EventKind, FileRecord, NewEvent, RequestRecord};
use crate::timefmt::ist;

/// The download route.
pub fn router() -> Router<AppState> {
    Router::new().route("/files/{token}", get(download))
}

fn aad(token_hash: &[u8], part: &str) -> String {
    format!("files/{}/{part}", hex::encode(token_hash))
}

/// What was fetched, for the request's audit trail (no personal data).
#[derive(Debug, Clone, Copy)]
pub enum Fetched<'a> {
    /// A document from the catalogue or by URI.
    Document {
        doc_type: &'a str,
        org_id: &'a str,
        format: &'a str,
    },
    /// The e-Aadhaar XML.
    Aadhaar,
}

/// Store a file for a request (sealed with the request's data key) and
/// return `{fileUrl, validUpto}`.
pub async fn store_and_link(
    state: &AppState,
    r: &RequestRecord,
    content_type: &str,
    filename: &str,
    bytes: &[u8],
    fetched: Fetched<'_>,
) -> ApiResult<FileLink> {
    let key = request_key(&state.keys, r)?.ok_or(ApiError::TokenRevoked)?;
    let token = crypto::random_token();
    let token_hash = crypto::hash_secret(&token);
    let ttl = i64::try_from(state.config.file_link_ttl.as_secs()).unwrap_or(i64::MAX);
    let now = state.now();
    let expires_at = now.saturating_add(ttl).min(r.valid_upto);
    let data = key.seal(&aad(&token_hash, "data"), bytes)?;
    let name_sealed = key.seal(&aad(&token_hash, "name"), filename.as_bytes())?;
    let event = match fetched {
        Fetched::Document {
            doc_type,
            org_id,
            format,
        } => NewEvent::new(
            EventKind::DocumentFetched,
            serde_json::json!({"docType": doc_type, "orgId": org_id, "format": format}),
            now,
        ),
        Fetched::Aadhaar => NewEvent::new(
            EventKind::AadhaarFetched,
            serde_json::json!({"docType": "ADHAR", "format": "xml"}),
            now,
        ),
    };
    state
        .store
        .insert_file(
            &FileRecord {
                token_hash,
                request_id: r.id.clone(),
                client_id: r.client_id.clone(),
                content_type: content_type.to_owned(),
                name_sealed,
                data,
                expires_at,
            },
            &event,
        )
        .await?;
    tracing::info!(request_id = %r.id, bytes = bytes.len(), "file stored");
    Ok(FileLink {
        file_url: state.public_url(&format!("/files/{token}")),
        valid_upto: ist(expires_at),
    })
}

/// `GET /files/{token}`. The link itself is the credential; if the caller
/// also presents a client id, it must be the owner's.
#[utoipa::path(
    get, path = "/files/{token}", tag = "documents",
    params(
        ("token" = String, Path, description = "The random part of a `fileUrl` (43 characters)."),
        ("x-client-id" = Option<String>, Header, description = "Optional; when sent, it must be the client the link was made for."),
    ),
    responses(
        (status = 200, description = "The document's bytes, as DigiLocker or the issuer sent them: `application/pdf`, `application/xml` (an issuer's signed XML or the e-Aadhaar), `image/jpeg` or `image/png`. `Content-Disposition: attachment` names the file.",
            content(
                (Vec<u8> = "application/pdf"),
                (Vec<u8> = "application/xml"),
                (Vec<u8> = "image/jpeg"),
                (Vec<u8> = "image/png"),
            )),
        (status = 404, description = "`file_not_found`: an unknown link, one past its `validUpto`, or presented with another client's `x-client-id`.", body = crate::api::model::ErrorBody),
    ),
    security(())
)]
pub async fn download(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if token.len() != 43 {
        return Err(ApiError::FileNotFound);
    }
    let hash = crypto::hash_secret(&token);
    let live = state
        .store
        .get_file(&hash, state.now())
        .await?
        .ok_or(ApiError::FileNotFound)?;
    let file = &live.file;
    if let Some(client) = headers.get("x-client-id").and_then(|v| v.to_str().ok()) {
        if client != file.client_id {
            return Err(ApiError::FileNotFound);
        }
    }
    let sealed_key = live.data_key.as_deref().ok_or(ApiError::FileNotFound)?;
    let key = state.keys.data_key(&file.request_id, sealed_key)?;
    let bytes = key.open(&aad(&hash, "data"), &file.data)?;
    let name = String::from_utf8(key.open(&aad(&hash, "name"), &file.name_sealed)?)
        .unwrap_or_else(|_| "document".to_owned());
    let disposition = format!(
        "attachment; filename=\"{}\"",
        name.replace(['"', '\\'], "_")
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
    // A document is data, never a page: opened in a browser by mistake (or
    // by a crafted XML or HTML from an issuer) it runs nothing and loads
    // nothing, and its type is not second-guessed.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox; frame-ancestors 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}
