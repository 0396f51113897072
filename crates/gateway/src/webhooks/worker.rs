//! The delivery worker, one on every instance. It claims a batch of due
//! deliveries (a lease in the database: on PostgreSQL rows are taken with
//! `FOR UPDATE SKIP LOCKED`, so each event is taken by one instance), sends
//! them in parallel (bounded), and records each outcome: delivered (any
//! 2xx), retried later with exponential backoff and jitter, or failed when
//! the schedule is spent. An instance that dies mid-attempt leaves its
//! claim to expire; another instance then sends the event again (at least
//! once, with the same `webhook-id`, so receivers can drop duplicates).
//!
//! Logs carry the event id, client id, attempt and status; never the body,
//! the secret, the signature or the URL (a URL can hold a token).

use std::time::Duration;

use futures::StreamExt;

use super::guard::{GuardedResolver, Targets};
use super::payload::Payload;
use super::signing;
use crate::app::interval;
use crate::config::Config;
use crate::metrics::WebhookOutcome;
use crate::state::AppState;
use crate::storage::{AttemptOutcome, DueDelivery};

/// Deliveries claimed at once.
const BATCH: i64 = 64;
/// Sent at the same time by one instance.
const PARALLEL: usize = 16;
/// A claim outlives the longest the batch can take by this much, so no
/// other instance takes a delivery that is still waiting or being sent.
const LEASE_MARGIN_SECONDS: i64 = 60;
/// Most characters of an error kept with a delivery.
const MAX_ERROR_LEN: usize = 300;

/// Sends deliveries: an HTTP client that resolves names only to allowed
/// addresses, follows no redirects, uses no proxy from the environment and
/// gives up on an attempt after the configured timeout.
#[derive(Debug, Clone)]
pub struct Deliverer {
    http: reqwest::Client,
    targets: Targets,
    schedule: Vec<Duration>,
    timeout: Duration,
}

/// How one attempt went, before it is recorded.
enum Attempt {
    /// The receiver answered.
    Answered(u16),
    /// No answer: refused by the guard, no connection, timed out…
    Error(String),
    /// Never sent, and never will be as things stand.
    Dropped(&'static str),
}

impl Deliverer {
    /// The deliverer the configuration asks for.
    pub fn new(config: &Config) -> anyhow::Result<Deliverer> {
        let targets = Targets::from_config(config);
        let timeout = config.webhooks.timeout;
        let http = reqwest::Client::builder()
            .dns_resolver(std::sync::Arc::new(GuardedResolver { targets }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .tls_certs_only(digilocker::bundled_roots())
            .user_agent(concat!(
                "digilocker-gateway-webhooks/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        Ok(Deliverer {
            http,
            targets,
            schedule: config.webhooks.retry_schedule.clone(),
            timeout,
        })
    }

    /// The outcome of a failed attempt number `attempt` (1 for the first):
    /// retry after the schedule's next wait, with up to a tenth added at
    /// random (so receivers coming back are not hit by every retry at once),
    /// or fail when the schedule is spent.
    fn after_failure(
        &self,
        attempt: i64,
        status: Option<i64>,
        error: String,
        now: i64,
    ) -> AttemptOutcome {
        let wait = usize::try_from(attempt - 1)
            .ok()
            .and_then(|i| self.schedule.get(i));
        match wait {
            Some(wait) => {
                let secs = i64::try_from(wait.as_secs()).unwrap_or(i64::MAX).max(1);
                let jitter = rand::random_range(0..=secs / 10);
                AttemptOutcome::Retry {
                    status,
                    error,
                    next_attempt_at: now.saturating_add(secs).saturating_add(jitter),
                }
            }
            None => AttemptOutcome::Failed { status, error },
        }
    }
}

/// Background loop: deliver what is due, then wait a little.
pub async fn run(state: AppState) {
    let deliverer = match Deliverer::new(&state.config) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the webhook worker");
            return;
        }
    };
    loop {
        match deliver_due(&state, &deliverer).await {
            // A full batch: more may be waiting.
            Ok(n) if n as i64 >= BATCH => {
                tokio::task::yield_now().await;
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "webhook deliveries could not be claimed; will retry")
            }
        }
        tokio::time::sleep(interval(state.config.webhooks.poll_interval)).await;
    }
}

/// Claim the deliveries due now and send them; returns how many were claimed.
pub async fn deliver_due(state: &AppState, deliverer: &Deliverer) -> anyhow::Result<usize> {
    // The last of a batch is sent after the others ahead of it: the claim
    // covers every round of attempts the batch can take.
    let rounds = (BATCH as u64).div_ceil(PARALLEL as u64);
    let lease = i64::try_from(deliverer.timeout.as_secs().saturating_mul(rounds))
        .unwrap_or(i64::MAX)
        .saturating_add(LEASE_MARGIN_SECONDS);
    let due = state
        .store
        .claim_deliveries(state.now(), lease, BATCH)
        .await?;
    let claimed = due.len();
    futures::stream::iter(due)
        .for_each_concurrent(PARALLEL, |d| deliver_one(state, deliverer, d))
        .await;
    Ok(claimed)
}

async fn deliver_one(state: &AppState, deliverer: &Deliverer, due: DueDelivery) {
    let event_id = due.event.id.as_str();
    let client_id = due.delivery.client_id.as_str();
    let attempt_no = due.delivery.attempts.saturating_add(1);
    let attempt = attempt(state, deliverer, &due).await;
    let now = state.now();
    let (outcome, counted) = match attempt {
        Attempt::Answered(status) if (200..300).contains(&status) => (
            AttemptOutcome::Delivered {
                status: i64::from(status),
            },
            WebhookOutcome::Delivered,
        ),
        Attempt::Answered(status) => {
            let o = deliverer.after_failure(
                attempt_no,
                Some(i64::from(status)),
                format!("answered HTTP {status}"),
                now,
            );
            let c = counted(&o);
            (o, c)
        }
        Attempt::Error(error) => {
            let o = deliverer.after_failure(attempt_no, None, error, now);
            let c = counted(&o);
            (o, c)
        }
        Attempt::Dropped(why) => (
            AttemptOutcome::Failed {
                status: None,
                error: why.to_owned(),
            },
            WebhookOutcome::Dropped,
        ),
    };
    match &outcome {
        AttemptOutcome::Delivered { status } => {
            tracing::info!(
                event_id,
                client_id,
                attempt = attempt_no,
                status,
                "webhook delivered"
            )
        }
        AttemptOutcome::Retry {
            status,
            error,
            next_attempt_at,
        } => tracing::warn!(
            event_id, client_id, attempt = attempt_no, status, error = %error,
            retry_in_seconds = next_attempt_at - now, "webhook not delivered; will retry"
        ),
        AttemptOutcome::Failed { status, error } => tracing::warn!(
            event_id, client_id, attempt = attempt_no, status, error = %error,
            "webhook not delivered; giving up"
        ),
    }
    state.metrics.webhook(counted);
    if let Err(e) = state.store.finish_delivery(event_id, &outcome, now).await {
        // The claim expires and the event is sent again: at least once.
        tracing::warn!(event_id, error = %e, "cannot record a webhook attempt");
    }
}

fn counted(outcome: &AttemptOutcome) -> WebhookOutcome {
    match outcome {
        AttemptOutcome::Delivered { .. } => WebhookOutcome::Delivered,
        AttemptOutcome::Retry { .. } => WebhookOutcome::Retried,
        AttemptOutcome::Failed { .. } => WebhookOutcome::Failed,
    }
}

/// Build, sign and send one delivery.
async fn attempt(state: &AppState, deliverer: &Deliverer, due: &DueDelivery) -> Attempt {
    let client_id = due.delivery.client_id.as_str();
    match state.clients.get(state.store.as_ref(), client_id).await {
        Ok(Some(c)) if c.disabled == 0 => {}
        Ok(_) => return Attempt::Dropped("the client is disabled"),
        Err(e) => return Attempt::Error(format!("cannot read the client: {e}")),
    }
    let Some(url) = due.webhook.url.as_deref() else {
        return Attempt::Dropped("the client has no webhook any more");
    };
    let Some(payload) = Payload::from_event(&due.event) else {
        return Attempt::Dropped("this event is not announced to webhooks");
    };
    // Checked again as written (the policy may have changed since it was
    // set); the name is checked on what it resolves to, by the resolver.
    let url = match deliverer.targets.check_url(url) {
        Ok(u) => u,
        Err(e) => return Attempt::Error(e.0),
    };
    let now = state.now();
    let keys = match signing::signing_keys(
        &state.keys,
        client_id,
        due.webhook.secret.as_deref(),
        due.webhook.previous_secret.as_deref(),
        due.webhook.previous_until,
        now,
    ) {
        Ok(k) => k,
        Err(e) => return Attempt::Error(format!("{e:#}")),
    };
    let body = payload.to_body();
    let id = due.event.id.as_str();
    let signature = match signing::signature_header(&keys, id, now, &body) {
        Ok(s) => s,
        Err(e) => return Attempt::Error(format!("{e:#}")),
    };
    let sent = deliverer
        .http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(resp) => Attempt::Answered(resp.status().as_u16()),
        Err(e) => Attempt::Error(describe(e, deliverer.timeout)),
    }
}

/// What went wrong, for the delivery's record: the error and its causes,
/// without the URL.
fn describe(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", timeout.as_secs());
    }
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if text.len() > MAX_ERROR_LEN {
        let mut cut = MAX_ERROR_LEN;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_along_the_schedule_with_jitter_then_fail() {
        let mut config = Config::default();
        config.webhooks.retry_schedule = vec![Duration::from_secs(10), Duration::from_secs(100)];
        let d = Deliverer::new(&config).unwrap();
        for _ in 0..50 {
            match d.after_failure(1, Some(500), "x".into(), 1000) {
                AttemptOutcome::Retry {
                    next_attempt_at, ..
                } => {
                    assert!(
                        (1010..=1011).contains(&next_attempt_at),
                        "{next_attempt_at}"
                    )
                }
                o => panic!("{o:?}"),
            }
            match d.after_failure(2, None, "x".into(), 1000) {
                AttemptOutcome::Retry {
                    next_attempt_at, ..
                } => {
                    assert!(
                        (1100..=1110).contains(&next_attempt_at),
                        "{next_attempt_at}"
                    )
                }
                o => panic!("{o:?}"),
            }
        }
        assert!(matches!(
            d.after_failure(3, Some(503), "x".into(), 1000),
            AttemptOutcome::Failed {
                status: Some(503),
                ..
            }
        ));
    }
}
