//! Slow and hostile clients, secrets kept out of logs, and an owner-only
//! data directory: connections that trickle their headers, send nothing or
//! go idle are cut after the header timeout while other calls are
//! answered; a body that stops arriving is `408`; connections over the cap
//! wait their turn; SIGTERM exits within its grace period with stalled
//! clients connected; the access log records every cut-off; the start
//! banner never prints a secret; the embedded sandbox's admin endpoints
//! need their token; the demo shows nothing of another client's request;
//! every file in the data directory is `0600`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::browser::Browser;
use crate::harness::{assert_error, on_postgres, Creds, PgSchema, TestApp, BUSINESS};

/// The header timeout the in-process tests run with.
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// How late after its timeout a cut may come on a busy machine.
const MARGIN: Duration = Duration::from_secs(8);

/// A client that opens a new connection for every call, so that no call
/// reuses a keep-alive connection the server is closing at that moment.
fn fresh_http() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// How a raw connection ended.
#[derive(Debug)]
struct Cut {
    /// From connecting to the server closing the connection.
    after: Duration,
    /// What the server sent before closing.
    received: Vec<u8>,
}

/// Connect, then send `bytes` one per second (then nothing) until the
/// server closes the connection or `give_up` passes (`None`).
async fn trickle(
    addr: std::net::SocketAddr,
    bytes: &'static [u8],
    give_up: Duration,
) -> Option<Cut> {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut sent = 0;
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        if start.elapsed() > give_up {
            return None;
        }
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Some(Cut { after: start.elapsed(), received }),
                Ok(n) => received.extend_from_slice(&buf[..n]),
            },
            _ = tick.tick() => {
                if sent < bytes.len() {
                    if stream.write_all(&bytes[sent..sent + 1]).await.is_err() {
                        return Some(Cut { after: start.elapsed(), received });
                    }
                    sent += 1;
                }
            }
        }
    }
}

/// Read one HTTP/1.1 answer with a `Content-Length` body: (status, head, body).
async fn read_answer(stream: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "connection closed mid-answer: {:?}",
            String::from_utf8_lossy(&data)
        );
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("no content-length in {head}"));
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed mid-body");
        data.extend_from_slice(&buf[..n]);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head, data[head_end..head_end + length].to_vec())
}

/// Wait until the server closes `stream`; how long that took, or `None`
/// after `give_up`.
async fn closed_within(stream: &mut TcpStream, give_up: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 256];
    tokio::time::timeout(give_up, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return start.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

#[tokio::test]
async fn a_hundred_slow_header_senders_are_cut_off_while_other_calls_are_answered() {
    let t = TestApp::spawn_with(|c| c.header_read_timeout = HEADER_TIMEOUT).await;
    let created = t.create().await;
    let id = created["id"].as_str().unwrap().to_owned();
    let addr = t.app.addr;
    let slow: Vec<_> = (0..100)
        .map(|_| {
            tokio::spawn(trickle(
                addr,
                b"GET /api/digilocker/documents HTTP/1.1\r\nhost: x\r\n",
                HEADER_TIMEOUT + MARGIN + MARGIN,
            ))
        })
        .collect();
    // While they hang on, the API answers.
    let http = fresh_http();
    for _ in 0..8 {
        let resp = http
            .get(t.url(&format!("/api/digilocker/{id}/status")))
            .header("x-client-id", &t.creds.id)
            .header("x-client-secret", &t.creds.secret)
            .header("x-product-instance-id", &t.creds.instance)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let health = http.get(t.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for (i, task) in slow.into_iter().enumerate() {
        let cut = task
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("slow connection {i} was never closed"));
        assert!(
            cut.after <= HEADER_TIMEOUT + MARGIN,
            "slow connection {i} was closed only after {:?}",
            cut.after
        );
        // Closed by the header deadline, not at once, and with no answer.
        assert!(
            cut.after >= HEADER_TIMEOUT / 2,
            "slow connection {i} was closed after {:?}",
            cut.after
        );
        assert!(
            cut.received.is_empty(),
            "{:?}",
            String::from_utf8_lossy(&cut.received)
        );
    }
    // And the app is still answering.
    let (status, _) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn connections_that_send_nothing_or_a_trickled_http2_preface_are_cut_off_too() {
    let t = TestApp::spawn_with(|c| c.header_read_timeout = HEADER_TIMEOUT).await;
    let addr = t.app.addr;
    let mut waiting: Vec<_> = (0..10)
        .map(|_| tokio::spawn(trickle(addr, b"", HEADER_TIMEOUT + MARGIN + MARGIN)))
        .collect();
    // "PRI * HTTP/2.0" one byte a second: never enough to tell the protocol.
    waiting.push(tokio::spawn(trickle(
        addr,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        HEADER_TIMEOUT + MARGIN + MARGIN,
    )));
    for (i, task) in waiting.into_iter().enumerate() {
        let cut = task
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("connection {i} was never closed"));
        assert!(
            cut.after <= HEADER_TIMEOUT + MARGIN && cut.after >= HEADER_TIMEOUT / 2,
            "connection {i} was closed after {:?}",
            cut.after
        );
    }
    let health = fresh_http().get(t.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn cleartext_http2_is_refused_and_holds_no_slot() {
    // Every slot but one would go to clients that only answer pings, were
    // h2c served: the gateway speaks HTTP/1.1 only, and closes at once.
    let t = TestApp::spawn_with(|c| {
        c.header_read_timeout = HEADER_TIMEOUT;
        c.max_connections = 3;
    })
    .await;
    // The preface, then an empty SETTINGS frame, as an h2c client opens.
    let mut opening = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    opening.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let mut held = Vec::new();
    for i in 0..6 {
        let mut stream = TcpStream::connect(t.app.addr).await.unwrap();
        stream.write_all(&opening).await.unwrap();
        let closed = closed_within(&mut stream, MARGIN)
            .await
            .unwrap_or_else(|| panic!("h2c connection {i} stayed open"));
        assert!(closed < HEADER_TIMEOUT, "refused only after {closed:?}");
        held.push(stream);
    }
    // HTTP/1.1 still answers at once: no slot was kept.
    let started = Instant::now();
    let health = fresh_http().get(t.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(started.elapsed() < MARGIN);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let t = TestApp::spawn_with(|c| c.header_read_timeout = HEADER_TIMEOUT).await;
    let mut stream = TcpStream::connect(t.app.addr).await.unwrap();
    // Two calls on one connection: it is kept alive...
    for _ in 0..2 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let (status, head, body) = read_answer(&mut stream).await;
        assert_eq!(status, 200, "{head}");
        assert_eq!(body, b"ok");
    }
    // ...and closed once it has been idle for the header timeout.
    let idle = closed_within(&mut stream, HEADER_TIMEOUT + MARGIN)
        .await
        .expect("the idle connection was never closed");
    assert!(idle >= HEADER_TIMEOUT / 2, "closed after only {idle:?}");
}

/// Send `request` and read what comes back until the server closes or `wait` passes.
async fn exchange(
    addr: std::net::SocketAddr,
    request: &[u8],
    wait: Duration,
) -> (String, Option<Duration>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let start = Instant::now();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(wait, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return start.elapsed(),
                Ok(n) => data.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok();
    (String::from_utf8_lossy(&data).into_owned(), closed)
}

fn status_and_json(answer: &str) -> (u16, Value) {
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.into())),
    )
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_408_with_the_contract_body_wherever_it_is_read() {
    let t = TestApp::spawn_with(|c| c.body_read_timeout = Duration::from_secs(1)).await;
    let token = t.app.sandbox_admin_token.clone().unwrap();
    // The API's JSON bodies are covered in `contract`; here: the demo's
    // form, and the embedded sandbox's admin endpoint.
    for request in [
        "POST /demo/start HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\ndoc_type=PA".to_owned(),
        format!("PUT /sandbox/admin/faults HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"tok"),
    ] {
        let (answer, closed) = exchange(t.app.addr, request.as_bytes(), MARGIN + MARGIN).await;
        let (status, body) = status_and_json(&answer);
        assert_error(status, &body, 408, "request_timeout");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
        assert!(closed.is_some(), "the connection stayed open after the 408");
    }
}

#[tokio::test]
async fn a_content_length_over_the_limit_is_413_before_the_body_even_when_the_client_expects_100_continue(
) {
    let t = TestApp::spawn().await;
    let request = format!(
        "POST /api/digilocker HTTP/1.1\r\nhost: x\r\nx-client-id: {}\r\nx-client-secret: {}\r\nx-product-instance-id: {}\r\n\
         content-type: application/json\r\ncontent-length: 10000000\r\nexpect: 100-continue\r\n\r\n",
        t.creds.id, t.creds.secret, t.creds.instance
    );
    let (answer, _) = exchange(t.app.addr, request.as_bytes(), Duration::from_secs(10)).await;
    // No "100 Continue" invites the body: the refusal is the first answer.
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let (status, body) = status_and_json(&answer);
    assert_error(status, &body, 413, "payload_too_large");
}

#[tokio::test]
async fn connections_over_the_cap_wait_and_are_served_once_others_close() {
    let t = TestApp::spawn_with(|c| {
        c.max_connections = 3;
        c.header_read_timeout = Duration::from_secs(60);
        // Nothing of the app's own (the catalogue crawl) takes a slot.
        c.background_tasks = false;
    })
    .await;
    let mut holders = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(t.app.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        holders.push(s);
    }
    let url = t.url("/healthz");
    let mut waiting =
        tokio::spawn(async move { fresh_http().get(url).send().await.map(|r| r.status()) });
    // The fourth connection is not served while the three are open.
    assert!(
        tokio::time::timeout(Duration::from_secs(2), &mut waiting)
            .await
            .is_err(),
        "a connection over the cap was served"
    );
    drop(holders.pop());
    let status = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the waiting connection was not served after a slot freed")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_embedded_sandbox_admin_endpoints_need_the_admin_token() {
    let t = TestApp::spawn().await;
    let token = t.app.sandbox_admin_token.clone().unwrap();
    let path = t.dir.path().join("sandbox-admin-token");
    assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), token);
    assert_eq!(mode(&path), 0o600);
    let http = &t.http;
    for auth in [None, Some("Bearer nope".to_owned()), Some(token.clone())] {
        let with = |rb: reqwest::RequestBuilder| match &auth {
            Some(a) => rb.header("authorization", a),
            None => rb,
        };
        let get = with(http.get(t.url("/sandbox/admin/faults")))
            .send()
            .await
            .unwrap();
        let put = with(http.put(t.url("/sandbox/admin/faults")))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let want = if auth.as_deref() == Some(&format!("Bearer {token}")) {
            200
        } else {
            401
        };
        assert_eq!(get.status(), want, "GET with {auth:?}");
        assert_eq!(put.status(), want, "PUT with {auth:?}");
    }
    // The harness's helper sends it.
    t.faults(json!({})).await;
}

/// The demo client's credentials.
fn demo_creds(t: &TestApp) -> Creds {
    let c = t.app.state.demo_client.as_ref().unwrap();
    Creds {
        id: c.client_id.clone(),
        secret: c.client_secret.clone(),
        instance: c.product_instance_id.clone(),
    }
}

/// Walk the demo in `browser` from its home page to its done page; the
/// request id and the done page.
async fn demo_journey(t: &TestApp, browser: &Browser) -> (String, String) {
    let home = browser.get(&t.url("/demo")).await;
    let signin = browser
        .submit(&home, Some("/demo/start"), &[], &t.base)
        .await;
    let c = crate::harness::happy_citizen();
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
    let done = browser
        .submit(&consent, None, &[("decision", "allow")], &t.base)
        .await;
    assert!(done.url.contains("/demo/done"), "{}", done.url);
    let doc = scraper::Html::parse_document(&done.body);
    let sel = scraper::Selector::parse("#request-id").unwrap();
    let id = doc
        .select(&sel)
        .next()
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .unwrap_or_default();
    assert!(!id.is_empty(), "{}", done.body);
    (id, done.body)
}

#[tokio::test]
async fn the_demo_shows_a_request_only_to_the_browser_that_started_it() {
    let t = TestApp::spawn().await;
    // Another client's request, consented: the demo must show nothing of it.
    let (theirs, _) = t.authenticated().await;
    let (_, status) = t
        .get(&format!("/api/digilocker/{theirs}/status"), &t.creds)
        .await;
    let their_details = status["digilockerUserDetails"]["digilockerId"]
        .as_str()
        .unwrap()
        .to_owned();
    // The demo's own request, started in this browser: shown to it.
    let browser = Browser::new();
    let (ours, own) = demo_journey(&t, &browser).await;
    assert!(own.contains("Consent given"), "{own}");
    assert!(
        own.contains(&their_details),
        "the demo's own request shows its details"
    );
    let done = |b: &Browser, id: &str| {
        let url = t.url(&format!(
            "/demo/done?success=True&id={id}&scope=ADHAR+PANCR"
        ));
        let b = b.http.clone();
        async move { b.get(url).send().await.unwrap().text().await.unwrap() }
    };
    // Another client's request, in this browser; the demo's own request, in
    // another browser (or a link passed on): nothing of either.
    let stranger = Browser::new();
    for (who, page) in [
        ("another client's request", done(&browser, &theirs).await),
        ("another browser", done(&stranger, &ours).await),
        ("no session at all", done(&Browser::new(), &ours).await),
    ] {
        assert!(page.contains("No such request"), "{who}: {page}");
        for leaked in [
            theirs.as_str(),
            their_details.as_str(),
            "authenticated",
            "ADHAR",
            "fetch-aadhaar",
        ] {
            assert!(
                !page.contains(leaked),
                "{who}: the demo page shows {leaked:?}: {page}"
            );
        }
    }
    for path in ["/demo/aadhaar", "/demo/fetch", "/demo/events"] {
        for (who, b, id) in [
            ("another client's request", &browser, theirs.as_str()),
            ("another browser", &stranger, ours.as_str()),
        ] {
            let form = [
                ("id", id),
                ("docType", "PANCR"),
                ("orgId", "004885"),
                ("param_panno", "ABCDE1234F"),
            ];
            let req = if path == "/demo/events" {
                b.http.get(t.url(&format!("{path}?id={id}")))
            } else {
                b.http.post(t.url(path)).form(&form)
            };
            let page = req.send().await.unwrap().text().await.unwrap();
            for leaked in [
                their_details.as_str(),
                "/files/",
                "\"verified\"",
                "digilocker.request",
            ] {
                assert!(
                    !page.contains(leaked),
                    "{who} {path} shows {leaked:?}: {page}"
                );
            }
        }
    }
    // The same form for the demo's own request, in its browser, does show
    // the Aadhaar data.
    let own = browser
        .http
        .post(t.url("/demo/aadhaar"))
        .form(&[("id", ours.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Compared as text, whichever way the template escapes the quotes.
    let text: String = scraper::Html::parse_document(&own)
        .root_element()
        .text()
        .collect();
    assert!(text.contains("\"verified\""), "{own}");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

/// Every path under `dir` with a mode other than 0700 (directories) or
/// 0600 (files), and how many files there are.
fn loose_paths(dir: &Path) -> (Vec<String>, Vec<PathBuf>) {
    let mut loose = Vec::new();
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        if mode(&p) != want {
            loose.push(format!("{} is {:o}", p.display(), mode(&p)));
        }
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            files.push(p);
        }
    }
    (loose, files)
}

#[tokio::test]
async fn the_data_directory_is_owner_only_and_so_is_every_file_in_it() {
    // A fresh directory of its own, with the sandbox CA inside it.
    let t = TestApp::spawn_with(|c| c.sandbox_dir = None).await;
    let dir = t.dir.path().to_owned();
    // A whole journey and the e-Aadhaar fetched (its XML is stored as a
    // file): the database and its WAL are written.
    let (id, _) = t.authenticated().await;
    let (status, body) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_eq!(status, 200, "{body}");
    let (loose, files) = loose_paths(&dir);
    assert!(loose.is_empty(), "not owner-only: {loose:#?}");
    let names: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
        .collect();
    for want in [
        "master.key",
        "sandbox-credentials.json",
        "sandbox-headers.txt",
        "sandbox-admin-token",
        "sandbox/root.pem",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    if !on_postgres() {
        assert!(
            names.iter().any(|n| n == "gateway.sqlite-wal"),
            "no WAL written: {names:?}"
        );
    }
    // The headers file is what `curl -H @file` reads.
    let demo = demo_creds(&t);
    let headers = std::fs::read_to_string(dir.join("sandbox-headers.txt")).unwrap();
    assert_eq!(
        headers,
        format!(
            "x-client-id: {}\nx-client-secret: {}\nx-product-instance-id: {}\n",
            demo.id, demo.secret, demo.instance
        )
    );

    // A data directory left loose by an older release is tightened on start.
    let database_url = t.app.state.config.database_url.clone();
    let TestApp {
        app, dir: tmp, pg, ..
    } = t;
    app.stop().await;
    {
        use std::os::unix::fs::PermissionsExt;
        let mut stack = vec![dir.clone()];
        while let Some(p) = stack.pop() {
            let loose = if p.is_dir() {
                stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                0o755
            } else {
                0o644
            };
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(loose)).unwrap();
        }
        assert!(!loose_paths(&dir).0.is_empty());
    }
    let again = gateway::start(gateway::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.clone(),
        database_url,
        mode: Some(gateway::config::Mode::Sandbox),
        sandbox_catalogue: (60, 240),
        background_tasks: false,
        instance_name: "test".into(),
        ..gateway::Config::default()
    })
    .await
    .unwrap();
    let (loose, _) = loose_paths(&dir);
    assert!(loose.is_empty(), "not tightened on start: {loose:#?}");
    again.stop().await;
    drop((tmp, pg));
}

/// A `digilocker-gateway serve` process and everything it printed.
struct Process {
    child: tokio::process::Child,
    out: Arc<Mutex<Vec<String>>>,
    addr: std::net::SocketAddr,
}

impl Process {
    async fn start(data_dir: &Path, pg: Option<&PgSchema>, env: &[(&str, &str)]) -> Process {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"));
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .env_clear()
            .env("GATEWAY_INSTANCE_NAME", "hostile")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        if let Some(pg) = pg {
            cmd.env("GATEWAY_DATABASE_URL", &pg.url);
            if !env
                .iter()
                .any(|(k, _)| k.starts_with("GATEWAY_DIGILOCKER_"))
            {
                cmd.env("GATEWAY_MODE", "sandbox");
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        use tokio::io::AsyncBufReadExt;
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for stream in [
            Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box::new(stderr),
        ] {
            let out = out.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    out.lock().unwrap().push(line);
                }
            });
        }
        let started = Instant::now();
        let addr = loop {
            let found = out
                .lock()
                .unwrap()
                .iter()
                .find_map(|l| l.trim().strip_prefix("listening on ").map(str::to_owned));
            if let Some(a) = found {
                break a.parse().unwrap();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the gateway exited with {status}: {:#?}",
                    out.lock().unwrap()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "the gateway did not start: {:#?}",
                out.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        Process { child, out, addr }
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().join("\n")
    }

    /// Wait until a printed line holds every one of `words`.
    async fn wait_for_line(&self, words: &[&str], give_up: Duration) -> String {
        let start = Instant::now();
        loop {
            let found = self
                .out
                .lock()
                .unwrap()
                .iter()
                .find(|l| words.iter().all(|w| l.contains(w)))
                .cloned();
            if let Some(line) = found {
                return line;
            }
            assert!(
                start.elapsed() < give_up,
                "no line with {words:?} in the log:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

#[tokio::test]
async fn the_gateway_process_logs_its_cut_offs_and_exits_on_sigterm_within_its_grace_period() {
    let header_timeout = Duration::from_secs(6);
    let grace = Duration::from_secs(1);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let pg = if on_postgres() {
        Some(PgSchema::create().await)
    } else {
        None
    };
    let p = Process::start(
        &data,
        pg.as_ref(),
        &[
            ("GATEWAY_HEADER_READ_TIMEOUT_SECONDS", "6"),
            ("GATEWAY_BODY_READ_TIMEOUT_SECONDS", "1"),
            ("GATEWAY_SHUTDOWN_GRACE_SECONDS", "1"),
        ],
    )
    .await;

    // The banner: where the credentials are, never the secret itself.
    let creds: Value =
        serde_json::from_slice(&std::fs::read(data.join("sandbox-credentials.json")).unwrap())
            .unwrap();
    let secret = creds["clientSecret"].as_str().unwrap();
    let admin_token = std::fs::read_to_string(data.join("sandbox-admin-token")).unwrap();
    let banner = p.output();
    assert!(!banner.contains(secret), "the secret is printed:\n{banner}");
    assert!(
        !banner.contains(admin_token.trim()),
        "the admin token is printed:\n{banner}"
    );
    let headers_file = std::path::absolute(data.join("sandbox-headers.txt")).unwrap();
    let credentials_file = std::path::absolute(data.join("sandbox-credentials.json")).unwrap();
    assert!(
        banner.contains(&format!("cat {}", credentials_file.display())),
        "{banner}"
    );
    assert!(banner.contains("0600"), "{banner}");
    assert!(
        banner.contains(&format!("-H @{}", headers_file.display())),
        "{banner}"
    );
    // The printed curl's header file works.
    let http = fresh_http();
    let mut create = http
        .post(p.url("/api/digilocker"))
        .json(&json!({"redirectUrl": p.url("/demo/done")}));
    for line in std::fs::read_to_string(&headers_file).unwrap().lines() {
        let (name, value) = line.split_once(": ").unwrap();
        create = create.header(name, value);
    }
    assert_eq!(create.send().await.unwrap().status(), 201);

    // Each kind of cut-off leaves its line in the access log.
    let slow: Vec<_> = (0..10)
        .map(|_| {
            tokio::spawn(trickle(
                p.addr,
                b"GET /healthz HTTP/1.1\r\nhost: x\r\n",
                header_timeout + MARGIN + MARGIN,
            ))
        })
        .collect();
    let mut idle = TcpStream::connect(p.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_answer(&mut idle).await.0, 200);
    let (late_body, _) = exchange(
        p.addr,
        format!(
            "POST /api/digilocker HTTP/1.1\r\nhost: x\r\nx-client-id: {}\r\nx-client-secret: {secret}\r\n\
             x-product-instance-id: {}\r\ncontent-length: 100\r\n\r\n{{\"redirect",
            creds["clientId"].as_str().unwrap(),
            creds["productInstanceId"].as_str().unwrap()
        )
        .as_bytes(),
        MARGIN,
    )
    .await;
    assert!(late_body.starts_with("HTTP/1.1 408"), "{late_body}");
    let (too_large, _) = exchange(
        p.addr,
        b"POST /api/digilocker HTTP/1.1\r\nhost: x\r\ncontent-length: 10000000\r\n\r\n",
        MARGIN,
    )
    .await;
    assert!(too_large.starts_with("HTTP/1.1 413"), "{too_large}");
    for task in slow {
        let cut = task
            .await
            .unwrap()
            .expect("a slow connection was never closed");
        assert!(cut.after <= header_timeout + MARGIN, "{:?}", cut.after);
    }
    closed_within(&mut idle, header_timeout + MARGIN)
        .await
        .expect("the idle connection was never closed");
    for cut_off in [
        "header_read_timeout",
        "idle_timeout",
        "body_read_timeout",
        "content_length_over_limit",
    ] {
        p.wait_for_line(&["cut_off", cut_off], MARGIN).await;
    }

    // A hundred stalled connections, all accepted: a call made after them
    // is answered, and the listener accepts in order.
    let mut stalled = Vec::new();
    for _ in 0..100 {
        let mut s = TcpStream::connect(p.addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nho").await.unwrap();
        stalled.push(s);
    }
    assert_eq!(
        http.get(p.url("/healthz")).send().await.unwrap().status(),
        200
    );
    let pid = p.child.id().unwrap();
    let sent = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let mut child = p.child;
    let exit = tokio::time::timeout(grace + MARGIN, child.wait())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the gateway did not exit within {:?} of SIGTERM:\n{}",
                grace + MARGIN,
                p.out.lock().unwrap().join("\n")
            )
        })
        .unwrap();
    let took = sent.elapsed();
    assert!(exit.success(), "exit status {exit}");
    // It waited for the grace period: the stalled clients were still there.
    assert!(took >= grace / 2, "exited after only {took:?}");
    let out = p.out.clone();
    let deadline_line = {
        let start = Instant::now();
        loop {
            let found = out
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains("shutdown_deadline"))
                .cloned();
            if let Some(l) = found {
                break l;
            }
            assert!(
                start.elapsed() < MARGIN,
                "no shutdown_deadline line:\n{}",
                out.lock().unwrap().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let open: usize = deadline_line
        .split("open=")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no open count in {deadline_line}"));
    assert!(
        open >= 100,
        "only {open} connections open at the deadline: {deadline_line}"
    );
    drop(stalled);
    drop(pg);
}

/// Send raw `request` bytes and read the one answer.
async fn raw_answer(addr: std::net::SocketAddr, request: &[u8]) -> (u16, String, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer (and close) before it has read all of it.
    let _ = stream.write_all(request).await;
    let (status, head, body) = read_answer(&mut stream).await;
    let body: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("not JSON: {head} {:?}", String::from_utf8_lossy(&body)));
    (status, head, body)
}

#[tokio::test]
async fn requests_hyper_refuses_before_any_handler_get_the_contract_body_too() {
    let t = TestApp::spawn().await;
    let addr = t.app.addr;
    // 600 headers: over hyper's own ceiling, not only ours.
    let mut many = b"GET /healthz HTTP/1.1\r\nhost: x\r\n".to_vec();
    for i in 0..600 {
        many.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    // One header of a megabyte: over hyper's read buffer.
    let mut large = b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ".to_vec();
    large.extend(std::iter::repeat_n(b'a', 1024 * 1024));
    large.extend_from_slice(b"\r\n\r\n");
    for (what, request) in [("600 headers", many), ("a 1 MB header", large)] {
        let (status, head, body) = raw_answer(addr, &request).await;
        assert_eq!(status, 431, "{what}: {head}");
        assert_eq!(body["error"]["code"], "headers_too_large", "{what}");
        let trace = body["error"]["traceId"].as_str().unwrap();
        assert!(
            head.to_ascii_lowercase()
                .contains(&format!("x-request-id: {trace}")),
            "{head}"
        );
    }
    // A request line hyper cannot read at all.
    let (status, _, body) = raw_answer(addr, b"G@T / HTTP/1.1\r\nhost: x\r\n\r\n").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_payload");
    // And the ordinary answers are untouched.
    let health = fresh_http().get(t.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

/// Run the gateway's command line against this app's database.
pub(crate) async fn gateway_cli(t: &TestApp, args: &[&str]) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"));
    cmd.env_clear()
        .env("GATEWAY_LOG", "warn")
        .arg("--data-dir")
        .arg(t.dir.path());
    if let Some(pg) = &t.pg {
        cmd.arg("--database-url").arg(&pg.url);
    }
    cmd.env("GATEWAY_MODE", t.mode());
    let out = cmd.args(args).output().await.unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn disabling_a_client_or_rotating_its_secret_takes_effect_within_its_stated_bound() {
    let t = TestApp::spawn().await;
    // On PostgreSQL every instance hears the command line's notice at once;
    // on SQLite (one instance) the cache looks again within a second.
    let bound = if on_postgres() {
        Duration::from_millis(500)
    } else {
        Duration::from_millis(1500)
    };
    let c = t.new_client("").await;
    let create = || t.post("/api/digilocker", &c, json!({"redirectUrl": BUSINESS}));
    // Used (so cached) first.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(create().await.0, 201);
    gateway_cli(&t, &["client", "disable", "--yes", &c.id]).await;
    let done = Instant::now();
    loop {
        let (s, b) = create().await;
        if s == 401 {
            assert_error(s, &b, 401, "unauthorized");
            break;
        }
        assert!(
            done.elapsed() < bound,
            "still served {:?} after the disable",
            done.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gateway_cli(&t, &["client", "enable", &c.id]).await;
    let done = Instant::now();
    while create().await.0 != 201 {
        assert!(
            done.elapsed() < bound,
            "not served again {:?} after the enable",
            done.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gateway_cli(&t, &["client", "rotate-secret", &c.id]).await;
    let done = Instant::now();
    while create().await.0 != 401 {
        assert!(
            done.elapsed() < bound,
            "the old secret still worked {:?} after the rotation",
            done.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
