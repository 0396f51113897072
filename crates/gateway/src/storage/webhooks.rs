//! Webhook deliveries: the announced events on their way to clients,
//! claimed by the sender, retried, listed and sent again on request.

use std::collections::HashMap;

use sqlx::{ColumnIndex, Database, Executor, IntoArguments};

use super::rows::{DELIVERY_COLUMNS, EVENT_COLUMNS};
use super::sql::{Dialect, Param, RowsAffected, SqlStore, Value};
use super::writer::Priority;
use super::{
    AttemptOutcome, DeliveryRecord, DueDelivery, EventRecord, StoreError, StoreResult,
    WebhookBacklog, WebhookSettings,
};

/// A client's webhook columns, as `claim_deliveries` reads them.
type Hook = (
    Option<String>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<i64>,
);

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
                    let claimed: Vec<(String,)> = sqlx::query_as(D::CLAIM_DELIVERIES)
                        .bind(now)
                        .bind(now.saturating_add(lease))
                        .bind(limit)
                        .bind(per_client)
                        .bind(&in_flight)
                        .fetch_all(&mut *conn)
                        .await?;
                    let mut due = Vec::with_capacity(claimed.len());
                    for (event_id,) in claimed {
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
            .bind(event_id)
            .fetch_one(&mut *conn)
            .await?;
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1");
        let event: Option<EventRecord> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(event_id)
            .fetch_optional(&mut *conn)
            .await?;
        let hook: Option<Hook> = sqlx::query_as(
            "SELECT webhook_url, webhook_secret, webhook_previous_secret, webhook_previous_until \
             FROM clients WHERE client_id = $1",
        )
        .bind(&delivery.client_id)
        .fetch_optional(&mut *conn)
        .await?;
        let (Some(event), Some((url, secret, previous_secret, previous_until))) = (event, hook)
        else {
            return Ok(None);
        };
        Ok(Some(DueDelivery {
            delivery,
            event,
            webhook: WebhookSettings {
                url,
                secret,
                previous_secret,
                previous_until,
            },
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
                    .bind(state)
                    .bind(status)
                    .bind(error)
                    .bind(next)
                    .bind(finished)
                    .bind(&event_id)
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
            .bind(client_id)
            .bind(limit)
            .fetch_all(db.conn())
            .await;
        Ok(db.check(all)?)
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
                    .bind(&event_id)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    Ok(done.rows_affected() > 0)
                })
            })
            .await
    }
}
