//! DigiLocker's error body, `{"error": "...", "error_description": "..."}`,
//! with the statuses DigiLocker's partner API spec lists; and the HTML page
//! a broken proxy answers instead.

use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error answer of the partner API.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub description: String,
    /// Answer a proxy's HTML error page instead of the JSON body.
    pub html_page: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &str, description: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.to_owned(),
            description: description.into(),
            html_page: false,
        }
    }

    /// An HTML error page (`text/html`) with `status`, as nginx in front of
    /// a broken back-end answers, e.g. `502 Bad Gateway`: what a client
    /// expecting JSON must survive. `description` goes in an HTML comment
    /// at the end, where nginx pads its pages.
    pub fn proxy_page(status: StatusCode, description: impl Into<String>) -> ApiError {
        ApiError {
            html_page: true,
            ..ApiError::new(status, "proxy_error_page", description)
        }
    }

    /// 401 `invalid_token`: missing, unknown, expired or revoked access token.
    pub fn invalid_token(description: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }

    /// 400 `invalid_request` (OAuth): a required parameter is missing or malformed.
    pub fn invalid_request(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 400 `invalid_grant` (OAuth): bad, expired, reused code or refresh token.
    pub fn invalid_grant(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// 401 `invalid_client` (OAuth): unknown client or wrong secret.
    pub fn invalid_client() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed: unknown client_id or wrong client_secret",
        )
    }

    /// 400 `invalid_parameter`: a signed call's field is missing or wrong.
    pub fn invalid_parameter(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", description)
    }

    /// 404 `invalid_uri`.
    pub fn invalid_uri(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "invalid_uri", description)
    }

    /// 500 `unexpected_error`: the sandbox itself failed.
    pub fn unexpected(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "sandbox internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unexpected_error",
            "Internal server error",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.html_page {
            let title = format!(
                "{} {}",
                self.status.as_u16(),
                self.status.canonical_reason().unwrap_or("Error")
            );
            let page = format!(
                "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n\
                 <center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n\
                 </body>\r\n</html>\r\n<!-- {} -->\r\n",
                self.description.replace("--", "- -")
            );
            return (self.status, [(CONTENT_TYPE, "text/html")], page).into_response();
        }
        let mut response = (
            self.status,
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let scheme = if self.error == "invalid_token" {
                "Bearer error=\"invalid_token\""
            } else {
                "Basic realm=\"digilocker-sandbox\""
            };
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(scheme));
        }
        response
    }
}
