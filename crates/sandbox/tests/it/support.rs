//! A sandbox on 127.0.0.1:0 and a browser-like client to walk its journey.

use std::collections::HashMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::distr::Alphanumeric;
use rand::RngExt;
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};
use sandbox::seed::Citizen;
use sandbox::testing::ServedSandbox;
use sandbox::{PartnerApp, Sandbox, SandboxConfig};
use scraper::{Html, Selector};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

pub const CLIENT_ID: &str = "test-app";
pub const CLIENT_SECRET: &str = "test-secret-0123456789abcdef";
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback?from=test";
pub const OTHER_CLIENT_ID: &str = "other-app";
pub const OTHER_SECRET: &str = "other-secret-0123456789abcdef";

pub struct TestSandbox {
    /// Served while this lives.
    _served: ServedSandbox,
    pub sandbox: Sandbox,
    /// `http://127.0.0.1:PORT/sandbox`
    pub base: String,
    /// No redirects, cookies on: a browser that lets the test see each hop.
    pub browser: reqwest::Client,
}

pub async fn spawn() -> TestSandbox {
    spawn_with(|_| {}).await
}

/// One CA for the whole test run: making RSA keys in a debug build takes
/// seconds, and the CA is loaded safely by many sandboxes at once.
fn shared_ca_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap())
        .path()
        .join("ca")
}

pub async fn spawn_with(tweak: impl FnOnce(&mut SandboxConfig)) -> TestSandbox {
    let mut config = SandboxConfig {
        base_path: "/sandbox".into(),
        data_dir: shared_ca_dir(),
        catalogue_issuers: 60,
        catalogue_pairs: 150,
        ..SandboxConfig::default()
    };
    tweak(&mut config);
    let apps = vec![
        PartnerApp {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_uris: vec![REDIRECT_URI.into(), "https://app.example/cb".into()],
        },
        PartnerApp {
            client_id: OTHER_CLIENT_ID.into(),
            client_secret: OTHER_SECRET.into(),
            redirect_uris: vec!["https://other.example/cb".into()],
        },
    ];
    let served = ServedSandbox::start(config, apps, |r| r).await.unwrap();
    TestSandbox {
        sandbox: served.sandbox.clone(),
        base: served.base.clone(),
        _served: served,
        browser: client(),
    }
}

/// A client like the gateway's: no redirects followed, cookies kept, a timeout.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Pkce {
        let verifier: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(64)
            .map(char::from)
            .collect();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce {
            verifier,
            challenge,
        }
    }
}

/// A page of the journey, parsed.
pub struct Page {
    pub status: StatusCode,
    pub html: String,
}

impl Page {
    pub async fn from(response: Response) -> Page {
        let status = response.status();
        let html = response.text().await.unwrap();
        Page { status, html }
    }

    fn doc(&self) -> Html {
        Html::parse_document(&self.html)
    }

    /// The hidden `journey` field (every form carries the same one).
    pub fn journey(&self) -> String {
        self.input_value("journey")
            .unwrap_or_else(|| panic!("no journey field in page:\n{}", self.html))
    }

    pub fn input_value(&self, name: &str) -> Option<String> {
        let selector = Selector::parse(&format!("input[name=\"{name}\"]")).unwrap();
        self.doc()
            .select(&selector)
            .next()
            .and_then(|e| e.value().attr("value").map(str::to_owned))
    }

    /// Form actions on the page, in order.
    pub fn form_actions(&self) -> Vec<String> {
        let selector = Selector::parse("form").unwrap();
        self.doc()
            .select(&selector)
            .filter_map(|e| e.value().attr("action").map(str::to_owned))
            .collect()
    }

    pub fn has_input(&self, name: &str) -> bool {
        self.input_value(name).is_some() || {
            let selector = Selector::parse(&format!("input[name=\"{name}\"]")).unwrap();
            self.doc().select(&selector).next().is_some()
        }
    }

    /// The consent page's `doc` checkboxes: (value, checked).
    pub fn doc_checkboxes(&self) -> Vec<(String, bool)> {
        let selector = Selector::parse("input[type=checkbox][name=doc]").unwrap();
        self.doc()
            .select(&selector)
            .map(|e| {
                (
                    e.value().attr("value").unwrap_or_default().to_owned(),
                    e.value().attr("checked").is_some(),
                )
            })
            .collect()
    }

    /// The text of the error message box, if any.
    pub fn error(&self) -> Option<String> {
        let selector = Selector::parse(".error").unwrap();
        self.doc()
            .select(&selector)
            .next()
            .map(|e| e.text().collect::<String>())
    }
}

/// Where the journey sent the browser back to, with its query parameters.
pub struct Callback {
    pub url: Url,
    pub params: HashMap<String, String>,
}

impl Callback {
    pub fn from(response: &Response) -> Callback {
        assert!(
            response.status().is_redirection(),
            "expected a redirect, got {}",
            response.status()
        );
        let location = response
            .headers()
            .get("location")
            .expect("a redirect has a Location")
            .to_str()
            .unwrap();
        let url = Url::parse(location).unwrap();
        let params = url.query_pairs().into_owned().collect();
        Callback { url, params }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// A journey in progress: the PKCE pair and state the "app" made.
pub struct Flow {
    pub pkce: Pkce,
    pub state: String,
    pub redirect_uri: String,
}

impl TestSandbox {
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    pub fn authorize_url(&self, flow: &Flow, extra: &[(&str, &str)]) -> String {
        let mut url = Url::parse(&self.url("oauth2/1/authorize")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", &flow.redirect_uri)
            .append_pair("state", &flow.state)
            .append_pair("code_challenge", &flow.pkce.challenge)
            .append_pair("code_challenge_method", "S256")
            .extend_pairs(extra);
        url.to_string()
    }

    pub fn new_flow(&self) -> Flow {
        Flow {
            pkce: Pkce::new(),
            state: format!("state-{}", rand::random::<u64>()),
            redirect_uri: REDIRECT_URI.into(),
        }
    }

    /// `GET authorize`, returning the first page.
    pub async fn start(&self, flow: &Flow, extra: &[(&str, &str)]) -> Page {
        let response = self
            .browser
            .get(self.authorize_url(flow, extra))
            .send()
            .await
            .unwrap();
        Page::from(response).await
    }

    /// Post a journey form to the action path (relative to the base).
    pub async fn post(&self, action: &str, journey: &str, fields: &[(&str, &str)]) -> Response {
        let mut form: Vec<(&str, &str)> = vec![("journey", journey)];
        form.extend_from_slice(fields);
        self.browser
            .post(self.url(action))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_page(&self, action: &str, journey: &str, fields: &[(&str, &str)]) -> Page {
        Page::from(self.post(action, journey, fields).await).await
    }

    /// Sign in with `username` (Aadhaar or mobile), OTP and PIN; returns
    /// the consent page.
    pub async fn sign_in_to_consent(
        &self,
        flow: &Flow,
        extra: &[(&str, &str)],
        username: &str,
        pin: &str,
    ) -> Page {
        let page = self.start(flow, extra).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.html);
        let journey = page.journey();
        let page = self
            .post_page(
                "oauth2/1/authorize/signin",
                &journey,
                &[("username", username)],
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "after sign-in: {}", page.html);
        assert!(
            page.has_input("otp"),
            "expected the OTP page: {}",
            page.html
        );
        let page = self
            .post_page(
                "oauth2/1/authorize/otp",
                &journey,
                &[("otp", sandbox::seed::OTP)],
            )
            .await;
        assert!(
            page.has_input("pin"),
            "expected the PIN page: {}",
            page.html
        );
        let page = self
            .post_page("oauth2/1/authorize/pin", &journey, &[("pin", pin)])
            .await;
        assert_eq!(page.status, StatusCode::OK, "after PIN: {}", page.html);
        page
    }

    /// Allow with the boxes ticked by default; returns the callback.
    pub async fn allow_defaults(&self, consent: &Page) -> Callback {
        let journey = consent.journey();
        let ticked: Vec<String> = consent
            .doc_checkboxes()
            .into_iter()
            .filter(|(_, checked)| *checked)
            .map(|(value, _)| value)
            .collect();
        self.allow(&journey, &ticked).await
    }

    pub async fn allow(&self, journey: &str, docs: &[String]) -> Callback {
        let mut fields: Vec<(&str, &str)> = docs.iter().map(|d| ("doc", d.as_str())).collect();
        fields.push(("decision", "allow"));
        let response = self
            .post("oauth2/1/authorize/consent", journey, &fields)
            .await;
        Callback::from(&response)
    }

    /// The whole journey for `citizen` with default choices; returns the code.
    pub async fn code_for(&self, flow: &Flow, citizen: &Citizen) -> String {
        let consent = self
            .sign_in_to_consent(
                flow,
                &[],
                citizen
                    .aadhaar
                    .as_deref()
                    .or(citizen.mobile.as_deref())
                    .unwrap(),
                &citizen.pin,
            )
            .await;
        let callback = self.allow_defaults(&consent).await;
        assert_eq!(callback.get("state"), Some(flow.state.as_str()));
        callback.get("code").expect("a code").to_owned()
    }

    /// `POST token` with a code, client credentials in the form.
    pub async fn exchange(&self, code: &str, flow: &Flow) -> Response {
        self.browser
            .post(self.url("oauth2/1/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", flow.redirect_uri.as_str()),
                ("code_verifier", flow.pkce.verifier.as_str()),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .send()
            .await
            .unwrap()
    }

    /// A journey and exchange for `citizen`: the token response.
    pub async fn token_for(&self, citizen: &Citizen) -> Value {
        let flow = self.new_flow();
        let code = self.code_for(&flow, citizen).await;
        let response = self.exchange(&code, &flow).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Response {
        self.browser
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

/// `(status, error code)` of a DigiLocker error answer.
pub async fn error_of(response: Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Seeded citizens by what a test needs.
pub fn citizen(pred: impl Fn(&Citizen) -> bool) -> Citizen {
    sandbox::testing::citizen("this test needs", pred)
}

/// The citizen's position in the seed, which picks the spelling of the
/// answers about them (`sandbox::spelling`).
pub fn position_of(citizen: &Citizen) -> usize {
    sandbox::seed::citizens()
        .iter()
        .position(|c| c.digilocker_id == citizen.digilocker_id)
        .expect("a seeded citizen")
}

/// The DigiLocker id of a token answer, whichever way it is spelt.
pub fn digilocker_id(token: &Value) -> &Value {
    token
        .get("digilockerid")
        .or_else(|| token.get("digilocker_id"))
        .unwrap_or(&Value::Null)
}

/// The e-Aadhaar flag of a token or user answer, whichever way it is spelt.
pub fn eaadhaar_flag(answer: &Value) -> &Value {
    answer
        .get("eaadhaar")
        .or_else(|| answer.get("eaadhar"))
        .unwrap_or(&Value::Null)
}

/// A signed-in citizen with Aadhaar, mobile, e-Aadhaar and documents.
pub fn happy_citizen() -> Citizen {
    citizen(|c| {
        c.has_account
            && c.aadhaar.is_some()
            && c.mobile.is_some()
            && c.eaadhaar_available
            && c.documents.len() >= 2
    })
}

/// A journey with `extra` authorize parameters, ticking what `tick` picks of
/// the offered boxes; the access token.
pub async fn token_ticking(
    sb: &TestSandbox,
    who: &sandbox::seed::Citizen,
    extra: &[(&str, &str)],
    tick: impl Fn(&str, bool) -> bool,
) -> String {
    let flow = sb.new_flow();
    let username = who.aadhaar.as_deref().or(who.mobile.as_deref()).unwrap();
    let consent = sb
        .sign_in_to_consent(&flow, extra, username, &who.pin)
        .await;
    let ticked: Vec<String> = consent
        .doc_checkboxes()
        .into_iter()
        .filter(|(value, checked)| tick(value, *checked))
        .map(|(value, _)| value)
        .collect();
    let callback = sb.allow(&consent.journey(), &ticked).await;
    let token: Value = sb
        .exchange(callback.get("code").unwrap(), &flow)
        .await
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}
