//! The records of storage/mod.rs as rows of either database: each one's
//! columns, and its `FromRow` (what `#[derive(sqlx::FromRow)]` generates,
//! written out so the gateway builds without sqlx's proc-macro crate, see
//! build.rs). A record's fields are columns of the same names, of the types
//! both databases decode (`String`, `Vec<u8>`, `i64`, their `Option`s);
//! `status` is read as text and parsed.

use sqlx::{ColumnIndex, Decode, FromRow, Row, Type};

use super::{
    CatalogueMeta, CatalogueRow, ClientRecord, DeliveryRecord, EventRecord, FileRecord,
    IssuerState, KeyUse, LiveFile, RequestRecord, RequestStatusRecord, UpstreamRevoke,
    WebhookBacklog,
};
use crate::domain::RequestStatus;

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

/// A stored status, as `#[sqlx(try_from = "String")]` read it.
fn status(stored: String, column: &str) -> Result<RequestStatus, sqlx::Error> {
    RequestStatus::try_from(stored).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: e.into(),
    })
}

impl<'r, R: Row> FromRow<'r, R> for ClientRecord
where
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(ClientRecord {
            client_id: row.try_get("client_id")?,
            secret_hash: row.try_get("secret_hash")?,
            product_instance_id: row.try_get("product_instance_id")?,
            name: row.try_get("name")?,
            allowed_origins: row.try_get("allowed_origins")?,
            disabled: row.try_get("disabled")?,
            created_at: row.try_get("created_at")?,
            webhook_url: row.try_get("webhook_url")?,
            webhook_secret: row.try_get("webhook_secret")?,
            webhook_previous_secret: row.try_get("webhook_previous_secret")?,
            webhook_previous_until: row.try_get("webhook_previous_until")?,
        })
    }
}

impl<'r, R: Row> FromRow<'r, R> for RequestRecord
where
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(RequestRecord {
            id: row.try_get("id")?,
            client_id: row.try_get("client_id")?,
            status: status(row.try_get("status")?, "status")?,
            redirect_url: row.try_get("redirect_url")?,
            doc_types: row.try_get("doc_types")?,
            data_key: row.try_get("data_key")?,
            journey_secrets: row.try_get("journey_secrets")?,
            callback_used: row.try_get("callback_used")?,
            consent_error_code: row.try_get("consent_error_code")?,
            consent_error_message: row.try_get("consent_error_message")?,
            token: row.try_get("token")?,
            user_details: row.try_get("user_details")?,
            scope_sealed: row.try_get("scope_sealed")?,
            idempotency_key: row.try_get("idempotency_key")?,
            idempotency_fingerprint: row.try_get("idempotency_fingerprint")?,
            created_at: row.try_get("created_at")?,
            valid_upto: row.try_get("valid_upto")?,
        })
    }
}

impl<'r, R: Row> FromRow<'r, R> for RequestStatusRecord
where
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(RequestStatusRecord {
            id: row.try_get("id")?,
            status: status(row.try_get("status")?, "status")?,
            data_key: row.try_get("data_key")?,
            consent_error_code: row.try_get("consent_error_code")?,
            consent_error_message: row.try_get("consent_error_message")?,
            user_details: row.try_get("user_details")?,
            valid_upto: row.try_get("valid_upto")?,
        })
    }
}

impl<'r, R: Row> FromRow<'r, R> for FileRecord
where
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(FileRecord {
            token_hash: row.try_get("token_hash")?,
            request_id: row.try_get("request_id")?,
            client_id: row.try_get("client_id")?,
            content_type: row.try_get("content_type")?,
            name_sealed: row.try_get("name_sealed")?,
            data: row.try_get("data")?,
            expires_at: row.try_get("expires_at")?,
        })
    }
}

// `#[sqlx(flatten)]`: the file's columns and the request's key in one row.
impl<'r, R: Row> FromRow<'r, R> for LiveFile
where
    FileRecord: FromRow<'r, R>,
    &'r str: ColumnIndex<R>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(LiveFile {
            file: FileRecord::from_row(row)?,
            data_key: row.try_get("data_key")?,
        })
    }
}

impl<'r, R: Row> FromRow<'r, R> for EventRecord
where
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(EventRecord {
            seq: row.try_get("seq")?,
            id: row.try_get("id")?,
            request_id: row.try_get("request_id")?,
            client_id: row.try_get("client_id")?,
            kind: row.try_get("kind")?,
            detail: row.try_get("detail")?,
            at: row.try_get("at")?,
        })
    }
}

impl<'r, R: Row> FromRow<'r, R> for DeliveryRecord
where
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(DeliveryRecord {
            event_id: row.try_get("event_id")?,
            client_id: row.try_get("client_id")?,
            state: row.try_get("state")?,
            attempts: row.try_get("attempts")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
            last_status: row.try_get("last_status")?,
            last_error: row.try_get("last_error")?,
            created_at: row.try_get("created_at")?,
            finished_at: row.try_get("finished_at")?,
        })
    }
}

impl<'r, R: Row> FromRow<'r, R> for CatalogueRow
where
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(CatalogueRow {
            issuer_id: row.try_get("issuer_id")?,
            org_id: row.try_get("org_id")?,
            doc_type: row.try_get("doc_type")?,
            org_name: row.try_get("org_name")?,
            description: row.try_get("description")?,
            formats: row.try_get("formats")?,
            parameters: row.try_get("parameters")?,
        })
    }
}

impl<'r, R: Row> FromRow<'r, R> for CatalogueMeta
where
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(CatalogueMeta {
            version: row.try_get("version")?,
            built_at: row.try_get("built_at")?,
            entries: row.try_get("entries")?,
            issuers: row.try_get("issuers")?,
            failing: row.try_get("failing")?,
            pending: row.try_get("pending")?,
        })
    }
}

impl<'r, R: Row> FromRow<'r, R> for IssuerState
where
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(IssuerState {
            org_id: row.try_get("org_id")?,
            org_name: row.try_get("org_name")?,
            issuer_id: row.try_get("issuer_id")?,
            ok: row.try_get("ok")?,
            attempts: row.try_get("attempts")?,
            failing_since: row.try_get("failing_since")?,
            last_ok_at: row.try_get("last_ok_at")?,
            last_error: row.try_get("last_error")?,
            next_try_at: row.try_get("next_try_at")?,
        })
    }
}

impl<'r, R: Row> FromRow<'r, R> for UpstreamRevoke
where
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(UpstreamRevoke {
            request_id: row.try_get("request_id")?,
            client_id: row.try_get("client_id")?,
            token_sealed: row.try_get("token_sealed")?,
            attempts: row.try_get("attempts")?,
            next_attempt_at: row.try_get("next_attempt_at")?,
            last_error: row.try_get("last_error")?,
            expires_at: row.try_get("expires_at")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

impl<'r, R: Row> FromRow<'r, R> for KeyUse
where
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(KeyUse {
            kind: row.try_get("kind")?,
            key_id: row.try_get("key_id")?,
            count: row.try_get("count")?,
            until: row.try_get("until")?,
        })
    }
}

impl<'r, R: Row> FromRow<'r, R> for WebhookBacklog
where
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(WebhookBacklog {
            pending: row.try_get("pending")?,
            oldest_created_at: row.try_get("oldest_created_at")?,
        })
    }
}
