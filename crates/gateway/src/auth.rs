//! Client authentication by the three contract headers, from memory.
//!
//! Clients are cached by id with their secret's hash; the cache asks the
//! database at most once a second whether any client changed (a generation
//! number every client change bumps), so `rotate-secret` and `disable` take
//! effect on every instance within a second without a database round trip
//! per call. On PostgreSQL the command line also announces each change
//! (`NOTIFY gateway_clients`), which every instance hears within
//! milliseconds and drops its cache for ([`listen_for_changes`]). The
//! comparison stays constant-time, and a refusal costs the same whether the
//! id is unknown or its secret wrong.

/// The PostgreSQL channel client changes are announced on.
pub const CLIENTS_CHANNEL: &str = "gateway_clients";

/// Drop `cache` whenever a client change is announced on PostgreSQL, for
/// as long as the app runs; reconnects (dropping the cache, as a notice may
/// have been missed) after a lost connection.
pub async fn listen_for_changes(url: String, cache: Arc<ClientCache>) {
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen(CLIENTS_CHANNEL).await {
                    tracing::warn!(error = %e, "cannot listen for client changes; the cache checks every second");
                } else {
                    cache.invalidate();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(_)) => cache.invalidate(),
                            // The connection was lost (and is made again by
                            // the next call): a notice may have been missed.
                            Ok(None) => cache.invalidate(),
                            Err(e) => {
                                tracing::warn!(error = %e, "client change notices interrupted");
                                break;
                            }
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for client changes; the cache checks every second")
            }
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// Announce a client change to every instance (PostgreSQL only; each
/// instance's cache also finds it within a second without it).
pub async fn announce_change(url: &str) {
    use sqlx::Connection as _;
    let sent = async {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(CLIENTS_CHANNEL)
            .execute(&mut conn)
            .await?;
        conn.close().await
    }
    .await;
    if let Err(e) = sent {
        tracing::warn!(error = %e, "could not announce the client change; instances see it within a second");
    }
}

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::crypto;
use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::{ClientRecord, Store, StoreResult};

/// The authenticated client of this call.
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<ClientRecord>);

/// How stale the cache may be.
const FRESHNESS: Duration = Duration::from_secs(1);
/// Most clients kept (unknown ids are not cached).
const MAX_CLIENTS: usize = 10_000;

#[derive(Debug, Default)]
struct Cached {
    generation: i64,
    checked: Option<Instant>,
    clients: HashMap<String, Arc<ClientRecord>>,
}

/// Clients in memory, dropped when any client changes.
#[derive(Debug, Default)]
pub struct ClientCache {
    inner: RwLock<Cached>,
    /// One generation check at a time.
    checking: tokio::sync::Mutex<()>,
}

impl ClientCache {
    /// The client, from memory when the cache is fresh.
    pub async fn get(
        &self,
        store: &dyn Store,
        client_id: &str,
    ) -> StoreResult<Option<Arc<ClientRecord>>> {
        Ok(self.lookup(store, client_id).await?.0)
    }

    /// [`ClientCache::get`], and whether the database was asked.
    pub async fn lookup(
        &self,
        store: &dyn Store,
        client_id: &str,
    ) -> StoreResult<(Option<Arc<ClientRecord>>, bool)> {
        self.refresh(store).await?;
        if let Ok(cached) = self.inner.read() {
            if let Some(c) = cached.clients.get(client_id) {
                return Ok((Some(c.clone()), false));
            }
        }
        let Some(client) = store.get_client(client_id).await? else {
            return Ok((None, true));
        };
        let client = Arc::new(client);
        if let Ok(mut cached) = self.inner.write() {
            if cached.clients.len() >= MAX_CLIENTS {
                cached.clients.clear();
            }
            cached.clients.insert(client_id.to_owned(), client.clone());
        }
        Ok((Some(client), true))
    }

    /// Forget every client now (a change was announced): the next call
    /// asks the database.
    pub fn invalidate(&self) {
        if let Ok(mut cached) = self.inner.write() {
            cached.clients.clear();
            cached.checked = None;
        }
    }

    /// Drop everything when the generation moved; ask at most once a second.
    async fn refresh(&self, store: &dyn Store) -> StoreResult<()> {
        let fresh = |c: &Cached| c.checked.is_some_and(|at| at.elapsed() < FRESHNESS);
        if self.inner.read().map(|c| fresh(&c)).unwrap_or(false) {
            return Ok(());
        }
        let _one = self.checking.lock().await;
        if self.inner.read().map(|c| fresh(&c)).unwrap_or(false) {
            return Ok(());
        }
        let generation = store.client_generation().await?;
        if let Ok(mut cached) = self.inner.write() {
            if cached.generation != generation {
                cached.clients.clear();
                cached.generation = generation;
            }
            cached.checked = Some(Instant::now());
        }
        Ok(())
    }
}

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
