//! Serving connections: hyper under our own accept loop, so that every
//! limit against slow and hostile clients is ours to set — a deadline for a
//! request's headers (which also closes idle keep-alive connections), a cap
//! on open connections, and a graceful shutdown with a deadline.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
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
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_headers(HYPER_MAX_HEADERS)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_read_timeout))
        .keep_alive_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
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
        let hyper_service = TowerToHyperService::new(service.clone());
        let builder = builder.clone();
        let watcher = graceful.watcher();
        connections.spawn(async move {
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), hyper_service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                log_connection_error(e.as_ref());
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

/// The access log's record of a connection we cut or lost.
fn log_connection_error(e: &(dyn std::error::Error + 'static)) {
    let hyper_error = e.downcast_ref::<hyper::Error>();
    if hyper_error.is_some_and(hyper::Error::is_timeout) {
        tracing::info!(
            cut_off = "header_read_timeout",
            "connection closed: request headers not received in time"
        );
    } else if hyper_error.is_some_and(|h| h.is_incomplete_message() || h.is_canceled()) {
        tracing::debug!(error = %e, "connection closed by the client");
    } else {
        tracing::debug!(error = %e, "connection error");
    }
}
