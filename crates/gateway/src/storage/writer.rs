//! Group commit: one task owns the write connection; callers hand it jobs
//! and wait. It takes whatever has queued (up to a batch), runs each job in
//! its own savepoint inside one transaction, commits once, and only then
//! answers every caller — so nothing is acknowledged before it is durable,
//! and a thousand small writes cost one commit. Background work (the
//! sweeper) queues at low priority: it runs only when no API write waits,
//! one job per transaction.
//!
//! SQLite has one write lock: funnelling writes through one connection
//! means API writes never wait on `SQLITE_BUSY`. On PostgreSQL the same
//! batching saves a commit (a WAL flush) per write.

use std::marker::PhantomData;

use futures::future::BoxFuture;
use sqlx::{Connection, Executor};
use tokio::sync::{mpsc, oneshot};

use super::{StoreError, StoreResult};

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 256;

/// A write: runs on the connection inside the batch's transaction and
/// returns whether it succeeded and how to answer its caller once the
/// batch's fate is known.
type Job<C> = Box<dyn for<'c> FnOnce(&'c mut C) -> BoxFuture<'c, (bool, Finish)> + Send>;
/// Answers a caller: with `None` when the batch committed, else the
/// commit's error.
type Finish = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// How urgent a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// An API call waits on it.
    Api,
    /// Background work: runs when no API job waits.
    Background,
}

/// Opens a new write connection after the old one broke.
pub type Connect<C> = Box<dyn Fn() -> BoxFuture<'static, Result<C, sqlx::Error>> + Send + Sync>;

/// A handle to the writer task.
pub struct Writer<C> {
    api: mpsc::UnboundedSender<Job<C>>,
    background: mpsc::Sender<Job<C>>,
    _conn: PhantomData<fn() -> C>,
}

impl<C> Clone for Writer<C> {
    fn clone(&self) -> Self {
        Writer {
            api: self.api.clone(),
            background: self.background.clone(),
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

impl<C> Writer<C>
where
    C: Connection + 'static,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
{
    /// Start the writer task on `conn`; `begin` opens a write transaction
    /// (`BEGIN IMMEDIATE` on SQLite, `BEGIN` on PostgreSQL); `connect`
    /// replaces the connection when it breaks (a database restart).
    pub fn start(conn: C, begin: &'static str, connect: Connect<C>) -> Writer<C> {
        let (api, api_rx) = mpsc::unbounded_channel();
        let (background, background_rx) = mpsc::channel(1);
        tokio::spawn(run(conn, begin, connect, api_rx, background_rx));
        Writer {
            api,
            background,
            _conn: PhantomData,
        }
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

/// The writer task: batch, commit, answer; until every handle is gone.
async fn run<C>(
    mut conn: C,
    begin: &'static str,
    connect: Connect<C>,
    mut api: mpsc::UnboundedReceiver<Job<C>>,
    mut background: mpsc::Receiver<Job<C>>,
) where
    C: Connection + 'static,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
{
    let mut batch: Vec<Job<C>> = Vec::with_capacity(MAX_BATCH);
    let mut api_open = true;
    let mut background_open = true;
    while api_open || background_open {
        // API jobs first, always; a background job only when none waits.
        tokio::select! {
            biased;
            job = api.recv(), if api_open => match job {
                Some(job) => {
                    batch.push(job);
                    while batch.len() < MAX_BATCH {
                        match api.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                }
                None => api_open = false,
            },
            job = background.recv(), if background_open => match job {
                Some(job) => batch.push(job),
                None => background_open = false,
            },
        }
        if batch.is_empty() {
            continue;
        }
        if let Some(StoreError::Unavailable(_)) = commit_batch(&mut conn, begin, &mut batch).await {
            // The connection may be broken: check it, and replace it if so.
            if conn.ping().await.is_err() {
                conn = reconnect(&connect).await;
            }
        }
    }
    let _ = conn.close().await;
}

/// A new connection, retried with backoff until the database answers.
async fn reconnect<C>(connect: &Connect<C>) -> C {
    let mut wait = std::time::Duration::from_millis(100);
    loop {
        match connect().await {
            Ok(conn) => {
                tracing::info!("the write connection to the database is back");
                return conn;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot reconnect the write connection; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(5));
            }
        }
    }
}

/// Run and commit one batch; answer every job. Returns the batch's error.
async fn commit_batch<C>(
    conn: &mut C,
    begin: &'static str,
    batch: &mut Vec<Job<C>>,
) -> Option<StoreError>
where
    C: Connection + 'static,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
{
    let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
    let outcome: Result<(), sqlx::Error> = async {
        conn.execute(begin).await?;
        for job in batch.drain(..) {
            // Each job in its own savepoint: a failing one is undone alone
            // and answered with its own error; the others commit.
            conn.execute("SAVEPOINT job").await?;
            let (ok, finish) = job(&mut *conn).await;
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
        // Whatever remains of the transaction is abandoned.
        let _ = conn.execute("ROLLBACK").await;
        // Jobs never run in this batch are answered with the error too.
        for job in batch.drain(..) {
            drop(job);
        }
    }
    for finish in finishes {
        finish(error.as_ref());
    }
    error
}
