//! What an operator monitors: the webhook backlog and its oldest event,
//! DigiLocker's errors by endpoint and kind, the catalogue's gauges; the
//! admin listener that keeps `/metrics` off the public port; the alert rules
//! of `docs/alerts.yml`, checked by promtool and against the metrics the
//! gateway really serves, each with its runbook in `docs/production.md`.

use std::collections::BTreeSet;
use std::time::Duration;

use gateway::Config;
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::harness::{assert_error, Serve, TestApp};
use crate::webhooks::Receiver;

fn repo_file(path: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

async fn text(http: &reqwest::Client, url: &str) -> (u16, String) {
    let resp = http.get(url).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// The value of the sample `series` (name with labels, exactly as printed).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// Point the app's client's webhook at `url`.
async fn set_webhook(t: &TestApp, url: String) {
    let state = &t.app.state;
    gateway::webhooks::configure(
        state.store.as_ref(),
        &state.keys,
        gateway::webhooks::Targets::from_config(&state.config),
        &t.creds.id,
        gateway::webhooks::Change::Set {
            url: Some(url),
            rotate: false,
        },
        state.now(),
    )
    .await
    .unwrap();
}

/// A URL on a port nobody listens on: deliveries there stay pending, retried.
fn unreachable_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://127.0.0.1:{}/hooks", l.local_addr().unwrap().port())
}

#[tokio::test]
async fn the_backlog_upstream_errors_and_catalogue_are_on_metrics() {
    let t = TestApp::spawn_with(|c| {
        c.webhooks.retry_schedule = vec![Duration::from_secs(3600)];
        c.webhooks.poll_interval = Duration::from_millis(100);
    })
    .await;
    t.wait_catalogue().await;
    let (_, before) = text(&t.http, &t.url("/metrics")).await;
    assert_eq!(sample(&before, "gateway_webhook_backlog"), Some(0.0));
    assert_eq!(
        sample(&before, "gateway_webhook_oldest_pending_age_seconds"),
        Some(0.0)
    );
    // The sandbox's documented failing issuers never answered: missing.
    let missing = sample(&before, "gateway_catalogue_issuers_missing").unwrap();
    let failing = sample(&before, "gateway_catalogue_issuers_failing").unwrap();
    assert!(missing >= 1.0 && missing <= failing, "{before}");
    assert!(sample(&before, "gateway_catalogue_entries").unwrap() > 0.0);

    set_webhook(&t, unreachable_url()).await;
    let (id, _) = t.authenticated().await;
    t.get(&format!("/api/digilocker/{id}/revoke"), &t.creds)
        .await;
    t.clock.advance(120);
    // The authenticated and revoked events, each pending after a failed attempt.
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = text(&t.http, &t.url("/metrics")).await.1;
        if sample(&metrics, "gateway_webhook_backlog") >= Some(2.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        sample(&metrics, "gateway_webhook_backlog") >= Some(2.0),
        "{metrics}"
    );
    let age = sample(&metrics, "gateway_webhook_oldest_pending_age_seconds").unwrap();
    assert!((120.0..400.0).contains(&age), "{age}");

    // DigiLocker failing one endpoint: counted by endpoint and kind.
    let (id, _) = t.authenticated().await;
    t.faults(json!({"error": {"rate": 1.0, "status": 503, "error": "repository_service_inactive", "endpoint": "files"}}))
        .await;
    let (s, _) = t
        .get(&format!("/api/digilocker/{id}/issued"), &t.creds)
        .await;
    assert!(s >= 500, "{s}");
    t.faults(json!({})).await;
    let (_, metrics) = text(&t.http, &t.url("/metrics")).await;
    let errors = sample(
        &metrics,
        "gateway_upstream_errors_total{endpoint=\"files_issued\",kind=\"http_5xx\"}",
    );
    assert!(errors >= Some(1.0), "{metrics}");
    assert!(
        !metrics.contains("gateway_upstream_errors_total{endpoint=\"token\""),
        "the token exchanges succeeded: {metrics}"
    );
    assert!(
        metrics.contains("gateway_upstream_call_duration_seconds_count{endpoint=\"files_issued\"}"),
        "{metrics}"
    );

    // A receiver that answers, and the retries due: the backlog drains
    // (delivered events leave it).
    let receiver = Receiver::start().await;
    set_webhook(&t, receiver.url()).await;
    // (past the retry of an hour and its jitter; again every two seconds:
    // an attempt still on its way to the unreachable URL when the webhook
    // changed schedules its retry an hour after the moved clock)
    let mut drained = String::new();
    for i in 0..300 {
        if i % 20 == 0 {
            t.clock.advance(7200);
        }
        drained = text(&t.http, &t.url("/metrics")).await.1;
        if sample(&drained, "gateway_webhook_backlog") == Some(0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        sample(&drained, "gateway_webhook_backlog"),
        Some(0.0),
        "{drained}"
    );
    assert_eq!(
        sample(&drained, "gateway_webhook_oldest_pending_age_seconds"),
        Some(0.0)
    );
    assert!(receiver.got().len() >= 2);
}

#[tokio::test]
async fn an_admin_listener_serves_metrics_and_the_public_port_does_not() {
    let t = TestApp::spawn_with(|c: &mut Config| {
        c.admin_listen = Some("127.0.0.1:0".parse().unwrap());
        c.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let admin = t.app.admin_addr.expect("an admin listener");
    assert_ne!(admin, t.app.addr);
    let admin_url = |path: &str| format!("http://{admin}{path}");

    let (s, body) = TestApp::send(t.http.get(t.url("/metrics"))).await;
    assert_error(s, &body, 404, "not_found");
    let (s, metrics) = text(&t.http, &admin_url("/metrics")).await;
    assert_eq!(s, 200);
    assert!(
        metrics.contains("# TYPE gateway_webhook_backlog gauge"),
        "{metrics}"
    );
    // The public port's calls are counted there.
    assert!(
        metrics.contains(
            "gateway_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"
        ),
        "{metrics}"
    );
    for path in ["/readyz", "/healthz"] {
        assert_eq!(text(&t.http, &t.url(path)).await.0, 200, "public {path}");
        assert_eq!(text(&t.http, &admin_url(path)).await.0, 200, "admin {path}");
    }
    // Nothing of the API on the admin listener.
    let (s, body) = TestApp::send(
        t.http
            .post(admin_url("/api/digilocker"))
            .json(&json!({"redirectUrl": crate::harness::BUSINESS})),
    )
    .await;
    assert_error(s, &body, 404, "not_found");

    // The same limits: a connection that sends nothing is closed after the
    // header read timeout.
    let mut idle = tokio::net::TcpStream::connect(admin).await.unwrap();
    let mut buf = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the idle admin connection stayed open: {read:?}"
    );

    // Stopping the app stops both listeners.
    let public = t.app.addr;
    t.app.stop().await;
    for addr in [public, admin] {
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "{addr} still accepts connections"
        );
    }
}

#[tokio::test]
async fn an_admin_address_in_use_stops_the_start_naming_the_setting() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = gateway::start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: Some(taken.local_addr().unwrap()),
        data_dir: dir.path().to_owned(),
        background_tasks: false,
        ..Config::default()
    })
    .await
    .err()
    .expect("the start must fail");
    let err = format!("{err:#}");
    assert!(err.contains("GATEWAY_ADMIN_LISTEN"), "{err}");
}

#[tokio::test]
async fn the_admin_listener_is_set_from_the_environment_and_sigterm_stops_both() {
    let admin = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let data = tempfile::tempdir().unwrap();
    let (serve, base) = Serve::start(
        data.path(),
        &[
            ("GATEWAY_ADMIN_LISTEN", admin.to_string()),
            ("GATEWAY_SHUTDOWN_GRACE_SECONDS", "2".to_owned()),
        ],
    )
    .await;
    let base = base.unwrap_or_else(|| panic!("no start:\n{}", serve.output()));
    let http = reqwest::Client::new();
    assert_eq!(text(&http, &format!("{base}/metrics")).await.0, 404);
    let (s, metrics) = text(&http, &format!("http://{admin}/metrics")).await;
    assert_eq!(s, 200);
    assert!(metrics.contains("gateway_webhook_backlog "), "{metrics}");
    assert_eq!(text(&http, &format!("{base}/readyz")).await.0, 200);
    let out = serve.output();
    assert!(
        out.contains(&format!("metrics: http://{admin}/metrics")),
        "the banner does not say where /metrics is:\n{out}"
    );
    let (ok, out) = serve.terminate(Duration::from_secs(10)).await;
    assert!(ok, "{out}");
    let public: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    for addr in [public, admin] {
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "{addr}"
        );
    }

    // A value that is no address stops the start, naming the setting.
    let (serve, base) = Serve::start(
        data.path(),
        &[("GATEWAY_ADMIN_LISTEN", "metrics.internal".to_owned())],
    )
    .await;
    assert!(base.is_none(), "{}", serve.output());
    let out = serve.stop().await;
    assert!(
        out.contains("GATEWAY_ADMIN_LISTEN must be host:port"),
        "{out}"
    );
}

/// The `gateway_…` metric names in `text`.
fn gateway_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("gateway_") {
        let start = i + at;
        let preceded = start > 0
            && (bytes[start - 1].is_ascii_alphanumeric()
                || bytes[start - 1] == b'_'
                || bytes[start - 1] == b'-');
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .map_or(text.len(), |n| start + n);
        if !preceded && end > start + "gateway_".len() {
            names.insert(text[start..end].to_owned());
        }
        i = end;
    }
    names
}

#[tokio::test]
async fn the_alert_rules_pass_promtool_and_name_only_served_metrics() {
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/alerts.yml");
    let out = std::process::Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&rules)
        .output()
        .unwrap_or_else(|e| {
            panic!("promtool is needed (Debian's prometheus package; scripts/install-test-deps.sh): {e}")
        });
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool check rules failed:\n{printed}"
    );

    let alerts_text = repo_file("docs/alerts.yml");
    let alerts: Vec<&str> = alerts_text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert:"))
        .map(str::trim)
        .collect();
    assert!(
        printed.contains(&format!("SUCCESS: {} rules found", alerts.len())),
        "{printed}"
    );
    assert!(alerts.len() >= 8, "{alerts:?}");

    // Every metric the rules name is one the gateway serves, with the type
    // its suffix implies.
    let t = TestApp::spawn().await;
    let (_, metrics) = text(&t.http, &t.url("/metrics")).await;
    let names = gateway_names(&alerts_text);
    assert!(names.len() >= 8, "{names:?}");
    for name in &names {
        let (family, kind) = if let Some(f) = name.strip_suffix("_total") {
            (f, "counter")
        } else if let Some(f) = name.strip_suffix("_bucket") {
            (f, "histogram")
        } else {
            (name.as_str(), "gauge")
        };
        assert!(
            metrics.contains(&format!("# TYPE {family} {kind}\n")),
            "docs/alerts.yml names {name}, which /metrics does not serve as a {kind}:\n{metrics}"
        );
    }

    // Each alert has its runbook under its own heading.
    let production = repo_file("docs/production.md");
    for alert in &alerts {
        let heading = format!("#### {alert}\n");
        let at = production
            .find(&heading)
            .unwrap_or_else(|| panic!("docs/production.md has no runbook `#### {alert}`"));
        let runbook = &production[at + heading.len()..];
        let runbook = &runbook[..runbook.find("\n#").unwrap_or(runbook.len())];
        for part in ["**Means:**", "**Check:**", "**Do:**"] {
            assert!(
                runbook.contains(part),
                "the runbook of {alert} lacks {part}"
            );
        }
    }
}
