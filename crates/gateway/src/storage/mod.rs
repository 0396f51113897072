//! Storage: one trait, [`Store`], implemented once ([`sql::SqlStore`]) for
//! both databases. The statements are ordinary functions, one module per
//! aggregate: clients.rs, requests.rs (with revokes.rs, the DigiLocker
//! revokes queued after one), files.rs, events.rs, webhooks.rs (the
//! deliveries), catalogue.rs, leases.rs and maintenance.rs (sweeping,
//! retention, mode, keys and sealed values). SQL is kept portable; the few
//! places where SQLite and PostgreSQL differ are the [`sql::Dialect`] of
//! each (sqlite.rs, postgres.rs), which also open the store. Each record's
//! columns and `FromRow` are in rows.rs.
//!
//! Every write goes through one [`writer::Writer`] per store: it commits
//! whatever has queued in one transaction (group commit) and answers each
//! caller only after that commit. Every change of a request appends its
//! event (the consent audit trail, and the webhook outbox) in the same
//! transaction as the change itself.

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::RequestStatus;

mod catalogue;
mod clients;
mod events;
mod files;
mod leases;
mod maintenance;
mod migrations;
pub mod postgres;
mod read_pool;
mod requests;
mod revokes;
mod rows;
pub mod sql;
pub mod sqlite;
mod webhooks;
pub mod writer;

pub use postgres::PgStore;
pub use rows::{
    CatalogueMeta, CatalogueRow, ClientRecord, DeliveryRecord, EventRecord, FileRecord,
    IssuerState, KeyUse, LiveFile, RequestRecord, RequestStatusRecord, StepCount, UpstreamRevoke,
    WebhookBacklog, WebhookSettings,
};
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

impl StoreError {
    /// The same error again, for each caller of a batch that failed.
    pub fn duplicate(&self) -> StoreError {
        match self {
            StoreError::Unavailable(e) => {
                StoreError::Unavailable(sqlx::Error::Protocol(e.to_string()))
            }
            StoreError::Failed(e) => StoreError::Failed(sqlx::Error::Protocol(e.to_string())),
        }
    }
}

/// The result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// What a new request is made of.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub id: String,
    pub client_id: String,
    pub redirect_url: String,
    pub doc_types: String,
    /// [`crate::crypto::state_key`] of the journey's `state`.
    pub state_hash: Vec<u8>,
    /// The request's data key, sealed with the master key.
    pub data_key: Vec<u8>,
    /// Sealed (data key) [`crate::sealed::JourneySecrets`].
    pub journey_secrets: Vec<u8>,
    pub idempotency_key: Option<String>,
    pub idempotency_fingerprint: Option<Vec<u8>>,
    pub created_at: i64,
    pub valid_upto: i64,
    /// The trace id of the call that created it, kept in its `created`
    /// event (empty: none).
    pub trace_id: String,
}

impl TryFrom<String> for RequestStatus {
    type Error = String;
    fn try_from(stored: String) -> Result<Self, Self::Error> {
        RequestStatus::parse(&stored).ok_or_else(|| format!("unknown request status {stored:?}"))
    }
}

/// What happened to a request. Events carry ids, kinds, doc types and codes,
/// never personal data; they outlive the request for their own retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The business created the request.
    Created,
    /// The user opened the journey link.
    JourneyStarted,
    /// The user consented; `docTypes` they agreed to share.
    ConsentGiven,
    /// The user denied, or failed to sign in; `errCode`.
    ConsentDenied,
    /// The journey failed on DigiLocker's or our side; `errCode`.
    JourneyFailed,
    /// A document was fetched: `docType`, `orgId`, `format`.
    DocumentFetched,
    /// The e-Aadhaar was fetched and verified.
    AadhaarFetched,
    /// Access was revoked and the request's data erased; `upstream`
    /// `pending` (DigiLocker's revoke is queued) or `not_needed`.
    Revoked,
    /// DigiLocker's side of a revoke is done: `outcome` `revoked` (it
    /// accepted the revoke) or `token_expired` (the token died by itself
    /// before DigiLocker answered), `attempts`.
    UpstreamRevoked,
    /// Everything of the request was erased; `reason` `expired` or
    /// `client_disabled`.
    Erased,
    /// An operator changed a client (not a request's event: its request
    /// id is empty): `action`, `operator` (`cli`, or `console:` and the
    /// console session's id).
    OperatorAction,
}

impl EventKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::JourneyStarted => "journey_started",
            EventKind::ConsentGiven => "consent_given",
            EventKind::ConsentDenied => "consent_denied",
            EventKind::JourneyFailed => "journey_failed",
            EventKind::DocumentFetched => "document_fetched",
            EventKind::AadhaarFetched => "aadhaar_fetched",
            EventKind::Revoked => "revoked",
            EventKind::UpstreamRevoked => "upstream_revoked",
            EventKind::Erased => "erased",
            EventKind::OperatorAction => "operator_action",
        }
    }

    /// Whether a client's webhook hears of this kind.
    pub fn is_announced(self) -> bool {
        matches!(
            self,
            EventKind::ConsentGiven
                | EventKind::ConsentDenied
                | EventKind::JourneyFailed
                | EventKind::Revoked
                | EventKind::UpstreamRevoked
                | EventKind::Erased
        )
    }
}

/// An event to append, with the change it reports.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// `evt_` + 32 hex; the `webhook-id` of its deliveries.
    pub id: String,
    pub kind: EventKind,
    /// JSON object, no personal data.
    pub detail: serde_json::Value,
    pub at: i64,
}

impl NewEvent {
    /// A fresh event of `kind` at `at`. Made during a call, its detail
    /// carries the call's `traceId` (the operator console finds a request
    /// by the trace id a business quotes).
    pub fn new(kind: EventKind, mut detail: serde_json::Value, at: i64) -> NewEvent {
        let trace_id = crate::trace_id::current_trace_id();
        if let (false, Some(fields)) = (trace_id.is_empty(), detail.as_object_mut()) {
            fields.insert("traceId".into(), trace_id.into());
        }
        NewEvent {
            id: new_event_id(),
            kind,
            detail,
            at,
        }
    }
}

/// A fresh event id, time-ordered (UUID v7) so that appending events
/// appends to the end of the id's index.
pub fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::now_v7().simple())
}

/// A delivery due now, with what sending it needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub delivery: DeliveryRecord,
    pub event: EventRecord,
    pub webhook: WebhookSettings,
}

/// How a delivery attempt went.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    Delivered {
        status: i64,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        status: Option<i64>,
        error: String,
        next_attempt_at: i64,
    },
    /// Out of attempts.
    Failed {
        status: Option<i64>,
        error: String,
    },
}

/// What one sweep step erased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepStep {
    /// Expired requests erased (and logged as `erased` events).
    pub requests: Vec<String>,
    /// How long the step's statements took on the writer's connection (not
    /// counting its wait in the writer's queue), to size the next step.
    pub took: std::time::Duration,
}

/// How complete a catalogue about to be stored is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatalogueHealth {
    pub issuers: i64,
    pub failing: i64,
    pub pending: i64,
}

/// A revoke to make upstream after the local erasure.
#[derive(Debug, Clone)]
pub struct NewUpstreamRevoke {
    /// The DigiLocker token ([`crate::sealed::StoredToken`]) sealed with the
    /// master key (the request's data key is gone with the erasure).
    pub token_sealed: Vec<u8>,
    /// After this the token is dead anyway: stop trying.
    pub expires_at: i64,
    pub created_at: i64,
}

/// How an upstream revoke attempt went.
#[derive(Debug, Clone)]
pub enum UpstreamRevokeOutcome {
    /// Done (DigiLocker accepted it, or the token is dead anyway): the row
    /// goes and `event` is appended.
    Done(NewEvent),
    /// Try again at `next_attempt_at`.
    Retry { error: String, next_attempt_at: i64 },
}

/// A long-lived value sealed with a master key, which a start re-seals
/// under the current key (requests are not: they end within their lifetime).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    pub kind: SealedKind,
    /// The client id (webhook secrets) or request id (queued revokes).
    pub owner: String,
    pub sealed: Vec<u8>,
}

/// Which column a [`SealedValue`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedKind {
    WebhookSecret,
    WebhookPreviousSecret,
    UpstreamRevokeToken,
}

impl SealedKind {
    /// Its table, key column and sealed column.
    pub(crate) fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            SealedKind::WebhookSecret => ("clients", "client_id", "webhook_secret"),
            SealedKind::WebhookPreviousSecret => {
                ("clients", "client_id", "webhook_previous_secret")
            }
            SealedKind::UpstreamRevokeToken => ("upstream_revokes", "request_id", "token_sealed"),
        }
    }
}

/// Everything the gateway keeps. Every write is one transaction (shared
/// with other writes that queued at the same time); a method that changes a
/// request appends its event in that same transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The backend's name, for logs and `/readyz`.
    fn backend(&self) -> &'static str;
    /// Whether erasure goes through the instance's one writer (SQLite: its
    /// steps wait for and hold up the API's writes) rather than beside it
    /// (PostgreSQL).
    fn erases_through_writer(&self) -> bool;
    /// Whether this instance's API wrote to the database within the last
    /// few milliseconds: work done beside the writer (the sweeper on
    /// PostgreSQL) paces itself while it is.
    fn api_busy(&self) -> bool;
    /// Is the database reachable?
    async fn ping(&self) -> StoreResult<()>;

    async fn insert_client(&self, client: &ClientRecord) -> StoreResult<()>;
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>>;
    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>>;
    /// A number that changes whenever any client changes (secret, state,
    /// webhook): caches of clients compare it to know when to drop.
    async fn client_generation(&self) -> StoreResult<i64>;
    /// Returns false when no such client. Disabling also ends the client's
    /// journeys in progress, kills its file links and erases its requests'
    /// data (their data keys), each with an `erased` event, then compacts.
    async fn set_client_disabled(
        &self,
        client_id: &str,
        disabled: bool,
        now: i64,
    ) -> StoreResult<bool>;
    /// Returns false when no such client.
    async fn set_client_secret_hash(&self, client_id: &str, hash: &[u8]) -> StoreResult<bool>;
    /// Returns false when no such client.
    async fn set_client_webhook(
        &self,
        client_id: &str,
        webhook: &WebhookSettings,
    ) -> StoreResult<bool>;

    /// Insert a request (and its `created` event); false (and nothing
    /// written) when the client already has a request with its idempotency key.
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
    /// What `/status` shows of a live request of this client.
    async fn get_request_status(
        &self,
        client_id: &str,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<RequestStatusRecord>>;
    /// A live request by id alone (the journey's start link).
    async fn get_live_request(&self, id: &str, now: i64) -> StoreResult<Option<RequestRecord>>;
    /// The request a client created with this idempotency key, if live.
    async fn find_idempotent(
        &self,
        client_id: &str,
        key: &str,
        now: i64,
    ) -> StoreResult<Option<RequestRecord>>;
    /// Atomically mark the callback of the live request with this state
    /// ([`crate::crypto::state_key`]) as used and return it; `None` when
    /// unknown, expired or already used.
    async fn claim_callback(
        &self,
        state_key: &[u8],
        now: i64,
    ) -> StoreResult<Option<RequestRecord>>;
    /// Append an event of a live request that changes no row of its own
    /// (the journey started, the e-Aadhaar was fetched).
    async fn record_event(
        &self,
        request_id: &str,
        client_id: &str,
        event: &NewEvent,
    ) -> StoreResult<()>;
    async fn set_authenticated(
        &self,
        id: &str,
        token: &[u8],
        user_details: &[u8],
        scope_sealed: &[u8],
        event: &NewEvent,
    ) -> StoreResult<()>;
    async fn set_consent_failed(
        &self,
        id: &str,
        code: &str,
        message: &str,
        event: &NewEvent,
    ) -> StoreResult<()>;
    async fn update_token(&self, id: &str, token: &[u8]) -> StoreResult<()>;
    /// Status `revoked`; tokens, details, scope and journey secrets erased;
    /// file links still live at `event.at` kept until their own expiry (the
    /// data key with them: [`Store::sweep_links`] erases it with the last
    /// one), the rest erased with the data key at once; a `revoked` event;
    /// the upstream revoke queued when given, in the same transaction; then
    /// compacts. False when the request was not authenticated (nothing
    /// changed).
    async fn revoke(
        &self,
        id: &str,
        event: &NewEvent,
        upstream: Option<&NewUpstreamRevoke>,
    ) -> StoreResult<bool>;
    /// Claim up to `limit` upstream revokes due at `now` (only `request_id`'s
    /// when given) for `lease` seconds.
    async fn claim_upstream_revokes(
        &self,
        now: i64,
        lease: i64,
        limit: i64,
        request_id: Option<&str>,
    ) -> StoreResult<Vec<UpstreamRevoke>>;
    /// Record an upstream revoke attempt (and release the claim).
    async fn finish_upstream_revoke(
        &self,
        request_id: &str,
        outcome: &UpstreamRevokeOutcome,
    ) -> StoreResult<()>;
    /// Upstream revokes still waiting, oldest first.
    async fn list_upstream_revokes(&self, limit: i64) -> StoreResult<Vec<UpstreamRevoke>>;
    /// How many upstream revokes are still waiting.
    async fn count_upstream_revokes(&self) -> StoreResult<i64>;
    /// The webhook backlog: deliveries not yet delivered nor failed for good.
    async fn webhook_backlog(&self) -> StoreResult<WebhookBacklog>;

    /// Store a file (and its `document_fetched` event).
    async fn insert_file(&self, file: &FileRecord, event: &NewEvent) -> StoreResult<()>;
    /// A live file with its request's sealed data key: its link and its
    /// request both unexpired.
    async fn get_file(&self, token_hash: &[u8], now: i64) -> StoreResult<Option<LiveFile>>;

    /// Erase up to `limit` requests past `valid_upto` (data key, tokens,
    /// details, files, with an `erased` event each). Safe to run on several
    /// instances at once: each request is erased, and logged, once.
    async fn sweep_step(&self, now: i64, limit: i64) -> StoreResult<SweepStep>;
    /// Delete up to `limit` expired file links, and the data keys of
    /// revoked requests whose last link is gone; how many of both.
    async fn sweep_links(&self, now: i64, limit: i64) -> StoreResult<u64>;
    /// Delete up to `limit` events (and their deliveries) older than `before`.
    async fn purge_events(&self, before: i64, limit: i64) -> StoreResult<u64>;
    /// After erasing: make the database files hold no copy of what was
    /// erased (SQLite: truncate the WAL; PostgreSQL: mark `requests` for
    /// [`Store::rewrite_erased`]). Best effort.
    async fn compact(&self) -> StoreResult<()>;
    /// Where the database keeps old row versions in its table files
    /// (PostgreSQL), rewrite the tables marked since an erasure or an
    /// upgrade (`rewrites_due`), so no erased data key stays in their
    /// pages; at most once per `every` seconds across instances. The
    /// tables rewritten (none on SQLite, where erasure overwrites at once).
    async fn rewrite_erased(&self, now: i64, every: i64) -> StoreResult<Vec<String>>;
    /// How many times this request was erased (0 or 1), from the events.
    async fn erasure_count(&self, request_id: &str) -> StoreResult<i64>;
    /// A request's events, oldest first.
    async fn request_events(&self, request_id: &str) -> StoreResult<Vec<EventRecord>>;
    /// A client's events at or after `since`, oldest first, after `after_seq`.
    async fn client_events(
        &self,
        client_id: &str,
        since: i64,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>>;

    /// Claim up to `limit` deliveries due at `now` for `lease` seconds, so
    /// no other instance sends them meanwhile: clients in turn (each
    /// client's first due delivery, then each one's second, …), at most
    /// `per_client` for a client less what it has `in_flight` already.
    async fn claim_deliveries(
        &self,
        now: i64,
        lease: i64,
        limit: i64,
        per_client: i64,
        in_flight: &std::collections::HashMap<String, i64>,
    ) -> StoreResult<Vec<DueDelivery>>;
    /// Record an attempt's outcome (and release the claim).
    async fn finish_delivery(
        &self,
        event_id: &str,
        outcome: &AttemptOutcome,
        now: i64,
    ) -> StoreResult<()>;
    /// A client's most recent deliveries, newest first.
    async fn list_deliveries(
        &self,
        client_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>>;
    /// Send an event again (its client must have a webhook); false when no
    /// such event or no webhook.
    async fn redeliver(&self, event_id: &str, now: i64) -> StoreResult<bool>;
    /// One event by its id (`webhook deliveries` names each delivery's event).
    async fn get_event(&self, event_id: &str) -> StoreResult<Option<EventRecord>>;

    async fn catalogue_meta(&self) -> StoreResult<Option<CatalogueMeta>>;
    /// Store a new catalogue and make it current; returns the new meta.
    async fn replace_catalogue(
        &self,
        rows: &[CatalogueRow],
        built_at: i64,
        health: CatalogueHealth,
    ) -> StoreResult<CatalogueMeta>;
    /// Every issuer's catalogue state.
    async fn catalogue_issuers(&self) -> StoreResult<Vec<IssuerState>>;
    /// Insert or update these issuers' states; forget the `removed` ones.
    async fn save_catalogue_issuers(
        &self,
        states: &[IssuerState],
        removed: &[String],
    ) -> StoreResult<()>;
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

    /// The mode this database serves (that of its first start with a mode),
    /// recording `mode` at `now` when it has none: the recorded mode and
    /// when it was recorded.
    async fn claim_mode(&self, mode: &str, now: i64) -> StoreResult<(String, i64)>;
    /// Every master key still needed at `now`, by what needs it.
    async fn key_usage(&self, now: i64) -> StoreResult<Vec<KeyUse>>;
    /// The long-lived sealed values (webhook secrets, queued revokes'
    /// tokens) not sealed with the key whose id is `current`.
    async fn sealed_under_other_keys(&self, current: &[u8]) -> StoreResult<Vec<SealedValue>>;
    /// Replace `value` by `resealed` unless it changed meanwhile; whether it
    /// was replaced.
    async fn replace_sealed(&self, value: &SealedValue, resealed: &[u8]) -> StoreResult<bool>;
    /// How many of a client's requests hold data (what disabling it erases).
    async fn count_client_live_requests(&self, client_id: &str) -> StoreResult<i64>;

    /// How many requests of each client reached each step (by their
    /// events) at or after `since`. Scans the events since then: for the
    /// operator console, not for the API.
    async fn step_counts(&self, since: i64) -> StoreResult<Vec<StepCount>>;
    /// The newest `limit` events whose detail contains `text` as it is
    /// (scans the events: for the operator console's look-up).
    async fn events_mentioning(&self, text: &str, limit: i64) -> StoreResult<Vec<EventRecord>>;
    /// The webhook deliveries of a request's events, oldest first.
    async fn request_deliveries(&self, request_id: &str) -> StoreResult<Vec<DeliveryRecord>>;
    /// Pending webhook deliveries per client (clients with none left out).
    async fn pending_deliveries_by_client(&self) -> StoreResult<Vec<(String, i64)>>;
}
