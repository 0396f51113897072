//! The journey's HTML pages (askama templates under `templates/`, all
//! auto-escaped).

use askama::Template;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, X_FRAME_OPTIONS};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "signin.html")]
pub(crate) struct SignIn {
    pub app: String,
    pub journey: String,
    pub action: String,
    pub signup_action: String,
    pub purpose: Option<String>,
    pub error: Option<String>,
    pub username: String,
}

#[derive(Template)]
#[template(path = "signup.html")]
pub(crate) struct SignUp {
    pub app: String,
    pub journey: String,
    pub action: String,
    pub signin_action: String,
    pub error: Option<String>,
    pub aadhaar: String,
}

#[derive(Template)]
#[template(path = "otp.html")]
pub(crate) struct Otp {
    pub journey: String,
    pub action: String,
    pub destination: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "pin.html")]
pub(crate) struct Pin {
    pub journey: String,
    pub action: String,
    /// Choosing a new PIN (sign-up) rather than entering the existing one.
    pub set: bool,
    pub error: Option<String>,
}

/// One row of the consent page.
pub(crate) struct ConsentItem {
    pub id: String,
    /// Sent back as a `doc` form field when ticked: the document's URI, or
    /// `file.partners/<DOCTYPE>` for a requested document not yet issued.
    pub value: String,
    pub title: String,
    pub subtitle: String,
    pub checked: bool,
    pub requested: bool,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub(crate) struct Consent {
    pub app: String,
    pub journey: String,
    pub action: String,
    pub name: String,
    pub new_account: bool,
    pub valid_till: String,
    pub purpose: Option<String>,
    pub items: Vec<ConsentItem>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub title: String,
    pub message: String,
}

/// Render a page with the headers every journey page carries: no caching,
/// no framing (click-jacking a consent screen is the classic attack), no
/// scripts at all.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (
            status,
            [
                (CACHE_CONTROL, "no-store"),
                (X_FRAME_OPTIONS, "DENY"),
                (
                    CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
                ),
            ],
            Html(html),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a journey page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "The sandbox could not render this page.").into_response()
        }
    }
}

/// An error page (for problems that must not redirect anywhere).
pub(crate) fn error_page(status: StatusCode, title: &str, message: impl Into<String>) -> Response {
    render(
        status,
        &ErrorPage {
            title: title.to_owned(),
            message: message.into(),
        },
    )
}
