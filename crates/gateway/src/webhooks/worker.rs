//! The delivery worker, one on every instance. It claims due deliveries (a
//! lease in the database: on PostgreSQL rows are taken with `FOR UPDATE
//! SKIP LOCKED`, so each event is taken by one instance), sends each as
//! soon as it is claimed, and records each outcome: delivered (any 2xx),
//! retried later with exponential backoff and jitter, or failed when the
//! schedule is spent. An instance that dies mid-attempt leaves its claim to
//! expire; another instance then sends the event again (at least once, with
//! the same `webhook-id`, so receivers can drop duplicates).
//!
//! One client's receiver never holds up another's events: at most
//! [`PER_ENDPOINT`] of a client's deliveries are in flight at once (each
//! given up after the configured timeout), at most [`IN_FLIGHT`] in all,
//! and claims take clients in turn (every due client's first delivery
//! before anyone's second). A slot is refilled as soon as it frees: a
//! receiver that hangs holds its own few slots until they time out, never
//! a batch that others wait behind.
//!
//! Logs carry the event id, client id, attempt and status; never the body,
//! the secret, the signature or the URL (a URL can hold a token).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::guard::{GuardedResolver, Targets};
use super::payload::Payload;
use super::signing;
use crate::auth::clients::ClientCache;
use crate::config::interval;
use crate::config::Config;
use crate::crypto::Keyring;
use crate::metrics::{Metrics, WebhookOutcome};
use crate::state::{AppState, Clock};
use crate::storage::{AttemptOutcome, DueDelivery, Store};

/// What the delivery worker uses, and nothing more.
#[derive(Clone)]
pub struct Worker {
    pub store: Arc<dyn Store>,
    /// The clients, to skip a disabled one's deliveries.
    pub clients: Arc<ClientCache>,
    /// Opens the webhook secrets.
    pub keys: Keyring,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    /// The `[webhooks]` settings and the limits of outgoing calls.
    pub config: Arc<Config>,
}

impl Worker {
    /// The worker of a running gateway.
    pub fn of(state: &AppState) -> Worker {
        Worker {
            store: state.store.clone(),
            clients: state.clients.clone(),
            keys: state.keys.clone(),
            metrics: state.metrics.clone(),
            clock: state.clock.clone(),
            config: state.config.clone(),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// Deliveries in flight at once on one instance, all clients together.
pub const IN_FLIGHT: usize = 32;
/// Deliveries in flight at once to one client's endpoint, on one instance.
pub const PER_ENDPOINT: usize = 4;
/// A claim outlives the attempt's timeout by this much, so no other
/// instance takes a delivery that is still being sent.
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
            .tls_certs_only(config.webhooks.trusted_roots()?)
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

/// Background loop: keep up to [`IN_FLIGHT`] deliveries in flight, claiming
/// more when a slot frees and more may be due, else every poll interval.
/// Dropped (at shutdown), it drops the attempts in flight: their claims
/// expire and they are sent again.
pub async fn run(state: Worker) {
    let deliverer = match Deliverer::new(&state.config) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the webhook worker");
            return;
        }
    };
    let poll = interval(state.config.webhooks.poll_interval);
    let mut sending: JoinSet<()> = JoinSet::new();
    // Whose delivery each task sends, and how many each client has in flight.
    let mut owner: HashMap<tokio::task::Id, String> = HashMap::new();
    let mut busy: HashMap<String, i64> = HashMap::new();
    let mut next_poll = Instant::now();
    // Whether more may be due now: the last claim took all it could, or a
    // slot of a client at its limit freed.
    let mut more = false;
    loop {
        let free = IN_FLIGHT.saturating_sub(sending.len());
        if free > 0 && (more || Instant::now() >= next_poll) {
            next_poll = Instant::now() + poll;
            more = match claim(&state, &deliverer, &busy, free).await {
                Ok(due) => {
                    let full = due.len() >= free;
                    for d in due {
                        let client = d.delivery.client_id.clone();
                        *busy.entry(client.clone()).or_insert(0) += 1;
                        let (state, deliverer) = (state.clone(), deliverer.clone());
                        let task = sending.spawn(async move {
                            deliver_one(&state, &deliverer, d).await;
                        });
                        owner.insert(task.id(), client);
                    }
                    full
                }
                Err(e) => {
                    tracing::warn!(error = %e, "webhook deliveries could not be claimed; will retry");
                    false
                }
            };
            continue;
        }
        tokio::select! {
            Some(done) = sending.join_next_with_id() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => e.id(),
                };
                if let Some(client) = owner.remove(&id) {
                    if let Some(n) = busy.get_mut(&client) {
                        // A client that had all it may have in flight may
                        // have more due.
                        more |= *n >= PER_ENDPOINT as i64;
                        *n -= 1;
                        if *n <= 0 {
                            busy.remove(&client);
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(next_poll), if !more || free == 0 => {}
        }
    }
}

/// Claim up to `free` due deliveries, clients in turn, none for a client
/// beyond [`PER_ENDPOINT`] in flight counting `busy`.
async fn claim(
    state: &Worker,
    deliverer: &Deliverer,
    busy: &HashMap<String, i64>,
    free: usize,
) -> anyhow::Result<Vec<DueDelivery>> {
    // Each is sent as soon as it is claimed: the claim covers one attempt.
    let lease = i64::try_from(deliverer.timeout.as_secs())
        .unwrap_or(i64::MAX)
        .saturating_add(LEASE_MARGIN_SECONDS);
    Ok(state
        .store
        .claim_deliveries(
            state.now(),
            lease,
            i64::try_from(free).unwrap_or(i64::MAX),
            PER_ENDPOINT as i64,
            busy,
        )
        .await?)
}

async fn deliver_one(state: &Worker, deliverer: &Deliverer, due: DueDelivery) {
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
async fn attempt(state: &Worker, deliverer: &Deliverer, due: &DueDelivery) -> Attempt {
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
