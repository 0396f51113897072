//! SQLite backend: the embedded default. WAL with `synchronous=NORMAL`,
//! foreign keys on, `secure_delete` on (erased rows are overwritten, not
//! just unlinked), migrations at start. Reads go through a small pool;
//! every write goes through the one writer connection (group commit in
//! `BEGIN IMMEDIATE` transactions).

use std::path::Path;
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use futures::future::BoxFuture;

use sqlx::query::{Query, QueryAs};
use sqlx::query_builder::Separated;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, QueryBuilder, Row};

use super::read_pool::{ReadPool, ReadPoolSize};
use super::sql::{Arg, Col, Columns, Dialect, Portable, RowsAffected, SqlStore};
use super::writer::{Connect, Priority, Writer};
use super::StoreResult;

/// Events from a JSON array of `[id, request_id, client_id, kind, detail,
/// at]`, in its order.
const INSERT_EVENTS: &str = "INSERT INTO events (id, request_id, client_id, kind, detail, at) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 \
     FROM json_each($1) ORDER BY key";

/// The deliveries statement, with the JSON array of event ids in parameter
/// `ids`.
fn insert_deliveries(ids: &str) -> String {
    format!(
        "INSERT INTO deliveries \
         (event_id, client_id, state, attempts, next_attempt_at, locked_until, created_at) \
         SELECT e.id, e.client_id, 'pending', 0, e.at, 0, e.at FROM events e \
         JOIN clients c ON c.client_id = e.client_id \
         WHERE c.webhook_url IS NOT NULL AND e.id IN (SELECT value FROM json_each({ids})) \
         ON CONFLICT (event_id) DO NOTHING"
    )
}

/// [`insert_deliveries`] of the ids in `$1`.
static INSERT_DELIVERIES: LazyLock<String> = LazyLock::new(|| insert_deliveries("$1"));

/// Both, as one query (one hand-over to the connection's thread, not two):
/// the events from `$1`, then the deliveries of those in `$2`.
static INSERT_EVENTS_AND_DELIVERIES: LazyLock<String> =
    LazyLock::new(|| format!("{INSERT_EVENTS}; {}", insert_deliveries("$2")));

/// The SQLite store.
pub type SqliteStore = SqlStore<SqliteDialect>;

/// SQLite's side of [`SqlStore`].
#[derive(Clone, Debug)]
pub struct SqliteDialect;

impl Portable for sqlx::Sqlite {
    fn bind<'q, T: Arg<'q> + 'q>(
        q: Query<'q, Self, Self::Arguments>,
        v: T,
    ) -> Query<'q, Self, Self::Arguments> {
        q.bind(v)
    }

    fn bind_as<'q, O, T: Arg<'q> + 'q>(
        q: QueryAs<'q, Self, O, Self::Arguments>,
        v: T,
    ) -> QueryAs<'q, Self, O, Self::Arguments> {
        q.bind(v)
    }

    fn push<'t, T: Arg<'t>>(b: &mut QueryBuilder<Self>, v: T) {
        b.push_bind(v);
    }

    fn push_separated<'t, T: Arg<'t>, Sep: std::fmt::Display>(
        b: &mut Separated<'_, Self, Sep>,
        v: T,
    ) {
        b.push_bind(v);
    }
}

impl Columns for sqlx::sqlite::SqliteRow {
    fn col<T: Col>(&self, name: &str) -> Result<T, sqlx::Error> {
        self.try_get(name)
    }

    fn col_at<T: Col>(&self, index: usize) -> Result<T, sqlx::Error> {
        self.try_get(index)
    }
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl Dialect for SqliteDialect {
    type Db = sqlx::Sqlite;
    type Conn = SqliteConnection;

    const NAME: &'static str = "sqlite";
    const ERASES_THROUGH_WRITER: bool = true;

    const SKIP_LOCKED: &'static str = "";
    const INSERT_EVENTS: &'static str = INSERT_EVENTS;

    fn insert_deliveries() -> &'static str {
        &INSERT_DELIVERIES
    }

    fn insert_events_and_deliveries() -> Option<&'static str> {
        Some(&INSERT_EVENTS_AND_DELIVERIES)
    }

    const SWEEP_LINKS: &'static str = "DELETE FROM files WHERE token_hash IN \
         (SELECT token_hash FROM files WHERE expires_at <= $1 LIMIT $2)";
    const CLAIM_DELIVERIES: &'static str =
        "UPDATE deliveries SET locked_until = $2 WHERE event_id IN \
         (SELECT event_id FROM \
           (SELECT event_id, client_id, next_attempt_at, ROW_NUMBER() OVER \
             (PARTITION BY client_id ORDER BY next_attempt_at, event_id) AS n \
            FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $1 AND locked_until <= $1) due \
          WHERE n <= $4 - COALESCE((SELECT value FROM json_each($5) WHERE key = due.client_id), 0) \
          ORDER BY n, next_attempt_at, event_id LIMIT $3) RETURNING event_id";

    /// Erasure goes through the one writer at background priority: SQLite
    /// has one write lock, and the writer's share keeps erasure from
    /// starving the API.
    async fn erase<T, F>(store: &SqliteStore, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>
            + Send
            + 'static,
    {
        store.writer.write(Priority::Background, f).await
    }

    async fn compact(store: &SqliteStore) -> StoreResult<()> {
        let mut reader = store.read.get().await?;
        let cut = truncate_wal(reader.conn()).await;
        if !reader.check(cut)? {
            tracing::warn!(
                "the WAL could not be truncated after an erasure; the next erasure tries again"
            );
        }
        Ok(())
    }

    async fn rewrite_erased(
        _store: &SqliteStore,
        _now: i64,
        _every: i64,
    ) -> StoreResult<Vec<String>> {
        // `secure_delete` overwrites erased rows in place and `compact`
        // truncates the WAL at once: nothing waits for a rewrite.
        Ok(Vec::new())
    }

    /// Not `DELETE … RETURNING`: SQLite's
    /// connection thread hands each returned row over on its own (a thread
    /// wake-up each), so the step's rows come back as one JSON array, and
    /// the delete takes the same array.
    async fn sweep_requests(
        conn: &mut SqliteConnection,
        now: i64,
        limit: i64,
    ) -> Result<Vec<(String, String)>, sqlx::Error> {
        let (rows,): (String,) = sqlx::query_as(
            "SELECT json_group_array(json_array(id, client_id)) FROM \
             (SELECT id, client_id FROM requests WHERE valid_upto <= $1 ORDER BY valid_upto LIMIT $2)",
        )
        .bind(now)
        .bind(limit)
        .fetch_one(&mut *conn)
        .await?;
        let gone: Vec<(String, String)> =
            serde_json::from_str(&rows).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        if !gone.is_empty() {
            sqlx::query("DELETE FROM requests WHERE id IN (SELECT value ->> 0 FROM json_each($1))")
                .bind(&rows)
                .execute(&mut *conn)
                .await?;
        }
        Ok(gone)
    }
}

impl SqliteStore {
    /// Open (creating if needed) the database file and run migrations.
    pub async fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A commit survives a crash of the process (the WAL is
            // written before the answer); a power loss may lose the last
            // commits. See README ("Operating it").
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .pragma("secure_delete", "on")
            // Statement journals and temporary b-trees (savepoints, ON
            // CONFLICT, sorts) stay in memory instead of files created and
            // deleted under the system's temporary directory.
            .pragma("temp_store", "memory")
            // Each connection has its own page cache, and a gateway's memory
            // is mostly these caches once its tables are big: 512 KiB per
            // reader, room for the inner pages of the indexes a call walks
            // (a status call reads a few pages of one row; the leaves come
            // from the OS's file cache, which all connections share).
            .pragma("cache_size", "-512")
            .busy_timeout(Duration::from_secs(10));
        let read = ReadPool::open(
            options.clone(),
            ReadPoolSize {
                max: 4,
                min_idle: Some(1),
                wait: Duration::from_secs(10),
            },
        )
        .await?;
        // Tolerate migrations applied by a newer release, so an upgrade can
        // be rolled back (every migration must stay backward compatible).
        let mut migrator = super::migrations::sqlite();
        migrator.set_ignore_missing(true);
        {
            let mut conn = read.get().await?;
            let applied = || sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM _sqlx_migrations");
            let before = match applied().fetch_one(conn.conn()).await {
                Ok((n,)) => n,
                // A new database: no migration table yet.
                Err(_) => 0,
            };
            migrator.run(conn.conn()).await?;
            let (after,) = applied().fetch_one(conn.conn()).await?;
            Self::after_migrating(conn.conn(), after != before).await?;
        }
        // The writer touches every table's newest pages and the indexes'
        // inner pages on every batch: a larger page cache (2 MiB) keeps them.
        // Every index is now keyed in time order (ids, expiry, state keys),
        // so what a batch touches is the right edge of each b-tree plus the
        // oldest pages the sweeper empties: a few hundred pages.
        let options = options.pragma("cache_size", "-2048");
        let conn = options.connect().await?;
        let connect: Connect<SqliteConnection> = Box::new(move || {
            let options = options.clone();
            Box::pin(async move { options.connect().await })
        });
        Ok(SqliteStore {
            read,
            writer: Writer::start(conn, "BEGIN IMMEDIATE", connect, Self::insert_requests),
            dialect: SqliteDialect,
        })
    }

    /// What migrating leaves to do. A database from before `secure_delete`
    /// (release 0.1) may hold, in pages and cells it freed, what it kept in
    /// clear or sealed with the master key alone: migration 0010 names it
    /// in `rewrites_due`, and the file is rebuilt (VACUUM: every page
    /// written afresh from the live rows, the free ones cut off). Then, if
    /// anything changed, the WAL (which holds the earlier versions of the
    /// pages the migrations changed) is checkpointed and cut to nothing.
    async fn after_migrating(conn: &mut SqliteConnection, migrated: bool) -> anyhow::Result<()> {
        let due: Vec<(String,)> = sqlx::query_as("SELECT table_name FROM rewrites_due")
            .fetch_all(&mut *conn)
            .await?;
        if !due.is_empty() {
            let started = std::time::Instant::now();
            // VACUUM copies the database into a temporary one first: a
            // file, not memory (the whole database would be in memory).
            sqlx::query("PRAGMA temp_store = FILE")
                .execute(&mut *conn)
                .await?;
            let vacuumed = sqlx::query("VACUUM").execute(&mut *conn).await;
            sqlx::query("PRAGMA temp_store = MEMORY")
                .execute(&mut *conn)
                .await?;
            vacuumed?;
            sqlx::query("DELETE FROM rewrites_due")
                .execute(&mut *conn)
                .await?;
            tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                "rebuilt the database file: nothing an earlier release freed stays in it"
            );
        }
        if (migrated || !due.is_empty()) && !truncate_wal(conn).await? {
            tracing::warn!(
                "the WAL could not be truncated after migrating; the first erasure does it"
            );
        }
        Ok(())
    }
}

/// Move every committed page into the main file and cut the WAL to
/// nothing, so no earlier version of a changed or erased row stays in it.
/// A checkpoint that a reader or writer got in the way of says so (busy =
/// 1) and leaves the WAL as it was: try again shortly. Whether it was cut.
async fn truncate_wal(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    for attempt in 0..20 {
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *conn)
            .await?;
        if busy == 0 {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(5 * (attempt + 1))).await;
    }
    Ok(false)
}
