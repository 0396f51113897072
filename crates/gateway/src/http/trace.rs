//! Trace ids: one per call, in the `x-request-id` header both ways, the
//! error body's `traceId` and every log line of the call (this module takes
//! a caller's id when it is plain or makes one; `guard::every_call` echoes
//! it, scopes it and logs the call).

use axum::extract::Request;
use axum::http::{HeaderName, Method};
use axum::response::Response;

use crate::error::ErrorCode;
pub use crate::trace_id::{current_trace_id, with_trace_id};

/// The header carrying the trace id both ways.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Accept a caller's id only when it is short and plain, so it can't inject
/// into logs or headers; otherwise a fresh one is made.
fn sane(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The trace id of a call: the caller's `x-request-id` when there is
/// exactly one and it is plain, otherwise a fresh UUID.
pub fn trace_id_of(request: &Request) -> String {
    let mut ids = request.headers().get_all(&REQUEST_ID_HEADER).iter();
    let caller = match (ids.next(), ids.next()) {
        (Some(id), None) if sane(id.as_bytes()) => id.to_str().ok(),
        _ => None,
    };
    caller.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// The span of one call: its trace id, method and route (never the raw
/// path, which holds request ids and file tokens; never a query string).
pub fn call_span(id: &str, method: &Method, route: &str) -> tracing::Span {
    tracing::info_span!(
        "call",
        trace_id = %id,
        method = %method,
        route = %route,
        client_id = tracing::field::Empty
    )
}

/// The access log line of a call: status, the contract's error code of an
/// error answer, latency and the instance, in the call's span (trace id,
/// method, route, client id): a `traceId` a business quotes finds it. The
/// embedded sandbox answers thousands of catalogue calls at start: its
/// lines are for debugging, the gateway's own are the access log.
pub fn log_response(response: &Response, latency: std::time::Duration, instance: &str) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    let code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    if response.extensions().get::<SandboxRoute>().is_some() {
        tracing::debug!(status, code, latency_ms, "served");
    } else {
        tracing::info!(status, code, latency_ms, instance, "served");
    }
}

/// Marks a response as the embedded sandbox's (logged at debug level).
#[derive(Debug, Clone, Copy)]
pub struct SandboxRoute;
