//! Building and running the app: state, router, background tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::watch;
use url::Url;

use crate::catalogue::CatalogueCache;
use crate::config::Config;
use crate::crypto::{Keyring, MasterKey};
use crate::metrics::Metrics;
use crate::storage::{SqliteStore, Store};
use crate::{api, catalogue, demo, files, journey, sandbox_mode, sweeper, trace};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub keys: Keyring,
    pub dl: digilocker::Client,
    pub config: Arc<Config>,
    /// Where browsers and businesses reach us.
    pub public_base: Url,
    /// Where this process itself can reach its own listener (the demo page
    /// calls the API through it), e.g. `http://127.0.0.1:8080`.
    pub local_base: String,
    pub metrics: Arc<Metrics>,
    pub catalogue: Arc<CatalogueCache>,
    /// The roots trusted for e-Aadhaar signatures; `None` when none are configured.
    pub trust_anchors: Option<Arc<aadhaar::TrustAnchors>>,
    /// Per-client call rate on this instance; `None` when unlimited.
    pub limiter: Option<Arc<governor::DefaultKeyedRateLimiter<String>>>,
    /// The sandbox client's credentials (sandbox mode only), for the demo page.
    pub demo_client: Option<Arc<sandbox_mode::SandboxCredentials>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_base", &self.public_base.as_str())
            .finish()
    }
}

impl AppState {
    /// An absolute URL on our public base.
    pub fn public_url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.public_base.as_str().trim_end_matches('/'),
            path
        )
    }
}

/// A running gateway.
pub struct RunningApp {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

impl RunningApp {
    /// Stop serving and wait for the server to finish.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
    }

    /// The base URL of this instance.
    pub fn base_url(&self) -> String {
        self.state
            .public_base
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }
}

/// Open the configured store.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    match config.database_url.as_deref() {
        None => {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("cannot create data directory {}", config.data_dir.display())
            })?;
            Ok(Arc::new(SqliteStore::open(&config.sqlite_path()).await?))
        }
        Some(url) if url.starts_with("sqlite:") => {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            Ok(Arc::new(
                SqliteStore::open(std::path::Path::new(path)).await?,
            ))
        }
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            crate::storage::open_postgres(url).await
        }
        Some(_) => bail!("database URL must start with sqlite:// or postgres://"),
    }
}

/// The keyring from configuration; in sandbox mode a key is generated on first
/// start and kept (owner-only) in the data directory.
pub fn load_keys(config: &Config) -> anyhow::Result<Keyring> {
    let current = match &config.master_key {
        Some(k) => MasterKey::from_base64(k).context("GATEWAY_MASTER_KEY is invalid")?,
        None if config.sandbox_mode() => sandbox_mode::load_or_create_key(&config.data_dir)?,
        None => bail!(
            "no master key: set GATEWAY_MASTER_KEY (or master_key in the config file) to base64 of 32 random bytes, \
             e.g. the output of `digilocker-gateway generate-key`. It encrypts tokens, user details and files at rest."
        ),
    };
    let old = config
        .old_master_keys
        .iter()
        .map(|k| MasterKey::from_base64(k).context("an old master key is invalid"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Keyring::new(current, old))
}

/// Bind, build and start serving, with background tasks.
pub async fn start(config: Config) -> anyhow::Result<RunningApp> {
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let local_ip = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    let local_host = if addr.is_ipv6() && !addr.ip().is_unspecified() {
        format!("[{local_ip}]")
    } else {
        local_ip
    };
    let local_base = format!("http://{local_host}:{}", addr.port());
    let public_base = match &config.public_base_url {
        Some(u) => u.clone(),
        None => {
            let host = if addr.ip().is_unspecified() {
                "127.0.0.1".to_owned()
            } else {
                addr.ip().to_string()
            };
            let host = if addr.is_ipv6() && !addr.ip().is_unspecified() {
                format!("[{host}]")
            } else {
                host
            };
            Url::parse(&format!("http://{host}:{}/", addr.port()))?
        }
    };
    let store = open_store(&config).await?;
    let keys = load_keys(&config)?;
    let callback = Url::parse(&format!(
        "{}/digilocker/callback",
        public_base.as_str().trim_end_matches('/')
    ))?;

    let mut sandbox_router = None;
    let mut demo_client = None;
    let (dl_config, mut trust_anchors_pem) = match &config.digilocker {
        Some(settings) => (
            dl_client_config(
                settings.base_url.clone(),
                &settings.client_id,
                &settings.client_secret,
                callback,
                &config,
            ),
            String::new(),
        ),
        None => {
            // The sandbox is reached over real HTTP at our public address,
            // exactly as DigiLocker would be (browsers are sent there too).
            let self_base = Url::parse(&format!(
                "{}/sandbox",
                public_base.as_str().trim_end_matches('/')
            ))?;
            let embedded = sandbox_mode::embed(&config, &callback, store.as_ref()).await?;
            sandbox_router = Some(embedded.router);
            demo_client = Some(Arc::new(embedded.credentials));
            (
                dl_client_config(
                    self_base,
                    &embedded.app_client_id,
                    &embedded.app_client_secret,
                    callback,
                    &config,
                ),
                embedded.root_pem,
            )
        }
    };
    if let Some(path) = &config.trust_anchors {
        trust_anchors_pem = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read trust anchors {}", path.display()))?;
    }
    let trust_anchors = if trust_anchors_pem.trim().is_empty() {
        tracing::warn!(
            "no e-Aadhaar trust anchors configured: /aadhaar will answer unwrap_aadhaar_failed"
        );
        None
    } else {
        let mut anchors = aadhaar::TrustAnchors::from_pem(&trust_anchors_pem)
            .context("the e-Aadhaar trust anchors are not valid PEM certificates")?;
        if let Some(path) = &config.trust_intermediates {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read trust intermediates {}", path.display()))?;
            anchors = anchors
                .with_intermediates_pem(&pem)
                .context("the e-Aadhaar intermediates are not valid PEM certificates")?;
        }
        Some(Arc::new(anchors))
    };
    let dl = digilocker::Client::new(dl_config).context("cannot build the DigiLocker client")?;
    let metrics = Arc::new(Metrics::default());
    let limiter = std::num::NonZeroU32::new(config.rate_limit_per_second).map(|rate| {
        let burst = std::num::NonZeroU32::new(config.rate_limit_burst).unwrap_or(rate);
        Arc::new(governor::RateLimiter::keyed(
            governor::Quota::per_second(rate).allow_burst(burst),
        ))
    });
    let state = AppState {
        limiter,
        store,
        keys,
        dl,
        config: Arc::new(config),
        public_base,
        local_base,
        metrics: metrics.clone(),
        catalogue: Arc::new(CatalogueCache::default()),
        trust_anchors,
        demo_client,
    };

    let mut router = router(state.clone());
    if let Some(sb) = sandbox_router {
        router = router.merge(sb);
    }
    let router = router
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::track,
        ))
        .layer(axum::middleware::from_fn(trace::trace_layer));

    let (shutdown, mut rx) = watch::channel(false);
    let mut rx_server = rx.clone();
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = rx_server.wait_for(|v| *v).await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "server stopped with an error");
        }
    });
    if !state.config.background_tasks {
        return Ok(RunningApp {
            addr,
            state,
            shutdown,
            server,
        });
    }
    let bg = state.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = sweeper::run(bg.clone()) => {}
            _ = rx.wait_for(|v| *v) => {}
        }
    });
    let bg = state.clone();
    let mut rx2 = shutdown.subscribe();
    tokio::spawn(async move {
        tokio::select! {
            _ = catalogue::run_scheduler(bg) => {}
            _ = rx2.wait_for(|v| *v) => {}
        }
    });
    Ok(RunningApp {
        addr,
        state,
        shutdown,
        server,
    })
}

fn dl_client_config(
    base_url: Url,
    client_id: &str,
    secret: &str,
    redirect_uri: Url,
    config: &Config,
) -> digilocker::Config {
    let mut c = digilocker::Config::new(
        base_url,
        client_id,
        SecretString::from(secret.to_owned()),
        redirect_uri,
    );
    c.timeout = config.upstream_timeout;
    c
}

/// The gateway's own routes.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/digilocker", post(api::create))
        .route("/api/digilocker/documents", get(api::documents))
        .route("/api/digilocker/{id}/status", get(api::status))
        .route("/api/digilocker/{id}/document", post(api::fetch_document))
        .route("/api/digilocker/{id}/aadhaar", get(crate::ekyc::aadhaar))
        .route("/api/digilocker/{id}/issued", get(api::issued))
        .route("/api/digilocker/{id}/revoke", get(api::revoke))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes));
    let mut router = Router::new()
        .merge(api)
        .route("/digilocker/{id}/start", get(journey::start))
        .route("/digilocker/callback", get(journey::callback))
        .route("/files/{token}", get(files::download))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(api::readyz))
        .route(
            "/metrics",
            get(crate::metrics::endpoint).with_state(state.metrics.clone()),
        );
    if state.demo_client.is_some() {
        router = router.merge(demo::router());
    }
    router.fallback(api::not_found).with_state(state)
}

/// Wait for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A sleep that tests can shorten through configuration.
pub fn interval(d: Duration) -> Duration {
    d.max(Duration::from_millis(100))
}
