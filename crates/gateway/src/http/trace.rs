//! Trace ids: one per call, in the `x-request-id` header both ways, the
//! error body's `traceId` and every log line of the call (tower-http makes
//! and echoes the id; this module checks a caller's id and scopes it).

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::RequestId;

tokio::task_local! {
    static TRACE_ID: String;
}

/// The header carrying the trace id both ways.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The current call's trace id, or an empty string outside a call.
pub fn current_trace_id() -> String {
    TRACE_ID.try_with(|t| t.clone()).unwrap_or_default()
}

/// Accept a caller's id only when it is short and plain, so it can't inject
/// into logs or headers; otherwise a fresh one is made.
fn sane(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Middleware, before tower-http's `SetRequestId`: drop a caller's trace id
/// that is not plain, so a fresh one is made instead of echoing it.
pub async fn drop_unsafe_request_id(mut request: Request, next: Next) -> Response {
    let unsafe_id = request
        .headers()
        .get_all(&REQUEST_ID_HEADER)
        .iter()
        .any(|v| !sane(v.as_bytes()))
        || request.headers().get_all(&REQUEST_ID_HEADER).iter().count() > 1;
    if unsafe_id {
        request.headers_mut().remove(&REQUEST_ID_HEADER);
    }
    next.run(request).await
}

/// Run `call` with `id` as the current trace id.
pub async fn with_trace_id<F: std::future::Future>(id: String, call: F) -> F::Output {
    TRACE_ID.scope(id, call).await
}

/// The span of one call: its trace id, method and route (never the raw
/// path, which holds request ids and file tokens; never a query string).
pub fn make_span(request: &Request) -> tracing::Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|r| r.header_value().to_str().ok())
        .unwrap_or_default();
    let route = route_of(request);
    tracing::info_span!(
        "call",
        trace_id = %id,
        method = %request.method(),
        route = %route,
        client_id = tracing::field::Empty
    )
}

/// The matched route of a call, e.g. `/api/digilocker/{id}/status`.
pub fn route_of<B>(request: &axum::http::Request<B>) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned())
}

/// The access log line of a call: status and latency. The embedded
/// sandbox answers thousands of catalogue calls at start: its lines are
/// for debugging, the gateway's own are the access log.
pub fn log_response(response: &Response, latency: std::time::Duration, _span: &tracing::Span) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if response.extensions().get::<SandboxRoute>().is_some() {
        tracing::debug!(status, latency_ms, "served");
    } else {
        tracing::info!(status, latency_ms, "served");
    }
}

/// Marks a response as the embedded sandbox's (logged at debug level).
#[derive(Debug, Clone, Copy)]
pub struct SandboxRoute;
