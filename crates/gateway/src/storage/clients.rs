//! Clients (businesses), and the generation number their caches watch.

use sqlx::Executor;

use super::requests::ERASE_REQUEST_DATA;
use super::rows::{One, CLIENT_COLUMNS};
use super::sql::{Bind, Dialect, RowsAffected, SqlStore};
use super::writer::Priority;
use super::{ClientRecord, EventKind, NewEvent, StoreResult, WebhookSettings};

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Conn: Executor<'c, Database = D::Db>,
{
    pub(super) async fn insert_client(&self, c: &ClientRecord) -> StoreResult<()> {
        let c = c.clone();
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    let sql = format!(
                        "INSERT INTO clients ({CLIENT_COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .arg(&c.client_id)
                        .arg(&c.secret_hash)
                        .arg(&c.product_instance_id)
                        .arg(&c.name)
                        .arg(&c.allowed_origins)
                        .arg(c.disabled)
                        .arg(c.created_at)
                        .arg(&c.webhook_url)
                        .arg(&c.webhook_secret)
                        .arg(&c.webhook_previous_secret)
                        .arg(c.webhook_previous_until)
                        .execute(&mut *conn)
                        .await?;
                    Self::bump_client_generation(conn).await
                })
            })
            .await
    }

    pub(super) async fn get_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>> {
        let mut db = self.read.get().await?;
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_id = $1");
        let found = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(client_id)
            .fetch_optional(db.conn())
            .await;
        Ok(db.check(found)?)
    }

    pub(super) async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>> {
        let mut db = self.read.get().await?;
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY created_at, client_id");
        let all = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(db.conn())
            .await;
        Ok(db.check(all)?)
    }

    pub(super) async fn client_generation(&self) -> StoreResult<i64> {
        let mut db = self.read.get().await?;
        let found: Result<One<i64>, _> =
            sqlx::query_as("SELECT generation FROM client_generation WHERE id = 1")
                .fetch_one(db.conn())
                .await;
        Ok(db.check(found)?.0)
    }

    pub(super) async fn set_client_disabled(
        &self,
        client_id: &str,
        disabled: bool,
        now: i64,
    ) -> StoreResult<bool> {
        let client_id = client_id.to_owned();
        let changed = self
            .writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    let done = sqlx::query("UPDATE clients SET disabled = $1 WHERE client_id = $2")
                        .arg(i64::from(disabled))
                        .arg(&client_id)
                        .execute(&mut *conn)
                        .await?;
                    if done.rows_affected() != 1 {
                        return Ok(false);
                    }
                    Self::bump_client_generation(conn).await?;
                    if disabled {
                        Self::end_client(conn, &client_id, now).await?;
                    }
                    Ok(true)
                })
            })
            .await?;
        if changed && disabled {
            D::compact(self).await?;
        }
        Ok(changed)
    }

    /// What disabling a client does: its links die, its journeys in
    /// progress end, and what its requests hold of their users is erased.
    async fn end_client(conn: &mut D::Conn, client_id: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM files WHERE client_id = $1")
            .arg(client_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "UPDATE requests SET consent_error_code = 'client_disabled', \
             consent_error_message = 'The business can no longer use this gateway.' \
             WHERE client_id = $1 AND status = 'unauthenticated' AND consent_error_code IS NULL",
        )
        .arg(client_id)
        .execute(&mut *conn)
        .await?;
        let sql = format!(
            "UPDATE requests SET {ERASE_REQUEST_DATA} \
             WHERE client_id = $1 AND data_key IS NOT NULL RETURNING id"
        );
        let erased: Vec<One<String>> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .arg(client_id)
            .arg(Vec::<u8>::new())
            .fetch_all(&mut *conn)
            .await?;
        let events: Vec<_> = erased
            .into_iter()
            .map(|One(id)| {
                let reason = serde_json::json!({"reason": "client_disabled"});
                let e = NewEvent::new(EventKind::Erased, reason, now);
                (id, client_id.to_owned(), e)
            })
            .collect();
        Self::append_events(conn, &events).await
    }

    pub(super) async fn set_client_secret_hash(
        &self,
        client_id: &str,
        hash: &[u8],
    ) -> StoreResult<bool> {
        let (client_id, hash) = (client_id.to_owned(), hash.to_vec());
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    let done =
                        sqlx::query("UPDATE clients SET secret_hash = $1 WHERE client_id = $2")
                            .arg(&hash)
                            .arg(&client_id)
                            .execute(&mut *conn)
                            .await?;
                    Self::bump_client_generation(conn).await?;
                    Ok(done.rows_affected() == 1)
                })
            })
            .await
    }

    pub(super) async fn set_client_webhook(
        &self,
        client_id: &str,
        w: &WebhookSettings,
    ) -> StoreResult<bool> {
        let (client_id, w) = (client_id.to_owned(), w.clone());
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE clients SET webhook_url = $1, webhook_secret = $2, \
                         webhook_previous_secret = $3, webhook_previous_until = $4 \
                         WHERE client_id = $5",
                    )
                    .arg(&w.url)
                    .arg(&w.secret)
                    .arg(&w.previous_secret)
                    .arg(w.previous_until)
                    .arg(&client_id)
                    .execute(&mut *conn)
                    .await?;
                    Self::bump_client_generation(conn).await?;
                    Ok(done.rows_affected() == 1)
                })
            })
            .await
    }

    pub(super) async fn count_client_live_requests(&self, client_id: &str) -> StoreResult<i64> {
        let mut db = self.read.get().await?;
        let found: Result<One<i64>, _> = sqlx::query_as(
            "SELECT COUNT(*) FROM requests WHERE client_id = $1 AND data_key IS NOT NULL",
        )
        .arg(client_id)
        .fetch_one(db.conn())
        .await;
        Ok(db.check(found)?.0)
    }

    /// Every change of a client changes the generation its caches compare.
    async fn bump_client_generation(conn: &mut D::Conn) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE client_generation SET generation = generation + 1 WHERE id = 1")
            .execute(&mut *conn)
            .await
            .map(|_| ())
    }
}
