//! The catalogue of issuers and their document types: versions written in
//! small background batches, made current in one switch.

use sqlx::{ColumnIndex, Database, Executor, IntoArguments, QueryBuilder};

use super::rows::{CATALOGUE_COLUMNS, CATALOGUE_META_COLUMNS, ISSUER_STATE_COLUMNS};
use super::sql::{Dialect, Param, SqlStore, Value};
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
    for<'e> i64: Value<'e, D::Db>,
    for<'e> String: Value<'e, D::Db>,
    for<'e> Vec<u8>: Value<'e, D::Db>,
    for<'e> &'e str: Param<'e, D::Db>,
    for<'e> &'e [u8]: Param<'e, D::Db>,
    for<'e> Option<i64>: Param<'e, D::Db>,
    for<'e> Option<String>: Param<'e, D::Db>,
    for<'e> Option<Vec<u8>>: Param<'e, D::Db>,
    for<'e> Option<&'e str>: Param<'e, D::Db>,
    for<'r> &'r str: ColumnIndex<<D::Db as Database>::Row>,
    usize: ColumnIndex<<D::Db as Database>::Row>,
    <D::Db as Database>::Arguments: IntoArguments<D::Db>,
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
                            b.push_bind(s.org_id.clone())
                                .push_bind(s.org_name.clone())
                                .push_bind(s.issuer_id.clone())
                                .push_bind(s.ok)
                                .push_bind(s.attempts)
                                .push_bind(s.failing_since)
                                .push_bind(s.last_ok_at)
                                .push_bind(s.last_error.clone())
                                .push_bind(s.next_try_at);
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
                            each.push_bind(org_id.clone());
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
                    let (next,): (i64,) = sqlx::query_as(
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
                            b.push_bind(version)
                                .push_bind(row.org_id.clone())
                                .push_bind(row.doc_type.clone())
                                .push_bind(row.org_name.clone())
                                .push_bind(row.description.clone())
                                .push_bind(row.formats.clone())
                                .push_bind(row.parameters.clone())
                                .push_bind(row.issuer_id.clone());
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
                        .bind(meta.version)
                        .bind(meta.built_at)
                        .bind(meta.entries)
                        .bind(meta.issuers)
                        .bind(meta.failing)
                        .bind(meta.pending)
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
            .bind(org_id)
            .bind(doc_type)
            .fetch_optional(db.conn())
            .await;
        Ok(db.check(found)?)
    }
}
