//! Calling DigiLocker: metrics on every call, errors mapped to the contract.

use std::future::Future;
use std::time::Instant;

use digilocker::{Error as DlError, ErrorCode};

use crate::error::ApiError;
use crate::metrics::Metrics;

/// Run one DigiLocker call, recording its endpoint, outcome and latency.
pub async fn call<T, F>(metrics: &Metrics, endpoint: &'static str, fut: F) -> Result<T, DlError>
where
    F: Future<Output = Result<T, DlError>>,
{
    let started = Instant::now();
    let result = fut.await;
    let outcome = match &result {
        Ok(_) => "ok".to_owned(),
        Err(DlError::Upstream { status, .. }) => format!("http_{status}"),
        Err(DlError::Timeout) => "timeout".to_owned(),
        Err(DlError::Transport(_)) => "transport".to_owned(),
        Err(DlError::Malformed(_)) => "malformed".to_owned(),
        Err(DlError::HmacMismatch) => "hmac_mismatch".to_owned(),
        Err(DlError::InvalidArgument(_)) => "invalid_argument".to_owned(),
    };
    if let Err(e) = &result {
        // Only the kind and code: upstream descriptions can carry document URIs.
        tracing::warn!(endpoint, kind = e.kind(), code = ?e.code().map(|c| c.as_str()), status = ?e.status(), "DigiLocker call failed");
    }
    let error_kind = result.as_ref().err().map(error_kind);
    metrics.upstream(endpoint, &outcome, error_kind, started);
    result
}

/// A failed call's kind, as `gateway_upstream_errors_total` counts it: a
/// few fixed values, so the alert rules can tell DigiLocker failing
/// (`timeout`, `transport`, `http_5xx`, `malformed`) from DigiLocker
/// refusing a call (`refused`: an error below 500, about a user's token,
/// consent or document as a rule).
pub fn error_kind(e: &DlError) -> &'static str {
    match e {
        DlError::Upstream { status, .. } if *status >= 500 => "http_5xx",
        DlError::Upstream { .. } => "refused",
        other => other.kind(),
    }
}

/// Is this the upstream saying the access token is no longer valid?
pub fn is_invalid_token(e: &DlError) -> bool {
    matches!(
        e,
        DlError::Upstream {
            code: ErrorCode::InvalidToken,
            ..
        }
    )
}

/// Does DigiLocker say the token is already unusable? On a revoke that is
/// success: DigiLocker answers `400` for a token it no longer knows.
pub fn is_already_invalid(e: &DlError) -> bool {
    is_invalid_token(e) || e.status() == Some(400)
}

/// The contract error for a failed document call.
pub fn to_api_error(e: DlError) -> ApiError {
    match e {
        DlError::Upstream { code, status, .. } => match code {
            ErrorCode::InvalidToken => ApiError::InvalidToken,
            ErrorCode::AccessDenied | ErrorCode::InvalidGrant => ApiError::InvalidGrant,
            ErrorCode::AadhaarNotLinked => ApiError::AadhaarNotLinked,
            ErrorCode::AadhaarNotAvailable => ApiError::AadhaarNotAvailable,
            ErrorCode::InvalidUri | ErrorCode::InvalidId => ApiError::InvalidUri,
            ErrorCode::RecordNotFound => ApiError::RecordNotFound,
            ErrorCode::UriMissing
            | ErrorCode::InvalidParameter
            | ErrorCode::InvalidOrgid
            | ErrorCode::InvalidDoctype
            | ErrorCode::InvalidRequest => ApiError::BadRequest(
                "DigiLocker rejected the docType, orgId, parameters or URI as malformed.".into(),
            ),
            other => ApiError::UpstreamServerError(format!(
                "DigiLocker answered {status} ({})",
                code_text(&other)
            )),
        },
        DlError::Timeout => {
            ApiError::UpstreamServerError("DigiLocker did not answer in time.".into())
        }
        DlError::Transport(_) => {
            ApiError::UpstreamServerError("DigiLocker could not be reached.".into())
        }
        DlError::Malformed(_) => {
            ApiError::UpstreamServerError("DigiLocker's answer was malformed.".into())
        }
        DlError::HmacMismatch => {
            ApiError::UpstreamServerError("the file failed its integrity check.".into())
        }
        DlError::InvalidArgument(_) => {
            ApiError::BadRequest("the document URI or parameters are malformed.".into())
        }
    }
}

/// The contract error for a failed pull: DigiLocker's answers that mean
/// "not under this consent" are `invalid_grant`; a slow issuer is pending.
pub fn to_pull_error(e: DlError) -> ApiError {
    match e.code() {
        Some(ErrorCode::PullResponsePending) => ApiError::IssuerPending,
        Some(ErrorCode::InvalidDoctype) => ApiError::NotShared(
            "DigiLocker refused this doc type for the user: they did not agree to share it. \
             Create the request with this docType so the consent screen offers it."
                .into(),
        ),
        Some(ErrorCode::UriExists) => ApiError::NotShared(
            "The document is already in the user's DigiLocker, but they did not agree to share it."
                .into(),
        ),
        _ => to_api_error(e),
    }
}

/// The contract error for a failed e-Aadhaar call: DigiLocker's failures to
/// hand over the XML are `get_xml_failed`; the user's and the token's
/// states keep their own codes.
pub fn to_aadhaar_error(e: ApiError) -> ApiError {
    match e {
        ApiError::UpstreamServerError(_) | ApiError::BadRequest(_) | ApiError::InvalidUri => {
            ApiError::GetXmlFailed
        }
        other => other,
    }
}

/// The `errCode` and `errMessage` for the business's redirect when the
/// authorization code could not be exchanged: DigiLocker refusing the code
/// is `invalid_grant`; DigiLocker failing (5xx, timeout, unreachable,
/// nonsense) is `upstream_server_error`, so the business knows a retry may
/// work.
pub fn token_exchange_error(e: &DlError) -> (&'static str, &'static str) {
    match e {
        DlError::Upstream { status, .. } if *status < 500 && !e.is_retryable() => (
            "invalid_grant",
            "DigiLocker did not accept the sign-in; please try again.",
        ),
        _ => (
            "upstream_server_error",
            "DigiLocker could not complete the sign-in; please try again.",
        ),
    }
}

fn code_text(code: &ErrorCode) -> String {
    let text = match code {
        ErrorCode::Other(s) => s.as_str(),
        _ => return format!("{code:?}"),
    };
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_counted_by_a_few_fixed_kinds() {
        let upstream = |status| DlError::Upstream {
            status,
            code: ErrorCode::Other("x".into()),
            description: None,
        };
        assert_eq!(error_kind(&upstream(503)), "http_5xx");
        assert_eq!(error_kind(&upstream(500)), "http_5xx");
        assert_eq!(error_kind(&upstream(401)), "refused");
        assert_eq!(error_kind(&upstream(200)), "refused");
        assert_eq!(error_kind(&DlError::Timeout), "timeout");
        assert_eq!(error_kind(&DlError::HmacMismatch), "hmac_mismatch");
    }
}
