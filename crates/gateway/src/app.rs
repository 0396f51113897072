//! Starting the gateway: configuration in, a store, keys, the DigiLocker
//! client and the state built, the server and background tasks running.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio::sync::watch;
use url::Url;

use crate::catalogue::CatalogueCache;
use crate::config::Config;
use crate::crypto::{Keyring, MasterKey};
use crate::metrics::Metrics;
use crate::state::{AppState, Clock, SystemClock};
use crate::storage::{SqliteStore, Store};
use crate::{catalogue, http, sandbox_mode, server, sweeper, webhooks};

/// A running gateway.
pub struct RunningApp {
    pub addr: SocketAddr,
    /// The admin listener's address (`admin_listen`), when there is one.
    pub admin_addr: Option<SocketAddr>,
    pub state: AppState,
    /// The embedded sandbox's admin token (sandbox mode only), as kept in
    /// `<data_dir>/sandbox-admin-token`.
    pub sandbox_admin_token: Option<String>,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    admin_server: Option<tokio::task::JoinHandle<()>>,
}

impl RunningApp {
    /// Stop serving (both listeners) and wait for the servers to finish.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        if let Some(admin) = self.admin_server {
            let _ = admin.await;
        }
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
    crate::data_dir::prepare(config)?;
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

/// Refuse a database that has served the other mode: a production
/// database never gets the sandbox (its test client, its fake DigiLocker),
/// and sandbox data never becomes production's. A database's first start
/// records its mode.
pub async fn check_served_mode(
    store: &dyn Store,
    mode: crate::config::Mode,
    now: i64,
) -> anyhow::Result<()> {
    use crate::config::Mode;
    let (served, since) = store
        .claim_mode(mode.as_str(), now)
        .await
        .context("cannot read the database's mode")?;
    let since = crate::timefmt::ist(since);
    match (mode, served.as_str()) {
        (Mode::Sandbox, "production") => Err(crate::config::ConfigRefused(format!(
            "this database has served production since {since}: it never starts in sandbox mode. \
             Give the gateway its production settings (GATEWAY_MODE=production, \
             GATEWAY_DIGILOCKER_BASE_URL, GATEWAY_DIGILOCKER_CLIENT_ID, \
             GATEWAY_DIGILOCKER_CLIENT_SECRET, GATEWAY_MASTER_KEY), or run the sandbox on a data \
             directory or database of its own"
        )))?,
        (Mode::Production, "sandbox") => Err(crate::config::ConfigRefused(format!(
            "this database has served the sandbox since {since}: its clients and requests are test \
             data. Give production a database of its own (another data directory or PostgreSQL \
             database)"
        )))?,
        _ => {}
    }
    if mode == Mode::Production {
        for c in store.list_clients().await? {
            if c.client_id.starts_with("sandbox-") && c.disabled == 0 {
                tracing::warn!(
                    client_id = %c.client_id,
                    "an enabled sandbox client is in this production database (from a start in \
                     sandbox mode before modes were recorded): disable it with `digilocker-gateway \
                     client disable {}`",
                    c.client_id
                );
            }
        }
    }
    Ok(())
}

/// The keyring from configuration; in sandbox mode a key is generated on first
/// start and kept (owner-only) in the data directory.
pub fn load_keys(config: &Config) -> anyhow::Result<Keyring> {
    let current = match &config.master_key {
        Some(k) => MasterKey::from_base64(k.expose_secret()).context("GATEWAY_MASTER_KEY is invalid")?,
        None if config.sandbox_mode() => sandbox_mode::load_or_create_key(&config.data_dir)?,
        None => bail!(
            "no master key: set GATEWAY_MASTER_KEY (or master_key in the config file) to base64 of 32 random bytes, \
             e.g. the output of `digilocker-gateway generate-key`. It encrypts tokens, user details and files at rest."
        ),
    };
    let old = config
        .old_master_keys
        .iter()
        .map(|k| MasterKey::from_base64(k.expose_secret()).context("an old master key is invalid"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Keyring::new(current, old))
}

/// Bind, build and start serving, with background tasks, on the system clock.
pub async fn start(config: Config) -> anyhow::Result<RunningApp> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

/// [`start`] with a clock of the caller's (tests move time with it).
pub async fn start_with_clock(
    mut config: Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<RunningApp> {
    // The mode first, failing closed: a missing or contradictory setting
    // stops the start, named. Then how DigiLocker is reached: an http base
    // URL in production, an unreadable or unusable CA file.
    let refused = crate::config::ConfigRefused::from_error;
    let mode = config.resolve_mode().map_err(refused)?;
    config.check_digilocker_base_url().map_err(refused)?;
    let digilocker_ca_pem = config.digilocker_extra_ca_pem().map_err(refused)?;
    config.webhooks.trusted_roots().map_err(refused)?;
    config.check_console().map_err(refused)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let admin_listener = match config.admin_listen {
        Some(admin) => Some(TcpListener::bind(admin).await.with_context(|| {
            format!("cannot listen on {admin} (admin_listen / GATEWAY_ADMIN_LISTEN)")
        })?),
        None => None,
    };
    let admin_addr = admin_listener
        .as_ref()
        .map(TcpListener::local_addr)
        .transpose()?;
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
    check_served_mode(store.as_ref(), mode, clock.now()).await?;
    let keys = load_keys(&config).map_err(refused)?;
    crate::keys::check_and_reseal(store.as_ref(), &keys, clock.now()).await?;

    let (dl, embedded) = connect_digilocker(
        &config,
        &public_base,
        store.as_ref(),
        clock.now(),
        digilocker_ca_pem,
    )
    .await?;
    let (sandbox_router, demo_client, sandbox_admin_token, embedded_root) = match embedded {
        Some(e) => (
            Some(e.router),
            Some(Arc::new(e.credentials)),
            Some(e.admin_token),
            Some(e.root_pem),
        ),
        None => (None, None, None, None),
    };
    let trust_anchors = Arc::new(trust_anchors(&config, embedded_root)?);
    let metrics = Arc::new(Metrics::default());
    let limiter = std::num::NonZeroU32::new(config.rate_limit_per_second).map(|rate| {
        let burst = std::num::NonZeroU32::new(config.rate_limit_burst).unwrap_or(rate);
        Arc::new(governor::RateLimiter::keyed(
            governor::Quota::per_second(rate).allow_burst(burst),
        ))
    });
    let limits = limits(&config);
    let state = AppState::new(crate::state::AppParts {
        limiter,
        store,
        keys,
        dl,
        config: Arc::new(config),
        clock,
        public_base,
        metrics,
        catalogue: Arc::new(CatalogueCache::default()),
        clients: Arc::new(crate::auth::ClientCache::default()),
        trust_anchors,
        demo_client,
    });

    let router = http::router(state.clone(), sandbox_router);
    let (shutdown, mut rx) = watch::channel(false);
    let server = tokio::spawn(server::serve(listener, router, limits, rx.clone()));
    // The admin listener: the same limits, stopped by the same signal.
    let admin_server = match (admin_listener, admin_addr) {
        (Some(listener), Some(admin)) => Some(tokio::spawn(server::serve(
            listener,
            http::admin_router(state.clone(), [addr, admin]),
            limits,
            rx.clone(),
        ))),
        _ => None,
    };
    if !state.config.background_tasks {
        return Ok(RunningApp {
            addr,
            admin_addr,
            state,
            sandbox_admin_token,
            shutdown,
            server,
            admin_server,
        });
    }
    let bg = sweeper::Sweeper::of(&state);
    tokio::spawn(async move {
        tokio::select! {
            _ = sweeper::run(bg) => {}
            _ = rx.wait_for(|v| *v) => {}
        }
    });
    // Forget the rate-limit state of clients that went quiet.
    if let Some(limiter) = state.limiter.clone() {
        let every = state.config.sweep_interval;
        let mut rx = shutdown.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                _ = async {
                    loop {
                        tokio::time::sleep(crate::config::interval(every)).await;
                        limiter.retain_recent();
                    }
                } => {}
                _ = rx.wait_for(|v| *v) => {}
            }
        });
    }
    spawn_webhooks(&state, addr, &shutdown).await;
    // Client changes announced by the command line (PostgreSQL).
    if let Some(url) = state
        .config
        .database_url
        .clone()
        .filter(|u| u.starts_with("postgres"))
    {
        let cache = state.clients.clone();
        let mut rx = shutdown.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                _ = crate::auth::listen_for_changes(url, cache) => {}
                _ = rx.wait_for(|v| *v) => {}
            }
        });
    }
    let crawler = crawler(&state);
    let mut rx2 = shutdown.subscribe();
    tokio::spawn(async move {
        tokio::select! {
            _ = catalogue::run_scheduler(crawler) => {}
            _ = rx2.wait_for(|v| *v) => {}
        }
    });
    Ok(RunningApp {
        addr,
        admin_addr,
        state,
        sandbox_admin_token,
        shutdown,
        server,
        admin_server,
    })
}

/// How this instance reaches DigiLocker: the partner API of the
/// configuration, or in sandbox mode the embedded sandbox, reached over real
/// HTTP under `{public_base}/sandbox` exactly as DigiLocker would be
/// (browsers are sent there too); its router is then the caller's to serve.
async fn connect_digilocker(
    config: &Config,
    public_base: &Url,
    store: &dyn Store,
    now: i64,
    extra_ca_pem: Option<Vec<u8>>,
) -> anyhow::Result<(digilocker::Client, Option<sandbox_mode::Embedded>)> {
    let base = public_base.as_str().trim_end_matches('/');
    let callback = Url::parse(&format!("{base}/digilocker/callback"))?;
    let (dl_config, embedded) = match &config.digilocker {
        Some(settings) => (
            dl_client_config(
                settings.base_url.clone(),
                &settings.client_id,
                settings.client_secret.expose_secret(),
                callback,
                config,
            ),
            None,
        ),
        None => {
            let embedded = sandbox_mode::embed(config, &callback, store, now).await?;
            (
                dl_client_config(
                    Url::parse(&format!("{base}/sandbox"))?,
                    &embedded.app_client_id,
                    &embedded.app_client_secret,
                    callback,
                    config,
                ),
                Some(embedded),
            )
        }
    };
    let dl_config = digilocker::Config {
        extra_ca_pem,
        ..dl_config
    };
    let dl = digilocker::Client::new(dl_config).context("cannot build the DigiLocker client")?;
    Ok((dl, embedded))
}

/// The connection limits of the configuration.
fn limits(config: &Config) -> server::Limits {
    server::Limits {
        header_read_timeout: config.header_read_timeout,
        max_connections: config.max_connections,
        shutdown_grace: config.shutdown_grace,
    }
}

/// What the catalogue's passes use of the state.
pub fn crawler(state: &AppState) -> catalogue::Crawler {
    catalogue::Crawler {
        store: state.store.clone(),
        dl: state.dl.clone(),
        config: state.config.clone(),
        clock: state.clock.clone(),
        metrics: state.metrics.clone(),
        cache: state.catalogue.clone(),
    }
}

/// `catalogue refresh`: ask DigiLocker for every issuer now, under the
/// catalogue lease, without the gateway's server (`None`: another instance
/// holds the lease). The configuration is checked as a start checks it. In
/// sandbox mode the embedded sandbox is DigiLocker: it is served on a
/// loopback port of its own for the pass, and nothing else is.
pub async fn refresh_catalogue(
    mut config: Config,
) -> anyhow::Result<(Option<catalogue::PassReport>, catalogue::CatalogueStatus)> {
    let refused = crate::config::ConfigRefused::from_error;
    let mode = config.resolve_mode().map_err(refused)?;
    config.check_digilocker_base_url().map_err(refused)?;
    let extra_ca_pem = config.digilocker_extra_ca_pem().map_err(refused)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = open_store(&config).await?;
    check_served_mode(store.as_ref(), mode, clock.now()).await?;
    let sandbox_listener = match config.digilocker {
        Some(_) => None,
        None => Some(
            TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .context("cannot listen on a loopback port for the sandbox")?,
        ),
    };
    let public_base = match &sandbox_listener {
        Some(l) => Url::parse(&format!("http://{}/", l.local_addr()?))?,
        None => config
            .public_base_url
            .clone()
            .unwrap_or(Url::parse(&format!("http://{}/", config.listen))?),
    };
    let (dl, embedded) = connect_digilocker(
        &config,
        &public_base,
        store.as_ref(),
        clock.now(),
        extra_ca_pem,
    )
    .await?;
    let (shutdown, rx) = watch::channel(false);
    let sandbox = match (sandbox_listener, embedded) {
        (Some(listener), Some(embedded)) => Some(tokio::spawn(server::serve(
            listener,
            embedded.router,
            limits(&config),
            rx,
        ))),
        _ => None,
    };
    let crawler = catalogue::Crawler {
        store: store.clone(),
        dl,
        config: Arc::new(config),
        clock,
        metrics: Arc::new(Metrics::default()),
        cache: Arc::new(CatalogueCache::default()),
    };
    let report = catalogue::refresh(&crawler).await;
    let _ = shutdown.send(true);
    if let Some(sandbox) = sandbox {
        let _ = sandbox.await;
    }
    let report = report?;
    let status = catalogue::status(store.as_ref()).await?;
    Ok((report, status))
}

/// The webhook delivery worker (every instance runs one), and in sandbox
/// mode the demo client's webhook pointed at this instance's receiver.
async fn spawn_webhooks(state: &AppState, addr: SocketAddr, shutdown: &watch::Sender<bool>) {
    if state.demo_client.is_some() && (addr.ip().is_loopback() || addr.ip().is_unspecified()) {
        if let Err(e) = webhooks::inbox::register_demo_webhook(state, addr.port()).await {
            tracing::warn!(error = %e, "cannot point the demo client's webhook at the demo page");
        }
    }
    let bg = webhooks::worker::Worker::of(state);
    let mut rx = shutdown.subscribe();
    tokio::spawn(async move {
        tokio::select! {
            _ = webhooks::worker::run(bg) => {}
            _ = rx.wait_for(|v| *v) => {}
        }
    });
    // DigiLocker's side of revokes whose first attempt failed.
    let bg = crate::revocation::Revoker::of(state);
    let mut rx = shutdown.subscribe();
    tokio::spawn(async move {
        tokio::select! {
            _ = crate::revocation::run(bg) => {}
            _ = rx.wait_for(|v| *v) => {}
        }
    });
}

/// The roots trusted for e-Aadhaar signatures: the configured PEM file; else
/// in sandbox mode the sandbox's root, in production the built-in CCA India
/// 2022 root. Intermediates: the configured PEM file; else in production the
/// built-in SafeScrypt 2022 CA and sub-CA (used to build a chain when a file
/// carries only its signing certificate; never trusted by themselves).
pub fn trust_anchors(
    config: &Config,
    embedded_root: Option<String>,
) -> anyhow::Result<aadhaar::TrustAnchors> {
    let roots = match (&config.trust_anchors, embedded_root) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read trust anchors {}", path.display()))?,
        (None, Some(sandbox_root)) => sandbox_root,
        (None, None) => aadhaar::trust::CCA_INDIA_2022_PEM.to_owned(),
    };
    let mut anchors = aadhaar::TrustAnchors::from_pem(&roots)
        .context("the e-Aadhaar trust anchors are not valid PEM certificates")?;
    let intermediates = match &config.trust_intermediates {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read trust intermediates {}", path.display()))?,
        ),
        None if !config.sandbox_mode() => {
            Some(aadhaar::trust::SAFESCRYPT_2022_INTERMEDIATES_PEM.to_owned())
        }
        None => None,
    };
    if let Some(pem) = intermediates {
        anchors = anchors
            .with_intermediates_pem(&pem)
            .context("the e-Aadhaar intermediates are not valid PEM certificates")?;
    }
    Ok(anchors)
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
