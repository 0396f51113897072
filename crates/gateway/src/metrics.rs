//! Prometheus metrics, one registry per app (no global recorder, so tests can
//! run many apps in one process).

use std::collections::HashSet;
use std::fmt::Write;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::http::Method;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// An HTTP call's labels. Counting a call allocates nothing: the route is
/// one shared string per route, the method a constant.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    route: Route,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Route,
}

/// A route's label value: one string shared by every label set of the route.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Route(Arc<str>);

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        encoder.write_str(&self.0)
    }
}

/// A method's label: the standard ones by name, any other as `other` (a
/// caller can't grow the metrics with made-up methods).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<CallLabels, Counter>,
    http_latency: Family<RouteLabels, Histogram>,
    /// The routes seen so far, each as the one string their labels share.
    routes: RwLock<HashSet<Arc<str>>>,
    upstream_calls: Family<Labels, Counter>,
    upstream_latency: Family<Labels, Histogram>,
    upstream_errors: Family<Labels, Counter>,
    erased: Counter,
    webhook_deliveries: Family<Labels, Counter>,
    catalogue: CatalogueMetrics,
    upstream_revokes_pending: Gauge,
    webhook_backlog: Gauge,
    webhook_oldest_pending_age: Gauge,
    error_answers: Family<Labels, Counter>,
    /// The same calls summed for the operator console (prometheus-client
    /// families cannot be read back).
    summary: std::sync::Mutex<Summary>,
}

/// What the operator console shows of this instance's calls since it
/// started: error answers by contract code, DigiLocker calls by endpoint.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Contract error code: answers.
    pub error_answers: std::collections::BTreeMap<&'static str, u64>,
    /// DigiLocker endpoint: its calls.
    pub upstream: std::collections::BTreeMap<&'static str, UpstreamSummary>,
}

/// One DigiLocker endpoint's calls.
#[derive(Debug, Clone, Default)]
pub struct UpstreamSummary {
    pub calls: u64,
    /// Failure kind (`timeout`, `http_5xx`, …): calls.
    pub errors: std::collections::BTreeMap<&'static str, u64>,
    pub total_seconds: f64,
    pub max_seconds: f64,
}

impl UpstreamSummary {
    /// Failed calls, of every kind.
    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Mean latency in milliseconds.
    pub fn mean_ms(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.total_seconds * 1000.0 / self.calls as f64
        }
    }
}

/// The catalogue's completeness, read from the database at each scrape.
#[derive(Default)]
struct CatalogueMetrics {
    entries: Gauge,
    issuers: Gauge,
    failing: Gauge,
    pending: Gauge,
    missing: Gauge,
    age: Gauge,
    issuer_failing: Family<Labels, Gauge>,
    issuer_next_try: Family<Labels, Gauge>,
}

/// What `/metrics` shows of the catalogue.
#[derive(Debug, Clone, Default)]
pub struct CatalogueGauges {
    /// `None`: nothing stored yet.
    pub entries: Option<i64>,
    pub issuers: i64,
    pub failing: i64,
    pub pending: i64,
    /// Listed issuers with nothing in the catalogue: not asked yet, or
    /// failing since before their first good answer.
    pub missing: i64,
    /// Seconds since the stored version was written.
    pub age_seconds: i64,
    /// (org id, last error, next try as Unix seconds) of each failing issuer
    /// (org id `list`: the issuer list itself).
    pub failing_issuers: Vec<(String, String, i64)>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("gateway");
        let http_requests = Family::<CallLabels, Counter>::default();
        let http_latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let upstream_calls = Family::<Labels, Counter>::default();
        let upstream_latency = Family::<Labels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let upstream_errors = Family::<Labels, Counter>::default();
        let erased = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests served, by route, method and status",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            http_latency.clone(),
        );
        registry.register(
            "upstream_calls",
            "Calls to DigiLocker by endpoint and outcome",
            upstream_calls.clone(),
        );
        registry.register(
            "upstream_call_duration_seconds",
            "DigiLocker call latency by endpoint",
            upstream_latency.clone(),
        );
        registry.register(
            "upstream_errors",
            "Failed calls to DigiLocker by endpoint and kind: timeout, transport (unreachable, \
             reset, TLS), http_5xx, refused (an error answer below 500: as a rule about the \
             user's token, consent or document), malformed (an answer that could not be read), hmac_mismatch, \
             invalid_argument",
            upstream_errors.clone(),
        );
        registry.register(
            "requests_erased",
            "Expired requests erased by this instance",
            erased.clone(),
        );
        let webhook_deliveries = Family::<Labels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by this instance, by outcome: delivered, retried \
             (failed, will be tried again), failed (out of attempts), dropped (never sent: \
             the client is disabled or has no webhook any more)",
            webhook_deliveries.clone(),
        );
        let catalogue = CatalogueMetrics::default();
        registry.register(
            "catalogue_entries",
            "Documents (issuer, doc type) in the stored catalogue; -1 before the first is stored",
            catalogue.entries.clone(),
        );
        registry.register(
            "catalogue_issuers",
            "Issuers DigiLocker lists",
            catalogue.issuers.clone(),
        );
        registry.register(
            "catalogue_issuers_failing",
            "Issuers whose last catalogue call failed (their documents are from their last good \
             answer, or missing); each is retried with backoff",
            catalogue.failing.clone(),
        );
        registry.register(
            "catalogue_issuers_pending",
            "Issuers not asked yet (a first build still running)",
            catalogue.pending.clone(),
        );
        registry.register(
            "catalogue_issuers_missing",
            "Listed issuers none of whose documents are in the catalogue: not asked yet, or \
             failing since before their first good answer",
            catalogue.missing.clone(),
        );
        registry.register(
            "catalogue_age_seconds",
            "Seconds since the stored catalogue last changed",
            catalogue.age.clone(),
        );
        registry.register(
            "catalogue_issuer_failing",
            "1 for each failing issuer, with its last error (org_id `list`: the issuer list)",
            catalogue.issuer_failing.clone(),
        );
        registry.register(
            "catalogue_issuer_next_try_timestamp_seconds",
            "When each failing issuer is asked again (Unix seconds)",
            catalogue.issuer_next_try.clone(),
        );
        let upstream_revokes_pending = Gauge::default();
        registry.register(
            "upstream_revokes_pending",
            "Revokes erased here whose DigiLocker side is still being retried",
            upstream_revokes_pending.clone(),
        );
        let webhook_backlog = Gauge::default();
        registry.register(
            "webhook_backlog",
            "Webhook deliveries pending (waiting for their first attempt or a retry), all \
             clients, all instances",
            webhook_backlog.clone(),
        );
        let webhook_oldest_pending_age = Gauge::default();
        registry.register(
            "webhook_oldest_pending_age_seconds",
            "Age of the oldest pending webhook delivery (0 when none is pending)",
            webhook_oldest_pending_age.clone(),
        );
        let error_answers = Family::<Labels, Counter>::default();
        registry.register(
            "error_answers",
            "Error answers by contract code (`unauthorized`, `request_not_found`, …)",
            error_answers.clone(),
        );
        Metrics {
            error_answers,
            summary: std::sync::Mutex::default(),
            catalogue,
            upstream_revokes_pending,
            webhook_backlog,
            webhook_oldest_pending_age,
            upstream_errors,
            registry,
            webhook_deliveries,
            http_requests,
            http_latency,
            routes: RwLock::default(),
            upstream_calls,
            upstream_latency,
            erased,
        }
    }
}

impl Metrics {
    /// Record one DigiLocker call; `error_kind`: what kind of failure it
    /// was, if it failed.
    pub fn upstream(
        &self,
        endpoint: &'static str,
        outcome: &str,
        error_kind: Option<&'static str>,
        started: Instant,
    ) {
        if let Some(kind) = error_kind {
            self.upstream_errors
                .get_or_create(&vec![
                    ("endpoint", endpoint.to_owned()),
                    ("kind", kind.to_owned()),
                ])
                .inc();
        }
        self.upstream_calls
            .get_or_create(&vec![
                ("endpoint", endpoint.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
        let took = started.elapsed().as_secs_f64();
        self.upstream_latency
            .get_or_create(&vec![("endpoint", endpoint.to_owned())])
            .observe(took);
        let mut summary = self.summary.lock().unwrap_or_else(|e| e.into_inner());
        let s = summary.upstream.entry(endpoint).or_default();
        s.calls += 1;
        s.total_seconds += took;
        s.max_seconds = s.max_seconds.max(took);
        if let Some(kind) = error_kind {
            *s.errors.entry(kind).or_default() += 1;
        }
    }

    /// Count one error answer by its contract code.
    pub fn error_answer(&self, code: &'static str) {
        self.error_answers
            .get_or_create(&vec![("code", code.to_owned())])
            .inc();
        let mut summary = self.summary.lock().unwrap_or_else(|e| e.into_inner());
        *summary.error_answers.entry(code).or_default() += 1;
    }

    /// This instance's calls so far, for the operator console.
    pub fn summary(&self) -> Summary {
        self.summary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Record one HTTP call by its matched route (never the raw path,
    /// which holds ids and file tokens).
    pub fn http(
        &self,
        route: &str,
        method: &Method,
        status: axum::http::StatusCode,
        started: Instant,
    ) {
        let route = self.route(route);
        self.http_requests
            .get_or_create(&CallLabels {
                route: route.clone(),
                method: method_label(method),
                status: status.as_u16(),
            })
            .inc();
        self.http_latency
            .get_or_create(&RouteLabels { route })
            .observe(started.elapsed().as_secs_f64());
    }

    /// The shared string of `route` (routes are the router's, a fixed set).
    fn route(&self, route: &str) -> Route {
        let known = self.routes.read().unwrap_or_else(|e| e.into_inner());
        if let Some(shared) = known.get(route) {
            return Route(shared.clone());
        }
        drop(known);
        let mut known = self.routes.write().unwrap_or_else(|e| e.into_inner());
        let shared = match known.get(route) {
            Some(shared) => shared.clone(),
            None => {
                let shared: Arc<str> = route.into();
                known.insert(shared.clone());
                shared
            }
        };
        Route(shared)
    }

    /// Count erased requests.
    pub fn erased(&self, n: u64) {
        self.erased.inc_by(n);
    }

    /// Count one webhook delivery attempt's outcome.
    pub fn webhook(&self, outcome: WebhookOutcome) {
        self.webhook_deliveries
            .get_or_create(&vec![("outcome", outcome.as_str().to_owned())])
            .inc();
    }

    /// Set the catalogue's gauges (at each scrape, from the database).
    pub fn catalogue(&self, g: &CatalogueGauges) {
        let c = &self.catalogue;
        c.entries.set(g.entries.unwrap_or(-1));
        c.issuers.set(g.issuers);
        c.failing.set(g.failing);
        c.pending.set(g.pending);
        c.missing.set(g.missing);
        c.age.set(g.age_seconds);
        c.issuer_failing.clear();
        c.issuer_next_try.clear();
        for (org_id, error, next_try) in &g.failing_issuers {
            c.issuer_failing
                .get_or_create(&vec![("org_id", org_id.clone()), ("error", error.clone())])
                .set(1);
            c.issuer_next_try
                .get_or_create(&vec![("org_id", org_id.clone())])
                .set(*next_try);
        }
    }

    /// Set how many upstream revokes are still being retried.
    pub fn upstream_revokes_pending(&self, n: i64) {
        self.upstream_revokes_pending.set(n);
    }

    /// Set the webhook backlog's gauges (at each scrape, from the database).
    pub fn webhook_backlog(&self, pending: i64, oldest_age_seconds: i64) {
        self.webhook_backlog.set(pending);
        self.webhook_oldest_pending_age
            .set(oldest_age_seconds.max(0));
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// What became of one webhook delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    Delivered,
    Retried,
    Failed,
    Dropped,
}

impl WebhookOutcome {
    fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Delivered => "delivered",
            WebhookOutcome::Retried => "retried",
            WebhookOutcome::Failed => "failed",
            WebhookOutcome::Dropped => "dropped",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn calls_are_counted_by_route_method_and_status() {
        let m = Metrics::default();
        let now = Instant::now();
        m.http("/api/digilocker", &Method::POST, StatusCode::CREATED, now);
        m.http("/api/digilocker", &Method::POST, StatusCode::CREATED, now);
        m.http(
            "/api/digilocker",
            &Method::GET,
            StatusCode::METHOD_NOT_ALLOWED,
            now,
        );
        let text = m.render();
        assert!(
            text.contains(
                "gateway_http_requests_total{route=\"/api/digilocker\",method=\"POST\",status=\"201\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "gateway_http_requests_total{route=\"/api/digilocker\",method=\"GET\",status=\"405\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "gateway_http_request_duration_seconds_count{route=\"/api/digilocker\"} 3"
            ),
            "{text}"
        );
    }

    #[test]
    fn made_up_methods_share_one_label() {
        let m = Metrics::default();
        let now = Instant::now();
        for name in ["BREW", "WHEN", "XYZZY"] {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            m.http("unmatched", &method, StatusCode::NOT_FOUND, now);
        }
        let text = m.render();
        assert!(
            text.contains("gateway_http_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"} 3"),
            "{text}"
        );
        assert!(!text.contains("BREW"), "{text}");
    }
}
