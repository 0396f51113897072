//! Reading the records of storage/mod.rs from rows of either database: what
//! `#[derive(sqlx::FromRow)]` generates, written out so the gateway builds
//! without sqlx's proc-macro crate (see build.rs).

use sqlx::{ColumnIndex, Decode, FromRow, Row, Type};

use super::{
    CatalogueMeta, CatalogueRow, ClientRecord, DeliveryRecord, EventRecord, FileRecord,
    IssuerState, KeyUse, LiveFile, RequestRecord, RequestStatusRecord, UpstreamRevoke,
    WebhookBacklog,
};
use crate::domain::RequestStatus;

/// `impl FromRow` for a record whose fields are columns of the same names, of
/// the types every backend decodes (`String`, `Vec<u8>`, `i64`, their
/// `Option`s); `status` fields are read as text and parsed.
macro_rules! from_row {
    ($record:ident { $($field:ident $(: $parse:ident)?),* $(,)? }) => {
        impl<'r, R: Row> FromRow<'r, R> for $record
        where
            &'r str: ColumnIndex<R>,
            String: Decode<'r, R::Database> + Type<R::Database>,
            Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
            i64: Decode<'r, R::Database> + Type<R::Database>,
        {
            fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
                Ok($record {
                    $($field: from_row!(@get row, $field $(, $parse)?),)*
                })
            }
        }
    };
    (@get $row:ident, $field:ident) => {
        $row.try_get(stringify!($field))?
    };
    (@get $row:ident, $field:ident, status) => {
        status($row.try_get(stringify!($field))?, stringify!($field))?
    };
}

/// A stored status, as `#[sqlx(try_from = "String")]` read it.
fn status(stored: String, column: &str) -> Result<RequestStatus, sqlx::Error> {
    RequestStatus::try_from(stored).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: e.into(),
    })
}

from_row!(ClientRecord {
    client_id,
    secret_hash,
    product_instance_id,
    name,
    allowed_origins,
    disabled,
    created_at,
    webhook_url,
    webhook_secret,
    webhook_previous_secret,
    webhook_previous_until,
});

from_row!(RequestRecord {
    id,
    client_id,
    status: status,
    redirect_url,
    doc_types,
    data_key,
    journey_secrets,
    callback_used,
    consent_error_code,
    consent_error_message,
    token,
    user_details,
    scope_sealed,
    idempotency_key,
    idempotency_fingerprint,
    created_at,
    valid_upto,
});

from_row!(RequestStatusRecord {
    id,
    status: status,
    data_key,
    consent_error_code,
    consent_error_message,
    user_details,
    valid_upto,
});

from_row!(FileRecord {
    token_hash,
    request_id,
    client_id,
    content_type,
    name_sealed,
    data,
    expires_at,
});

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

from_row!(EventRecord {
    seq,
    id,
    request_id,
    client_id,
    kind,
    detail,
    at,
});

from_row!(DeliveryRecord {
    event_id,
    client_id,
    state,
    attempts,
    next_attempt_at,
    last_status,
    last_error,
    created_at,
    finished_at,
});

from_row!(CatalogueRow {
    issuer_id,
    org_id,
    doc_type,
    org_name,
    description,
    formats,
    parameters,
});

from_row!(CatalogueMeta {
    version,
    built_at,
    entries,
    issuers,
    failing,
    pending,
});

from_row!(IssuerState {
    org_id,
    org_name,
    issuer_id,
    ok,
    attempts,
    failing_since,
    last_ok_at,
    last_error,
    next_try_at,
});

from_row!(UpstreamRevoke {
    request_id,
    client_id,
    token_sealed,
    attempts,
    next_attempt_at,
    last_error,
    expires_at,
    created_at,
});

from_row!(KeyUse {
    kind,
    key_id,
    count,
    until,
});

from_row!(WebhookBacklog {
    pending,
    oldest_created_at,
});
