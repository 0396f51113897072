//! Trace ids: one per call, in the `x-request-id` header, the error body's
//! `traceId` and every log line of the call.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

tokio::task_local! {
    static TRACE_ID: String;
}

/// The header carrying the trace id both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The current call's trace id, or an empty string outside a call.
pub fn current_trace_id() -> String {
    TRACE_ID.try_with(|t| t.clone()).unwrap_or_default()
}

/// Accept a caller's id only when it is short and plain, so it can't inject
/// into logs; otherwise make one.
fn sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// Middleware: assign the trace id, log the call (route, status, latency;
/// never a query string, header or body), echo the id.
pub async fn trace_layer(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!(
        "call",
        trace_id = %id,
        %method,
        route = %route,
        client_id = tracing::field::Empty
    );
    let started = std::time::Instant::now();
    let mut response = TRACE_ID
        .scope(id.clone(), next.run(request).instrument(span.clone()))
        .await;
    let _enter = span.enter();
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    // The embedded sandbox answers thousands of catalogue calls at start:
    // its lines are for debugging, the gateway's own are the access log.
    if route.starts_with("/sandbox") {
        tracing::debug!(status, latency_ms, "served");
    } else {
        tracing::info!(status, latency_ms, "served");
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response
}
