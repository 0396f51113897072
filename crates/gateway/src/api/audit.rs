//! Ours: a request's consent audit trail — what happened to it, when, with
//! no personal data. The trail outlives the request (see `audit export`);
//! through the API a client reads the trail of its own live requests.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller_request;
use super::model::ErrorBody;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::http::extract::ApiPath;
use crate::state::AppState;
use crate::storage::EventRecord;
use crate::timefmt::ist;

/// One entry of the trail.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// The event's id (`evt_…`); also the `webhook-id` of its delivery.
    pub id: String,
    /// The request it belongs to.
    #[schema(format = Uuid)]
    pub request_id: String,
    /// `created`, `journey_started`, `consent_given`, `consent_denied`,
    /// `journey_failed`, `document_fetched`, `aadhaar_fetched`, `revoked`,
    /// `erased`.
    #[serde(rename = "type")]
    pub kind: String,
    /// ISO 8601 in +05:30.
    pub at: String,
    /// Doc types, issuer, format, error code or erasure reason; never
    /// personal data.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl AuditEvent {
    /// From the stored event.
    pub fn from_record(e: &EventRecord) -> AuditEvent {
        AuditEvent {
            id: e.id.clone(),
            request_id: e.request_id.clone(),
            kind: e.kind.clone(),
            at: ist(e.at),
            detail: serde_json::from_str(&e.detail).unwrap_or_default(),
        }
    }
}

/// `GET /api/digilocker/{id}/audit`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditTrail {
    #[schema(format = Uuid)]
    pub id: String,
    /// Oldest first.
    pub events: Vec<AuditEvent>,
}

/// Ours: the request's consent audit trail.
#[utoipa::path(
    get, path = "/api/digilocker/{id}/audit", tag = "requests",
    params(("id" = String, Path, description = "The request id.")),
    responses(
        (status = 200, body = AuditTrail),
        (status = 401, description = "`vault_secret_error` (a credential header missing), `unauthorized`.", body = ErrorBody),
        (status = 404, description = "`request_not_found`.", body = ErrorBody),
    ),
    security(("client" = []))
)]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AuditTrail>> {
    let r = caller_request(&state, &caller, &id).await?;
    let events = state.store.request_events(&r.id).await?;
    Ok(Json(AuditTrail {
        id: r.id,
        events: events.iter().map(AuditEvent::from_record).collect(),
    }))
}
