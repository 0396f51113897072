//! Calling DigiLocker with a request's access token: opened from storage,
//! refreshed once when DigiLocker says it expired, the newest refresh token
//! kept (DigiLocker rotates them).

use secrecy::SecretString;

use crate::domain::RequestStatus;
use crate::error::{ApiError, ApiResult};
use crate::sealed::{request_key, Sealed, StoredToken};
use crate::state::AppState;
use crate::storage::RequestRecord;
use crate::upstream;

/// The request may call DigiLocker: the user consented and nothing was revoked.
pub fn ensure_usable(r: &RequestRecord) -> ApiResult<()> {
    match r.status {
        RequestStatus::Authenticated => Ok(()),
        RequestStatus::Revoked => Err(ApiError::TokenRevoked),
        RequestStatus::Unauthenticated => match r.consent_error_code.as_deref() {
            // The journey failed on DigiLocker's side or ours, not by the
            // user's refusal: say so, not that consent was not given.
            Some(code @ ("upstream_server_error" | "internal_server_error")) => {
                Err(ApiError::JourneyFailed {
                    code: if code == "upstream_server_error" {
                        "upstream_server_error"
                    } else {
                        "internal_server_error"
                    },
                })
            }
            Some(_) => Err(ApiError::UserConsentNotGiven(
                r.consent_error_message.clone().unwrap_or_default(),
            )),
            None => Err(ApiError::UserNotAuthenticated),
        },
    }
}

/// Run `f` with the request's access token; refresh once if the token is
/// past its expiry or DigiLocker says it is no longer valid.
pub async fn with_token<T, F, Fut>(state: &AppState, r: &RequestRecord, f: F) -> ApiResult<T>
where
    F: Fn(SecretString) -> Fut,
    Fut: std::future::Future<Output = Result<T, digilocker::Error>>,
{
    with_token_mapped(state, r, f, upstream::to_api_error).await
}

/// [`with_token`], DigiLocker's errors mapped by `map`.
pub async fn with_token_mapped<T, F, Fut>(
    state: &AppState,
    r: &RequestRecord,
    f: F,
    map: fn(digilocker::Error) -> ApiError,
) -> ApiResult<T>
where
    F: Fn(SecretString) -> Fut,
    Fut: std::future::Future<Output = Result<T, digilocker::Error>>,
{
    ensure_usable(r)?;
    let token = open_token(state, r)?;
    let expired = token.expires_at != 0 && token.expires_at <= state.now();
    if !expired {
        match f(SecretString::from(token.access_token.clone())).await {
            Err(e) if upstream::is_invalid_token(&e) => {}
            other => return other.map_err(map),
        }
    }
    let access = refresh(state, r, token).await?;
    f(access).await.map_err(map)
}

fn open_token(state: &AppState, r: &RequestRecord) -> ApiResult<StoredToken> {
    let sealed = r.token.as_ref().ok_or(ApiError::TokenRevoked)?;
    let key = request_key(&state.keys, r)?.ok_or(ApiError::TokenRevoked)?;
    Ok(key.open_json(&Sealed::Token.aad(&r.id), sealed)?)
}

/// Exchange the refresh token for a new access token and store both.
async fn refresh(
    state: &AppState,
    r: &RequestRecord,
    token: StoredToken,
) -> ApiResult<SecretString> {
    let Some(refresh) = token.refresh_token.clone() else {
        return Err(ApiError::InvalidToken);
    };
    let refresh = SecretString::from(refresh);
    let fresh =
        match upstream::call(&state.metrics, "token_refresh", state.dl.refresh(&refresh)).await {
            Ok(t) => t,
            // DigiLocker refused the refresh token. It rotates them: a call
            // running beside this one may have used it a moment ago and stored
            // the new pair; then that pair is ours too.
            Err(e @ digilocker::Error::Upstream { .. }) if !e.is_retryable() => {
                // The other call may not have stored its pair yet: look a few
                // times over a second before concluding the consent is over.
                for _ in 0..10 {
                    if let Some(newer) = state
                        .store
                        .get_live_request(&r.id, state.now())
                        .await?
                        .filter(|now| now.token != r.token)
                    {
                        let stored = open_token(state, &newer)?;
                        return Ok(SecretString::from(stored.access_token));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                return Err(ApiError::InvalidToken);
            }
            Err(e) => return Err(upstream::to_api_error(e)),
        };
    let stored = StoredToken::from_response(&fresh, token.refresh_token, state.now());
    let key = request_key(&state.keys, r)?.ok_or(ApiError::TokenRevoked)?;
    let sealed = key.seal_json(&Sealed::Token.aad(&r.id), &stored)?;
    state.store.update_token(&r.id, &sealed).await?;
    Ok(SecretString::from(fresh.access_token))
}
