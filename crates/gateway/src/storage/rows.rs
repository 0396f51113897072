//! The records storage reads, each in one place: the struct, its columns
//! and its `FromRow` (what `#[derive(sqlx::FromRow)]` generates, written
//! out so the gateway builds without sqlx's proc-macro crate, see
//! build.rs). A new column touches its migration, its record here, and the
//! statements that use it. A record's fields are columns of the same
//! names, of the types both databases decode (`String`, `Vec<u8>`, `i64`,
//! their `Option`s); `status` is read as text and parsed.

use sqlx::FromRow;

use super::sql::{Col, Columns};

use crate::domain::RequestStatus;

/// A stored status, as `#[sqlx(try_from = "String")]` read it.
fn status(stored: String, column: &str) -> Result<RequestStatus, sqlx::Error> {
    RequestStatus::try_from(stored).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: e.into(),
    })
}

/// A client (business) of the gateway.
#[derive(Debug, Clone, Default)]
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
    /// Where events are delivered; `None`: no webhook.
    pub webhook_url: Option<String>,
    /// The signing secret, sealed with the master key.
    pub webhook_secret: Option<Vec<u8>>,
    /// The secret before the last rotation, sealed; it keeps signing
    /// alongside the new one until `webhook_previous_until`.
    pub webhook_previous_secret: Option<Vec<u8>>,
    pub webhook_previous_until: Option<i64>,
}

pub(crate) const CLIENT_COLUMNS: &str =
    "client_id, secret_hash, product_instance_id, name, allowed_origins, disabled, created_at, \
     webhook_url, webhook_secret, webhook_previous_secret, webhook_previous_until";

impl<'r, R: Columns> FromRow<'r, R> for ClientRecord {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(ClientRecord {
            client_id: row.col("client_id")?,
            secret_hash: row.col("secret_hash")?,
            product_instance_id: row.col("product_instance_id")?,
            name: row.col("name")?,
            allowed_origins: row.col("allowed_origins")?,
            disabled: row.col("disabled")?,
            created_at: row.col("created_at")?,
            webhook_url: row.col("webhook_url")?,
            webhook_secret: row.col("webhook_secret")?,
            webhook_previous_secret: row.col("webhook_previous_secret")?,
            webhook_previous_until: row.col("webhook_previous_until")?,
        })
    }
}

/// A stored consent request.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub id: String,
    pub client_id: String,
    pub status: RequestStatus,
    pub redirect_url: String,
    pub doc_types: String,
    /// This request's data key, sealed with the master key; `None` once
    /// the request's data was erased (revoke, a disabled client).
    pub data_key: Option<Vec<u8>>,
    /// Sealed (data key) [`crate::sealed::JourneySecrets`]; empty once erased.
    pub journey_secrets: Vec<u8>,
    pub callback_used: i64,
    pub consent_error_code: Option<String>,
    pub consent_error_message: Option<String>,
    /// Sealed (data key) token.
    pub token: Option<Vec<u8>>,
    /// Sealed (data key) user details.
    pub user_details: Option<Vec<u8>>,
    /// Sealed (data key) scope DigiLocker granted (it lists document URIs).
    pub scope_sealed: Option<Vec<u8>>,
    pub idempotency_key: Option<String>,
    /// SHA-256 of the canonical body of the create call that carried the key.
    pub idempotency_fingerprint: Option<Vec<u8>>,
    pub created_at: i64,
    pub valid_upto: i64,
}

/// Columns of `RequestRecord`, in one place.
pub(crate) const REQUEST_COLUMNS: &str =
    "id, client_id, status, redirect_url, doc_types, data_key, journey_secrets, \
     callback_used, consent_error_code, consent_error_message, token, user_details, scope_sealed, \
     idempotency_key, idempotency_fingerprint, created_at, valid_upto";

impl<'r, R: Columns> FromRow<'r, R> for RequestRecord {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(RequestRecord {
            id: row.col("id")?,
            client_id: row.col("client_id")?,
            status: status(row.col("status")?, "status")?,
            redirect_url: row.col("redirect_url")?,
            doc_types: row.col("doc_types")?,
            data_key: row.col("data_key")?,
            journey_secrets: row.col("journey_secrets")?,
            callback_used: row.col("callback_used")?,
            consent_error_code: row.col("consent_error_code")?,
            consent_error_message: row.col("consent_error_message")?,
            token: row.col("token")?,
            user_details: row.col("user_details")?,
            scope_sealed: row.col("scope_sealed")?,
            idempotency_key: row.col("idempotency_key")?,
            idempotency_fingerprint: row.col("idempotency_fingerprint")?,
            created_at: row.col("created_at")?,
            valid_upto: row.col("valid_upto")?,
        })
    }
}

/// What `/status` shows of a request: the columns it reads, not the whole
/// row (no journey secrets, token or scope to copy out of the database on
/// the busiest read).
#[derive(Debug, Clone)]
pub struct RequestStatusRecord {
    pub id: String,
    pub status: RequestStatus,
    /// As [`RequestRecord::data_key`].
    pub data_key: Option<Vec<u8>>,
    pub consent_error_code: Option<String>,
    pub consent_error_message: Option<String>,
    /// Sealed (data key) user details.
    pub user_details: Option<Vec<u8>>,
    pub valid_upto: i64,
}

/// Columns of `RequestStatusRecord`.
pub(crate) const REQUEST_STATUS_COLUMNS: &str =
    "id, status, data_key, consent_error_code, consent_error_message, user_details, valid_upto";

impl<'r, R: Columns> FromRow<'r, R> for RequestStatusRecord {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(RequestStatusRecord {
            id: row.col("id")?,
            status: status(row.col("status")?, "status")?,
            data_key: row.col("data_key")?,
            consent_error_code: row.col("consent_error_code")?,
            consent_error_message: row.col("consent_error_message")?,
            user_details: row.col("user_details")?,
            valid_upto: row.col("valid_upto")?,
        })
    }
}

/// A stored file.
#[derive(Debug, Clone)]
pub struct FileRecord {
    pub token_hash: Vec<u8>,
    pub request_id: String,
    pub client_id: String,
    pub content_type: String,
    /// Sealed (data key) download name: it can hold a document number.
    pub name_sealed: Vec<u8>,
    /// Sealed (data key) bytes.
    pub data: Vec<u8>,
    pub expires_at: i64,
}

impl<'r, R: Columns> FromRow<'r, R> for FileRecord {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(FileRecord {
            token_hash: row.col("token_hash")?,
            request_id: row.col("request_id")?,
            client_id: row.col("client_id")?,
            content_type: row.col("content_type")?,
            name_sealed: row.col("name_sealed")?,
            data: row.col("data")?,
            expires_at: row.col("expires_at")?,
        })
    }
}

// `#[sqlx(flatten)]`: the file's columns and the request's key in one row.
/// A stored file with its request's sealed data key.
#[derive(Debug, Clone)]
pub struct LiveFile {
    pub file: FileRecord,
    pub data_key: Option<Vec<u8>>,
}

impl<'r, R: Columns> FromRow<'r, R> for LiveFile {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(LiveFile {
            file: FileRecord::from_row(row)?,
            data_key: row.col("data_key")?,
        })
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub seq: i64,
    pub id: String,
    pub request_id: String,
    pub client_id: String,
    pub kind: String,
    /// JSON object.
    pub detail: String,
    pub at: i64,
}

pub(crate) const EVENT_COLUMNS: &str = "seq, id, request_id, client_id, kind, detail, at";

impl<'r, R: Columns> FromRow<'r, R> for EventRecord {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(EventRecord {
            seq: row.col("seq")?,
            id: row.col("id")?,
            request_id: row.col("request_id")?,
            client_id: row.col("client_id")?,
            kind: row.col("kind")?,
            detail: row.col("detail")?,
            at: row.col("at")?,
        })
    }
}

/// How many of a client's requests reached a step since a time (the
/// operator console's funnel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepCount {
    pub client_id: String,
    /// `created`, `consent_given`, `consent_denied`, `journey_failed`,
    /// `fetched` (a document or the e-Aadhaar), `expired` (erased at the
    /// end of its life).
    pub step: String,
    /// Distinct requests.
    pub requests: i64,
}

impl<'r, R: Columns> FromRow<'r, R> for StepCount {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(StepCount {
            client_id: row.col("client_id")?,
            step: row.col("step")?,
            requests: row.col("requests")?,
        })
    }
}

/// One webhook delivery: an announced event on its way to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub event_id: String,
    pub client_id: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

pub(crate) const DELIVERY_COLUMNS: &str =
    "event_id, client_id, state, attempts, next_attempt_at, last_status, last_error, created_at, finished_at";

impl<'r, R: Columns> FromRow<'r, R> for DeliveryRecord {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(DeliveryRecord {
            event_id: row.col("event_id")?,
            client_id: row.col("client_id")?,
            state: row.col("state")?,
            attempts: row.col("attempts")?,
            next_attempt_at: row.col("next_attempt_at")?,
            last_status: row.col("last_status")?,
            last_error: row.col("last_error")?,
            created_at: row.col("created_at")?,
            finished_at: row.col("finished_at")?,
        })
    }
}

/// One (issuer, doc type) of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
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

pub(crate) const CATALOGUE_COLUMNS: &str =
    "org_id, doc_type, org_name, description, formats, parameters, issuer_id";

impl<'r, R: Columns> FromRow<'r, R> for CatalogueRow {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(CatalogueRow {
            issuer_id: row.col("issuer_id")?,
            org_id: row.col("org_id")?,
            doc_type: row.col("doc_type")?,
            org_name: row.col("org_name")?,
            description: row.col("description")?,
            formats: row.col("formats")?,
            parameters: row.col("parameters")?,
        })
    }
}

/// Which catalogue is current, and how complete it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueMeta {
    pub version: i64,
    pub built_at: i64,
    pub entries: i64,
    /// Issuers DigiLocker listed.
    pub issuers: i64,
    /// Issuers whose last answer failed (their entries, if any, are from
    /// their last good answer).
    pub failing: i64,
    /// Issuers not asked yet (a first build still running).
    pub pending: i64,
}

impl CatalogueMeta {
    /// Every listed issuer answered its last call.
    pub fn complete(&self) -> bool {
        self.failing == 0 && self.pending == 0
    }
}

pub(crate) const CATALOGUE_META_COLUMNS: &str =
    "version, built_at, entries, issuers, failing, pending";

impl<'r, R: Columns> FromRow<'r, R> for CatalogueMeta {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(CatalogueMeta {
            version: row.col("version")?,
            built_at: row.col("built_at")?,
            entries: row.col("entries")?,
            issuers: row.col("issuers")?,
            failing: row.col("failing")?,
            pending: row.col("pending")?,
        })
    }
}

/// One issuer's state in the catalogue (org id `''`: the issuer list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerState {
    pub org_id: String,
    pub org_name: String,
    /// As in [`CatalogueRow::issuer_id`].
    pub issuer_id: String,
    /// 1 when its last attempt succeeded.
    pub ok: i64,
    /// Failed attempts in a row.
    pub attempts: i64,
    pub failing_since: Option<i64>,
    pub last_ok_at: Option<i64>,
    /// What DigiLocker answered (status and code, no personal data).
    pub last_error: Option<String>,
    /// When it is asked again (its refresh when ok, its retry when failing).
    pub next_try_at: i64,
}

pub(crate) const ISSUER_STATE_COLUMNS: &str =
    "org_id, org_name, issuer_id, ok, attempts, failing_since, last_ok_at, last_error, next_try_at";

impl<'r, R: Columns> FromRow<'r, R> for IssuerState {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(IssuerState {
            org_id: row.col("org_id")?,
            org_name: row.col("org_name")?,
            issuer_id: row.col("issuer_id")?,
            ok: row.col("ok")?,
            attempts: row.col("attempts")?,
            failing_since: row.col("failing_since")?,
            last_ok_at: row.col("last_ok_at")?,
            last_error: row.col("last_error")?,
            next_try_at: row.col("next_try_at")?,
        })
    }
}

/// A queued upstream revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamRevoke {
    pub request_id: String,
    pub client_id: String,
    pub token_sealed: Vec<u8>,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub expires_at: i64,
    pub created_at: i64,
}

pub(crate) const UPSTREAM_REVOKE_COLUMNS: &str =
    "request_id, client_id, token_sealed, attempts, next_attempt_at, last_error, expires_at, created_at";

impl<'r, R: Columns> FromRow<'r, R> for UpstreamRevoke {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(UpstreamRevoke {
            request_id: row.col("request_id")?,
            client_id: row.col("client_id")?,
            token_sealed: row.col("token_sealed")?,
            attempts: row.col("attempts")?,
            next_attempt_at: row.col("next_attempt_at")?,
            last_error: row.col("last_error")?,
            expires_at: row.col("expires_at")?,
            created_at: row.col("created_at")?,
        })
    }
}

/// What needs one master key: `count` values of one `kind` sealed with
/// the key whose id is `key_id` (the 4 bytes after an envelope's version
/// byte), needed until `until` at the latest (`None`: until re-sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    pub kind: String,
    pub key_id: Vec<u8>,
    pub count: i64,
    pub until: Option<i64>,
}

impl<'r, R: Columns> FromRow<'r, R> for KeyUse {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(KeyUse {
            kind: row.col("kind")?,
            key_id: row.col("key_id")?,
            count: row.col("count")?,
            until: row.col("until")?,
        })
    }
}

/// The webhook deliveries still to be made, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookBacklog {
    /// Deliveries pending (waiting for their first attempt or a retry).
    pub pending: i64,
    /// When the oldest pending one was created (Unix seconds); `None`
    /// when nothing is pending.
    pub oldest_created_at: Option<i64>,
}

impl<'r, R: Columns> FromRow<'r, R> for WebhookBacklog {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(WebhookBacklog {
            pending: row.col("pending")?,
            oldest_created_at: row.col("oldest_created_at")?,
        })
    }
}

/// A client's webhook as set by `client webhook`.
#[derive(Debug, Clone, Default)]
pub struct WebhookSettings {
    pub url: Option<String>,
    pub secret: Option<Vec<u8>>,
    pub previous_secret: Option<Vec<u8>>,
    pub previous_until: Option<i64>,
}

impl<'r, R: Columns> FromRow<'r, R> for WebhookSettings {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(WebhookSettings {
            url: row.col("url")?,
            secret: row.col("secret")?,
            previous_secret: row.col("previous_secret")?,
            previous_until: row.col("previous_until")?,
        })
    }
}

/// A row of one column (`SELECT COUNT(*)`, `RETURNING id`).
pub(super) struct One<A>(pub A);

impl<'r, R: Columns, A: Col> FromRow<'r, R> for One<A> {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(One(row.col_at(0)?))
    }
}

/// A row of two columns.
pub(super) struct Pair<A, B>(pub A, pub B);

impl<'r, R: Columns, A: Col, B: Col> FromRow<'r, R> for Pair<A, B> {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Pair(row.col_at(0)?, row.col_at(1)?))
    }
}
