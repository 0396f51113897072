//! The expiry sweeper: erases every request past `validUpto` (its data
//! key, tokens, user details and files), expired file links, and events
//! past their retention.
//!
//! It must never starve the API: it works in small steps sized by time (a
//! millisecond each on SQLite, five on PostgreSQL) and yields between
//! steps. On SQLite the steps are queued at background priority behind the
//! API's writes (one writer); on PostgreSQL each is its own transaction
//! beside the writer. One summary line per sweep; the record of each
//! erasure is its `erased` event.
//!
//! Beside the sweeps, on PostgreSQL, it rewrites `requests` after erasures
//! (at most once per `erasure_rewrite_interval`), so no erased data key
//! stays in the old row versions PostgreSQL keeps in the table's files.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::interval;
use crate::metrics::Metrics;
use crate::state::{AppState, Clock};
use crate::storage::Store;

/// What the sweeper uses, and nothing more.
#[derive(Clone)]
pub struct Sweeper {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    /// How often a sweep runs (`sweep_interval`).
    pub every: Duration,
    /// How long events are kept (`audit_retention_days`).
    pub audit_retention: Duration,
    /// At most how often `requests` is rewritten after erasures
    /// (`erasure_rewrite_interval`; zero: never).
    pub rewrite_every: Duration,
}

impl Sweeper {
    /// The sweeper of a running gateway.
    pub fn of(state: &AppState) -> Sweeper {
        Sweeper {
            store: state.store.clone(),
            clock: state.clock.clone(),
            metrics: state.metrics.clone(),
            every: state.config.sweep_interval,
            audit_retention: state.config.audit_retention,
            rewrite_every: state.config.erasure_rewrite_interval,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// What one step should take at most on SQLite. A step holds the one
/// writer, so every API write that arrives meanwhile waits for it: its
/// length is added to the API's latency (a busy gateway's p99 is a few
/// milliseconds).
const STEP_TARGET_ONE_WRITER: Duration = Duration::from_millis(1);
/// The same on PostgreSQL, where a step is its own transaction beside the
/// API's writes (row locks only): longer steps cost the API no latency and
/// make fewer commits. While the API is busy a step is followed by a pause
/// of [`PAUSE_PER_STEP_BESIDE`] times its length (on SQLite the writer's
/// share paces the sweeper).
const STEP_TARGET_BESIDE: Duration = Duration::from_millis(5);
/// On PostgreSQL, while the API is busy, the sweeper takes at most a fifth
/// of the time, as a SQLite sweeper that is behind gets a fifth of the
/// writer: the database server shares the machine's cores with the
/// gateway, and with half (a pause as long as the step) creates fell to
/// 0.79x their steady rate during an expiry.
const PAUSE_PER_STEP_BESIDE: u32 = 4;
const MIN_STEP: i64 = 10;
const MAX_STEP: i64 = 1000;

/// What a sweep erased.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub requests: usize,
    pub links: u64,
    pub events: u64,
}

/// Erase what has expired now.
pub async fn sweep_once(state: &Sweeper) -> anyhow::Result<Swept> {
    let started = Instant::now();
    let mut swept = Swept::default();
    let mut limit = 100_i64;
    let one_writer = state.store.erases_through_writer();
    let target = if one_writer {
        STEP_TARGET_ONE_WRITER
    } else {
        STEP_TARGET_BESIDE
    };
    loop {
        let step = state.store.sweep_step(state.now(), limit).await?;
        // The step's own time on the writer, not its wait behind the API's
        // writes: sized by the wait, steps would shrink to nothing under
        // load and the sweep would fall behind.
        let took = step.took;
        swept.requests += step.requests.len();
        state.metrics.erased(step.requests.len() as u64);
        if (step.requests.len() as i64) < limit {
            break;
        }
        // Size the next step by how long this one took.
        limit = if took < target / 2 {
            (limit * 2).min(MAX_STEP)
        } else if took > target * 2 {
            (limit / 2).max(MIN_STEP)
        } else {
            limit
        };
        if !one_writer && state.store.api_busy() {
            tokio::time::sleep(took * PAUSE_PER_STEP_BESIDE).await;
        } else {
            tokio::task::yield_now().await;
        }
    }
    // File links live minutes, and are few beside requests.
    swept.links = in_steps(MAX_STEP, |limit| {
        state.store.sweep_links(state.now(), limit)
    })
    .await?;
    let retention = i64::try_from(state.audit_retention.as_secs()).unwrap_or(i64::MAX);
    let before = state.now().saturating_sub(retention);
    swept.events = in_steps(500, |limit| state.store.purge_events(before, limit)).await?;
    if swept.requests > 0 || swept.links > 0 {
        // No earlier copy of what was erased stays in the database files.
        state.store.compact().await?;
    }
    if swept != Swept::default() {
        tracing::info!(
            requests = swept.requests,
            links = swept.links,
            events = swept.events,
            ms = started.elapsed().as_millis() as u64,
            "sweep erased expired data"
        );
    }
    Ok(swept)
}

/// Run `step` (which removes up to `limit` rows and says how many) until
/// a step removes fewer, yielding between steps; how many in all.
async fn in_steps<F, Fut>(limit: i64, mut step: F) -> anyhow::Result<u64>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = crate::storage::StoreResult<u64>>,
{
    let mut total = 0;
    loop {
        let done = step(limit).await?;
        total += done;
        if done < limit as u64 {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

/// Background loops: sweeps, and rewrites after erasures.
pub async fn run(sweeper: Sweeper) {
    tokio::join!(sweeps(sweeper.clone()), rewrites(sweeper));
}

/// Sweep every `sweep_interval`.
async fn sweeps(state: Sweeper) {
    loop {
        if let Err(e) = sweep_once(&state).await {
            tracing::warn!(error = %e, "sweep failed; will retry");
        }
        tokio::time::sleep(interval(state.every)).await;
    }
}

/// Every `sweep_interval`, rewrite what erasures (on any instance) marked,
/// unless a rewrite ran within `erasure_rewrite_interval` (PostgreSQL; on
/// SQLite there is nothing to rewrite). A rewrite of `requests` locks it
/// while it copies the live rows: the interval bounds how often the API
/// waits for that, and how long an erased data key stays in the files.
async fn rewrites(state: Sweeper) {
    let every = state.rewrite_every.as_secs();
    if every == 0 {
        return;
    }
    let every = i64::try_from(every).unwrap_or(i64::MAX);
    loop {
        tokio::time::sleep(interval(state.every)).await;
        if let Err(e) = state.store.rewrite_erased(state.now(), every).await {
            tracing::warn!(error = %e, "the rewrite after erasures failed; will retry");
        }
    }
}
