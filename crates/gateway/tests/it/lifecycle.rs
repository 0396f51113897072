//! Expiry and erasure, encryption at rest, file link expiry, start-up rules
//! and the command line.

use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{happy_citizen, TestApp};

async fn fetch_pan(t: &TestApp, id: &str) -> Value {
    let (_, v) = t
        .get("/api/digilocker/documents?docType=PANCR", &t.creds)
        .await;
    let pan = &v["documents"][0];
    // The happy citizen's own PAN: an issuer finds only the holder's record.
    let params = crate::harness::happy_pan_parameters();
    let (s, v) = t
        .post(&format!("/api/digilocker/{id}/document"), &t.creds, json!({"docType": "PANCR", "orgId": pan["orgId"], "format": "pdf", "consent": "Y", "parameters": params}))
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

#[tokio::test]
async fn expired_requests_are_404_and_erased_from_the_database() {
    let t = TestApp::spawn_with(|c| c.request_ttl = Duration::from_secs(600)).await;
    t.wait_catalogue().await;
    let (id, _) = t.authenticated().await;
    let file = fetch_pan(&t, &id).await;
    let file_url = file["fileUrl"].as_str().unwrap().to_owned();
    assert_eq!(t.http.get(&file_url).send().await.unwrap().status(), 200);
    let store = &t.app.state.store;
    assert!(store
        .get_request(&t.creds.id, &id, 0)
        .await
        .unwrap()
        .is_some());
    t.clock.advance(600);
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    crate::harness::assert_error(s, &b, 404, "request_not_found");
    assert_eq!(
        t.http.get(&file_url).send().await.unwrap().status(),
        404,
        "file links die with their request"
    );
    // The sweeper has erased the row, its tokens, details and files.
    for _ in 0..50 {
        if store.erasure_count(&id).await.unwrap() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.erasure_count(&id).await.unwrap(), 1);
    assert!(store
        .get_request(&t.creds.id, &id, 0)
        .await
        .unwrap()
        .is_none());
    // Look at the rows themselves, not through the store's filters.
    let (count_requests, count_files) = (
        "SELECT COUNT(*) FROM requests WHERE id = $1",
        "SELECT COUNT(*) FROM files WHERE request_id = $1",
    );
    let counts: (i64, i64) = match &t.pg {
        Some(pg) => {
            let db = pg.pool().await;
            let (r,): (i64,) = sqlx::query_as(count_requests)
                .bind(&id)
                .fetch_one(&db)
                .await
                .unwrap();
            let (f,): (i64,) = sqlx::query_as(count_files)
                .bind(&id)
                .fetch_one(&db)
                .await
                .unwrap();
            (r, f)
        }
        None => {
            let db = sqlx::SqlitePool::connect(&format!(
                "sqlite://{}",
                t.dir.path().join("gateway.sqlite").display()
            ))
            .await
            .unwrap();
            let (r,): (i64,) = sqlx::query_as(count_requests)
                .bind(&id)
                .fetch_one(&db)
                .await
                .unwrap();
            let (f,): (i64,) = sqlx::query_as(count_files)
                .bind(&id)
                .fetch_one(&db)
                .await
                .unwrap();
            (r, f)
        }
    };
    assert_eq!(counts, (0, 0));
}

#[tokio::test]
async fn file_links_expire_before_their_request() {
    let t = TestApp::spawn_with(|c| c.file_link_ttl = Duration::from_secs(120)).await;
    t.wait_catalogue().await;
    let (id, _) = t.authenticated().await;
    let file = fetch_pan(&t, &id).await;
    let url = file["fileUrl"].as_str().unwrap();
    assert_eq!(t.http.get(url).send().await.unwrap().status(), 200);
    t.clock.advance(100);
    assert_eq!(t.http.get(url).send().await.unwrap().status(), 200);
    t.clock.advance(21);
    assert_eq!(t.http.get(url).send().await.unwrap().status(), 404);
    let (s, _) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(s, 200, "the request itself lives on");
}

#[tokio::test]
async fn tokens_details_and_files_are_encrypted_at_rest() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let (id, _) = t.authenticated().await;
    fetch_pan(&t, &id).await;
    let c = happy_citizen();
    let token = t.stored_token(&id).await;
    let access = token["access_token"].as_str().unwrap();
    assert!(access.len() >= 16);
    let raw = t.raw_storage().await;
    assert!(!raw.is_empty());
    let contains = |needle: &str| raw.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(
        !contains(access),
        "the access token is in the database in clear"
    );
    if let Some(refresh) = token["refresh_token"].as_str() {
        assert!(
            !contains(refresh),
            "the refresh token is in the database in clear"
        );
    }
    assert!(
        !contains(&c.name),
        "the citizen's name is in the database in clear"
    );
    assert!(
        !contains(&c.digilocker_id),
        "the DigiLocker id is in the database in clear"
    );
    assert!(
        !contains(c.mobile.as_deref().unwrap()),
        "the mobile number is in the database in clear"
    );
    assert!(
        !contains("%PDF"),
        "a fetched file is in the database in clear"
    );
    assert!(!contains(c.aadhaar.as_deref().unwrap()));
    // The key file is owner-only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(t.dir.path().join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "master.key must be owner-only, is {mode:o}"
        );
        let mode = std::fs::metadata(t.dir.path().join("sandbox-credentials.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }
}

#[tokio::test]
async fn sandbox_mode_writes_credentials_that_work() {
    let t = TestApp::spawn().await;
    let creds: Value = serde_json::from_slice(
        &std::fs::read(t.dir.path().join("sandbox-credentials.json")).unwrap(),
    )
    .unwrap();
    let c = crate::harness::Creds {
        id: creds["clientId"].as_str().unwrap().into(),
        secret: creds["clientSecret"].as_str().unwrap().into(),
        instance: creds["productInstanceId"].as_str().unwrap().into(),
    };
    let (s, _) = t
        .post(
            "/api/digilocker",
            &c,
            json!({"redirectUrl": crate::harness::BUSINESS}),
        )
        .await;
    assert_eq!(s, 201);
    // The demo page is there in sandbox mode.
    let page = t
        .http
        .get(t.url("/demo"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/demo/start"));
}

#[tokio::test]
async fn outside_sandbox_mode_a_missing_master_key_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = gateway::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_owned(),
        digilocker: Some(gateway::config::DigilockerSettings {
            base_url: "https://digilocker.meripehchaan.gov.in/public"
                .parse()
                .unwrap(),
            client_id: "x".into(),
            client_secret: "y".into(),
        }),
        ..gateway::Config::default()
    };
    let err = gateway::start(config)
        .await
        .err()
        .expect("must refuse to start");
    assert!(format!("{err:#}").contains("GATEWAY_MASTER_KEY"), "{err:#}");
}

/// Run the command line on the data directory's SQLite, or on the
/// PostgreSQL database `db` given through `GATEWAY_DATABASE_URL`.
pub fn cli(dir: &std::path::Path, db: Option<&str>, args: &[&str]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"));
    command
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("GATEWAY_DATABASE_URL")
        .env_remove("DATABASE_URL");
    if let Some(url) = db {
        command.env("GATEWAY_DATABASE_URL", url);
    }
    let out = command.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap()
        .trim()
        .to_owned()
}

#[tokio::test]
async fn the_client_command_line_adds_lists_disables_and_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let pg = if crate::harness::on_postgres() {
        Some(crate::harness::PgSchema::create().await)
    } else {
        None
    };
    let db = pg.as_ref().map(|p| p.url.as_str());
    let (ok, out) = cli(
        dir.path(),
        db,
        &[
            "client",
            "add",
            "--name",
            "Acme Lending",
            "--allowed-origin",
            "https://acme.example",
        ],
    );
    assert!(ok, "{out}");
    let id = field(&out, "x-client-id");
    let secret = field(&out, "x-client-secret");
    let (ok, list) = cli(dir.path(), db, &["client", "list"]);
    assert!(ok, "{list}");
    assert!(
        list.contains(&id) && list.contains("Acme Lending") && list.contains("enabled"),
        "{list}"
    );
    assert!(!list.contains(&secret), "list never shows secrets");
    let (ok, out) = cli(dir.path(), db, &["client", "rotate-secret", &id]);
    assert!(ok, "{out}");
    let new_secret = field(&out, "x-client-secret");
    assert_ne!(new_secret, secret);
    let (ok, _) = cli(dir.path(), db, &["client", "disable", &id]);
    assert!(ok);
    let (_, list) = cli(dir.path(), db, &["client", "list"]);
    assert!(list.contains("disabled"), "{list}");
    let (ok, out) = cli(dir.path(), db, &["client", "disable", "no-such-client"]);
    assert!(!ok && out.contains("no client"), "{out}");
    // The stored hash is of the new secret.
    use gateway::storage::Store;
    let store: Box<dyn Store> = match &pg {
        Some(pg) => {
            assert!(
                !dir.path().join("gateway.sqlite").exists(),
                "the database URL selects PostgreSQL"
            );
            Box::new(gateway::storage::PgStore::open(&pg.url).await.unwrap())
        }
        None => Box::new(
            gateway::storage::SqliteStore::open(&dir.path().join("gateway.sqlite"))
                .await
                .unwrap(),
        ),
    };
    let rec = store.get_client(&id).await.unwrap().unwrap();
    assert!(gateway::crypto::secret_matches(
        &new_secret,
        &rec.secret_hash
    ));
    assert!(!gateway::crypto::secret_matches(&secret, &rec.secret_hash));
    assert_eq!(rec.allowed_origins, "https://acme.example");
}
