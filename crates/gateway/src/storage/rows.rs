//! The records of storage/mod.rs as rows of either database: each one's
//! columns, and its `FromRow` (what `#[derive(sqlx::FromRow)]` generates,
//! written out so the gateway builds without sqlx's proc-macro crate, see
//! build.rs). A record's fields are columns of the same names, of the types
//! both databases decode (`String`, `Vec<u8>`, `i64`, their `Option`s);
//! `status` is read as text and parsed.

use sqlx::FromRow;

use super::sql::{Col, Columns};

use super::{
    CatalogueMeta, CatalogueRow, ClientRecord, DeliveryRecord, EventRecord, FileRecord,
    IssuerState, KeyUse, LiveFile, RequestRecord, RequestStatusRecord, UpstreamRevoke,
    WebhookBacklog, WebhookSettings,
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
impl<'r, R: Columns> FromRow<'r, R> for LiveFile {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(LiveFile {
            file: FileRecord::from_row(row)?,
            data_key: row.col("data_key")?,
        })
    }
}

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

impl<'r, R: Columns> FromRow<'r, R> for WebhookBacklog {
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(WebhookBacklog {
            pending: row.col("pending")?,
            oldest_created_at: row.col("oldest_created_at")?,
        })
    }
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
