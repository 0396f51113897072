//! Fault switches: make the sandbox slow, flaky, hung, or make it answer with
//! broken bodies, so a client's timeout, retry and error paths can be tested
//! against real HTTP.
//!
//! The switches are plain data ([`Faults`]), set at start from
//! [`crate::SandboxConfig::faults`], at run time through
//! [`crate::Sandbox::faults`] or over HTTP with `PUT {base}/admin/faults`.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Which partner-API endpoint a switch applies to.
///
/// `all` covers every partner API endpoint (token, revoke, user, files, file,
/// xml, eaadhaar and the four pull calls) but not the journey pages: a switch
/// meant for the HTML pages must name `authorize` explicitly, so a test that
/// breaks "everything" can still walk the consent journey.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// Every partner API endpoint (not the journey pages).
    #[default]
    All,
    /// `oauth2/1/authorize` and the journey pages behind it.
    Authorize,
    /// `oauth2/1/token`.
    Token,
    /// `oauth2/1/revoke`.
    Revoke,
    /// `oauth2/1/user`.
    User,
    /// `oauth2/{1,2}/files/issued`.
    Files,
    /// `oauth2/1/file/{uri}`.
    File,
    /// `oauth2/1/xml/{uri}`.
    Xml,
    /// `oauth2/{2,3}/xml/eaadhaar`.
    Eaadhaar,
    /// All four `oauth2/1/pull/*` calls.
    Pull,
    /// `oauth2/1/pull/issuers`.
    Issuers,
    /// `oauth2/1/pull/doctype`.
    Doctype,
    /// `oauth2/1/pull/parameters`.
    Parameters,
    /// `oauth2/1/pull/pulldocument`.
    Pulldocument,
}

impl Endpoint {
    /// Whether a switch scoped to `self` applies to a request served by `actual`.
    pub fn covers(self, actual: Endpoint) -> bool {
        match self {
            Endpoint::All => actual != Endpoint::Authorize,
            Endpoint::Pull => matches!(
                actual,
                Endpoint::Issuers
                    | Endpoint::Doctype
                    | Endpoint::Parameters
                    | Endpoint::Pulldocument
            ),
            scoped => scoped == actual,
        }
    }
}

/// Added delay before every matching request is served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyFault {
    /// Milliseconds to wait before answering.
    pub ms: u64,
    /// Where it applies; default `all`.
    #[serde(default)]
    pub endpoint: Endpoint,
}

/// Answer a share of matching requests with an upstream error instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorFault {
    /// Share of matching requests that fail, 0.0 to 1.0.
    pub rate: f64,
    /// HTTP status of the error, 400..=599; default 500.
    #[serde(default = "default_error_status")]
    pub status: u16,
    /// The `error` code, e.g. `repository_service_unresponsive`, `invalid_token`.
    #[serde(default = "default_error_code")]
    pub error: String,
    /// The `error_description`; a generic one when absent.
    #[serde(default)]
    pub error_description: Option<String>,
    /// Answer with an HTML error page (`text/html`) instead of DigiLocker's
    /// JSON error, as a proxy in front of a broken DigiLocker does.
    #[serde(default)]
    pub html: bool,
    /// Where it applies; default `all`.
    #[serde(default)]
    pub endpoint: Endpoint,
}

fn default_error_status() -> u16 {
    500
}

fn default_error_code() -> String {
    "repository_service_unresponsive".to_owned()
}

/// Accept matching requests and never answer within any sane timeout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HangFault {
    /// How long to sleep before answering; default one hour.
    #[serde(default = "default_hang_secs")]
    pub secs: u64,
    /// Where it applies; default `all`.
    #[serde(default)]
    pub endpoint: Endpoint,
}

fn default_hang_secs() -> u64 {
    3600
}

/// A switch with nothing but a scope: `malformed` and `truncated`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopedFault {
    /// Where it applies; default `all`.
    #[serde(default)]
    pub endpoint: Endpoint,
}

/// Make `pull/pulldocument` answer `500 pull_response_pending`, as an issuer
/// does when it must verify the details by hand.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullPendingFault {
    /// Absent: every pull answers pending (forced). A number: every issuer
    /// behaves like a slow issuer, answering pending to the first `attempts`
    /// pulls of each document (within ten minutes) and succeeding after.
    #[serde(default)]
    pub attempts: Option<u32>,
}

/// An issuer that verifies pulled details slowly: the first `attempts` pulls
/// of each document (per citizen, within ten minutes) answer
/// `500 pull_response_pending`; the next one succeeds. See
/// [`crate::SandboxConfig::slow_issuers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowIssuer {
    /// The issuer's org id, e.g. `000171` (EPFO).
    pub orgid: String,
    /// The doc type, e.g. `PRFND`.
    pub doctype: String,
    /// How many attempts answer pending before one succeeds.
    pub attempts: u32,
}

impl SlowIssuer {
    /// The default slow issuer: EPFO's provident fund passbook (`000171`,
    /// `PRFND`), pending for the first two attempts.
    pub fn epfo() -> SlowIssuer {
        SlowIssuer {
            orgid: crate::catalogue::ORGID_EPFO.to_owned(),
            doctype: "PRFND".to_owned(),
            attempts: 2,
        }
    }
}

/// Every fault switch; `null` / absent means off. This is also the JSON of
/// `GET`/`PUT {base}/admin/faults`, which adds the faulty issuers as
/// `issuers` (see [`crate::federation`]; not a switch: clearing the
/// switches leaves them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Delay every matching request.
    #[serde(default)]
    pub latency: Option<LatencyFault>,
    /// Fail a share of matching requests with an upstream error.
    #[serde(default)]
    pub error: Option<ErrorFault>,
    /// Never answer matching requests (sleep, then answer normally).
    #[serde(default)]
    pub hang: Option<HangFault>,
    /// Keep status and headers but break the body: JSON and XML lose their
    /// closing part, anything else (PDF) is replaced by junk; the `hmac`
    /// header still describes the original body.
    #[serde(default)]
    pub malformed: Option<ScopedFault>,
    /// Declare the full `Content-Length` and then drop the connection after
    /// half the body.
    #[serde(default)]
    pub truncated: Option<ScopedFault>,
    /// Seed for the error-rate dice, so a run is repeatable; random when absent.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Make pulls answer `500 pull_response_pending` (always, or for the
    /// first attempts of each document).
    #[serde(default)]
    pub pull_pending: Option<PullPendingFault>,
    /// Serve the e-Aadhaar only at the specification's `oauth2/2/xml/eaadhaar`:
    /// `oauth2/3/xml/eaadhaar` answers a plain `404` HTML page (no DigiLocker
    /// error code), as a path the server does not have.
    #[serde(default)]
    pub eaadhaar_v2_only: bool,
    /// Answer the e-Aadhaar (both paths) with `200` and an HTML page instead
    /// of the XML, as a portal or proxy in front of DigiLocker may.
    #[serde(default)]
    pub eaadhaar_html: bool,
}

impl Faults {
    /// Check the values a person may have got wrong.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(error) = &self.error {
            if !(0.0..=1.0).contains(&error.rate) || error.rate.is_nan() {
                return Err(format!(
                    "error.rate must be between 0 and 1, got {}",
                    error.rate
                ));
            }
            if !(400..=599).contains(&error.status) {
                return Err(format!(
                    "error.status must be a 4xx or 5xx status, got {}",
                    error.status
                ));
            }
            if error.error.trim().is_empty() {
                return Err(
                    "error.error must name an error code, e.g. repository_service_unresponsive"
                        .to_owned(),
                );
            }
        }
        Ok(())
    }
}

/// What the middleware should do with one request, decided up front.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub delay: Option<Duration>,
    pub fail: Option<ErrorFault>,
    pub malformed: bool,
    pub truncated: bool,
}

/// A shared handle on the live fault switches. Cloning it gives another
/// handle on the same switches.
#[derive(Clone)]
pub struct FaultSwitch {
    inner: Arc<FaultState>,
}

struct FaultState {
    faults: RwLock<Faults>,
    dice: Mutex<StdRng>,
}

impl std::fmt::Debug for FaultSwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultSwitch")
            .field("faults", &self.get())
            .finish()
    }
}

fn dice_for(faults: &Faults) -> StdRng {
    match faults.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => rand::make_rng(),
    }
}

impl FaultSwitch {
    /// Switches starting at `faults`. Invalid values are rejected.
    pub fn new(faults: Faults) -> Result<FaultSwitch, String> {
        faults.validate()?;
        let dice = dice_for(&faults);
        Ok(FaultSwitch {
            inner: Arc::new(FaultState {
                faults: RwLock::new(faults),
                dice: Mutex::new(dice),
            }),
        })
    }

    /// The switches as they are now.
    pub fn get(&self) -> Faults {
        match self.inner.faults.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replace every switch at once (and reseed the dice). Invalid values are
    /// rejected and leave the switches as they were.
    pub fn set(&self, faults: Faults) -> Result<(), String> {
        faults.validate()?;
        let dice = dice_for(&faults);
        match self.inner.faults.write() {
            Ok(mut guard) => *guard = faults,
            Err(poisoned) => *poisoned.into_inner() = faults,
        }
        match self.inner.dice.lock() {
            Ok(mut guard) => *guard = dice,
            Err(poisoned) => *poisoned.into_inner() = dice,
        }
        Ok(())
    }

    /// Turn every switch off.
    pub fn clear(&self) {
        // Default switches are always valid.
        let _ = self.set(Faults::default());
    }

    fn roll(&self) -> f64 {
        match self.inner.dice.lock() {
            Ok(mut dice) => dice.random::<f64>(),
            Err(poisoned) => poisoned.into_inner().random::<f64>(),
        }
    }

    /// Decide what happens to one request to `endpoint`.
    pub(crate) fn plan(&self, endpoint: Endpoint) -> Plan {
        let faults = self.get();
        let mut plan = Plan::default();
        let mut delay = Duration::ZERO;
        if let Some(latency) = faults
            .latency
            .as_ref()
            .filter(|l| l.endpoint.covers(endpoint))
        {
            delay += Duration::from_millis(latency.ms);
        }
        if let Some(hang) = faults.hang.as_ref().filter(|h| h.endpoint.covers(endpoint)) {
            delay += Duration::from_secs(hang.secs);
        }
        if !delay.is_zero() {
            plan.delay = Some(delay);
        }
        if let Some(error) = faults
            .error
            .as_ref()
            .filter(|e| e.endpoint.covers(endpoint))
        {
            // rate 1.0 always fails and 0.0 never does, whatever the dice say.
            if error.rate >= 1.0 || (error.rate > 0.0 && self.roll() < error.rate) {
                plan.fail = Some(error.clone());
            }
        }
        plan.malformed = faults
            .malformed
            .as_ref()
            .is_some_and(|m| m.endpoint.covers(endpoint));
        plan.truncated = faults
            .truncated
            .as_ref()
            .is_some_and(|t| t.endpoint.covers(endpoint));
        plan
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn all_covers_api_but_not_journey_pages() {
        assert!(Endpoint::All.covers(Endpoint::Token));
        assert!(!Endpoint::All.covers(Endpoint::Authorize));
        assert!(Endpoint::Pull.covers(Endpoint::Issuers));
        assert!(!Endpoint::Pull.covers(Endpoint::File));
        assert!(Endpoint::File.covers(Endpoint::File));
        assert!(!Endpoint::File.covers(Endpoint::Xml));
    }

    #[test]
    fn seeded_error_rate_is_repeatable() {
        let faults = Faults {
            error: Some(ErrorFault {
                html: false,
                rate: 0.5,
                status: 500,
                error: "repository_service_unresponsive".into(),
                error_description: None,
                endpoint: Endpoint::All,
            }),
            seed: Some(7),
            ..Faults::default()
        };
        let a = FaultSwitch::new(faults.clone()).unwrap();
        let b = FaultSwitch::new(faults).unwrap();
        let run = |s: &FaultSwitch| -> Vec<bool> {
            (0..64)
                .map(|_| s.plan(Endpoint::Token).fail.is_some())
                .collect()
        };
        let ra = run(&a);
        assert_eq!(ra, run(&b));
        let failures = ra.iter().filter(|f| **f).count();
        assert!(
            failures > 10 && failures < 54,
            "{failures} of 64 failed at rate 0.5"
        );
    }

    #[test]
    fn invalid_values_are_rejected() {
        let json = r#"{"error":{"rate":1.5}}"#;
        let faults: Faults = serde_json::from_str(json).unwrap();
        assert!(FaultSwitch::new(faults).is_err());
        assert!(
            serde_json::from_str::<Faults>(r#"{"latency":{"ms":5,"endpoint":"nope"}}"#).is_err()
        );
    }
}
