//! The PostgreSQL role of `docs/production.md` ("The PostgreSQL role"): a
//! login role with a database of its own, made with the documented
//! statements, runs the gateway (no error or warning at start, a request
//! created and read); a role without one is refused with a message saying
//! what to grant. Always on PostgreSQL, whatever the suite's backend.

use serde_json::json;

use crate::backup::{as_user, doc_block, with_database, PgDatabase};
use crate::harness::{pg_base_url, Serve, BUSINESS};

/// A role and its database of the same name, dropped on drop.
struct RoleAndDatabase(String);

impl Drop for RoleAndDatabase {
    fn drop(&mut self) {
        let name = &self.0;
        crate::harness::pg_admin_blocking(&[
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("DROP ROLE IF EXISTS {name}"),
        ]);
    }
}

/// The environment of a sandbox on the PostgreSQL database `url`.
fn on_postgres(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GATEWAY_DATABASE_URL", url.to_owned()),
        ("GATEWAY_MODE", "sandbox".to_owned()),
    ]
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

#[tokio::test]
async fn a_role_that_owns_its_database_runs_the_gateway_and_one_that_does_not_is_told_what_to_grant(
) {
    let role = format!("gwrole_{}", uuid::Uuid::new_v4().simple());
    // Dropped at the end, or if the test fails half-way.
    let _cleanup = RoleAndDatabase(role.clone());
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

    let (serve, base) = Serve::start(data.path(), &on_postgres(&url)).await;
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
    // SIGTERM: the log writer writes out what it holds before the exit.
    let (exited, log) = serve.terminate(std::time::Duration::from_secs(15)).await;
    assert!(exited, "{log}");
    assert_clean(&log, &role);

    // A role that may connect to a database it does not own: PostgreSQL 15
    // lets it create nothing in `public`.
    let other = PgDatabase::create("gwnotowned", None).await;
    let (serve, base) = Serve::start(data.path(), &on_postgres(&as_user(&other.url, &role))).await;
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
    let (serve, base) = Serve::start(data.path(), &on_postgres(&in_schema)).await;
    assert!(base.is_some(), "{}", serve.output());
    // SIGTERM: the log writer writes out what it holds before the exit.
    let (exited, log) = serve.terminate(std::time::Duration::from_secs(15)).await;
    assert!(exited, "{log}");
    assert_clean(&log, &role);
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
}

/// No error, and no warning but the one every sandbox start logs (and
/// sqlx's about slow statements), in a gateway's output before it was told
/// to shut down.
fn assert_clean(log: &str, role: &str) {
    // Up to the shutdown: the background calls cut by it may warn.
    let lines: Vec<&str> = log.lines().collect();
    let shutdown = lines
        .iter()
        .position(|l| l.contains("shutting down"))
        .unwrap_or_else(|| panic!("no shutdown line:\n{log}"));
    for line in &lines[..shutdown] {
        // sqlx's "slow statement" lines say the test machine is busy.
        let warning = line.contains(" WARN ")
            && !line.contains("SANDBOX mode")
            && !line.contains("slow statement");
        assert!(
            !(line.contains(" ERROR ") || warning || line.contains("permission denied")),
            "the start as {role} logged:\n{line}\n\nall of it:\n{log}"
        );
    }
    // The log format is the one looked at: info lines are there.
    assert!(log.contains(" INFO "), "{log}");
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
