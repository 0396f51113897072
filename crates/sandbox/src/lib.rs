//! A DigiLocker look-alike speaking the partner API wire protocol of
//! `spec/UPSTREAM.md`: OAuth 2.0 with PKCE, consent pages, resource APIs,
//! the signed catalogue calls and pull, seeded citizens and documents, an
//! e-Aadhaar XML signed by a sandbox CA, and fault switches.
//!
//! Like the real federation of issuers behind DigiLocker, a few issuers are
//! down, flaky or slow by default, and the catalogue calls take tens of
//! milliseconds: see [`federation`].
//!
//! Embed it in another axum app, or run the `digilocker-sandbox` binary:
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use sandbox::{PartnerApp, Sandbox, SandboxConfig};
//! let sandbox = Sandbox::new(SandboxConfig { base_path: "/sandbox".into(), ..SandboxConfig::default() })?;
//! sandbox.register_app(PartnerApp {
//!     client_id: "demo".into(),
//!     client_secret: "a-long-random-secret".into(),
//!     redirect_uris: vec!["http://127.0.0.1:8080/callback".into()],
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9090").await?;
//! axum::serve(listener, sandbox.router()).await?;
//! # Ok(()) }
//! ```

pub mod catalogue;
pub mod documents;
pub mod faults;
pub mod federation;
pub mod issuer_signing;
pub mod seed;
pub mod signing;
pub mod spelling;
pub mod testing;

mod server;
mod store;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use faults::{
    Endpoint, ErrorFault, FaultSwitch, Faults, HangFault, LatencyFault, PullPendingFault,
    ScopedFault, SlowIssuer,
};
pub use federation::IssuerFault;
pub use signing::EAadhaarShape;

/// How a sandbox instance behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Path prefix every route lives under, e.g. `/sandbox`, `/public`, or
    /// `""` for the root. A trailing slash is ignored.
    pub base_path: String,
    /// Directory holding the sandbox CA (created on first start).
    pub data_dir: PathBuf,
    /// Lifetime of an access token (`expires_in`). Default one hour.
    pub access_token_ttl: Duration,
    /// Lifetime of an authorization code. Default 60 seconds.
    pub code_ttl: Duration,
    /// About how many issuers the catalogue has.
    pub catalogue_issuers: usize,
    /// About how many (issuer, doc type) pairs the catalogue has.
    pub catalogue_pairs: usize,
    /// Fault switches at start.
    pub faults: Faults,
    /// When set, `admin/faults` requires `Authorization: Bearer <admin_token>`.
    pub admin_token: Option<String>,
    /// The layout of the e-Aadhaar XML: [`EAadhaarShape::Real`] (default,
    /// exactly as DigiLocker sends it) or [`EAadhaarShape::Legacy`].
    pub eaadhaar_shape: EAadhaarShape,
    /// Answer with the variants DigiLocker's spec and service show (default
    /// on): the token and user answers take turns through every spelling of
    /// `digilockerid`/`digilocker_id`, `eaadhaar`/`eaadhar`, `dob` (string or
    /// number) and `consent_valid_till` (number or string), by the rule of
    /// [`spelling`]; refresh tokens rotate; issued-file dates come in several
    /// formats; files without XML data come without the `hmac` header.
    /// Off: the service's spelling everywhere ([`spelling::Spelling::SERVICE`]),
    /// refresh tokens that do not rotate, `DD-MM-YYYY` dates and an `hmac`
    /// header on every file.
    pub quirks: bool,
    /// Issuers whose pulls answer `500 pull_response_pending` for the first
    /// attempts of each document. Default: EPFO's `PRFND`, two attempts
    /// ([`SlowIssuer::epfo`]). Empty: no slow issuer.
    pub slow_issuers: Vec<SlowIssuer>,
    /// Issuers that fail or are slow, by org id, as some of the real
    /// federation's always are. Default: the handful of
    /// [`federation::default_issuer_faults`] (three down, one doc type
    /// down, two failing half their calls, one slow). Empty: every issuer
    /// healthy, for a quick demo. Every org id (and doc type) must be in
    /// the catalogue. Changed at run time with
    /// [`Sandbox::set_issuer_fault`].
    pub issuer_faults: BTreeMap<String, IssuerFault>,
    /// The least each of the three signed catalogue calls (`pull/issuers`,
    /// `pull/doctype`, `pull/parameters`) waits, as DigiLocker's own
    /// slowness. Default 20 ms ([`federation::DEFAULT_CATALOGUE_LATENCY`]).
    pub catalogue_latency: Duration,
    /// Up to this much more is added to each catalogue call, drawn by
    /// seeded dice. Default 40 ms ([`federation::DEFAULT_CATALOGUE_JITTER`]),
    /// so calls take 20 to 60 ms and a crawl of the default catalogue at 16
    /// calls in parallel about 30 seconds. Zero both for no latency.
    pub catalogue_latency_jitter: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            base_path: "/sandbox".to_owned(),
            data_dir: PathBuf::from("./data/sandbox"),
            access_token_ttl: Duration::from_secs(3600),
            code_ttl: Duration::from_secs(60),
            catalogue_issuers: catalogue::DEFAULT_ISSUERS,
            catalogue_pairs: catalogue::DEFAULT_PAIRS,
            faults: Faults::default(),
            admin_token: None,
            eaadhaar_shape: EAadhaarShape::default(),
            quirks: true,
            slow_issuers: vec![SlowIssuer::epfo()],
            issuer_faults: federation::default_issuer_faults(),
            catalogue_latency: federation::DEFAULT_CATALOGUE_LATENCY,
            catalogue_latency_jitter: federation::DEFAULT_CATALOGUE_JITTER,
        }
    }
}

/// A registered partner application (DigiLocker's "client").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerApp {
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret`; also the key of the `hmac` file header and of the
    /// signed catalogue calls.
    pub client_secret: String,
    /// Redirect URIs, each matched exactly (no prefix or pattern matching).
    pub redirect_uris: Vec<String>,
}

/// A running sandbox: cheap to clone, all clones share the same state.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<server::Shared>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_path", &self.inner.base_path)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Load (or create) the CA under `config.data_dir`, generate the
    /// catalogue and seed the citizens.
    pub fn new(config: SandboxConfig) -> anyhow::Result<Sandbox> {
        let shape = config.eaadhaar_shape;
        let mut shared = server::Shared::new(config)?;
        shared.signing.set_shape(shape);
        Ok(Sandbox {
            inner: Arc::new(shared),
        })
    }

    /// Register (or replace, by `client_id`) a partner application.
    pub fn register_app(&self, app: PartnerApp) {
        self.inner.store().apps.insert(app.client_id.clone(), app);
    }

    /// Every route, already nested under `config.base_path`, ready to
    /// `merge` into another app. Unknown paths under the base path answer a
    /// DigiLocker-style JSON 404. With an empty base path that 404 is the
    /// router's fallback, so it cannot then be merged with another router
    /// that has a fallback of its own: embed under a prefix.
    pub fn router(&self) -> axum::Router {
        server::router(self.inner.clone())
    }

    /// The sandbox root CA certificate in PEM: what a client verifying the
    /// e-Aadhaar signature, or an issuer's XML on `oauth2/1/xml/{uri}`
    /// (signed by the issuer's own certificate under the same root, see
    /// [`issuer_signing`]), must trust in sandbox mode.
    pub fn root_ca_pem(&self) -> String {
        self.inner.signing.root_pem()
    }

    /// The live fault switches.
    pub fn faults(&self) -> FaultSwitch {
        self.inner.faults.clone()
    }

    /// Break one issuer (`Some`) or heal it (`None`), as in
    /// `sandbox.set_issuer_fault(federation::ORGID_INACTIVE, None)`. A fault
    /// replaces the issuer's previous one, and its dice start over. An org id
    /// (or a fault's doc type) the catalogue does not have, or an invalid
    /// fault, is refused and changes nothing.
    pub fn set_issuer_fault(&self, orgid: &str, fault: Option<IssuerFault>) -> Result<(), String> {
        self.inner.check_issuer_fault(orgid, fault.as_ref())?;
        self.inner.federation.set(orgid, fault);
        Ok(())
    }

    /// Replace every issuer fault at once; empty heals every issuer. Invalid
    /// values are refused and change nothing.
    pub fn set_issuer_faults(&self, faults: BTreeMap<String, IssuerFault>) -> Result<(), String> {
        for (orgid, fault) in &faults {
            self.inner.check_issuer_fault(orgid, Some(fault))?;
        }
        self.inner.federation.set_all(faults);
        Ok(())
    }

    /// The issuer faults as they are now, by org id.
    pub fn issuer_faults(&self) -> BTreeMap<String, IssuerFault> {
        self.inner.federation.get()
    }

    /// The base path routes live under, normalised (`""` or `/something`).
    pub fn base_path(&self) -> &str {
        &self.inner.base_path
    }
}
