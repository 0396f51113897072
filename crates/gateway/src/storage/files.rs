//! Files fetched for a request, served through single links until they
//! expire.

use sqlx::Executor;

use super::sql::{Bind, Dialect, SqlStore};
use super::writer::Priority;
use super::{FileRecord, LiveFile, NewEvent, StoreResult};

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Conn: Executor<'c, Database = D::Db>,
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
                    .arg(&f.token_hash)
                    .arg(&f.request_id)
                    .arg(&f.client_id)
                    .arg(&f.content_type)
                    .arg(&f.name_sealed)
                    .arg(&f.data)
                    .arg(f.expires_at)
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
        .arg(token_hash)
        .arg(now)
        .fetch_optional(db.conn())
        .await;
        Ok(db.check(found)?)
    }
}
