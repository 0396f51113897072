//! The clients' cache, beside the authentication that reads it: clients
//! in memory, dropped when any client changes (a generation number asked
//! at most once a second, and on PostgreSQL the command line's notices).
//! It takes the store, never the app's state.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::storage::{ClientRecord, Store, StoreResult};

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
