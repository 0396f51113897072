//! Extractors whose every rejection is the contract's error body: a handler
//! taking `ApiJson<T>`, `ApiPath<T>` or `ApiQuery<T>` can't let axum answer
//! with plain text.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body, read within the configured size and time limits and
/// parsed into `T`. Any content type is accepted: the hosted API's clients
/// do not all send `application/json`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// Read a request body whole, within `limit` bytes and `deadline`.
pub async fn read_body(
    body: Body,
    limit: usize,
    deadline: std::time::Duration,
) -> Result<axum::body::Bytes, ApiError> {
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await {
        Err(_) => {
            tracing::info!(
                cut_off = "body_read_timeout",
                "request body not received in time"
            );
            Err(ApiError::RequestTimeout)
        }
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                Err(ApiError::PayloadTooLarge)
            } else {
                Err(ApiError::InvalidPayload(
                    "The request body could not be read.".into(),
                ))
            }
        }
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// Parse JSON into `T`, the error speaking to the integrating developer. A
/// UTF-8 byte-order mark before the JSON is skipped (some clients' writers
/// add one; RFC 8259 lets a parser ignore it).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::InvalidPayload("The body is not valid JSON.".into())
            }
            Category::Data => {
                let mut why = e.to_string();
                why.truncate(200);
                ApiError::InvalidPayload(format!("The body does not match the API: {why}."))
            }
        }
    })
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = read_body(
            request.into_body(),
            state.config.max_body_bytes,
            state.config.body_read_timeout,
        )
        .await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Path parameters. One that cannot be read (not valid UTF-8 once
/// decoded, say) names nothing that exists: a request id is `404
/// request_not_found`, a file link `404 file_not_found`, as any unknown one.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|_| {
                if parts.uri.path().starts_with("/files/") {
                    ApiError::FileNotFound
                } else if parts.uri.path().starts_with("/api/digilocker/") {
                    ApiError::RequestNotFound
                } else {
                    ApiError::InvalidPayload("The path is not valid.".into())
                }
            })
    }
}

/// Query parameters; an unreadable query (bad encoding, a parameter given
/// twice, a wrong type) is `400 invalid_payload`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        // form_urlencoded would replace invalid UTF-8 silently.
        if percent_encoding::percent_decode_str(query)
            .decode_utf8()
            .is_err()
        {
            return Err(ApiError::InvalidPayload(
                "The query string is not valid UTF-8 once decoded.".into(),
            ));
        }
        serde_urlencoded::from_str(query)
            .map(ApiQuery)
            .map_err(|e| {
                let mut why = e.to_string();
                why.truncate(200);
                ApiError::InvalidPayload(format!("The query string is not valid: {why}."))
            })
    }
}
