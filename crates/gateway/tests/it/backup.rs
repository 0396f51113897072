//! Backups both ways, with the commands of `docs/production.md` ("Backups
//! and restore") run as written: a backup taken while requests keep being
//! created, restored into a fresh data directory (SQLite) or a fresh
//! database (PostgreSQL); every request acknowledged before the backup
//! began is there and readable, and an event pending at backup time is
//! delivered by the restored gateway with its event id.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gateway::Config;
use serde_json::json;

use crate::harness::{happy_citizen, on_postgres, pg_base_url, TestApp, BUSINESS};
use crate::webhooks::{event_id, quick, Receiver};

/// The code block of `docs/production.md` after the comment `<!-- {tag} -->`
/// (at the margin, or indented in a list and then taken without its
/// indentation).
pub fn doc_block(tag: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/production.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let marker = format!("<!-- {tag} -->\n");
    let at = doc
        .find(&marker)
        .unwrap_or_else(|| panic!("docs/production.md has no `<!-- {tag} -->`"));
    let rest = doc[at + marker.len()..].trim_start_matches('\n');
    let indent = rest.len() - rest.trim_start_matches(' ').len();
    let body = rest[indent..]
        .strip_prefix("```sh\n")
        .or_else(|| rest[indent..].strip_prefix("```sql\n"))
        .unwrap_or_else(|| panic!("no code block right after `<!-- {tag} -->`"));
    body[..body.find("```").unwrap()]
        .lines()
        .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Run the documented shell block `tag` with bash, `digilocker-gateway` on
/// the PATH and nothing of the test's environment but `env`.
pub async fn run_documented(tag: &str, env: &[(&str, &str)]) -> (bool, String) {
    let code = doc_block(tag);
    let bin = Path::new(env!("CARGO_BIN_EXE_digilocker-gateway"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &code])
        .env_clear()
        .env("PATH", path)
        .env("GATEWAY_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        format!(
            "$ {code}{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A PostgreSQL database of its own for one test (`pg_dump` takes a whole
/// database), dropped at the end.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(prefix: &str, owner: Option<&str>) -> PgDatabase {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&pg_base_url()).await.unwrap();
        let owner = owner.map(|o| format!(" OWNER {o}")).unwrap_or_default();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name}{owner}"
        )))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
        let url = with_database(&pg_base_url(), &name);
        PgDatabase { name, url }
    }

    /// Drop it now (as dropping the value does).
    pub async fn drop_now(self) {
        drop(self);
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        crate::harness::pg_admin_blocking(&[format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )]);
    }
}

/// A login role (not a superuser) for one test, dropped on drop (after
/// whatever it owns).
pub struct PgRole {
    pub name: String,
}

impl PgRole {
    pub async fn create(prefix: &str) -> PgRole {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&pg_base_url()).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE ROLE {name} LOGIN PASSWORD 'CHANGE-ME'"
        )))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
        PgRole { name }
    }

    /// The URL of `database` as this role.
    pub fn url(&self, database: &str) -> String {
        as_user(&with_database(&pg_base_url(), database), &self.name)
    }
}

impl Drop for PgRole {
    fn drop(&mut self) {
        crate::harness::pg_admin_blocking(&[format!("DROP ROLE IF EXISTS {}", self.name)]);
    }
}

/// `url` as `user` (trust authentication on the test server; the password
/// is what a real deployment would send).
pub fn as_user(url: &str, user: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.set_username(user).unwrap();
    u.set_password(Some("CHANGE-ME")).unwrap();
    u.to_string()
}

/// `url` with its database replaced (and its query dropped).
pub fn with_database(url: &str, database: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.set_path(&format!("/{database}"));
    u.set_query(None);
    u.to_string()
}

/// Requests created one after the other until stopped, each with the
/// moment its `201` arrived.
struct Load {
    acked: Arc<Mutex<Vec<(String, Instant)>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    fn start(t: &TestApp) -> Load {
        let acked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (http, url, creds) = (t.http.clone(), t.url("/api/digilocker"), t.creds.clone());
        let (a, s) = (acked.clone(), stop.clone());
        let task = tokio::spawn(async move {
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                let resp = http
                    .post(&url)
                    .header("x-client-id", &creds.id)
                    .header("x-client-secret", &creds.secret)
                    .header("x-product-instance-id", &creds.instance)
                    .json(&json!({"redirectUrl": BUSINESS}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 201);
                let v: serde_json::Value = resp.json().await.unwrap();
                let id = v["id"].as_str().unwrap().to_owned();
                a.lock().unwrap().push((id, Instant::now()));
            }
        });
        Load { acked, stop, task }
    }

    /// Wait until at least `n` creates were acknowledged (a loaded machine
    /// may take longer than usual for the first ones).
    async fn until_acked(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.acked.lock().unwrap().len() < n {
            assert!(
                Instant::now() < deadline,
                "fewer than {n} creates acknowledged in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) -> Vec<(String, Instant)> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.task.await.unwrap();
        let acked = self.acked.lock().unwrap().clone();
        acked
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_every_acknowledged_request_and_redelivers_pending_events() {
    let source_db = if on_postgres() {
        Some(PgDatabase::create("gwbackup", None).await)
    } else {
        None
    };
    let source_url = source_db.as_ref().map(|d| d.url.clone());
    let slow_retries = |c: &mut Config| {
        quick(c);
        // Retried all through the test while the receiver is down.
        c.webhooks.retry_schedule = vec![Duration::from_secs(1); 1000];
    };
    let t = TestApp::spawn_with(|c| {
        slow_retries(c);
        if let Some(url) = &source_url {
            c.database_url = Some(url.clone());
        }
    })
    .await;
    let master_key = std::fs::read_to_string(t.dir.path().join("master.key")).unwrap();
    let mut receiver = Receiver::start().await;
    let state = &t.app.state;
    gateway::webhooks::configure(
        state.store.as_ref(),
        &state.keys,
        gateway::webhooks::Targets::from_config(&state.config),
        &t.creds.id,
        gateway::webhooks::Change::Set {
            url: Some(receiver.url()),
            rotate: false,
        },
        state.now(),
    )
    .await
    .unwrap();
    receiver.stop().await;
    // Consented while the receiver is down: its event stays pending.
    let (consented, _) = t.authenticated().await;
    let pending_event = event_id(&t, &consented, "consent_given").await;
    let deliveries = state.store.list_deliveries(&t.creds.id, 10).await.unwrap();
    assert!(
        deliveries
            .iter()
            .any(|d| d.event_id == pending_event && d.state == "pending"),
        "{deliveries:?}"
    );

    let load = Load::start(&t);
    load.until_acked(3).await;
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("gateway.backup");
    let backup_str = backup.to_str().unwrap();
    let began = Instant::now();
    let (ok, out) = match &source_url {
        None => {
            run_documented(
                "restore-test: sqlite-backup",
                &[
                    ("GATEWAY_DATA_DIR", t.dir.path().to_str().unwrap()),
                    ("BACKUP", backup_str),
                ],
            )
            .await
        }
        Some(url) => {
            run_documented(
                "restore-test: postgres-backup",
                &[("GATEWAY_DATABASE_URL", url), ("BACKUP", backup_str)],
            )
            .await
        }
    };
    let ended = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let acked = load.stop().await;
    assert!(ok, "the backup failed:\n{out}");
    if source_url.is_none() {
        assert!(
            out.contains("backed up") && out.contains("same master key"),
            "{out}"
        );
    }
    let before: Vec<&String> = acked
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(id, _)| id)
        .collect();
    let during = acked
        .iter()
        .filter(|(_, at)| *at >= began && *at <= ended)
        .count();
    assert!(before.len() >= 3, "too few requests before the backup");
    assert!(
        during >= 1,
        "no request was acknowledged while the backup ran"
    );

    if source_url.is_none() {
        // A sound database, taken while writes went on.
        let copy = sqlx::SqlitePool::connect(&format!("sqlite://{backup_str}?mode=ro"))
            .await
            .unwrap();
        let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check")
            .fetch_one(&copy)
            .await
            .unwrap();
        assert_eq!(check, "ok");
        copy.close().await;
        // Owner-only, and never over an existing file.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        let (ok, out) = run_documented(
            "restore-test: sqlite-backup",
            &[
                ("GATEWAY_DATA_DIR", t.dir.path().to_str().unwrap()),
                ("BACKUP", backup_str),
            ],
        )
        .await;
        assert!(!ok && out.contains("already exists"), "{out}");
        assert_eq!(
            std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // The original stops; the receiver comes back; the copy is restored
    // into a fresh place and started with the same master key.
    let creds = t.creds.clone();
    t.app.stop().await;
    receiver.restart().await;
    let restored_dir = tempfile::tempdir().unwrap();
    let new_data_dir = restored_dir.path().join("data");
    let target_db = match &source_url {
        None => {
            let (ok, out) = run_documented(
                "restore-test: sqlite-restore",
                &[
                    ("NEW_DATA_DIR", new_data_dir.to_str().unwrap()),
                    ("BACKUP", backup_str),
                ],
            )
            .await;
            assert!(ok, "the restore failed:\n{out}");
            None
        }
        Some(_) => {
            // As documented: an empty database owned by the gateway's role
            // (no superuser), restored as that role.
            let role = PgRole::create("gwrestorer").await;
            let db = PgDatabase::create("gwrestore", Some(&role.name)).await;
            let url = role.url(&db.name);
            let (ok, out) = run_documented(
                "restore-test: postgres-restore",
                &[("NEW_DATABASE_URL", &url), ("BACKUP", backup_str)],
            )
            .await;
            assert!(ok, "the restore failed:\n{out}");
            // (The database goes before its owner.)
            Some((db, role, url))
        }
    };
    let target_url = target_db.as_ref().map(|(_, _, url)| url.clone());
    let restored = TestApp::spawn_with(|c| {
        slow_retries(c);
        c.master_key = Some(master_key.trim().into());
        match &target_url {
            Some(url) => c.database_url = Some(url.clone()),
            None => c.data_dir = new_data_dir.clone(),
        }
    })
    .await;

    // Every request acknowledged before the backup began is there.
    for id in before {
        let (s, v) = restored
            .get(&format!("/api/digilocker/{id}/status"), &creds)
            .await;
        assert_eq!(s, 200, "{id}: {v}");
        assert_eq!(v["id"], id.as_str(), "{v}");
    }
    // With its data: the consented request's user details decrypt.
    let (s, v) = restored
        .get(&format!("/api/digilocker/{consented}/status"), &creds)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "authenticated", "{v}");
    assert_eq!(
        v["digilockerUserDetails"]["digilockerId"],
        happy_citizen().digilocker_id.as_str(),
        "{v}"
    );
    // The event pending at backup time is delivered by the restored
    // gateway, with its event id. (If the backup caught it mid-attempt, its
    // claim, the webhook timeout plus a minute, runs out first.)
    restored.clock.advance(120);
    let got = receiver
        .wait_event("digilocker.request.authenticated", &consented)
        .await;
    assert_eq!(got.header("webhook-id"), pending_event);

    restored.app.stop().await;
    drop(target_db);
    if let Some(db) = source_db {
        db.drop_now().await;
    }
}

#[tokio::test]
async fn backup_on_postgresql_says_how_to_use_pg_dump_and_bad_targets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: Vec<String>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"));
        cmd.env_clear().env("GATEWAY_LOG", "warn").args(args);
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let to = dir.path().join("b.sqlite").display().to_string();
    let (ok, out) = run(vec![
        "--database-url".into(),
        "postgres://kyc@db.invalid/kyc".into(),
        "backup".into(),
        "--to".into(),
        to.clone(),
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            &doc_block("restore-test: postgres-backup")
                .trim()
                .replace("--file=\"$BACKUP\"", "--file=gateway.dump")
        ),
        "{out}"
    );
    assert!(!dir.path().join("b.sqlite").exists());
    // No database there: said so, nothing written.
    let (ok, out) = run(vec![
        "--data-dir".into(),
        dir.path().join("none").display().to_string(),
        "backup".into(),
        "--to".into(),
        to.clone(),
    ]);
    assert!(!ok && out.contains("no SQLite database at"), "{out}");
    assert!(!dir.path().join("b.sqlite").exists());
}
