//! The one error type of the public API, rendered as the contract's error body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::storage::StoreError;
use crate::trace_id::current_trace_id;

/// Every error the public API answers with. Each variant is one contract
/// code; the detail speaks to the integrating developer and never carries
/// anything internal.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthorized")]
    Unauthorized,
    /// One of the three credential headers is missing (the hosted API's
    /// "Missing request headers for secrets").
    #[error("missing credential headers")]
    VaultSecretError,
    #[error("invalid redirect url: {0}")]
    InvalidRedirectUrl(String),
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    #[error("consent not given")]
    ConsentNotGiven,
    #[error("bad request upstream: {0}")]
    BadRequest(String),
    #[error("aadhaar not linked")]
    AadhaarNotLinked,
    #[error("user not authenticated")]
    UserNotAuthenticated,
    #[error("token revoked")]
    TokenRevoked,
    #[error("invalid token")]
    InvalidToken,
    #[error("invalid grant")]
    InvalidGrant,
    #[error("not shared: {0}")]
    NotShared(String),
    #[error("the issuer has not answered yet")]
    IssuerPending,
    #[error("user consent not given")]
    UserConsentNotGiven(String),
    /// The journey of this request failed on DigiLocker's side (or ours)
    /// before consent: `code` is the redirect's `errCode`.
    #[error("journey failed: {code}")]
    JourneyFailed { code: &'static str },
    #[error("request not found")]
    RequestNotFound,
    #[error("invalid uri")]
    InvalidUri,
    #[error("record not found")]
    RecordNotFound,
    #[error("aadhaar not available")]
    AadhaarNotAvailable,
    /// The e-Aadhaar verified but is older than `aadhaar_max_age_days`:
    /// answered as `aadhaar_not_available`, the user must redo Aadhaar KYC.
    #[error("aadhaar too old: signed on {signed_on}, limit {max_age_days} days")]
    AadhaarTooOld {
        /// The signing date (`KycRes ts`), `YYYY-MM-DD`.
        signed_on: String,
        /// The configured limit.
        max_age_days: u64,
    },
    #[error("get xml failed")]
    GetXmlFailed,
    #[error("unwrap aadhaar failed: {0}")]
    UnwrapAadhaarFailed(String),
    #[error("upstream server error: {0}")]
    UpstreamServerError(String),
    #[error("catalogue not ready")]
    CatalogueNotReady,
    #[error("file link not found")]
    FileNotFound,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("rate limited")]
    RateLimited,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("headers too large")]
    HeadersTooLarge,
    #[error("request timeout")]
    RequestTimeout,
    #[error("idempotency key reused with a different body")]
    IdempotencyKeyMismatch,
    #[error("service unavailable: {0}")]
    ServiceUnavailable(String),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// The contract's `(status, code, detail)` for this error.
    pub fn parts(&self) -> (StatusCode, &'static str, String) {
        use ApiError::*;
        match self {
            Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Invalid credentials: check x-client-id, x-client-secret and x-product-instance-id.".into(),
            ),
            VaultSecretError => (
                StatusCode::UNAUTHORIZED,
                "vault_secret_error",
                "Missing request headers for secrets: send x-client-id, x-client-secret and x-product-instance-id.".into(),
            ),
            InvalidRedirectUrl(why) => (
                StatusCode::BAD_REQUEST,
                "invalid_redirect_url",
                format!("redirectUrl is invalid: {why}."),
            ),
            InvalidPayload(why) => (StatusCode::BAD_REQUEST, "invalid_payload", why.clone()),
            ConsentNotGiven => (
                StatusCode::BAD_REQUEST,
                "consent_not_given",
                "consent must be \"Y\" to fetch a document.".into(),
            ),
            BadRequest(why) => (StatusCode::BAD_REQUEST, "bad_request", why.clone()),
            AadhaarNotLinked => (
                StatusCode::BAD_REQUEST,
                "aadhaar_not_linked",
                "The user's DigiLocker account has no Aadhaar linked.".into(),
            ),
            UserNotAuthenticated => (
                StatusCode::UNAUTHORIZED,
                "user_not_authenticated",
                "The user has not given consent for this request yet.".into(),
            ),
            TokenRevoked => (
                StatusCode::UNAUTHORIZED,
                "token_revoked",
                "Access for this request was revoked.".into(),
            ),
            InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The DigiLocker access token has expired; start a new request.".into(),
            ),
            InvalidGrant => (
                StatusCode::FORBIDDEN,
                "invalid_grant",
                "The user did not grant access to this document.".into(),
            ),
            NotShared(why) => (StatusCode::FORBIDDEN, "invalid_grant", why.clone()),
            IssuerPending => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "upstream_server_error",
                "The issuer has not answered DigiLocker yet; retry this call after the Retry-After seconds.".into(),
            ),
            // The request stays `unauthenticated`, for which the hosted API
            // documents 401; the code says why more precisely.
            UserConsentNotGiven(why) => (
                StatusCode::UNAUTHORIZED,
                "user_consent_not_given",
                format!("The user did not give consent: {why}"),
            ),
            JourneyFailed { code } => (
                StatusCode::INTERNAL_SERVER_ERROR,
                code,
                "The user's sign-in failed on DigiLocker's side before consent (not a refusal by \
                 the user); this request cannot be used: create a new one."
                    .into(),
            ),
            RequestNotFound => (
                StatusCode::NOT_FOUND,
                "request_not_found",
                "The request id is invalid/expired.".into(),
            ),
            InvalidUri => (
                StatusCode::NOT_FOUND,
                "invalid_uri",
                "No file at that URI.".into(),
            ),
            RecordNotFound => (
                StatusCode::NOT_FOUND,
                "record_not_found",
                "The issuer has no record matching these parameters.".into(),
            ),
            AadhaarNotAvailable => (
                StatusCode::NOT_FOUND,
                "aadhaar_not_available",
                "No e-Aadhaar is available for this user.".into(),
            ),
            AadhaarTooOld {
                signed_on,
                max_age_days,
            } => (
                StatusCode::NOT_FOUND,
                "aadhaar_not_available",
                format!(
                    "Aadhaar data is not available for this user: their e-Aadhaar was signed on \
                     {signed_on}, more than {max_age_days} days ago, which is older than this \
                     service accepts. Please perform Aadhaar KYC again."
                ),
            ),
            GetXmlFailed => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "get_xml_failed",
                "DigiLocker failed to return the e-Aadhaar XML; retry later.".into(),
            ),
            UnwrapAadhaarFailed(why) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "unwrap_aadhaar_failed",
                format!("The e-Aadhaar XML could not be verified: {why}"),
            ),
            UpstreamServerError(why) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "upstream_server_error",
                format!("DigiLocker or the issuer failed: {why}"),
            ),
            CatalogueNotReady => (
                StatusCode::SERVICE_UNAVAILABLE,
                "catalogue_not_ready",
                "The document catalogue is being built for the first time; retry after the Retry-After seconds.".into(),
            ),
            FileNotFound => (
                StatusCode::NOT_FOUND,
                "file_not_found",
                "The file link is invalid or has expired.".into(),
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is too large.".into(),
            ),
            RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many calls from this client; slow down and retry after the Retry-After seconds.".into(),
            ),
            NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "No such endpoint.".into(),
            ),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This endpoint does not take that method; see /openapi.json.".into(),
            ),
            HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                "The request carries too many or too large headers.".into(),
            ),
            RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "The request was not received in time.".into(),
            ),
            IdempotencyKeyMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_mismatch",
                "This Idempotency-Key was already used with a different body; use a new key for a new request.".into(),
            ),
            ServiceUnavailable(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                format!("{why} Retry after the Retry-After seconds."),
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_server_error",
                "Something went wrong on our side; retry, and quote the traceId if it persists.".into(),
            ),
        }
    }
}

/// The contract error code of an error answer, kept on the response for
/// the access line.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, detail) = self.parts();
        if let ApiError::Internal(cause) = &self {
            // The cause goes to the log (never to the client); it never holds PII.
            tracing::error!(error = %format!("{cause:#}"), "internal error");
        }
        let trace_id = current_trace_id();
        let body = json!({"error": {"code": code, "detail": detail, "traceId": trace_id}});
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match self {
            ApiError::CatalogueNotReady => Some("5"),
            ApiError::RateLimited | ApiError::ServiceUnavailable(_) => Some("1"),
            ApiError::IssuerPending => Some("60"),
            _ => None,
        };
        if let Some(v) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(v));
        }
        // For the access line: the contract code, not just the status.
        response.extensions_mut().insert(ErrorCode(code));
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                ApiError::ServiceUnavailable(
                    "The gateway's database is busy or unreachable.".into(),
                )
            }
            StoreError::Failed(cause) => ApiError::Internal(cause.into()),
        }
    }
}

impl ApiError {
    /// The contract error for a bare status that some layer below the
    /// handlers produced without a body (a rejection, a timeout).
    pub fn from_status(status: StatusCode) -> ApiError {
        match status {
            StatusCode::NOT_FOUND => ApiError::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ApiError::HeadersTooLarge,
            StatusCode::REQUEST_TIMEOUT => ApiError::RequestTimeout,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
                ApiError::ServiceUnavailable("The gateway is overloaded or took too long.".into())
            }
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
            StatusCode::TOO_MANY_REQUESTS => ApiError::RateLimited,
            s if s.is_client_error() => {
                ApiError::InvalidPayload("The request is malformed.".into())
            }
            _ => ApiError::Internal(anyhow::anyhow!("a layer answered {status} without a body")),
        }
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
