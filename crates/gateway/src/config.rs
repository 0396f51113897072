//! Configuration: defaults, then an optional TOML file, then environment
//! variables, then command-line flags (each overriding the one before).
//! With nothing set at all the gateway runs in sandbox mode.
//!
//! Every setting is a field of [`Config`] (or of its `[digilocker]` and
//! `[webhooks]` tables), named as in the TOML file, with its default in
//! `Config::default()`; [figment] layers the file and the `GATEWAY_*`
//! variables over the defaults (see [`Config::load`]). A variable's name is
//! the key's, upper-cased, after `GATEWAY_` (`listen`:
//! `GATEWAY_LISTEN`); a table's keys take its name too
//! (`[digilocker] base_url`: `GATEWAY_DIGILOCKER_BASE_URL`, `[webhooks]
//! timeout_seconds`: `GATEWAY_WEBHOOK_TIMEOUT_SECONDS`).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use figment::providers::{Env, Format};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

/// The configuration file's format for figment: TOML, read by `toml` 1
/// (figment's own `Toml` is toml 0.8).
struct TomlFile;

impl Format for TomlFile {
    type Error = toml::de::Error;
    const NAME: &'static str = "TOML";

    fn from_str<T: serde::de::DeserializeOwned>(string: &str) -> Result<T, Self::Error> {
        toml::from_str(string)
    }
}

/// DigiLocker partner settings (production), once resolved from the
/// `[digilocker]` table by [`Config::resolve_mode`]. Absent means sandbox mode.
#[derive(Clone, Debug)]
pub struct DigilockerSettings {
    /// e.g. `https://digilocker.meripehchaan.gov.in/public`.
    pub base_url: Url,
    pub client_id: String,
    /// Never in a `Debug` print or a log line.
    pub client_secret: SecretString,
}

/// The `[digilocker]` table: the partner settings as given (all three or
/// none; each possibly empty, which [`Config::resolve_mode`] names as
/// missing) and how the client reaches DigiLocker.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigilockerTable {
    /// The partner API, e.g. `https://digilocker.meripehchaan.gov.in/public`.
    pub base_url: Option<String>,
    /// The partner app's client id.
    pub client_id: Option<String>,
    /// The partner app's client secret. Never in a `Debug` print or a log line.
    #[serde(serialize_with = "form::secret")]
    pub client_secret: Option<SecretString>,
    /// A PEM bundle of CA certificates the DigiLocker client trusts besides
    /// the public roots (DigiLocker, or a proxy in front of it, behind a
    /// private CA).
    pub ca_file: Option<PathBuf>,
    /// Accept an `http://` DigiLocker base URL in production, where tokens
    /// then travel in clear text. Default false.
    pub allow_http: bool,
}

impl DigilockerTable {
    /// The partner settings given (even empty), by their names.
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
}

/// How the DigiLocker settings are named to the operator: variable and key.
const DIGILOCKER_SETTING_NAMES: [&str; 3] = [
    "GATEWAY_DIGILOCKER_BASE_URL ([digilocker] base_url)",
    "GATEWAY_DIGILOCKER_CLIENT_ID ([digilocker] client_id)",
    "GATEWAY_DIGILOCKER_CLIENT_SECRET ([digilocker] client_secret)",
];

/// The keys of the partner settings: given even when their variable is
/// empty (an empty secret is a missing one, named at start, never a silent
/// fall back to the sandbox).
const DIGILOCKER_PARTNER_KEYS: [&str; 3] = [
    "digilocker.base_url",
    "digilocker.client_id",
    "digilocker.client_secret",
];

/// Keys whose values are secrets: taken from the environment as they are
/// (not trimmed).
const SECRET_KEYS: [&str; 4] = [
    "master_key",
    "old_master_keys",
    "digilocker.client_secret",
    "console_password",
];

/// The shortest `console_password` accepted: the console is reached only on
/// the admin listener and locks out after failures, but a short password is
/// still a guess away.
pub const CONSOLE_PASSWORD_MIN_CHARS: usize = 16;

/// Sandbox (the embedded DigiLocker look-alike, test clients) or
/// production (the real DigiLocker partner API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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

    /// `sandbox` or `production`, in any case; else what is wrong (named
    /// by the caller: `GATEWAY_MODE must be …`).
    fn parse(text: &str) -> Result<Mode, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "sandbox" => Ok(Mode::Sandbox),
            "production" => Ok(Mode::Production),
            other => Err(format!("must be sandbox or production, not {other:?}")),
        }
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Mode, D::Error> {
        Mode::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
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

/// Everything the gateway needs to run. Each field that is a setting has
/// the name of its TOML key (a duration's key says its unit:
/// `request_ttl_seconds`); the others (`#[serde(skip)]`) are set by code
/// (tests, the sandbox's knobs, one-shot commands).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sandbox` or `production`, when the operator says; else decided by
    /// [`Config::resolve_mode`] (production when any DigiLocker setting is
    /// given, sandbox only on SQLite with none).
    pub mode: Option<Mode>,
    /// The public listener, `host:port`.
    #[serde(with = "form::addr")]
    pub listen: SocketAddr,
    /// A second listener for operators (`/metrics`, `/readyz`, `/healthz`),
    /// kept off the public port: when set, `/metrics` is served only here.
    #[serde(with = "form::opt_addr")]
    pub admin_listen: Option<SocketAddr>,
    /// The operator console's password (at least
    /// [`CONSOLE_PASSWORD_MIN_CHARS`] characters): when set, the admin
    /// listener serves the console at `/`. Unset: no console.
    #[serde(serialize_with = "form::secret")]
    pub console_password: Option<SecretString>,
    /// The SQLite database, and in sandbox mode the generated master key
    /// and sandbox credentials.
    pub data_dir: PathBuf,
    /// `sqlite://path` or `postgres://...`; default SQLite in `data_dir`.
    /// (`DATABASE_URL` when `GATEWAY_DATABASE_URL` is not set.)
    pub database_url: Option<String>,
    /// The address businesses and browsers reach us at, used in `url` and
    /// `fileUrl`; default `http://<listen address>`.
    #[serde(with = "form::opt_url")]
    pub public_base_url: Option<Url>,
    /// Base64 of 32 bytes. Required outside sandbox mode. Never in a
    /// `Debug` print or a log line, nor are the old ones.
    #[serde(serialize_with = "form::secret")]
    pub master_key: Option<SecretString>,
    /// Older keys, still accepted for decryption after a rotation (in the
    /// environment: comma-separated).
    #[serde(with = "form::secrets")]
    pub old_master_keys: Vec<SecretString>,
    /// The DigiLocker partner settings (production), once resolved from
    /// [`Config::digilocker_table`] (or set by code).
    #[serde(skip)]
    pub digilocker: Option<DigilockerSettings>,
    /// The `[digilocker]` table: the partner settings as given, and how the
    /// client reaches DigiLocker.
    #[serde(rename = "digilocker")]
    pub digilocker_table: DigilockerTable,
    /// The `[webhooks]` table: delivery schedule, timeout, which targets are
    /// allowed.
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
    /// How long a request lives.
    #[serde(rename = "request_ttl_seconds", with = "form::seconds")]
    pub request_ttl: Duration,
    /// How long a file link works.
    #[serde(rename = "file_link_ttl_seconds", with = "form::seconds")]
    pub file_link_ttl: Duration,
    /// How long the consent audit trail (events) is kept after it was
    /// written, past its request's erasure.
    #[serde(rename = "audit_retention_days", with = "form::days")]
    pub audit_retention: Duration,
    /// How often each issuer that answered is asked again.
    #[serde(rename = "catalogue_refresh_seconds", with = "form::seconds")]
    pub catalogue_refresh: Duration,
    /// Issuers asked at once (at least 1).
    pub catalogue_parallelism: usize,
    /// Most catalogue calls made to DigiLocker per second, whatever fails
    /// (at least 1).
    pub catalogue_calls_per_second: u32,
    /// A failing issuer is asked again after this at first, doubling (with
    /// jitter) up to `catalogue_retry_max`.
    #[serde(rename = "catalogue_retry_min_seconds", with = "form::seconds")]
    pub catalogue_retry_min: Duration,
    /// The longest wait before a failing issuer is asked again.
    #[serde(rename = "catalogue_retry_max_seconds", with = "form::seconds")]
    pub catalogue_retry_max: Duration,
    /// Calls to DigiLocker time out after this.
    #[serde(rename = "upstream_timeout_seconds", with = "form::seconds")]
    pub upstream_timeout: Duration,
    /// How often expired requests are swept (at least a second).
    #[serde(rename = "sweep_interval_seconds", with = "form::seconds")]
    pub sweep_interval: Duration,
    /// On PostgreSQL, the shortest time between two rewrites (`VACUUM
    /// FULL requests`) that take erased rows' old versions, data keys and
    /// all, out of the table's files; zero: never (the operator rewrites).
    /// The bound on how long an erased data key stays in the table files is
    /// this plus `sweep_interval` plus the rewrite itself.
    #[serde(rename = "erasure_rewrite_interval_seconds", with = "form::seconds")]
    pub erasure_rewrite_interval: Duration,
    /// Where the embedded sandbox keeps its CA; default `<data_dir>/sandbox`.
    #[serde(skip)]
    pub sandbox_dir: Option<PathBuf>,
    /// Sandbox catalogue size (issuers, pairs); sandbox mode only.
    #[serde(skip)]
    pub sandbox_catalogue: (usize, usize),
    /// The embedded sandbox's e-Aadhaar layout (default: DigiLocker's real one).
    #[serde(skip)]
    pub sandbox_eaadhaar_shape: sandbox::EAadhaarShape,
    /// The embedded sandbox answers with real DigiLocker's variant spellings,
    /// rotating refresh tokens and mixed date formats (default on).
    #[serde(skip)]
    pub sandbox_quirks: bool,
    /// Latency of each of the embedded sandbox's signed catalogue calls.
    #[serde(skip)]
    pub sandbox_catalogue_latency: Duration,
    /// The embedded sandbox's documented handful of failing, flaky and slow
    /// issuers (default on, as in real DigiLocker; off for a quick demo).
    pub sandbox_failing_issuers: bool,
    /// Calls per second each client may make to `/api` on one instance
    /// (0: no limit), and the burst above that rate.
    pub rate_limit_per_second: u32,
    /// The burst above `rate_limit_per_second`.
    pub rate_limit_burst: u32,
    /// Largest accepted API request body.
    #[serde(skip)]
    pub max_body_bytes: usize,
    /// A request's headers must arrive within this; idle keep-alive
    /// connections are closed after it too (at least a second).
    #[serde(rename = "header_read_timeout_seconds", with = "form::seconds")]
    pub header_read_timeout: Duration,
    /// A request's whole body must arrive within this (at least a second).
    #[serde(rename = "body_read_timeout_seconds", with = "form::seconds")]
    pub body_read_timeout: Duration,
    /// One call may take this long before it is answered `503` (at least a
    /// second).
    #[serde(rename = "request_timeout_seconds", with = "form::seconds")]
    pub request_timeout: Duration,
    /// Connections served at once on this instance (at least 1).
    pub max_connections: usize,
    /// On SIGTERM, how long open calls may finish before the process exits.
    #[serde(rename = "shutdown_grace_seconds", with = "form::seconds")]
    pub shutdown_grace: Duration,
    /// Name of this instance in logs and the erasure log.
    pub instance_name: String,
    /// Run the sweeper and the catalogue scheduler (off for one-shot commands).
    #[serde(skip)]
    pub background_tasks: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_listen: None,
            console_password: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            public_base_url: None,
            master_key: None,
            old_master_keys: Vec::new(),
            digilocker: None,
            digilocker_table: DigilockerTable::default(),
            webhooks: WebhookConfig::default(),
            trust_anchors: None,
            trust_intermediates: None,
            aadhaar_max_age_days: DEFAULT_AADHAAR_MAX_AGE_DAYS,
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

/// The settings' keys, from [`Config`] itself: its serialised default's
/// keys, a table's as `table.key` (`digilocker.base_url`).
pub fn setting_keys() -> BTreeSet<String> {
    fn walk(prefix: &str, dict: &Dict, keys: &mut BTreeSet<String>) {
        for (key, value) in dict {
            let key = format!("{prefix}{key}");
            match value {
                Value::Dict(_, table) => walk(&format!("{key}."), table, keys),
                _ => {
                    keys.insert(key);
                }
            }
        }
    }
    let mut keys = BTreeSet::new();
    // Serialising plain data into figment's values cannot fail.
    if let Ok(Value::Dict(_, dict)) = Value::serialize(Config::default()) {
        walk("", &dict, &mut keys);
    }
    keys
}

/// A setting's environment variable: `GATEWAY_` and its key upper-cased,
/// `[webhooks]` keys as `GATEWAY_WEBHOOK_*` (`webhooks.timeout_seconds`:
/// `GATEWAY_WEBHOOK_TIMEOUT_SECONDS`).
pub fn env_name(key: &str) -> String {
    let key = match key.strip_prefix("webhooks.") {
        Some(rest) => format!("webhook.{rest}"),
        None => key.to_owned(),
    };
    format!("GATEWAY_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// A setting's key as the TOML file spells it: `listen`,
/// `[digilocker] base_url`.
pub fn file_key(key: &str) -> String {
    match key.split_once('.') {
        Some((table, key)) => format!("[{table}] {key}"),
        None => key.to_owned(),
    }
}

/// The `GATEWAY_*` variables of the settings, as figment data: each
/// variable's value as given (trimmed, but secrets), an empty one left out
/// (unset), but a DigiLocker partner setting's (given, and so production,
/// and missing); `DATABASE_URL` when `GATEWAY_DATABASE_URL` is not set.
/// Other `GATEWAY_*` variables (`GATEWAY_CONFIG`, `GATEWAY_LOG`, tests'
/// own) are not settings and are left alone.
struct GatewayEnv;

impl GatewayEnv {
    const NAME: &'static str = "`GATEWAY_` environment variable(s)";
}

impl Provider for GatewayEnv {
    fn metadata(&self) -> Metadata {
        Metadata::named(Self::NAME)
            .interpolater(|_: &Profile, path: &[&str]| env_name(&path.join(".")))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let keys = setting_keys();
        // `GATEWAY_DIGILOCKER_BASE_URL` is `digilocker.base_url` and
        // `GATEWAY_WEBHOOK_TIMEOUT_SECONDS` `webhooks.timeout_seconds`; the
        // other keys have underscores of their own, so no `split("_")`.
        let env = Env::prefixed("GATEWAY_").map(|name| {
            let name = name.as_str().to_ascii_lowercase();
            if let Some(rest) = name.strip_prefix("digilocker_") {
                format!("digilocker.{rest}").into()
            } else if let Some(rest) = name.strip_prefix("webhook_") {
                format!("webhooks.{rest}").into()
            } else {
                name.into()
            }
        });
        fn set(dict: &mut Dict, key: &str, value: String) {
            match key.split_once('.') {
                Some((table, key)) => {
                    let table = dict
                        .entry(table.to_owned())
                        .or_insert_with(|| Value::from(Dict::new()));
                    if let Value::Dict(_, table) = table {
                        set(table, key, value);
                    }
                }
                None => {
                    dict.insert(key.to_owned(), Value::from(value));
                }
            }
        }
        let mut dict = Dict::new();
        for (key, value) in env.iter() {
            let key = key.as_str();
            if !keys.contains(key) {
                continue;
            }
            let value = if SECRET_KEYS.contains(&key) {
                value
            } else {
                value.trim().to_owned()
            };
            if value.trim().is_empty() && !DIGILOCKER_PARTNER_KEYS.contains(&key) {
                continue;
            }
            set(&mut dict, key, value);
        }
        if !dict.contains_key("database_url") {
            if let Some(url) = std::env::var("DATABASE_URL")
                .ok()
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty())
            {
                set(&mut dict, "database_url", url);
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

impl Config {
    /// Defaults, then the TOML file `file` (when given), then the
    /// `GATEWAY_*` environment variables; the command line's flags go on
    /// top (`cli::load_config`). A value that is not of its setting's
    /// kind, or a key of the file that is no setting, is a
    /// [`ConfigRefused`] naming it.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        Self::layered(file, true)
    }

    /// Defaults, then the TOML file `path` (no environment).
    pub fn from_file(path: &Path) -> anyhow::Result<Config> {
        Self::layered(Some(path), false)
    }

    fn layered(file: Option<&Path>, env: bool) -> anyhow::Result<Config> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            // Read first: figment would take a missing file for an empty one.
            std::fs::read(path)
                .with_context(|| format!("cannot read config file {}", path.display()))
                .map_err(ConfigRefused::from_error)?;
            figment = figment.merge(TomlFile::file_exact(path));
        }
        if env {
            figment = figment.merge(GatewayEnv);
        }
        // Lossy: the variables' text is read as the number or boolean
        // (`true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`) its setting is.
        let mut config: Config = figment
            .extract_lossy()
            .map_err(|e| anyhow::Error::new(ConfigRefused(describe(e, file))))?;
        config.at_least();
        Ok(config)
    }

    /// Raise settings given too low to their floors: nothing may spin, no
    /// wait is zero.
    fn at_least(&mut self) {
        let second = Duration::from_secs(1);
        self.catalogue_parallelism = self.catalogue_parallelism.max(1);
        self.catalogue_calls_per_second = self.catalogue_calls_per_second.max(1);
        self.catalogue_retry_min = self.catalogue_retry_min.max(second);
        self.catalogue_retry_max = self.catalogue_retry_max.max(second);
        self.sweep_interval = self.sweep_interval.max(second);
        self.header_read_timeout = self.header_read_timeout.max(second);
        self.body_read_timeout = self.body_read_timeout.max(second);
        self.request_timeout = self.request_timeout.max(second);
        self.max_connections = self.max_connections.max(1);
        // Never a wait of zero: a failing receiver would be hammered.
        for wait in &mut self.webhooks.retry_schedule {
            *wait = (*wait).max(second);
        }
        self.webhooks.timeout = self
            .webhooks
            .timeout
            .clamp(second, Duration::from_secs(300));
    }
}

/// figment's errors in the operator's words: each names the setting, as the
/// variable (`GATEWAY_LISTEN must be host:port, …`) or as the file's key.
fn describe(errors: figment::Error, file: Option<&Path>) -> String {
    use figment::error::Kind;
    let in_file = || match file {
        Some(path) => format!("config file {}", path.display()),
        None => "the configuration".to_owned(),
    };
    let mut said = Vec::new();
    for e in errors {
        let key = e.path.join(".");
        let from_env = e
            .metadata
            .as_ref()
            .is_some_and(|m| m.name == GatewayEnv::NAME);
        let name = if from_env {
            env_name(&key)
        } else {
            format!("{} in {}", file_key(&key), in_file())
        };
        let what = match &e.kind {
            Kind::UnknownField(field, _) => {
                // figment's path ends with the field; serde's alone would not.
                let key = if e.path.last() == Some(field) {
                    key
                } else if key.is_empty() {
                    field.clone()
                } else {
                    format!("{key}.{field}")
                };
                said.push(format!(
                    "{} has an unknown key {}: no such setting (a typo?)",
                    in_file(),
                    file_key(&key)
                ));
                continue;
            }
            Kind::Message(m) if key.is_empty() => {
                said.push(format!("{} is invalid: {m}", in_file()));
                continue;
            }
            Kind::Message(m) => m.clone(),
            Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) => {
                format!("must be {}", expected_words(expected))
            }
            other => format!("is invalid: {other}"),
        };
        said.push(format!("{name} {what}"));
    }
    said.join("; ")
}

/// What serde expected, in words (`u64`: a whole number).
fn expected_words(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number".to_owned(),
        "a boolean" => "true or false".to_owned(),
        other => other.to_owned(),
    }
}

/// How settings are written (serde `with` modules): durations as whole
/// seconds or days, addresses as `host:port`, lists as TOML arrays or, in
/// the environment, comma-separated.
mod form {
    use std::net::SocketAddr;
    use std::time::Duration;

    use secrecy::SecretString;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use url::Url;

    /// A secret is never written out: `"<secret>"` in its place.
    pub fn secret<S: Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().map(|_| "<secret>").serialize(s)
    }

    /// A TOML array of strings, or one comma-separated string.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List<T> {
        Items(Vec<T>),
        Text(String),
    }

    pub mod secrets {
        use super::*;

        pub fn serialize<S: Serializer>(v: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
            v.iter()
                .map(|_| "<secret>")
                .collect::<Vec<_>>()
                .serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
            Ok(match List::<String>::deserialize(d)? {
                List::Items(keys) => keys.into_iter().map(SecretString::from).collect(),
                List::Text(text) => text
                    .split(',')
                    .map(|k| SecretString::from(k.trim()))
                    .collect(),
            })
        }
    }

    pub mod seconds {
        use super::*;

        pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
            d.as_secs().serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
            u64::deserialize(d).map(Duration::from_secs)
        }
    }

    pub mod days {
        use super::*;

        pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
            (d.as_secs() / (24 * 3600)).serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
            u64::deserialize(d).map(|days| Duration::from_secs(days.saturating_mul(24 * 3600)))
        }
    }

    /// `[5, 30, 120]`, or in the environment `5,30,120`.
    pub mod seconds_list {
        use super::*;

        pub fn serialize<S: Serializer>(v: &[Duration], s: S) -> Result<S::Ok, S::Error> {
            v.iter()
                .map(Duration::as_secs)
                .collect::<Vec<_>>()
                .serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
            let wrong =
                || D::Error::custom("must be whole seconds separated by commas, e.g. 5,30,120");
            let seconds = match List::<u64>::deserialize(d).map_err(|_| wrong())? {
                List::Items(v) => v,
                List::Text(text) => text
                    .split(',')
                    .map(|s| s.trim().parse::<u64>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| wrong())?,
            };
            Ok(seconds.into_iter().map(Duration::from_secs).collect())
        }
    }

    fn parse_addr<E: serde::de::Error>(text: &str) -> Result<SocketAddr, E> {
        text.trim()
            .parse()
            .map_err(|_| E::custom("must be host:port, e.g. 127.0.0.1:9090"))
    }

    pub mod addr {
        use super::*;

        pub fn serialize<S: Serializer>(a: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
            a.to_string().serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
            parse_addr(&String::deserialize(d)?)
        }
    }

    pub mod opt_addr {
        use super::*;

        pub fn serialize<S: Serializer>(a: &Option<SocketAddr>, s: S) -> Result<S::Ok, S::Error> {
            a.map(|a| a.to_string()).serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<SocketAddr>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|text| parse_addr(&text))
                .transpose()
        }
    }

    pub mod opt_url {
        use super::*;

        pub fn serialize<S: Serializer>(u: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
            u.as_ref().map(Url::as_str).serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|text| {
                    Url::parse(text.trim()).map_err(|_| D::Error::custom("must be an absolute URL"))
                })
                .transpose()
        }
    }
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
                    && self.digilocker_table.given().is_empty()
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
        let given = self.digilocker_table.given();
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
                let p = &self.digilocker_table;
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

    /// The SQLite file used when no database URL is set.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("gateway.sqlite")
    }

    /// The e-Aadhaar age policy (`aadhaar_max_age_days`; 0: none).
    pub fn aadhaar_max_age(&self) -> Option<time::Duration> {
        let days = i64::try_from(self.aadhaar_max_age_days).unwrap_or(i64::MAX);
        (days > 0).then(|| time::Duration::days(days.min(365 * 10_000)))
    }

    /// Refuse a console password too short to keep a guesser out, or one
    /// with no admin listener to serve the console on (it is never served
    /// on the public port).
    pub fn check_console(&self) -> anyhow::Result<()> {
        let Some(password) = &self.console_password else {
            return Ok(());
        };
        let chars = password.expose_secret().chars().count();
        if chars < CONSOLE_PASSWORD_MIN_CHARS {
            bail!(
                "console_password (GATEWAY_CONSOLE_PASSWORD) is {chars} characters long: it must \
                 have at least {CONSOLE_PASSWORD_MIN_CHARS} (e.g. `openssl rand -base64 24`), or \
                 be unset to turn the operator console off"
            );
        }
        if self.admin_listen.is_none() {
            bail!(
                "console_password (GATEWAY_CONSOLE_PASSWORD) is set but admin_listen \
                 (GATEWAY_ADMIN_LISTEN) is not: the operator console is served only on the \
                 admin listener, never on the public port. Set admin_listen (e.g. \
                 127.0.0.1:9090), or unset console_password"
            );
        }
        Ok(())
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
        if !self.digilocker_table.allow_http {
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
        let Some(path) = &self.digilocker_table.ca_file else {
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

/// How webhooks are delivered (see `crate::webhooks`): the `[webhooks]`
/// table, `GATEWAY_WEBHOOK_*` in the environment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// The waits between attempts: an event is tried once, then once after
    /// each wait (with a little jitter added), then marked failed. The
    /// default totals about a day. In the environment comma-separated; a
    /// wait of zero is raised to a second.
    #[serde(rename = "retry_schedule_seconds", with = "form::seconds_list")]
    pub retry_schedule: Vec<Duration>,
    /// One attempt (connect, send, answer) may take this long (1 to 300
    /// seconds).
    #[serde(rename = "timeout_seconds", with = "form::seconds")]
    pub timeout: Duration,
    /// Allow targets on loopback, private, link-local and other internal
    /// addresses (outside sandbox mode they are refused by default).
    pub allow_private_targets: bool,
    /// How often each instance looks for deliveries that are due.
    #[serde(skip)]
    pub poll_interval: Duration,
    /// A PEM bundle of CA certificates trusted for receivers' TLS besides
    /// the public roots (an internal `https` receiver behind a private CA,
    /// with `allow_private_targets`).
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

impl WebhookConfig {
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
        let mut c = Config::from_file(&path).unwrap();
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
        let c = Config::from_file(&path).unwrap();
        assert_eq!(
            c.webhooks.retry_schedule,
            [1, 1, 60].map(Duration::from_secs).to_vec(),
            "a zero wait is raised to one second"
        );
        assert_eq!(c.webhooks.timeout, Duration::from_secs(3));
        assert!(c.webhooks.allow_private_targets);
        // A typo is an error, not silently ignored.
        std::fs::write(&path, "lisen = \"0.0.0.0:1\"\n").unwrap();
        assert!(Config::from_file(&path).is_err());
    }

    #[test]
    fn the_upstream_and_e_aadhaar_age_settings_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        let c = Config::default();
        assert_eq!(c.aadhaar_max_age_days, 1095);
        assert_eq!(c.aadhaar_max_age(), Some(time::Duration::days(1095)));
        assert_eq!(
            (
                c.digilocker_table.ca_file.clone(),
                c.digilocker_table.allow_http
            ),
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
        let mut c = Config::from_file(&path).unwrap();
        c.master_key = Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into());
        c.resolve_mode().unwrap();
        assert_eq!(c.aadhaar_max_age(), Some(time::Duration::days(365)));
        assert_eq!(
            c.digilocker_table.ca_file.as_deref(),
            Some(Path::new("/etc/kyc/digilocker-ca.pem"))
        );
        assert!(c.digilocker_table.allow_http && !c.sandbox_mode());
        c.check_digilocker_base_url().unwrap();
        c.digilocker_table.allow_http = false;
        let err = c.check_digilocker_base_url().unwrap_err().to_string();
        assert!(
            err.contains("GATEWAY_DIGILOCKER_BASE_URL") && err.contains("allow_http = true"),
            "{err}"
        );
        // 0: no age limit.
        std::fs::write(&path, "aadhaar_max_age_days = 0\n").unwrap();
        let c = Config::from_file(&path).unwrap();
        assert_eq!(c.aadhaar_max_age(), None);
        // The CA file alone (sandbox mode) is fine; credentials come all three or none.
        std::fs::write(&path, "[digilocker]\nca_file = \"/ca.pem\"\n").unwrap();
        let c = Config::from_file(&path).unwrap();
        assert!(c.sandbox_mode() && c.digilocker_table.ca_file.is_some());
        std::fs::write(&path, "[digilocker]\nclient_id = \"ABC\"\n").unwrap();
        let mut c = Config::from_file(&path).unwrap();
        let err = format!("{:#}", c.resolve_mode().unwrap_err());
        assert!(
            err.contains("GATEWAY_DIGILOCKER_BASE_URL ([digilocker] base_url)")
                && err.contains("GATEWAY_DIGILOCKER_CLIENT_SECRET ([digilocker] client_secret)")
                && err.contains("GATEWAY_MASTER_KEY")
                && !err.contains("CLIENT_ID"),
            "{err}"
        );
        std::fs::write(&path, "[digilocker]\nca_fil = \"/ca.pem\"\n").unwrap();
        assert!(Config::from_file(&path).is_err());
    }

    /// `README.md`'s settings tables (`| setting … | env | default |`):
    /// each row's settings (keys, a table's as `[table] key` or under a
    /// `[table]` header) with its variables.
    fn readme_rows() -> Vec<(Vec<String>, Vec<String>)> {
        let readme = include_str!("../../../README.md");
        let ticked = |cell: &str| -> Vec<String> {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect()
        };
        let mut rows = Vec::new();
        let mut table: Option<String> = None;
        for line in readme.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() < 4 || !line.starts_with('|') {
                table = None;
                continue;
            }
            if cells[1].starts_with("setting") && cells[2] == "env" {
                // `setting (`[webhooks]` table)`: its keys are the table's.
                table = Some(
                    ticked(cells[1])
                        .first()
                        .map(|t| format!("{}.", t.trim_matches(['[', ']'])))
                        .unwrap_or_default(),
                );
                continue;
            }
            let Some(prefix) = &table else { continue };
            if cells[1].starts_with("---") {
                continue;
            }
            let mut keys = Vec::new();
            for item in ticked(cells[1]) {
                if item.starts_with("--") {
                    continue; // a flag
                }
                let (prefix, names) = match item.strip_prefix('[') {
                    Some(rest) => {
                        let (t, names) = rest.split_once(']').unwrap();
                        (format!("{t}."), names.to_owned())
                    }
                    None => (prefix.clone(), item),
                };
                for name in names.split(',') {
                    keys.push(format!("{prefix}{}", name.trim()));
                }
            }
            let vars = ticked(cells[2])
                .into_iter()
                .filter(|v| v.starts_with("GATEWAY_"))
                .map(|v| {
                    v.chars()
                        .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                        .collect()
                })
                .collect();
            rows.push((keys, vars));
        }
        rows
    }

    #[test]
    fn the_readme_lists_every_setting_with_its_variable() {
        let keys = setting_keys();
        // The struct's settings, as its serialised default names them.
        for key in [
            "listen",
            "old_master_keys",
            "request_ttl_seconds",
            "digilocker.client_secret",
            "webhooks.retry_schedule_seconds",
        ] {
            assert!(keys.contains(key), "{key} not in {keys:?}");
        }
        assert!(!keys.contains("background_tasks") && !keys.contains("webhooks.poll_interval"));
        let rows = readme_rows();
        assert!(rows.len() > 30, "{rows:?}");
        let mut listed = BTreeSet::new();
        for (row_keys, vars) in &rows {
            if row_keys.is_empty() {
                // Not a setting (the logs' filter and format, read by the
                // command line): no setting's variable either.
                for var in vars {
                    assert!(
                        ["GATEWAY_LOG", "GATEWAY_LOG_FORMAT"].contains(&var.as_str()),
                        "README.md's row of {vars:?} names no setting"
                    );
                }
                continue;
            }
            let expected: BTreeSet<String> = row_keys.iter().map(|k| env_name(k)).collect();
            let named: BTreeSet<String> = vars.iter().cloned().collect();
            assert_eq!(
                expected, named,
                "README.md's row of {row_keys:?} names other variables"
            );
            for key in row_keys {
                assert!(
                    keys.contains(key),
                    "README.md lists {key}, which is no setting of Config"
                );
                listed.insert(key.clone());
            }
        }
        let missing: Vec<_> = keys.difference(&listed).collect();
        assert!(missing.is_empty(), "not in README.md's tables: {missing:?}");
    }

    #[test]
    fn the_packaged_config_file_lists_every_setting_and_its_examples_load() {
        let text = include_str!("../debian/gateway.toml");
        let mut table = String::new();
        let mut listed = BTreeSet::new();
        let mut uncommented = String::new();
        for line in text.lines() {
            if line.starts_with('[') {
                table = format!("{}.", line.trim_matches(['[', ']']));
                uncommented.push_str(line);
            } else {
                let setting = line.strip_prefix('#').unwrap_or(line);
                match setting.split_once(" = ") {
                    Some((key, _))
                        if !key.is_empty()
                            && key.chars().all(|c| c.is_ascii_lowercase() || c == '_') =>
                    {
                        listed.insert(format!("{table}{key}"));
                        uncommented.push_str(setting);
                    }
                    _ => {}
                }
            }
            uncommented.push('\n');
        }
        let keys = setting_keys();
        assert_eq!(listed, keys, "debian/gateway.toml against Config");
        // Every example, uncommented, is a valid value of its setting.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, uncommented).unwrap();
        let c = Config::from_file(&path).unwrap();
        assert_eq!(c.mode, Some(Mode::Production));
        assert!(c.digilocker_table.given().len() == 3 && c.master_key.is_some());
    }

    #[test]
    fn errors_name_the_setting_and_the_file_refuses_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        let err = |text: &str| {
            std::fs::write(&path, text).unwrap();
            format!("{:#}", Config::from_file(&path).unwrap_err())
        };
        for (text, says) in [
            (
                "lisen = \"0.0.0.0:1\"\n",
                &["unknown key lisen", "gateway.toml"][..],
            ),
            (
                "[webhooks]\ntimeout = 3\n",
                &["unknown key [webhooks] timeout"],
            ),
            (
                "background_tasks = false\n",
                &["unknown key background_tasks"],
            ),
            (
                "listen = \"localhost\"\n",
                &["listen in config file", "must be host:port"],
            ),
            (
                "[digilocker]\nallow_http = \"maybe\"\n",
                &["[digilocker] allow_http", "true or false"],
            ),
            (
                "request_ttl_seconds = \"an hour\"\n",
                &["request_ttl_seconds", "whole number"],
            ),
            ("mode = \"demo\"\n", &["sandbox or production"]),
            ("listen = [\n", &["is invalid"]),
        ] {
            let e = err(text);
            for said in says {
                assert!(e.contains(said), "{text}: {e}");
            }
        }
        let missing = dir.path().join("none.toml");
        let e = format!("{:#}", Config::from_file(&missing).unwrap_err());
        assert!(e.contains("cannot read config file"), "{e}");
        // Lists: TOML arrays; durations in whole seconds, days for the audit.
        std::fs::write(
            &path,
            "old_master_keys = [\"k1\", \"k2\"]\naudit_retention_days = 2\nmode = \"Sandbox\"\n",
        )
        .unwrap();
        let c = Config::from_file(&path).unwrap();
        assert_eq!(c.old_master_keys.len(), 2);
        assert_eq!(c.audit_retention, Duration::from_secs(2 * 24 * 3600));
        assert_eq!(c.mode, Some(Mode::Sandbox));
        // Floors: no zero waits, no zero parallelism.
        std::fs::write(
            &path,
            "sweep_interval_seconds = 0\ncatalogue_parallelism = 0\n[webhooks]\ntimeout_seconds = 900\n",
        )
        .unwrap();
        let c = Config::from_file(&path).unwrap();
        assert_eq!(c.sweep_interval, Duration::from_secs(1));
        assert_eq!(c.catalogue_parallelism, 1);
        assert_eq!(c.webhooks.timeout, Duration::from_secs(300));
        // The names of variables and keys.
        assert_eq!(
            env_name("digilocker.client_id"),
            "GATEWAY_DIGILOCKER_CLIENT_ID"
        );
        assert_eq!(env_name("webhooks.ca_file"), "GATEWAY_WEBHOOK_CA_FILE");
        assert_eq!(
            env_name("request_ttl_seconds"),
            "GATEWAY_REQUEST_TTL_SECONDS"
        );
        assert_eq!(file_key("webhooks.ca_file"), "[webhooks] ca_file");
    }

    fn partial(base: Option<&str>, id: Option<&str>, secret: Option<&str>) -> Config {
        Config {
            digilocker_table: DigilockerTable {
                base_url: base.map(str::to_owned),
                client_id: id.map(str::to_owned),
                client_secret: secret.map(SecretString::from),
                ..DigilockerTable::default()
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
        let c = Config::from_file(&path).unwrap();
        assert_eq!(c.mode, Some(Mode::Production));
        std::fs::write(&path, "mode = \"demo\"\n").unwrap();
        assert!(Config::from_file(&path).is_err());
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
            digilocker_table: DigilockerTable {
                allow_http: true,
                ..DigilockerTable::default()
            },
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
