//! Named leases: one holder at a time across instances (the sweeper, the
//! catalogue build).

use sqlx::{ColumnIndex, Database, Executor, IntoArguments};

use super::sql::{Dialect, Param, RowsAffected, SqlStore, Value};
use super::writer::Priority;
use super::StoreResult;

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
    pub(super) async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<bool> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                         expires_at = excluded.expires_at \
                         WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder",
                    )
                    .bind(&name)
                    .bind(&holder)
                    .bind(expires_at)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    Ok(done.rows_affected() == 1)
                })
            })
            .await
    }

    pub(super) async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                        .bind(&name)
                        .bind(&holder)
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            })
            .await
    }
}
