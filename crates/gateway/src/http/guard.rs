//! What every call goes through, in one layer (one future per call): its
//! trace id taken or made, echoed and made current, its span and access log
//! line, limits checked before a handler runs, the contract body on every
//! error, the headers every answer carries, and the call counted in the
//! metrics.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};
use tracing::Instrument;

use super::trace;
use crate::error::ApiError;
use crate::state::AppState;

/// At most this many request headers (hyper itself stops at a higher
/// number, with an empty answer; below that we answer with the contract).
pub const MAX_HEADERS: usize = 100;
/// At most this many bytes of request header names and values.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The Content-Security-Policy of the gateway's own HTML pages: nothing
/// but inline styles and same-origin images, never framed.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
     base-uri 'none'; frame-ancestors 'none'";

/// Refuse what is over a limit before any handler reads the body: too many
/// or too large headers (`431`), a `Content-Length` over the body limit
/// (`413`, without reading a byte of the body). Whatever body is then read,
/// by any handler (the API's, the demo's forms, the embedded sandbox's), must
/// arrive whole within the body read timeout, counted from when the headers
/// arrived; a body that stops arriving is answered `408`.
async fn limits(state: &AppState, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len())
        .sum();
    if headers.len() > MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
        tracing::info!(cut_off = "headers_too_large", "request refused");
        return ApiError::HeadersTooLarge.into_response();
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.config.max_body_bytes as u64) {
        tracing::info!(cut_off = "content_length_over_limit", "request refused");
        let mut response = ApiError::PayloadTooLarge.into_response();
        // The unread body makes the connection unusable for another call.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    let expired = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + state.config.body_read_timeout;
    let request = request.map(|body| {
        if body.is_end_stream() {
            body
        } else {
            Body::new(DeadlineBody {
                inner: body,
                deadline,
                sleep: None,
                expired: expired.clone(),
            })
        }
    });
    let response = next.run(request).await;
    if expired.load(Ordering::Relaxed) {
        tracing::info!(
            cut_off = "body_read_timeout",
            "request body not received in time"
        );
        let mut response = ApiError::RequestTimeout.into_response();
        // The rest of the body may still come: the connection can't carry
        // another call.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    response
}

/// A request body that must have arrived whole by `deadline`; after it,
/// reading fails and `expired` is set.
struct DeadlineBody {
    inner: Body,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    expired: Arc<AtomicBool>,
}

/// The error a reader of a late body sees.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received in time")]
struct BodyTimedOut;

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Which part of the gateway a path belongs to, for the headers and the
/// error body it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    /// `/api/...` and `/files/...`: personal data, never cached.
    Api,
    /// The embedded sandbox: DigiLocker's own pages and error format.
    Sandbox,
    /// Everything else: journey pages, the demo, operations.
    Other,
}

impl Area {
    fn of(path: &str) -> Area {
        if path.starts_with("/api") || path.starts_with("/files/") {
            Area::Api
        } else if path.starts_with("/sandbox") {
            Area::Sandbox
        } else {
            Area::Other
        }
    }
}

/// The layer every call goes through.
pub async fn every_call(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let id = trace::trace_id_of(&request);
    // A trace id is plain ASCII (checked, or a UUID), so always a valid value.
    let echoed = HeaderValue::from_str(&id).ok();
    let area = Area::of(request.uri().path());
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", |p| p.as_str());
    let method = request.method().clone();
    let span = trace::call_span(&id, &method, route);
    let mut response = trace::with_trace_id(id, async {
        let response = limits(&state, request, next).await;
        contract_errors(area, response)
    })
    .instrument(span.clone())
    .await;
    security_headers(area, &mut response);
    if let Some(echoed) = echoed {
        response
            .headers_mut()
            .insert(trace::REQUEST_ID_HEADER, echoed);
    }
    span.in_scope(|| {
        trace::log_response(&response, started.elapsed(), &state.config.instance_name)
    });
    state
        .metrics
        .http(route, &method, response.status(), started);
    if let Some(code) = response.extensions().get::<crate::error::ErrorCode>() {
        state.metrics.error_answer(code.0);
    }
    response
}

/// The headers every answer carries: no caching of `/api` answers (they
/// hold personal data), no sniffing, no referrer (URLs carry codes and ids),
/// and a strict CSP on HTML pages.
fn security_headers(area: Area, response: &mut Response) {
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if area == Area::Api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html && area != Area::Sandbox {
        if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            );
        }
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}

/// Whatever a layer below the handlers answered with a bare status (axum's
/// rejections, tower's timeouts, an empty 405), answer the contract's error
/// body instead. HTML pages and JSON answers pass untouched; so does the
/// embedded sandbox, which speaks DigiLocker's error format.
fn contract_errors(area: Area, response: Response) -> Response {
    let status = response.status();
    if area == Area::Sandbox || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let typed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if typed {
        return response;
    }
    let mut fixed = ApiError::from_status(status).into_response();
    // Keep the status the layer chose (e.g. 413 from hyper, 408, 504).
    if fixed.status() != status && status != StatusCode::INTERNAL_SERVER_ERROR {
        *fixed.status_mut() = status;
    }
    for name in [header::ALLOW, header::RETRY_AFTER, header::CONNECTION] {
        if let Some(v) = response.headers().get(&name) {
            fixed.headers_mut().insert(name, v.clone());
        }
    }
    fixed
}
