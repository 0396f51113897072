//! Storage: one trait, one implementation per database. SQL is kept portable
//! (the same statements serve SQLite and PostgreSQL through `sql_store!`);
//! the few places where the databases differ are per-backend methods.

use async_trait::async_trait;

use crate::domain::RequestStatus;

pub mod postgres;
mod sql;
pub mod sqlite;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Open a PostgreSQL store behind the trait.
pub async fn open_postgres(url: &str) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    Ok(std::sync::Arc::new(PgStore::open(url).await?))
}

/// Why a storage call failed. Handlers never see the database's own error
/// type: only whether retrying later may help.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database is unreachable or overloaded right now (no connection
    /// in time, I/O failure, SQLite busy): retrying later may succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Anything else: a failed statement or an unreadable row.
    #[error("a database operation failed: {0}")]
    Failed(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let transient = match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => true,
            // SQLite's SQLITE_BUSY (5) and SQLITE_LOCKED (6), PostgreSQL's
            // "too many connections" (53300) and shutdown classes (57P).
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|c| matches!(c.as_ref(), "5" | "6" | "53300" | "57P01" | "57P03")),
            _ => false,
        };
        if transient {
            StoreError::Unavailable(e)
        } else {
            StoreError::Failed(e)
        }
    }
}

/// The result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// A client (business) of the gateway.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientRecord {
    pub client_id: String,
    pub secret_hash: Vec<u8>,
    pub product_instance_id: String,
    pub name: String,
    /// Space-separated origins (`https://example.com`) the client's
    /// `redirectUrl`s must use; empty allows any.
    pub allowed_origins: String,
    pub disabled: i64,
    pub created_at: i64,
}

/// A stored consent request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestRecord {
    pub id: String,
    pub client_id: String,
    #[sqlx(try_from = "String")]
    pub status: RequestStatus,
    pub redirect_url: String,
    pub doc_types: String,
    /// Sealed [`crate::sealed::JourneySecrets`].
    pub journey_secrets: Vec<u8>,
    pub callback_used: i64,
    pub consent_error_code: Option<String>,
    pub consent_error_message: Option<String>,
    pub token: Option<Vec<u8>>,
    pub user_details: Option<Vec<u8>>,
    pub scope: Option<String>,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the canonical body of the create call that carried the key.
    pub idempotency_fingerprint: Option<Vec<u8>>,
    pub created_at: i64,
    pub valid_upto: i64,
}

/// What a new request is made of.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub id: String,
    pub client_id: String,
    pub redirect_url: String,
    pub doc_types: String,
    pub state_hash: Vec<u8>,
    /// Sealed [`crate::sealed::JourneySecrets`].
    pub journey_secrets: Vec<u8>,
    pub idempotency_key: Option<String>,
    pub idempotency_fingerprint: Option<Vec<u8>>,
    pub created_at: i64,
    pub valid_upto: i64,
}

impl TryFrom<String> for RequestStatus {
    type Error = String;
    fn try_from(stored: String) -> Result<Self, Self::Error> {
        RequestStatus::parse(&stored).ok_or_else(|| format!("unknown request status {stored:?}"))
    }
}

/// A stored file.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileRecord {
    pub token_hash: Vec<u8>,
    pub request_id: String,
    pub client_id: String,
    pub content_type: String,
    pub filename: String,
    pub data: Vec<u8>,
    pub expires_at: i64,
}

/// One (issuer, doc type) of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CatalogueRow {
    /// The issuer's id in document URIs (`in.gov.pan`); may be empty.
    pub issuer_id: String,
    pub org_id: String,
    pub doc_type: String,
    pub org_name: String,
    pub description: String,
    /// JSON array of formats.
    pub formats: String,
    /// JSON array of `{name, description}`.
    pub parameters: String,
}

/// Which catalogue is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct CatalogueMeta {
    pub version: i64,
    pub built_at: i64,
    pub entries: i64,
}

/// Everything the gateway keeps. Every method is one short transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The backend's name, for logs and `/readyz`.
    fn backend(&self) -> &'static str;
    /// Is the database reachable?
    async fn ping(&self) -> StoreResult<()>;

    async fn insert_client(&self, client: &ClientRecord) -> StoreResult<()>;
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>>;
    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>>;
    /// Returns false when no such client.
    async fn set_client_disabled(&self, client_id: &str, disabled: bool) -> StoreResult<bool>;
    /// Returns false when no such client.
    async fn set_client_secret_hash(&self, client_id: &str, hash: &[u8]) -> StoreResult<bool>;

    /// Insert a request; false (and nothing written) when the client
    /// already has a request with its idempotency key.
    async fn insert_request(&self, request: &NewRequest) -> StoreResult<bool>;
    /// Free an idempotency key held by an expired (not yet erased) request
    /// of this client, so the key can start afresh.
    async fn release_expired_idempotency_key(
        &self,
        client_id: &str,
        key: &str,
        now: i64,
    ) -> StoreResult<()>;
    /// A live (unexpired) request of this client.
    async fn get_request(
        &self,
        client_id: &str,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<RequestRecord>>;
    /// A live request by id alone (the journey's start link).
    async fn get_live_request(&self, id: &str, now: i64) -> StoreResult<Option<RequestRecord>>;
    /// The request a client created with this idempotency key, if live.
    async fn find_idempotent(
        &self,
        client_id: &str,
        key: &str,
        now: i64,
    ) -> StoreResult<Option<RequestRecord>>;
    /// Atomically mark the callback of the live request with this state as
    /// used and return it; `None` when unknown, expired or already used.
    async fn claim_callback(
        &self,
        state_hash: &[u8],
        now: i64,
    ) -> StoreResult<Option<RequestRecord>>;
    async fn set_authenticated(
        &self,
        id: &str,
        token: &[u8],
        user_details: &[u8],
        scope: &str,
    ) -> StoreResult<()>;
    async fn set_consent_failed(&self, id: &str, code: &str, message: &str) -> StoreResult<()>;
    async fn update_token(&self, id: &str, token: &[u8]) -> StoreResult<()>;
    /// Status `revoked`, tokens erased.
    async fn set_revoked(&self, id: &str) -> StoreResult<()>;

    async fn insert_file(&self, file: &FileRecord) -> StoreResult<()>;
    /// A live file: its link and its request both unexpired.
    async fn get_file(&self, token_hash: &[u8], now: i64) -> StoreResult<Option<FileRecord>>;

    /// Erase every request past `valid_upto` (tokens, details, files) and
    /// expired file links; returns the erased request ids. Safe to run on
    /// several instances at once: each request is erased, and logged, once.
    async fn sweep_expired(&self, now: i64, instance: &str) -> StoreResult<Vec<String>>;
    /// How many times this request was erased (0 or 1), from the erasure log.
    async fn erasure_count(&self, request_id: &str) -> StoreResult<i64>;

    async fn catalogue_meta(&self) -> StoreResult<Option<CatalogueMeta>>;
    /// Store a new catalogue and make it current; returns the new meta.
    async fn replace_catalogue(
        &self,
        rows: &[CatalogueRow],
        built_at: i64,
    ) -> StoreResult<CatalogueMeta>;
    async fn load_catalogue(&self) -> StoreResult<Vec<CatalogueRow>>;
    async fn find_catalogue_entry(
        &self,
        org_id: &str,
        doc_type: &str,
    ) -> StoreResult<Option<CatalogueRow>>;

    /// Take (or renew) the named lease until `expires_at` unless another
    /// holder has it unexpired. True when `holder` now has it.
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<bool>;
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;
}
