//! The events of requests (the consent audit trail and the webhook
//! outbox), appended in the transaction of the change they report.

use std::collections::HashSet;

use futures::future::BoxFuture;
use sqlx::{Executor, QueryBuilder};

use super::rows::{One, EVENT_COLUMNS};
use super::sql::{Bind, Dialect, Push, RowsAffected, SqlStore};
use super::writer::Priority;
use super::{EventKind, EventRecord, NewEvent, NewRequest, StepCount, StoreResult};

/// An event with the request and client it belongs to.
pub(super) type RequestEvent = (String, String, NewEvent);

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Conn: Executor<'c, Database = D::Db>,
{
    pub(super) async fn record_event(
        &self,
        request_id: &str,
        client_id: &str,
        event: &NewEvent,
    ) -> StoreResult<()> {
        let event = (request_id.to_owned(), client_id.to_owned(), event.clone());
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move { Self::append_events(conn, &[event]).await })
            })
            .await
    }

    pub(super) async fn erasure_count(&self, request_id: &str) -> StoreResult<i64> {
        let mut db = self.read.get().await?;
        let found: Result<One<i64>, _> =
            sqlx::query_as("SELECT COUNT(*) FROM events WHERE request_id = $1 AND kind = 'erased'")
                .arg(request_id)
                .fetch_one(db.conn())
                .await;
        Ok(db.check(found)?.0)
    }

    pub(super) async fn request_events(&self, request_id: &str) -> StoreResult<Vec<EventRecord>> {
        let mut db = self.read.get().await?;
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE request_id = $1 ORDER BY seq");
        let all = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(request_id)
            .fetch_all(db.conn())
            .await;
        Ok(db.check(all)?)
    }

    pub(super) async fn client_events(
        &self,
        client_id: &str,
        since: i64,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>> {
        let mut db = self.read.get().await?;
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events \
             WHERE client_id = $1 AND at >= $2 AND seq > $3 ORDER BY seq LIMIT $4"
        );
        let all = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(client_id)
            .arg(since)
            .arg(after_seq)
            .arg(limit)
            .fetch_all(db.conn())
            .await;
        Ok(db.check(all)?)
    }

    pub(super) async fn step_counts(&self, since: i64) -> StoreResult<Vec<StepCount>> {
        let mut db = self.read.get().await?;
        let all = sqlx::query_as(
            "SELECT client_id, step, COUNT(DISTINCT request_id) AS requests FROM ( \
               SELECT client_id, request_id, \
                 CASE WHEN kind IN ('document_fetched', 'aadhaar_fetched') THEN 'fetched' \
                      WHEN kind = 'erased' THEN 'expired' ELSE kind END AS step \
               FROM events WHERE at >= $1 AND (kind IN ('created', 'consent_given', \
                 'consent_denied', 'journey_failed', 'document_fetched', 'aadhaar_fetched') \
                 OR (kind = 'erased' AND detail LIKE '%\"reason\":\"expired\"%')) \
             ) steps GROUP BY client_id, step",
        )
        .arg(since)
        .fetch_all(db.conn())
        .await;
        Ok(db.check(all)?)
    }

    pub(super) async fn events_mentioning(
        &self,
        text: &str,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>> {
        let mut db = self.read.get().await?;
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE detail LIKE $1 ESCAPE '\\' \
             ORDER BY seq DESC LIMIT $2"
        );
        let all = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(format!("%{escaped}%"))
            .arg(limit)
            .fetch_all(db.conn())
            .await;
        Ok(db.check(all)?)
    }

    pub(super) async fn get_event(&self, event_id: &str) -> StoreResult<Option<EventRecord>> {
        let mut db = self.read.get().await?;
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1");
        let found = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(event_id)
            .fetch_optional(db.conn())
            .await;
        Ok(db.check(found)?)
    }

    /// Append an event in the caller's transaction, and, when the client
    /// has a webhook and the kind is announced, its delivery.
    pub(super) async fn append_event(
        conn: &mut D::Conn,
        request_id: &str,
        client_id: &str,
        event: &NewEvent,
    ) -> Result<(), sqlx::Error> {
        let event = (request_id.to_owned(), client_id.to_owned(), event.clone());
        Self::append_events(conn, &[event]).await
    }

    /// Append several events (one statement), with their deliveries (on
    /// SQLite in the same query).
    pub(super) async fn append_events(
        conn: &mut D::Conn,
        events: &[RequestEvent],
    ) -> Result<(), sqlx::Error> {
        if events.is_empty() {
            return Ok(());
        }
        // One statement, whatever the number of events: the rows travel as
        // one JSON array (one bind, one statement text to prepare and
        // cache), not as six binds a row.
        let rows: Vec<(&str, &str, &str, &str, String, i64)> = events
            .iter()
            .map(|(request_id, client_id, e)| {
                (
                    e.id.as_str(),
                    request_id.as_str(),
                    client_id.as_str(),
                    e.kind.as_str(),
                    e.detail.to_string(),
                    e.at,
                )
            })
            .collect();
        let rows = serde_json::to_string(&rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let announced: Vec<&str> = events
            .iter()
            .map(|(_, _, e)| e)
            .filter(|e| e.kind.is_announced())
            .map(|e| e.id.as_str())
            .collect();
        let ids = if announced.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&announced).map_err(|e| sqlx::Error::Encode(Box::new(e)))?)
        };
        match (D::insert_events_and_deliveries(), &ids) {
            (Some(both), Some(ids)) => {
                sqlx::query(both)
                    .arg(&rows)
                    .arg(ids)
                    .execute(&mut *conn)
                    .await?;
            }
            _ => {
                sqlx::query(D::INSERT_EVENTS)
                    .arg(&rows)
                    .execute(&mut *conn)
                    .await?;
                if let Some(ids) = &ids {
                    sqlx::query(D::insert_deliveries())
                        .arg(ids)
                        .execute(&mut *conn)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// The writer's way to insert a batch of new requests: one multi-row
    /// statement per chunk (chunks of 64, 32, … rows, so few statement
    /// texts are prepared and cached), then one for all their `created`
    /// events. (The requests as one JSON-bound statement, like the events,
    /// cost more: their byte strings in hex, and SQLite parsing each row's
    /// JSON once per column.)
    pub(super) fn insert_requests<'c>(
        conn: &'c mut D::Conn,
        rows: &'c [NewRequest],
    ) -> BoxFuture<'c, Result<Vec<String>, sqlx::Error>> {
        Box::pin(async move {
            let mut inserted: Vec<String> = Vec::with_capacity(rows.len());
            let mut events: Vec<RequestEvent> = Vec::with_capacity(rows.len());
            let mut rest = rows;
            while !rest.is_empty() {
                let size = [64usize, 32, 16, 8, 4, 2, 1]
                    .into_iter()
                    .find(|&n| n <= rest.len())
                    .unwrap_or(1);
                let (chunk, tail) = rest.split_at(size);
                rest = tail;
                let ids = Self::insert_request_chunk(conn, chunk).await?;
                events.extend(chunk.iter().filter(|r| ids.contains(&r.id)).map(created));
                inserted.extend(ids);
            }
            // The batch's events in one statement, after all its requests.
            Self::append_events(conn, &events).await?;
            Ok(inserted)
        })
    }

    /// Insert one chunk of new requests; the ids that went in.
    async fn insert_request_chunk(
        conn: &mut D::Conn,
        chunk: &[NewRequest],
    ) -> Result<HashSet<String>, sqlx::Error> {
        let mut insert = QueryBuilder::<D::Db>::new(
            "INSERT INTO requests (id, client_id, status, redirect_url, doc_types, state_hash, \
             data_key, journey_secrets, idempotency_key, idempotency_fingerprint, created_at, \
             valid_upto) ",
        );
        insert.push_values(chunk, |mut b, r| {
            b.push_arg(r.id.clone())
                .push_arg(r.client_id.clone())
                .push_arg("unauthenticated")
                .push_arg(r.redirect_url.clone())
                .push_arg(r.doc_types.clone())
                .push_arg(r.state_hash.clone())
                .push_arg(r.data_key.clone())
                .push_arg(r.journey_secrets.clone())
                .push_arg(r.idempotency_key.clone())
                .push_arg(r.idempotency_fingerprint.clone())
                .push_arg(r.created_at)
                .push_arg(r.valid_upto);
        });
        // A duplicate idempotency key is an answer, not an error: its row
        // is skipped.
        insert.push(" ON CONFLICT DO NOTHING");
        let done = insert.build().execute(&mut *conn).await?.rows_affected();
        // Which rows went in: all of them, unless a key was held (then
        // ask, rarely). Not `RETURNING id`: SQLite hands each returned row
        // over on its own.
        if done == chunk.len() as u64 {
            return Ok(chunk.iter().map(|r| r.id.clone()).collect());
        }
        let mut ask = QueryBuilder::<D::Db>::new("SELECT id FROM requests WHERE id IN (");
        let mut each = ask.separated(", ");
        for r in chunk {
            each.push_arg(r.id.clone());
        }
        ask.push(")");
        let found: Vec<One<String>> = ask.build_query_as().fetch_all(&mut *conn).await?;
        Ok(found.into_iter().map(|One(id)| id).collect())
    }
}

/// The `created` event of a new request.
fn created(r: &NewRequest) -> RequestEvent {
    let doc_types: Vec<&str> = r.doc_types.split(',').filter(|d| !d.is_empty()).collect();
    let mut detail = serde_json::json!({"docTypes": doc_types, "validUpto": r.valid_upto});
    if !r.trace_id.is_empty() {
        detail["traceId"] = r.trace_id.clone().into();
    }
    let e = NewEvent::new(EventKind::Created, detail, r.created_at);
    (r.id.clone(), r.client_id.clone(), e)
}
