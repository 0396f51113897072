//! Serving connections: hyper under our own accept loop, so that every
//! limit against slow and hostile clients is ours to set — a deadline for a
//! request's headers (which also closes idle keep-alive connections), a cap
//! on open connections, and a graceful shutdown with a deadline.
//!
//! Every connection cut by a limit leaves one line in the access log with a
//! `cut_off` field: `header_read_timeout` (a request had begun, but its
//! headers did not all arrive in time), `idle_timeout` (a connection sent
//! nothing of a first or next request in time), `shutdown_deadline`
//! (connections still open when the shutdown grace period ended),
//! `h2c_refused` (a cleartext HTTP/2 connection: HTTP/1.1 only). The request-level cut-offs
//! (`body_read_timeout`, `content_length_over_limit`, `headers_too_large`)
//! are logged by `http::guard`.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// The connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request's headers must arrive within this; an idle keep-alive
    /// connection is closed after it too (waiting for the next request is
    /// waiting for its headers).
    pub header_read_timeout: Duration,
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// On shutdown, how long open calls may take to finish before their
    /// connections are cut.
    pub shutdown_grace: Duration,
}

/// hyper's own ceiling on request headers; below it the gateway answers
/// too many headers with the contract body (`http::guard::MAX_HEADERS`).
const HYPER_MAX_HEADERS: usize = 512;

/// What an HTTP/2 client sends first (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How often the "connection limit reached" line may be logged.
const FULL_LOG_EVERY: Duration = Duration::from_secs(10);

/// Serve `app` on `listener` until `shutdown` turns true, then stop
/// accepting, let open calls finish within the grace period and cut the rest.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let service = app
        .map_request(crate::http::trim_api_slash)
        .map_request(|r: Request<Incoming>| r.map(Body::new));
    // HTTP/1.1 only: a connection that opens with the HTTP/2 preface is
    // closed at once (see `first_bytes`).
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_headers(HYPER_MAX_HEADERS)
        .keep_alive(true);
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let max_connections = limits.max_connections.max(1);
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut connections = JoinSet::new();
    let mut full_logged: Option<Instant> = None;
    loop {
        while connections.try_join_next().is_some() {}
        if slots.available_permits() == 0
            && full_logged.is_none_or(|at| at.elapsed() >= FULL_LOG_EVERY)
        {
            tracing::warn!(
                max_connections,
                "connection limit reached: new connections wait until one closes"
            );
            full_logged = Some(Instant::now());
        }
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: back off a little.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        let service = service.clone();
        let watcher = graceful.watcher();
        let mut stop = shutdown.clone();
        let header_read_timeout = limits.header_read_timeout;
        connections.spawn(async move {
            // hyper's header timer starts only once it knows the protocol:
            // until the first bytes say which, the deadline is ours. A
            // connection that sends nothing is cut like one whose headers
            // are late; at shutdown it is simply closed.
            let mut seen = 0;
            let first = tokio::select! {
                first = tokio::time::timeout(header_read_timeout, first_bytes(&stream, &mut seen)) => first,
                _ = stop.wait_for(|stop| *stop) => return,
            };
            match first {
                Err(_) if seen == 0 => {
                    tracing::info!(
                        cut_off = "idle_timeout",
                        served = 0,
                        "connection closed: no request received in time"
                    );
                    return;
                }
                Err(_) => {
                    tracing::info!(
                        cut_off = "header_read_timeout",
                        served = 0,
                        "connection closed: request headers not received in time"
                    );
                    return;
                }
                // The client closed, or the connection broke, before a byte.
                Ok(Ok(Opening::Closed) | Err(_)) => return,
                // Cleartext HTTP/2 (h2c) is needed by no caller (the gateway
                // sits behind a TLS-terminating proxy, or is called by
                // HTTP/1.1 clients), and an h2c connection that only answers
                // the server's pings was never idle to hyper: it kept its
                // slot, and held up a shutdown, for ever.
                Ok(Ok(Opening::Http2)) => {
                    tracing::info!(cut_off = "h2c_refused", served = 0, "connection closed: cleartext HTTP/2 is not served; use HTTP/1.1");
                    return;
                }
                Ok(Ok(Opening::Http1)) => {}
            }
            let stats = Arc::new(ConnStats::default());
            let on_request = stats.clone();
            let on_response = stats.clone();
            let service = service
                .map_request(move |r: Request<Incoming>| {
                    on_request.started.fetch_add(1, Ordering::Relaxed);
                    r
                })
                .map_response(move |r| {
                    on_response.answered();
                    r
                });
            let io = TokioIo::new(Counted {
                inner: stream,
                stats: stats.clone(),
                replacing: None,
            });
            let conn = builder.serve_connection(io, TowerToHyperService::new(service));
            if let Err(e) = watcher.watch(conn).await {
                log_connection_error(&e, &stats);
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::info!(
                cut_off = "shutdown_deadline",
                open = connections.len(),
                "shutdown deadline reached; closing the remaining connections"
            );
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// How a connection opened.
enum Opening {
    /// Closed before a byte.
    Closed,
    Http1,
    /// The whole HTTP/2 preface.
    Http2,
}

/// Wait until the client has sent enough to tell HTTP/1 from HTTP/2: any
/// byte that leaves the HTTP/2 preface, or the whole preface. `seen`: how
/// many bytes came.
async fn first_bytes(stream: &TcpStream, seen: &mut usize) -> io::Result<Opening> {
    let mut buf = [0u8; H2_PREFACE.len()];
    loop {
        let n = stream.peek(&mut buf).await?;
        *seen = n;
        if n == 0 {
            return Ok(Opening::Closed);
        }
        if buf.get(..n) != H2_PREFACE.get(..n) {
            return Ok(Opening::Http1);
        }
        if n == H2_PREFACE.len() {
            return Ok(Opening::Http2);
        }
        // A strict prefix of the preface, sent piecemeal: real HTTP/2
        // clients send it in one go, so this wait is only ever a trickler's.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a connection did, for the access log's line when it is cut.
#[derive(Debug, Default)]
struct ConnStats {
    /// Bytes read from the client so far.
    read: AtomicU64,
    /// `read` when the last answer was produced.
    read_at_answer: AtomicU64,
    /// Requests whose headers arrived.
    started: AtomicU64,
    /// Requests answered.
    answered: AtomicU64,
}

impl ConnStats {
    fn answered(&self) {
        self.read_at_answer
            .store(self.read.load(Ordering::Relaxed), Ordering::Relaxed);
        self.answered.fetch_add(1, Ordering::Relaxed);
    }

    /// Cut while waiting for a next request of which nothing arrived?
    fn idle(&self) -> bool {
        let answered = self.answered.load(Ordering::Relaxed);
        answered > 0
            && answered == self.started.load(Ordering::Relaxed)
            && self.read.load(Ordering::Relaxed) == self.read_at_answer.load(Ordering::Relaxed)
    }
}

/// The client's stream, counting the bytes read from it, and answering
/// hyper's own error responses with the contract's body.
struct Counted {
    inner: TcpStream,
    stats: Arc<ConnStats>,
    /// A contract answer being written in place of one of hyper's automatic
    /// error responses: its bytes, how many are written, and the length of
    /// hyper's response (what the write reports once ours is out).
    replacing: Option<(Vec<u8>, usize, usize)>,
}

/// hyper answers a request it cannot parse itself, before any handler sees
/// it, with an empty body: `400` (a malformed method, URI, header or
/// version), `414` (a URI over its limit) and `431` (headers over its
/// limits: more than 512, or over its buffer). The contract answers every
/// error with its body, so such a response is rewritten here: it is the
/// only response that starts a write with `HTTP/1.1 4..` and no body.
fn contract_answer_for(hyper_response: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(hyper_response).ok()?;
    if !head.ends_with("\r\n\r\n")
        || !head
            .to_ascii_lowercase()
            .contains("\r\ncontent-length: 0\r\n")
    {
        return None;
    }
    let (status, code, detail, cut_off) = match head.get(..13)? {
        "HTTP/1.1 431 " => (
            "431 Request Header Fields Too Large",
            "headers_too_large",
            "The request's headers are too many or too large.",
            Some("headers_too_large"),
        ),
        "HTTP/1.1 414 " => (
            "414 URI Too Long",
            "invalid_payload",
            "The URL is too long.",
            None,
        ),
        "HTTP/1.1 400 " => (
            "400 Bad Request",
            "invalid_payload",
            "The request could not be read as HTTP/1.1.",
            None,
        ),
        _ => return None,
    };
    let trace_id = uuid::Uuid::new_v4().to_string();
    match cut_off {
        Some(cut_off) => {
            tracing::info!(cut_off, trace_id = %trace_id, status, "request refused before it was read")
        }
        None => tracing::info!(trace_id = %trace_id, status, "request refused before it was read"),
    }
    let body = serde_json::json!({"error": {"code": code, "detail": detail, "traceId": trace_id}})
        .to_string();
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             x-request-id: {trace_id}\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl Counted {
    /// Go on writing a replacement; `Ready(Ok(n))` with hyper's length once
    /// all of it is out.
    fn poll_replacing(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some((bytes, written, reported)) = self.replacing.as_mut() {
            if *written == bytes.len() {
                let reported = *reported;
                self.replacing = None;
                return Poll::Ready(Ok(reported));
            }
            match Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => {
                    self.replacing = None;
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => {
                    self.replacing = None;
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(0))
    }

    /// Whether this write is one of hyper's automatic error responses: no
    /// request of this connection is waiting for its answer, and the bytes
    /// look like one.
    fn take_over(&mut self, first: &[u8], total: usize) -> bool {
        if self.stats.answered.load(Ordering::Relaxed) != self.stats.started.load(Ordering::Relaxed)
            || !first.starts_with(b"HTTP/1.1 4")
            || first.len() != total
        {
            return false;
        }
        match contract_answer_for(first) {
            Some(ours) => {
                self.replacing = Some((ours, 0, total));
                true
            }
            None => false,
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let n = buf.filled().len().saturating_sub(before);
            self.stats.read.fetch_add(n as u64, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.replacing.is_some() || self.take_over(buf, buf.len()) {
            return self.poll_replacing(cx);
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map(|b| &b[..])
            .unwrap_or(&[]);
        if self.replacing.is_some() || self.take_over(first, total) {
            return self.poll_replacing(cx);
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The access log's record of a connection we cut or lost.
fn log_connection_error(e: &(dyn std::error::Error + 'static), stats: &ConnStats) {
    let hyper_error = e.downcast_ref::<hyper::Error>();
    let served = stats.answered.load(Ordering::Relaxed);
    if hyper_error.is_some_and(hyper::Error::is_timeout) {
        if stats.idle() {
            tracing::info!(
                cut_off = "idle_timeout",
                served,
                "connection closed: idle keep-alive connection sent no next request in time"
            );
        } else {
            tracing::info!(
                cut_off = "header_read_timeout",
                served,
                "connection closed: request headers not received in time"
            );
        }
    } else if hyper_error.is_some_and(|h| h.is_incomplete_message() || h.is_canceled()) {
        tracing::debug!(error = %e, "connection closed by the client");
    } else {
        tracing::debug!(error = %e, "connection error");
    }
}
