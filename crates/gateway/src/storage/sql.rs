//! The statements both backends share. `sql_store!` implements `Store` for a
//! store type holding `pool: sqlx::Pool<DB>`; the caller supplies the methods
//! whose SQL differs (`backend`, `sweep_expired`, `replace_catalogue`).
//! Placeholders are `$1`, `$2`… which SQLite and PostgreSQL both accept.

/// Columns of `RequestRecord`, in one place.
pub(crate) const REQUEST_COLUMNS: &str =
    "id, client_id, status, redirect_url, doc_types, journey_secrets, \
     callback_used, consent_error_code, consent_error_message, token, user_details, scope, \
     idempotency_key, idempotency_fingerprint, created_at, valid_upto";

pub(crate) const CATALOGUE_COLUMNS: &str =
    "org_id, doc_type, org_name, description, formats, parameters, issuer_id";

/// Make catalogue version `$1` (built at `$2`, `$3` entries) the current one.
pub(crate) const SET_CURRENT_CATALOGUE: &str =
    "INSERT INTO catalogue_meta (id, version, built_at, entries) VALUES (1, $1, $2, $3) \
     ON CONFLICT (id) DO UPDATE SET version = excluded.version, built_at = excluded.built_at, entries = excluded.entries";

/// Remove catalogue versions older than `$1`.
pub(crate) const DROP_OLD_CATALOGUES: &str = "DELETE FROM catalogue WHERE version < $1";

macro_rules! sql_store {
    ($store:ty, { $($specific:tt)* }) => {
        #[async_trait::async_trait]
        impl $crate::storage::Store for $store {
            $($specific)*

            async fn ping(&self) -> $crate::storage::StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(Into::into)
            }

            async fn insert_client(&self, c: &$crate::storage::ClientRecord) -> $crate::storage::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO clients (client_id, secret_hash, product_instance_id, name, allowed_origins, disabled, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&c.client_id)
                .bind(&c.secret_hash)
                .bind(&c.product_instance_id)
                .bind(&c.name)
                .bind(&c.allowed_origins)
                .bind(c.disabled)
                .bind(c.created_at)
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(Into::into)
            }

            async fn get_client(&self, client_id: &str) -> $crate::storage::StoreResult<Option<$crate::storage::ClientRecord>> {
                sqlx::query_as("SELECT * FROM clients WHERE client_id = $1")
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await
            .map_err(Into::into)
            }

            async fn list_clients(&self) -> $crate::storage::StoreResult<Vec<$crate::storage::ClientRecord>> {
                sqlx::query_as("SELECT * FROM clients ORDER BY created_at, client_id")
                    .fetch_all(&self.pool)
                    .await
            .map_err(Into::into)
            }

            async fn set_client_disabled(&self, client_id: &str, disabled: bool) -> $crate::storage::StoreResult<bool> {
                let done = sqlx::query("UPDATE clients SET disabled = $1 WHERE client_id = $2")
                    .bind(i64::from(disabled))
                    .bind(client_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_client_secret_hash(&self, client_id: &str, hash: &[u8]) -> $crate::storage::StoreResult<bool> {
                let done = sqlx::query("UPDATE clients SET secret_hash = $1 WHERE client_id = $2")
                    .bind(hash)
                    .bind(client_id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_request(&self, r: &$crate::storage::NewRequest) -> $crate::storage::StoreResult<bool> {
                // A duplicate idempotency key is an answer, not an error
                // (an error would abort a PostgreSQL transaction).
                let done = sqlx::query(
                    "INSERT INTO requests (id, client_id, status, redirect_url, doc_types, state_hash, journey_secrets, \
                     idempotency_key, idempotency_fingerprint, created_at, valid_upto) \
                     VALUES ($1, $2, 'unauthenticated', $3, $4, $5, $6, $7, $8, $9, $10) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&r.id)
                .bind(&r.client_id)
                .bind(&r.redirect_url)
                .bind(&r.doc_types)
                .bind(&r.state_hash)
                .bind(&r.journey_secrets)
                .bind(&r.idempotency_key)
                .bind(&r.idempotency_fingerprint)
                .bind(r.created_at)
                .bind(r.valid_upto)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn release_expired_idempotency_key(&self, client_id: &str, key: &str, now: i64) -> $crate::storage::StoreResult<()> {
                sqlx::query(
                    "UPDATE requests SET idempotency_key = NULL \
                     WHERE client_id = $1 AND idempotency_key = $2 AND valid_upto <= $3",
                )
                .bind(client_id)
                .bind(key)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn get_request(&self, client_id: &str, id: &str, now: i64) -> $crate::storage::StoreResult<Option<$crate::storage::RequestRecord>> {
                sqlx::query_as(&format!(
                    "SELECT {} FROM requests WHERE id = $1 AND client_id = $2 AND valid_upto > $3",
                    $crate::storage::sql::REQUEST_COLUMNS
                ))
                .bind(id)
                .bind(client_id)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
            .map_err(Into::into)
            }

            async fn get_live_request(&self, id: &str, now: i64) -> $crate::storage::StoreResult<Option<$crate::storage::RequestRecord>> {
                sqlx::query_as(&format!(
                    "SELECT {} FROM requests WHERE id = $1 AND valid_upto > $2",
                    $crate::storage::sql::REQUEST_COLUMNS
                ))
                .bind(id)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
            .map_err(Into::into)
            }

            async fn find_idempotent(&self, client_id: &str, key: &str, now: i64) -> $crate::storage::StoreResult<Option<$crate::storage::RequestRecord>> {
                sqlx::query_as(&format!(
                    "SELECT {} FROM requests WHERE client_id = $1 AND idempotency_key = $2 AND valid_upto > $3",
                    $crate::storage::sql::REQUEST_COLUMNS
                ))
                .bind(client_id)
                .bind(key)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
            .map_err(Into::into)
            }

            async fn claim_callback(&self, state_hash: &[u8], now: i64) -> $crate::storage::StoreResult<Option<$crate::storage::RequestRecord>> {
                sqlx::query_as(&format!(
                    "UPDATE requests SET callback_used = 1 \
                     WHERE state_hash = $1 AND callback_used = 0 AND valid_upto > $2 AND status = 'unauthenticated' \
                     RETURNING {}",
                    $crate::storage::sql::REQUEST_COLUMNS
                ))
                .bind(state_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
            .map_err(Into::into)
            }

            async fn set_authenticated(&self, id: &str, token: &[u8], user_details: &[u8], scope: &str) -> $crate::storage::StoreResult<()> {
                sqlx::query(
                    "UPDATE requests SET status = 'authenticated', token = $1, user_details = $2, scope = $3 \
                     WHERE id = $4 AND status = 'unauthenticated'",
                )
                .bind(token)
                .bind(user_details)
                .bind(scope)
                .bind(id)
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(Into::into)
            }

            async fn set_consent_failed(&self, id: &str, code: &str, message: &str) -> $crate::storage::StoreResult<()> {
                sqlx::query(
                    "UPDATE requests SET consent_error_code = $1, consent_error_message = $2 \
                     WHERE id = $3 AND status = 'unauthenticated'",
                )
                .bind(code)
                .bind(message)
                .bind(id)
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(Into::into)
            }

            async fn update_token(&self, id: &str, token: &[u8]) -> $crate::storage::StoreResult<()> {
                sqlx::query("UPDATE requests SET token = $1 WHERE id = $2 AND status = 'authenticated'")
                    .bind(token)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
                    .map_err(Into::into)
            }

            async fn set_revoked(&self, id: &str) -> $crate::storage::StoreResult<()> {
                sqlx::query("UPDATE requests SET status = 'revoked', token = NULL WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
                    .map_err(Into::into)
            }

            async fn insert_file(&self, f: &$crate::storage::FileRecord) -> $crate::storage::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO files (token_hash, request_id, client_id, content_type, filename, data, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&f.token_hash)
                .bind(&f.request_id)
                .bind(&f.client_id)
                .bind(&f.content_type)
                .bind(&f.filename)
                .bind(&f.data)
                .bind(f.expires_at)
                .execute(&self.pool)
                .await
                .map(|_| ())
                .map_err(Into::into)
            }

            async fn get_file(&self, token_hash: &[u8], now: i64) -> $crate::storage::StoreResult<Option<$crate::storage::FileRecord>> {
                sqlx::query_as(
                    "SELECT f.token_hash, f.request_id, f.client_id, f.content_type, f.filename, f.data, f.expires_at \
                     FROM files f JOIN requests r ON r.id = f.request_id \
                     WHERE f.token_hash = $1 AND f.expires_at > $2 AND r.valid_upto > $2",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await
            .map_err(Into::into)
            }

            async fn erasure_count(&self, request_id: &str) -> $crate::storage::StoreResult<i64> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM erasures WHERE request_id = $1")
                    .bind(request_id)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n)
            }

            async fn catalogue_meta(&self) -> $crate::storage::StoreResult<Option<$crate::storage::CatalogueMeta>> {
                sqlx::query_as("SELECT version, built_at, entries FROM catalogue_meta WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await
            .map_err(Into::into)
            }

            async fn load_catalogue(&self) -> $crate::storage::StoreResult<Vec<$crate::storage::CatalogueRow>> {
                sqlx::query_as(&format!(
                    "SELECT {} FROM catalogue WHERE version = (SELECT version FROM catalogue_meta WHERE id = 1) \
                     ORDER BY org_id, doc_type",
                    $crate::storage::sql::CATALOGUE_COLUMNS
                ))
                .fetch_all(&self.pool)
                .await
            .map_err(Into::into)
            }

            async fn find_catalogue_entry(&self, org_id: &str, doc_type: &str) -> $crate::storage::StoreResult<Option<$crate::storage::CatalogueRow>> {
                sqlx::query_as(&format!(
                    "SELECT {} FROM catalogue WHERE version = (SELECT version FROM catalogue_meta WHERE id = 1) \
                     AND org_id = $1 AND doc_type = $2",
                    $crate::storage::sql::CATALOGUE_COLUMNS
                ))
                .bind(org_id)
                .bind(doc_type)
                .fetch_optional(&self.pool)
                .await
            .map_err(Into::into)
            }

            async fn try_lease(&self, name: &str, holder: &str, now: i64, expires_at: i64) -> $crate::storage::StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                     WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder",
                )
                .bind(name)
                .bind(holder)
                .bind(expires_at)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn release_lease(&self, name: &str, holder: &str) -> $crate::storage::StoreResult<()> {
                sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                    .bind(name)
                    .bind(holder)
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
                    .map_err(Into::into)
            }
        }
    };
}

pub(crate) use sql_store;
