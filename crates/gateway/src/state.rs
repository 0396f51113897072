//! What every handler can reach: the shared state and the clock. Everything
//! here sits below the handlers; nothing here knows about routes.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use url::Url;

use crate::auth::clients::ClientCache;
use crate::catalogue::snapshot::CatalogueCache;
use crate::config::Config;
use crate::crypto::Keyring;
use crate::metrics::Metrics;
use crate::sandbox_mode::SandboxCredentials;
use crate::storage::Store;

/// Where time comes from. Handlers, the sweeper and the journey ask the
/// clock instead of the system, so tests can move time instead of sleeping.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// The wall clock moved by an offset that tests control: `advance` jumps
/// every expiry forward without sleeping.
#[derive(Debug, Default)]
pub struct ManualClock {
    offset: AtomicI64,
}

impl ManualClock {
    /// A clock that starts at the system's time.
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock::default())
    }

    /// Move time forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        SystemClock
            .now()
            .saturating_add(self.offset.load(Ordering::SeqCst))
    }
}

/// What every handler can reach: cheap to clone (one reference count), as
/// axum clones it for every extractor of every call.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    /// The state made of its parts.
    pub fn new(parts: AppParts) -> AppState {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;
    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct AppParts {
    pub store: Arc<dyn Store>,
    pub keys: Keyring,
    pub dl: digilocker::Client,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    /// Where browsers and businesses reach us.
    pub public_base: Url,
    pub metrics: Arc<Metrics>,
    pub catalogue: Arc<CatalogueCache>,
    /// Clients in memory (authentication without a database round trip).
    pub clients: Arc<ClientCache>,
    /// The roots trusted for e-Aadhaar signatures.
    pub trust_anchors: Arc<aadhaar::TrustAnchors>,
    /// Per-client call rate on this instance; `None` when unlimited.
    pub limiter: Option<Arc<governor::DefaultKeyedRateLimiter<String>>>,
    /// The sandbox client's credentials (sandbox mode only), for the demo page.
    pub demo_client: Option<Arc<SandboxCredentials>>,
}

impl std::fmt::Debug for AppParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_base", &self.public_base.as_str())
            .finish()
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl AppParts {
    /// An absolute URL on our public base.
    pub fn public_url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.public_base.as_str().trim_end_matches('/'),
            path
        )
    }

    /// Seconds since the epoch, by this app's clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
