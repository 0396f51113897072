//! Consent requests: created in the writer's batches (events.rs), read
//! while live, changed as the journey goes, revoked.

use sqlx::{Database, Executor, FromRow};

use super::rows::{One, REQUEST_COLUMNS, REQUEST_STATUS_COLUMNS};
use super::sql::{Bind, Dialect, SqlStore};
use super::writer::Priority;
use super::StoreResult;
use super::{NewEvent, NewRequest, NewUpstreamRevoke, RequestRecord, RequestStatusRecord};

/// Erase what a request holds of its user, keeping the row: its data key
/// first (everything else was sealed with it), then the rest. `$1` is the
/// request id; journey secrets become empty (the column is NOT NULL).
pub(super) const ERASE_REQUEST_DATA: &str = "data_key = NULL, token = NULL, user_details = NULL, \
     scope_sealed = NULL, journey_secrets = $2, callback_used = 1";

/// [`ERASE_REQUEST_DATA`] but the data key, which a revoke keeps while a
/// file link handed out earlier lives.
pub(super) const ERASE_REQUEST_SECRETS: &str = "token = NULL, user_details = NULL, \
     scope_sealed = NULL, journey_secrets = $2, callback_used = 1";

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Conn: Executor<'c, Database = D::Db>,
{
    /// Through the writer's batches of new requests (events.rs).
    pub(super) async fn insert_request(&self, r: &NewRequest) -> StoreResult<bool> {
        self.writer.insert_request(r.clone()).await
    }

    pub(super) async fn release_expired_idempotency_key(
        &self,
        client_id: &str,
        key: &str,
        now: i64,
    ) -> StoreResult<()> {
        let (client_id, key) = (client_id.to_owned(), key.to_owned());
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "UPDATE requests SET idempotency_key = NULL \
                         WHERE client_id = $1 AND idempotency_key = $2 AND valid_upto <= $3",
                    )
                    .arg(&client_id)
                    .arg(&key)
                    .arg(now)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    pub(super) async fn get_request(
        &self,
        client_id: &str,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<RequestRecord>> {
        self.live_request(REQUEST_COLUMNS, id, Some(client_id), now)
            .await
    }

    pub(super) async fn get_request_status(
        &self,
        client_id: &str,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<RequestStatusRecord>> {
        self.live_request(REQUEST_STATUS_COLUMNS, id, Some(client_id), now)
            .await
    }

    pub(super) async fn get_live_request(
        &self,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<RequestRecord>> {
        self.live_request(REQUEST_COLUMNS, id, None, now).await
    }

    /// `columns` of request `id` while it is live (before its
    /// `valid_upto`), and only if it is `client_id`'s when given.
    async fn live_request<T>(
        &self,
        columns: &str,
        id: &str,
        client_id: Option<&str>,
        now: i64,
    ) -> StoreResult<Option<T>>
    where
        T: for<'r> FromRow<'r, <D::Db as Database>::Row> + Send + Unpin,
    {
        let mut db = self.read.get().await?;
        let sql = format!(
            "SELECT {columns} FROM requests \
             WHERE id = $1 AND valid_upto > $2 AND ($3 IS NULL OR client_id = $3)"
        );
        let found = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(id)
            .arg(now)
            .arg(client_id)
            .fetch_optional(db.conn())
            .await;
        Ok(db.check(found)?)
    }

    pub(super) async fn find_idempotent(
        &self,
        client_id: &str,
        key: &str,
        now: i64,
    ) -> StoreResult<Option<RequestRecord>> {
        let mut db = self.read.get().await?;
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests \
             WHERE client_id = $1 AND idempotency_key = $2 AND valid_upto > $3"
        );
        let found = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(client_id)
            .arg(key)
            .arg(now)
            .fetch_optional(db.conn())
            .await;
        Ok(db.check(found)?)
    }

    pub(super) async fn claim_callback(
        &self,
        state_key: &[u8],
        now: i64,
    ) -> StoreResult<Option<RequestRecord>> {
        let state_key = state_key.to_vec();
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    let sql = format!(
                        "UPDATE requests SET callback_used = 1 \
                         WHERE state_hash = $1 AND callback_used = 0 AND valid_upto > $2 \
                         AND status = 'unauthenticated' RETURNING {REQUEST_COLUMNS}"
                    );
                    sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .arg(&state_key)
                        .arg(now)
                        .fetch_optional(&mut *conn)
                        .await
                })
            })
            .await
    }

    pub(super) async fn set_authenticated(
        &self,
        id: &str,
        token: &[u8],
        user_details: &[u8],
        scope_sealed: &[u8],
        event: &NewEvent,
    ) -> StoreResult<()> {
        let (id, event) = (id.to_owned(), event.clone());
        let (token, user_details, scope_sealed) =
            (token.to_vec(), user_details.to_vec(), scope_sealed.to_vec());
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    let changed = sqlx::query_as(
                        "UPDATE requests SET status = 'authenticated', token = $1, \
                         user_details = $2, scope_sealed = $3 WHERE id = $4 \
                         AND status = 'unauthenticated' AND data_key IS NOT NULL \
                         RETURNING client_id",
                    )
                    .arg(&token)
                    .arg(&user_details)
                    .arg(&scope_sealed)
                    .arg(&id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    Self::log_change(conn, &id, changed, &event).await
                })
            })
            .await
    }

    pub(super) async fn set_consent_failed(
        &self,
        id: &str,
        code: &str,
        message: &str,
        event: &NewEvent,
    ) -> StoreResult<()> {
        let (id, event) = (id.to_owned(), event.clone());
        let (code, message) = (code.to_owned(), message.to_owned());
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    let changed = sqlx::query_as(
                        "UPDATE requests SET consent_error_code = $1, consent_error_message = $2 \
                         WHERE id = $3 AND status = 'unauthenticated' RETURNING client_id",
                    )
                    .arg(&code)
                    .arg(&message)
                    .arg(&id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    Self::log_change(conn, &id, changed, &event).await
                })
            })
            .await
    }

    /// Append `event` of request `id` if a change returned its client.
    pub(super) async fn log_change(
        conn: &mut D::Conn,
        id: &str,
        changed: Option<One<String>>,
        event: &NewEvent,
    ) -> Result<(), sqlx::Error> {
        match changed {
            Some(One(client_id)) => Self::append_event(conn, id, &client_id, event).await,
            None => Ok(()),
        }
    }

    pub(super) async fn update_token(&self, id: &str, token: &[u8]) -> StoreResult<()> {
        let (id, token) = (id.to_owned(), token.to_vec());
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "UPDATE requests SET token = $1 \
                         WHERE id = $2 AND status = 'authenticated' AND data_key IS NOT NULL",
                    )
                    .arg(&token)
                    .arg(&id)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                })
            })
            .await
    }

    pub(super) async fn revoke(
        &self,
        id: &str,
        event: &NewEvent,
        upstream: Option<&NewUpstreamRevoke>,
    ) -> StoreResult<bool> {
        let (id, event, upstream) = (id.to_owned(), event.clone(), upstream.cloned());
        let revoked = self
            .writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move { Self::revoke_in(conn, &id, &event, upstream.as_ref()).await })
            })
            .await?;
        if revoked {
            D::compact(self).await?;
        }
        Ok(revoked)
    }

    /// [`Self::revoke`]'s statements, in the writer's transaction.
    async fn revoke_in(
        conn: &mut D::Conn,
        id: &str,
        event: &NewEvent,
        upstream: Option<&NewUpstreamRevoke>,
    ) -> Result<bool, sqlx::Error> {
        // File links already handed out keep working until their own expiry
        // (the hosted API's fileUrl is valid until its validUpto): the data
        // key stays while one lives, and the sweeper erases it with the
        // last link.
        let sql = format!(
            "UPDATE requests SET status = 'revoked', {ERASE_REQUEST_SECRETS}, \
             data_key = CASE WHEN EXISTS \
             (SELECT 1 FROM files f WHERE f.request_id = $1 AND f.expires_at > $3) \
             THEN data_key ELSE NULL END \
             WHERE id = $1 AND status = 'authenticated' RETURNING client_id"
        );
        let client: Option<One<String>> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(id)
            .arg(Vec::<u8>::new())
            .arg(event.at)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(One(client_id)) = client else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM files WHERE request_id = $1 AND expires_at <= $2")
            .arg(id)
            .arg(event.at)
            .execute(&mut *conn)
            .await?;
        if let Some(u) = upstream {
            sqlx::query(
                "INSERT INTO upstream_revokes (request_id, client_id, token_sealed, attempts, \
                 next_attempt_at, locked_until, expires_at, created_at) \
                 VALUES ($1, $2, $3, 0, $4, 0, $5, $4) ON CONFLICT (request_id) DO NOTHING",
            )
            .arg(id)
            .arg(&client_id)
            .arg(&u.token_sealed)
            .arg(u.created_at)
            .arg(u.expires_at)
            .execute(&mut *conn)
            .await?;
        }
        Self::append_event(conn, id, &client_id, event).await?;
        Ok(true)
    }
}
