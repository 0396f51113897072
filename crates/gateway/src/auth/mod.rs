//! Client authentication by the three contract headers, from memory.
//!
//! Clients are cached by id with their secret's hash; the cache asks the
//! database at most once a second whether any client changed (a generation
//! number every client change bumps), so `rotate-secret` and `disable` take
//! effect on every instance within a second without a database round trip
//! per call. On PostgreSQL the command line also announces each change
//! (`NOTIFY gateway_clients`), which every instance hears within
//! milliseconds and drops its cache for ([`listen_for_changes`], in `clients`). The
//! comparison stays constant-time, and a refusal costs the same whether the
//! id is unknown or its secret wrong.

pub mod clients;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::crypto;
use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::ClientRecord;

pub use clients::{announce_change, listen_for_changes, ClientCache, CLIENTS_CHANNEL};

/// The authenticated client of this call.
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<ClientRecord>);

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

/// A stand-in hash to compare against when the client is unknown, so the
/// time taken says nothing about which part was wrong.
const NO_CLIENT: [u8; 32] = [0u8; 32];

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
            // As the hosted API documents it: a missing header is its own
            // code; a wrong value says nothing about which one was wrong.
            return Err(ApiError::VaultSecretError);
        };
        let (client, looked_up) = state.clients.lookup(state.store.as_ref(), id).await?;
        let stored = client
            .as_ref()
            .map(|c| c.secret_hash.as_slice())
            .unwrap_or(&NO_CLIENT);
        let secret_ok = crypto::secret_matches(secret, stored);
        let known = client
            .as_ref()
            .is_some_and(|c| c.product_instance_id == instance);
        let refused = !(secret_ok && known);
        if refused && !looked_up {
            // An unknown id costs a database read (it is in no cache): a
            // known one with a wrong secret or instance pays the same read,
            // so the time of a refusal says nothing about which it was.
            let _ = state.store.get_client(id).await;
        }
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
