//! A federation that partly fails, by default.
//!
//! Real DigiLocker fronts about 2,000 issuer back-ends ("repositories"), and
//! on any day some of them are down, flaky or slow: their calls answer one
//! of the `repository_service_*` errors, an HTML page from a broken proxy,
//! or take seconds. The sandbox imitates that with a handful of faulty
//! issuers, on unless [`crate::SandboxConfig::issuer_faults`] is emptied,
//! so a client is always tested against partial failure:
//!
//! | org id | issuer | fault |
//! |---|---|---|
//! | `001103` | Transport Department, Government of Arunachal Pradesh | every call `500 repository_service_unresponsive` |
//! | `001207` | Board of School Education Haryana | every call `502` with an HTML page (`text/html`), as a broken proxy answers |
//! | `001119` | Transport Department, Government of Lakshadweep | every call `503 repository_service_inactive` |
//! | `001113` | Transport Department, Government of Himachal Pradesh | `RVCER` only: its `pull/parameters` and pulls `500 repository_service_configerror`; `DRVLC` works |
//! | `001210` | Jharkhand Academic Council | half the calls `500 repository_service_resperror` |
//! | `001126` | Transport Department, Government of Odisha | half the calls `500 repository_service_exception` |
//! | `001130` | Transport Department, Government of Sikkim | every call waits 1.6 s more, then works |
//!
//! "Every call" means every call that reaches the issuer: `pull/doctype`
//! (issuer-wide faults only), `pull/parameters` and `pull/pulldocument`,
//! each after the sandbox's own checks (signature, token, org id, doc type,
//! consent), as DigiLocker answers those itself. `pull/issuers` is
//! DigiLocker's own list and always works. The intermittent issuers roll
//! seeded dice, one sequence per issuer, so a run is repeatable.
//!
//! They are all recognisable issuers (state transport departments and
//! school boards of states no seeded citizen or test uses), so every
//! catalogue size has them, down to the smallest.
//!
//! Faults change at run time through [`crate::Sandbox::set_issuer_fault`]
//! or over HTTP (`admin/faults`, `issuers` field, and
//! `admin/faults/issuers/{orgid}`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::catalogue::Catalogue;

/// Transport Department, Government of Arunachal Pradesh: every call
/// answers `500 repository_service_unresponsive`.
pub const ORGID_UNRESPONSIVE: &str = "001103";
/// Board of School Education Haryana: every call answers `502` with an HTML
/// error page (`text/html`), as a broken proxy in front of the issuer does.
pub const ORGID_BROKEN_PROXY: &str = "001207";
/// Transport Department, Government of Lakshadweep: every call answers
/// `503 repository_service_inactive`.
pub const ORGID_INACTIVE: &str = "001119";
/// The issuers that fail every call, `pull/doctype` included.
pub const DOWN_ORGIDS: &[&str] = &[ORGID_UNRESPONSIVE, ORGID_BROKEN_PROXY, ORGID_INACTIVE];
/// Transport Department, Government of Himachal Pradesh, `RVCER`: the one
/// (issuer, doc type) pair whose `pull/parameters` and pulls answer
/// `500 repository_service_configerror`. Its `pull/doctype` and `DRVLC` work.
pub const PAIR_DOWN: (&str, &str) = ("001113", "RVCER");
/// Jharkhand Academic Council (`500 repository_service_resperror`) and
/// Transport Department, Government of Odisha
/// (`500 repository_service_exception`): each call fails with a chance of
/// [`INTERMITTENT_RATE`].
pub const INTERMITTENT_ORGIDS: &[&str] = &["001210", "001126"];
/// Share of an intermittent issuer's calls that fail.
pub const INTERMITTENT_RATE: f64 = 0.5;
/// Transport Department, Government of Sikkim: every call waits
/// [`SLOW_DELAY`] (plus the catalogue latency), then answers normally.
pub const SLOW_ORGIDS: &[&str] = &["001130"];
/// How much longer the slow issuer's calls take: well under the 5 s
/// timeout a client typically gives one call, well over everyone else's.
pub const SLOW_DELAY: Duration = Duration::from_millis(1_600);
/// Every issuer with a fault by default, the pair-level one included.
pub const FAULTY_ORGIDS: &[&str] = &[
    ORGID_UNRESPONSIVE,
    ORGID_BROKEN_PROXY,
    ORGID_INACTIVE,
    PAIR_DOWN.0,
    INTERMITTENT_ORGIDS[0],
    INTERMITTENT_ORGIDS[1],
    SLOW_ORGIDS[0],
];

/// DigiLocker's own latency on each signed catalogue call (`pull/issuers`,
/// `pull/doctype`, `pull/parameters`): the least a call waits.
pub const DEFAULT_CATALOGUE_LATENCY: Duration = Duration::from_millis(20);
/// Up to this much more is added to each catalogue call, drawn by seeded
/// dice: calls take 20 to 60 ms, 40 ms on average. A crawl of the small
/// catalogue (60 issuers, 240 pairs: 301 calls) at 16 calls in parallel
/// then takes about 0.8 s, plus the slow issuer's few seconds; the default
/// catalogue (12,001 calls) about 30 s.
pub const DEFAULT_CATALOGUE_JITTER: Duration = Duration::from_millis(40);

/// Seed of the federation's dice (the intermittent issuers' failures and
/// the catalogue latency's jitter).
const SEED: u64 = 0x5EED_D161_7A1F_0023;

/// What is wrong with one issuer: its calls wait `delay_ms`, then a share
/// `rate` of them fail with `status` and `error` (or an HTML page).
///
/// A slow issuer is `rate` 0 and a `delay_ms`; a down one `rate` 1. This is
/// also the JSON of one entry of `issuers` in `admin/faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerFault {
    /// Only this doc type's `pull/parameters` and `pull/pulldocument` calls
    /// (a pair-level fault; `pull/doctype` works). Absent: every call naming
    /// the issuer.
    #[serde(default)]
    pub doctype: Option<String>,
    /// Share of calls that fail, 0.0 to 1.0; default 1.0 (every call).
    #[serde(default = "always")]
    pub rate: f64,
    /// HTTP status of a failure, 400..=599; default 500.
    #[serde(default = "default_status")]
    pub status: u16,
    /// The `error` code of a failure; default `repository_service_unresponsive`.
    /// Not used with `html`.
    #[serde(default = "default_error")]
    pub error: String,
    /// Fail with an HTML error page (`text/html`) instead of DigiLocker's
    /// JSON error, as a broken proxy in front of the issuer does.
    #[serde(default)]
    pub html: bool,
    /// Milliseconds every call waits before it is answered, failing or not.
    #[serde(default)]
    pub delay_ms: u64,
}

fn always() -> f64 {
    1.0
}

fn default_status() -> u16 {
    500
}

fn default_error() -> String {
    "repository_service_unresponsive".to_owned()
}

impl IssuerFault {
    /// Every call fails with `status` and the JSON error `error`, e.g.
    /// `IssuerFault::down(503, "repository_service_inactive")`.
    pub fn down(status: u16, error: &str) -> IssuerFault {
        IssuerFault::intermittent(1.0, status, error)
    }

    /// Every call fails with `status` and an HTML page, as from a broken proxy.
    pub fn html_page(status: u16) -> IssuerFault {
        IssuerFault {
            html: true,
            ..IssuerFault::down(status, "bad_gateway")
        }
    }

    /// A share `rate` (0.0 to 1.0) of calls fail with `status` and `error`.
    pub fn intermittent(rate: f64, status: u16, error: &str) -> IssuerFault {
        IssuerFault {
            doctype: None,
            rate,
            status,
            error: error.to_owned(),
            html: false,
            delay_ms: 0,
        }
    }

    /// Every call waits `delay` more, then works.
    pub fn slow(delay: Duration) -> IssuerFault {
        IssuerFault {
            rate: 0.0,
            delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            ..IssuerFault::down(500, "repository_service_unresponsive")
        }
    }

    /// The same fault limited to one doc type of the issuer.
    pub fn only_doctype(self, doctype: &str) -> IssuerFault {
        IssuerFault {
            doctype: Some(doctype.to_owned()),
            ..self
        }
    }

    /// Check the values a person may have got wrong, and that the issuer
    /// (and doc type) exist in `catalogue`.
    pub fn validate(&self, orgid: &str, catalogue: &Catalogue) -> Result<(), String> {
        let Some(issuer) = catalogue.issuer(orgid) else {
            return Err(format!(
                "no issuer has org id {orgid:?} in this catalogue; pick one from pull/issuers"
            ));
        };
        if let Some(doctype) = &self.doctype {
            if !issuer
                .doctypes
                .iter()
                .any(|d| d.doctype == doctype.as_str())
            {
                let known: Vec<&str> = issuer.doctypes.iter().map(|d| d.doctype.as_ref()).collect();
                return Err(format!(
                    "issuer {orgid} does not issue doc type {doctype:?}; it issues {known:?}"
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.rate) || self.rate.is_nan() {
            return Err(format!(
                "issuer {orgid}: rate must be between 0 and 1, got {}",
                self.rate
            ));
        }
        if !(400..=599).contains(&self.status) {
            return Err(format!(
                "issuer {orgid}: status must be a 4xx or 5xx status, got {}",
                self.status
            ));
        }
        if !self.html && self.error.trim().is_empty() {
            return Err(format!(
                "issuer {orgid}: error must name an error code, e.g. repository_service_unresponsive"
            ));
        }
        Ok(())
    }

    /// Whether this fault applies to a call naming `doctype` (`None`: the
    /// issuer's `pull/doctype` call).
    fn covers(&self, doctype: Option<&str>) -> bool {
        match (&self.doctype, doctype) {
            (None, _) => true,
            (Some(only), Some(asked)) => only == asked,
            (Some(_), None) => false,
        }
    }
}

/// The faulty issuers every sandbox starts with (the table in the module
/// documentation), by org id.
pub fn default_issuer_faults() -> BTreeMap<String, IssuerFault> {
    let (pair_orgid, pair_doctype) = PAIR_DOWN;
    [
        (
            ORGID_UNRESPONSIVE,
            IssuerFault::down(500, "repository_service_unresponsive"),
        ),
        (ORGID_BROKEN_PROXY, IssuerFault::html_page(502)),
        (
            ORGID_INACTIVE,
            IssuerFault::down(503, "repository_service_inactive"),
        ),
        (
            pair_orgid,
            IssuerFault::down(500, "repository_service_configerror").only_doctype(pair_doctype),
        ),
        (
            INTERMITTENT_ORGIDS[0],
            IssuerFault::intermittent(INTERMITTENT_RATE, 500, "repository_service_resperror"),
        ),
        (
            INTERMITTENT_ORGIDS[1],
            IssuerFault::intermittent(INTERMITTENT_RATE, 500, "repository_service_exception"),
        ),
        (SLOW_ORGIDS[0], IssuerFault::slow(SLOW_DELAY)),
    ]
    .into_iter()
    .map(|(orgid, fault)| (orgid.to_owned(), fault))
    .collect()
}

/// What happens to one call reaching an issuer.
#[derive(Debug, Default)]
pub(crate) struct IssuerPlan {
    /// Wait this long first.
    pub delay: Duration,
    /// Then fail like this, or answer normally when `None`.
    pub fail: Option<IssuerFault>,
}

/// The live issuer faults and the federation's dice.
pub(crate) struct Federation {
    faults: RwLock<BTreeMap<String, IssuerFault>>,
    /// One sequence per issuer, so one issuer's answers do not depend on
    /// how calls to the others interleave.
    dice: Mutex<HashMap<String, StdRng>>,
    latency: Duration,
    jitter: Duration,
    jitter_dice: Mutex<StdRng>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// FNV-1a: a stable hash of an org id, to seed that issuer's dice.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Federation {
    /// Faults at start (checked against the catalogue by the caller), and
    /// the catalogue calls' latency: `latency` plus up to `jitter`.
    pub fn new(
        faults: BTreeMap<String, IssuerFault>,
        latency: Duration,
        jitter: Duration,
    ) -> Federation {
        Federation {
            faults: RwLock::new(faults),
            dice: Mutex::new(HashMap::new()),
            latency,
            jitter,
            jitter_dice: Mutex::new(StdRng::seed_from_u64(SEED)),
        }
    }

    /// The faults as they are now.
    pub fn get(&self) -> BTreeMap<String, IssuerFault> {
        match self.faults.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn write(&self, change: impl FnOnce(&mut BTreeMap<String, IssuerFault>)) {
        match self.faults.write() {
            Ok(mut guard) => change(&mut guard),
            Err(poisoned) => change(&mut poisoned.into_inner()),
        }
    }

    /// Replace every issuer fault (already validated); the dice start over.
    pub fn set_all(&self, faults: BTreeMap<String, IssuerFault>) {
        self.write(|all| *all = faults);
        lock(&self.dice).clear();
    }

    /// Break (`Some`) or heal (`None`) one issuer (already validated); its
    /// dice start over.
    pub fn set(&self, orgid: &str, fault: Option<IssuerFault>) {
        self.write(|all| match fault {
            Some(fault) => {
                all.insert(orgid.to_owned(), fault);
            }
            None => {
                all.remove(orgid);
            }
        });
        lock(&self.dice).remove(orgid);
    }

    /// Decide what happens to a call reaching issuer `orgid`, for `doctype`
    /// (`None` for `pull/doctype`).
    pub fn plan(&self, orgid: &str, doctype: Option<&str>) -> IssuerPlan {
        let Some(fault) = self.get().remove(orgid).filter(|f| f.covers(doctype)) else {
            return IssuerPlan::default();
        };
        let fails = fault.rate >= 1.0
            || (fault.rate > 0.0 && {
                let mut dice = lock(&self.dice);
                let rng = dice
                    .entry(orgid.to_owned())
                    .or_insert_with(|| StdRng::seed_from_u64(SEED ^ fnv1a(orgid)));
                rng.random::<f64>() < fault.rate
            });
        IssuerPlan {
            delay: Duration::from_millis(fault.delay_ms),
            fail: fails.then_some(fault),
        }
    }

    /// How long the next catalogue call waits: the latency plus a roll of
    /// the jitter.
    pub fn catalogue_delay(&self) -> Duration {
        if self.jitter.is_zero() {
            return self.latency;
        }
        let share = lock(&self.jitter_dice).random::<f64>();
        self.latency + self.jitter.mul_f64(share)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NAMES: [(&str, &str); 7] = [
        (
            ORGID_UNRESPONSIVE,
            "Transport Department, Government of Arunachal Pradesh",
        ),
        (ORGID_BROKEN_PROXY, "Board of School Education Haryana"),
        (
            ORGID_INACTIVE,
            "Transport Department, Government of Lakshadweep",
        ),
        (
            PAIR_DOWN.0,
            "Transport Department, Government of Himachal Pradesh",
        ),
        (INTERMITTENT_ORGIDS[0], "Jharkhand Academic Council"),
        (
            INTERMITTENT_ORGIDS[1],
            "Transport Department, Government of Odisha",
        ),
        (SLOW_ORGIDS[0], "Transport Department, Government of Sikkim"),
    ];

    #[test]
    fn the_faulty_issuers_exist_in_every_catalogue_size_with_their_names() {
        for (issuers, pairs) in [(0, 0), (60, 150), (60, 240), (400, 2000), (2000, 10_000)] {
            let catalogue = Catalogue::generate(issuers, pairs);
            for (orgid, name) in NAMES {
                let issuer = catalogue.issuer(orgid).unwrap();
                assert_eq!(issuer.name, name, "{orgid} in ({issuers}, {pairs})");
            }
            for (orgid, fault) in default_issuer_faults() {
                fault.validate(&orgid, &catalogue).unwrap();
            }
            // The pair-level issuer has another doc type that works.
            let himachal = catalogue.issuer(PAIR_DOWN.0).unwrap();
            assert!(himachal.doctypes.iter().any(|d| d.doctype == "DRVLC"));
        }
        let defaults = default_issuer_faults();
        let all: Vec<&str> = defaults.keys().map(String::as_str).collect();
        let mut listed = FAULTY_ORGIDS.to_vec();
        listed.sort_unstable();
        assert_eq!(all, listed);
    }

    #[test]
    fn the_issuers_tests_and_seeded_citizens_rely_on_are_healthy() {
        let mut relied_on: Vec<String> = [
            crate::catalogue::ORGID_INCOME_TAX,
            crate::catalogue::ORGID_CBSE,
            crate::catalogue::ORGID_EPFO,
            crate::catalogue::ORGID_AG_TRIPURA,
        ]
        .map(str::to_owned)
        .to_vec();
        // The states of tests' pulls (KA, MH), the first transport
        // department and board (what "the first DRVLC" finds), Delhi.
        for state in ["KA", "MH", "AN", "AP", "DL"] {
            relied_on.extend(crate::catalogue::transport_orgid(state));
            relied_on.extend(crate::catalogue::school_board(state).map(|b| b.0));
        }
        let citizens = crate::seed::citizens();
        for citizen in &citizens {
            relied_on.extend(citizen.documents.iter().map(|d| d.orgid.clone()));
        }
        let faulty = default_issuer_faults();
        for orgid in relied_on {
            assert!(!faulty.contains_key(&orgid), "{orgid} must stay healthy");
        }
        // Nor any issuer of a citizen's home state, where a test would pull
        // a licence or a mark sheet from.
        let catalogue = Catalogue::generate(0, 0);
        for orgid in faulty.keys() {
            let name = &catalogue.issuer(orgid).unwrap().name;
            for citizen in &citizens {
                assert!(
                    !name.contains(citizen.address.state.as_str()),
                    "{name} is in {}'s state",
                    citizen.name
                );
            }
        }
    }

    #[test]
    fn intermittent_dice_are_per_issuer_and_repeatable() {
        let run = || {
            let federation =
                Federation::new(default_issuer_faults(), Duration::ZERO, Duration::ZERO);
            (0..40)
                .map(|i| {
                    // Interleave the two issuers differently from run to run
                    // would not matter: each has its own sequence.
                    let orgid = INTERMITTENT_ORGIDS[i % 2];
                    federation.plan(orgid, None).fail.is_some()
                })
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let failures = first.iter().filter(|f| **f).count();
        assert!((8..=32).contains(&failures), "{failures} of 40");
        // One issuer alone gives the same sequence as interleaved.
        let federation = Federation::new(default_issuer_faults(), Duration::ZERO, Duration::ZERO);
        let alone: Vec<bool> = (0..20)
            .map(|_| federation.plan(INTERMITTENT_ORGIDS[0], None).fail.is_some())
            .collect();
        let interleaved: Vec<bool> = first.iter().step_by(2).copied().collect();
        assert_eq!(alone, interleaved);
    }

    #[test]
    fn a_pair_fault_spares_the_doctype_call_and_other_doc_types() {
        let federation = Federation::new(default_issuer_faults(), Duration::ZERO, Duration::ZERO);
        let (orgid, doctype) = PAIR_DOWN;
        assert!(federation.plan(orgid, None).fail.is_none());
        assert!(federation.plan(orgid, Some("DRVLC")).fail.is_none());
        assert!(federation.plan(orgid, Some(doctype)).fail.is_some());
        federation.set(orgid, None);
        assert!(federation.plan(orgid, Some(doctype)).fail.is_none());
    }

    #[test]
    fn catalogue_delay_is_the_latency_plus_some_jitter() {
        let federation = Federation::new(
            BTreeMap::new(),
            DEFAULT_CATALOGUE_LATENCY,
            DEFAULT_CATALOGUE_JITTER,
        );
        let delays: Vec<Duration> = (0..200).map(|_| federation.catalogue_delay()).collect();
        let max = DEFAULT_CATALOGUE_LATENCY + DEFAULT_CATALOGUE_JITTER;
        assert!(delays
            .iter()
            .all(|d| *d >= DEFAULT_CATALOGUE_LATENCY && *d <= max));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 100, "jitter varies from call to call");
        let zero = Federation::new(BTreeMap::new(), Duration::ZERO, Duration::ZERO);
        assert_eq!(zero.catalogue_delay(), Duration::ZERO);
    }

    #[test]
    fn json_defaults_and_unknown_fields() {
        let fault: IssuerFault = serde_json::from_str("{}").unwrap();
        assert_eq!(
            fault,
            IssuerFault::down(500, "repository_service_unresponsive")
        );
        let slow: IssuerFault = serde_json::from_str(r#"{"rate": 0, "delay_ms": 1600}"#).unwrap();
        assert_eq!(slow, IssuerFault::slow(SLOW_DELAY));
        assert!(serde_json::from_str::<IssuerFault>(r#"{"rates": 1}"#).is_err());
        let catalogue = Catalogue::generate(0, 0);
        assert!(IssuerFault::down(200, "x")
            .validate(ORGID_INACTIVE, &catalogue)
            .is_err());
        assert!(IssuerFault::down(500, "x")
            .validate("999999", &catalogue)
            .is_err());
        assert!(IssuerFault::down(500, "x")
            .only_doctype("PANCR")
            .validate(ORGID_INACTIVE, &catalogue)
            .is_err());
    }
}
