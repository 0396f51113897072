//! DigiLocker revokes queued after a local erasure (requests.rs queues
//! them with the revoke), claimed and finished by the upstream worker.

use sqlx::Executor;

use super::rows::{One, UPSTREAM_REVOKE_COLUMNS};
use super::sql::{Bind, Dialect, SqlStore};
use super::writer::Priority;
use super::{StoreResult, UpstreamRevoke, UpstreamRevokeOutcome};

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Conn: Executor<'c, Database = D::Db>,
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
                        .arg(now)
                        .arg(now.saturating_add(lease))
                        .arg(limit)
                        .arg(&request_id)
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
                            .arg(&request_id)
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
                            .arg(error)
                            .arg(next_attempt_at)
                            .arg(&request_id)
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
            .arg(limit)
            .fetch_all(db.conn())
            .await;
        Ok(db.check(all)?)
    }

    pub(super) async fn count_upstream_revokes(&self) -> StoreResult<i64> {
        let mut db = self.read.get().await?;
        let found: Result<One<i64>, _> = sqlx::query_as("SELECT COUNT(*) FROM upstream_revokes")
            .fetch_one(db.conn())
            .await;
        Ok(db.check(found)?.0)
    }
}
