//! Prometheus metrics, one registry per app (no global recorder, so tests can
//! run many apps in one process).

use std::time::Instant;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// The gateway's metrics.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<Labels, Counter>,
    http_latency: Family<Labels, Histogram>,
    upstream_calls: Family<Labels, Counter>,
    upstream_latency: Family<Labels, Histogram>,
    erased: Counter,
    webhook_deliveries: Family<Labels, Counter>,
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
        let http_requests = Family::<Labels, Counter>::default();
        let http_latency = Family::<Labels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let upstream_calls = Family::<Labels, Counter>::default();
        let upstream_latency = Family::<Labels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
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
        Metrics {
            registry,
            webhook_deliveries,
            http_requests,
            http_latency,
            upstream_calls,
            upstream_latency,
            erased,
        }
    }
}

impl Metrics {
    /// Record one DigiLocker call.
    pub fn upstream(&self, endpoint: &'static str, outcome: &str, started: Instant) {
        self.upstream_calls
            .get_or_create(&vec![
                ("endpoint", endpoint.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
        self.upstream_latency
            .get_or_create(&vec![("endpoint", endpoint.to_owned())])
            .observe(started.elapsed().as_secs_f64());
    }

    /// Record one HTTP call by its matched route (never the raw path,
    /// which holds ids and file tokens).
    pub fn http(
        &self,
        route: &str,
        method: &axum::http::Method,
        status: axum::http::StatusCode,
        started: Instant,
    ) {
        self.http_requests
            .get_or_create(&vec![
                ("route", route.to_owned()),
                ("method", method.as_str().to_owned()),
                ("status", status.as_u16().to_string()),
            ])
            .inc();
        self.http_latency
            .get_or_create(&vec![("route", route.to_owned())])
            .observe(started.elapsed().as_secs_f64());
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
