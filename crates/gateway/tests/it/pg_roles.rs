//! The PostgreSQL role of `docs/production.md` ("The PostgreSQL role"): a
//! login role with a database of its own, made with the documented
//! statements, runs the gateway (no error or warning at start, a request
//! created and read); a role without one is refused with a message saying
//! what to grant. Always on PostgreSQL, whatever the suite's backend.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::backup::{doc_block, with_database, PgDatabase};
use crate::harness::{pg_base_url, BUSINESS};

/// `url` as `user` (trust authentication on the test server; the password
/// is what a real deployment would send).
fn as_user(url: &str, user: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    u.set_username(user).unwrap();
    u.set_password(Some("CHANGE-ME")).unwrap();
    u.to_string()
}

/// Run `sql` on the test server as its superuser, one statement at a time
/// (`CREATE DATABASE` runs in no transaction block).
async fn admin(sql: &str) {
    let pool = sqlx::PgPool::connect(&pg_base_url()).await.unwrap();
    for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    pool.close().await;
}

/// A `digilocker-gateway serve` on `database_url` in sandbox mode; its
/// output, once it listens (or has exited).
struct Serve {
    child: tokio::process::Child,
    out: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Serve {
    async fn start(data_dir: &std::path::Path, database_url: &str) -> (Serve, Option<String>) {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env_clear()
            .env("GATEWAY_DATABASE_URL", database_url)
            .env("GATEWAY_SANDBOX_FAILING_ISSUERS", "false")
            .env("GATEWAY_LOG", "info,sqlx=warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
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
        let mut serve = Serve { child, out };
        let started = Instant::now();
        loop {
            let found = serve
                .out
                .lock()
                .unwrap()
                .iter()
                .find_map(|l| l.trim().strip_prefix("listening on ").map(str::to_owned));
            if let Some(addr) = found {
                return (serve, Some(format!("http://{addr}")));
            }
            if let Ok(Some(_)) = serve.child.try_wait() {
                // Let the readers drain what it printed.
                tokio::time::sleep(Duration::from_millis(300)).await;
                return (serve, None);
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the gateway did not start:\n{}",
                serve.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn output(&self) -> String {
        self.out.lock().unwrap().join("\n")
    }

    async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
        self.output()
    }
}

#[tokio::test]
async fn a_role_that_owns_its_database_runs_the_gateway_and_one_that_does_not_is_told_what_to_grant(
) {
    let role = format!("gwrole_{}", uuid::Uuid::new_v4().simple());
    // The documented statements, with this test's name for `kyc`.
    let documented = doc_block("role-test: own-database");
    assert!(documented.contains("CREATE ROLE kyc LOGIN"), "{documented}");
    let names = documented
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| *w == "kyc")
        .count();
    assert_eq!(names, 3, "{documented}");
    let sql = regex_free_replace_word(&documented, "kyc", &role);
    admin(&sql).await;
    let url = as_user(&with_database(&pg_base_url(), &role), &role);
    let data = tempfile::tempdir().unwrap();

    let (serve, base) = Serve::start(data.path(), &url).await;
    let Some(base) = base else {
        panic!("the gateway did not start as {role}:\n{}", serve.output());
    };
    // A create and a status, as the sandbox client.
    let creds: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data.path().join("sandbox-credentials.json")).unwrap(),
    )
    .unwrap();
    let http = reqwest::Client::new();
    let headers = |rb: reqwest::RequestBuilder| {
        rb.header("x-client-id", creds["clientId"].as_str().unwrap())
            .header("x-client-secret", creds["clientSecret"].as_str().unwrap())
            .header(
                "x-product-instance-id",
                creds["productInstanceId"].as_str().unwrap(),
            )
    };
    let resp = headers(http.post(format!("{base}/api/digilocker")))
        .json(&json!({"redirectUrl": BUSINESS}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: serde_json::Value = resp.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let resp = headers(http.get(format!("{base}/api/digilocker/{id}/status")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The tables are the role's own.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let (owner,): (String,) =
        sqlx::query_as("SELECT tableowner::text FROM pg_tables WHERE tablename = 'requests'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(owner, role);
    pool.close().await;
    let log = serve.stop().await;
    for bad in [" ERROR ", " WARN ", "permission denied"] {
        assert!(
            !log.contains(bad),
            "the start as {role} logged {bad:?}:\n{log}"
        );
    }
    // The log format is the one looked at: info lines are there.
    assert!(log.contains(" INFO "), "{log}");

    // A role that may connect to a database it does not own: PostgreSQL 15
    // lets it create nothing in `public`.
    let other = PgDatabase::create("gwnotowned", None).await;
    let (serve, base) = Serve::start(data.path(), &as_user(&other.url, &role)).await;
    assert!(
        base.is_none(),
        "started without rights:\n{}",
        serve.output()
    );
    let out = serve.stop().await;
    assert!(
        out.contains("may not create tables") && out.contains("CREATE DATABASE kyc OWNER kyc"),
        "{out}"
    );
    // The second form: a schema of its own there.
    let documented = doc_block("role-test: own-schema");
    let sql = regex_free_replace_word(
        &regex_free_replace_word(&documented, "kyc", &role),
        "app",
        &other.name,
    );
    assert!(
        sql.contains("CREATE SCHEMA kyc_gateway AUTHORIZATION"),
        "{sql}"
    );
    let pool = sqlx::PgPool::connect(&other.url).await.unwrap();
    for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        // The role exists already (the first form made it).
        if !statement.starts_with("CREATE ROLE") {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
    }
    pool.close().await;
    let in_schema = format!(
        "{}?options=-csearch_path%3Dkyc_gateway",
        as_user(&other.url, &role)
    );
    let (serve, base) = Serve::start(data.path(), &in_schema).await;
    assert!(base.is_some(), "{}", serve.output());
    let log = serve.stop().await;
    assert!(!log.contains(" ERROR ") && !log.contains(" WARN "), "{log}");
    let pool = sqlx::PgPool::connect(&other.url).await.unwrap();
    let (owner,): (String,) = sqlx::query_as(
        "SELECT tableowner::text FROM pg_tables WHERE schemaname = 'kyc_gateway' AND tablename = 'requests'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(owner, role);
    pool.close().await;

    other.drop_now().await;
    admin(&format!(
        "DROP DATABASE IF EXISTS {role} WITH (FORCE); DROP ROLE IF EXISTS {role};"
    ))
    .await;
}

/// `text` with every whole word `word` replaced by `by`.
fn regex_free_replace_word(text: &str, word: &str, by: &str) -> String {
    let mut out = String::new();
    let mut current = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            current.push(c);
        } else {
            out.push_str(if current == word { by } else { &current });
            current.clear();
            out.push(c);
        }
    }
    out.push_str(if current == word { by } else { &current });
    out
}
