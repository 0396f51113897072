//! The contract's `/api/digilocker` endpoints. Each area is its own module;
//! `router()` puts them together.

use axum::routing::{get, post};
use axum::Router;

use crate::auth::Caller;
use crate::domain::parse_request_id;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::RequestRecord;

pub mod aadhaar;
pub mod audit;
pub mod documents;
pub mod model;
pub mod openapi;
pub mod requests;
pub mod verified;

/// The `/api/digilocker` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/digilocker", post(requests::create))
        .route("/api/digilocker/documents", get(documents::catalogue))
        .route("/api/digilocker/{id}/status", get(requests::status))
        .route("/api/digilocker/{id}/document", post(documents::fetch))
        .route("/api/digilocker/{id}/aadhaar", get(aadhaar::aadhaar))
        .route("/api/digilocker/{id}/issued", get(documents::issued))
        .route("/api/digilocker/{id}/verified", get(verified::verified))
        .route("/api/digilocker/{id}/revoke", get(requests::revoke))
        .route("/api/digilocker/{id}/audit", get(audit::audit))
}

/// The caller's live request with this id; anything else (garbage, another
/// client's, expired) is `request_not_found`.
pub async fn caller_request(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> ApiResult<RequestRecord> {
    caller_row(raw_id, async |id| {
        state
            .store
            .get_request(&caller.0.client_id, id, state.now())
            .await
    })
    .await
}

/// What `lookup` finds of the caller's request `raw_id`, under the rule
/// every `/api/digilocker/{id}` call follows: an id that is not a request
/// id, or that `lookup` does not find (unknown, another client's,
/// expired), is `request_not_found`.
pub async fn caller_row<T>(
    raw_id: &str,
    lookup: impl AsyncFnOnce(&str) -> crate::storage::StoreResult<Option<T>>,
) -> ApiResult<T> {
    let id = parse_request_id(raw_id).ok_or(ApiError::RequestNotFound)?;
    lookup(&id).await?.ok_or(ApiError::RequestNotFound)
}
