//! SQLite backend: the embedded default. WAL, foreign keys on, migrations at
//! start, multi-statement writes in `BEGIN IMMEDIATE` transactions.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::sql::{sql_store, CATALOGUE_COLUMNS, DROP_OLD_CATALOGUES, SET_CURRENT_CATALOGUE};
use super::{CatalogueMeta, CatalogueRow, StoreResult};

/// The SQLite store.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Open (creating if needed) the database file and run migrations.
    pub async fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        // Tolerate migrations applied by a newer release, so an upgrade can
        // be rolled back (every migration must stay backward compatible).
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        migrator.set_ignore_missing(true);
        migrator.run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

sql_store!(SqliteStore, {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn sweep_expired(&self, now: i64, instance: &str) -> StoreResult<Vec<String>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let expired: Vec<(String, String)> =
            sqlx::query_as("SELECT id, client_id FROM requests WHERE valid_upto <= $1 LIMIT 1000")
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
        for (id, client_id) in &expired {
            sqlx::query("DELETE FROM files WHERE request_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM requests WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO erasures (request_id, client_id, erased_at, instance) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(client_id)
            .bind(now)
            .bind(instance)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM files WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(expired.into_iter().map(|(id, _)| id).collect())
    }

    async fn replace_catalogue(
        &self,
        rows: &[CatalogueRow],
        built_at: i64,
    ) -> StoreResult<CatalogueMeta> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let (current,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM catalogue_meta")
                .fetch_one(&mut *tx)
                .await?;
        let version = current + 1;
        for row in rows {
            sqlx::query(&format!(
                "INSERT INTO catalogue (version, {CATALOGUE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(version)
            .bind(&row.org_id)
            .bind(&row.doc_type)
            .bind(&row.org_name)
            .bind(&row.description)
            .bind(&row.formats)
            .bind(&row.parameters)
            .bind(&row.issuer_id)
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
