//! Group commit: one task owns the write connection; callers hand it jobs
//! and wait. It takes whatever has queued (up to a batch), runs it inside
//! one transaction, commits once, and only then answers every caller — so
//! nothing is acknowledged before it is durable, and many small writes cost
//! one commit.
//!
//! Two kinds of API work. New requests, the hottest write, queue as data:
//! a batch inserts them with one multi-row statement per table, so a
//! thousand creates cost a handful of statements. Every other write is a
//! job (a closure) run in its own savepoint, so a failing one is undone and
//! answered alone. Background work (the sweeper on SQLite, deliveries,
//! catalogue chunks) queues at low priority: one job at a time, after the
//! API work of the batch it joins (sharing its commit), or alone when no
//! API work waits. While the API keeps the writer busy, background work gets
//! about a tenth of the writer's time ([`API_TIME_PER_BACKGROUND`]), and a
//! fifth once it has been waiting without a break for
//! [`BACKLOG_PATIENCE`] ([`API_TIME_PER_BACKGROUND_BEHIND`]): a burst of
//! expiries barely slows the API, and a backlog that lasts (a busy hour's
//! cohort expiring while as many new requests come in) gets twice as much
//! of the writer, and all of it once the API eases. The share holds while
//! the API is busy (a batch within the last [`API_QUIET`]), not only while
//! API work waits at that instant; with the API quiet, background work runs
//! flat out. A waiting background job never
//! waits longer than [`BACKGROUND_MAX_WAIT`].
//!
//! SQLite has one write lock: funnelling writes through one connection
//! means API writes never wait on `SQLITE_BUSY`. On PostgreSQL the same
//! batching saves a commit (a WAL flush) per write.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use sqlx::{Connection, Executor};
use tokio::sync::{mpsc, oneshot};

use super::{NewRequest, StoreError, StoreResult};

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 256;
/// Most new requests inserted in one transaction.
const MAX_CREATES: usize = 512;
/// After a background job that held the writer for `t`, API batches get
/// `t` times this before the next background job (a tenth of the writer's
/// time for background work while both wait).
const API_TIME_PER_BACKGROUND: u32 = 9;
/// The same once background work is behind: a fifth of the writer. The
/// API keeps four fifths even when the writer is what limits it (creates
/// at full load stay at 0.8× their rate while a cohort expires). A third
/// let erasure keep up better, but cost creates 0.71× on a machine whose
/// HTTP side was fast enough to make the writer the bottleneck.
const API_TIME_PER_BACKGROUND_BEHIND: u32 = 4;
/// Background work waiting this long without a break is behind.
const BACKLOG_PATIENCE: Duration = Duration::from_secs(5);
/// A break shorter than this (between a sweeper's steps, say) is no break.
const BACKLOG_GAP: Duration = Duration::from_secs(1);
/// The API counts as busy until this long after its last batch.
const API_QUIET: Duration = Duration::from_millis(20);
/// A waiting background job runs at least this often, however busy the API.
/// Long enough that a long job (a slow commit) still earns the API its
/// share: a cap of 50 ms gave a 200 ms job four fifths of the writer.
const BACKGROUND_MAX_WAIT: Duration = Duration::from_secs(1);

/// A write: runs on the connection inside the batch's transaction and
/// returns whether it succeeded and how to answer its caller once the
/// batch's fate is known.
type Job<C> = Box<dyn for<'c> FnOnce(&'c mut C) -> BoxFuture<'c, (bool, Finish)> + Send>;
/// Answers a caller: with `None` when the batch committed, else the
/// commit's error.
type Finish = Box<dyn FnOnce(Option<&StoreError>) + Send>;
/// A new request waiting for its batch, and who waits for it.
type Create = (NewRequest, oneshot::Sender<StoreResult<bool>>);

/// Opens a new write connection after the old one broke.
pub type Connect<C> = Box<dyn Fn() -> BoxFuture<'static, Result<C, sqlx::Error>> + Send + Sync>;
/// Inserts new requests (and their `created` events) in as few statements
/// as it can; returns the ids actually inserted (an idempotency key already
/// held makes a request's row be skipped, not fail).
pub type InsertRequests<C> =
    for<'c> fn(&'c mut C, &'c [NewRequest]) -> BoxFuture<'c, Result<Vec<String>, sqlx::Error>>;

/// How urgent a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// An API call waits on it.
    Api,
    /// Background work: runs between API batches.
    Background,
}

/// When the writer last committed API work, for work done beside it (the
/// sweeper on PostgreSQL) to know whether the API is busy.
#[derive(Debug)]
struct ApiActivity {
    origin: Instant,
    /// Milliseconds from `origin` to the last API batch's commit, plus one;
    /// 0 before the first.
    last: AtomicU64,
}

impl ApiActivity {
    fn mark(&self, now: Instant) {
        let ms = u64::try_from(now.duration_since(self.origin).as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms.saturating_add(1), Ordering::Relaxed);
    }

    fn busy(&self, now: Instant) -> bool {
        match self.last.load(Ordering::Relaxed) {
            0 => false,
            last => {
                let at = self.origin + Duration::from_millis(last - 1);
                now.saturating_duration_since(at) < API_QUIET
            }
        }
    }
}

/// A handle to the writer task.
pub struct Writer<C> {
    api: mpsc::UnboundedSender<Job<C>>,
    creates: mpsc::UnboundedSender<Create>,
    background: mpsc::Sender<Job<C>>,
    activity: Arc<ApiActivity>,
    _conn: PhantomData<fn() -> C>,
}

impl<C> Clone for Writer<C> {
    fn clone(&self) -> Self {
        Writer {
            api: self.api.clone(),
            creates: self.creates.clone(),
            background: self.background.clone(),
            activity: self.activity.clone(),
            _conn: PhantomData,
        }
    }
}

impl<C> std::fmt::Debug for Writer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable(sqlx::Error::PoolClosed)
}

/// What the writer task works with.
struct Task<C> {
    conn: C,
    begin: &'static str,
    connect: Connect<C>,
    insert_requests: InsertRequests<C>,
}

impl<C> Writer<C>
where
    C: Connection + 'static,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
{
    /// Start the writer task on `conn`; `begin` opens a write transaction
    /// (`BEGIN IMMEDIATE` on SQLite, `BEGIN` on PostgreSQL); `connect`
    /// replaces the connection when it breaks (a database restart).
    pub fn start(
        conn: C,
        begin: &'static str,
        connect: Connect<C>,
        insert_requests: InsertRequests<C>,
    ) -> Writer<C> {
        let (api, api_rx) = mpsc::unbounded_channel();
        let (creates, creates_rx) = mpsc::unbounded_channel();
        let (background, background_rx) = mpsc::channel(1);
        let task = Task {
            conn,
            begin,
            connect,
            insert_requests,
        };
        let activity = Arc::new(ApiActivity {
            origin: Instant::now(),
            last: AtomicU64::new(0),
        });
        tokio::spawn(run(
            task,
            api_rx,
            creates_rx,
            background_rx,
            activity.clone(),
        ));
        Writer {
            api,
            creates,
            background,
            activity,
            _conn: PhantomData,
        }
    }

    /// Whether API work committed within the last [`API_QUIET`].
    pub fn api_busy(&self) -> bool {
        self.activity.busy(Instant::now())
    }

    /// Insert a new request in the next batch; whether it was inserted
    /// (false: its idempotency key is held), once the batch committed.
    pub async fn insert_request(&self, request: NewRequest) -> StoreResult<bool> {
        let (tx, rx) = oneshot::channel();
        self.creates.send((request, tx)).map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    /// Run `f` in the next batch; its result once the batch committed.
    pub async fn write<T, F>(&self, priority: Priority, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut C) -> BoxFuture<'c, Result<T, sqlx::Error>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<StoreResult<T>>();
        let job: Job<C> = Box::new(move |conn: &mut C| {
            Box::pin(async move {
                let result = f(conn).await;
                let ok = result.is_ok();
                let finish: Finish = Box::new(move |commit: Option<&StoreError>| {
                    let answer = match (result, commit) {
                        (Err(e), _) => Err(StoreError::from(e)),
                        (Ok(_), Some(e)) => Err(e.duplicate()),
                        (Ok(v), None) => Ok(v),
                    };
                    let _ = tx.send(answer);
                });
                (ok, finish)
            })
        });
        match priority {
            Priority::Api => self.api.send(job).map_err(|_| closed())?,
            Priority::Background => self.background.send(job).await.map_err(|_| closed())?,
        }
        rx.await.map_err(|_| closed())?
    }
}

/// One transaction's worth of work.
struct Batch<C> {
    creates: Vec<Create>,
    jobs: Vec<Job<C>>,
    /// At most one background job, run after the API's work.
    background: Option<Job<C>>,
}

impl<C> Batch<C> {
    fn has_api_work(&self) -> bool {
        !self.creates.is_empty() || !self.jobs.is_empty()
    }
}

/// The writer task: batch, commit, answer; until every handle is gone.
async fn run<C>(
    mut task: Task<C>,
    mut api: mpsc::UnboundedReceiver<Job<C>>,
    mut creates: mpsc::UnboundedReceiver<Create>,
    mut background: mpsc::Receiver<Job<C>>,
    activity: Arc<ApiActivity>,
) where
    C: Connection + 'static,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
{
    let mut open = (true, true, true);
    let mut share = BackgroundShare::new(Instant::now());
    while open.0 || open.1 || open.2 {
        let mut batch = Batch {
            creates: Vec::new(),
            jobs: Vec::new(),
            background: None,
        };
        // A background job when it is its turn (and one waits), or when the
        // API has been quiet for a moment; API work otherwise, gathered
        // together. While the API is busy, background work keeps to its
        // share even when no API work waits at this instant: the sweeper's
        // CPU and I/O are taken from the API's whatever the bottleneck is.
        let now = Instant::now();
        share.observe(now, !background.is_empty());
        let turn = share.turn(now) && !background.is_empty();
        let may_run = share.may_run(now);
        let next_chance = share.next_chance();
        if turn {
            batch.background = background.recv().await;
        } else {
            tokio::select! {
                biased;
                job = api.recv(), if open.0 => match job {
                    Some(job) => batch.jobs.push(job),
                    None => open.0 = false,
                },
                create = creates.recv(), if open.1 => match create {
                    Some(create) => batch.creates.push(create),
                    None => open.1 = false,
                },
                job = background.recv(), if open.2 && may_run => match job {
                    Some(job) => batch.background = Some(job),
                    None => open.2 = false,
                },
                // Look again when background work may next run.
                () = tokio::time::sleep_until(next_chance.into()), if open.2 && !may_run => {}
            }
        }
        // API work that waits goes in the same transaction, a background
        // job's included: one commit for both. A commit costs about as much
        // as a small background step's own work (its pages written to the
        // log), so a step alone in its transaction cost the API twice its
        // length.
        while batch.jobs.len() < MAX_BATCH {
            match api.try_recv() {
                Ok(job) => batch.jobs.push(job),
                Err(_) => break,
            }
        }
        while batch.creates.len() < MAX_CREATES {
            match creates.try_recv() {
                Ok(create) => batch.creates.push(create),
                Err(_) => break,
            }
        }
        let api_work = batch.has_api_work();
        if !api_work && batch.background.is_none() {
            continue;
        }
        let started = Instant::now();
        let (failed, background_took) = commit_batch(&mut task, batch).await;
        let now = Instant::now();
        if let Some(took) = background_took {
            // Alone, the background job held the writer for the whole
            // transaction; beside API work, for its own part of it.
            share.ran(now, if api_work { took } else { now - started });
        }
        if api_work {
            share.api_ran(now);
            activity.mark(now);
        }
        if let Some(StoreError::Unavailable(_)) = failed {
            // The connection may be broken: check it, and replace it if so.
            if task.conn.ping().await.is_err() {
                task.conn = reconnect(&task.connect).await;
            }
        }
    }
    let _ = task.conn.close().await;
}

/// A new connection, retried with backoff until the database answers.
async fn reconnect<C>(connect: &Connect<C>) -> C {
    let mut wait = Duration::from_millis(100);
    loop {
        match connect().await {
            Ok(conn) => {
                tracing::info!("the write connection to the database is back");
                return conn;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot reconnect the write connection; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Run and commit one batch; answer everyone in it. Returns the batch's
/// error, and how long its background job (if any) took.
async fn commit_batch<C>(
    task: &mut Task<C>,
    batch: Batch<C>,
) -> (Option<StoreError>, Option<Duration>)
where
    C: Connection + 'static,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
{
    let Batch {
        creates,
        jobs,
        background,
    } = batch;
    let mut background_took = None;
    let (requests, waiting): (Vec<NewRequest>, Vec<_>) = creates.into_iter().unzip();
    let mut inserted: Result<Vec<String>, StoreError> = Ok(Vec::new());
    let mut finishes: Vec<Finish> = Vec::with_capacity(jobs.len());
    let conn = &mut task.conn;
    // Creates alone need no savepoint: if they fail, the whole transaction
    // is theirs to roll back (two statements fewer in the common batch).
    let creates_alone = jobs.is_empty() && background.is_none();
    let outcome: Result<(), sqlx::Error> = async {
        conn.execute(task.begin).await?;
        if !requests.is_empty() {
            if !creates_alone {
                conn.execute("SAVEPOINT creates").await?;
            }
            match (task.insert_requests)(&mut *conn, &requests).await {
                Ok(ids) => inserted = Ok(ids),
                Err(e) => {
                    inserted = Err(StoreError::from(e));
                    if creates_alone {
                        conn.execute("ROLLBACK").await?;
                        return Ok(());
                    }
                    conn.execute("ROLLBACK TO SAVEPOINT creates").await?;
                }
            }
            if !creates_alone {
                conn.execute("RELEASE SAVEPOINT creates").await?;
            }
        }
        // The background job last, so the API's work is never behind it.
        for (job, is_background) in jobs
            .into_iter()
            .map(|job| (job, false))
            .chain(background.map(|job| (job, true)))
        {
            // Each job in its own savepoint: a failing one is undone alone
            // and answered with its own error; the others commit.
            conn.execute("SAVEPOINT job").await?;
            let started = Instant::now();
            let (ok, finish) = job(&mut *conn).await;
            if is_background {
                background_took = Some(started.elapsed());
            }
            finishes.push(finish);
            if !ok {
                conn.execute("ROLLBACK TO SAVEPOINT job").await?;
            }
            conn.execute("RELEASE SAVEPOINT job").await?;
        }
        conn.execute("COMMIT").await?;
        Ok(())
    }
    .await;
    let error = outcome.err().map(|e| {
        tracing::error!(error = %e, "a write batch failed to commit");
        StoreError::from(e)
    });
    if error.is_some() {
        // Whatever remains of the transaction is abandoned; jobs never run
        // are dropped, and their callers see the writer's error.
        let _ = conn.execute("ROLLBACK").await;
    }
    for finish in finishes {
        finish(error.as_ref());
    }
    let inserted: Result<std::collections::HashSet<String>, StoreError> =
        inserted.map(|ids| ids.into_iter().collect());
    for (request, tx) in requests.iter().zip(waiting) {
        let answer = match (&error, &inserted) {
            (Some(e), _) => Err(e.duplicate()),
            (None, Err(e)) => Err(e.duplicate()),
            (None, Ok(ids)) => Ok(ids.contains(&request.id)),
        };
        let _ = tx.send(answer);
    }
    (error, background_took)
}

/// When a waiting background job may run ahead of waiting API work: after a
/// background job that held the writer for `t`, API work gets `t` times
/// [`API_TIME_PER_BACKGROUND`] first ([`API_TIME_PER_BACKGROUND_BEHIND`] once
/// background work is behind), at most [`BACKGROUND_MAX_WAIT`].
#[derive(Debug, Clone, Copy)]
struct BackgroundShare {
    due: Instant,
    /// Since when background work has been waiting without a break.
    waiting_since: Option<Instant>,
    /// When background work was last seen waiting.
    last_waiting: Instant,
    /// When an API batch last committed.
    last_api: Option<Instant>,
}

impl BackgroundShare {
    fn new(now: Instant) -> BackgroundShare {
        BackgroundShare {
            due: now,
            waiting_since: None,
            last_waiting: now,
            last_api: None,
        }
    }

    /// An API batch committed at `now`.
    fn api_ran(&mut self, now: Instant) {
        self.last_api = Some(now);
    }

    /// Whether the API has been quiet for [`API_QUIET`].
    fn api_quiet(&self, now: Instant) -> bool {
        self.last_api
            .is_none_or(|last| now.duration_since(last) >= API_QUIET)
    }

    /// Whether a waiting background job may run when no API work waits.
    fn may_run(&self, now: Instant) -> bool {
        self.turn(now) || self.api_quiet(now)
    }

    /// When a background job may next run, if it may not now.
    fn next_chance(&self) -> Instant {
        match self.last_api {
            Some(last) => self.due.min(last + API_QUIET),
            None => self.due,
        }
    }

    /// Whether background work waits, seen at `now`.
    fn observe(&mut self, now: Instant, waiting: bool) {
        if !waiting {
            return;
        }
        if self.waiting_since.is_none() || now.duration_since(self.last_waiting) > BACKLOG_GAP {
            self.waiting_since = Some(now);
        }
        self.last_waiting = now;
    }

    /// Whether background work has been waiting without a break for
    /// [`BACKLOG_PATIENCE`].
    fn behind(&self, now: Instant) -> bool {
        self.waiting_since.is_some_and(|since| {
            now.duration_since(since) >= BACKLOG_PATIENCE
                && now.duration_since(self.last_waiting) <= BACKLOG_GAP
        })
    }

    /// Whether a waiting background job goes before waiting API work.
    fn turn(&self, now: Instant) -> bool {
        now >= self.due
    }

    /// A background job ended at `end`, having held the writer for `held`.
    fn ran(&mut self, end: Instant, held: Duration) {
        let ratio = if self.behind(end) {
            API_TIME_PER_BACKGROUND_BEHIND
        } else {
            API_TIME_PER_BACKGROUND
        };
        self.due = end + (held * ratio).min(BACKGROUND_MAX_WAIT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writer's choices on a simulated clock: API batches of `api`
    /// each, the next arriving `gap` after one ends (zero: API work always
    /// waits), background jobs of `bg` each waiting during `backlog`. The
    /// share of the writer's time background work got in each of `windows`.
    fn shares(
        api: Duration,
        gap: Duration,
        bg: Duration,
        backlog: Duration,
        windows: &[Duration],
    ) -> Vec<f64> {
        let start = Instant::now();
        let (mut now, mut share) = (start, BackgroundShare::new(start));
        let mut next_api = start;
        let mut out = Vec::new();
        let mut window_start = start;
        for &window in windows {
            let mut background_time = Duration::ZERO;
            while now - window_start < window {
                let waiting = now - start < backlog;
                share.observe(now, waiting);
                let run_background = if waiting && share.turn(now) {
                    true
                } else if now >= next_api {
                    now += api;
                    share.api_ran(now);
                    next_api = now + gap;
                    false
                } else if waiting && share.may_run(now) {
                    true
                } else {
                    now = if waiting {
                        next_api.min(share.next_chance())
                    } else {
                        next_api
                    };
                    false
                };
                if run_background {
                    now += bg;
                    background_time += bg;
                    share.ran(now, bg);
                }
            }
            out.push(background_time.as_secs_f64() / (now - window_start).as_secs_f64());
            window_start = now;
        }
        out
    }

    #[test]
    fn the_api_counts_as_busy_only_just_after_one_of_its_batches() {
        let origin = Instant::now();
        let a = ApiActivity {
            origin,
            last: AtomicU64::new(0),
        };
        assert!(!a.busy(origin), "no batch yet");
        let batch = origin + Duration::from_millis(100);
        a.mark(batch);
        assert!(a.busy(batch));
        assert!(a.busy(batch + API_QUIET / 2));
        assert!(!a.busy(batch + API_QUIET));
        // A clock read before the mark (another thread's) is still busy.
        assert!(a.busy(batch - Duration::from_millis(1)));
    }

    #[test]
    fn background_work_gets_a_tenth_of_a_busy_writer_then_a_fifth_when_behind() {
        let minute = Duration::from_secs(60);
        let step = Duration::from_millis(5);
        // Sweeper steps of about 5 ms against API batches of 1 to 10 ms,
        // back to back or with short breaks (the API busy elsewhere: HTTP,
        // TLS, the database server).
        for api_ms in [1, 2, 5, 10] {
            for gap_ms in [0, 1, 5] {
                let (api, gap) = (Duration::from_millis(api_ms), Duration::from_millis(gap_ms));
                let s = shares(
                    api,
                    gap,
                    step,
                    BACKLOG_PATIENCE + minute,
                    &[BACKLOG_PATIENCE, minute, minute],
                );
                let case = format!("API batches of {api_ms} ms, {gap_ms} ms apart: {s:?}");
                assert!((0.06..=0.13).contains(&s[0]), "at first, {case}");
                assert!((0.15..=0.25).contains(&s[1]), "once behind, {case}");
                assert!(s[2] < 0.02, "backlog gone, {case}");
            }
        }
        // A short burst never gets past a tenth.
        let s = shares(
            Duration::from_millis(2),
            Duration::from_millis(1),
            step,
            BACKLOG_PATIENCE - Duration::from_secs(1),
            &[minute],
        );
        assert!(s[0] <= 0.1, "{s:?}");
        // With the API quiet, background work runs flat out.
        let s = shares(
            Duration::from_millis(2),
            Duration::from_secs(1),
            step,
            minute,
            &[Duration::from_secs(10)],
        );
        assert!(s[0] > 0.9, "{s:?}");
    }

    #[test]
    fn a_long_background_job_earns_the_api_its_share_up_to_the_bound() {
        let start = Instant::now();
        let mut share = BackgroundShare::new(start);
        assert!(share.turn(start));
        // A 40 ms job (a slow commit, say) earns the API 360 ms.
        share.ran(start, Duration::from_millis(40));
        assert!(!share.turn(start + Duration::from_millis(359)));
        assert!(share.turn(start + Duration::from_millis(360)));
        // A 500 ms one would earn 4.5 s; the bound caps the wait.
        share.ran(start, Duration::from_millis(500));
        assert!(!share.turn(start + BACKGROUND_MAX_WAIT - Duration::from_millis(1)));
        assert!(share.turn(start + BACKGROUND_MAX_WAIT));
        // A short one waits nine times its length.
        share.ran(start, Duration::from_millis(2));
        assert!(!share.turn(start + Duration::from_millis(17)));
        assert!(share.turn(start + Duration::from_millis(18)));
    }

    #[test]
    fn a_pause_longer_than_the_gap_ends_a_backlog() {
        let start = Instant::now();
        let mut share = BackgroundShare::new(start);
        let mut now = start;
        while now - start <= BACKLOG_PATIENCE {
            share.observe(now, true);
            now += Duration::from_millis(500);
        }
        assert!(share.behind(now - Duration::from_millis(500)));
        // Nothing waited for longer than the gap: a fresh start.
        now += BACKLOG_GAP + Duration::from_millis(1);
        share.observe(now, true);
        assert!(!share.behind(now));
    }

    /// Inserts each request's id into `t`; a request whose id starts with
    /// `bad` fails after its row went in (a half-done insert to undo).
    fn insert_ids<'c>(
        conn: &'c mut sqlx::SqliteConnection,
        rows: &'c [NewRequest],
    ) -> BoxFuture<'c, Result<Vec<String>, sqlx::Error>> {
        Box::pin(async move {
            for r in rows {
                sqlx::query("INSERT INTO t (x) VALUES ($1)")
                    .bind(&r.id)
                    .execute(&mut *conn)
                    .await?;
                if r.id.starts_with("bad") {
                    sqlx::query("INSERT INTO no_such_table VALUES (1)")
                        .execute(&mut *conn)
                        .await?;
                }
            }
            Ok(rows.iter().map(|r| r.id.clone()).collect())
        })
    }

    fn request(id: &str) -> NewRequest {
        NewRequest {
            id: id.to_owned(),
            client_id: "c".to_owned(),
            redirect_url: String::new(),
            doc_types: String::new(),
            state_hash: Vec::new(),
            data_key: Vec::new(),
            journey_secrets: Vec::new(),
            idempotency_key: None,
            idempotency_fingerprint: None,
            created_at: 0,
            valid_upto: 0,
            trace_id: String::new(),
        }
    }

    async fn test_writer() -> Writer<sqlx::SqliteConnection> {
        use sqlx::Connection as _;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x TEXT NOT NULL)")
            .execute(&mut conn)
            .await
            .unwrap();
        let connect: Connect<sqlx::SqliteConnection> =
            Box::new(|| Box::pin(async { Err(sqlx::Error::PoolClosed) }));
        Writer::start(conn, "BEGIN IMMEDIATE", connect, insert_ids)
    }

    async fn rows(writer: &Writer<sqlx::SqliteConnection>) -> Vec<String> {
        writer
            .write(Priority::Api, |conn| {
                Box::pin(async move {
                    let rows: Vec<(String,)> = sqlx::query_as("SELECT x FROM t ORDER BY x")
                        .fetch_all(&mut *conn)
                        .await?;
                    Ok(rows.into_iter().map(|(x,)| x).collect())
                })
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn failed_creates_alone_leave_nothing_and_the_writer_goes_on() {
        let writer = test_writer().await;
        let (bad, good) = tokio::join!(
            writer.insert_request(request("bad-1")),
            writer.insert_request(request("good-1"))
        );
        // One batch: its creates fail together, and nothing of them stays.
        assert!(bad.is_err() && good.is_err(), "{bad:?} {good:?}");
        assert!(rows(&writer).await.is_empty());
        assert!(writer.insert_request(request("good-2")).await.unwrap());
        assert_eq!(rows(&writer).await, vec!["good-2".to_owned()]);
    }

    #[tokio::test]
    async fn failed_creates_do_not_undo_a_job_of_their_batch() {
        let writer = test_writer().await;
        let job = writer.write(Priority::Api, |conn| {
            Box::pin(async move {
                sqlx::query("INSERT INTO t (x) VALUES ('job')")
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
            })
        });
        let (created, job) = tokio::join!(writer.insert_request(request("bad-1")), job);
        assert!(created.is_err(), "{created:?}");
        job.unwrap();
        assert_eq!(rows(&writer).await, vec!["job".to_owned()]);
    }
}
