//! Files fetched for a request, served through single links until they
//! expire.

use sqlx::{ColumnIndex, Database, Executor, IntoArguments};

use super::sql::{Dialect, Param, SqlStore, Value};
use super::writer::Priority;
use super::{FileRecord, LiveFile, NewEvent, StoreResult};

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
    pub(super) async fn insert_file(&self, f: &FileRecord, event: &NewEvent) -> StoreResult<()> {
        let (f, event) = (f.clone(), event.clone());
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO files (token_hash, request_id, client_id, content_type, \
                         name_sealed, data, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&f.token_hash)
                    .bind(&f.request_id)
                    .bind(&f.client_id)
                    .bind(&f.content_type)
                    .bind(&f.name_sealed)
                    .bind(&f.data)
                    .bind(f.expires_at)
                    .execute(&mut *conn)
                    .await?;
                    Self::append_event(conn, &f.request_id, &f.client_id, &event).await
                })
            })
            .await
    }

    pub(super) async fn get_file(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> StoreResult<Option<LiveFile>> {
        let mut db = self.read.get().await?;
        let found = sqlx::query_as(
            "SELECT f.token_hash, f.request_id, f.client_id, f.content_type, f.name_sealed, \
             f.data, f.expires_at, r.data_key FROM files f JOIN requests r ON r.id = f.request_id \
             WHERE f.token_hash = $1 AND f.expires_at > $2 AND r.valid_upto > $2 \
             AND r.data_key IS NOT NULL",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(db.conn())
        .await;
        Ok(db.check(found)?)
    }
}
