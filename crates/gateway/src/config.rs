//! Configuration: defaults, then an optional TOML file, then environment
//! variables, then command-line flags (each overriding the one before).
//! With nothing set at all the gateway runs in sandbox mode.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use url::Url;

/// DigiLocker partner settings (production). Absent means sandbox mode.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigilockerSettings {
    /// e.g. `https://digilocker.meripehchaan.gov.in/public`.
    pub base_url: Url,
    pub client_id: String,
    pub client_secret: String,
}

/// The `[digilocker]` table of the TOML file: the partner settings (all
/// three or none) and how the client reaches DigiLocker.
#[derive(Debug, Default, Deserialize)]
#[serde(try_from = "DigilockerTableKeys")]
pub struct DigilockerTable {
    /// `base_url`, `client_id` and `client_secret`, when given.
    pub settings: Option<DigilockerSettings>,
    /// `ca_file`: a PEM bundle of CA certificates trusted for DigiLocker's
    /// TLS certificate besides the public roots.
    pub ca_file: Option<PathBuf>,
    /// `allow_http`: accept an `http://` base URL in production.
    pub allow_http: Option<bool>,
}

/// The keys of `[digilocker]`, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DigilockerTableKeys {
    base_url: Option<Url>,
    client_id: Option<String>,
    client_secret: Option<String>,
    ca_file: Option<PathBuf>,
    allow_http: Option<bool>,
}

impl TryFrom<DigilockerTableKeys> for DigilockerTable {
    type Error = String;

    fn try_from(k: DigilockerTableKeys) -> Result<Self, String> {
        let settings = match (k.base_url, k.client_id, k.client_secret) {
            (Some(base_url), Some(client_id), Some(client_secret)) => Some(DigilockerSettings {
                base_url,
                client_id,
                client_secret,
            }),
            (None, None, None) => None,
            _ => {
                return Err(
                    "[digilocker] needs base_url, client_id and client_secret together \
                     (none of them: sandbox mode)"
                        .into(),
                )
            }
        };
        Ok(DigilockerTable {
            settings,
            ca_file: k.ca_file,
            allow_http: k.allow_http,
        })
    }
}

/// The default of `aadhaar_max_age_days`: three years.
pub const DEFAULT_AADHAAR_MAX_AGE_DAYS: u64 = 1095;

/// Everything the gateway needs to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// A second listener for operators (`/metrics`, `/readyz`, `/healthz`),
    /// kept off the public port: when set, `/metrics` is served only here.
    pub admin_listen: Option<SocketAddr>,
    pub data_dir: PathBuf,
    /// `sqlite://path` or `postgres://...`; default SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// The address businesses and browsers reach us at, used in `url` and
    /// `fileUrl`; default `http://<listen address>`.
    pub public_base_url: Option<Url>,
    /// Base64 of 32 bytes. Required outside sandbox mode.
    pub master_key: Option<String>,
    /// Older keys, still accepted for decryption after a rotation.
    pub old_master_keys: Vec<String>,
    pub digilocker: Option<DigilockerSettings>,
    /// Signed webhooks: delivery schedule, timeout, which targets are allowed.
    pub webhooks: WebhookConfig,
    /// PEM file of the roots trusted for e-Aadhaar signatures (CCA India's
    /// root in production). In sandbox mode the sandbox's root is trusted
    /// unless this is set.
    pub trust_anchors: Option<PathBuf>,
    /// PEM file of intermediate CA certificates that help build the chain
    /// when an e-Aadhaar's KeyInfo carries only the signing certificate.
    /// They are not trusted by themselves.
    pub trust_intermediates: Option<PathBuf>,
    /// The largest accepted age of an e-Aadhaar, in days: now minus its
    /// signing time (`KycRes ts`). An older one verifies but is answered
    /// `aadhaar_not_available` (the user must perform Aadhaar KYC again).
    /// 0: no limit. Default [`DEFAULT_AADHAAR_MAX_AGE_DAYS`] (three years).
    pub aadhaar_max_age_days: u64,
    /// `[digilocker] ca_file`: a PEM bundle of CA certificates the DigiLocker
    /// client trusts besides the public roots (DigiLocker, or a proxy in front
    /// of it, behind a private CA).
    pub digilocker_ca_file: Option<PathBuf>,
    /// `[digilocker] allow_http`: accept an `http://` DigiLocker base URL in
    /// production, where tokens then travel in clear text. Default false.
    pub digilocker_allow_http: bool,
    pub request_ttl: Duration,
    pub file_link_ttl: Duration,
    /// How long the consent audit trail (events) is kept after it was
    /// written, past its request's erasure.
    pub audit_retention: Duration,
    pub catalogue_refresh: Duration,
    pub catalogue_parallelism: usize,
    /// Most catalogue calls made to DigiLocker per second, whatever fails.
    pub catalogue_calls_per_second: u32,
    /// A failing issuer is asked again after this at first, doubling (with
    /// jitter) up to `catalogue_retry_max`.
    pub catalogue_retry_min: Duration,
    pub catalogue_retry_max: Duration,
    pub upstream_timeout: Duration,
    pub sweep_interval: Duration,
    /// On PostgreSQL, the shortest time between two rewrites (`VACUUM
    /// FULL requests`) that take erased rows' old versions, data keys and
    /// all, out of the table's files; zero: never (the operator rewrites).
    /// The bound on how long an erased data key stays in the table files is
    /// this plus `sweep_interval` plus the rewrite itself.
    pub erasure_rewrite_interval: Duration,
    /// Where the embedded sandbox keeps its CA; default `<data_dir>/sandbox`.
    pub sandbox_dir: Option<PathBuf>,
    /// Sandbox catalogue size (issuers, pairs); sandbox mode only.
    pub sandbox_catalogue: (usize, usize),
    /// The embedded sandbox's e-Aadhaar layout (default: DigiLocker's real one).
    pub sandbox_eaadhaar_shape: sandbox::EAadhaarShape,
    /// The embedded sandbox answers with real DigiLocker's variant spellings,
    /// rotating refresh tokens and mixed date formats (default on).
    pub sandbox_quirks: bool,
    /// Latency of each of the embedded sandbox's signed catalogue calls.
    pub sandbox_catalogue_latency: Duration,
    /// The embedded sandbox's documented handful of failing, flaky and slow
    /// issuers (default on, as in real DigiLocker; off for a quick demo).
    pub sandbox_failing_issuers: bool,
    /// Calls per second each client may make to `/api` on one instance
    /// (0: no limit), and the burst above that rate.
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    /// Largest accepted API request body.
    pub max_body_bytes: usize,
    /// A request's headers must arrive within this; idle keep-alive
    /// connections are closed after it too.
    pub header_read_timeout: Duration,
    /// A request's whole body must arrive within this.
    pub body_read_timeout: Duration,
    /// One call may take this long before it is answered `503`.
    pub request_timeout: Duration,
    /// Connections served at once on this instance.
    pub max_connections: usize,
    /// On SIGTERM, how long open calls may finish before the process exits.
    pub shutdown_grace: Duration,
    /// Name of this instance in logs and the erasure log.
    pub instance_name: String,
    /// Run the sweeper and the catalogue scheduler (off for one-shot commands).
    pub background_tasks: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_listen: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            public_base_url: None,
            master_key: None,
            old_master_keys: Vec::new(),
            digilocker: None,
            webhooks: WebhookConfig::default(),
            trust_anchors: None,
            trust_intermediates: None,
            aadhaar_max_age_days: DEFAULT_AADHAAR_MAX_AGE_DAYS,
            digilocker_ca_file: None,
            digilocker_allow_http: false,
            request_ttl: Duration::from_secs(3600),
            file_link_ttl: Duration::from_secs(600),
            audit_retention: Duration::from_secs(180 * 24 * 3600),
            catalogue_refresh: Duration::from_secs(30 * 24 * 3600),
            catalogue_parallelism: 16,
            catalogue_calls_per_second: 50,
            catalogue_retry_min: Duration::from_secs(60),
            catalogue_retry_max: Duration::from_secs(6 * 3600),
            upstream_timeout: Duration::from_secs(30),
            sweep_interval: Duration::from_secs(30),
            erasure_rewrite_interval: Duration::from_secs(300),
            sandbox_dir: None,
            sandbox_catalogue: (2000, 10_000),
            sandbox_eaadhaar_shape: sandbox::EAadhaarShape::default(),
            sandbox_quirks: true,
            sandbox_catalogue_latency: sandbox::federation::DEFAULT_CATALOGUE_LATENCY,
            sandbox_failing_issuers: true,
            // Generous: the businesses are the operator's own, and a normal
            // integration (the hosted API has no such limit) must never meet
            // it; it is there against a runaway loop starving the others.
            rate_limit_per_second: 500,
            rate_limit_burst: 1000,
            max_body_bytes: 64 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(120),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(10),
            instance_name: default_instance_name(),
            background_tasks: true,
        }
    }
}

fn default_instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "gateway".into());
    format!("{host}-{}", std::process::id())
}

/// The TOML file's shape; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub admin_listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_base_url: Option<Url>,
    pub master_key: Option<String>,
    #[serde(default)]
    pub old_master_keys: Vec<String>,
    pub digilocker: Option<DigilockerTable>,
    pub webhooks: Option<WebhookFileConfig>,
    pub trust_anchors: Option<PathBuf>,
    pub trust_intermediates: Option<PathBuf>,
    pub aadhaar_max_age_days: Option<u64>,
    pub request_ttl_seconds: Option<u64>,
    pub file_link_ttl_seconds: Option<u64>,
    pub audit_retention_days: Option<u64>,
    pub catalogue_refresh_seconds: Option<u64>,
    pub catalogue_parallelism: Option<usize>,
    pub catalogue_calls_per_second: Option<u32>,
    pub catalogue_retry_min_seconds: Option<u64>,
    pub catalogue_retry_max_seconds: Option<u64>,
    pub sandbox_failing_issuers: Option<bool>,
    pub upstream_timeout_seconds: Option<u64>,
    pub sweep_interval_seconds: Option<u64>,
    pub erasure_rewrite_interval_seconds: Option<u64>,
    pub rate_limit_per_second: Option<u32>,
    pub rate_limit_burst: Option<u32>,
    pub instance_name: Option<String>,
    pub header_read_timeout_seconds: Option<u64>,
    pub body_read_timeout_seconds: Option<u64>,
    pub request_timeout_seconds: Option<u64>,
    pub max_connections: Option<usize>,
    pub shutdown_grace_seconds: Option<u64>,
}

impl Config {
    /// Is this the embedded sandbox (no DigiLocker partner settings)?
    pub fn sandbox_mode(&self) -> bool {
        self.digilocker.is_none()
    }

    /// Apply a TOML file.
    pub fn apply_file(&mut self, path: &Path) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let file: FileConfig = toml::from_str(&text)
            .with_context(|| format!("config file {} is invalid", path.display()))?;
        self.apply(file);
        Ok(())
    }

    fn apply(&mut self, f: FileConfig) {
        let secs = Duration::from_secs;
        if let Some(v) = f.listen {
            self.listen = v;
        }
        if let Some(v) = f.admin_listen {
            self.admin_listen = Some(v);
        }
        if let Some(v) = f.data_dir {
            self.data_dir = v;
        }
        if f.database_url.is_some() {
            self.database_url = f.database_url;
        }
        if f.public_base_url.is_some() {
            self.public_base_url = f.public_base_url;
        }
        if f.master_key.is_some() {
            self.master_key = f.master_key;
        }
        if !f.old_master_keys.is_empty() {
            self.old_master_keys = f.old_master_keys;
        }
        if let Some(table) = f.digilocker {
            if table.settings.is_some() {
                self.digilocker = table.settings;
            }
            if table.ca_file.is_some() {
                self.digilocker_ca_file = table.ca_file;
            }
            if let Some(v) = table.allow_http {
                self.digilocker_allow_http = v;
            }
        }
        if let Some(v) = f.aadhaar_max_age_days {
            self.aadhaar_max_age_days = v;
        }
        if let Some(w) = f.webhooks {
            self.webhooks.apply(w);
        }
        if f.trust_anchors.is_some() {
            self.trust_anchors = f.trust_anchors;
        }
        if f.trust_intermediates.is_some() {
            self.trust_intermediates = f.trust_intermediates;
        }
        if let Some(v) = f.rate_limit_per_second {
            self.rate_limit_per_second = v;
        }
        if let Some(v) = f.rate_limit_burst {
            self.rate_limit_burst = v;
        }
        if let Some(v) = f.request_ttl_seconds {
            self.request_ttl = secs(v);
        }
        if let Some(v) = f.file_link_ttl_seconds {
            self.file_link_ttl = secs(v);
        }
        if let Some(v) = f.audit_retention_days {
            self.audit_retention = secs(v.saturating_mul(24 * 3600));
        }
        if let Some(v) = f.catalogue_refresh_seconds {
            self.catalogue_refresh = secs(v);
        }
        if let Some(v) = f.catalogue_parallelism {
            self.catalogue_parallelism = v.max(1);
        }
        if let Some(v) = f.catalogue_calls_per_second {
            self.catalogue_calls_per_second = v.max(1);
        }
        if let Some(v) = f.catalogue_retry_min_seconds {
            self.catalogue_retry_min = secs(v.max(1));
        }
        if let Some(v) = f.catalogue_retry_max_seconds {
            self.catalogue_retry_max = secs(v.max(1));
        }
        if let Some(v) = f.sandbox_failing_issuers {
            self.sandbox_failing_issuers = v;
        }
        if let Some(v) = f.upstream_timeout_seconds {
            self.upstream_timeout = secs(v);
        }
        if let Some(v) = f.sweep_interval_seconds {
            self.sweep_interval = secs(v.max(1));
        }
        if let Some(v) = f.erasure_rewrite_interval_seconds {
            self.erasure_rewrite_interval = secs(v);
        }
        if let Some(v) = f.instance_name {
            self.instance_name = v;
        }
        if let Some(v) = f.header_read_timeout_seconds {
            self.header_read_timeout = secs(v.max(1));
        }
        if let Some(v) = f.body_read_timeout_seconds {
            self.body_read_timeout = secs(v.max(1));
        }
        if let Some(v) = f.request_timeout_seconds {
            self.request_timeout = secs(v.max(1));
        }
        if let Some(v) = f.max_connections {
            self.max_connections = v.max(1);
        }
        if let Some(v) = f.shutdown_grace_seconds {
            self.shutdown_grace = secs(v);
        }
    }

    /// Apply the `GATEWAY_*` environment variables.
    pub fn apply_env(&mut self) -> anyhow::Result<()> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let num = |name: &str| -> anyhow::Result<Option<u64>> {
            var(name)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .with_context(|| format!("{name} must be a whole number"))
                })
                .transpose()
        };
        let mut f = FileConfig {
            listen: var("GATEWAY_LISTEN")
                .map(|v| v.parse())
                .transpose()
                .context("GATEWAY_LISTEN must be host:port")?,
            admin_listen: var("GATEWAY_ADMIN_LISTEN")
                .map(|v| v.trim().parse())
                .transpose()
                .context("GATEWAY_ADMIN_LISTEN must be host:port, e.g. 127.0.0.1:9090")?,
            data_dir: var("GATEWAY_DATA_DIR").map(PathBuf::from),
            database_url: var("GATEWAY_DATABASE_URL").or_else(|| var("DATABASE_URL")),
            public_base_url: var("GATEWAY_PUBLIC_BASE_URL")
                .map(|v| Url::parse(&v))
                .transpose()
                .context("GATEWAY_PUBLIC_BASE_URL must be an absolute URL")?,
            master_key: var("GATEWAY_MASTER_KEY"),
            old_master_keys: var("GATEWAY_OLD_MASTER_KEYS")
                .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
                .unwrap_or_default(),
            digilocker: None,
            webhooks: WebhookFileConfig::from_env()?,
            trust_anchors: var("GATEWAY_TRUST_ANCHORS").map(PathBuf::from),
            trust_intermediates: var("GATEWAY_TRUST_INTERMEDIATES").map(PathBuf::from),
            aadhaar_max_age_days: num("GATEWAY_AADHAAR_MAX_AGE_DAYS")?,
            request_ttl_seconds: num("GATEWAY_REQUEST_TTL_SECONDS")?,
            file_link_ttl_seconds: num("GATEWAY_FILE_LINK_TTL_SECONDS")?,
            audit_retention_days: num("GATEWAY_AUDIT_RETENTION_DAYS")?,
            catalogue_refresh_seconds: num("GATEWAY_CATALOGUE_REFRESH_SECONDS")?,
            catalogue_parallelism: num("GATEWAY_CATALOGUE_PARALLELISM")?.map(|v| v as usize),
            catalogue_calls_per_second: num("GATEWAY_CATALOGUE_CALLS_PER_SECOND")?
                .map(|v| v.min(u32::MAX as u64) as u32),
            catalogue_retry_min_seconds: num("GATEWAY_CATALOGUE_RETRY_MIN_SECONDS")?,
            catalogue_retry_max_seconds: num("GATEWAY_CATALOGUE_RETRY_MAX_SECONDS")?,
            sandbox_failing_issuers: var("GATEWAY_SANDBOX_FAILING_ISSUERS")
                .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => Ok(true),
                    "false" | "0" | "no" | "off" => Ok(false),
                    _ => Err(anyhow::anyhow!(
                        "GATEWAY_SANDBOX_FAILING_ISSUERS must be true or false"
                    )),
                })
                .transpose()?,
            upstream_timeout_seconds: num("GATEWAY_UPSTREAM_TIMEOUT_SECONDS")?,
            sweep_interval_seconds: num("GATEWAY_SWEEP_INTERVAL_SECONDS")?,
            erasure_rewrite_interval_seconds: num("GATEWAY_ERASURE_REWRITE_INTERVAL_SECONDS")?,
            rate_limit_per_second: num("GATEWAY_RATE_LIMIT_PER_SECOND")?
                .map(|v| v.min(u32::MAX as u64) as u32),
            rate_limit_burst: num("GATEWAY_RATE_LIMIT_BURST")?
                .map(|v| v.min(u32::MAX as u64) as u32),
            instance_name: var("GATEWAY_INSTANCE_NAME"),
            header_read_timeout_seconds: num("GATEWAY_HEADER_READ_TIMEOUT_SECONDS")?,
            body_read_timeout_seconds: num("GATEWAY_BODY_READ_TIMEOUT_SECONDS")?,
            request_timeout_seconds: num("GATEWAY_REQUEST_TIMEOUT_SECONDS")?,
            max_connections: num("GATEWAY_MAX_CONNECTIONS")?.map(|v| v as usize),
            shutdown_grace_seconds: num("GATEWAY_SHUTDOWN_GRACE_SECONDS")?,
        };
        if let (Some(base), Some(id), Some(secret)) = (
            var("GATEWAY_DIGILOCKER_BASE_URL"),
            var("GATEWAY_DIGILOCKER_CLIENT_ID"),
            var("GATEWAY_DIGILOCKER_CLIENT_SECRET"),
        ) {
            f.digilocker = Some(DigilockerTable {
                settings: Some(DigilockerSettings {
                    base_url: Url::parse(&base)
                        .context("GATEWAY_DIGILOCKER_BASE_URL must be an absolute URL")?,
                    client_id: id,
                    client_secret: secret,
                }),
                ..DigilockerTable::default()
            });
        }
        let ca_file = var("GATEWAY_DIGILOCKER_CA_FILE").map(PathBuf::from);
        let allow_http = var("GATEWAY_DIGILOCKER_ALLOW_HTTP")
            .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => anyhow::bail!("GATEWAY_DIGILOCKER_ALLOW_HTTP must be true or false"),
            })
            .transpose()?;
        if ca_file.is_some() || allow_http.is_some() {
            let table = f.digilocker.get_or_insert_with(DigilockerTable::default);
            table.ca_file = ca_file.or(table.ca_file.take());
            table.allow_http = allow_http.or(table.allow_http);
        }
        self.apply(f);
        Ok(())
    }

    /// The SQLite file used when no database URL is set.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("gateway.sqlite")
    }

    /// The e-Aadhaar age policy (`aadhaar_max_age_days`; 0: none).
    pub fn aadhaar_max_age(&self) -> Option<time::Duration> {
        let days = i64::try_from(self.aadhaar_max_age_days).unwrap_or(i64::MAX);
        (days > 0).then(|| time::Duration::days(days.min(365 * 10_000)))
    }

    /// Refuse, in production, an `http://` DigiLocker base URL unless
    /// `[digilocker] allow_http` says so; when it does, say loudly what that
    /// means. Sandbox mode (the embedded sandbox) is not concerned.
    pub fn check_digilocker_base_url(&self) -> anyhow::Result<()> {
        let Some(settings) = &self.digilocker else {
            return Ok(());
        };
        if settings.base_url.scheme() != "http" {
            return Ok(());
        }
        if !self.digilocker_allow_http {
            anyhow::bail!(
                "the DigiLocker base URL {} (GATEWAY_DIGILOCKER_BASE_URL, or [digilocker] base_url) \
                 is plain http: access and refresh tokens, the client secret and every document \
                 would cross the network in clear text. Use DigiLocker's https URL. Only for a \
                 DigiLocker reached through a network you trust end to end, set \
                 GATEWAY_DIGILOCKER_ALLOW_HTTP=true (or [digilocker] allow_http = true).",
                settings.base_url
            );
        }
        tracing::error!(
            base_url = %settings.base_url,
            "the DigiLocker base URL is plain http (allowed by GATEWAY_DIGILOCKER_ALLOW_HTTP / \
             [digilocker] allow_http): access and refresh tokens, the client secret and every \
             document travel in clear text"
        );
        Ok(())
    }

    /// The PEM bundle of `[digilocker] ca_file` (`GATEWAY_DIGILOCKER_CA_FILE`),
    /// read and checked: an unreadable file, or one without a usable CA
    /// certificate, is an error naming the setting.
    pub fn digilocker_extra_ca_pem(&self) -> anyhow::Result<Option<Vec<u8>>> {
        let Some(path) = &self.digilocker_ca_file else {
            return Ok(None);
        };
        let setting = "[digilocker] ca_file / GATEWAY_DIGILOCKER_CA_FILE";
        let pem = std::fs::read(path).with_context(|| {
            format!(
                "cannot read the DigiLocker CA file {} ({setting})",
                path.display()
            )
        })?;
        // The client checks the bundle when it is built: build one to check it now.
        let probe = digilocker::Config {
            extra_ca_pem: Some(pem.clone()),
            ..digilocker::Config::new(
                Url::parse("https://digilocker.invalid/public")?,
                "probe",
                secrecy::SecretString::from("probe".to_owned()),
                Url::parse("https://gateway.invalid/digilocker/callback")?,
            )
        };
        digilocker::Client::new(probe).with_context(|| {
            format!(
                "the DigiLocker CA file {} ({setting}) is not a PEM bundle of usable CA certificates",
                path.display()
            )
        })?;
        Ok(Some(pem))
    }
}

/// How webhooks are delivered (see `crate::webhooks`).
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// The waits between attempts: an event is tried once, then once after
    /// each wait (with a little jitter added), then marked failed. The
    /// default totals about a day.
    pub retry_schedule: Vec<Duration>,
    /// One attempt (connect, send, answer) may take this long.
    pub timeout: Duration,
    /// Allow targets on loopback, private, link-local and other internal
    /// addresses (outside sandbox mode they are refused by default).
    pub allow_private_targets: bool,
    /// How often each instance looks for deliveries that are due.
    pub poll_interval: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            retry_schedule: [5, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 28_800]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            timeout: Duration::from_secs(10),
            allow_private_targets: false,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// The `[webhooks]` table of the TOML file; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookFileConfig {
    /// Seconds to wait before each retry, e.g. `[5, 30, 120]`.
    pub retry_schedule_seconds: Option<Vec<u64>>,
    pub timeout_seconds: Option<u64>,
    pub allow_private_targets: Option<bool>,
}

impl WebhookFileConfig {
    /// From `GATEWAY_WEBHOOK_RETRY_SCHEDULE_SECONDS` (comma-separated),
    /// `GATEWAY_WEBHOOK_TIMEOUT_SECONDS` and
    /// `GATEWAY_WEBHOOK_ALLOW_PRIVATE_TARGETS` (`true`/`false`); `None`
    /// when none is set.
    fn from_env() -> anyhow::Result<Option<WebhookFileConfig>> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let schedule = var("GATEWAY_WEBHOOK_RETRY_SCHEDULE_SECONDS")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().parse::<u64>())
                    .collect::<Result<Vec<_>, _>>()
                    .context(
                        "GATEWAY_WEBHOOK_RETRY_SCHEDULE_SECONDS must be whole seconds separated by commas, e.g. 5,30,120",
                    )
            })
            .transpose()?;
        let timeout = var("GATEWAY_WEBHOOK_TIMEOUT_SECONDS")
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .context("GATEWAY_WEBHOOK_TIMEOUT_SECONDS must be a whole number")
            })
            .transpose()?;
        let allow = var("GATEWAY_WEBHOOK_ALLOW_PRIVATE_TARGETS")
            .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => anyhow::bail!("GATEWAY_WEBHOOK_ALLOW_PRIVATE_TARGETS must be true or false"),
            })
            .transpose()?;
        if schedule.is_none() && timeout.is_none() && allow.is_none() {
            return Ok(None);
        }
        Ok(Some(WebhookFileConfig {
            retry_schedule_seconds: schedule,
            timeout_seconds: timeout,
            allow_private_targets: allow,
        }))
    }
}

impl WebhookConfig {
    fn apply(&mut self, f: WebhookFileConfig) {
        if let Some(v) = f.retry_schedule_seconds {
            // Never a wait of zero: a failing receiver would be hammered.
            self.retry_schedule = v
                .into_iter()
                .map(|s| Duration::from_secs(s.max(1)))
                .collect();
        }
        if let Some(v) = f.timeout_seconds {
            self.timeout = Duration::from_secs(v.clamp(1, 300));
        }
        if let Some(v) = f.allow_private_targets {
            self.allow_private_targets = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_sets_production_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(
            &path,
            r#"
listen = "0.0.0.0:9000"
admin_listen = "127.0.0.1:9090"
database_url = "postgres://db/kyc"
public_base_url = "https://kyc.example.com"
master_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
request_ttl_seconds = 120
erasure_rewrite_interval_seconds = 60
trust_anchors = "/etc/kyc/cca-root.pem"
trust_intermediates = "/etc/kyc/negd-subca.pem"
rate_limit_per_second = 7
rate_limit_burst = 9
[digilocker]
base_url = "https://digilocker.meripehchaan.gov.in/public"
client_id = "ABC123"
client_secret = "s3cret"
"#,
        )
        .unwrap();
        let mut c = Config::default();
        c.apply_file(&path).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(c.admin_listen, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(Config::default().admin_listen, None);
        assert_eq!(c.database_url.as_deref(), Some("postgres://db/kyc"));
        assert_eq!(
            c.public_base_url.as_ref().unwrap().as_str(),
            "https://kyc.example.com/"
        );
        assert_eq!(c.request_ttl, Duration::from_secs(120));
        assert_eq!(c.erasure_rewrite_interval, Duration::from_secs(60));
        assert_eq!(
            c.trust_anchors.as_deref(),
            Some(Path::new("/etc/kyc/cca-root.pem"))
        );
        assert_eq!(
            c.trust_intermediates.as_deref(),
            Some(Path::new("/etc/kyc/negd-subca.pem"))
        );
        assert_eq!((c.rate_limit_per_second, c.rate_limit_burst), (7, 9));
        assert!(!c.sandbox_mode());
        assert_eq!(c.digilocker.as_ref().unwrap().client_id, "ABC123");
        // The webhook defaults total about a day.
        let day: u64 = c
            .webhooks
            .retry_schedule
            .iter()
            .map(Duration::as_secs)
            .sum();
        assert!((20 * 3600..=28 * 3600).contains(&day), "{day}");
        std::fs::write(
            &path,
            "[webhooks]\nretry_schedule_seconds = [1, 0, 60]\ntimeout_seconds = 3\nallow_private_targets = true\n",
        )
        .unwrap();
        let mut c = Config::default();
        c.apply_file(&path).unwrap();
        assert_eq!(
            c.webhooks.retry_schedule,
            [1, 1, 60].map(Duration::from_secs).to_vec(),
            "a zero wait is raised to one second"
        );
        assert_eq!(c.webhooks.timeout, Duration::from_secs(3));
        assert!(c.webhooks.allow_private_targets);
        // A typo is an error, not silently ignored.
        std::fs::write(&path, "lisen = \"0.0.0.0:1\"\n").unwrap();
        assert!(Config::default().apply_file(&path).is_err());
    }

    #[test]
    fn the_upstream_and_e_aadhaar_age_settings_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        let c = Config::default();
        assert_eq!(c.aadhaar_max_age_days, 1095);
        assert_eq!(c.aadhaar_max_age(), Some(time::Duration::days(1095)));
        assert_eq!(
            (c.digilocker_ca_file.clone(), c.digilocker_allow_http),
            (None, false)
        );
        std::fs::write(
            &path,
            r#"
aadhaar_max_age_days = 365
[digilocker]
base_url = "http://digilocker.internal/public"
client_id = "ABC123"
client_secret = "s3cret"
ca_file = "/etc/kyc/digilocker-ca.pem"
allow_http = true
"#,
        )
        .unwrap();
        let mut c = Config::default();
        c.apply_file(&path).unwrap();
        assert_eq!(c.aadhaar_max_age(), Some(time::Duration::days(365)));
        assert_eq!(
            c.digilocker_ca_file.as_deref(),
            Some(Path::new("/etc/kyc/digilocker-ca.pem"))
        );
        assert!(c.digilocker_allow_http && !c.sandbox_mode());
        c.check_digilocker_base_url().unwrap();
        c.digilocker_allow_http = false;
        let err = c.check_digilocker_base_url().unwrap_err().to_string();
        assert!(
            err.contains("GATEWAY_DIGILOCKER_BASE_URL") && err.contains("allow_http = true"),
            "{err}"
        );
        // 0: no age limit.
        std::fs::write(&path, "aadhaar_max_age_days = 0\n").unwrap();
        let mut c = Config::default();
        c.apply_file(&path).unwrap();
        assert_eq!(c.aadhaar_max_age(), None);
        // The CA file alone (sandbox mode) is fine; credentials come all three or none.
        std::fs::write(&path, "[digilocker]\nca_file = \"/ca.pem\"\n").unwrap();
        let mut c = Config::default();
        c.apply_file(&path).unwrap();
        assert!(c.sandbox_mode() && c.digilocker_ca_file.is_some());
        std::fs::write(&path, "[digilocker]\nclient_id = \"ABC\"\n").unwrap();
        let err = format!("{:#}", Config::default().apply_file(&path).unwrap_err());
        assert!(
            err.contains("base_url, client_id and client_secret together"),
            "{err}"
        );
        std::fs::write(&path, "[digilocker]\nca_fil = \"/ca.pem\"\n").unwrap();
        assert!(Config::default().apply_file(&path).is_err());
    }

    #[test]
    fn an_allowed_http_digilocker_is_logged_as_an_error() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let config = Config {
            digilocker: Some(DigilockerSettings {
                base_url: Url::parse("http://digilocker.internal/public").unwrap(),
                client_id: "ABC123".into(),
                client_secret: "s3cret".into(),
            }),
            digilocker_allow_http: true,
            ..Config::default()
        };
        tracing::subscriber::with_default(subscriber, || {
            config.check_digilocker_base_url().unwrap()
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert!(
            text.contains("ERROR") && text.contains("clear text") && !text.contains("s3cret"),
            "{text}"
        );
    }
}
