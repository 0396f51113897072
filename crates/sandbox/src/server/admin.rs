//! Sandbox extras: the root CA download and the fault switches over HTTP.

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{secret_eq, ApiError, SharedState};
use crate::faults::Faults;

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

/// `GET {base}/admin/faults`: the switches as they are.
pub(crate) async fn get_faults(
    State(shared): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Faults>, ApiError> {
    check_admin(&shared, &headers)?;
    Ok(Json(shared.faults.get()))
}

/// `PUT {base}/admin/faults`: replace every switch; `{}` turns them all off.
pub(crate) async fn put_faults(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Faults>, ApiError> {
    check_admin(&shared, &headers)?;
    let faults: Faults = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid_request(format!(
            "the fault switches are not valid JSON of the documented shape: {e}"
        ))
    })?;
    shared
        .faults
        .set(faults)
        .map_err(ApiError::invalid_request)?;
    tracing::info!(faults = ?shared.faults.get(), "fault switches changed");
    Ok(Json(shared.faults.get()))
}

/// Any other path: DigiLocker-shaped 404.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request",
        "No such endpoint in the DigiLocker sandbox; see the sandbox README for the routes",
    )
}
