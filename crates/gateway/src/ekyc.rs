//! `GET /api/digilocker/{id}/aadhaar`: the e-Aadhaar XML from DigiLocker,
//! its signature verified against the configured trust anchors, answered in
//! the OKYC shape, the original XML kept encrypted behind a file link.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::api::caller_request;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::{api, files, upstream};

/// The handler.
pub async fn aadhaar(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let r = caller_request(&state, &caller, &id).await?;
    let xml = api::with_token(&state, &r, |t| {
        let state = state.clone();
        async move { upstream::call(&state, "eaadhaar", state.dl.eaadhaar(&t)).await }
    })
    .await
    .map_err(|e| match e {
        ApiError::UpstreamServerError(_) | ApiError::BadRequest(_) | ApiError::InvalidUri => {
            ApiError::GetXmlFailed
        }
        other => other,
    })?;
    let Some(anchors) = state.trust_anchors.clone() else {
        tracing::error!("no trust anchors configured for e-Aadhaar signatures");
        return Err(ApiError::UnwrapAadhaarFailed(
            "the gateway has no trust anchors configured to verify it.".into(),
        ));
    };
    // Verification is CPU work: keep it off the async workers.
    let bytes = xml.clone();
    let verified = tokio::task::spawn_blocking(move || aadhaar::verify_and_parse(&bytes, &anchors))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| {
            // The error names what failed, never the data.
            tracing::warn!(request_id = %r.id, error = %e, "e-Aadhaar rejected");
            ApiError::UnwrapAadhaarFailed(
                "its digital signature did not verify or it is malformed.".into(),
            )
        })?;
    tracing::info!(request_id = %r.id, signer = %verified.signing.signer_subject, "e-Aadhaar verified");
    let link = files::store_and_link(&state, &r, "application/xml", "eaadhaar.xml", &xml).await?;
    let contract = verified.aadhaar.to_contract(
        true,
        link["fileUrl"].as_str().unwrap_or_default(),
        link["validUpto"].as_str().unwrap_or_default(),
    );
    Ok(Json(
        json!({"id": r.id, "status": "complete", "aadhaar": contract}),
    ))
}
