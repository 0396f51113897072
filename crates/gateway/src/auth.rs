//! Client authentication by the three contract headers.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::crypto;
use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::ClientRecord;

/// The authenticated client of this call.
#[derive(Debug, Clone)]
pub struct Caller(pub ClientRecord);

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (Some(id), Some(secret), Some(instance)) = (
            header(parts, "x-client-id"),
            header(parts, "x-client-secret"),
            header(parts, "x-product-instance-id"),
        ) else {
            return Err(ApiError::Unauthorized);
        };
        let client = state.store.get_client(id).await?;
        // Hash even for an unknown client so timing says nothing about which part was wrong.
        let stored = client
            .as_ref()
            .map(|c| c.secret_hash.clone())
            .unwrap_or_else(|| vec![0u8; 32]);
        let secret_ok = crypto::secret_matches(secret, &stored);
        match client {
            Some(c) if secret_ok && c.disabled == 0 && c.product_instance_id == instance => {
                tracing::Span::current().record("client_id", c.client_id.as_str());
                if let Some(limiter) = &state.limiter {
                    if limiter.check_key(&c.client_id).is_err() {
                        return Err(ApiError::RateLimited);
                    }
                }
                Ok(Caller(c))
            }
            _ => Err(ApiError::Unauthorized),
        }
    }
}
