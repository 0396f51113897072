//! The consent journey: `GET oauth2/1/authorize`, then sign in (Aadhaar or
//! mobile, OTP, PIN) or sign up (Aadhaar, OTP, new PIN), then consent.
//!
//! Journey state lives server-side, keyed by a 256-bit random id carried in
//! a hidden `journey` field of every form. The id doubles as the CSRF token:
//! a page from another site cannot post a step without knowing it.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, LOCATION};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use url::Url;

use super::oauth::now_unix;
use super::pages::{self, ConsentItem};
use super::{secret_eq, Shared, SharedState};
use crate::seed;
use crate::store::{random_token, CodeRecord, Grant, Journey, Step, Store};

/// How long a journey may sit between steps.
const JOURNEY_TTL: Duration = Duration::from_secs(15 * 60);
/// Wrong OTPs (or PINs) allowed before the journey fails.
const MAX_ATTEMPTS: u8 = 3;
/// Default consent validity when the app asks for none.
const DEFAULT_CONSENT_SECS: i64 = 30 * 24 * 3600;

/// Where a journey ends: back at the app's redirect URI.
fn redirect_to(uri: &str, params: &[(&str, &str)], status: StatusCode) -> Response {
    let location = match Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params);
            url.to_string()
        }
        // Registered URIs are checked at authorize time; this cannot happen
        // unless an app was re-registered mid-journey.
        Err(_) => {
            return pages::error_page(
                StatusCode::BAD_REQUEST,
                "Invalid redirect URI",
                "The application's redirect URI is not a valid URL.",
            )
        }
    };
    (
        status,
        [(LOCATION, location), (CACHE_CONTROL, "no-store".to_owned())],
    )
        .into_response()
}

/// End the journey with an OAuth error at the redirect URI.
fn fail(journey: &Journey, error: &str, description: &str) -> Response {
    tracing::info!(client_id = %journey.client_id, error, "journey ended with an error");
    redirect_to(
        &journey.redirect_uri,
        &[
            ("error", error),
            ("error_description", description),
            ("state", &journey.state),
        ],
        StatusCode::SEE_OTHER,
    )
}

fn param<'a>(query: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    query
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// `GET oauth2/1/authorize`.
pub(crate) async fn authorize(
    State(shared): State<SharedState>,
    Query(raw): Query<Vec<(String, String)>>,
) -> Response {
    // Parameter names are matched exactly, as DigiLocker matches them:
    // `code_challenge`, not the `Code_challenge` its published spec prints.
    let query: HashMap<String, String> = raw.into_iter().collect();
    // Until client and redirect URI are known good, problems are shown here
    // and never sent to an unchecked URI (no open redirect).
    let Some(client_id) = param(&query, "client_id") else {
        return pages::error_page(
            StatusCode::BAD_REQUEST,
            "Missing client_id",
            "The application did not say who it is (client_id is missing).",
        );
    };
    let app = shared.store().apps.get(client_id).cloned();
    let Some(app) = app else {
        return pages::error_page(
            StatusCode::BAD_REQUEST,
            "Unknown application",
            "This application is not registered with the DigiLocker sandbox (unknown client_id).",
        );
    };
    let Some(redirect_uri) = param(&query, "redirect_uri") else {
        return pages::error_page(
            StatusCode::BAD_REQUEST,
            "Missing redirect_uri",
            "The application did not say where to send you back (redirect_uri is missing).",
        );
    };
    if !app.redirect_uris.iter().any(|r| r == redirect_uri) {
        return pages::error_page(
            StatusCode::BAD_REQUEST,
            "Redirect URI not registered",
            "The redirect_uri does not exactly match any redirect URI registered for this application.",
        );
    }
    let state = param(&query, "state").unwrap_or_default();
    let oauth_error = |error: &str, description: &str| {
        let mut params = vec![("error", error), ("error_description", description)];
        if !state.is_empty() {
            params.push(("state", state));
        }
        redirect_to(redirect_uri, &params, StatusCode::FOUND)
    };
    if param(&query, "response_type") != Some("code") {
        return oauth_error("unsupported_response_type", "response_type must be code");
    }
    if state.is_empty() {
        return oauth_error("invalid_request", "state is required");
    }
    let Some(challenge) = param(&query, "code_challenge") else {
        return oauth_error(
            "invalid_request",
            "code_challenge is required (PKCE with S256)",
        );
    };
    if param(&query, "code_challenge_method") != Some("S256") {
        return oauth_error(
            "invalid_request",
            "code_challenge_method must be S256, the only method supported",
        );
    }
    let challenge_ok = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !challenge_ok {
        return oauth_error(
            "invalid_request",
            "code_challenge must be the base64url (no padding) SHA-256 of the code verifier",
        );
    }
    let consent_valid_till = match param(&query, "consent_valid_till") {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(t) if t > now_unix() => Some(t),
            _ => {
                return oauth_error(
                    "invalid_request",
                    "consent_valid_till must be a future time in unix seconds",
                )
            }
        },
    };
    let req_doctype: Vec<String> = param(&query, "req_doctype")
        .unwrap_or_default()
        .split(',')
        .map(|d| d.trim().to_ascii_uppercase())
        .filter(|d| !d.is_empty())
        .collect();
    let signup = param(&query, "dl_flow") == Some("signup");
    let journey = Journey {
        client_id: app.client_id.clone(),
        app_name: app.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: state.to_owned(),
        code_challenge: challenge.to_owned(),
        req_doctype,
        purpose: param(&query, "purpose").map(str::to_owned),
        consent_valid_till,
        verified_mobile: if signup {
            param(&query, "verified_mobile").map(str::to_owned)
        } else {
            None
        },
        step: if signup { Step::SignUp } else { Step::SignIn },
        otp_failures: 0,
        pin_failures: 0,
        expires: Instant::now() + JOURNEY_TTL,
    };
    let id = random_token();
    shared.store().journeys.insert(id.clone(), journey.clone());
    if signup {
        signup_page(&shared, &id, &journey, None, "")
    } else {
        signin_page(&shared, &id, &journey, None, "")
    }
}

fn signin_page(
    shared: &Shared,
    id: &str,
    journey: &Journey,
    error: Option<String>,
    username: &str,
) -> Response {
    pages::render(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &pages::SignIn {
            app: journey.app_name.clone(),
            journey: id.to_owned(),
            action: shared.path("oauth2/1/authorize/signin"),
            signup_action: shared.path("oauth2/1/authorize/signup/start"),
            purpose: journey.purpose.clone(),
            error,
            username: username.to_owned(),
        },
    )
}

fn signup_page(
    shared: &Shared,
    id: &str,
    journey: &Journey,
    error: Option<String>,
    aadhaar: &str,
) -> Response {
    pages::render(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &pages::SignUp {
            app: journey.app_name.clone(),
            journey: id.to_owned(),
            action: shared.path("oauth2/1/authorize/signup"),
            signin_action: shared.path("oauth2/1/authorize/signin/start"),
            error,
            aadhaar: aadhaar.to_owned(),
        },
    )
}

fn otp_page(shared: &Shared, id: &str, mobile: Option<&str>, error: Option<String>) -> Response {
    let destination = match mobile {
        Some(m) if m.len() >= 4 => format!("your mobile number ending {}", &m[m.len() - 4..]),
        _ => "your registered contact".to_owned(),
    };
    pages::render(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &pages::Otp {
            journey: id.to_owned(),
            action: shared.path("oauth2/1/authorize/otp"),
            destination,
            error,
        },
    )
}

fn pin_page(shared: &Shared, id: &str, set: bool, error: Option<String>) -> Response {
    pages::render(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &pages::Pin {
            journey: id.to_owned(),
            action: shared.path("oauth2/1/authorize/pin"),
            set,
            error,
        },
    )
}

fn format_date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[day] [month repr:short] [year]"
            ))
            .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

fn consent_page(
    shared: &Shared,
    store: &Store,
    id: &str,
    journey: &Journey,
    account: usize,
    new_account: bool,
) -> Response {
    let Some(acct) = store.accounts.get(account) else {
        return fail(
            journey,
            "server_error",
            "The sandbox lost the citizen's account",
        );
    };
    let mut items: Vec<ConsentItem> = acct
        .all_documents()
        .enumerate()
        .map(|(n, doc)| ConsentItem {
            id: format!("doc-{n}"),
            value: doc.uri.clone(),
            title: doc.name.clone(),
            subtitle: format!("{} · issued {}", doc.issuer, doc.date),
            checked: true,
            requested: journey.req_doctype.contains(&doc.doctype),
        })
        .collect();
    for (n, doctype) in journey.req_doctype.iter().enumerate() {
        if acct.all_documents().any(|d| &d.doctype == doctype) {
            continue;
        }
        let known = shared
            .catalogue
            .issuers
            .iter()
            .flat_map(|i| i.doctypes.iter())
            .find(|d| &d.doctype == doctype);
        items.push(ConsentItem {
            id: format!("req-{n}"),
            value: format!("file.partners/{doctype}"),
            title: known.map_or_else(|| doctype.clone(), |d| d.description.to_string()),
            subtitle: format!(
                "Not in your DigiLocker yet: {} may fetch it from the issuer",
                journey.app_name
            ),
            checked: false,
            requested: true,
        });
    }
    pages::render(
        StatusCode::OK,
        &pages::Consent {
            app: journey.app_name.clone(),
            journey: id.to_owned(),
            action: shared.path("oauth2/1/authorize/consent"),
            name: acct.citizen.name.clone(),
            new_account,
            valid_till: format_date(consent_valid_till(journey)),
            purpose: journey.purpose.clone(),
            items,
        },
    )
}

fn consent_valid_till(journey: &Journey) -> i64 {
    journey
        .consent_valid_till
        .unwrap_or_else(|| now_unix() + DEFAULT_CONSENT_SECS)
}

type Form = Vec<(String, String)>;

fn parse_form(body: &Bytes) -> Form {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

fn field<'a>(form: &'a Form, name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or_default()
}

/// The journey a form belongs to, if it is still alive.
fn journey_of(store: &Store, form: &Form) -> Option<(String, Journey)> {
    let id = field(form, "journey");
    store
        .journeys
        .get(id)
        .filter(|j| j.expires > Instant::now())
        .map(|j| (id.to_owned(), j.clone()))
}

/// The page for a form whose journey is gone.
fn expired_page() -> Response {
    pages::error_page(
        StatusCode::BAD_REQUEST,
        "Session expired",
        "This DigiLocker session has expired or is unknown. Go back to the application and start again.",
    )
}

/// Digits only: people type spaces and dashes in Aadhaar and mobile numbers.
fn digits(text: &str) -> String {
    text.chars().filter(|c| !matches!(c, ' ' | '-')).collect()
}

fn is_digits(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit())
}

/// Move a journey to `step`, refreshing its lifetime.
fn advance(store: &mut Store, id: &str, step: Step) {
    if let Some(j) = store.journeys.get_mut(id) {
        j.step = step;
        j.expires = Instant::now() + JOURNEY_TTL;
    }
}

/// A form from an earlier page of the journey (back button, second tab):
/// start again at sign-in, keeping the attempt counts.
fn restart(store: &mut Store, shared: &Shared, id: &str, journey: &Journey) -> Response {
    advance(store, id, Step::SignIn);
    signin_page(
        shared,
        id,
        journey,
        Some("That page has expired. Sign in again to continue.".into()),
        "",
    )
}

/// `POST oauth2/1/authorize/signin/start`: back to the sign-in page.
pub(crate) async fn signin_start(State(shared): State<SharedState>, body: Bytes) -> Response {
    let form = parse_form(&body);
    let mut store = shared.store();
    let Some((id, journey)) = journey_of(&store, &form) else {
        return expired_page();
    };
    advance(&mut store, &id, Step::SignIn);
    signin_page(&shared, &id, &journey, None, "")
}

/// `POST oauth2/1/authorize/signup/start`: to the sign-up page.
pub(crate) async fn signup_start(State(shared): State<SharedState>, body: Bytes) -> Response {
    let form = parse_form(&body);
    let mut store = shared.store();
    let Some((id, journey)) = journey_of(&store, &form) else {
        return expired_page();
    };
    advance(&mut store, &id, Step::SignUp);
    signup_page(&shared, &id, &journey, None, "")
}

/// `POST oauth2/1/authorize/signin`: `journey`, `username` (Aadhaar or mobile).
pub(crate) async fn signin(State(shared): State<SharedState>, body: Bytes) -> Response {
    let form = parse_form(&body);
    let mut store = shared.store();
    let Some((id, journey)) = journey_of(&store, &form) else {
        return expired_page();
    };
    // Signing in again from any step is allowed (the back button); the
    // wrong-OTP and wrong-PIN counts carry over.
    let username = digits(field(&form, "username"));
    let found = if is_digits(&username, 12) {
        store.find_account(Some(&username), None)
    } else if is_digits(&username, 10) {
        store.find_account(None, Some(&username))
    } else {
        return signin_page(
            &shared,
            &id,
            &journey,
            Some("Enter a 12-digit Aadhaar number or a 10-digit mobile number.".into()),
            field(&form, "username"),
        );
    };
    let Some(account) = found.filter(|n| store.accounts[*n].citizen.has_account) else {
        return signin_page(
            &shared,
            &id,
            &journey,
            Some("No DigiLocker account is registered with this number. New to DigiLocker? Sign up with your Aadhaar number.".into()),
            field(&form, "username"),
        );
    };
    let mobile = store.accounts[account].citizen.mobile.clone();
    advance(
        &mut store,
        &id,
        Step::Otp {
            account,
            signup: false,
        },
    );
    otp_page(&shared, &id, mobile.as_deref(), None)
}

/// `POST oauth2/1/authorize/signup`: `journey`, `aadhaar`.
pub(crate) async fn signup(State(shared): State<SharedState>, body: Bytes) -> Response {
    let form = parse_form(&body);
    let mut store = shared.store();
    let Some((id, journey)) = journey_of(&store, &form) else {
        return expired_page();
    };
    let aadhaar = digits(field(&form, "aadhaar"));
    if !is_digits(&aadhaar, 12) {
        return signup_page(
            &shared,
            &id,
            &journey,
            Some("Enter your 12-digit Aadhaar number.".into()),
            field(&form, "aadhaar"),
        );
    }
    let Some(account) = store.find_account(Some(&aadhaar), None) else {
        return signup_page(
            &shared,
            &id,
            &journey,
            Some("This Aadhaar number is not one of the sandbox's test citizens (see the sandbox README).".into()),
            field(&form, "aadhaar"),
        );
    };
    let citizen = &store.accounts[account].citizen;
    if citizen.has_account {
        return signup_page(
            &shared,
            &id,
            &journey,
            Some(
                "A DigiLocker account already exists for this Aadhaar number. Sign in instead."
                    .into(),
            ),
            field(&form, "aadhaar"),
        );
    }
    let Some(mobile) = citizen.mobile.clone() else {
        store.journeys.remove(&id);
        return fail(
            &journey,
            "mobile_not_linked",
            "Aadhaar not linked with mobile number: DigiLocker sign-up sends an OTP to the Aadhaar-linked mobile, so this user cannot sign up",
        );
    };
    if journey.verified_mobile.as_deref() == Some(mobile.as_str()) {
        // The app vouched for the mobile (`verified_mobile`): no OTP.
        advance(&mut store, &id, Step::SetPin { account });
        return pin_page(&shared, &id, true, None);
    }
    advance(
        &mut store,
        &id,
        Step::Otp {
            account,
            signup: true,
        },
    );
    otp_page(&shared, &id, Some(&mobile), None)
}

/// `POST oauth2/1/authorize/otp`: `journey`, `otp`.
pub(crate) async fn otp(State(shared): State<SharedState>, body: Bytes) -> Response {
    let form = parse_form(&body);
    let mut store = shared.store();
    let Some((id, journey)) = journey_of(&store, &form) else {
        return expired_page();
    };
    let Step::Otp { account, signup } = journey.step else {
        return restart(&mut store, &shared, &id, &journey);
    };
    let mobile = store
        .accounts
        .get(account)
        .and_then(|a| a.citizen.mobile.clone());
    if secret_eq(field(&form, "otp"), seed::OTP) {
        if signup {
            advance(&mut store, &id, Step::SetPin { account });
            return pin_page(&shared, &id, true, None);
        }
        advance(&mut store, &id, Step::Pin { account });
        return pin_page(&shared, &id, false, None);
    }
    let failures = journey.otp_failures + 1;
    if failures >= MAX_ATTEMPTS {
        store.journeys.remove(&id);
        return fail(
            &journey,
            "otp_attempts_exceeded",
            "The user entered a wrong OTP 3 times; the sign-in was stopped",
        );
    }
    if let Some(j) = store.journeys.get_mut(&id) {
        j.otp_failures = failures;
    }
    let left = MAX_ATTEMPTS - failures;
    otp_page(
        &shared,
        &id,
        mobile.as_deref(),
        Some(format!(
            "The OTP is not correct. {left} attempt{} left.",
            if left == 1 { "" } else { "s" }
        )),
    )
}

/// `POST oauth2/1/authorize/pin`: `journey`, `pin` (and `pin_confirm` when
/// setting a new PIN at sign-up).
pub(crate) async fn pin(State(shared): State<SharedState>, body: Bytes) -> Response {
    let form = parse_form(&body);
    let mut store = shared.store();
    let Some((id, journey)) = journey_of(&store, &form) else {
        return expired_page();
    };
    let pin = field(&form, "pin");
    match journey.step {
        Step::Pin { account } => {
            let right = store
                .accounts
                .get(account)
                .is_some_and(|a| secret_eq(pin, &a.citizen.pin));
            if right {
                advance(
                    &mut store,
                    &id,
                    Step::Consent {
                        account,
                        new_account: false,
                    },
                );
                return consent_page(&shared, &store, &id, &journey, account, false);
            }
            let failures = journey.pin_failures + 1;
            if failures >= MAX_ATTEMPTS {
                store.journeys.remove(&id);
                return fail(
                    &journey,
                    "pin_attempts_exceeded",
                    "The user entered a wrong security PIN 3 times; the sign-in was stopped",
                );
            }
            if let Some(j) = store.journeys.get_mut(&id) {
                j.pin_failures = failures;
            }
            pin_page(
                &shared,
                &id,
                false,
                Some("The security PIN is not correct.".into()),
            )
        }
        Step::SetPin { account } => {
            if !is_digits(pin, 6) {
                return pin_page(
                    &shared,
                    &id,
                    true,
                    Some("The PIN must be exactly 6 digits.".into()),
                );
            }
            if pin != field(&form, "pin_confirm") {
                return pin_page(
                    &shared,
                    &id,
                    true,
                    Some("The two PINs do not match.".into()),
                );
            }
            if let Some(acct) = store.accounts.get_mut(account) {
                acct.citizen.pin = pin.to_owned();
                acct.citizen.has_account = true;
            }
            advance(
                &mut store,
                &id,
                Step::Consent {
                    account,
                    new_account: true,
                },
            );
            consent_page(&shared, &store, &id, &journey, account, true)
        }
        _ => restart(&mut store, &shared, &id, &journey),
    }
}

/// `POST oauth2/1/authorize/consent`: `journey`, `doc` (repeated: the
/// ticked values), `decision` = `allow` | `deny`.
pub(crate) async fn consent(State(shared): State<SharedState>, body: Bytes) -> Response {
    let form = parse_form(&body);
    let mut store = shared.store();
    let Some((id, journey)) = journey_of(&store, &form) else {
        return expired_page();
    };
    let Step::Consent {
        account,
        new_account,
    } = journey.step
    else {
        return restart(&mut store, &shared, &id, &journey);
    };
    match field(&form, "decision") {
        "allow" => {}
        "deny" => {
            store.journeys.remove(&id);
            return fail(
                &journey,
                "access_denied",
                "The user denied access to their DigiLocker",
            );
        }
        _ => return consent_page(&shared, &store, &id, &journey, account, new_account),
    }
    let Some(acct) = store.accounts.get(account) else {
        return fail(
            &journey,
            "server_error",
            "The sandbox lost the citizen's account",
        );
    };
    let mut documents = BTreeSet::new();
    let mut partners = Vec::new();
    for (_, value) in form.iter().filter(|(k, _)| k == "doc") {
        if acct.document(value).is_some() {
            documents.insert(value.clone());
        } else if let Some(doctype) = value.strip_prefix("file.partners/") {
            if journey.req_doctype.iter().any(|d| d == doctype)
                && !partners.iter().any(|p| p == doctype)
            {
                partners.push(doctype.to_owned());
            }
        }
        // Anything else was not offered on the page: ignored.
    }
    let eaadhaar = acct
        .all_documents()
        .any(|d| d.doctype == "ADHAR" && documents.contains(&d.uri));
    let grant_id = random_token();
    store.grants.insert(
        grant_id.clone(),
        Grant {
            client_id: journey.client_id.clone(),
            account,
            documents,
            partners,
            eaadhaar,
            pulled: BTreeSet::new(),
            consent_valid_till: consent_valid_till(&journey),
            new_account,
            reference_key: random_token()[..32].to_owned(),
            revoked: false,
        },
    );
    let code = random_token();
    store.codes.insert(
        code.clone(),
        CodeRecord {
            grant: grant_id,
            client_id: journey.client_id.clone(),
            redirect_uri: journey.redirect_uri.clone(),
            code_challenge: journey.code_challenge.clone(),
            expires: Instant::now() + shared.config.code_ttl,
            used: false,
        },
    );
    store.journeys.remove(&id);
    tracing::info!(client_id = %journey.client_id, new_account, "journey ended with consent; code issued");
    redirect_to(
        &journey.redirect_uri,
        &[("code", &code), ("state", &journey.state)],
        StatusCode::SEE_OTHER,
    )
}
