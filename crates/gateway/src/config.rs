//! Configuration: defaults, then an optional TOML file, then environment
//! variables, then command-line flags (each overriding the one before).
//! With nothing set at all the gateway runs in sandbox mode.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

/// DigiLocker partner settings (production). Absent means sandbox mode.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigilockerSettings {
    /// e.g. `https://digilocker.meripehchaan.gov.in/public`.
    pub base_url: Url,
    pub client_id: String,
    /// Never in a `Debug` print or a log line.
    pub client_secret: SecretString,
}

/// The `[digilocker]` table of the TOML file: the partner settings (all
/// three or none) and how the client reaches DigiLocker.
#[derive(Debug, Default, Deserialize)]
#[serde(try_from = "DigilockerTableKeys")]
pub struct DigilockerTable {
    /// `base_url`, `client_id` and `client_secret`, as given.
    pub partial: PartialDigilocker,
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
    base_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    ca_file: Option<PathBuf>,
    allow_http: Option<bool>,
}

impl TryFrom<DigilockerTableKeys> for DigilockerTable {
    type Error = String;

    fn try_from(k: DigilockerTableKeys) -> Result<Self, String> {
        Ok(DigilockerTable {
            partial: PartialDigilocker {
                base_url: k.base_url,
                client_id: k.client_id,
                client_secret: k.client_secret,
            },
            ca_file: k.ca_file,
            allow_http: k.allow_http,
        })
    }
}

/// The DigiLocker partner settings as given, each possibly missing or
/// empty: [`Config::resolve_mode`] turns them into [`DigilockerSettings`]
/// (production) or refuses to start, naming what is missing.
#[derive(Clone, Debug, Default)]
pub struct PartialDigilocker {
    pub base_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
}

impl PartialDigilocker {
    /// The settings given (even empty), by their names.
    fn given(&self) -> Vec<&'static str> {
        [
            self.base_url.is_some(),
            self.client_id.is_some(),
            self.client_secret.is_some(),
        ]
        .into_iter()
        .zip(DIGILOCKER_SETTING_NAMES)
        .filter_map(|(given, name)| given.then_some(name))
        .collect()
    }

    fn merge(&mut self, other: PartialDigilocker) {
        if other.base_url.is_some() {
            self.base_url = other.base_url;
        }
        if other.client_id.is_some() {
            self.client_id = other.client_id;
        }
        if other.client_secret.is_some() {
            self.client_secret = other.client_secret;
        }
    }
}

/// How the DigiLocker settings are named to the operator: variable and key.
const DIGILOCKER_SETTING_NAMES: [&str; 3] = [
    "GATEWAY_DIGILOCKER_BASE_URL ([digilocker] base_url)",
    "GATEWAY_DIGILOCKER_CLIENT_ID ([digilocker] client_id)",
    "GATEWAY_DIGILOCKER_CLIENT_SECRET ([digilocker] client_secret)",
];

/// Sandbox (the embedded DigiLocker look-alike, test clients) or
/// production (the real DigiLocker partner API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Sandbox,
    Production,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sandbox => "sandbox",
            Mode::Production => "production",
        }
    }

    fn parse(text: &str) -> anyhow::Result<Mode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "sandbox" => Ok(Mode::Sandbox),
            "production" => Ok(Mode::Production),
            other => anyhow::bail!("GATEWAY_MODE must be sandbox or production, not {other:?}"),
        }
    }
}

/// A start refused because of its configuration (a missing, empty or
/// contradictory setting, a key live data needs, a database of the other
/// mode): the process exits with status [`ConfigRefused::EXIT_STATUS`]
/// (78, `EX_CONFIG`), which the packaged unit does not restart.
#[derive(Debug)]
pub struct ConfigRefused(pub String);

impl ConfigRefused {
    pub const EXIT_STATUS: u8 = 78;

    /// `e` (with its causes) as a configuration refusal.
    pub fn from_error(e: anyhow::Error) -> anyhow::Error {
        if e.downcast_ref::<ConfigRefused>().is_some() {
            return e;
        }
        anyhow::Error::new(ConfigRefused(format!("{e:#}")))
    }
}

impl std::fmt::Display for ConfigRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigRefused {}

/// A loop's pause as configured, never under 100 ms (tests shorten pauses
/// through configuration; nothing may spin).
pub fn interval(d: Duration) -> Duration {
    d.max(Duration::from_millis(100))
}

/// The default of `aadhaar_max_age_days`: three years.
pub const DEFAULT_AADHAAR_MAX_AGE_DAYS: u64 = 1095;

/// Everything the gateway needs to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// `mode` / `GATEWAY_MODE`, when the operator says; else decided by
    /// [`Config::resolve_mode`] (production when any DigiLocker setting is
    /// given, sandbox only on SQLite with none).
    pub mode: Option<Mode>,
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
    /// Base64 of 32 bytes. Required outside sandbox mode. Never in a
    /// `Debug` print or a log line, nor are the old ones.
    pub master_key: Option<SecretString>,
    /// Older keys, still accepted for decryption after a rotation.
    pub old_master_keys: Vec<SecretString>,
    /// The DigiLocker partner settings (production), once resolved.
    pub digilocker: Option<DigilockerSettings>,
    /// The DigiLocker partner settings as given by file and environment.
    pub digilocker_partial: PartialDigilocker,
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
            mode: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_listen: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            public_base_url: None,
            master_key: None,
            old_master_keys: Vec::new(),
            digilocker: None,
            digilocker_partial: PartialDigilocker::default(),
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
    pub mode: Option<Mode>,
    pub listen: Option<SocketAddr>,
    pub admin_listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_base_url: Option<Url>,
    pub master_key: Option<SecretString>,
    #[serde(default)]
    pub old_master_keys: Vec<SecretString>,
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
    /// Is this the embedded sandbox? Once [`Config::resolve_mode`] ran, its
    /// answer; before (the command line's other commands), the same default
    /// without its checks, failing closed: not when any DigiLocker setting
    /// is given, nor on PostgreSQL unless the mode says so.
    pub fn sandbox_mode(&self) -> bool {
        match self.mode {
            Some(mode) => mode == Mode::Sandbox,
            None => {
                self.digilocker.is_none()
                    && self.digilocker_partial.given().is_empty()
                    && !self.on_postgres()
            }
        }
    }

    /// Is the database PostgreSQL (a `postgres://` URL)?
    pub fn on_postgres(&self) -> bool {
        self.database_url
            .as_deref()
            .is_some_and(|u| u.starts_with("postgres"))
    }

    /// Decide the mode, failing closed: production whenever the operator
    /// says so or gives any DigiLocker setting, and then every DigiLocker
    /// setting and the master key must be there, not empty; sandbox when
    /// the operator says so (with no DigiLocker setting), or by default
    /// only on SQLite with no DigiLocker setting at all. A PostgreSQL
    /// database never gets the sandbox unasked. The error names every
    /// missing or contradictory setting.
    pub fn resolve_mode(&mut self) -> anyhow::Result<Mode> {
        let given = self.digilocker_partial.given();
        if self.digilocker.is_some() {
            // Settings made by code (tests, embedders): production.
            if self.mode == Some(Mode::Sandbox) {
                anyhow::bail!("mode is sandbox, but DigiLocker partner settings are set");
            }
            self.mode = Some(Mode::Production);
            return Ok(Mode::Production);
        }
        let postgres = self.on_postgres();
        let mode = match self.mode {
            Some(mode) => mode,
            None if !given.is_empty() => Mode::Production,
            None if postgres => anyhow::bail!(
                "no DigiLocker settings and no mode on a PostgreSQL database: the sandbox runs on \
                 PostgreSQL only when asked. For production set GATEWAY_MODE=production (mode = \
                 \"production\") with {}, {}, {} and GATEWAY_MASTER_KEY (master_key); for a \
                 sandbox set GATEWAY_MODE=sandbox (mode = \"sandbox\")",
                DIGILOCKER_SETTING_NAMES[0],
                DIGILOCKER_SETTING_NAMES[1],
                DIGILOCKER_SETTING_NAMES[2]
            ),
            None => Mode::Sandbox,
        };
        match mode {
            Mode::Sandbox if !given.is_empty() => anyhow::bail!(
                "mode is sandbox (GATEWAY_MODE / mode), but DigiLocker partner settings are given: \
                 {}. Remove them for the sandbox, or set GATEWAY_MODE=production",
                given.join(", ")
            ),
            Mode::Sandbox => {}
            Mode::Production => {
                let p = &self.digilocker_partial;
                let value = |v: &Option<String>| {
                    v.as_deref()
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned)
                };
                let (base, id) = (value(&p.base_url), value(&p.client_id));
                let secret = p
                    .client_secret
                    .as_ref()
                    .map(|s| s.expose_secret().trim())
                    .filter(|s| !s.is_empty())
                    .map(SecretString::from);
                let mut missing: Vec<&str> = [base.is_none(), id.is_none(), secret.is_none()]
                    .into_iter()
                    .zip(DIGILOCKER_SETTING_NAMES)
                    .filter_map(|(missing, name)| missing.then_some(name))
                    .collect();
                if self
                    .master_key
                    .as_ref()
                    .is_none_or(|k| k.expose_secret().trim().is_empty())
                {
                    missing.push("GATEWAY_MASTER_KEY (master_key)");
                }
                let (Some(base), Some(client_id), Some(client_secret)) = (base, id, secret) else {
                    anyhow::bail!(
                        "production mode needs every DigiLocker setting and the master key; \
                         missing or empty: {}. (The sandbox runs only when asked, with \
                         GATEWAY_MODE=sandbox and no DigiLocker setting.)",
                        missing.join(", ")
                    );
                };
                if !missing.is_empty() {
                    anyhow::bail!(
                        "production mode needs the master key; missing or empty: {}",
                        missing.join(", ")
                    );
                }
                let base_url = Url::parse(&base).with_context(|| {
                    format!("{} must be an absolute URL", DIGILOCKER_SETTING_NAMES[0])
                })?;
                self.digilocker = Some(DigilockerSettings {
                    base_url,
                    client_id,
                    client_secret,
                });
            }
        }
        self.mode = Some(mode);
        Ok(mode)
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
        if f.mode.is_some() {
            self.mode = f.mode;
        }
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
            self.digilocker_partial.merge(table.partial);
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
            mode: var("GATEWAY_MODE").map(|v| Mode::parse(&v)).transpose()?,
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
            master_key: var("GATEWAY_MASTER_KEY").map(SecretString::from),
            old_master_keys: var("GATEWAY_OLD_MASTER_KEYS")
                .map(|v| v.split(',').map(|s| SecretString::from(s.trim())).collect())
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
        // Given even when empty: an empty secret is a missing one, named
        // at start, never a silent fall back to the sandbox.
        let given = |name: &str| std::env::var(name).ok();
        let partial = PartialDigilocker {
            base_url: given("GATEWAY_DIGILOCKER_BASE_URL"),
            client_id: given("GATEWAY_DIGILOCKER_CLIENT_ID"),
            client_secret: given("GATEWAY_DIGILOCKER_CLIENT_SECRET").map(SecretString::from),
        };
        if !partial.given().is_empty() {
            f.digilocker = Some(DigilockerTable {
                partial,
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
    /// `[webhooks] ca_file`: a PEM bundle of CA certificates trusted for
    /// receivers' TLS besides the public roots (an internal `https`
    /// receiver behind a private CA, with `allow_private_targets`).
    pub ca_file: Option<PathBuf>,
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
            ca_file: None,
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
    pub ca_file: Option<PathBuf>,
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
        let ca_file = var("GATEWAY_WEBHOOK_CA_FILE").map(PathBuf::from);
        if schedule.is_none() && timeout.is_none() && allow.is_none() && ca_file.is_none() {
            return Ok(None);
        }
        Ok(Some(WebhookFileConfig {
            retry_schedule_seconds: schedule,
            timeout_seconds: timeout,
            allow_private_targets: allow,
            ca_file,
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
        if f.ca_file.is_some() {
            self.ca_file = f.ca_file;
        }
    }

    /// The roots webhook deliveries trust: the public ones, plus
    /// `ca_file`'s certificates, read and checked (an unreadable file or
    /// one without a usable CA certificate is an error naming the setting).
    pub fn trusted_roots(&self) -> anyhow::Result<Vec<reqwest::Certificate>> {
        let mut roots = digilocker::bundled_roots();
        if let Some(path) = &self.ca_file {
            let setting = "[webhooks] ca_file / GATEWAY_WEBHOOK_CA_FILE";
            let pem = std::fs::read(path).with_context(|| {
                format!(
                    "cannot read the webhook CA file {} ({setting})",
                    path.display()
                )
            })?;
            roots.extend(digilocker::extra_roots(&pem).with_context(|| {
                format!(
                    "the webhook CA file {} ({setting}) is not usable",
                    path.display()
                )
            })?);
        }
        Ok(roots)
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
        assert_eq!(c.resolve_mode().unwrap(), Mode::Production);
        assert!(!c.sandbox_mode());
        // Secrets never show in a Debug print of the configuration.
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("s3cret") && !printed.contains("AAAAAAAAAAAAAAAAAAAA"),
            "{printed}"
        );
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
        let mut c = Config {
            master_key: Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()),
            ..Config::default()
        };
        c.apply_file(&path).unwrap();
        c.resolve_mode().unwrap();
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
        let mut c = Config::default();
        c.apply_file(&path).unwrap();
        let err = format!("{:#}", c.resolve_mode().unwrap_err());
        assert!(
            err.contains("GATEWAY_DIGILOCKER_BASE_URL ([digilocker] base_url)")
                && err.contains("GATEWAY_DIGILOCKER_CLIENT_SECRET ([digilocker] client_secret)")
                && err.contains("GATEWAY_MASTER_KEY")
                && !err.contains("CLIENT_ID"),
            "{err}"
        );
        std::fs::write(&path, "[digilocker]\nca_fil = \"/ca.pem\"\n").unwrap();
        assert!(Config::default().apply_file(&path).is_err());
    }

    fn partial(base: Option<&str>, id: Option<&str>, secret: Option<&str>) -> Config {
        Config {
            digilocker_partial: PartialDigilocker {
                base_url: base.map(str::to_owned),
                client_id: id.map(str::to_owned),
                client_secret: secret.map(SecretString::from),
            },
            master_key: Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()),
            ..Config::default()
        }
    }

    #[test]
    fn the_mode_fails_closed() {
        let base = Some("https://digilocker.meripehchaan.gov.in/public");
        // All three: production.
        let mut c = partial(base, Some("ID"), Some("secret"));
        assert_eq!(c.resolve_mode().unwrap(), Mode::Production);
        assert_eq!(c.digilocker.as_ref().unwrap().client_id, "ID");
        assert!(!c.sandbox_mode());
        // An empty secret is a missing one, named; never the sandbox.
        let mut c = partial(base, Some("ID"), Some(" "));
        let err = c.resolve_mode().unwrap_err().to_string();
        assert!(
            err.contains("GATEWAY_DIGILOCKER_CLIENT_SECRET") && !err.contains("CLIENT_ID"),
            "{err}"
        );
        assert!(
            !c.sandbox_mode(),
            "a half-configured instance is no sandbox"
        );
        // Production asked for, nothing given: every setting named.
        let mut c = Config {
            mode: Some(Mode::Production),
            ..Config::default()
        };
        let err = c.resolve_mode().unwrap_err().to_string();
        for name in DIGILOCKER_SETTING_NAMES {
            assert!(err.contains(name), "{err}");
        }
        assert!(err.contains("GATEWAY_MASTER_KEY"), "{err}");
        // All DigiLocker settings but no master key.
        let mut c = partial(base, Some("ID"), Some("secret"));
        c.master_key = None;
        let err = c.resolve_mode().unwrap_err().to_string();
        assert!(err.contains("GATEWAY_MASTER_KEY"), "{err}");
        // Sandbox asked for with a DigiLocker setting: contradictory.
        let mut c = partial(None, Some("ID"), None);
        c.mode = Some(Mode::Sandbox);
        let err = c.resolve_mode().unwrap_err().to_string();
        assert!(err.contains("GATEWAY_DIGILOCKER_CLIENT_ID"), "{err}");
        // Nothing at all on SQLite: the sandbox; on PostgreSQL only when asked.
        assert_eq!(Config::default().resolve_mode().unwrap(), Mode::Sandbox);
        let on_pg = || Config {
            database_url: Some("postgres://db/kyc".into()),
            ..Config::default()
        };
        let err = on_pg().resolve_mode().unwrap_err().to_string();
        assert!(err.contains("GATEWAY_MODE=sandbox"), "{err}");
        assert!(!on_pg().sandbox_mode());
        let mut c = on_pg();
        c.mode = Some(Mode::Sandbox);
        assert_eq!(c.resolve_mode().unwrap(), Mode::Sandbox);
        // A file's mode, and a wrong one.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, "mode = \"production\"\n").unwrap();
        let mut c = Config::default();
        c.apply_file(&path).unwrap();
        assert_eq!(c.mode, Some(Mode::Production));
        std::fs::write(&path, "mode = \"demo\"\n").unwrap();
        assert!(Config::default().apply_file(&path).is_err());
        assert!(Mode::parse("Production").is_ok() && Mode::parse("demo").is_err());
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
