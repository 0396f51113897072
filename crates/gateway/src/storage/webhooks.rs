//! Webhook deliveries: the announced events on their way to clients,
//! claimed by the sender, retried, listed and sent again on request.

use std::collections::HashMap;

use sqlx::Executor;

use super::rows::{One, Pair, DELIVERY_COLUMNS, EVENT_COLUMNS};
use super::sql::{Bind, Dialect, RowsAffected, SqlStore};
use super::writer::Priority;
use super::{
    AttemptOutcome, DeliveryRecord, DueDelivery, EventRecord, StoreError, StoreResult,
    WebhookBacklog, WebhookSettings,
};

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Conn: Executor<'c, Database = D::Db>,
{
    pub(super) async fn webhook_backlog(&self) -> StoreResult<WebhookBacklog> {
        let mut db = self.read.get().await?;
        // Through the index `deliveries_due (state, next_attempt_at)`.
        let found = sqlx::query_as(
            "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest_created_at \
             FROM deliveries WHERE state = 'pending'",
        )
        .fetch_one(db.conn())
        .await;
        Ok(db.check(found)?)
    }

    pub(super) async fn claim_deliveries(
        &self,
        now: i64,
        lease: i64,
        limit: i64,
        per_client: i64,
        in_flight: &HashMap<String, i64>,
    ) -> StoreResult<Vec<DueDelivery>> {
        let in_flight = serde_json::to_string(in_flight)
            .map_err(|e| StoreError::Failed(sqlx::Error::Encode(Box::new(e))))?;
        self.writer
            .write(Priority::Background, move |conn| {
                Box::pin(async move {
                    let claimed: Vec<One<String>> = sqlx::query_as(D::CLAIM_DELIVERIES)
                        .arg(now)
                        .arg(now.saturating_add(lease))
                        .arg(limit)
                        .arg(per_client)
                        .arg(&in_flight)
                        .fetch_all(&mut *conn)
                        .await?;
                    let mut due = Vec::with_capacity(claimed.len());
                    for One(event_id) in claimed {
                        due.extend(Self::due_delivery(conn, &event_id).await?);
                    }
                    Ok(due)
                })
            })
            .await
    }

    /// A claimed delivery with its event and its client's webhook; `None`
    /// when either is gone.
    async fn due_delivery(
        conn: &mut D::Conn,
        event_id: &str,
    ) -> Result<Option<DueDelivery>, sqlx::Error> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE event_id = $1");
        let delivery: DeliveryRecord = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(event_id)
            .fetch_one(&mut *conn)
            .await?;
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1");
        let event: Option<EventRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(event_id)
            .fetch_optional(&mut *conn)
            .await?;
        let webhook: Option<WebhookSettings> = sqlx::query_as(
            "SELECT webhook_url AS url, webhook_secret AS secret, \
             webhook_previous_secret AS previous_secret, \
             webhook_previous_until AS previous_until FROM clients WHERE client_id = $1",
        )
        .arg(&delivery.client_id)
        .fetch_optional(&mut *conn)
        .await?;
        let (Some(event), Some(webhook)) = (event, webhook) else {
            return Ok(None);
        };
        Ok(Some(DueDelivery {
            delivery,
            event,
            webhook,
        }))
    }

    pub(super) async fn finish_delivery(
        &self,
        event_id: &str,
        outcome: &AttemptOutcome,
        now: i64,
    ) -> StoreResult<()> {
        let event_id = event_id.to_owned();
        let (state, status, error, next, finished) = match outcome.clone() {
            AttemptOutcome::Delivered { status } => {
                ("delivered", Some(status), None, now, Some(now))
            }
            AttemptOutcome::Retry {
                status,
                error,
                next_attempt_at,
            } => ("pending", status, Some(error), next_attempt_at, None),
            AttemptOutcome::Failed { status, error } => {
                ("failed", status, Some(error), now, Some(now))
            }
        };
        self.writer
            .write(Priority::Background, move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "UPDATE deliveries SET state = $1, attempts = attempts + 1, \
                         last_status = $2, last_error = $3, next_attempt_at = $4, \
                         finished_at = $5, locked_until = 0 WHERE event_id = $6",
                    )
                    .arg(state)
                    .arg(status)
                    .arg(error)
                    .arg(next)
                    .arg(finished)
                    .arg(&event_id)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    pub(super) async fn list_deliveries(
        &self,
        client_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let mut db = self.read.get().await?;
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE client_id = $1 \
             ORDER BY created_at DESC, event_id DESC LIMIT $2"
        );
        let all = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(client_id)
            .arg(limit)
            .fetch_all(db.conn())
            .await;
        Ok(db.check(all)?)
    }

    pub(super) async fn request_deliveries(
        &self,
        request_id: &str,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let mut db = self.read.get().await?;
        let columns = DELIVERY_COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM deliveries d JOIN events e ON e.id = d.event_id \
             WHERE e.request_id = $1 ORDER BY e.seq"
        );
        let all = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(request_id)
            .fetch_all(db.conn())
            .await;
        Ok(db.check(all)?)
    }

    pub(super) async fn pending_deliveries_by_client(&self) -> StoreResult<Vec<(String, i64)>> {
        let mut db = self.read.get().await?;
        let all: Result<Vec<Pair<String, i64>>, _> = sqlx::query_as(
            "SELECT client_id, COUNT(*) FROM deliveries WHERE state = 'pending' GROUP BY client_id",
        )
        .fetch_all(db.conn())
        .await;
        Ok(db.check(all)?.into_iter().map(|p| (p.0, p.1)).collect())
    }

    pub(super) async fn redeliver(&self, event_id: &str, now: i64) -> StoreResult<bool> {
        let event_id = event_id.to_owned();
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "INSERT INTO deliveries (event_id, client_id, state, attempts, \
                         next_attempt_at, locked_until, created_at) \
                         SELECT e.id, e.client_id, 'pending', 0, $2, 0, $2 FROM events e \
                         JOIN clients c ON c.client_id = e.client_id \
                         WHERE e.id = $1 AND c.webhook_url IS NOT NULL \
                         ON CONFLICT (event_id) DO UPDATE SET state = 'pending', \
                         next_attempt_at = $2, locked_until = 0, finished_at = NULL",
                    )
                    .arg(&event_id)
                    .arg(now)
                    .execute(&mut *conn)
                    .await?;
                    Ok(done.rows_affected() > 0)
                })
            })
            .await
    }
}
