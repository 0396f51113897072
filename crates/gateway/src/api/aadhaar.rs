//! `GET /api/digilocker/{id}/aadhaar`: the e-Aadhaar XML from DigiLocker,
//! its signature verified against the configured trust anchors (the chain
//! judged at its signing time), then the age policy
//! (`aadhaar_max_age_days`) applied by the app's clock, answered in the OKYC
//! shape, the original XML kept encrypted behind a file link.

use axum::body::Bytes;
use axum::extract::State;
use axum::Json;

use super::caller_request;
use super::model::{AadhaarResponse, ErrorBody};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::extract::ApiPath;
use crate::state::AppState;
use crate::storage::RequestRecord;
use crate::token::with_token;
use crate::{files, upstream};

/// The e-Aadhaar XML from DigiLocker (its errors as the contract's Aadhaar errors), and
/// its verification against the configured trust anchors with the age policy, by the
/// app's clock (tests move it).
pub(super) async fn fetch_and_verify(
    state: &AppState,
    r: &RequestRecord,
) -> ApiResult<(Bytes, Result<aadhaar::Verified, aadhaar::Error>)> {
    let xml = with_token(state, r, |t| {
        let state = state.clone();
        async move { upstream::call(&state.metrics, "eaadhaar", state.dl.eaadhaar(&t)).await }
    })
    .await
    .map_err(upstream::to_aadhaar_error)?;
    let anchors = state.trust_anchors.clone();
    let options = aadhaar::VerifyOptions {
        now: time::OffsetDateTime::from_unix_timestamp(state.now())
            .map_err(|e| ApiError::Internal(e.into()))?,
        max_age: state.config.aadhaar_max_age(),
        ..aadhaar::VerifyOptions::default()
    };
    // Verification is CPU work: keep it off the async workers.
    let bytes = xml.clone();
    let verified = tokio::task::spawn_blocking(move || {
        aadhaar::verify_and_parse_with(&bytes, &anchors, &options)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    Ok((xml, verified))
}

/// The user's Aadhaar details, verified.
#[utoipa::path(
    get, path = "/api/digilocker/{id}/aadhaar", tag = "aadhaar",
    params(("id" = String, Path, description = "The request id.")),
    responses(
        (status = 200, body = AadhaarResponse),
        (status = 400, description = "`aadhaar_not_linked`.", body = ErrorBody),
        (status = 401, description = "`vault_secret_error` (a credential header missing), `unauthorized`, `user_not_authenticated`, `user_consent_not_given`, `token_revoked`, `invalid_token`.", body = ErrorBody),
        (status = 403, description = "`invalid_grant`.", body = ErrorBody),
        (status = 404, description = "`request_not_found`, `aadhaar_not_available` (also when the e-Aadhaar is older than the gateway's age limit, aadhaar_max_age_days).", body = ErrorBody),
        (status = 500, description = "`get_xml_failed`, `unwrap_aadhaar_failed`.", body = ErrorBody),
    ),
    security(("client" = []))
)]
pub async fn aadhaar(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AadhaarResponse>> {
    let r = caller_request(&state, &caller, &id).await?;
    let (xml, verified) = fetch_and_verify(&state, &r).await?;
    let verified = verified.map_err(|e| match e {
        // Genuine, but older than the policy: the user must redo Aadhaar KYC.
        aadhaar::Error::TooOld { signed_at, max_age } => {
            let signed_on = signed_at.date().to_string();
            let max_age_days = u64::try_from(max_age.whole_days()).unwrap_or_default();
            tracing::warn!(
                request_id = %r.id,
                %signed_on,
                max_age_days,
                "e-Aadhaar verified but refused: older than aadhaar_max_age_days"
            );
            ApiError::AadhaarTooOld {
                signed_on,
                max_age_days,
            }
        }
        e => {
            // The error names what failed, never the data.
            tracing::warn!(request_id = %r.id, error = %e, "e-Aadhaar rejected: it did not verify");
            ApiError::UnwrapAadhaarFailed(
                "its digital signature did not verify or it is malformed.".into(),
            )
        }
    })?;
    tracing::info!(
        request_id = %r.id,
        signer = %verified.signing.signer_subject,
        chain_validated_at = %verified.signing.chain_validated_at,
        "e-Aadhaar verified"
    );
    let link = files::store_and_link(
        &state,
        &r,
        "application/xml",
        "eaadhaar.xml",
        &xml,
        files::Fetched::Aadhaar,
    )
    .await?;
    let contract = verified
        .aadhaar
        .to_contract(true, &link.file_url, &link.valid_upto);
    Ok(Json(AadhaarResponse {
        id: r.id,
        status: "complete".into(),
        aadhaar: contract,
    }))
}
