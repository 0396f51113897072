//! The catalogue: a stored copy of DigiLocker's issuers × doc types ×
//! parameters, answered from memory. It is a merge of per-issuer results:
//! DigiLocker fronts about two thousand issuers and some fail on any day, so
//! each issuer keeps its last good entries, a failing one is retried on its
//! own with backoff and jitter, and every call is paced under one budget.
//! It helps a business find `orgId` and parameters; it never gates a fetch.

pub mod snapshot;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};

pub use snapshot::{CatalogueCache, Document, Encoding, Entry, Pacer, Parameter, Snapshot};

use crate::config::Config;
use crate::metrics::Metrics;
use crate::state::Clock;
use crate::storage::{
    CatalogueHealth, CatalogueMeta, CatalogueRow, IssuerState, Store, StoreResult,
};
use crate::upstream;

const LEASE: &str = "catalogue-refresh";
/// How long the catalogue lease lasts without renewal.
const LEASE_SECS: i64 = 120;
/// While a build runs, what has arrived is stored at most this often, so a
/// first build is served as its issuers answer, not only at its end.
const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// The org id of the issuer list's own state row.
pub const ISSUER_LIST: &str = "";

/// An issuer as the catalogue knows it.
#[derive(Debug, Clone)]
struct IssuerInfo {
    org_id: String,
    name: String,
    issuer_id: String,
}

/// What one issuer answered in a pass.
#[derive(Debug)]
struct IssuerAnswer {
    org_id: String,
    /// Its (issuer, doc type) entries that answered.
    rows: Vec<CatalogueRow>,
    /// Its doc types whose parameters call failed.
    failed_doc_types: Vec<String>,
    /// The doc type list itself failed: nothing of it is new.
    list_failed: bool,
    /// What failed, for the operator.
    error: Option<String>,
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default)]
pub struct PassReport {
    /// The current catalogue after the pass (`None`: none stored yet).
    pub meta: Option<CatalogueMeta>,
    /// Issuers asked in this pass.
    pub asked: usize,
    /// Of those, how many failed (wholly or for some doc types).
    pub failed: usize,
}

/// A DigiLocker error as the catalogue records it: status and code only
/// (catalogue answers carry no personal data, but keep it short).
fn describe(e: &digilocker::Error) -> String {
    match (e.status(), e.code()) {
        (Some(status), Some(code)) => format!("{status} {}", code.as_str()),
        (Some(status), None) => format!("{status} ({})", e.kind()),
        _ => e.kind().to_owned(),
    }
}

/// `[min, max]` backoff after `attempts` failures in a row, with jitter: the
/// `attempts`-th retry waits between half and all of `min · 2^(attempts-1)`,
/// capped at `max`.
pub fn backoff(attempts: i64, min: Duration, max: Duration) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let full = min
        .saturating_mul(2u32.saturating_pow(exp))
        .min(max)
        .max(min);
    let jitter = 0.5 + 0.5 * (rand::random::<u32>() as f64 / u32::MAX as f64);
    full.mul_f64(jitter).max(Duration::from_secs(1))
}

/// What catalogue passes use, and nothing more: the store, DigiLocker, the
/// catalogue settings, a clock, the metrics its calls count in, and the
/// cache a new version invalidates (which also paces this process's calls).
/// The server builds one from its state; `catalogue refresh` on the command
/// line builds one without a server.
#[derive(Clone)]
pub struct Crawler {
    pub store: Arc<dyn Store>,
    pub dl: digilocker::Client,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub cache: Arc<CatalogueCache>,
}

impl Crawler {
    fn now(&self) -> i64 {
        self.clock.now()
    }
}

struct Crawl<'a> {
    state: &'a Crawler,
    pacer: &'a Pacer,
}

impl Crawl<'_> {
    /// One paced catalogue call; a retryable failure (a blip) is tried once
    /// more, paced too. Anything longer is the per-issuer backoff's job.
    async fn call<T, F, Fut>(&self, endpoint: &'static str, f: F) -> Result<T, digilocker::Error>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, digilocker::Error>>,
    {
        let mut tried = false;
        loop {
            self.pacer.ready().await;
            match upstream::call(&self.state.metrics, endpoint, f()).await {
                Ok(v) => return Ok(v),
                Err(e) if !tried && e.is_retryable() => {
                    tried = true;
                    let pause = 200 + u64::from(rand::random::<u8>());
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn issuer(&self, issuer: IssuerInfo) -> IssuerAnswer {
        let dl = &self.state.dl;
        let mut answer = IssuerAnswer {
            org_id: issuer.org_id.clone(),
            rows: Vec::new(),
            failed_doc_types: Vec::new(),
            list_failed: false,
            error: None,
        };
        let docs = match self
            .call("pull_doctype", || dl.pull_doctypes(&issuer.org_id))
            .await
        {
            Ok(docs) => docs,
            Err(e) => {
                answer.list_failed = true;
                answer.error = Some(format!("doc types: {}", describe(&e)));
                return answer;
            }
        };
        let results: Vec<_> = stream::iter(docs)
            .map(|doc| async {
                let params = self
                    .call("pull_parameters", || {
                        dl.pull_parameters(&issuer.org_id, &doc.doctype)
                    })
                    .await;
                (doc, params)
            })
            .buffer_unordered(4)
            .collect()
            .await;
        for (doc, params) in results {
            match params {
                Ok(params) => {
                    let parameters: Vec<Parameter> = params
                        .into_iter()
                        .map(|p| Parameter {
                            name: p.paramname,
                            description: p.label,
                        })
                        .collect();
                    answer.rows.push(CatalogueRow {
                        issuer_id: issuer.issuer_id.clone(),
                        org_id: issuer.org_id.clone(),
                        doc_type: doc.doctype.clone(),
                        org_name: issuer.name.clone(),
                        description: doc.description.clone(),
                        formats: formats_json(doc.offers_xml(), &doc.doctype),
                        parameters: serde_json::to_string(&parameters).unwrap_or_default(),
                    });
                }
                Err(e) => {
                    if answer.error.is_none() {
                        answer.error =
                            Some(format!("parameters of {}: {}", doc.doctype, describe(&e)));
                    }
                    answer.failed_doc_types.push(doc.doctype);
                }
            }
        }
        answer
    }
}

/// Doc types whose issuers send XML certificate data besides the PDF, by
/// DigiLocker's XML certificate formats: PAN, driving licences, board
/// results and certificates, e-District certificates, civil registration,
/// university and technical education results.
const XML_DOC_TYPES: &[&str] = &[
    "PANCR", "DRVLC", "SSCER", "HSCER", "SSCPC", "HSCPC", "MIGCR", "INCER", "CASCT", "DOMCR",
    "OBCER", "EWSCR", "BRTCR", "DTHCR", "DGCER", "PVCER", "CMKST", "DPCER", "DPMRK", "NTCCR",
];

/// `availableFormats` of a doc type. Every pulled document comes as PDF.
/// DigiLocker's catalogue calls say nothing about formats (a document's
/// `mime` shows only once it is issued): the issuer's signed XML is offered
/// for the doc types DigiLocker publishes XML formats for
/// ([`XML_DOC_TYPES`]). An answer that does say (a `mime` list in
/// `pull/doctype`) is taken at its word instead.
fn formats_json(offers_xml: Option<bool>, doctype: &str) -> String {
    if offers_xml.unwrap_or_else(|| XML_DOC_TYPES.contains(&doctype)) {
        r#"["pdf","xml"]"#.to_owned()
    } else {
        r#"["pdf"]"#.to_owned()
    }
}

/// The catalogue made of each issuer's last good answer: what answered in
/// this pass, and for the rest (or a failed doc type) what was stored.
fn merge(
    issuers: &[IssuerInfo],
    old: &HashMap<String, Vec<CatalogueRow>>,
    fresh: &HashMap<String, IssuerAnswer>,
) -> Vec<CatalogueRow> {
    let mut rows = Vec::new();
    let none = Vec::new();
    for issuer in issuers {
        let stored = old.get(&issuer.org_id).unwrap_or(&none);
        match fresh.get(&issuer.org_id) {
            Some(a) if !a.list_failed => {
                rows.extend(a.rows.iter().cloned());
                rows.extend(
                    stored
                        .iter()
                        .filter(|r| a.failed_doc_types.contains(&r.doc_type))
                        .cloned(),
                );
            }
            _ => rows.extend(stored.iter().cloned()),
        }
    }
    rows.sort_by(|a, b| (&a.org_id, &a.doc_type).cmp(&(&b.org_id, &b.doc_type)));
    rows.dedup_by(|a, b| a.org_id == b.org_id && a.doc_type == b.doc_type);
    rows
}

fn never_answered(s: &IssuerState) -> bool {
    s.last_ok_at.is_none() && s.last_error.is_none()
}

/// One pass over what is due: the issuer list when due, then every issuer
/// whose refresh or retry is due (all of them when `force`). Each issuer's
/// entries are replaced only by a good answer of its own; a failing one
/// keeps its last good entries and is retried with backoff. What arrived
/// is stored every couple of seconds while the pass runs.
async fn pass(state: &Crawler, force: bool) -> anyhow::Result<PassReport> {
    let config = &state.config;
    let pacer = state.cache.pacer(config.catalogue_calls_per_second);
    let crawl = Crawl { state, pacer };
    let now = state.now();
    let refresh = config.catalogue_refresh.as_secs() as i64;
    let retry = |attempts: i64| {
        backoff(
            attempts,
            config.catalogue_retry_min,
            config.catalogue_retry_max,
        )
        .as_secs() as i64
    };

    let old_rows = state.store.load_catalogue().await?;
    let mut old: HashMap<String, Vec<CatalogueRow>> = HashMap::new();
    for row in old_rows {
        old.entry(row.org_id.clone()).or_default().push(row);
    }
    let mut states: HashMap<String, IssuerState> = state
        .store
        .catalogue_issuers()
        .await?
        .into_iter()
        .map(|s| (s.org_id.clone(), s))
        .collect();
    let mut changed: Vec<String> = Vec::new();
    let mut removed: Vec<String> = Vec::new();

    // The issuer list: asked when due; otherwise the issuers are the ones
    // already known.
    let list_state = states.remove(ISSUER_LIST);
    let list_due = force || list_state.as_ref().is_none_or(|s| s.next_try_at <= now);
    let mut issuers: Vec<IssuerInfo> = Vec::new();
    let mut listed = false;
    if list_due {
        let mut list_state = list_state.unwrap_or(IssuerState {
            org_id: ISSUER_LIST.into(),
            org_name: "(the issuer list)".into(),
            issuer_id: String::new(),
            ok: 0,
            attempts: 0,
            failing_since: None,
            last_ok_at: None,
            last_error: None,
            next_try_at: now,
        });
        match crawl.call("pull_issuers", || state.dl.pull_issuers()).await {
            Ok(list) => {
                listed = true;
                list_state.ok = 1;
                list_state.attempts = 0;
                list_state.failing_since = None;
                list_state.last_ok_at = Some(now);
                list_state.last_error = None;
                list_state.next_try_at = now + refresh;
                let mut seen = std::collections::HashSet::new();
                for i in list {
                    if i.orgid.is_empty() || !seen.insert(i.orgid.clone()) {
                        continue;
                    }
                    issuers.push(IssuerInfo {
                        issuer_id: i.issuerid.clone().unwrap_or_default(),
                        org_id: i.orgid,
                        name: i.name,
                    });
                }
            }
            Err(e) => {
                list_state.ok = 0;
                list_state.attempts += 1;
                list_state.failing_since.get_or_insert(now);
                list_state.last_error = Some(format!("issuers: {}", describe(&e)));
                list_state.next_try_at = now + retry(list_state.attempts);
                tracing::warn!(error = %describe(&e), attempts = list_state.attempts, retry_at = list_state.next_try_at, "DigiLocker's issuer list failed; the stored catalogue stays");
            }
        }
        changed.push(ISSUER_LIST.into());
        states.insert(ISSUER_LIST.into(), list_state);
    } else if let Some(s) = list_state {
        states.insert(ISSUER_LIST.into(), s);
    }
    if listed {
        let names: std::collections::HashSet<&str> =
            issuers.iter().map(|i| i.org_id.as_str()).collect();
        removed = states
            .keys()
            .filter(|k| k.as_str() != ISSUER_LIST && !names.contains(k.as_str()))
            .cloned()
            .collect();
        for k in &removed {
            states.remove(k);
        }
        old.retain(|k, _| names.contains(k.as_str()));
    } else {
        // The issuers known from before: their states, and stored entries
        // of an older release that kept no states.
        let mut known: std::collections::BTreeMap<String, IssuerInfo> = states
            .values()
            .filter(|s| s.org_id != ISSUER_LIST)
            .map(|s| {
                (
                    s.org_id.clone(),
                    IssuerInfo {
                        org_id: s.org_id.clone(),
                        name: s.org_name.clone(),
                        issuer_id: s.issuer_id.clone(),
                    },
                )
            })
            .collect();
        for rows in old.values() {
            if let Some(r) = rows.first() {
                known.entry(r.org_id.clone()).or_insert_with(|| IssuerInfo {
                    org_id: r.org_id.clone(),
                    name: r.org_name.clone(),
                    issuer_id: r.issuer_id.clone(),
                });
            }
        }
        issuers = known.into_values().collect();
    }
    // Every listed issuer has a state from now on, so a pass cut short
    // (a restart) leaves the rest due.
    for i in &issuers {
        if !states.contains_key(&i.org_id) {
            states.insert(
                i.org_id.clone(),
                IssuerState {
                    org_id: i.org_id.clone(),
                    org_name: i.name.clone(),
                    issuer_id: i.issuer_id.clone(),
                    ok: 0,
                    attempts: 0,
                    failing_since: None,
                    last_ok_at: None,
                    last_error: None,
                    next_try_at: now,
                },
            );
            changed.push(i.org_id.clone());
        }
    }
    let due: Vec<IssuerInfo> = issuers
        .iter()
        .filter(|i| force || states.get(&i.org_id).is_none_or(|s| s.next_try_at <= now))
        .cloned()
        .collect();
    let mut report = PassReport {
        asked: due.len(),
        ..PassReport::default()
    };

    let mut fresh: HashMap<String, IssuerAnswer> = HashMap::new();
    let mut dirty = !changed.is_empty() || !removed.is_empty();
    let mut next_flush = tokio::time::Instant::now() + FLUSH_EVERY;
    let mut answers = stream::iter(due)
        .map(|issuer| crawl.issuer(issuer))
        .buffer_unordered(config.catalogue_parallelism.max(1));
    loop {
        let next = tokio::time::timeout_at(next_flush, answers.next()).await;
        let finished = match next {
            Ok(Some(answer)) => {
                let now = state.now();
                if let Some(s) = states.get_mut(&answer.org_id) {
                    match &answer.error {
                        None => {
                            s.ok = 1;
                            s.attempts = 0;
                            s.failing_since = None;
                            s.last_ok_at = Some(now);
                            s.last_error = None;
                            s.next_try_at = now + refresh;
                        }
                        Some(error) => {
                            report.failed += 1;
                            s.ok = 0;
                            s.attempts += 1;
                            s.failing_since.get_or_insert(now);
                            s.last_error = Some(error.clone());
                            s.next_try_at = now + retry(s.attempts);
                            tracing::warn!(org_id = %s.org_id, error = %error, attempts = s.attempts, retry_at = s.next_try_at, "catalogue issuer failed; its last good entries stay");
                        }
                    }
                }
                changed.push(answer.org_id.clone());
                fresh.insert(answer.org_id.clone(), answer);
                dirty = true;
                false
            }
            Ok(None) => true,
            Err(_elapsed) => false,
        };
        if dirty && (finished || tokio::time::Instant::now() >= next_flush) {
            if let Some(meta) =
                flush(state, &issuers, &old, &fresh, &states, &changed, &removed).await?
            {
                report.meta = Some(meta);
            }
            changed.clear();
            removed.clear();
            dirty = false;
        }
        if tokio::time::Instant::now() >= next_flush {
            next_flush = tokio::time::Instant::now() + FLUSH_EVERY;
        }
        if finished {
            break;
        }
    }
    if report.meta.is_none() {
        report.meta = state.store.catalogue_meta().await?;
    }
    if list_due && !listed && issuers.is_empty() {
        anyhow::bail!(
            "DigiLocker's issuer list failed and no catalogue is stored yet: {}",
            states
                .get(ISSUER_LIST)
                .and_then(|s| s.last_error.clone())
                .unwrap_or_default()
        );
    }
    Ok(report)
}

/// Store what a pass has so far: the issuers' states, and a new catalogue
/// version when its entries or completeness changed.
async fn flush(
    state: &Crawler,
    issuers: &[IssuerInfo],
    old: &HashMap<String, Vec<CatalogueRow>>,
    fresh: &HashMap<String, IssuerAnswer>,
    states: &HashMap<String, IssuerState>,
    changed: &[String],
    removed: &[String],
) -> anyhow::Result<Option<CatalogueMeta>> {
    // Each once: PostgreSQL refuses an upsert that touches a row twice.
    let changed: std::collections::BTreeSet<&String> = changed.iter().collect();
    let changed_states: Vec<IssuerState> = changed
        .into_iter()
        .filter_map(|k| states.get(k).cloned())
        .collect();
    state
        .store
        .save_catalogue_issuers(&changed_states, removed)
        .await?;
    let rows = merge(issuers, old, fresh);
    let mut health = CatalogueHealth {
        issuers: issuers.len() as i64,
        ..CatalogueHealth::default()
    };
    for i in issuers {
        match states.get(&i.org_id) {
            Some(s) if never_answered(s) => health.pending += 1,
            Some(s) if s.ok == 0 => health.failing += 1,
            Some(_) => {}
            None => health.pending += 1,
        }
    }
    let current = state.store.catalogue_meta().await?;
    let same_health = current.is_some_and(|m| {
        m.issuers == health.issuers && m.failing == health.failing && m.pending == health.pending
    });
    if same_health && current.is_some() {
        let stored = state.store.load_catalogue().await?;
        if stored == rows {
            return Ok(current);
        }
    }
    if rows.is_empty() && current.is_none() && health.pending == health.issuers {
        // Nothing has answered yet: no empty catalogue to serve.
        return Ok(None);
    }
    let meta = state
        .store
        .replace_catalogue(&rows, state.now(), health)
        .await?;
    state.cache.invalidate();
    tracing::info!(
        entries = meta.entries,
        version = meta.version,
        issuers = meta.issuers,
        failing = meta.failing,
        pending = meta.pending,
        "catalogue stored"
    );
    Ok(Some(meta))
}

/// Ask DigiLocker for every issuer now (the command line's `catalogue
/// refresh`), if this instance gets the lease. `None` when another
/// instance holds it.
pub async fn refresh(state: &Crawler) -> anyhow::Result<Option<PassReport>> {
    with_lease(state, true).await
}

/// Run a pass under the catalogue lease, renewing it while the pass runs.
async fn with_lease(state: &Crawler, force: bool) -> anyhow::Result<Option<PassReport>> {
    // Unique per attempt, so two instances configured with the same
    // instance name still exclude each other.
    let holder = format!(
        "{}/{}",
        state.config.instance_name,
        uuid::Uuid::new_v4().simple()
    );
    if !state
        .store
        .try_lease(LEASE, &holder, state.now(), state.now() + LEASE_SECS)
        .await?
    {
        tracing::debug!("another instance is working on the catalogue");
        return Ok(None);
    }
    let started = std::time::Instant::now();
    // The lease is short and renewed while we build, so an instance that
    // dies mid-build holds up the others for two minutes, not an hour.
    let renew = async {
        loop {
            tokio::time::sleep(Duration::from_secs(LEASE_SECS as u64 / 4)).await;
            match state
                .store
                .try_lease(LEASE, &holder, state.now(), state.now() + LEASE_SECS)
                .await
            {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => tracing::warn!(error = %e, "could not renew the catalogue lease"),
            }
        }
    };
    let result = tokio::select! {
        r = pass(state, force) => r,
        () = renew => Err(anyhow::anyhow!("lost the catalogue lease to another instance; pass abandoned")),
    };
    if let Err(e) = state.store.release_lease(LEASE, &holder).await {
        tracing::warn!(error = %e, "could not release the catalogue lease; it will expire");
    }
    let report = result?;
    if report.asked > 0 {
        tracing::info!(
            asked = report.asked,
            failed = report.failed,
            seconds = started.elapsed().as_secs_f64(),
            "catalogue pass done"
        );
    }
    Ok(Some(report))
}

/// When the next catalogue work is due: the earliest refresh or retry of
/// any issuer or of the issuer list; now when nothing was ever built.
async fn next_due(store: &dyn Store, now: i64) -> StoreResult<i64> {
    let states = store.catalogue_issuers().await?;
    if !states.iter().any(|s| s.org_id == ISSUER_LIST) {
        return Ok(now);
    }
    Ok(states.iter().map(|s| s.next_try_at).min().unwrap_or(now))
}

/// Background loop: a pass whenever an issuer's refresh or retry is due.
/// Each issuer backs off on its own, and every call is paced, so a failing
/// DigiLocker costs a bounded number of calls.
pub async fn run_scheduler(state: Crawler) {
    loop {
        let now = state.now();
        let wait = match next_due(state.store.as_ref(), now).await {
            Ok(at) if at <= now => {
                match with_lease(&state, false).await {
                    Ok(Some(_)) => Duration::from_secs(1),
                    // Another instance works on it; look again soon.
                    Ok(None) => Duration::from_secs(2),
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "catalogue pass failed; will retry");
                        Duration::from_secs(5)
                    }
                }
            }
            Ok(at) => Duration::from_secs((at - now).clamp(1, 60) as u64),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the catalogue's state");
                Duration::from_secs(30)
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// The catalogue's state for the command line and `/metrics`.
#[derive(Debug, Clone)]
pub struct CatalogueStatus {
    pub meta: Option<CatalogueMeta>,
    /// Every issuer whose last answer failed, the issuer list included.
    pub failing: Vec<IssuerState>,
    /// Issuers not asked yet.
    pub pending: usize,
}

/// Read the catalogue's state from the database.
pub async fn status(store: &dyn Store) -> StoreResult<CatalogueStatus> {
    let meta = store.catalogue_meta().await?;
    let states = store.catalogue_issuers().await?;
    let pending = states
        .iter()
        .filter(|s| s.org_id != ISSUER_LIST && never_answered(s))
        .count();
    let failing = states
        .into_iter()
        .filter(|s| s.ok == 0 && s.last_error.is_some())
        .collect();
    Ok(CatalogueStatus {
        meta,
        failing,
        pending,
    })
}
