//! PostgreSQL backend, for several gateway instances on one database.
//! Background work is claimed with row locks (`FOR UPDATE SKIP LOCKED`), so
//! two instances never erase the same request or send the same delivery.
//! Reads go through a pool; each instance's writes go through its one
//! writer connection (group commit).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::future::BoxFuture;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::query::{Query, QueryAs};
use sqlx::query_builder::Separated;
use sqlx::{ConnectOptions, Connection, QueryBuilder, Row};

use super::read_pool::{ReadPool, ReadPoolSize};
use super::sql::{Arg, Col, Columns, Dialect, Portable, RowsAffected, SqlStore};
use super::writer::{Connect, Writer};
use super::StoreResult;

/// The PostgreSQL store.
pub type PgStore = SqlStore<PgDialect>;

/// PostgreSQL's side of [`SqlStore`]: what rewriting tables needs.
#[derive(Clone, Debug)]
pub struct PgDialect {
    rewrites: Arc<Rewrites>,
}

impl Portable for sqlx::Postgres {
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

impl Columns for sqlx::postgres::PgRow {
    fn col<T: Col>(&self, name: &str) -> Result<T, sqlx::Error> {
        self.try_get(name)
    }

    fn col_at<T: Col>(&self, index: usize) -> Result<T, sqlx::Error> {
        self.try_get(index)
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl Dialect for PgDialect {
    type Db = sqlx::Postgres;
    type Conn = PgConnection;

    const NAME: &'static str = "postgres";
    const ERASES_THROUGH_WRITER: bool = false;

    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const INSERT_EVENTS: &'static str =
        "INSERT INTO events (id, request_id, client_id, kind, detail, at) \
         SELECT e ->> 0, e ->> 1, e ->> 2, e ->> 3, e ->> 4, (e ->> 5)::bigint \
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n";

    fn insert_deliveries() -> &'static str {
        INSERT_DELIVERIES
    }

    /// PostgreSQL prepares one statement per query: the two go apart.
    fn insert_events_and_deliveries() -> Option<&'static str> {
        None
    }

    // Rows another sweeper holds are skipped (it deletes them): waiting
    // for them while holding our own could deadlock two sweepers.
    const SWEEP_LINKS: &'static str = "DELETE FROM files WHERE token_hash IN \
         (SELECT token_hash FROM files WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)";
    /// Each due client's first few through `deliveries_pending_client`
    /// (row locks can't be taken under a window function, so they are
    /// taken per client, then ranked).
    const CLAIM_DELIVERIES: &'static str =
        "UPDATE deliveries SET locked_until = $2 WHERE event_id IN \
         (SELECT event_id FROM \
           (SELECT d.event_id, d.next_attempt_at, ROW_NUMBER() OVER \
             (PARTITION BY c.client_id ORDER BY d.next_attempt_at, d.event_id) AS n \
            FROM (SELECT DISTINCT client_id FROM deliveries \
                  WHERE state = 'pending' AND next_attempt_at <= $1 AND locked_until <= $1) c \
            CROSS JOIN LATERAL \
             (SELECT x.event_id, x.next_attempt_at FROM deliveries x \
              WHERE x.client_id = c.client_id AND x.state = 'pending' \
              AND x.next_attempt_at <= $1 AND x.locked_until <= $1 \
              ORDER BY x.next_attempt_at, x.event_id \
              LIMIT GREATEST($4 - COALESCE(($5::jsonb ->> c.client_id)::bigint, 0), 0) \
              FOR UPDATE SKIP LOCKED) d) due \
          ORDER BY n, next_attempt_at, event_id LIMIT $3) RETURNING event_id";

    /// Erasure runs beside the writer, not through it: in its own
    /// transaction on a pooled connection. PostgreSQL lets it and the API's
    /// batches write at once (row locks keep them apart; the steps claim
    /// rows with `SKIP LOCKED`), so an API write never waits behind a
    /// step's delete and commit. Through the one writer, every step's
    /// commit (its deleted rows' WAL) was time the API's writes waited.
    async fn erase<T, F>(store: &PgStore, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>
            + Send
            + 'static,
    {
        let mut db = store.read.get().await?;
        let done = async {
            let mut tx = db.conn().begin().await?;
            let value = f(&mut tx).await?;
            tx.commit().await?;
            Ok(value)
        }
        .await;
        Ok(db.check(done)?)
    }

    async fn compact(store: &PgStore) -> StoreResult<()> {
        // The erased rows' old versions, data keys and all, stay in the
        // table's pages (vacuum frees their space without overwriting it)
        // until `rewrite_erased` rewrites the table.
        let mut db = store.read.get().await?;
        let done = sqlx::query(MARK_ERASED).execute(db.conn()).await;
        db.check(done)?;
        Ok(())
    }

    async fn rewrite_erased(store: &PgStore, now: i64, every: i64) -> StoreResult<Vec<String>> {
        let mut db = store.read.get().await?;
        let marked = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM rewrites_due)")
            .fetch_one(db.conn())
            .await;
        let (marked,): (bool,) = db.check(marked)?;
        if !marked {
            return Ok(Vec::new());
        }
        // At most one rewrite per `every` seconds across instances: a
        // rewrite locks its table while it copies the live rows.
        let leased = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.expires_at <= $4",
        )
        .bind(REWRITE_LEASE)
        .bind(&store.dialect.rewrites.holder)
        .bind(now.saturating_add(every))
        .bind(now)
        .execute(db.conn())
        .await;
        let leased = db.check(leased)?.rows_affected() == 1;
        // Not held through the rewrite, which waits for old transactions.
        drop(db);
        if !leased {
            return Ok(Vec::new());
        }
        let done = store.rewrite(false).await;
        if !matches!(&done, Ok(tables) if !tables.is_empty()) {
            // Nothing was rewritten: the next tick may try again.
            let mut db = store.read.get().await?;
            let released = sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                .bind(REWRITE_LEASE)
                .bind(&store.dialect.rewrites.holder)
                .execute(db.conn())
                .await;
            db.check(released)?;
        }
        done
    }

    async fn sweep_requests(
        conn: &mut PgConnection,
        now: i64,
        limit: i64,
    ) -> Result<Vec<(String, String)>, sqlx::Error> {
        sqlx::query_as(
            "DELETE FROM requests WHERE id IN \
             (SELECT id FROM requests WHERE valid_upto <= $1 ORDER BY valid_upto LIMIT $2 FOR UPDATE SKIP LOCKED) \
             RETURNING id, client_id",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(conn)
        .await
    }
}

/// What rewriting tables needs: its own connection for each rewrite (VACUUM
/// runs outside any transaction, with settings of its own), and this
/// store's name in the `leases` table.
struct Rewrites {
    options: PgConnectOptions,
    holder: String,
}

impl std::fmt::Debug for Rewrites {
    // The options hold the database password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rewrites")
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

/// The tables a rewrite may name, in the order they are rewritten: only
/// these ever go into SQL text. `pg_statistic` (a catalog: ANALYZE's
/// samples of columns that are gone or no longer sampled) only when the
/// role may.
const REWRITABLE: [&str; 3] = ["requests", "files", "pg_statistic"];
/// How long a rewrite waits for the transactions that began before it
/// took its marks to end (they may still see an erased row's old version,
/// which a rewrite then has to keep) before it gives up until next time.
const HORIZON_WAIT: Duration = Duration::from_secs(5);
/// How long a rewrite waits for its table's lock before it gives up until
/// next time: while it waits, the API's statements on the table queue
/// behind it.
const REWRITE_LOCK_TIMEOUT: &str = "SET lock_timeout = '1s'";
/// The lease that spaces rewrites after erasures across instances. Nobody
/// renews it: it is taken only once expired.
const REWRITE_LEASE: &str = "erasure-rewrite";

/// The deliveries of the events whose ids are in the JSON array `$1`, for
/// clients with a webhook.
const INSERT_DELIVERIES: &str = "INSERT INTO deliveries \
     (event_id, client_id, state, attempts, next_attempt_at, locked_until, created_at) \
     SELECT e.id, e.client_id, 'pending', 0, e.at, 0, e.at FROM events e \
     JOIN clients c ON c.client_id = e.client_id \
     WHERE c.webhook_url IS NOT NULL AND e.id IN (SELECT jsonb_array_elements_text($1::jsonb)) \
     ON CONFLICT (event_id) DO NOTHING";

/// Mark `requests` for a rewrite: its pages hold the old versions of the
/// rows just erased, with their data keys. A mark already there stays as
/// it is, without a lock.
const MARK_ERASED: &str = "INSERT INTO rewrites_due (table_name, reason, since) \
     VALUES ('requests', 'erased', EXTRACT(EPOCH FROM now())::BIGINT) \
     ON CONFLICT (table_name) DO NOTHING";

/// Sessions, prepared transactions and replication slots that may still
/// see a row version deleted before transaction `$1` (an xid as text): a
/// rewrite must keep such versions. (Autovacuum's workers don't count;
/// sessions of other roles are seen only with `pg_read_all_stats`.)
const OLDER_SNAPSHOTS: &str = "SELECT \
     (SELECT COUNT(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
       AND (datname = current_database() OR datname IS NULL) \
       AND backend_type <> 'autovacuum worker' \
       AND ((backend_xmin IS NOT NULL AND age(backend_xmin) > age($1::xid)) \
         OR (backend_xid IS NOT NULL AND age(backend_xid) > age($1::xid)))) \
     + (SELECT COUNT(*) FROM pg_prepared_xacts WHERE database = current_database() \
       AND age(transaction) > age($1::xid)) \
     + (SELECT COUNT(*) FROM pg_replication_slots WHERE xmin IS NOT NULL AND age(xmin) > age($1::xid))";

/// Rewrite (VACUUM FULL) the tables `rewrites_due` names (`upgrade_only`:
/// those an upgrade named), on `conn`, and remove their marks. A plain
/// VACUUM is not enough: it frees a dead row's space without overwriting
/// it. VACUUM FULL writes the live rows (without the values of dropped
/// columns) into new files and truncates the old ones at commit; it keeps
/// dead versions some transaction may still see, so it waits first until
/// every transaction older than the marks has ended. A table that cannot be
/// rewritten now (an old transaction, its lock not had within a second)
/// keeps its mark for next time. The tables rewritten.
async fn rewrite_marked(
    conn: &mut PgConnection,
    upgrade_only: bool,
) -> Result<Vec<String>, sqlx::Error> {
    // The marks go in a transaction of our own. An erasure committed
    // before it is covered by this rewrite (its transaction is older than
    // ours); one committed after it marks again.
    let mut tx = conn.begin().await?;
    let taken: Vec<(String, String, i64)> = sqlx::query_as(
        "DELETE FROM rewrites_due WHERE (NOT $1 OR reason = 'upgrade') \
         RETURNING table_name, reason, since",
    )
    .bind(upgrade_only)
    .fetch_all(&mut *tx)
    .await?;
    let (xid,): (String,) =
        sqlx::query_as("SELECT (pg_current_xact_id()::text::bigint % 4294967296)::text")
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    let mut taken: Vec<(String, String, i64)> = taken
        .into_iter()
        .filter(|(table, ..)| REWRITABLE.contains(&table.as_str()))
        .collect();
    taken.sort_by_key(|(table, ..)| REWRITABLE.iter().position(|t| t == table));
    if taken.is_empty() {
        return Ok(Vec::new());
    }
    let waited = Instant::now();
    loop {
        let (older,): (i64,) = sqlx::query_as(OLDER_SNAPSHOTS)
            .bind(&xid)
            .fetch_one(&mut *conn)
            .await?;
        if older == 0 {
            break;
        }
        if waited.elapsed() >= HORIZON_WAIT {
            tracing::info!(
                transactions = older,
                "a transaction older than the last erasures is still open; their rows are rewritten once it ends"
            );
            mark_again(conn, &taken).await?;
            return Ok(Vec::new());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sqlx::query(REWRITE_LOCK_TIMEOUT)
        .execute(&mut *conn)
        .await?;
    let mut done = Vec::new();
    for (i, (table, reason, _)) in taken.iter().enumerate() {
        let started = Instant::now();
        if table == "pg_statistic" && !may_rewrite_catalogs(conn).await? {
            tracing::warn!(
                "pg_statistic may still hold sampled values of columns that are gone or no longer \
                 sampled (document numbers of release 0.1, sealed data keys); a superuser should run \
                 VACUUM FULL pg_statistic once in this database"
            );
            continue;
        }
        // `table` is one of REWRITABLE.
        let rewrite = sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM FULL {table}")))
            .execute(&mut *conn)
            .await;
        if let Err(e) = rewrite {
            tracing::warn!(table = %table, error = %e, "cannot rewrite the table now; will retry");
            mark_again(conn, &taken[i..]).await?;
            return Ok(done);
        }
        tracing::info!(
            table = %table,
            reason = %reason,
            ms = started.elapsed().as_millis() as u64,
            "rewrote the table: no erased or dropped data stays in its files"
        );
        done.push(table.clone());
    }
    Ok(done)
}

/// Whether this role may rewrite a catalog of the database (VACUUM FULL
/// pg_statistic): a superuser or the database's owner. Anyone else would
/// get a warning from PostgreSQL and nothing done.
async fn may_rewrite_catalogs(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let (allowed,): (bool,) = sqlx::query_as(
        "SELECT COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), FALSE) \
         OR pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER')",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(allowed)
}

/// Put back marks taken by a rewrite that did not happen.
async fn mark_again(
    conn: &mut PgConnection,
    marks: &[(String, String, i64)],
) -> Result<(), sqlx::Error> {
    for (table, reason, since) in marks {
        sqlx::query(
            "INSERT INTO rewrites_due (table_name, reason, since) VALUES ($1, $2, $3) \
             ON CONFLICT (table_name) DO UPDATE SET since = LEAST(rewrites_due.since, excluded.since)",
        )
        .bind(table)
        .bind(reason)
        .bind(since)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Apply our migrations that the database lacks. Several instances starting
/// at once are serialized by sqlx's advisory lock. Migrations applied by a
/// newer release are tolerated: during a rolling upgrade (or a rollback) the
/// older binary keeps running on the newer schema, which is why every
/// migration must be backward compatible (see docs/production.md).
async fn migrate(conn: &mut PgConnection) -> anyhow::Result<()> {
    let mut migrator = super::migrations::postgres();
    migrator.set_ignore_missing(true);
    match migrator.run(conn).await {
        Ok(()) => Ok(()),
        // PostgreSQL 15 and later no longer let every role create tables in
        // `public`: say what the gateway's role needs.
        Err(e) if is_insufficient_privilege(&e) => Err(anyhow::Error::new(e).context(
            "cannot apply the PostgreSQL migrations: the gateway's role may not create tables \
             in its schema. Give it a database of its own (`CREATE DATABASE kyc OWNER kyc;`, as \
             a superuser) or a schema it owns (`CREATE SCHEMA kyc_gateway AUTHORIZATION kyc;` \
             and `options=-csearch_path%3Dkyc_gateway` in the URL); see docs/production.md, \
             \"The PostgreSQL role\"",
        )),
        Err(e) => Err(anyhow::Error::new(e).context("cannot apply the PostgreSQL migrations")),
    }
}

/// PostgreSQL's `insufficient_privilege` (42501): "permission denied for
/// schema public" and the like.
fn is_insufficient_privilege(e: &sqlx::migrate::MigrateError) -> bool {
    let db = match e {
        sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(db))
        | sqlx::migrate::MigrateError::ExecuteMigration(sqlx::Error::Database(db), _) => db,
        _ => return false,
    };
    db.code().as_deref() == Some("42501")
}

impl PgStore {
    /// Connect (`postgres://user:password@host:port/db`, optionally with
    /// `?options=-csearch_path%3Dschema` for a schema other than `public`)
    /// and run migrations.
    pub async fn open(url: &str) -> anyhow::Result<PgStore> {
        let options: PgConnectOptions = url
            .parse()
            .context("the PostgreSQL database URL is not valid")?;
        let read = ReadPool::open(
            options.clone(),
            ReadPoolSize {
                max: 8,
                min_idle: Some(2),
                wait: Duration::from_secs(10),
            },
        )
        .await
        .context("cannot connect to PostgreSQL")?;
        migrate(read.get().await?.conn()).await?;
        let conn = options
            .connect()
            .await
            .context("cannot connect to PostgreSQL")?;
        let rewrites = Arc::new(Rewrites {
            options: options.clone(),
            holder: uuid::Uuid::new_v4().to_string(),
        });
        let connect: Connect<PgConnection> = Box::new(move || {
            let options = options.clone();
            Box::pin(async move { options.connect().await })
        });
        let store = PgStore {
            read,
            writer: Writer::start(conn, "BEGIN", connect, Self::insert_requests),
            dialect: PgDialect { rewrites },
        };
        // What an upgrade left in the tables' pages goes before the first
        // call is served. Not fatal: the sweeper's rewrites retry.
        if let Err(e) = store.rewrite(true).await {
            tracing::warn!(error = %e, "cannot rewrite the tables an upgrade left old data in; will retry");
        }
        Ok(store)
    }

    /// [`rewrite_marked`] on a connection of its own, if anything is marked.
    async fn rewrite(&self, upgrade_only: bool) -> StoreResult<Vec<String>> {
        let mut db = self.read.get().await?;
        let marked = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM rewrites_due WHERE (NOT $1 OR reason = 'upgrade'))",
        )
        .bind(upgrade_only)
        .fetch_one(db.conn())
        .await;
        let (marked,): (bool,) = db.check(marked)?;
        drop(db);
        if !marked {
            return Ok(Vec::new());
        }
        let mut conn = self.dialect.rewrites.options.connect().await?;
        let done = rewrite_marked(&mut conn, upgrade_only).await;
        let _ = conn.close().await;
        Ok(done?)
    }
}
