//! Failing closed for the operator: a half-configured instance stops, naming
//! what is missing, instead of running the sandbox; a database keeps the
//! mode it served; a start without a key that live data needs is refused
//! with its id, and `keys status` says what needs each key; an error answer
//! is found in the log by its `traceId`, with its code, client and
//! instance; `client disable` says what it erases and asks; webhooks reach
//! an internal `https` receiver behind a private CA.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gateway::config::{DigilockerSettings, DigilockerTable, Mode};
use gateway::crypto::{Keyring, MasterKey};
use gateway::storage::{EventKind, NewEvent, WebhookSettings};
use gateway::Config;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::rustls;

use crate::harness::{on_postgres, PgSchema, TestApp};

fn binary() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"));
    cmd.env_clear()
        .env("GATEWAY_LOG", "info")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// `serve` with `env`, expected to stop at once: its stderr.
async fn refused_start(dir: &std::path::Path, env: &[(&str, &str)]) -> String {
    let out = binary()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .envs(env.iter().copied())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the start was not refused: it kept running")
        .unwrap();
    // EX_CONFIG: the packaged unit does not restart it
    // (RestartPreventExitStatus=78).
    assert_eq!(
        out.status.code(),
        Some(78),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn a_half_configured_production_start_stops_naming_what_is_missing() {
    let key = MasterKey::generate_base64();
    let base = "https://digilocker.meripehchaan.gov.in/public";
    let dir = tempfile::tempdir().unwrap();
    // The client secret empty, as an unset secret-store variable leaves it.
    let err = refused_start(
        dir.path(),
        &[
            ("GATEWAY_MASTER_KEY", &key),
            ("GATEWAY_DIGILOCKER_BASE_URL", base),
            ("GATEWAY_DIGILOCKER_CLIENT_ID", "PARTNER"),
            ("GATEWAY_DIGILOCKER_CLIENT_SECRET", ""),
        ],
    )
    .await;
    assert!(
        err.contains("GATEWAY_DIGILOCKER_CLIENT_SECRET") && !err.contains("CLIENT_ID ("),
        "{err}"
    );
    // Nothing of a sandbox was made: no database, no test client.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // One setting given: the others and the key named.
    let err = refused_start(dir.path(), &[("GATEWAY_DIGILOCKER_CLIENT_ID", "PARTNER")]).await;
    for name in [
        "GATEWAY_DIGILOCKER_BASE_URL",
        "GATEWAY_DIGILOCKER_CLIENT_SECRET",
        "GATEWAY_MASTER_KEY",
    ] {
        assert!(err.contains(name), "{name} not named: {err}");
    }
    // Production asked for with nothing else.
    let err = refused_start(dir.path(), &[("GATEWAY_MODE", "production")]).await;
    assert!(
        err.contains("GATEWAY_DIGILOCKER_BASE_URL") && err.contains("GATEWAY_MASTER_KEY"),
        "{err}"
    );
    // The sandbox asked for beside DigiLocker settings: contradictory.
    let err = refused_start(
        dir.path(),
        &[
            ("GATEWAY_MODE", "sandbox"),
            ("GATEWAY_DIGILOCKER_CLIENT_SECRET", "s3cret"),
        ],
    )
    .await;
    assert!(err.contains("GATEWAY_DIGILOCKER_CLIENT_SECRET"), "{err}");
    assert!(!err.contains("s3cret"), "a secret in an error: {err}");
    // No settings on PostgreSQL: the sandbox only when asked (refused
    // before connecting anywhere).
    let err = refused_start(
        dir.path(),
        &[("GATEWAY_DATABASE_URL", "postgres://127.0.0.1:1/production")],
    )
    .await;
    assert!(err.contains("GATEWAY_MODE=sandbox"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

const KEY_A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const KEY_B: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=";

fn key_id(key: &str) -> String {
    hex::encode(Keyring::new(MasterKey::from_base64(key).unwrap(), vec![]).current_id())
}

/// A production instance (DigiLocker never called: no background tasks) on
/// `dir`'s SQLite or on `pg`.
fn production(dir: &std::path::Path, pg: Option<&PgSchema>, key: &str) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_owned(),
        database_url: pg.map(|pg| pg.url.clone()),
        master_key: Some(key.into()),
        digilocker: Some(DigilockerSettings {
            base_url: "http://127.0.0.1:9/public".parse().unwrap(),
            client_id: "PARTNER".into(),
            client_secret: "partner-secret".into(),
        }),
        digilocker_table: DigilockerTable {
            allow_http: true,
            ..Default::default()
        },
        background_tasks: false,
        instance_name: "failclosed".into(),
        ..Config::default()
    }
}

fn sandbox(dir: &std::path::Path, pg: Option<&PgSchema>) -> Config {
    Config {
        mode: Some(Mode::Sandbox),
        master_key: None,
        digilocker: None,
        digilocker_table: DigilockerTable::default(),
        sandbox_catalogue: (60, 240),
        ..production(dir, pg, KEY_A)
    }
}

async fn start_error(config: Config) -> String {
    match gateway::start(config).await {
        Ok(app) => {
            app.stop().await;
            panic!("the start was not refused")
        }
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn a_database_keeps_the_mode_it_served() {
    let pg = |yes: bool| async move {
        if yes {
            Some(PgSchema::create().await)
        } else {
            None
        }
    };
    // Production first: never the sandbox on it afterwards.
    let dir = tempfile::tempdir().unwrap();
    let db = pg(on_postgres()).await;
    gateway::start(production(dir.path(), db.as_ref(), KEY_A))
        .await
        .unwrap()
        .stop()
        .await;
    let err = start_error(sandbox(dir.path(), db.as_ref())).await;
    assert!(err.contains("has served production since"), "{err}");
    assert!(
        !dir.path()
            .join(gateway::sandbox_mode::CREDENTIALS_FILE)
            .exists(),
        "a sandbox client was made"
    );
    // It still starts in production.
    gateway::start(production(dir.path(), db.as_ref(), KEY_A))
        .await
        .unwrap()
        .stop()
        .await;
    // The sandbox first: its test data never becomes production's.
    let dir = tempfile::tempdir().unwrap();
    let db = pg(on_postgres()).await;
    gateway::start(sandbox(dir.path(), db.as_ref()))
        .await
        .unwrap()
        .stop()
        .await;
    let err = start_error(production(dir.path(), db.as_ref(), KEY_A)).await;
    assert!(err.contains("has served the sandbox since"), "{err}");
}

#[tokio::test]
async fn a_key_live_data_needs_cannot_be_removed_and_keys_status_says_until_when() {
    let dir = tempfile::tempdir().unwrap();
    let pg = if on_postgres() {
        Some(PgSchema::create().await)
    } else {
        None
    };
    let app = gateway::start(production(dir.path(), pg.as_ref(), KEY_A))
        .await
        .unwrap();
    let store = app.state.store.clone();
    let client = "cl_keys";
    store
        .insert_client(&gateway::storage::ClientRecord {
            client_id: client.into(),
            secret_hash: gateway::crypto::hash_secret("secret"),
            product_instance_id: "instance".into(),
            name: "keys".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let sealed = gateway::webhooks::signing::SigningKey::generate()
        .seal(&app.state.keys, client)
        .unwrap();
    store
        .set_client_webhook(
            client,
            &WebhookSettings {
                url: Some("https://hooks.example.com/kyc".into()),
                secret: Some(sealed),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let created: Value = reqwest::Client::new()
        .post(format!("{}/api/digilocker", app.base_url()))
        .header("x-client-id", client)
        .header("x-client-secret", "secret")
        .header("x-product-instance-id", "instance")
        .json(&json!({"redirectUrl": "https://business.example.com/done"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(created["id"].is_string(), "{created}");
    app.stop().await;

    // Key A removed while a live request and a webhook secret need it.
    let (a, b) = (key_id(KEY_A), key_id(KEY_B));
    let err = start_error(production(dir.path(), pg.as_ref(), KEY_B)).await;
    assert!(
        err.contains(&format!("key id {a}"))
            && err.contains("1 requests")
            && err.contains("1 webhook secrets")
            && err.contains("GATEWAY_OLD_MASTER_KEYS"),
        "{err}"
    );
    // Kept as an old key: the start re-seals the webhook secret under B;
    // the request needs A until it expires.
    let mut config = production(dir.path(), pg.as_ref(), KEY_B);
    config.old_master_keys = vec![KEY_A.into()];
    let app = gateway::start(config).await.unwrap();
    let now = app.state.now();
    let needs = gateway::keys::status(app.state.store.as_ref(), &app.state.keys, now)
        .await
        .unwrap();
    let of = |id: &str| needs.iter().find(|k| k.key_id == id).unwrap().clone();
    assert_eq!(of(&b).configured, "current");
    assert_eq!(
        of(&b)
            .uses
            .iter()
            .map(|u| (u.kind.as_str(), u.count))
            .collect::<Vec<_>>(),
        [("webhook secrets", 1)]
    );
    assert_eq!(of(&a).configured, "old");
    let request_use = of(&a).uses;
    assert_eq!(request_use.len(), 1, "{request_use:?}");
    assert_eq!(
        (request_use[0].kind.as_str(), request_use[0].count),
        ("requests", 1)
    );
    let until = request_use[0].until.unwrap();
    assert!(until > now && until <= now + 3600, "{until} {now}");
    // The webhook still signs (its secret opens under B alone).
    let record = app.state.store.get_client(client).await.unwrap().unwrap();
    let only_b = Keyring::new(MasterKey::from_base64(KEY_B).unwrap(), vec![]);
    gateway::webhooks::signing::SigningKey::open(
        &only_b,
        client,
        record.webhook_secret.as_deref().unwrap(),
    )
    .unwrap();
    // After the request's lifetime, A is needed by nothing.
    let later = gateway::keys::status(app.state.store.as_ref(), &app.state.keys, until + 1)
        .await
        .unwrap();
    let a_later = later.iter().find(|k| k.key_id == a).unwrap();
    assert!(a_later.uses.is_empty(), "{a_later:?}");
    assert!(gateway::keys::status_text(&later, until + 1)
        .contains(&format!("key {a} (old): no longer needed: can be removed")));
    app.stop().await;

    // The command, as the operator runs it.
    let mut cmd = binary();
    cmd.arg("--data-dir").arg(dir.path());
    if let Some(pg) = &pg {
        cmd.arg("--database-url").arg(&pg.url);
    }
    let out = cmd
        .args(["keys", "status"])
        .env("GATEWAY_MASTER_KEY", KEY_B)
        .env("GATEWAY_OLD_MASTER_KEYS", KEY_A)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("key {b} (current)"))
            && text.contains(&format!("key {a} (old): needed until"))
            && text.contains("requests"),
        "{text}"
    );
    assert!(
        !text.contains(KEY_A) && !text.contains(KEY_B),
        "a key printed"
    );
}

/// Lines a process printed on stdout, as they come.
fn collect(stdout: tokio::process::ChildStdout) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    tokio::spawn(async move {
        let mut reader = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

async fn wait_line(lines: &Mutex<Vec<String>>, pred: impl Fn(&str) -> bool) -> String {
    for _ in 0..600 {
        if let Some(l) = lines.lock().unwrap().iter().find(|l| pred(l)) {
            return l.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no such line in: {:#?}", lines.lock().unwrap());
}

#[tokio::test]
async fn a_trace_id_finds_its_log_line_with_the_code_client_and_instance() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = binary()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("GATEWAY_LOG_FORMAT", "json")
        .env("GATEWAY_INSTANCE_NAME", "explain-1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = collect(child.stdout.take().unwrap());
    let started = wait_line(&lines, |l| l.contains("gateway started")).await;
    let started: Value = serde_json::from_str(&started).unwrap();
    let fields = &started["fields"];
    assert_eq!(fields["mode"], "sandbox");
    assert_eq!(fields["instance"], "explain-1");
    assert_eq!(fields["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(fields["database"], "sqlite");
    let base = format!("http://{}", fields["listen"].as_str().unwrap());
    let creds: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(gateway::sandbox_mode::CREDENTIALS_FILE)).unwrap(),
    )
    .unwrap();
    let client_id = creds["clientId"].as_str().unwrap();
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{base}/api/digilocker"))
        .header("x-client-id", client_id)
        .header("x-client-secret", creds["clientSecret"].as_str().unwrap())
        .header(
            "x-product-instance-id",
            creds["productInstanceId"].as_str().unwrap(),
        )
        .json(&json!({"redirectUrl": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    let code = body["error"]["code"].as_str().unwrap().to_owned();
    let trace = body["error"]["traceId"].as_str().unwrap().to_owned();
    // One grep for the trace id finds the access line, with everything.
    let line = wait_line(&lines, |l| l.contains(&trace) && l.contains("served")).await;
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["fields"]["status"], 400, "{line}");
    assert_eq!(v["fields"]["code"], code.as_str(), "{line}");
    assert_eq!(v["fields"]["instance"], "explain-1", "{line}");
    assert_eq!(v["span"]["client_id"], client_id, "{line}");
    assert_eq!(v["span"]["trace_id"], trace.as_str(), "{line}");
    // Unauthenticated: the code says which credential problem it was.
    let answer = http
        .get(format!("{base}/api/digilocker/documents"))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap();
    let trace = body["error"]["traceId"].as_str().unwrap().to_owned();
    let line = wait_line(&lines, |l| l.contains(&trace) && l.contains("served")).await;
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["fields"]["status"], status, "{line}");
    assert_eq!(v["fields"]["code"], body["error"]["code"], "{line}");
    // A success carries no code.
    let ok = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    // Every line is JSON: no plain-text banner in the stream.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for l in lines.lock().unwrap().iter() {
        assert!(serde_json::from_str::<Value>(l).is_ok(), "not JSON: {l}");
    }
    child.kill().await.unwrap();
}

#[tokio::test]
async fn client_disable_says_how_many_live_requests_it_erases_and_asks_first() {
    let t = TestApp::spawn().await;
    let id = t.create().await["id"].as_str().unwrap().to_owned();
    let run = |args: Vec<String>| {
        let mut cmd = binary();
        cmd.env("GATEWAY_LOG", "warn")
            .arg("--data-dir")
            .arg(t.dir.path());
        if let Some(pg) = &t.pg {
            cmd.arg("--database-url").arg(&pg.url);
        }
        cmd.env("GATEWAY_MODE", t.mode());
        cmd.args(args);
        async move { cmd.output().await.unwrap() }
    };
    let client = t.creds.id.clone();
    // Not a terminal and no --yes: refused, nothing erased.
    let out = run(vec!["client".into(), "disable".into(), client.clone()]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("1 live request(s)") && err.contains("--yes"),
        "{err}"
    );
    let (status, _) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(status, 200, "the refused disable changed something");
    // With --yes: disabled, and it says what went.
    let out = run(vec![
        "client".into(),
        "disable".into(),
        "--yes".into(),
        client.clone(),
    ])
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1 live request(s) erased"), "{text}");
    assert_eq!(
        t.app
            .state
            .store
            .count_client_live_requests(&client)
            .await
            .unwrap(),
        0
    );
    // A client with nothing live is disabled without a question.
    let other = t.new_client("").await;
    let out = run(vec!["client".into(), "disable".into(), other.id.clone()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (PEM) and a certificate for 127.0.0.1 it issued, with its key.
fn private_pki() -> (String, rustls::ServerConfig) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "Internal CA for webhooks");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &Issuer::from_params(&ca, &ca_key))
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    (ca_cert.pem(), config)
}

/// An internal `https` receiver: answers 204 to every request, and keeps
/// the bodies it got.
async fn tls_receiver(config: rustls::ServerConfig) -> (u16, Arc<Mutex<Vec<String>>>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, sink) = (acceptor.clone(), sink.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // Headers, then the body by its Content-Length.
                loop {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            sink.lock().unwrap().push(text);
                            break;
                        }
                    }
                }
                let _ = tls
                    .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, got)
}

/// A production instance whose client's webhook is an internal `https`
/// receiver, with private targets allowed and `ca_file` as given; an event
/// recorded for it.
async fn deliver_to_internal_https(ca_file: Option<std::path::PathBuf>, port: u16) -> TestApp {
    let t = TestApp::spawn_with(move |c| {
        c.master_key = Some(KEY_A.into());
        c.digilocker = Some(DigilockerSettings {
            base_url: "http://127.0.0.1:9/public".parse().unwrap(),
            client_id: "PARTNER".into(),
            client_secret: "partner-secret".into(),
        });
        c.digilocker_table.allow_http = true;
        c.webhooks.allow_private_targets = true;
        c.webhooks.ca_file = ca_file;
        c.webhooks.retry_schedule = vec![Duration::from_secs(1); 8];
        c.webhooks.poll_interval = Duration::from_millis(100);
    })
    .await;
    let store = &t.app.state.store;
    let sealed = gateway::webhooks::signing::SigningKey::generate()
        .seal(&t.app.state.keys, &t.creds.id)
        .unwrap();
    store
        .set_client_webhook(
            &t.creds.id,
            &WebhookSettings {
                url: Some(format!("https://127.0.0.1:{port}/hooks/kyc")),
                secret: Some(sealed),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let event = NewEvent::new(EventKind::Revoked, json!({}), t.app.state.now());
    store
        .record_event(&uuid::Uuid::new_v4().to_string(), &t.creds.id, &event)
        .await
        .unwrap();
    t
}

#[tokio::test]
async fn a_webhook_reaches_an_internal_https_receiver_behind_a_private_ca() {
    let (ca_pem, server) = private_pki();
    let (port, got) = tls_receiver(server).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("internal-ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();

    // Without the CA: the receiver's certificate is not trusted, the
    // delivery waits for a retry with the TLS error recorded.
    let t = deliver_to_internal_https(None, port).await;
    let mut error = None;
    for _ in 0..100 {
        let d = t
            .app
            .state
            .store
            .list_deliveries(&t.creds.id, 10)
            .await
            .unwrap();
        if let Some(d) = d.into_iter().find(|d| d.attempts >= 1) {
            error = d.last_error;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let error = error.expect("no attempt recorded");
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    assert!(got.lock().unwrap().is_empty());
    drop(t);

    // With `[webhooks] ca_file`: delivered.
    let t = deliver_to_internal_https(Some(ca_file.clone()), port).await;
    for _ in 0..100 {
        if !got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = got.lock().unwrap().first().cloned().expect("not delivered");
    assert!(
        first.starts_with("POST /hooks/kyc") && first.contains("digilocker.request.revoked"),
        "{first}"
    );
    drop(t);

    // A CA file that is not one stops the start, naming the setting.
    let bad = dir.path().join("not-a-ca.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let mut config = production(dir.path(), None, KEY_A);
    config.webhooks.ca_file = Some(bad);
    let err = start_error(config).await;
    assert!(err.contains("GATEWAY_WEBHOOK_CA_FILE"), "{err}");
}

/// The rotation's third step as docs/production.md writes it: the old key
/// is said to be needed while a request made with it lives, and free to
/// remove once it has expired; then a start without it is accepted.
#[tokio::test]
async fn the_documented_rotation_check_says_when_the_old_key_can_go() {
    let t = TestApp::spawn_with(|c| {
        c.master_key = Some(KEY_A.into());
        c.request_ttl = Duration::from_secs(3);
    })
    .await;
    t.create().await;
    let valid_upto = t.app.state.now() + 3;
    // Step 2: an instance starts with the new key current (it re-seals the
    // webhook secrets, here the demo client's).
    let step2 = Keyring::new(
        MasterKey::from_base64(KEY_B).unwrap(),
        vec![MasterKey::from_base64(KEY_A).unwrap()],
    );
    let resealed =
        gateway::keys::check_and_reseal(t.app.state.store.as_ref(), &step2, t.app.state.now())
            .await
            .unwrap();
    assert!(resealed >= 1, "nothing re-sealed");
    let db = t.pg.as_ref().map(|pg| pg.url.clone()).unwrap_or_default();
    let data_dir = t.dir.path().display().to_string();
    let mut env = vec![
        ("GATEWAY_DATA_DIR", data_dir.as_str()),
        ("GATEWAY_MODE", t.mode()),
        ("GATEWAY_MASTER_KEY", KEY_B),
        ("GATEWAY_OLD_MASTER_KEYS", KEY_A),
    ];
    if t.pg.is_some() {
        env.push(("GATEWAY_DATABASE_URL", &db));
    }
    let run = || crate::backup::run_documented("rotation-test: old-keys", &env);
    let a = key_id(KEY_A);
    let (ok, text) = run().await;
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("key {a} (old): needed until")),
        "{text}"
    );
    // Past the request's lifetime (the command reads the real clock).
    while time::OffsetDateTime::now_utc().unix_timestamp() <= valid_upto {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (ok, text) = run().await;
    assert!(
        ok && text.contains(&format!("key {a} (old): no longer needed: can be removed")),
        "{text}"
    );
}
