//! A sandbox per test on 127.0.0.1:0, a client pointed at it, and the
//! seeded citizens the tests need.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use digilocker::{
    generate_state, AuthorizeParams, CallRecord, Client, Config, Pkce, TokenResponse,
};
use sandbox::seed::Citizen;
use sandbox::testing::ServedSandbox;
use sandbox::{Faults, PartnerApp, Sandbox, SandboxConfig};
use secrecy::SecretString;
use url::Url;

use crate::journey::{self, Callback, Decision, How, Login};

pub const CLIENT_ID: &str = "it-partner";
pub const CLIENT_SECRET: &str = "it-partner-secret-0123456789abcdef0123456789abcdef";
pub const REDIRECT_URI: &str = "https://partner.example/digilocker/callback";

/// Where every test sandbox keeps its CA: created once, then loaded. Creating
/// one per test would cost an RSA key generation each.
fn data_dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("digilocker-it-sandbox")
    })
}

/// A running sandbox; the server task ends when this is dropped.
pub struct TestSandbox {
    pub sandbox: Sandbox,
    /// `http://127.0.0.1:{port}/public`
    pub base: Url,
    pub records: Arc<Mutex<Vec<CallRecord>>>,
    /// Served while this lives.
    _served: ServedSandbox,
}

impl TestSandbox {
    pub async fn start() -> TestSandbox {
        TestSandbox::start_with(|_| {}).await
    }

    /// A sandbox with its configuration adjusted (quirks off, latency, ...).
    pub async fn start_with(adjust: impl FnOnce(&mut SandboxConfig)) -> TestSandbox {
        let mut config = SandboxConfig {
            base_path: "/public".into(),
            data_dir: data_dir().to_path_buf(),
            // Only the recognisable issuers: quick to build, and enough.
            catalogue_issuers: 0,
            catalogue_pairs: 0,
            ..SandboxConfig::default()
        };
        adjust(&mut config);
        let app = PartnerApp {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_uris: vec![REDIRECT_URI.into()],
        };
        let served = ServedSandbox::start(config, vec![app], |r| r)
            .await
            .unwrap_or_else(|e| panic!("sandbox: {e:#}"));
        TestSandbox {
            sandbox: served.sandbox.clone(),
            base: served.base.parse().unwrap_or_else(|e| panic!("{e}")),
            records: Arc::new(Mutex::new(Vec::new())),
            _served: served,
        }
    }

    /// The configuration tests start from: short timeout, observer recording.
    pub fn config(&self) -> Config {
        let records = self.records.clone();
        Config {
            timeout: Duration::from_secs(5),
            observer: Some(Arc::new(move |r: &CallRecord| {
                records
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(r.clone());
            })),
            ..Config::new(
                self.base.clone(),
                CLIENT_ID,
                SecretString::from(CLIENT_SECRET),
                REDIRECT_URI.parse().unwrap_or_else(|e| panic!("{e}")),
            )
        }
    }

    pub fn client(&self) -> Client {
        self.client_with(|_| {})
    }

    pub fn client_with(&self, adjust: impl FnOnce(&mut Config)) -> Client {
        let mut config = self.config();
        adjust(&mut config);
        Client::new(config).unwrap_or_else(|e| panic!("client: {e}"))
    }

    pub fn set_faults(&self, faults: Faults) {
        self.sandbox
            .faults()
            .set(faults)
            .unwrap_or_else(|e| panic!("faults: {e}"));
    }

    pub fn last_record(&self) -> CallRecord {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .cloned()
            .unwrap_or_else(|| panic!("no call was observed"))
    }

    /// Walk the journey for `citizen` and exchange the code: a live token.
    pub async fn token_for(&self, citizen: &Citizen, decision: Decision) -> TokenResponse {
        let client = self.client();
        let (callback, pkce) = self
            .consent(&client, citizen, AuthorizeParams::default(), decision)
            .await;
        let code = callback
            .code
            .unwrap_or_else(|| panic!("no code: {:?}", callback.error_description));
        client
            .exchange_code(&code, &pkce.verifier)
            .await
            .unwrap_or_else(|e| panic!("exchange: {e}"))
    }

    /// Walk the journey with `params` (state and challenge filled in here) and
    /// return the callback (checked for the right `state`) and the PKCE pair.
    pub async fn consent(
        &self,
        client: &Client,
        citizen: &Citizen,
        params: AuthorizeParams,
        decision: Decision,
    ) -> (Callback, Pkce) {
        let pkce = Pkce::generate();
        let state = generate_state();
        let url = client.authorize_url(&AuthorizeParams {
            state: state.clone(),
            code_challenge: pkce.challenge.clone(),
            ..params
        });
        let callback = journey::run(&url, REDIRECT_URI, &sign_in(citizen), &decision)
            .await
            .unwrap_or_else(|e| panic!("journey: {e}"));
        assert_eq!(
            callback.state.as_deref(),
            Some(state.as_str()),
            "state echoed back"
        );
        (callback, pkce)
    }
}

/// Sign in with the citizen's Aadhaar (or mobile, when no Aadhaar is linked).
pub fn sign_in(citizen: &Citizen) -> Login {
    let username = citizen
        .aadhaar
        .clone()
        .or_else(|| citizen.mobile.clone())
        .unwrap_or_else(|| panic!("{} has neither Aadhaar nor mobile", citizen.name));
    Login {
        how: How::SignIn { username },
        otp: sandbox::seed::OTP.into(),
        pin: citizen.pin.clone(),
    }
}

use sandbox::testing::citizen as find;

/// An account holder with Aadhaar, e-Aadhaar, and a document with XML data.
pub fn regular_citizen() -> Citizen {
    find("has an account, e-Aadhaar and an XML document", |c| {
        c.has_account
            && c.aadhaar.is_some()
            && c.eaadhaar_available
            && c.documents
                .iter()
                .any(|d| d.mime.iter().any(|m| m == "application/xml"))
    })
}

/// An account holder without Aadhaar linked.
pub fn citizen_without_aadhaar() -> Citizen {
    find("has an account but no Aadhaar", |c| {
        c.has_account && c.aadhaar.is_none() && c.mobile.is_some()
    })
}

/// An account holder whose e-Aadhaar data is not available.
pub fn citizen_without_eaadhaar() -> Citizen {
    find("has Aadhaar but no e-Aadhaar data", |c| {
        c.has_account && c.aadhaar.is_some() && !c.eaadhaar_available
    })
}

/// Someone with Aadhaar and a mobile but no DigiLocker account yet.
pub fn citizen_to_sign_up() -> Citizen {
    find("must sign up (Aadhaar with a mobile)", |c| {
        !c.has_account && c.aadhaar.is_some() && c.mobile.is_some()
    })
}

/// An account holder born on the 1st to the 9th of a month, so that a `dob`
/// sent as a JSON number loses its leading zero.
pub fn citizen_born_early_in_a_month() -> Citizen {
    find("was born on the 1st-9th and has Aadhaar", |c| {
        c.has_account && c.aadhaar.is_some() && c.dob.starts_with('0')
    })
}
