//! For operators and load balancers: liveness, readiness, metrics (on the
//! public port, or on the admin listener when `admin_listen` is set).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::state::AppState;

/// `/healthz`, `/readyz`, `/metrics`.
pub fn router() -> Router<AppState> {
    probes().merge(metrics_router())
}

/// `/healthz` and `/readyz`: served on the public port always (the load
/// balancer checks them there), and on the admin listener when there is one.
pub fn probes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
}

/// `/metrics`: on the public port, or only on the admin listener when
/// `admin_listen` is set.
pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// `GET /readyz`: the database answers, so the instance can serve.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({"status": "ready", "database": state.store.backend()})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "database not reachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable"})),
            )
                .into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    // Read from the database at each scrape, so every instance reports the
    // same (the catalogue is built by whichever holds the lease).
    match crate::catalogue::status(state.store.as_ref()).await {
        Ok(status) => state.metrics.catalogue(&crate::metrics::CatalogueGauges {
            entries: status.meta.map(|m| m.entries),
            issuers: status.meta.map_or(0, |m| m.issuers),
            failing: status.meta.map_or(0, |m| m.failing),
            pending: status.meta.map_or(0, |m| m.pending),
            missing: i64::try_from(status.pending)
                .unwrap_or(i64::MAX)
                .saturating_add(
                    status
                        .failing
                        .iter()
                        .filter(|s| !s.org_id.is_empty() && s.last_ok_at.is_none())
                        .count() as i64,
                ),
            age_seconds: status.meta.map_or(0, |m| (state.now() - m.built_at).max(0)),
            failing_issuers: status
                .failing
                .iter()
                .map(|s| {
                    let org = if s.org_id.is_empty() {
                        "list"
                    } else {
                        &s.org_id
                    };
                    (
                        org.to_owned(),
                        s.last_error.clone().unwrap_or_default(),
                        s.next_try_at,
                    )
                })
                .collect(),
        }),
        Err(e) => tracing::warn!(error = %e, "cannot read the catalogue's state for /metrics"),
    }
    match state.store.count_upstream_revokes().await {
        Ok(n) => state.metrics.upstream_revokes_pending(n),
        Err(e) => tracing::warn!(error = %e, "cannot count the upstream revokes for /metrics"),
    }
    match state.store.webhook_backlog().await {
        Ok(b) => state.metrics.webhook_backlog(
            b.pending,
            b.oldest_created_at.map_or(0, |t| state.now() - t),
        ),
        Err(e) => tracing::warn!(error = %e, "cannot read the webhook backlog for /metrics"),
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
