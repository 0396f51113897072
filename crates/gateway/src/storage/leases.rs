//! Named leases: one holder at a time across instances (the sweeper, the
//! catalogue build).

use sqlx::Executor;

use super::sql::{Bind, Dialect, RowsAffected, SqlStore};
use super::writer::Priority;
use super::StoreResult;

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Conn: Executor<'c, Database = D::Db>,
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
                    .arg(&name)
                    .arg(&holder)
                    .arg(expires_at)
                    .arg(now)
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
                        .arg(&name)
                        .arg(&holder)
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            })
            .await
    }
}
