//! Client configuration and the per-call observer hook.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::error::{Error, ErrorCode};

/// Default timeout of a whole call, connect to last byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default timeout of establishing the connection (TCP + TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on a JSON answer. DigiLocker's largest JSON answers (the issuer
/// list, a long issued-documents list) are far below this.
pub const DEFAULT_MAX_JSON_BYTES: usize = 2 * 1024 * 1024;
/// Default cap on a downloaded file or XML. DigiLocker caps uploads at 10 MB.
pub const DEFAULT_MAX_FILE_BYTES: usize = 20 * 1024 * 1024;

/// How the token and revoke calls authenticate the partner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` as form fields (DigiLocker's documented way).
    #[default]
    FormBody,
    /// HTTP Basic with the client id as user name and the secret as password.
    Basic,
}

/// Client configuration. Build it with [`Config::new`] (defaults for everything
/// optional) and adjust fields, e.g. `Config { timeout, ..Config::new(...) }`.
#[derive(Clone)]
pub struct Config {
    /// Base URL up to and including `/public` (or the sandbox's base path);
    /// endpoint paths such as `oauth2/1/token` are appended to it.
    pub base_url: Url,
    /// The partner's client id.
    pub client_id: String,
    /// The partner's client secret: authenticates the token calls, signs the
    /// catalogue calls and checks file hmacs.
    pub client_secret: SecretString,
    /// The registered redirect URI (the gateway's callback).
    pub redirect_uri: Url,
    /// Timeout of every call, connect to last byte. Default 30 s.
    pub timeout: Duration,
    /// Timeout of establishing a connection. Default 10 s.
    pub connect_timeout: Duration,
    /// How token/revoke calls carry the client credentials. Default form body.
    pub client_auth: ClientAuth,
    /// Largest JSON answer accepted, in bytes. Default 2 MiB.
    pub max_json_bytes: usize,
    /// Largest file or XML accepted, in bytes. Default 20 MiB.
    pub max_file_bytes: usize,
    /// Called once after every call with its endpoint, outcome and duration
    /// (for metrics). Runs on the caller's task: keep it quick.
    pub observer: Option<Observer>,
    /// Certificate authorities (a PEM bundle: one or more `CERTIFICATE`
    /// blocks) trusted for DigiLocker's TLS certificate in addition to the
    /// bundled public roots ([`crate::bundled_roots`]): for a DigiLocker, or
    /// a proxy in front of it, whose certificate comes from a private CA.
    /// [`crate::Client::new`] refuses a bundle without a certificate or with
    /// one that cannot be read. Default none.
    pub extra_ca_pem: Option<Vec<u8>>,
}

impl Config {
    /// A configuration with the default timeouts, body limits, form-body client
    /// authentication and no observer.
    pub fn new(
        base_url: Url,
        client_id: impl Into<String>,
        client_secret: SecretString,
        redirect_uri: Url,
    ) -> Config {
        Config {
            base_url,
            client_id: client_id.into(),
            client_secret,
            redirect_uri,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            client_auth: ClientAuth::FormBody,
            max_json_bytes: DEFAULT_MAX_JSON_BYTES,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            observer: None,
            extra_ca_pem: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("client_auth", &self.client_auth)
            .field("max_json_bytes", &self.max_json_bytes)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("observer", &self.observer.as_ref().map(|_| "<fn>"))
            .field(
                "extra_ca_pem",
                &self
                    .extra_ca_pem
                    .as_ref()
                    .map(|pem| format!("{} bytes", pem.len())),
            )
            .finish()
    }
}

/// The observer hook: `Arc::new(|record: &CallRecord| ...)`.
pub type Observer = Arc<dyn Fn(&CallRecord) + Send + Sync>;

/// Which API a call went to. [`Endpoint::as_str`] is a stable metrics label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `oauth2/1/token`, `grant_type=authorization_code`.
    ExchangeCode,
    /// `oauth2/1/token`, `grant_type=refresh_token`.
    Refresh,
    /// `oauth2/1/revoke`.
    Revoke,
    /// `oauth2/1/user`.
    User,
    /// `oauth2/2/files/issued`.
    IssuedFiles,
    /// `oauth2/1/file/{uri}`.
    File,
    /// `oauth2/1/xml/{uri}`.
    Xml,
    /// `oauth2/3/xml/eaadhaar`, or `oauth2/2/xml/eaadhaar` where only that
    /// one exists (see [`crate::Client::eaadhaar`]).
    Eaadhaar,
    /// `oauth2/1/pull/issuers`.
    PullIssuers,
    /// `oauth2/1/pull/doctype`.
    PullDoctypes,
    /// `oauth2/1/pull/parameters`.
    PullParameters,
    /// `oauth2/1/pull/pulldocument`.
    PullDocument,
}

impl Endpoint {
    /// Every endpoint, e.g. to pre-register metrics.
    pub const ALL: [Endpoint; 12] = [
        Endpoint::ExchangeCode,
        Endpoint::Refresh,
        Endpoint::Revoke,
        Endpoint::User,
        Endpoint::IssuedFiles,
        Endpoint::File,
        Endpoint::Xml,
        Endpoint::Eaadhaar,
        Endpoint::PullIssuers,
        Endpoint::PullDoctypes,
        Endpoint::PullParameters,
        Endpoint::PullDocument,
    ];

    /// A stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::ExchangeCode => "exchange_code",
            Endpoint::Refresh => "refresh",
            Endpoint::Revoke => "revoke",
            Endpoint::User => "user",
            Endpoint::IssuedFiles => "issued_files",
            Endpoint::File => "file",
            Endpoint::Xml => "xml",
            Endpoint::Eaadhaar => "eaadhaar",
            Endpoint::PullIssuers => "pull_issuers",
            Endpoint::PullDoctypes => "pull_doctypes",
            Endpoint::PullParameters => "pull_parameters",
            Endpoint::PullDocument => "pull_document",
        }
    }
}

/// How a call ended, without any payload (safe to log and to use as a label).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Success.
    Ok,
    /// DigiLocker answered with this error code.
    Upstream(ErrorCode),
    /// No answer in time.
    Timeout,
    /// Connection or protocol failure.
    Transport,
    /// Unparsable, truncated or oversized answer.
    Malformed,
    /// A file's `hmac` header did not match.
    HmacMismatch,
    /// Refused before sending (bad argument).
    InvalidArgument,
}

impl Outcome {
    /// A stable name: `ok`, or [`Error::kind`] of the failure.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Upstream(_) => "upstream",
            Outcome::Timeout => "timeout",
            Outcome::Transport => "transport",
            Outcome::Malformed => "malformed",
            Outcome::HmacMismatch => "hmac_mismatch",
            Outcome::InvalidArgument => "invalid_argument",
        }
    }

    pub(crate) fn of<T>(result: &Result<T, Error>) -> Outcome {
        match result {
            Ok(_) => Outcome::Ok,
            Err(Error::Upstream { code, .. }) => Outcome::Upstream(code.clone()),
            Err(Error::Timeout) => Outcome::Timeout,
            Err(Error::Transport(_)) => Outcome::Transport,
            Err(Error::Malformed(_)) => Outcome::Malformed,
            Err(Error::HmacMismatch) => Outcome::HmacMismatch,
            Err(Error::InvalidArgument(_)) => Outcome::InvalidArgument,
        }
    }
}

/// What the observer sees of one call: no tokens, no URIs, no personal data.
#[derive(Clone, Debug)]
pub struct CallRecord {
    /// Which API.
    pub endpoint: Endpoint,
    /// The HTTP status, when an answer arrived.
    pub status: Option<u16>,
    /// How it ended.
    pub outcome: Outcome,
    /// From sending the request to having decoded (or given up on) the answer.
    pub duration: Duration,
}
