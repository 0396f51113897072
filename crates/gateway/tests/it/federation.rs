//! DigiLocker is a federation that partly fails every day: the sandbox's
//! documented failing, flaky and slow issuers (on by default) must cost only
//! what depends on them. The catalogue is served without them, fetches from
//! healthy issuers work, catalogue calls stay within their budget however
//! much fails, a recovered issuer comes back without a restart, and a revoke
//! erases at once whatever DigiLocker's revoke does.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use sandbox::federation::{DOWN_ORGIDS, ORGID_INACTIVE, ORGID_UNRESPONSIVE, PAIR_DOWN};

use crate::harness::{assert_error, happy_citizen, TestApp};

/// The whole catalogue: status, headers, body.
async fn catalogue(t: &TestApp, query: &str) -> (u16, HeaderMap, Value) {
    let resp = t
        .req(
            Method::GET,
            &format!("/api/digilocker/documents{query}"),
            &t.creds,
        )
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn org_ids(docs: &Value) -> Vec<String> {
    docs["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["orgId"].as_str().unwrap().to_owned())
        .collect()
}

/// Every DigiLocker call of `endpoint` this app made, from its metrics.
async fn upstream_calls(t: &TestApp, endpoint: &str) -> u64 {
    let text = t
        .http
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with("gateway_upstream_calls_total{")
                && l.contains(&format!("endpoint=\"{endpoint}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn the_catalogue_is_served_within_seconds_with_the_failing_issuers_missing() {
    let t = TestApp::spawn().await;
    let started = Instant::now();
    loop {
        let (s, _, _) = catalogue(&t, "?docType=NONE").await;
        if s == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no catalogue served 10 s after start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    t.wait_catalogue().await;
    let (s, h, docs) = catalogue(&t, "").await;
    assert_eq!(s, 200);
    assert_eq!(header(&h, "x-catalogue-complete"), "false");
    assert_eq!(header(&h, "x-catalogue-pending-issuers"), "0");
    let failing: usize = header(&h, "x-catalogue-failing-issuers").parse().unwrap();
    assert!(failing > DOWN_ORGIDS.len(), "{failing} failing");
    let issuers: usize = header(&h, "x-catalogue-issuers").parse().unwrap();
    assert!(issuers >= 50, "{issuers} issuers listed");

    let orgs = org_ids(&docs);
    for down in DOWN_ORGIDS {
        assert!(
            !orgs.iter().any(|o| o == down),
            "a failing issuer {down} is in the catalogue"
        );
    }
    let list = docs["documents"].as_array().unwrap();
    assert!(
        list.iter().any(|d| d["docType"] == "PANCR"),
        "a healthy issuer is missing"
    );
    // One failing (issuer, doc type) pair costs only that pair.
    assert!(!list
        .iter()
        .any(|d| d["orgId"] == PAIR_DOWN.0 && d["docType"] == PAIR_DOWN.1));
    assert!(
        list.iter()
            .any(|d| d["orgId"] == PAIR_DOWN.0 && d["docType"] != PAIR_DOWN.1),
        "the other doc types of {} went missing with its failing pair",
        PAIR_DOWN.0
    );

    // The operator sees which issuers fail, why, and when each is retried.
    let status = gateway::catalogue::status(t.app.state.store.as_ref())
        .await
        .unwrap();
    let now = t.app.state.now();
    for down in DOWN_ORGIDS {
        let s = status
            .failing
            .iter()
            .find(|s| &s.org_id == down)
            .unwrap_or_else(|| panic!("{down} not listed as failing: {status:?}"));
        assert!(s.next_try_at > now, "{s:?} is retried in a loop");
        assert!(s.attempts >= 1);
        assert!(s.last_error.as_deref().unwrap().starts_with("doc types: "));
    }
    let inactive = status
        .failing
        .iter()
        .find(|s| s.org_id == ORGID_INACTIVE)
        .unwrap();
    assert_eq!(
        inactive.last_error.as_deref(),
        Some("doc types: 503 repository_service_inactive")
    );
    let pair = status
        .failing
        .iter()
        .find(|s| s.org_id == PAIR_DOWN.0)
        .unwrap();
    assert!(
        pair.last_error.as_deref().unwrap().contains(PAIR_DOWN.1),
        "{pair:?}"
    );
    // ... and so does /metrics.
    let text = t
        .http
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(&format!(
            "gateway_catalogue_issuer_failing{{org_id=\"{ORGID_INACTIVE}\",error=\"doc types: 503 repository_service_inactive\"}} 1"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("gateway_catalogue_issuers_failing {failing}")));
}

#[tokio::test]
async fn fetches_from_healthy_issuers_work_and_a_failing_issuer_gets_its_own_error() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let c = happy_citizen();
    let id = t.consented(&c, &["PANCR", "DRVLC"]).await;
    let path = format!("/api/digilocker/{id}/document");
    // An issuer the catalogue never got: tried upstream anyway, and its own
    // error comes back (never a 400 for "not in the catalogue").
    let (s, b) = t
        .post(
            &path,
            &t.creds,
            json!({"docType": "DRVLC", "orgId": ORGID_UNRESPONSIVE, "format": "pdf", "consent": "Y",
                   "parameters": [{"name": "dlno", "value": "AR0120190001234"}]}),
        )
        .await;
    assert_eq!(b["error"]["code"], "upstream_server_error", "{s} {b}");
    // A healthy issuer beside it works.
    let (_, v) = t
        .get("/api/digilocker/documents?docType=PANCR", &t.creds)
        .await;
    let org = v["documents"][0]["orgId"].clone();
    let (s, pan) = t
        .post(
            &path,
            &t.creds,
            json!({"docType": "PANCR", "orgId": org, "format": "pdf", "consent": "Y",
                   "parameters": [{"name": "panno", "value": "ABCDE1234F"}, {"name": "PANFullName", "value": c.name}]}),
        )
        .await;
    assert_eq!(s, 200, "{pan}");
    // A format DigiLocker never serves is still refused here.
    let (s, b) = t
        .post(
            &path,
            &t.creds,
            json!({"docType": "DRVLC", "orgId": ORGID_UNRESPONSIVE, "format": "docx", "consent": "Y"}),
        )
        .await;
    assert_error(s, &b, 400, "invalid_payload");
}

#[tokio::test]
async fn catalogue_calls_stay_under_their_rate_while_everything_fails() {
    const RATE: u32 = 10;
    let t = TestApp::spawn_with(|c| {
        c.catalogue_calls_per_second = RATE;
        // As eager to retry as the settings allow.
        c.catalogue_retry_min = Duration::from_secs(1);
        c.catalogue_retry_max = Duration::from_secs(1);
    })
    .await;
    t.faults(json!({"error": {"rate": 1.0, "status": 500, "error": "repository_service_unresponsive", "endpoint": "pull"}}))
        .await;
    let calls = || async {
        upstream_calls(&t, "pull_issuers").await
            + upstream_calls(&t, "pull_doctype").await
            + upstream_calls(&t, "pull_parameters").await
    };
    // What ran before the fault was set, and its one-second budget.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = calls().await;
    let window = Duration::from_secs(6);
    tokio::time::sleep(window).await;
    let during = calls().await - before;
    let most = u64::from(RATE) * window.as_secs() + u64::from(RATE);
    assert!(
        during <= most,
        "{during} catalogue calls in {window:?} at {RATE}/s"
    );
    assert!(during >= 2, "the catalogue stopped trying: {during} calls");
}

#[tokio::test]
async fn a_stored_catalogue_is_never_replaced_by_a_worse_one_and_a_recovered_issuer_comes_back() {
    let t = TestApp::spawn_with(|c| {
        c.catalogue_retry_min = Duration::from_secs(1);
        c.catalogue_retry_max = Duration::from_secs(2);
    })
    .await;
    t.wait_catalogue().await;
    let (_, _, first) = catalogue(&t, "").await;
    let first_count = first["documents"].as_array().unwrap().len();
    assert!(!org_ids(&first).iter().any(|o| o == ORGID_INACTIVE));

    // Every catalogue call fails now; a full refresh changes nothing served.
    t.faults(json!({"error": {"rate": 1.0, "status": 500, "error": "repository_service_unresponsive", "endpoint": "pull"}}))
        .await;
    let report = gateway::catalogue::refresh(&gateway::app::crawler(&t.app.state))
        .await
        .unwrap()
        .expect("the lease");
    assert!(
        report.asked >= 50 && report.failed == report.asked,
        "{report:?}"
    );
    let (s, h, after) = catalogue(&t, "").await;
    assert_eq!(s, 200);
    assert_eq!(after["documents"], first["documents"]);
    assert_eq!(header(&h, "x-catalogue-complete"), "false");
    assert_eq!(
        first_count,
        after["documents"].as_array().unwrap().len(),
        "a failing refresh lost entries"
    );

    // DigiLocker recovers, and so does the inactive issuer: it appears
    // without a restart, from its own retry.
    t.faults(json!({})).await;
    let token = t.app.sandbox_admin_token.clone().unwrap();
    let resp = t
        .http
        .delete(t.url(&format!("/sandbox/admin/faults/issuers/{ORGID_INACTIVE}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let started = Instant::now();
    loop {
        let (_, _, docs) = catalogue(&t, &format!("?orgId={ORGID_INACTIVE}")).await;
        if !docs["documents"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the recovered issuer did not come back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = gateway::catalogue::status(t.app.state.store.as_ref())
        .await
        .unwrap();
    assert!(!status.failing.iter().any(|s| s.org_id == ORGID_INACTIVE));
}

/// Fetch Ramesh's PAN; its file link.
async fn fetch_pan(t: &TestApp, id: &str) -> String {
    let c = happy_citizen();
    let (_, v) = t
        .get("/api/digilocker/documents?docType=PANCR", &t.creds)
        .await;
    let org = v["documents"][0]["orgId"].clone();
    let (s, pan) = t
        .post(
            &format!("/api/digilocker/{id}/document"),
            &t.creds,
            json!({"docType": "PANCR", "orgId": org, "format": "pdf", "consent": "Y",
                   "parameters": [{"name": "panno", "value": "ABCDE1234F"}, {"name": "PANFullName", "value": c.name}]}),
        )
        .await;
    assert_eq!(s, 200, "{pan}");
    pan["fileUrl"].as_str().unwrap().to_owned()
}

/// The kinds of request `id`'s audit trail, oldest first.
async fn audit_kinds(t: &TestApp, id: &str) -> Vec<Value> {
    t.app
        .state
        .store
        .request_events(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| json!({"kind": e.kind, "detail": serde_json::from_str::<Value>(&e.detail).unwrap()}))
        .collect()
}

/// Revoke while DigiLocker's revoke fails as `fault` does: the request's
/// data is gone at once, and DigiLocker's revoke is done once it recovers.
async fn revoke_while_digilocker_fails(fault: Value, timeout: Option<Duration>) {
    let t = TestApp::spawn_with(|c| {
        if let Some(timeout) = timeout {
            c.upstream_timeout = timeout;
        }
    })
    .await;
    t.wait_catalogue().await;
    let (id, _) = t.authenticated().await;
    let link = fetch_pan(&t, &id).await;
    let token = t.stored_token(&id).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    t.faults(fault).await;

    let started = Instant::now();
    let (s, v) = t
        .get(&format!("/api/digilocker/{id}/revoke"), &t.creds)
        .await;
    assert_eq!((s, v), (200, json!({"success": true})));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the revoke waited for DigiLocker"
    );
    // Erased here at once, exactly as after a revoke DigiLocker accepted.
    let (_, st) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(st["status"], "revoked");
    assert_eq!(st["digilockerUserDetails"], json!({}));
    // As after a revoke DigiLocker accepted: the link handed out works until
    // its own validUpto, then the key goes with it.
    let r = t.http.get(&link).send().await.unwrap();
    assert_eq!(r.status(), 200, "a file link handed out died at the revoke");
    let raw = t.raw_storage().await;
    for needle in ["ABCDE1234F", happy_citizen().name.as_str(), "%PDF"] {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} is still in the database files after the revoke"
        );
    }
    t.clock
        .advance(t.app.state.config.file_link_ttl.as_secs() as i64 + 1);
    gateway::sweeper::sweep_once(&gateway::sweeper::Sweeper::of(&t.app.state))
        .await
        .unwrap();
    let r = t.http.get(&link).send().await.unwrap();
    assert_eq!(r.status(), 404, "a file link outlived its validUpto");
    let raw = t.raw_storage().await;
    assert!(
        !t.holds_data_key(&raw, &id),
        "the master key still opens the revoked request's data key"
    );
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_error(s, &b, 401, "token_revoked");
    let events = audit_kinds(&t, &id).await;
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "revoked" && e["detail"]["upstream"] == "pending"),
        "{events:?}"
    );
    assert!(!events.iter().any(|e| e["kind"] == "upstream_revoked"));

    // DigiLocker recovers: the revoke is made there from the queue.
    t.faults(json!({})).await;
    let started = Instant::now();
    loop {
        let events = audit_kinds(&t, &id).await;
        if let Some(e) = events.iter().find(|e| e["kind"] == "upstream_revoked") {
            assert_eq!(e["detail"]["outcome"], "revoked", "{e}");
            // (A hung first attempt may still be in flight when the test's
            // clock jump ends its claim; then a second claim succeeds.)
            assert!(e["detail"]["attempts"].as_i64().unwrap() >= 1, "{e}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "DigiLocker's revoke was never retried: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let resp = t
        .http
        .get(t.url("/sandbox/oauth2/1/user"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "the token still works at DigiLocker");
    assert!(t
        .app
        .state
        .store
        .list_upstream_revokes(10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn revoke_erases_at_once_while_digilocker_answers_500() {
    revoke_while_digilocker_fails(
        json!({"error": {"rate": 1.0, "status": 500, "error": "repository_service_exception", "endpoint": "revoke"}}),
        None,
    )
    .await;
}

#[tokio::test]
async fn revoke_erases_at_once_while_digilocker_answers_an_html_page() {
    revoke_while_digilocker_fails(
        json!({"error": {"rate": 1.0, "status": 502, "html": true, "endpoint": "revoke"}}),
        None,
    )
    .await;
}

#[tokio::test]
async fn revoke_erases_at_once_while_digilocker_hangs() {
    revoke_while_digilocker_fails(
        json!({"hang": {"secs": 30, "endpoint": "revoke"}}),
        Some(Duration::from_secs(1)),
    )
    .await;
}

#[tokio::test]
async fn a_revoke_makes_one_call_to_digilocker() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let (id, _) = t.authenticated().await;
    assert!(t.stored_token(&id).await["refresh_token"].is_string());
    let (s, _) = t
        .get(&format!("/api/digilocker/{id}/revoke"), &t.creds)
        .await;
    assert_eq!(s, 200);
    let started = Instant::now();
    while !audit_kinds(&t, &id)
        .await
        .iter()
        .any(|e| e["kind"] == "upstream_revoked")
    {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(upstream_calls(&t, "revoke").await, 1);
    let text = t
        .http
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !text.contains("endpoint=\"revoke\",outcome=\"http_"),
        "a revoke call failed: {text}"
    );
}

#[tokio::test]
async fn catalogue_status_lists_the_failing_issuers_and_their_next_try() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"));
    cmd.env_clear()
        .env("GATEWAY_LOG", "warn")
        .arg("--data-dir")
        .arg(t.dir.path());
    if let Some(pg) = &t.pg {
        cmd.arg("--database-url").arg(&pg.url);
    }
    cmd.env("GATEWAY_MODE", t.mode());
    let out = cmd.args(["catalogue", "status"]).output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("; partial"), "{text}");
    for down in DOWN_ORGIDS {
        let line = text
            .lines()
            .find(|l| l.starts_with(down))
            .unwrap_or_else(|| panic!("{down} not listed: {text}"));
        assert!(line.contains("doc types: "), "{line}");
        assert!(line.contains("+05:30"), "no next try in {line}");
    }
    assert!(text.contains("503 repository_service_inactive"), "{text}");
}
