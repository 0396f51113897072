//! Signed webhooks: a real receiver on 127.0.0.1 (a small axum server in
//! the test) gets every event type, each verified with the Standard
//! Webhooks library exactly as a business would verify it; retries keep the
//! `webhook-id`; a stopped receiver gets its events when it is back; the
//! commands set, rotate and disable a webhook, list deliveries and send
//! again; outside sandbox mode internal targets are refused, also when a
//! name resolves to one; two instances on one PostgreSQL deliver each event
//! once; the demo page shows the events its request produced; a receiver
//! that never answers holds up no other client's events.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use gateway::storage::{ClientRecord, EventKind, NewEvent, WebhookSettings};
use gateway::Config;
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::harness::{happy_citizen, PgSchema, TestApp, BUSINESS};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Got {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Verify with the Standard Webhooks library, as a business would, and
    /// return the event.
    fn verified(&self, secret: &str) -> Value {
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .verify(&self.body, &self.headers)
            .unwrap_or_else(|e| panic!("the delivery does not verify: {e}: {self:?}"));
        self.json()
    }
}

/// A business's webhook endpoint on 127.0.0.1: records every request and
/// answers the queued statuses first, then 204 (a queued 307 redirects to
/// `/elsewhere`; a queued 0 answers 204 only after five seconds). It closes
/// every connection after answering, so stopping it leaves nothing open.
pub(crate) struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let mut r = Receiver {
            addr: "127.0.0.1:0".parse().unwrap(),
            got: Arc::default(),
            answers: Arc::default(),
            server: None,
        };
        r.listen().await;
        r
    }

    async fn listen(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.addr = listener.local_addr().unwrap();
        let (got, answers) = (self.got.clone(), self.answers.clone());
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let (got, answers) = (got.clone(), answers.clone());
                async move {
                    let path = uri.path().to_owned();
                    got.lock().unwrap().push(Got {
                        path,
                        headers,
                        body,
                    });
                    let mut status = answers.lock().unwrap().pop_front().unwrap_or(204);
                    if status == 0 {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        status = 204;
                    }
                    (
                        StatusCode::from_u16(status).unwrap(),
                        [
                            (axum::http::header::CONNECTION, "close"),
                            (axum::http::header::LOCATION, "/elsewhere"),
                        ],
                    )
                }
            },
        );
        self.server = Some(tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        }));
    }

    /// Stop listening: connections to the port are refused.
    pub(crate) async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }

    /// Listen again on the same port.
    pub(crate) async fn restart(&mut self) {
        self.listen().await;
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/kyc?tenant=t1", self.addr.port())
    }

    fn answer_first(&self, statuses: &[u16]) {
        self.answers.lock().unwrap().extend(statuses);
    }

    pub(crate) fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    /// Wait until a request satisfies `pred`; returns it.
    async fn wait_for(&self, what: &str, pred: impl Fn(&Got) -> bool) -> Got {
        for _ in 0..300 {
            if let Some(g) = self.got().into_iter().find(|g| pred(g)) {
                return g;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {what} arrived in 30 s; got {:?}", self.got());
    }

    /// Wait for the event of `kind` about request `id`.
    pub(crate) async fn wait_event(&self, kind: &str, id: &str) -> Got {
        self.wait_for(&format!("{kind} for {id}"), |g| {
            let v: Value = serde_json::from_slice(&g.body).unwrap_or_default();
            v["type"] == kind && v["data"]["id"] == id
        })
        .await
    }
}

/// Retries after one second, the worker looking every 100 ms.
pub(crate) fn quick(c: &mut Config) {
    c.webhooks.retry_schedule = vec![Duration::from_secs(1); 8];
    c.webhooks.poll_interval = Duration::from_millis(100);
}

/// Run `digilocker-gateway` on the app's data directory (and database).
pub(crate) async fn cli(
    t: &TestApp,
    args: &[&str],
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"));
    cmd.env_clear()
        .env("GATEWAY_LOG", "warn")
        .arg("--data-dir")
        .arg(t.dir.path());
    if let Some(pg) = &t.pg {
        cmd.arg("--database-url").arg(&pg.url);
    }
    cmd.env("GATEWAY_MODE", t.mode());
    let out = cmd
        .args(args)
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The secret a `client webhook` command printed.
fn printed_secret(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("webhook signing secret: "))
        .unwrap_or_else(|| panic!("no secret printed: {stdout}"))
        .trim()
        .to_owned()
}

/// `client webhook <client> <args>`; returns what it printed.
async fn client_webhook(t: &TestApp, client: &str, args: &[&str]) -> String {
    let mut all = vec!["client", "webhook", client];
    all.extend(args);
    let (ok, out, err) = cli(t, &all, &[]).await;
    assert!(ok, "client webhook {args:?} failed: {out}{err}");
    out
}

/// The counter of webhook attempts with this outcome on this app.
async fn webhook_metric(t: &TestApp, outcome: &str) -> u64 {
    let text = t
        .http
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("gateway_webhook_deliveries_total{{outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|n| n.trim().parse().unwrap())
        .unwrap_or(0)
}

/// A request of the app's client, denied by the happy citizen.
pub(crate) async fn denied(t: &TestApp) -> String {
    let created = t.create().await;
    let browser = Browser::new();
    let consent = t.happy_consent(&created, &browser).await;
    let back = t.decide(&browser, &consent, false, None).await;
    assert_eq!(
        crate::harness::param(&back, "success").as_deref(),
        Some("False")
    );
    created["id"].as_str().unwrap().to_owned()
}

/// Event ids of a request's audit trail, by kind.
pub(crate) async fn event_id(t: &TestApp, id: &str, kind: &str) -> String {
    let (s, trail) = t
        .get(&format!("/api/digilocker/{id}/audit"), &t.creds)
        .await;
    assert_eq!(s, 200, "{trail}");
    trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == kind)
        .and_then(|e| e["id"].as_str())
        .unwrap_or_else(|| panic!("no {kind} event in {trail}"))
        .to_owned()
}

/// Nothing the user shared is in a delivery.
fn assert_no_personal_data(body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    let c = happy_citizen();
    for personal in [
        c.name.as_str(),
        c.digilocker_id.as_str(),
        c.aadhaar.as_deref().unwrap(),
        c.mobile.as_deref().unwrap_or("no mobile"),
        c.dob.as_str(),
    ] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }
    if !c.email.is_empty() {
        assert!(!text.contains(&c.email), "email in {text}");
    }
}

#[tokio::test]
async fn every_event_of_a_journey_arrives_signed_and_verifies_with_the_standard_library() {
    let t = TestApp::spawn_with(quick).await;
    let receiver = Receiver::start().await;
    let out = client_webhook(&t, &t.creds.id, &["--url", &receiver.url()]).await;
    let secret = printed_secret(&out);
    assert!(secret.starts_with("whsec_"), "{secret}");

    // Consent given, then revoked.
    let (id, back) = t.authenticated().await;
    let got = receiver
        .wait_event("digilocker.request.authenticated", &id)
        .await;
    let event = got.verified(&secret);
    let data = &event["data"];
    assert_eq!(data["status"], "authenticated", "{event}");
    // The doc types consented to, as the redirect's `scope` has them.
    let scope = crate::harness::param(&back, "scope").unwrap();
    assert!(scope.contains('+'), "{scope}");
    assert_eq!(data["scope"], scope.as_str(), "{event}");
    assert!(event["timestamp"].as_str().unwrap().ends_with("+05:30"));
    // The webhook-id is the event's id in the audit trail; the timestamp is now.
    assert_eq!(
        got.header("webhook-id"),
        event_id(&t, &id, "consent_given").await
    );
    let ts: i64 = got.header("webhook-timestamp").parse().unwrap();
    assert!((ts - t.app.state.now()).abs() < 60);
    assert!(got.header("webhook-signature").starts_with("v1,"));
    assert_eq!(got.header("content-type"), "application/json");
    assert_no_personal_data(&got.body);

    let (s, v) = t
        .get(&format!("/api/digilocker/{id}/revoke"), &t.creds)
        .await;
    assert_eq!(s, 200, "{v}");
    let got = receiver.wait_event("digilocker.request.revoked", &id).await;
    assert_eq!(
        got.verified(&secret)["data"],
        json!({"id": id, "status": "revoked"})
    );
    // DigiLocker's side of the revoke, done right after.
    let got = receiver
        .wait_event("digilocker.request.revoke_confirmed", &id)
        .await;
    assert_eq!(
        got.verified(&secret)["data"],
        json!({"id": id, "status": "revoked", "upstream": "revoked"})
    );

    // Consent denied.
    let id = denied(&t).await;
    let got = receiver.wait_event("digilocker.request.failed", &id).await;
    assert_eq!(
        got.verified(&secret)["data"],
        json!({"id": id, "status": "unauthenticated", "errCode": "user_consent_not_given"})
    );

    // A signature made with another secret is not accepted.
    let other = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    assert!(standardwebhooks::Webhook::new(other)
        .unwrap()
        .verify(&got.body, &got.headers)
        .is_err());
    // Nothing else was announced (the creation, the journey's start are not).
    // (Each event is delivered on its own, at least once: their order
    // across events is not promised.)
    let mut kinds: Vec<String> = receiver
        .got()
        .iter()
        .map(|g| g.json()["type"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "digilocker.request.authenticated",
            "digilocker.request.failed",
            "digilocker.request.revoke_confirmed",
            "digilocker.request.revoked",
        ]
    );
    wait_metric(&t, "delivered", 4).await;
}

/// Wait until the counter reaches `n` (it is counted as the answer comes).
async fn wait_metric(t: &TestApp, outcome: &str, n: u64) {
    for _ in 0..50 {
        if webhook_metric(t, outcome).await >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(webhook_metric(t, outcome).await, n, "{outcome}");
}

#[tokio::test]
async fn an_expired_request_is_announced_when_it_is_erased() {
    let t = TestApp::spawn_with(|c| {
        quick(c);
        c.request_ttl = Duration::from_secs(2);
    })
    .await;
    let receiver = Receiver::start().await;
    let secret =
        printed_secret(&client_webhook(&t, &t.creds.id, &["--url", &receiver.url()]).await);
    let id = t.create().await["id"].as_str().unwrap().to_owned();
    let got = receiver.wait_event("digilocker.request.expired", &id).await;
    let event = got.verified(&secret);
    assert_eq!(event["data"], json!({"id": id, "status": "expired"}));
    assert_eq!(t.app.state.store.erasure_count(&id).await.unwrap(), 1);
}

#[tokio::test]
async fn a_receiver_that_fails_the_first_attempt_gets_a_retry_with_the_same_webhook_id() {
    let t = TestApp::spawn_with(quick).await;
    let receiver = Receiver::start().await;
    receiver.answer_first(&[500]);
    let secret =
        printed_secret(&client_webhook(&t, &t.creds.id, &["--url", &receiver.url()]).await);
    let id = denied(&t).await;
    receiver.wait_event("digilocker.request.failed", &id).await;
    for _ in 0..100 {
        if receiver.got().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = receiver.got();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(got[0].body, got[1].body, "the same event each time");
    for g in &got {
        g.verified(&secret);
    }
    // Recorded: delivered on the second attempt; counted once retried, once delivered.
    let mut delivery = None;
    for _ in 0..50 {
        let d = t
            .app
            .state
            .store
            .list_deliveries(&t.creds.id, 10)
            .await
            .unwrap();
        if d.first().is_some_and(|d| d.state == "delivered") {
            delivery = d.into_iter().next();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivery = delivery.expect("the delivery was not recorded as delivered");
    assert_eq!(delivery.event_id, got[0].header("webhook-id"));
    assert_eq!((delivery.attempts, delivery.last_status), (2, Some(204)));
    assert_eq!(webhook_metric(&t, "retried").await, 1);
    assert_eq!(webhook_metric(&t, "delivered").await, 1);
}

#[tokio::test]
async fn a_redirect_is_never_followed_and_a_slow_answer_times_out_both_retried() {
    let t = TestApp::spawn_with(|c| {
        quick(c);
        c.webhooks.timeout = Duration::from_secs(1);
    })
    .await;
    let receiver = Receiver::start().await;
    receiver.answer_first(&[307, 0]);
    let secret =
        printed_secret(&client_webhook(&t, &t.creds.id, &["--url", &receiver.url()]).await);
    let id = denied(&t).await;
    let mut delivered = None;
    for _ in 0..200 {
        let d = t
            .app
            .state
            .store
            .list_deliveries(&t.creds.id, 10)
            .await
            .unwrap();
        if let Some(d) = d.into_iter().find(|d| d.state == "delivered") {
            delivered = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = delivered.expect("never delivered");
    assert_eq!(delivered.attempts, 3, "redirected, timed out, delivered");
    let got = receiver.got();
    let paths: Vec<&str> = got.iter().map(|g| g.path.as_str()).collect();
    assert_eq!(paths, ["/hooks/kyc"; 3], "the redirect was followed");
    for g in &got {
        assert_eq!(g.header("webhook-id"), delivered.event_id);
        assert_eq!(g.verified(&secret)["data"]["id"], id.as_str());
    }
    assert_eq!(webhook_metric(&t, "retried").await, 2);
}

#[tokio::test]
async fn a_stopped_receiver_gets_its_events_when_it_comes_back() {
    let t = TestApp::spawn_with(quick).await;
    let mut receiver = Receiver::start().await;
    let secret =
        printed_secret(&client_webhook(&t, &t.creds.id, &["--url", &receiver.url()]).await);
    receiver.stop().await;
    let id = denied(&t).await;
    // Attempts fail while it is down…
    let mut failing = None;
    for _ in 0..100 {
        let d = t
            .app
            .state
            .store
            .list_deliveries(&t.creds.id, 10)
            .await
            .unwrap();
        if let Some(d) = d.into_iter().find(|d| d.attempts >= 2) {
            failing = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failing = failing.expect("no failed attempts recorded while the receiver was down");
    assert_eq!(failing.state, "pending");
    assert_eq!(failing.last_status, None);
    assert!(failing.last_error.is_some_and(|e| !e.is_empty()));
    assert!(receiver.got().is_empty());
    // …and it arrives once the receiver is back on its port.
    receiver.restart().await;
    let got = receiver.wait_event("digilocker.request.failed", &id).await;
    assert_eq!(got.header("webhook-id"), failing.event_id);
    got.verified(&secret);
}

#[tokio::test]
async fn an_event_out_of_attempts_is_failed_listed_and_can_be_sent_again() {
    let t = TestApp::spawn_with(|c| {
        quick(c);
        c.webhooks.retry_schedule = vec![Duration::from_secs(1)];
    })
    .await;
    let receiver = Receiver::start().await;
    receiver.answer_first(&[503, 503]);
    let secret =
        printed_secret(&client_webhook(&t, &t.creds.id, &["--url", &receiver.url()]).await);
    let id = denied(&t).await;
    let mut failed = None;
    for _ in 0..100 {
        let d = t
            .app
            .state
            .store
            .list_deliveries(&t.creds.id, 10)
            .await
            .unwrap();
        if let Some(d) = d.into_iter().find(|d| d.state == "failed") {
            failed = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failed = failed.expect("the event was never marked failed");
    assert_eq!((failed.attempts, failed.last_status), (2, Some(503)));
    assert_eq!(receiver.got().len(), 2);
    assert_eq!(webhook_metric(&t, "failed").await, 1);

    // The command lists it with its attempts and status.
    let (ok, out, err) = cli(&t, &["webhook", "deliveries", "--client", &t.creds.id], &[]).await;
    assert!(ok, "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.contains(&failed.event_id))
        .unwrap_or_else(|| panic!("{} not listed: {out}", failed.event_id));
    for want in [
        "digilocker.request.failed",
        "failed",
        " 2 ",
        "503",
        "answered HTTP 503",
    ] {
        assert!(line.contains(want), "{want:?} not in {line}");
    }
    // Sent again on request: now the receiver takes it.
    let (ok, out, err) = cli(&t, &["webhook", "redeliver", &failed.event_id], &[]).await;
    assert!(ok, "{out}{err}");
    receiver
        .wait_for("the redelivery", |_| receiver.got().len() >= 3)
        .await;
    let third = &receiver.got()[2];
    assert_eq!(third.header("webhook-id"), failed.event_id);
    assert_eq!(third.verified(&secret)["data"]["id"], id.as_str());
    // Unknown events and events that are never announced are refused.
    let (ok, _, err) = cli(&t, &["webhook", "redeliver", "evt_nope"], &[]).await;
    assert!(!ok && err.contains("no event"), "{err}");
    let created = event_id(&t, &id, "created").await;
    let (ok, _, err) = cli(&t, &["webhook", "redeliver", &created], &[]).await;
    assert!(!ok && err.contains("not sent to webhooks"), "{err}");
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_and_a_disabled_webhook_gets_nothing() {
    let t = TestApp::spawn_with(quick).await;
    let receiver = Receiver::start().await;
    let old = printed_secret(&client_webhook(&t, &t.creds.id, &["--url", &receiver.url()]).await);
    // `client list` says the client has a webhook.
    let (ok, out, _) = cli(&t, &["client", "list"], &[]).await;
    assert!(ok);
    let line = out.lines().find(|l| l.contains(&t.creds.id)).unwrap();
    assert!(line.contains(" yes "), "{line}");
    // Changing the URL keeps the secret; rotating prints a new one.
    let out = client_webhook(&t, &t.creds.id, &["--url", &receiver.url()]).await;
    assert!(
        out.contains("unchanged") && !out.contains("whsec_"),
        "{out}"
    );
    let out = client_webhook(&t, &t.creds.id, &["--rotate-secret"]).await;
    let new = printed_secret(&out);
    assert_ne!(old, new);
    assert!(out.contains("previous secret also signs"), "{out}");
    // The secrets are stored only sealed.
    let record = t
        .app
        .state
        .store
        .get_client(&t.creds.id)
        .await
        .unwrap()
        .unwrap();
    let raw = t.raw_storage().await;
    for s in [&old, &new] {
        assert!(!raw.windows(s.len()).any(|w| w == s.as_bytes()));
        let bytes = base64_decode(s.trim_start_matches("whsec_"));
        assert!(!raw.windows(bytes.len()).any(|w| w == bytes.as_slice()));
    }
    assert!(record.webhook_previous_until.unwrap() > t.app.state.now() + 23 * 3600);

    let id = denied(&t).await;
    let got = receiver.wait_event("digilocker.request.failed", &id).await;
    let signatures: Vec<&str> = got.header("webhook-signature").split(' ').collect();
    assert_eq!(signatures.len(), 2, "{signatures:?}");
    // A business still on the old secret, and one already on the new, both verify.
    got.verified(&old);
    got.verified(&new);

    // Disabled: no more deliveries, and the client list says so.
    let out = client_webhook(&t, &t.creds.id, &["--disable"]).await;
    assert!(out.contains("disabled"), "{out}");
    let before = receiver.got().len();
    let id = denied(&t).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        receiver.got().len(),
        before,
        "a disabled webhook got {id}'s event"
    );
    let (_, out, _) = cli(&t, &["client", "list"], &[]).await;
    let line = out.lines().find(|l| l.contains(&t.creds.id)).unwrap();
    assert!(line.contains(" no "), "{line}");
    // Bad input is refused with a reason.
    for (args, why) in [
        (vec![], "--url"),
        (vec!["--rotate-secret"], "no webhook"),
        (vec!["--url", "ftp://127.0.0.1/x"], "https"),
        (vec!["--url", "http://user:pw@127.0.0.1/x"], "user name"),
        (vec!["--url", "http://example.com/x"], "https"),
    ] {
        let mut all = vec!["client", "webhook", t.creds.id.as_str()];
        all.extend(args.iter().copied());
        let (ok, out, err) = cli(&t, &all, &[]).await;
        assert!(!ok && err.contains(why), "{args:?}: {out}{err}");
    }
    let (ok, _, err) = cli(
        &t,
        &["client", "webhook", "cl_nope", "--url", &receiver.url()],
        &[],
    )
    .await;
    assert!(!ok && err.contains("no client"), "{err}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// Outside sandbox mode (DigiLocker partner settings configured): `client
/// webhook` refuses http and internal targets, and a delivery whose name
/// now resolves to an internal address (or whose stored URL names one) is
/// never sent there.
#[tokio::test]
async fn outside_sandbox_mode_webhooks_never_reach_internal_addresses() {
    let master_key = gateway::crypto::MasterKey::generate_base64();
    let key = master_key.clone();
    let t = TestApp::spawn_with(move |c| {
        quick(c);
        c.master_key = Some(key.into());
        c.digilocker = Some(gateway::config::DigilockerSettings {
            base_url: "http://127.0.0.1:9/public".parse().unwrap(),
            client_id: "ABC".into(),
            client_secret: "s3cret".into(),
        });
        c.digilocker_table.allow_http = true;
    })
    .await;
    let receiver = Receiver::start().await;
    let env = [
        ("GATEWAY_MASTER_KEY", master_key.as_str()),
        ("GATEWAY_DIGILOCKER_BASE_URL", "http://127.0.0.1:9/public"),
        ("GATEWAY_DIGILOCKER_CLIENT_ID", "ABC"),
        ("GATEWAY_DIGILOCKER_CLIENT_SECRET", "s3cret"),
    ];
    let port = receiver.addr.port();
    for (url, why) in [
        (receiver.url(), "https"),
        (format!("https://127.0.0.1:{port}/"), "internal"),
        (format!("https://[::1]:{port}/"), "internal"),
        (format!("https://localhost:{port}/"), "internal"),
        ("https://169.254.169.254/latest".to_owned(), "internal"),
        ("https://10.1.2.3/hook".to_owned(), "internal"),
    ] {
        let (ok, out, err) =
            cli(&t, &["client", "webhook", &t.creds.id, "--url", &url], &env).await;
        assert!(
            !ok && err.contains(why),
            "{url} was not refused for {why}: {out}{err}"
        );
    }
    let record = t
        .app
        .state
        .store
        .get_client(&t.creds.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.webhook_url, None);

    // URLs stored before the rules changed (or names whose DNS changed):
    // checked again at delivery, on the resolved address.
    let store = &t.app.state.store;
    let mut clients = Vec::new();
    for url in [
        format!("https://localhost:{port}/hook"),
        format!("https://127.0.0.1:{port}/hook"),
    ] {
        let client = format!("cl_{}", uuid::Uuid::new_v4().simple());
        store
            .insert_client(&ClientRecord {
                client_id: client.clone(),
                secret_hash: vec![0; 32],
                product_instance_id: "x".into(),
                name: "ssrf".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let sealed = gateway::webhooks::signing::SigningKey::generate()
            .seal(&t.app.state.keys, &client)
            .unwrap();
        store
            .set_client_webhook(
                &client,
                &WebhookSettings {
                    url: Some(url),
                    secret: Some(sealed),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let request = uuid::Uuid::new_v4().to_string();
        let event = NewEvent::new(EventKind::Revoked, json!({}), t.app.state.now());
        store.record_event(&request, &client, &event).await.unwrap();
        clients.push(client);
    }
    for client in &clients {
        let mut refused = None;
        for _ in 0..100 {
            let d = store.list_deliveries(client, 10).await.unwrap();
            if let Some(d) = d.into_iter().find(|d| d.attempts >= 1) {
                refused = Some(d);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let refused = refused.expect("no attempt recorded");
        let error = refused.last_error.unwrap_or_default();
        assert!(error.contains("internal"), "{client}: {error}");
        assert_eq!(
            refused.state, "pending",
            "retried: the operator may allow it"
        );
    }
    assert!(
        receiver.got().is_empty(),
        "a delivery reached an internal address"
    );
}

#[tokio::test]
async fn the_demo_page_shows_the_events_its_request_produced() {
    let t = TestApp::spawn_with(quick).await;
    let browser = Browser::new();
    let home = browser.get(&t.url("/demo")).await;
    let signin = browser
        .submit(&home, Some("/demo/start"), &[], &t.base)
        .await;
    let c = happy_citizen();
    let page = browser
        .submit(
            &signin,
            None,
            &[("username", c.aadhaar.as_deref().unwrap())],
            &t.base,
        )
        .await;
    let page = browser
        .submit(&page, None, &[("otp", sandbox::seed::OTP)], &t.base)
        .await;
    let consent = browser
        .submit(&page, None, &[("pin", &c.pin)], &t.base)
        .await;
    assert!(consent.body.contains("decision"), "{consent:?}");
    let done = browser
        .submit(&consent, None, &[("decision", "allow")], &t.base)
        .await;
    assert_eq!(done.status, 200, "{done:?}");
    assert!(done.url.contains("/demo/done"), "{}", done.url);
    let doc = scraper::Html::parse_document(&done.body);
    let id = text_of(&doc, "#request-id");
    // The page waits briefly for the journey's event; the events page has
    // every one received since.
    let events = browser.get(&t.url(&format!("/demo/events?id={id}"))).await;
    let page = if done.body.contains("digilocker.request.authenticated") {
        done.body.clone()
    } else {
        events.body.clone()
    };
    let doc = scraper::Html::parse_document(&page);
    assert_eq!(
        text_of(&doc, ".event-type"),
        "digilocker.request.authenticated",
        "{page}"
    );
    assert!(page.contains("signature verified"));
    let text: String = doc.root_element().text().collect();
    assert!(text.contains(&format!("\"id\": \"{id}\"")), "{page}");

    // The receiver keeps only deliveries signed with the demo client's secret.
    let forged = json!({"type": "digilocker.request.revoked", "timestamp": "x", "data": {"id": id, "status": "revoked"}}).to_string();
    let wrong = gateway::webhooks::signing::SigningKey::generate();
    let now = t.app.state.now();
    for signature in [
        None,
        Some("v1,AAAA".to_owned()),
        Some(wrong.sign("evt_forged", now, forged.as_bytes()).unwrap()),
    ] {
        let mut req = t
            .http
            .post(t.url("/demo/webhook"))
            .header("webhook-id", "evt_forged")
            .header("webhook-timestamp", now.to_string())
            .body(forged.clone());
        if let Some(s) = signature {
            req = req.header("webhook-signature", s);
        }
        assert_eq!(req.send().await.unwrap().status(), 401);
    }
    let events = browser.get(&t.url(&format!("/demo/events?id={id}"))).await;
    assert!(
        !events.body.contains("digilocker.request.revoked"),
        "{}",
        events.body
    );
    assert!(events.body.contains("digilocker.request.authenticated"));
}

fn text_of(doc: &scraper::Html, css: &str) -> String {
    let sel = scraper::Selector::parse(css).unwrap();
    doc.select(&sel)
        .next()
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .unwrap_or_default()
}

/// Two instances on one PostgreSQL schema (always PostgreSQL, whatever the
/// suite's backend): both workers run, each event reaches the receiver once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgresql_deliver_each_event_once() {
    let pg = PgSchema::create().await;
    let master_key = gateway::crypto::MasterKey::generate_base64();
    let sandbox_dir = tempfile::tempdir().unwrap();
    let dirs: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut apps = Vec::new();
    // One after the other: the second reuses the sandbox CA the first made.
    for (i, dir) in dirs.iter().enumerate() {
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_owned(),
            database_url: Some(pg.url.clone()),
            master_key: Some(master_key.clone().into()),
            mode: Some(gateway::config::Mode::Sandbox),
            sandbox_dir: Some(sandbox_dir.path().to_owned()),
            sandbox_catalogue: (60, 240),
            request_ttl: Duration::from_secs(2),
            sweep_interval: Duration::from_millis(200),
            instance_name: format!("i{i}"),
            ..Config::default()
        };
        quick(&mut config);
        apps.push(gateway::start(config).await.unwrap());
    }
    let store = apps[0].state.store.clone();
    let creds = crate::harness::Creds {
        id: format!("cl_{}", uuid::Uuid::new_v4().simple()),
        secret: gateway::crypto::random_token(),
        instance: uuid::Uuid::new_v4().to_string(),
    };
    store
        .insert_client(&ClientRecord {
            client_id: creds.id.clone(),
            secret_hash: gateway::crypto::hash_secret(&creds.secret),
            product_instance_id: creds.instance.clone(),
            name: "two instances".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let receiver = Receiver::start().await;
    let (ok, out, err) = {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"));
        let out = cmd
            .env_clear()
            .env("GATEWAY_MASTER_KEY", &master_key)
            .env("GATEWAY_MODE", "sandbox")
            .arg("--data-dir")
            .arg(dirs[0].path())
            .arg("--database-url")
            .arg(&pg.url)
            .args(["client", "webhook", &creds.id, "--url", &receiver.url()])
            .output()
            .await
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(ok, "{out}{err}");
    let secret = printed_secret(&out);

    // Requests on both instances; they expire within seconds, and both
    // sweepers and both workers run every few hundred milliseconds.
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..20 {
        let app = &apps[i % 2];
        let resp = http
            .post(format!("http://{}/api/digilocker", app.addr))
            .header("x-client-id", &creds.id)
            .header("x-client-secret", &creds.secret)
            .header("x-product-instance-id", &creds.instance)
            .json(&json!({"redirectUrl": BUSINESS}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let v: Value = resp.json().await.unwrap();
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        receiver.wait_event("digilocker.request.expired", id).await;
    }
    // Give both workers time to (wrongly) send anything a second time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = receiver.got();
    let mut webhook_ids: Vec<&str> = got.iter().map(|g| g.header("webhook-id")).collect();
    assert_eq!(got.len(), ids.len(), "{webhook_ids:?}");
    webhook_ids.sort();
    webhook_ids.dedup();
    assert_eq!(webhook_ids.len(), ids.len(), "an event was delivered twice");
    for g in &got {
        assert_eq!(g.verified(&secret)["type"], "digilocker.request.expired");
    }
    let db = pg.pool().await;
    let (delivered, attempts): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(attempts), 0)::BIGINT FROM deliveries WHERE client_id = $1 AND state = 'delivered'",
    )
    .bind(&creds.id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((delivered, attempts), (20, 20));
    db.close().await;
    for app in apps {
        app.stop().await;
    }
}

/// A webhook endpoint that accepts connections, reads what is sent and
/// never answers; it counts the connections open at once.
struct Hanging {
    addr: SocketAddr,
    open: Arc<std::sync::atomic::AtomicUsize>,
    most: Arc<std::sync::atomic::AtomicUsize>,
    accepted: Arc<std::sync::atomic::AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Hanging {
    async fn start() -> Hanging {
        use std::sync::atomic::Ordering::SeqCst;
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (o, m, a) = (open.clone(), most.clone(), accepted.clone());
        let server = tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                a.fetch_add(1, SeqCst);
                let now = o.fetch_add(1, SeqCst) + 1;
                m.fetch_max(now, SeqCst);
                let o = o.clone();
                tokio::spawn(async move {
                    // Read until the sender gives up and closes.
                    let mut buf = [0u8; 4096];
                    while matches!(conn.read(&mut buf).await, Ok(n) if n > 0) {}
                    o.fetch_sub(1, SeqCst);
                });
            }
        });
        Hanging {
            addr,
            open,
            most,
            accepted,
            server,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/kyc", self.addr.port())
    }
}

impl Drop for Hanging {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Twenty deliveries stuck at one client's receiver, which never answers,
/// beside another client's receiver that does: the other client's event
/// arrives at once (it used to wait behind the stuck batch for ~30 s), and
/// the stuck receiver never has more than a few of the instance's slots.
#[tokio::test]
async fn a_receiver_that_never_answers_holds_up_no_other_clients_events() {
    use gateway::state::Clock;
    use std::sync::atomic::Ordering::SeqCst;
    let t = TestApp::spawn_with(|c| {
        quick(c);
        c.webhooks.timeout = Duration::from_secs(20);
    })
    .await;
    let hanging = Hanging::start().await;
    let good = Receiver::start().await;
    let stuck = t.new_client("").await;
    client_webhook(&t, &stuck.id, &["--url", &hanging.url()]).await;
    client_webhook(&t, &t.creds.id, &["--url", &good.url()]).await;
    let store = t.app.state.store.clone();
    let failed = |at: i64| {
        NewEvent::new(
            EventKind::ConsentDenied,
            json!({"errCode": "user_consent_not_given"}),
            at,
        )
    };
    for i in 0..20 {
        store
            .record_event(&format!("req_stuck_{i}"), &stuck.id, &failed(t.clock.now()))
            .await
            .unwrap();
    }
    // The stuck receiver holds what it may before the other event is made.
    for _ in 0..100 {
        if hanging.open.load(SeqCst) >= gateway::webhooks::worker::PER_ENDPOINT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        hanging.open.load(SeqCst),
        gateway::webhooks::worker::PER_ENDPOINT,
        "the stuck receiver's deliveries did not start"
    );
    for round in 0..2 {
        let id = format!("req_good_{round}");
        let made = std::time::Instant::now();
        store
            .record_event(&id, &t.creds.id, &failed(t.clock.now()))
            .await
            .unwrap();
        good.wait_event("digilocker.request.failed", &id).await;
        let took = made.elapsed();
        assert!(
            took < Duration::from_secs(3),
            "the other client's event took {took:?} beside a receiver that hangs"
        );
    }
    assert_eq!(
        hanging.most.load(SeqCst),
        gateway::webhooks::worker::PER_ENDPOINT,
        "more of the stuck client's deliveries were in flight at once than its limit"
    );
    assert_eq!(
        hanging.accepted.load(SeqCst),
        gateway::webhooks::worker::PER_ENDPOINT,
        "the stuck client's other deliveries should wait for its slots"
    );
}
