//! The catalogue of issuers and their document types: versions written in
//! small background batches, made current in one switch.

use sqlx::{Executor, QueryBuilder};

use super::rows::{One, CATALOGUE_COLUMNS, CATALOGUE_META_COLUMNS, ISSUER_STATE_COLUMNS};
use super::sql::{Bind, Dialect, Push, SqlStore};
use super::writer::Priority;
use super::{CatalogueHealth, CatalogueMeta, CatalogueRow, IssuerState, StoreResult};

/// Rows of catalogue inserted per statement.
const CHUNK: usize = 500;

/// Make catalogue version `$1` (built at `$2`, `$3` entries; `$4` issuers,
/// `$5` failing, `$6` not asked yet) the current one, unless a newer one
/// already is.
const SET_CURRENT: &str =
    "INSERT INTO catalogue_meta (id, version, built_at, entries, issuers, failing, pending) \
     VALUES (1, $1, $2, $3, $4, $5, $6) \
     ON CONFLICT (id) DO UPDATE SET version = excluded.version, built_at = excluded.built_at, \
     entries = excluded.entries, issuers = excluded.issuers, failing = excluded.failing, \
     pending = excluded.pending \
     WHERE catalogue_meta.version < excluded.version";

/// Remove catalogue versions older than the current one (a build still
/// writing a newer version keeps its rows).
const DROP_OLD: &str =
    "DELETE FROM catalogue WHERE version < (SELECT version FROM catalogue_meta WHERE id = 1)";

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Conn: Executor<'c, Database = D::Db>,
{
    pub(super) async fn catalogue_meta(&self) -> StoreResult<Option<CatalogueMeta>> {
        let mut db = self.read.get().await?;
        let sql = format!("SELECT {CATALOGUE_META_COLUMNS} FROM catalogue_meta WHERE id = 1");
        let found = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_optional(db.conn())
            .await;
        Ok(db.check(found)?)
    }

    pub(super) async fn catalogue_issuers(&self) -> StoreResult<Vec<IssuerState>> {
        let mut db = self.read.get().await?;
        let sql = format!("SELECT {ISSUER_STATE_COLUMNS} FROM catalogue_issuers ORDER BY org_id");
        let all = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(db.conn())
            .await;
        Ok(db.check(all)?)
    }

    pub(super) async fn save_catalogue_issuers(
        &self,
        states: &[IssuerState],
        removed: &[String],
    ) -> StoreResult<()> {
        for chunk in states.chunks(CHUNK) {
            let chunk = chunk.to_vec();
            self.writer
                .write(Priority::Background, move |conn| {
                    Box::pin(async move {
                        let mut upsert = QueryBuilder::<D::Db>::new(format!(
                            "INSERT INTO catalogue_issuers ({ISSUER_STATE_COLUMNS}) "
                        ));
                        upsert.push_values(&chunk, |mut b, s| {
                            b.push_arg(s.org_id.clone())
                                .push_arg(s.org_name.clone())
                                .push_arg(s.issuer_id.clone())
                                .push_arg(s.ok)
                                .push_arg(s.attempts)
                                .push_arg(s.failing_since)
                                .push_arg(s.last_ok_at)
                                .push_arg(s.last_error.clone())
                                .push_arg(s.next_try_at);
                        });
                        upsert.push(
                            " ON CONFLICT (org_id) DO UPDATE SET org_name = excluded.org_name, \
                             issuer_id = excluded.issuer_id, ok = excluded.ok, \
                             attempts = excluded.attempts, failing_since = excluded.failing_since, \
                             last_ok_at = excluded.last_ok_at, last_error = excluded.last_error, \
                             next_try_at = excluded.next_try_at",
                        );
                        upsert.build().execute(&mut *conn).await?;
                        Ok(())
                    })
                })
                .await?;
        }
        for chunk in removed.chunks(CHUNK) {
            let chunk = chunk.to_vec();
            self.writer
                .write(Priority::Background, move |conn| {
                    Box::pin(async move {
                        let mut delete = QueryBuilder::<D::Db>::new(
                            "DELETE FROM catalogue_issuers WHERE org_id IN (",
                        );
                        let mut each = delete.separated(", ");
                        for org_id in &chunk {
                            each.push_arg(org_id.clone());
                        }
                        delete.push(")");
                        delete.build().execute(&mut *conn).await?;
                        Ok(())
                    })
                })
                .await?;
        }
        Ok(())
    }

    pub(super) async fn replace_catalogue(
        &self,
        rows: &[CatalogueRow],
        built_at: i64,
        health: CatalogueHealth,
    ) -> StoreResult<CatalogueMeta> {
        // A version number of our own: the new rows stay invisible until
        // the switch, so they go in small background batches that never
        // hold the writer for long.
        let version: i64 = self
            .writer
            .write(Priority::Background, move |conn| {
                Box::pin(async move {
                    let One(next): One<i64> = sqlx::query_as(
                        "UPDATE catalogue_sequence SET next_version = next_version + 1 \
                         WHERE id = 1 RETURNING next_version",
                    )
                    .fetch_one(&mut *conn)
                    .await?;
                    Ok(next)
                })
            })
            .await?;
        for chunk in rows.chunks(CHUNK) {
            let chunk = chunk.to_vec();
            self.writer
                .write(Priority::Background, move |conn| {
                    Box::pin(async move {
                        let mut insert = QueryBuilder::<D::Db>::new(format!(
                            "INSERT INTO catalogue (version, {CATALOGUE_COLUMNS}) "
                        ));
                        insert.push_values(&chunk, |mut b, row| {
                            b.push_arg(version)
                                .push_arg(row.org_id.clone())
                                .push_arg(row.doc_type.clone())
                                .push_arg(row.org_name.clone())
                                .push_arg(row.description.clone())
                                .push_arg(row.formats.clone())
                                .push_arg(row.parameters.clone())
                                .push_arg(row.issuer_id.clone());
                        });
                        insert.push(" ON CONFLICT DO NOTHING");
                        insert.build().execute(&mut *conn).await?;
                        Ok(())
                    })
                })
                .await?;
        }
        let meta = CatalogueMeta {
            version,
            built_at,
            entries: rows.len() as i64,
            issuers: health.issuers,
            failing: health.failing,
            pending: health.pending,
        };
        self.writer
            .write(Priority::Background, move |conn| {
                Box::pin(async move {
                    sqlx::query(SET_CURRENT)
                        .arg(meta.version)
                        .arg(meta.built_at)
                        .arg(meta.entries)
                        .arg(meta.issuers)
                        .arg(meta.failing)
                        .arg(meta.pending)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(DROP_OLD).execute(&mut *conn).await?;
                    Ok(())
                })
            })
            .await?;
        Ok(meta)
    }

    pub(super) async fn load_catalogue(&self) -> StoreResult<Vec<CatalogueRow>> {
        let mut db = self.read.get().await?;
        let sql = format!(
            "SELECT {CATALOGUE_COLUMNS} FROM catalogue \
             WHERE version = (SELECT version FROM catalogue_meta WHERE id = 1) \
             ORDER BY org_id, doc_type"
        );
        let all = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(db.conn())
            .await;
        Ok(db.check(all)?)
    }

    pub(super) async fn find_catalogue_entry(
        &self,
        org_id: &str,
        doc_type: &str,
    ) -> StoreResult<Option<CatalogueRow>> {
        let mut db = self.read.get().await?;
        let sql = format!(
            "SELECT {CATALOGUE_COLUMNS} FROM catalogue \
             WHERE version = (SELECT version FROM catalogue_meta WHERE id = 1) \
             AND org_id = $1 AND doc_type = $2"
        );
        let found = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(org_id)
            .arg(doc_type)
            .fetch_optional(db.conn())
            .await;
        Ok(db.check(found)?)
    }
}
