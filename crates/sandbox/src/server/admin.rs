//! Sandbox extras: the root CA download, and the fault switches and the
//! faulty issuers over HTTP.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;

use super::{secret_eq, ApiError, SharedState};
use crate::faults::Faults;
use crate::federation::IssuerFault;

/// `GET {base}/ca.pem`: the root a client must trust to verify e-Aadhaar
/// signatures made by this sandbox.
pub(crate) async fn ca_pem(State(shared): State<SharedState>) -> Response {
    (
        [(CONTENT_TYPE, "application/x-pem-file")],
        shared.signing.root_pem(),
    )
        .into_response()
}

fn check_admin(shared: &SharedState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = shared.config.admin_token.as_deref() else {
        return Ok(());
    };
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(token) if secret_eq(token, expected) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The admin endpoint needs Authorization: Bearer <admin token> (set with --admin-token)",
        )),
    }
}

/// The JSON of `GET`/`PUT {base}/admin/faults`: the switches, and the
/// faulty issuers by org id.
#[derive(Serialize)]
pub(crate) struct AdminFaults {
    #[serde(flatten)]
    faults: Faults,
    issuers: BTreeMap<String, IssuerFault>,
}

fn admin_faults(shared: &SharedState) -> Json<AdminFaults> {
    Json(AdminFaults {
        faults: shared.faults.get(),
        issuers: shared.federation.get(),
    })
}

/// `GET {base}/admin/faults`: the switches and the faulty issuers as they are.
pub(crate) async fn get_faults(
    State(shared): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<AdminFaults>, ApiError> {
    check_admin(&shared, &headers)?;
    Ok(admin_faults(&shared))
}

/// `PUT {base}/admin/faults`: replace every switch; `{}` turns them all
/// off. The faulty issuers are replaced by `issuers` when it is given
/// (`{}` heals every issuer) and left as they are when it is not, so a body
/// written before issuers had faults means what it meant.
pub(crate) async fn put_faults(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<AdminFaults>, ApiError> {
    check_admin(&shared, &headers)?;
    let shape_error = |e: serde_json::Error| {
        ApiError::invalid_request(format!(
            "the fault switches are not valid JSON of the documented shape: {e}"
        ))
    };
    // `Faults` denies unknown fields, so `issuers` is taken out first.
    let mut json: Value = serde_json::from_slice(&body).map_err(shape_error)?;
    let issuers = json
        .as_object_mut()
        .and_then(|fields| fields.remove("issuers"))
        .map(serde_json::from_value::<BTreeMap<String, IssuerFault>>)
        .transpose()
        .map_err(shape_error)?;
    let faults: Faults = serde_json::from_value(json).map_err(shape_error)?;
    // Check both before changing either.
    faults.validate().map_err(ApiError::invalid_request)?;
    for (orgid, fault) in issuers.iter().flatten() {
        shared
            .check_issuer_fault(orgid, Some(fault))
            .map_err(ApiError::invalid_request)?;
    }
    shared
        .faults
        .set(faults)
        .map_err(ApiError::invalid_request)?;
    if let Some(issuers) = issuers {
        shared.federation.set_all(issuers);
    }
    tracing::info!(faults = ?shared.faults.get(), issuers = ?shared.federation.get(), "fault switches changed");
    Ok(admin_faults(&shared))
}

/// `GET {base}/admin/faults/issuers/{orgid}`: the issuer's fault, `null`
/// when it is healthy.
pub(crate) async fn get_issuer_fault(
    State(shared): State<SharedState>,
    Path(orgid): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Option<IssuerFault>>, ApiError> {
    check_admin(&shared, &headers)?;
    shared
        .check_issuer_fault(&orgid, None)
        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, "invalid_orgid", e))?;
    Ok(Json(shared.federation.get().remove(&orgid)))
}

/// `PUT {base}/admin/faults/issuers/{orgid}`: break one issuer (the body is
/// its fault, replacing any it had); answers every switch and issuer.
pub(crate) async fn put_issuer_fault(
    State(shared): State<SharedState>,
    Path(orgid): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<AdminFaults>, ApiError> {
    check_admin(&shared, &headers)?;
    let fault: IssuerFault = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid_request(format!(
            "the issuer fault is not valid JSON of the documented shape: {e}"
        ))
    })?;
    shared
        .check_issuer_fault(&orgid, Some(&fault))
        .map_err(ApiError::invalid_request)?;
    shared.federation.set(&orgid, Some(fault));
    tracing::info!(%orgid, issuers = ?shared.federation.get(), "issuer broken");
    Ok(admin_faults(&shared))
}

/// `DELETE {base}/admin/faults/issuers/{orgid}`: heal one issuer; answers
/// every switch and issuer.
pub(crate) async fn delete_issuer_fault(
    State(shared): State<SharedState>,
    Path(orgid): Path<String>,
    headers: HeaderMap,
) -> Result<Json<AdminFaults>, ApiError> {
    check_admin(&shared, &headers)?;
    shared
        .check_issuer_fault(&orgid, None)
        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, "invalid_orgid", e))?;
    shared.federation.set(&orgid, None);
    tracing::info!(%orgid, "issuer healed");
    Ok(admin_faults(&shared))
}

/// Any other path: DigiLocker-shaped 404.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request",
        "No such endpoint in the DigiLocker sandbox; see the sandbox README for the routes",
    )
}
