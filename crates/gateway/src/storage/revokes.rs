//! DigiLocker revokes queued after a local erasure (requests.rs queues
//! them with the revoke), claimed and finished by the upstream worker.

use sqlx::{ColumnIndex, Database, Executor, IntoArguments};

use super::rows::UPSTREAM_REVOKE_COLUMNS;
use super::sql::{Dialect, Param, SqlStore, Value};
use super::writer::Priority;
use super::{StoreResult, UpstreamRevoke, UpstreamRevokeOutcome};

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
    pub(super) async fn claim_upstream_revokes(
        &self,
        now: i64,
        lease: i64,
        limit: i64,
        request_id: Option<&str>,
    ) -> StoreResult<Vec<UpstreamRevoke>> {
        let request_id = request_id.map(str::to_owned);
        self.writer
            .write(Priority::Background, move |conn| {
                Box::pin(async move {
                    let sql = format!(
                        "UPDATE upstream_revokes SET locked_until = $2 WHERE request_id IN \
                         (SELECT request_id FROM upstream_revokes \
                          WHERE next_attempt_at <= $1 AND locked_until <= $1 \
                          AND ($4 IS NULL OR request_id = $4) ORDER BY next_attempt_at LIMIT $3{}) \
                         RETURNING {UPSTREAM_REVOKE_COLUMNS}",
                        D::SKIP_LOCKED
                    );
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(now)
                        .bind(now.saturating_add(lease))
                        .bind(limit)
                        .bind(&request_id)
                        .fetch_all(&mut *conn)
                        .await
                })
            })
            .await
    }

    pub(super) async fn finish_upstream_revoke(
        &self,
        request_id: &str,
        outcome: &UpstreamRevokeOutcome,
    ) -> StoreResult<()> {
        let (request_id, outcome) = (request_id.to_owned(), outcome.clone());
        self.writer
            .write(Priority::Background, move |conn| {
                Box::pin(async move {
                    match &outcome {
                        UpstreamRevokeOutcome::Done(event) => {
                            let gone = sqlx::query_as(
                                "DELETE FROM upstream_revokes WHERE request_id = $1 \
                                 RETURNING client_id",
                            )
                            .bind(&request_id)
                            .fetch_optional(&mut *conn)
                            .await?;
                            Self::log_change(conn, &request_id, gone, event).await?;
                        }
                        UpstreamRevokeOutcome::Retry {
                            error,
                            next_attempt_at,
                        } => {
                            sqlx::query(
                                "UPDATE upstream_revokes SET attempts = attempts + 1, \
                                 last_error = $1, next_attempt_at = $2, locked_until = 0 \
                                 WHERE request_id = $3",
                            )
                            .bind(error)
                            .bind(next_attempt_at)
                            .bind(&request_id)
                            .execute(&mut *conn)
                            .await?;
                        }
                    }
                    Ok(())
                })
            })
            .await
    }

    pub(super) async fn list_upstream_revokes(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<UpstreamRevoke>> {
        let mut db = self.read.get().await?;
        let sql = format!(
            "SELECT {UPSTREAM_REVOKE_COLUMNS} FROM upstream_revokes \
             ORDER BY created_at, request_id LIMIT $1"
        );
        let all = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(db.conn())
            .await;
        Ok(db.check(all)?)
    }

    pub(super) async fn count_upstream_revokes(&self) -> StoreResult<i64> {
        let mut db = self.read.get().await?;
        let found: Result<(i64,), _> = sqlx::query_as("SELECT COUNT(*) FROM upstream_revokes")
            .fetch_one(db.conn())
            .await;
        Ok(db.check(found)?.0)
    }
}
