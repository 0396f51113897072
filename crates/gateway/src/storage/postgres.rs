//! PostgreSQL backend, for several gateway instances on one database.
//! Background work is claimed with row locks (`FOR UPDATE SKIP LOCKED`), so
//! two instances never erase the same request.

use std::time::Duration;

use anyhow::Context;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use super::sql::{sql_store, CATALOGUE_COLUMNS, DROP_OLD_CATALOGUES, SET_CURRENT_CATALOGUE};
use super::{CatalogueMeta, CatalogueRow, StoreResult};

/// The PostgreSQL store.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

/// Apply our migrations that the database lacks. Several instances starting
/// at once are serialized by sqlx's advisory lock. Migrations applied by a
/// newer release are tolerated: during a rolling upgrade (or a rollback) the
/// older binary keeps running on the newer schema, which is why every
/// migration must be backward compatible (see docs/production.md).
async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    migrator.set_ignore_missing(true);
    migrator
        .run(pool)
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
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .context("cannot connect to PostgreSQL")?;
        migrate(&pool).await?;
        Ok(PgStore { pool })
    }

    /// Use an existing pool (tests put each store in its own schema).
    pub async fn from_pool(pool: PgPool) -> anyhow::Result<PgStore> {
        migrate(&pool).await?;
        Ok(PgStore { pool })
    }
}

sql_store!(PgStore, {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn sweep_expired(&self, now: i64, instance: &str) -> StoreResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let expired: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, client_id FROM requests WHERE valid_upto <= $1 ORDER BY valid_upto LIMIT 1000 FOR UPDATE SKIP LOCKED",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let ids: Vec<String> = expired.iter().map(|(id, _)| id.clone()).collect();
        let clients: Vec<String> = expired.iter().map(|(_, c)| c.clone()).collect();
        sqlx::query("DELETE FROM files WHERE request_id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM requests WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO erasures (request_id, client_id, erased_at, instance) \
             SELECT r, c, $3, $4 FROM UNNEST($1::text[], $2::text[]) AS t(r, c)",
        )
        .bind(&ids)
        .bind(&clients)
        .bind(now)
        .bind(instance)
        .execute(&mut *tx)
        .await?;
        // Expired links of any request. Rows another sweeper holds are
        // skipped (it deletes them): waiting for them while holding our own
        // could deadlock two sweepers.
        sqlx::query(
            "DELETE FROM files WHERE token_hash IN \
             (SELECT token_hash FROM files WHERE expires_at <= $1 FOR UPDATE SKIP LOCKED)",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn replace_catalogue(
        &self,
        rows: &[CatalogueRow],
        built_at: i64,
    ) -> StoreResult<CatalogueMeta> {
        let mut tx = self.pool.begin().await?;
        // One writer at a time: the meta row is the lock.
        sqlx::query("LOCK TABLE catalogue_meta IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let (current,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(version), 0)::bigint FROM catalogue_meta")
                .fetch_one(&mut *tx)
                .await?;
        let version = current + 1;
        for chunk in rows.chunks(2000) {
            let col = |f: fn(&CatalogueRow) -> &String| {
                chunk.iter().map(|r| f(r).clone()).collect::<Vec<String>>()
            };
            sqlx::query(&format!(
                "INSERT INTO catalogue (version, {CATALOGUE_COLUMNS}) \
                 SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])"
            ))
            .bind(version)
            .bind(col(|r| &r.org_id))
            .bind(col(|r| &r.doc_type))
            .bind(col(|r| &r.org_name))
            .bind(col(|r| &r.description))
            .bind(col(|r| &r.formats))
            .bind(col(|r| &r.parameters))
            .bind(col(|r| &r.issuer_id))
            .execute(&mut *tx)
            .await?;
        }
        let meta = CatalogueMeta {
            version,
            built_at,
            entries: rows.len() as i64,
        };
        sqlx::query(SET_CURRENT_CATALOGUE)
            .bind(meta.version)
            .bind(meta.built_at)
            .bind(meta.entries)
            .execute(&mut *tx)
            .await?;
        sqlx::query(DROP_OLD_CATALOGUES)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(meta)
    }
});
