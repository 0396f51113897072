//! PostgreSQL backend, for several gateway instances on one database.
//! Background work is claimed with row locks (`FOR UPDATE SKIP LOCKED`), so
//! two instances never erase the same request or send the same delivery.
//! Reads go through a pool; each instance's writes go through its one
//! writer connection (group commit).

use std::time::Duration;

use anyhow::Context;
use futures::future::BoxFuture;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use super::read_pool::{on_reader, ReadPool, ReadPoolSize};
use super::sql::sql_store;
use super::writer::{Connect, Writer};
use super::StoreResult;

/// The PostgreSQL store.
#[derive(Clone, Debug)]
pub struct PgStore {
    read: ReadPool<PgConnection>,
    writer: Writer<PgConnection>,
}

/// Apply our migrations that the database lacks. Several instances starting
/// at once are serialized by sqlx's advisory lock. Migrations applied by a
/// newer release are tolerated: during a rolling upgrade (or a rollback) the
/// older binary keeps running on the newer schema, which is why every
/// migration must be backward compatible (see docs/production.md).
async fn migrate(conn: &mut PgConnection) -> anyhow::Result<()> {
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    migrator.set_ignore_missing(true);
    migrator
        .run(conn)
        .await
        .context("cannot apply the PostgreSQL migrations")
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
        let connect: Connect<PgConnection> = Box::new(move || {
            let options = options.clone();
            Box::pin(async move { options.connect().await })
        });
        Ok(PgStore {
            read,
            writer: Writer::start(conn, "BEGIN", connect, Self::insert_requests),
        })
    }

    /// Erasure runs beside the writer, not through it: in its own
    /// transaction on a pooled connection. PostgreSQL lets it and the API's
    /// batches write at once (row locks keep them apart; the steps claim
    /// rows with `SKIP LOCKED`), so an API write never waits behind a
    /// step's delete and commit. Through the one writer, every step's
    /// commit (its deleted rows' WAL) was time the API's writes waited.
    async fn erase<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>
            + Send
            + 'static,
    {
        Ok(on_reader!(self, |conn| async {
            let mut tx = conn.begin().await?;
            let value = f(&mut tx).await?;
            tx.commit().await?;
            Ok(value)
        }
        .await))
    }

    /// Delete up to `limit` requests expired at `now` (their files
    /// cascade); their (id, client_id).
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
    /// What a claim's subquery adds so two instances skip each other's rows.
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    /// Events from a JSON array of `[id, request_id, client_id, kind,
    /// detail, at]`, in its order.
    const INSERT_EVENTS: &'static str =
        "INSERT INTO events (id, request_id, client_id, kind, detail, at) \
         SELECT e ->> 0, e ->> 1, e ->> 2, e ->> 3, e ->> 4, (e ->> 5)::bigint \
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n";
    /// The deliveries of the events whose ids are in the JSON array `$1`,
    /// for clients with a webhook.
    const INSERT_DELIVERIES: &'static str = "INSERT INTO deliveries \
         (event_id, client_id, state, attempts, next_attempt_at, locked_until, created_at) \
         SELECT e.id, e.client_id, 'pending', 0, e.at, 0, e.at FROM events e \
         JOIN clients c ON c.client_id = e.client_id \
         WHERE c.webhook_url IS NOT NULL AND e.id IN (SELECT jsonb_array_elements_text($1::jsonb)) \
         ON CONFLICT (event_id) DO NOTHING";
    /// PostgreSQL prepares one statement per query: the two go apart.
    const INSERT_EVENTS_AND_DELIVERIES: Option<&'static str> = None;
    // Rows another sweeper holds are skipped (it deletes them): waiting
    // for them while holding our own could deadlock two sweepers.
    const SWEEP_LINKS: &'static str = "DELETE FROM files WHERE token_hash IN \
         (SELECT token_hash FROM files WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)";
    const CLAIM_DELIVERIES: &'static str = "UPDATE deliveries SET locked_until = $2 WHERE event_id IN \
         (SELECT event_id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $1 \
          AND locked_until <= $1 ORDER BY next_attempt_at, event_id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING event_id";
}

sql_store!(PgStore, sqlx::Postgres, PgConnection, {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn erases_through_writer(&self) -> bool {
        false
    }

    async fn compact(&self) -> StoreResult<()> {
        // Dead row versions are reclaimed by (auto)vacuum; what they hold
        // was sealed with data keys that are gone (see docs/production.md).
        Ok(())
    }
});
