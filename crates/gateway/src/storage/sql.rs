//! The statements both backends share. `sql_store!` implements `Store` for a
//! store type holding `read: sqlx::Pool<DB>` (reads) and `writer:
//! Writer<Connection>` (every write, group-committed); the backend supplies
//! the few statements whose SQL differs, as associated constants and
//! methods. Placeholders are `$1`, `$2`… which SQLite and PostgreSQL both
//! accept.

/// Columns of `RequestRecord`, in one place.
pub(crate) const REQUEST_COLUMNS: &str =
    "id, client_id, status, redirect_url, doc_types, data_key, journey_secrets, \
     callback_used, consent_error_code, consent_error_message, token, user_details, scope_sealed, \
     idempotency_key, idempotency_fingerprint, created_at, valid_upto";

/// Columns of `RequestStatusRecord`.
pub(crate) const REQUEST_STATUS_COLUMNS: &str =
    "id, status, data_key, consent_error_code, consent_error_message, user_details, valid_upto";

pub(crate) const CLIENT_COLUMNS: &str =
    "client_id, secret_hash, product_instance_id, name, allowed_origins, disabled, created_at, \
     webhook_url, webhook_secret, webhook_previous_secret, webhook_previous_until";

pub(crate) const EVENT_COLUMNS: &str = "seq, id, request_id, client_id, kind, detail, at";

pub(crate) const DELIVERY_COLUMNS: &str =
    "event_id, client_id, state, attempts, next_attempt_at, last_status, last_error, created_at, finished_at";

pub(crate) const CATALOGUE_COLUMNS: &str =
    "org_id, doc_type, org_name, description, formats, parameters, issuer_id";

pub(crate) const CATALOGUE_META_COLUMNS: &str =
    "version, built_at, entries, issuers, failing, pending";

pub(crate) const ISSUER_STATE_COLUMNS: &str =
    "org_id, org_name, issuer_id, ok, attempts, failing_since, last_ok_at, last_error, next_try_at";

pub(crate) const UPSTREAM_REVOKE_COLUMNS: &str =
    "request_id, client_id, token_sealed, attempts, next_attempt_at, last_error, expires_at, created_at";

/// Make catalogue version `$1` (built at `$2`, `$3` entries; `$4` issuers,
/// `$5` failing, `$6` not asked yet) the current one, unless a newer one
/// already is.
pub(crate) const SET_CURRENT_CATALOGUE: &str =
    "INSERT INTO catalogue_meta (id, version, built_at, entries, issuers, failing, pending) \
     VALUES (1, $1, $2, $3, $4, $5, $6) \
     ON CONFLICT (id) DO UPDATE SET version = excluded.version, built_at = excluded.built_at, \
     entries = excluded.entries, issuers = excluded.issuers, failing = excluded.failing, \
     pending = excluded.pending \
     WHERE catalogue_meta.version < excluded.version";

/// Remove catalogue versions older than the current one (a build still
/// writing a newer version keeps its rows).
pub(crate) const DROP_OLD_CATALOGUES: &str =
    "DELETE FROM catalogue WHERE version < (SELECT version FROM catalogue_meta WHERE id = 1)";

/// Erase what a request holds of its user, keeping the row: its data key
/// first (everything else was sealed with it), then the rest. `$1` is the
/// request id; journey secrets become empty (the column is NOT NULL).
pub(crate) const ERASE_REQUEST_DATA: &str = "data_key = NULL, token = NULL, user_details = NULL, \
     scope_sealed = NULL, journey_secrets = $2, callback_used = 1";

/// [`ERASE_REQUEST_DATA`] but the data key, which a revoke keeps while a
/// file link handed out earlier lives.
pub(crate) const ERASE_REQUEST_SECRETS: &str = "token = NULL, user_details = NULL, \
     scope_sealed = NULL, journey_secrets = $2, callback_used = 1";

/// The data keys of revoked requests whose last file link is gone (the
/// partial index `requests_revoked_keys` finds them).
pub(crate) const ERASE_REVOKED_KEYS: &str = "UPDATE requests SET data_key = NULL \
     WHERE status = 'revoked' AND data_key IS NOT NULL \
     AND NOT EXISTS (SELECT 1 FROM files f WHERE f.request_id = requests.id)";

/// What needs which master key at `$1`: each kind of sealed value by the
/// id of the key that sealed it (an envelope's bytes 2 to 5), how many,
/// and until when at the latest. A request's data key is needed until its
/// `valid_upto` or its last file link's expiry, whichever is later.
pub(crate) const KEY_USAGE: &str = "\
    SELECT 'requests' AS kind, substr(r.data_key, 2, 4) AS key_id, COUNT(*) AS count, \
           MAX(CASE WHEN f.last > r.valid_upto THEN f.last ELSE r.valid_upto END) AS until \
      FROM requests r \
      LEFT JOIN (SELECT request_id, MAX(expires_at) AS last FROM files GROUP BY request_id) f \
        ON f.request_id = r.id \
     WHERE r.data_key IS NOT NULL \
       AND (r.valid_upto > $1 OR f.last > $1) \
     GROUP BY substr(r.data_key, 2, 4) \
    UNION ALL \
    SELECT 'file links', substr(r.data_key, 2, 4), COUNT(*), MAX(f.expires_at) \
      FROM files f JOIN requests r ON r.id = f.request_id \
     WHERE r.data_key IS NOT NULL AND f.expires_at > $1 \
     GROUP BY substr(r.data_key, 2, 4) \
    UNION ALL \
    SELECT 'webhook secrets', substr(webhook_secret, 2, 4), COUNT(*), NULL \
      FROM clients WHERE webhook_secret IS NOT NULL \
     GROUP BY substr(webhook_secret, 2, 4) \
    UNION ALL \
    SELECT 'previous webhook secrets', substr(webhook_previous_secret, 2, 4), COUNT(*), \
           MAX(webhook_previous_until) \
      FROM clients WHERE webhook_previous_secret IS NOT NULL AND webhook_previous_until > $1 \
     GROUP BY substr(webhook_previous_secret, 2, 4) \
    UNION ALL \
    SELECT 'queued DigiLocker revokes', substr(token_sealed, 2, 4), COUNT(*), MAX(expires_at) \
      FROM upstream_revokes \
     GROUP BY substr(token_sealed, 2, 4)";

/// Rows of catalogue inserted per statement.
pub(crate) const CATALOGUE_CHUNK: usize = 500;

macro_rules! sql_store {
    ($store:ty, $db:ty, $conn:ty, { $($specific:tt)* }) => {
        impl $store {
            /// `columns` of request `id` while it is live (before its
            /// `valid_upto`), and only if it is `client_id`'s when given.
            async fn live_request<T>(&self, columns: &str, id: &str, client_id: Option<&str>, now: i64) -> $crate::storage::StoreResult<Option<T>>
            where
                T: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
            {
                let sql = format!(
                    "SELECT {columns} FROM requests WHERE id = $1 AND valid_upto > $2 AND ($3 IS NULL OR client_id = $3)"
                );
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(now)
                    .bind(client_id)
                    .fetch_optional(conn)
                    .await))
            }

            /// Append an event in the caller's transaction, and, when the
            /// client has a webhook and the kind is announced, its delivery.
            async fn append_event(
                conn: &mut $conn,
                request_id: &str,
                client_id: &str,
                event: &$crate::storage::NewEvent,
            ) -> Result<(), sqlx::Error> {
                Self::append_events(conn, &[(request_id.to_owned(), client_id.to_owned(), event.clone())]).await
            }

            /// Append several events (one statement), with their deliveries
            /// (on SQLite in the same query).
            async fn append_events(
                conn: &mut $conn,
                events: &[(String, String, $crate::storage::NewEvent)],
            ) -> Result<(), sqlx::Error> {
                if events.is_empty() {
                    return Ok(());
                }
                // One statement, whatever the number of events: the rows
                // travel as one JSON array (one bind, one statement text to
                // prepare and cache), not as six binds a row.
                let rows: Vec<(&str, &str, &str, &str, String, i64)> = events
                    .iter()
                    .map(|(request_id, client_id, e)| {
                        (e.id.as_str(), request_id.as_str(), client_id.as_str(), e.kind.as_str(), e.detail.to_string(), e.at)
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
                match (Self::INSERT_EVENTS_AND_DELIVERIES, &ids) {
                    (Some(both), Some(ids)) => {
                        sqlx::query(both).bind(&rows).bind(ids).execute(&mut *conn).await?;
                    }
                    _ => {
                        sqlx::query(Self::INSERT_EVENTS).bind(&rows).execute(&mut *conn).await?;
                        if let Some(ids) = &ids {
                            sqlx::query(Self::INSERT_DELIVERIES).bind(ids).execute(&mut *conn).await?;
                        }
                    }
                }
                Ok(())
            }

            /// The writer's way to insert a batch of new requests: one
            /// multi-row statement per chunk (chunks of 64, 32, … rows, so
            /// few statement texts are prepared and cached), then one for
            /// all their `created` events. (The requests as one JSON-bound
            /// statement, like the events, cost more: their byte strings
            /// in hex, and SQLite parsing each row's JSON once per column.)
            pub(crate) fn insert_requests<'c>(
                conn: &'c mut $conn,
                rows: &'c [$crate::storage::NewRequest],
            ) -> futures::future::BoxFuture<'c, Result<Vec<String>, sqlx::Error>> {
                Box::pin(async move {
                    let mut inserted: Vec<String> = Vec::with_capacity(rows.len());
                    let mut events: Vec<(String, String, $crate::storage::NewEvent)> = Vec::with_capacity(rows.len());
                    let mut rest = rows;
                    while !rest.is_empty() {
                        let size = [64usize, 32, 16, 8, 4, 2, 1]
                            .into_iter()
                            .find(|&n| n <= rest.len())
                            .unwrap_or(1);
                        let (chunk, tail) = rest.split_at(size);
                        rest = tail;
                        let mut insert = sqlx::QueryBuilder::<$db>::new(
                            "INSERT INTO requests (id, client_id, status, redirect_url, doc_types, state_hash, data_key, \
                             journey_secrets, idempotency_key, idempotency_fingerprint, created_at, valid_upto) ",
                        );
                        insert.push_values(chunk, |mut b, r| {
                            b.push_bind(r.id.clone())
                                .push_bind(r.client_id.clone())
                                .push_bind("unauthenticated")
                                .push_bind(r.redirect_url.clone())
                                .push_bind(r.doc_types.clone())
                                .push_bind(r.state_hash.clone())
                                .push_bind(r.data_key.clone())
                                .push_bind(r.journey_secrets.clone())
                                .push_bind(r.idempotency_key.clone())
                                .push_bind(r.idempotency_fingerprint.clone())
                                .push_bind(r.created_at)
                                .push_bind(r.valid_upto);
                        });
                        // A duplicate idempotency key is an answer, not an
                        // error: its row is skipped.
                        insert.push(" ON CONFLICT DO NOTHING");
                        let done = insert.build().execute(&mut *conn).await?.rows_affected();
                        // Which rows went in: all of them, unless a key was
                        // held (then ask, rarely). Not `RETURNING id`: SQLite
                        // hands each returned row over on its own.
                        let ids: std::collections::HashSet<String> = if done == chunk.len() as u64 {
                            chunk.iter().map(|r| r.id.clone()).collect()
                        } else {
                            let mut ask = sqlx::QueryBuilder::<$db>::new("SELECT id FROM requests WHERE id IN (");
                            let mut each = ask.separated(", ");
                            for r in chunk {
                                each.push_bind(r.id.clone());
                            }
                            ask.push(")");
                            let found: Vec<(String,)> = ask.build_query_as().fetch_all(&mut *conn).await?;
                            found.into_iter().map(|(id,)| id).collect()
                        };
                        events.extend(chunk
                            .iter()
                            .filter(|r| ids.contains(&r.id))
                            .map(|r| {
                                let doc_types: Vec<&str> = r.doc_types.split(',').filter(|d| !d.is_empty()).collect();
                                let e = $crate::storage::NewEvent::new(
                                    $crate::storage::EventKind::Created,
                                    serde_json::json!({"docTypes": doc_types, "validUpto": r.valid_upto}),
                                    r.created_at,
                                );
                                (r.id.clone(), r.client_id.clone(), e)
                            }));
                        inserted.extend(ids);
                    }
                    // The batch's events in one statement, after all its
                    // requests.
                    Self::append_events(conn, &events).await?;
                    Ok(inserted)
                })
            }

            async fn bump_client_generation(conn: &mut $conn) -> Result<(), sqlx::Error> {
                sqlx::query("UPDATE client_generation SET generation = generation + 1 WHERE id = 1")
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
            }
        }

        #[async_trait::async_trait]
        impl $crate::storage::Store for $store {
            $($specific)*

            fn api_busy(&self) -> bool {
                self.writer.api_busy()
            }

            async fn ping(&self) -> $crate::storage::StoreResult<()> {
                $crate::storage::read_pool::on_reader!(self, |conn| sqlx::query("SELECT 1").execute(conn).await);
                Ok(())
            }

            async fn insert_client(&self, c: &$crate::storage::ClientRecord) -> $crate::storage::StoreResult<()> {
                let c = c.clone();
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO clients ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                        $crate::storage::sql::CLIENT_COLUMNS
                    )))
                    .bind(&c.client_id)
                    .bind(&c.secret_hash)
                    .bind(&c.product_instance_id)
                    .bind(&c.name)
                    .bind(&c.allowed_origins)
                    .bind(c.disabled)
                    .bind(c.created_at)
                    .bind(&c.webhook_url)
                    .bind(&c.webhook_secret)
                    .bind(&c.webhook_previous_secret)
                    .bind(c.webhook_previous_until)
                    .execute(&mut *conn)
                    .await?;
                    Self::bump_client_generation(conn).await
                })).await
            }

            async fn get_client(&self, client_id: &str) -> $crate::storage::StoreResult<Option<$crate::storage::ClientRecord>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM clients WHERE client_id = $1",
                    $crate::storage::sql::CLIENT_COLUMNS
                )))
                .bind(client_id)
                .fetch_optional(conn)
                .await))
            }

            async fn list_clients(&self) -> $crate::storage::StoreResult<Vec<$crate::storage::ClientRecord>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM clients ORDER BY created_at, client_id",
                    $crate::storage::sql::CLIENT_COLUMNS
                )))
                .fetch_all(conn)
                .await))
            }

            async fn client_generation(&self) -> $crate::storage::StoreResult<i64> {
                let (g,): (i64,) = $crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as("SELECT generation FROM client_generation WHERE id = 1")
                    .fetch_one(conn)
                    .await);
                Ok(g)
            }

            async fn set_client_disabled(&self, client_id: &str, disabled: bool, now: i64) -> $crate::storage::StoreResult<bool> {
                let client_id = client_id.to_owned();
                let changed = self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    let done = sqlx::query("UPDATE clients SET disabled = $1 WHERE client_id = $2")
                        .bind(i64::from(disabled))
                        .bind(&client_id)
                        .execute(&mut *conn)
                        .await?;
                    if done.rows_affected() != 1 {
                        return Ok(false);
                    }
                    Self::bump_client_generation(conn).await?;
                    if disabled {
                        // Its links die, its journeys in progress end, and
                        // what its requests hold of their users is erased.
                        sqlx::query("DELETE FROM files WHERE client_id = $1")
                            .bind(&client_id)
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query(
                            "UPDATE requests SET consent_error_code = 'client_disabled', \
                             consent_error_message = 'The business can no longer use this gateway.' \
                             WHERE client_id = $1 AND status = 'unauthenticated' AND consent_error_code IS NULL",
                        )
                        .bind(&client_id)
                        .execute(&mut *conn)
                        .await?;
                        let erased: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "UPDATE requests SET {} WHERE client_id = $1 AND data_key IS NOT NULL RETURNING id",
                            $crate::storage::sql::ERASE_REQUEST_DATA
                        )))
                        .bind(&client_id)
                        .bind(Vec::<u8>::new())
                        .fetch_all(&mut *conn)
                        .await?;
                        let events: Vec<_> = erased
                            .into_iter()
                            .map(|(id,)| {
                                let e = $crate::storage::NewEvent::new(
                                    $crate::storage::EventKind::Erased,
                                    serde_json::json!({"reason": "client_disabled"}),
                                    now,
                                );
                                (id, client_id.clone(), e)
                            })
                            .collect();
                        Self::append_events(conn, &events).await?;
                    }
                    Ok(true)
                })).await?;
                if changed && disabled {
                    <Self as $crate::storage::Store>::compact(self).await?;
                }
                Ok(changed)
            }

            async fn set_client_secret_hash(&self, client_id: &str, hash: &[u8]) -> $crate::storage::StoreResult<bool> {
                let (client_id, hash) = (client_id.to_owned(), hash.to_vec());
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    let done = sqlx::query("UPDATE clients SET secret_hash = $1 WHERE client_id = $2")
                        .bind(&hash)
                        .bind(&client_id)
                        .execute(&mut *conn)
                        .await?;
                    Self::bump_client_generation(conn).await?;
                    Ok(done.rows_affected() == 1)
                })).await
            }

            async fn set_client_webhook(&self, client_id: &str, w: &$crate::storage::WebhookSettings) -> $crate::storage::StoreResult<bool> {
                let (client_id, w) = (client_id.to_owned(), w.clone());
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    let done = sqlx::query(
                        "UPDATE clients SET webhook_url = $1, webhook_secret = $2, webhook_previous_secret = $3, \
                         webhook_previous_until = $4 WHERE client_id = $5",
                    )
                    .bind(&w.url)
                    .bind(&w.secret)
                    .bind(&w.previous_secret)
                    .bind(w.previous_until)
                    .bind(&client_id)
                    .execute(&mut *conn)
                    .await?;
                    Self::bump_client_generation(conn).await?;
                    Ok(done.rows_affected() == 1)
                })).await
            }

            async fn insert_request(&self, r: &$crate::storage::NewRequest) -> $crate::storage::StoreResult<bool> {
                self.writer.insert_request(r.clone()).await
            }

            async fn release_expired_idempotency_key(&self, client_id: &str, key: &str, now: i64) -> $crate::storage::StoreResult<()> {
                let (client_id, key) = (client_id.to_owned(), key.to_owned());
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    sqlx::query(
                        "UPDATE requests SET idempotency_key = NULL \
                         WHERE client_id = $1 AND idempotency_key = $2 AND valid_upto <= $3",
                    )
                    .bind(&client_id)
                    .bind(&key)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                })).await
            }

            async fn get_request(&self, client_id: &str, id: &str, now: i64) -> $crate::storage::StoreResult<Option<$crate::storage::RequestRecord>> {
                self.live_request($crate::storage::sql::REQUEST_COLUMNS, id, Some(client_id), now).await
            }

            async fn get_request_status(&self, client_id: &str, id: &str, now: i64) -> $crate::storage::StoreResult<Option<$crate::storage::RequestStatusRecord>> {
                self.live_request($crate::storage::sql::REQUEST_STATUS_COLUMNS, id, Some(client_id), now).await
            }

            async fn get_live_request(&self, id: &str, now: i64) -> $crate::storage::StoreResult<Option<$crate::storage::RequestRecord>> {
                self.live_request($crate::storage::sql::REQUEST_COLUMNS, id, None, now).await
            }

            async fn find_idempotent(&self, client_id: &str, key: &str, now: i64) -> $crate::storage::StoreResult<Option<$crate::storage::RequestRecord>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM requests WHERE client_id = $1 AND idempotency_key = $2 AND valid_upto > $3",
                    $crate::storage::sql::REQUEST_COLUMNS
                )))
                .bind(client_id)
                .bind(key)
                .bind(now)
                .fetch_optional(conn)
                .await))
            }

            async fn claim_callback(&self, state_key: &[u8], now: i64) -> $crate::storage::StoreResult<Option<$crate::storage::RequestRecord>> {
                let state_key = state_key.to_vec();
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "UPDATE requests SET callback_used = 1 \
                         WHERE state_hash = $1 AND callback_used = 0 AND valid_upto > $2 AND status = 'unauthenticated' \
                         RETURNING {}",
                        $crate::storage::sql::REQUEST_COLUMNS
                    )))
                    .bind(&state_key)
                    .bind(now)
                    .fetch_optional(&mut *conn)
                    .await
                })).await
            }

            async fn record_event(&self, request_id: &str, client_id: &str, event: &$crate::storage::NewEvent) -> $crate::storage::StoreResult<()> {
                let (request_id, client_id, event) = (request_id.to_owned(), client_id.to_owned(), event.clone());
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    Self::append_event(conn, &request_id, &client_id, &event).await
                })).await
            }

            async fn set_authenticated(&self, id: &str, token: &[u8], user_details: &[u8], scope_sealed: &[u8], event: &$crate::storage::NewEvent) -> $crate::storage::StoreResult<()> {
                let (id, token, user_details, scope_sealed, event) =
                    (id.to_owned(), token.to_vec(), user_details.to_vec(), scope_sealed.to_vec(), event.clone());
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    let client: Option<(String,)> = sqlx::query_as(
                        "UPDATE requests SET status = 'authenticated', token = $1, user_details = $2, scope_sealed = $3 \
                         WHERE id = $4 AND status = 'unauthenticated' AND data_key IS NOT NULL RETURNING client_id",
                    )
                    .bind(&token)
                    .bind(&user_details)
                    .bind(&scope_sealed)
                    .bind(&id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    if let Some((client_id,)) = client {
                        Self::append_event(conn, &id, &client_id, &event).await?;
                    }
                    Ok(())
                })).await
            }

            async fn set_consent_failed(&self, id: &str, code: &str, message: &str, event: &$crate::storage::NewEvent) -> $crate::storage::StoreResult<()> {
                let (id, code, message, event) = (id.to_owned(), code.to_owned(), message.to_owned(), event.clone());
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    let client: Option<(String,)> = sqlx::query_as(
                        "UPDATE requests SET consent_error_code = $1, consent_error_message = $2 \
                         WHERE id = $3 AND status = 'unauthenticated' RETURNING client_id",
                    )
                    .bind(&code)
                    .bind(&message)
                    .bind(&id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    if let Some((client_id,)) = client {
                        Self::append_event(conn, &id, &client_id, &event).await?;
                    }
                    Ok(())
                })).await
            }

            async fn update_token(&self, id: &str, token: &[u8]) -> $crate::storage::StoreResult<()> {
                let (id, token) = (id.to_owned(), token.to_vec());
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    sqlx::query("UPDATE requests SET token = $1 WHERE id = $2 AND status = 'authenticated' AND data_key IS NOT NULL")
                        .bind(&token)
                        .bind(&id)
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })).await
            }

            async fn revoke(&self, id: &str, event: &$crate::storage::NewEvent, upstream: Option<&$crate::storage::NewUpstreamRevoke>) -> $crate::storage::StoreResult<bool> {
                let (id, event, upstream) = (id.to_owned(), event.clone(), upstream.cloned());
                let revoked = self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    // File links already handed out keep working until their
                    // own expiry (the hosted API's fileUrl is valid until its
                    // validUpto): the data key stays while one lives, and the
                    // sweeper erases it with the last link.
                    let client: Option<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "UPDATE requests SET status = 'revoked', {}, \
                         data_key = CASE WHEN EXISTS (SELECT 1 FROM files f WHERE f.request_id = $1 AND f.expires_at > $3) \
                         THEN data_key ELSE NULL END \
                         WHERE id = $1 AND status = 'authenticated' RETURNING client_id",
                        $crate::storage::sql::ERASE_REQUEST_SECRETS
                    )))
                    .bind(&id)
                    .bind(Vec::<u8>::new())
                    .bind(event.at)
                    .fetch_optional(&mut *conn)
                    .await?;
                    let Some((client_id,)) = client else {
                        return Ok(false);
                    };
                    sqlx::query("DELETE FROM files WHERE request_id = $1 AND expires_at <= $2")
                        .bind(&id)
                        .bind(event.at)
                        .execute(&mut *conn)
                        .await?;
                    if let Some(u) = &upstream {
                        sqlx::query(
                            "INSERT INTO upstream_revokes (request_id, client_id, token_sealed, attempts, \
                             next_attempt_at, locked_until, expires_at, created_at) \
                             VALUES ($1, $2, $3, 0, $4, 0, $5, $4) ON CONFLICT (request_id) DO NOTHING",
                        )
                        .bind(&id)
                        .bind(&client_id)
                        .bind(&u.token_sealed)
                        .bind(u.created_at)
                        .bind(u.expires_at)
                        .execute(&mut *conn)
                        .await?;
                    }
                    Self::append_event(conn, &id, &client_id, &event).await?;
                    Ok(true)
                })).await?;
                if revoked {
                    <Self as $crate::storage::Store>::compact(self).await?;
                }
                Ok(revoked)
            }

            async fn claim_upstream_revokes(&self, now: i64, lease: i64, limit: i64, request_id: Option<&str>) -> $crate::storage::StoreResult<Vec<$crate::storage::UpstreamRevoke>> {
                let request_id = request_id.map(str::to_owned);
                self.writer.write($crate::storage::writer::Priority::Background, move |conn: &mut $conn| Box::pin(async move {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "UPDATE upstream_revokes SET locked_until = $2 WHERE request_id IN \
                         (SELECT request_id FROM upstream_revokes WHERE next_attempt_at <= $1 AND locked_until <= $1 \
                          AND ($4 IS NULL OR request_id = $4) ORDER BY next_attempt_at LIMIT $3{}) RETURNING {}",
                        Self::SKIP_LOCKED,
                        $crate::storage::sql::UPSTREAM_REVOKE_COLUMNS
                    )))
                    .bind(now)
                    .bind(now.saturating_add(lease))
                    .bind(limit)
                    .bind(&request_id)
                    .fetch_all(&mut *conn)
                    .await
                })).await
            }

            async fn finish_upstream_revoke(&self, request_id: &str, outcome: &$crate::storage::UpstreamRevokeOutcome) -> $crate::storage::StoreResult<()> {
                use $crate::storage::UpstreamRevokeOutcome;
                let (request_id, outcome) = (request_id.to_owned(), outcome.clone());
                self.writer.write($crate::storage::writer::Priority::Background, move |conn: &mut $conn| Box::pin(async move {
                    match &outcome {
                        UpstreamRevokeOutcome::Done(event) => {
                            let gone: Option<(String,)> = sqlx::query_as(
                                "DELETE FROM upstream_revokes WHERE request_id = $1 RETURNING client_id",
                            )
                            .bind(&request_id)
                            .fetch_optional(&mut *conn)
                            .await?;
                            if let Some((client_id,)) = gone {
                                Self::append_event(conn, &request_id, &client_id, event).await?;
                            }
                        }
                        UpstreamRevokeOutcome::Retry { error, next_attempt_at } => {
                            sqlx::query(
                                "UPDATE upstream_revokes SET attempts = attempts + 1, last_error = $1, \
                                 next_attempt_at = $2, locked_until = 0 WHERE request_id = $3",
                            )
                            .bind(error)
                            .bind(next_attempt_at)
                            .bind(&request_id)
                            .execute(&mut *conn)
                            .await?;
                        }
                    }
                    Ok(())
                })).await
            }

            async fn list_upstream_revokes(&self, limit: i64) -> $crate::storage::StoreResult<Vec<$crate::storage::UpstreamRevoke>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM upstream_revokes ORDER BY created_at, request_id LIMIT $1",
                    $crate::storage::sql::UPSTREAM_REVOKE_COLUMNS
                )))
                .bind(limit)
                .fetch_all(conn)
                .await))
            }

            async fn count_upstream_revokes(&self) -> $crate::storage::StoreResult<i64> {
                let (n,): (i64,) = $crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(
                    "SELECT COUNT(*) FROM upstream_revokes",
                )
                .fetch_one(conn)
                .await);
                Ok(n)
            }

            async fn webhook_backlog(&self) -> $crate::storage::StoreResult<$crate::storage::WebhookBacklog> {
                // Through the index `deliveries_due (state, next_attempt_at)`.
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(
                    "SELECT COUNT(*) AS pending, MIN(created_at) AS oldest_created_at \
                     FROM deliveries WHERE state = 'pending'",
                )
                .fetch_one(conn)
                .await))
            }

            async fn insert_file(&self, f: &$crate::storage::FileRecord, event: &$crate::storage::NewEvent) -> $crate::storage::StoreResult<()> {
                let (f, event) = (f.clone(), event.clone());
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO files (token_hash, request_id, client_id, content_type, name_sealed, data, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&f.token_hash)
                    .bind(&f.request_id)
                    .bind(&f.client_id)
                    .bind(&f.content_type)
                    .bind(&f.name_sealed)
                    .bind(&f.data)
                    .bind(f.expires_at)
                    .execute(&mut *conn)
                    .await?;
                    Self::append_event(conn, &f.request_id, &f.client_id, &event).await
                })).await
            }

            async fn get_file(&self, token_hash: &[u8], now: i64) -> $crate::storage::StoreResult<Option<$crate::storage::LiveFile>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(
                    "SELECT f.token_hash, f.request_id, f.client_id, f.content_type, f.name_sealed, f.data, f.expires_at, \
                     r.data_key FROM files f JOIN requests r ON r.id = f.request_id \
                     WHERE f.token_hash = $1 AND f.expires_at > $2 AND r.valid_upto > $2 AND r.data_key IS NOT NULL",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(conn)
                .await))
            }

            async fn sweep_step(&self, now: i64, limit: i64) -> $crate::storage::StoreResult<$crate::storage::SweepStep> {
                self.erase(move |conn: &mut $conn| Box::pin(async move {
                    let started = std::time::Instant::now();
                    // The rows go, their files with them (ON DELETE CASCADE),
                    // the data key first of all.
                    let gone = Self::sweep_requests(&mut *conn, now, limit).await?;
                    let events: Vec<_> = gone
                        .iter()
                        .map(|(id, client_id)| {
                            let e = $crate::storage::NewEvent::new(
                                $crate::storage::EventKind::Erased,
                                serde_json::json!({"reason": "expired"}),
                                now,
                            );
                            (id.clone(), client_id.clone(), e)
                        })
                        .collect();
                    Self::append_events(conn, &events).await?;
                    Ok($crate::storage::SweepStep {
                        requests: gone.into_iter().map(|(id, _)| id).collect(),
                        took: started.elapsed(),
                    })
                })).await
            }

            async fn sweep_links(&self, now: i64, limit: i64) -> $crate::storage::StoreResult<u64> {
                self.erase(move |conn: &mut $conn| Box::pin(async move {
                    let links = sqlx::query(Self::SWEEP_LINKS)
                        .bind(now)
                        .bind(limit)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                    // A revoked request's key goes with its last link.
                    let keys = sqlx::query($crate::storage::sql::ERASE_REVOKED_KEYS)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                    Ok(links + keys)
                })).await
            }

            async fn purge_events(&self, before: i64, limit: i64) -> $crate::storage::StoreResult<u64> {
                self.erase(move |conn: &mut $conn| Box::pin(async move {
                    // Events are appended in time order, so the oldest by
                    // `seq` are the ones past retention: no index on `at`.
                    sqlx::query(
                        "DELETE FROM deliveries WHERE event_id IN \
                         (SELECT id FROM (SELECT id, at FROM events ORDER BY seq LIMIT $2) oldest WHERE at < $1)",
                    )
                    .bind(before)
                    .bind(limit)
                    .execute(&mut *conn)
                    .await?;
                    let done = sqlx::query(
                        "DELETE FROM events WHERE seq IN \
                         (SELECT seq FROM (SELECT seq, at FROM events ORDER BY seq LIMIT $2) oldest WHERE at < $1)",
                    )
                    .bind(before)
                    .bind(limit)
                    .execute(&mut *conn)
                    .await?;
                    Ok(done.rows_affected())
                })).await
            }

            async fn erasure_count(&self, request_id: &str) -> $crate::storage::StoreResult<i64> {
                let (n,): (i64,) = $crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(
                    "SELECT COUNT(*) FROM events WHERE request_id = $1 AND kind = 'erased'",
                )
                .bind(request_id)
                .fetch_one(conn)
                .await);
                Ok(n)
            }

            async fn request_events(&self, request_id: &str) -> $crate::storage::StoreResult<Vec<$crate::storage::EventRecord>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM events WHERE request_id = $1 ORDER BY seq",
                    $crate::storage::sql::EVENT_COLUMNS
                )))
                .bind(request_id)
                .fetch_all(conn)
                .await))
            }

            async fn client_events(&self, client_id: &str, since: i64, after_seq: i64, limit: i64) -> $crate::storage::StoreResult<Vec<$crate::storage::EventRecord>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM events WHERE client_id = $1 AND at >= $2 AND seq > $3 ORDER BY seq LIMIT $4",
                    $crate::storage::sql::EVENT_COLUMNS
                )))
                .bind(client_id)
                .bind(since)
                .bind(after_seq)
                .bind(limit)
                .fetch_all(conn)
                .await))
            }

            async fn claim_deliveries(
                &self,
                now: i64,
                lease: i64,
                limit: i64,
                per_client: i64,
                in_flight: &std::collections::HashMap<String, i64>,
            ) -> $crate::storage::StoreResult<Vec<$crate::storage::DueDelivery>> {
                let in_flight = serde_json::to_string(in_flight).map_err(|e| $crate::storage::StoreError::Failed(sqlx::Error::Encode(Box::new(e))))?;
                self.writer.write($crate::storage::writer::Priority::Background, move |conn: &mut $conn| Box::pin(async move {
                    let claimed: Vec<(String,)> = sqlx::query_as(Self::CLAIM_DELIVERIES)
                        .bind(now)
                        .bind(now.saturating_add(lease))
                        .bind(limit)
                        .bind(per_client)
                        .bind(&in_flight)
                        .fetch_all(&mut *conn)
                        .await?;
                    let mut due = Vec::with_capacity(claimed.len());
                    for (event_id,) in claimed {
                        let delivery: $crate::storage::DeliveryRecord = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "SELECT {} FROM deliveries WHERE event_id = $1",
                            $crate::storage::sql::DELIVERY_COLUMNS
                        )))
                        .bind(&event_id)
                        .fetch_one(&mut *conn)
                        .await?;
                        let event: Option<$crate::storage::EventRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                            "SELECT {} FROM events WHERE id = $1",
                            $crate::storage::sql::EVENT_COLUMNS
                        )))
                        .bind(&event_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                        let hook: Option<(Option<String>, Option<Vec<u8>>, Option<Vec<u8>>, Option<i64>)> = sqlx::query_as(
                            "SELECT webhook_url, webhook_secret, webhook_previous_secret, webhook_previous_until \
                             FROM clients WHERE client_id = $1",
                        )
                        .bind(&delivery.client_id)
                        .fetch_optional(&mut *conn)
                        .await?;
                        if let (Some(event), Some((url, secret, previous_secret, previous_until))) = (event, hook) {
                            due.push($crate::storage::DueDelivery {
                                delivery,
                                event,
                                webhook: $crate::storage::WebhookSettings { url, secret, previous_secret, previous_until },
                            });
                        }
                    }
                    Ok(due)
                })).await
            }

            async fn finish_delivery(&self, event_id: &str, outcome: &$crate::storage::AttemptOutcome, now: i64) -> $crate::storage::StoreResult<()> {
                use $crate::storage::AttemptOutcome;
                let event_id = event_id.to_owned();
                let (state, status, error, next, finished) = match outcome.clone() {
                    AttemptOutcome::Delivered { status } => ("delivered", Some(status), None, now, Some(now)),
                    AttemptOutcome::Retry { status, error, next_attempt_at } => ("pending", status, Some(error), next_attempt_at, None),
                    AttemptOutcome::Failed { status, error } => ("failed", status, Some(error), now, Some(now)),
                };
                self.writer.write($crate::storage::writer::Priority::Background, move |conn: &mut $conn| Box::pin(async move {
                    sqlx::query(
                        "UPDATE deliveries SET state = $1, attempts = attempts + 1, last_status = $2, last_error = $3, \
                         next_attempt_at = $4, finished_at = $5, locked_until = 0 WHERE event_id = $6",
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
                })).await
            }

            async fn list_deliveries(&self, client_id: &str, limit: i64) -> $crate::storage::StoreResult<Vec<$crate::storage::DeliveryRecord>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM deliveries WHERE client_id = $1 ORDER BY created_at DESC, event_id DESC LIMIT $2",
                    $crate::storage::sql::DELIVERY_COLUMNS
                )))
                .bind(client_id)
                .bind(limit)
                .fetch_all(conn)
                .await))
            }

            async fn redeliver(&self, event_id: &str, now: i64) -> $crate::storage::StoreResult<bool> {
                let event_id = event_id.to_owned();
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    let done = sqlx::query(
                        "INSERT INTO deliveries (event_id, client_id, state, attempts, next_attempt_at, locked_until, created_at) \
                         SELECT e.id, e.client_id, 'pending', 0, $2, 0, $2 FROM events e \
                         JOIN clients c ON c.client_id = e.client_id \
                         WHERE e.id = $1 AND c.webhook_url IS NOT NULL \
                         ON CONFLICT (event_id) DO UPDATE SET state = 'pending', next_attempt_at = $2, \
                         locked_until = 0, finished_at = NULL",
                    )
                    .bind(&event_id)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    Ok(done.rows_affected() > 0)
                })).await
            }

            async fn get_event(&self, event_id: &str) -> $crate::storage::StoreResult<Option<$crate::storage::EventRecord>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM events WHERE id = $1",
                    $crate::storage::sql::EVENT_COLUMNS
                )))
                .bind(event_id)
                .fetch_optional(conn)
                .await))
            }

            async fn catalogue_meta(&self) -> $crate::storage::StoreResult<Option<$crate::storage::CatalogueMeta>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM catalogue_meta WHERE id = 1",
                    $crate::storage::sql::CATALOGUE_META_COLUMNS
                )))
                .fetch_optional(conn)
                .await))
            }

            async fn catalogue_issuers(&self) -> $crate::storage::StoreResult<Vec<$crate::storage::IssuerState>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM catalogue_issuers ORDER BY org_id",
                    $crate::storage::sql::ISSUER_STATE_COLUMNS
                )))
                .fetch_all(conn)
                .await))
            }

            async fn save_catalogue_issuers(&self, states: &[$crate::storage::IssuerState], removed: &[String]) -> $crate::storage::StoreResult<()> {
                use $crate::storage::writer::Priority;
                for chunk in states.chunks($crate::storage::sql::CATALOGUE_CHUNK) {
                    let chunk = chunk.to_vec();
                    self.writer.write(Priority::Background, move |conn: &mut $conn| Box::pin(async move {
                        let mut upsert = sqlx::QueryBuilder::<$db>::new(format!(
                            "INSERT INTO catalogue_issuers ({}) ",
                            $crate::storage::sql::ISSUER_STATE_COLUMNS
                        ));
                        upsert.push_values(&chunk, |mut b, s| {
                            b.push_bind(s.org_id.clone())
                                .push_bind(s.org_name.clone())
                                .push_bind(s.issuer_id.clone())
                                .push_bind(s.ok)
                                .push_bind(s.attempts)
                                .push_bind(s.failing_since)
                                .push_bind(s.last_ok_at)
                                .push_bind(s.last_error.clone())
                                .push_bind(s.next_try_at);
                        });
                        upsert.push(
                            " ON CONFLICT (org_id) DO UPDATE SET org_name = excluded.org_name, \
                             issuer_id = excluded.issuer_id, ok = excluded.ok, attempts = excluded.attempts, \
                             failing_since = excluded.failing_since, last_ok_at = excluded.last_ok_at, \
                             last_error = excluded.last_error, next_try_at = excluded.next_try_at",
                        );
                        upsert.build().execute(&mut *conn).await?;
                        Ok(())
                    })).await?;
                }
                for chunk in removed.chunks($crate::storage::sql::CATALOGUE_CHUNK) {
                    let chunk = chunk.to_vec();
                    self.writer.write(Priority::Background, move |conn: &mut $conn| Box::pin(async move {
                        let mut delete = sqlx::QueryBuilder::<$db>::new("DELETE FROM catalogue_issuers WHERE org_id IN (");
                        let mut each = delete.separated(", ");
                        for org_id in &chunk {
                            each.push_bind(org_id.clone());
                        }
                        delete.push(")");
                        delete.build().execute(&mut *conn).await?;
                        Ok(())
                    })).await?;
                }
                Ok(())
            }

            async fn replace_catalogue(&self, rows: &[$crate::storage::CatalogueRow], built_at: i64, health: $crate::storage::CatalogueHealth) -> $crate::storage::StoreResult<$crate::storage::CatalogueMeta> {
                use $crate::storage::writer::Priority;
                // A version number of our own: the new rows stay invisible
                // until the switch, so they go in small background batches
                // that never hold the writer for long.
                let version: i64 = self.writer.write(Priority::Background, move |conn: &mut $conn| Box::pin(async move {
                    let (next,): (i64,) = sqlx::query_as(
                        "UPDATE catalogue_sequence SET next_version = next_version + 1 WHERE id = 1 RETURNING next_version",
                    )
                    .fetch_one(&mut *conn)
                    .await?;
                    Ok(next)
                })).await?;
                for chunk in rows.chunks($crate::storage::sql::CATALOGUE_CHUNK) {
                    let chunk = chunk.to_vec();
                    self.writer.write(Priority::Background, move |conn: &mut $conn| Box::pin(async move {
                        let mut insert = sqlx::QueryBuilder::<$db>::new(format!(
                            "INSERT INTO catalogue (version, {}) ",
                            $crate::storage::sql::CATALOGUE_COLUMNS
                        ));
                        insert.push_values(&chunk, |mut b, row| {
                            b.push_bind(version)
                                .push_bind(row.org_id.clone())
                                .push_bind(row.doc_type.clone())
                                .push_bind(row.org_name.clone())
                                .push_bind(row.description.clone())
                                .push_bind(row.formats.clone())
                                .push_bind(row.parameters.clone())
                                .push_bind(row.issuer_id.clone());
                        });
                        insert.push(" ON CONFLICT DO NOTHING");
                        insert.build().execute(&mut *conn).await?;
                        Ok(())
                    })).await?;
                }
                let meta = $crate::storage::CatalogueMeta {
                    version,
                    built_at,
                    entries: rows.len() as i64,
                    issuers: health.issuers,
                    failing: health.failing,
                    pending: health.pending,
                };
                self.writer.write(Priority::Background, move |conn: &mut $conn| Box::pin(async move {
                    sqlx::query($crate::storage::sql::SET_CURRENT_CATALOGUE)
                        .bind(meta.version)
                        .bind(meta.built_at)
                        .bind(meta.entries)
                        .bind(meta.issuers)
                        .bind(meta.failing)
                        .bind(meta.pending)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query($crate::storage::sql::DROP_OLD_CATALOGUES)
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })).await?;
                Ok(meta)
            }

            async fn load_catalogue(&self) -> $crate::storage::StoreResult<Vec<$crate::storage::CatalogueRow>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM catalogue WHERE version = (SELECT version FROM catalogue_meta WHERE id = 1) \
                     ORDER BY org_id, doc_type",
                    $crate::storage::sql::CATALOGUE_COLUMNS
                )))
                .fetch_all(conn)
                .await))
            }

            async fn find_catalogue_entry(&self, org_id: &str, doc_type: &str) -> $crate::storage::StoreResult<Option<$crate::storage::CatalogueRow>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM catalogue WHERE version = (SELECT version FROM catalogue_meta WHERE id = 1) \
                     AND org_id = $1 AND doc_type = $2",
                    $crate::storage::sql::CATALOGUE_COLUMNS
                )))
                .bind(org_id)
                .bind(doc_type)
                .fetch_optional(conn)
                .await))
            }

            async fn try_lease(&self, name: &str, holder: &str, now: i64, expires_at: i64) -> $crate::storage::StoreResult<bool> {
                let (name, holder) = (name.to_owned(), holder.to_owned());
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    let done = sqlx::query(
                        "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                         WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder",
                    )
                    .bind(&name)
                    .bind(&holder)
                    .bind(expires_at)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    Ok(done.rows_affected() == 1)
                })).await
            }

            async fn release_lease(&self, name: &str, holder: &str) -> $crate::storage::StoreResult<()> {
                let (name, holder) = (name.to_owned(), holder.to_owned());
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                        .bind(&name)
                        .bind(&holder)
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })).await
            }

            async fn claim_mode(&self, mode: &str, now: i64) -> $crate::storage::StoreResult<(String, i64)> {
                let mode = mode.to_owned();
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO gateway_meta (name, value, set_at) VALUES ('mode', $1, $2) \
                         ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(&mode)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    let row: (String, i64) =
                        sqlx::query_as("SELECT value, set_at FROM gateway_meta WHERE name = 'mode'")
                            .fetch_one(&mut *conn)
                            .await?;
                    Ok(row)
                })).await
            }

            async fn key_usage(&self, now: i64) -> $crate::storage::StoreResult<Vec<$crate::storage::KeyUse>> {
                Ok($crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(
                    $crate::storage::sql::KEY_USAGE,
                )
                .bind(now)
                .fetch_all(conn)
                .await))
            }

            async fn sealed_under_other_keys(&self, current: &[u8]) -> $crate::storage::StoreResult<Vec<$crate::storage::SealedValue>> {
                use $crate::storage::SealedKind;
                let mut out = Vec::new();
                for kind in [SealedKind::WebhookSecret, SealedKind::WebhookPreviousSecret, SealedKind::UpstreamRevokeToken] {
                    let (table, key, column) = kind.columns();
                    let sql = format!(
                        "SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL AND substr({column}, 2, 4) <> $1"
                    );
                    let rows: Vec<(String, Vec<u8>)> = $crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                        .bind(current)
                        .fetch_all(conn)
                        .await);
                    out.extend(rows.into_iter().map(|(owner, sealed)| $crate::storage::SealedValue { kind, owner, sealed }));
                }
                Ok(out)
            }

            async fn replace_sealed(&self, value: &$crate::storage::SealedValue, resealed: &[u8]) -> $crate::storage::StoreResult<bool> {
                let (value, resealed) = (value.clone(), resealed.to_vec());
                self.writer.write($crate::storage::writer::Priority::Api, move |conn: &mut $conn| Box::pin(async move {
                    let (table, key, column) = value.kind.columns();
                    let sql = format!("UPDATE {table} SET {column} = $1 WHERE {key} = $2 AND {column} = $3");
                    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(&resealed)
                        .bind(&value.owner)
                        .bind(&value.sealed)
                        .execute(&mut *conn)
                        .await?;
                    Ok(done.rows_affected() == 1)
                })).await
            }

            async fn count_client_live_requests(&self, client_id: &str) -> $crate::storage::StoreResult<i64> {
                let (n,): (i64,) = $crate::storage::read_pool::on_reader!(self, |conn| sqlx::query_as(
                    "SELECT COUNT(*) FROM requests WHERE client_id = $1 AND data_key IS NOT NULL",
                )
                .bind(client_id)
                .fetch_one(conn)
                .await);
                Ok(n)
            }
        }
    };
}

pub(crate) use sql_store;
