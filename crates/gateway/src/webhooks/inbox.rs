//! The demo's webhook receiver (sandbox mode): the demo client's webhook
//! points at `/demo/webhook` on this gateway, which verifies each delivery
//! exactly as a business would (the Standard Webhooks library, the client's
//! secret) and keeps the events in memory per request, so the demo's pages
//! can show what its request produced. Unsigned or wrongly signed
//! deliveries are refused and kept nowhere. Memory is bounded: the most
//! recent requests only, a few events each.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Extension;

use super::signing;
use crate::state::AppState;
use crate::storage::WebhookSettings;

/// Requests whose events are kept.
const MAX_REQUESTS: usize = 200;
/// Events kept per request.
const MAX_PER_REQUEST: usize = 16;
/// Where the demo client's deliveries go.
pub const PATH: &str = "/demo/webhook";

/// One verified delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// `webhook-id` (the event's id).
    pub webhook_id: String,
    /// `type`, e.g. `digilocker.request.authenticated`.
    pub kind: String,
    /// The event's `timestamp`.
    pub timestamp: String,
    /// `data`, pretty-printed.
    pub data: String,
}

#[derive(Debug, Default)]
struct Kept {
    /// Request ids, oldest first.
    order: VecDeque<String>,
    by_request: HashMap<String, Vec<Received>>,
}

/// Verified deliveries, by request id, in memory.
#[derive(Debug, Default)]
pub struct Inbox {
    kept: Mutex<Kept>,
    arrived: tokio::sync::Notify,
}

impl Inbox {
    /// Keep a delivery (once per `webhook-id`: deliveries are at least once).
    fn keep(&self, request_id: &str, received: Received) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        if !kept.by_request.contains_key(request_id) {
            if kept.order.len() >= MAX_REQUESTS {
                if let Some(oldest) = kept.order.pop_front() {
                    kept.by_request.remove(&oldest);
                }
            }
            kept.order.push_back(request_id.to_owned());
        }
        let events = kept.by_request.entry(request_id.to_owned()).or_default();
        if events.len() < MAX_PER_REQUEST
            && !events.iter().any(|e| e.webhook_id == received.webhook_id)
        {
            events.push(received);
        }
        drop(kept);
        self.arrived.notify_waiters();
    }

    /// The events received for a request, oldest first.
    pub fn events(&self, request_id: &str) -> Vec<Received> {
        self.kept
            .lock()
            .ok()
            .and_then(|k| k.by_request.get(request_id).cloned())
            .unwrap_or_default()
    }

    /// The events of a request, waiting up to `patience` for the first one
    /// (the journey's own event is usually on its way as the page loads).
    pub async fn events_when_any(&self, request_id: &str, patience: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let arrived = self.arrived.notified();
            let events = self.events(request_id);
            if !events.is_empty() {
                return events;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.events(request_id);
            }
        }
    }
}

/// `POST /demo/webhook`: verify with the demo client's secrets, keep, `204`;
/// `401` when the signature does not verify, `400` when the body is not an event.
pub async fn receive(
    State(state): State<AppState>,
    Extension(inbox): Extension<Arc<Inbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let Some(demo) = &state.demo_client else {
        return StatusCode::NOT_FOUND;
    };
    let client = match state.store.get_client(&demo.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return StatusCode::NOT_FOUND,
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE,
    };
    let Ok(keys) = signing::client_signing_keys(&state.keys, &client, state.now()) else {
        return StatusCode::UNAUTHORIZED;
    };
    let verified = keys.iter().any(|k| k.verify(&body, &headers));
    if !verified {
        tracing::warn!(
            "the demo's webhook receiver refused a delivery whose signature did not verify"
        );
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let (Some(kind), Some(request_id)) = (text(&event["type"]), text(&event["data"]["id"])) else {
        return StatusCode::BAD_REQUEST;
    };
    let webhook_id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    inbox.keep(
        &request_id,
        Received {
            webhook_id,
            kind,
            timestamp: text(&event["timestamp"]).unwrap_or_default(),
            data: serde_json::to_string_pretty(&event["data"]).unwrap_or_default(),
        },
    );
    StatusCode::NO_CONTENT
}

/// Point the demo client's webhook at this instance's receiver (`port` is
/// where it listens), keeping its secret when it has one.
pub async fn register_demo_webhook(state: &AppState, port: u16) -> anyhow::Result<()> {
    let Some(demo) = &state.demo_client else {
        return Ok(());
    };
    let Some(client) = state.store.get_client(&demo.client_id).await? else {
        return Ok(());
    };
    let url = format!("http://127.0.0.1:{port}{PATH}");
    if client.webhook_url.as_deref() == Some(url.as_str()) && client.webhook_secret.is_some() {
        return Ok(());
    }
    let secret = match client.webhook_secret {
        Some(s) => s,
        None => signing::SigningKey::generate().seal(&state.keys, &client.client_id)?,
    };
    state
        .store
        .set_client_webhook(
            &client.client_id,
            &WebhookSettings {
                url: Some(url),
                secret: Some(secret),
                previous_secret: client.webhook_previous_secret,
                previous_until: client.webhook_previous_until,
            },
        )
        .await?;
    Ok(())
}
