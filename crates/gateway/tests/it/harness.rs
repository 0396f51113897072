//! Spawning the real app for a test, and the helpers tests share.

use std::time::{Duration, Instant};

use gateway::storage::ClientRecord;
use gateway::{Config, RunningApp};
use reqwest::Method;
use serde_json::Value;

use crate::browser::{Browser, Page};

/// Where the tests' business wants its users back (never fetched).
pub const BUSINESS: &str = "http://127.0.0.1:9/kyc/done?sessionId=XYZ";

/// A client's three headers.
#[derive(Clone, Debug)]
pub struct Creds {
    pub id: String,
    pub secret: String,
    pub instance: String,
}

/// The app under test.
pub struct TestApp {
    pub app: RunningApp,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub creds: Creds,
    /// The PostgreSQL schema of this app when the suite runs on PostgreSQL
    /// (`GATEWAY_TEST_BACKEND=postgres`); dropped with the app.
    pub pg: Option<PgSchema>,
    /// The app's clock: `advance` moves every expiry without sleeping.
    pub clock: std::sync::Arc<gateway::state::ManualClock>,
}

/// The happy-path citizen: several documents, e-Aadhaar available.
pub fn happy_citizen() -> sandbox::seed::Citizen {
    sandbox::seed::citizens().into_iter().next().unwrap()
}

/// What finds `doc` at its issuer, as the contract's `parameters`: a pull
/// finds only the citizen's own records, by their own values.
pub fn parameters_of(doc: &sandbox::seed::IssuedDoc) -> Value {
    doc.params
        .iter()
        .map(|(name, value)| serde_json::json!({"name": name, "value": value}))
        .collect()
}

/// The happy citizen's own PAN (in their locker), as `parameters`.
pub fn happy_pan_parameters() -> Value {
    let c = happy_citizen();
    let pan = c.documents.iter().find(|d| d.doctype == "PANCR").unwrap();
    parameters_of(pan)
}

/// A seeded citizen matching `pred`.
pub fn citizen(pred: impl Fn(&sandbox::seed::Citizen) -> bool) -> sandbox::seed::Citizen {
    sandbox::testing::citizen("this test needs", pred)
}

/// The in-process apps' logs, per test: written through the test harness's
/// output capture, so a failing test prints its own logs and a passing one
/// prints nothing (`GATEWAY_TEST_LOG` filters them; default `warn`). Logged
/// from a multi-threaded test's worker threads they are not captured.
pub fn capture_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        let filter: tracing_subscriber::filter::Targets = std::env::var("GATEWAY_TEST_LOG")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| "warn".parse().unwrap());
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .finish()
            .with(filter)
            .try_init();
    });
}

/// Everything the gateway logs on this test's thread while it lives, at `debug` for the
/// gateway's own crates and `info` for the rest (the sandbox, which is not the gateway,
/// left out). A `#[tokio::test]` runs the in-process app's tasks on its one thread, so
/// that is every line a call logs, bar work moved to blocking threads.
pub struct LogCapture {
    buf: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

struct CaptureWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    pub fn start() -> LogCapture {
        use tracing_subscriber::layer::SubscriberExt as _;
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = buf.clone();
        let filter = tracing_subscriber::filter::Targets::new()
            .with_default(tracing::Level::INFO)
            .with_target("gateway", tracing::Level::DEBUG)
            .with_target("digilocker", tracing::Level::DEBUG)
            .with_target("aadhaar", tracing::Level::DEBUG)
            .with_target("sandbox", tracing_subscriber::filter::LevelFilter::OFF);
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || CaptureWriter(sink.clone()))
            .finish()
            .with(filter);
        LogCapture {
            buf,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap()).into_owned()
    }
}

/// One sandbox CA for every test of this run: making one costs three RSA keys.
pub fn shared_sandbox_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .to_owned()
}

impl TestApp {
    /// The mode the app resolved to, as `GATEWAY_MODE` says it (for
    /// command-line runs on the same database).
    pub fn mode(&self) -> &'static str {
        self.app
            .state
            .config
            .mode
            .map_or("sandbox", gateway::config::Mode::as_str)
    }

    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        capture_logs();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_owned(),
            sandbox_dir: Some(shared_sandbox_dir()),
            sandbox_catalogue: (60, 240),
            sweep_interval: Duration::from_millis(300),
            // Quick builds here; the pacing itself has its own test.
            catalogue_calls_per_second: 2000,
            upstream_timeout: Duration::from_secs(5),
            instance_name: "test".into(),
            ..Config::default()
        };
        if legacy_sandbox() {
            config.sandbox_eaadhaar_shape = sandbox::EAadhaarShape::Legacy;
            config.sandbox_quirks = false;
        }
        let pg = if on_postgres() {
            Some(PgSchema::create().await)
        } else {
            None
        };
        if let Some(pg) = &pg {
            config.database_url = Some(pg.url.clone());
        }
        adjust(&mut config);
        let on_pg = config
            .database_url
            .as_deref()
            .is_some_and(|u| u.starts_with("postgres"));
        if on_pg && config.digilocker.is_none() && config.mode.is_none() {
            // PostgreSQL gets the sandbox only when asked.
            config.mode = Some(gateway::config::Mode::Sandbox);
        }
        let clock = gateway::state::ManualClock::new();
        let app = gateway::start_with_clock(config, clock.clone())
            .await
            .unwrap();
        let base = app.base_url();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let mut t = TestApp {
            app,
            base,
            dir,
            http,
            creds: Creds {
                id: String::new(),
                secret: String::new(),
                instance: String::new(),
            },
            pg,
            clock,
        };
        t.creds = t.new_client("").await;
        t
    }

    /// A new client, with redirect origins restricted when `origins` is set.
    pub async fn new_client(&self, origins: &str) -> Creds {
        let creds = Creds {
            id: format!("cl_{}", uuid::Uuid::new_v4().simple()),
            secret: gateway::crypto::random_token(),
            instance: uuid::Uuid::new_v4().to_string(),
        };
        self.app
            .state
            .store
            .insert_client(&ClientRecord {
                client_id: creds.id.clone(),
                secret_hash: gateway::crypto::hash_secret(&creds.secret),
                product_instance_id: creds.instance.clone(),
                name: "test".into(),
                allowed_origins: origins.into(),
                disabled: 0,
                created_at: 0,
                ..Default::default()
            })
            .await
            .unwrap();
        creds
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A call with a client's headers.
    pub fn req(&self, method: Method, path: &str, creds: &Creds) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("x-client-id", &creds.id)
            .header("x-client-secret", &creds.secret)
            .header("x-product-instance-id", &creds.instance)
    }

    /// Send and decode: (status, JSON body).
    pub async fn send(rb: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = rb.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, creds: &Creds) -> (u16, Value) {
        Self::send(self.req(Method::GET, path, creds)).await
    }

    pub async fn post(&self, path: &str, creds: &Creds, body: Value) -> (u16, Value) {
        Self::send(self.req(Method::POST, path, creds).json(&body)).await
    }

    /// Create a request for `creds`; returns its JSON.
    pub async fn create_for(&self, creds: &Creds, body: Value) -> Value {
        let (status, v) = self.post("/api/digilocker", creds, body).await;
        assert_eq!(status, 201, "{v}");
        v
    }

    pub async fn create(&self) -> Value {
        self.create_for(&self.creds, serde_json::json!({"redirectUrl": BUSINESS}))
            .await
    }

    /// Wait until the catalogue is built.
    /// Wait until every issuer of the catalogue has answered once (the
    /// sandbox's failing issuers with their error).
    pub async fn wait_catalogue(&self) {
        for _ in 0..300 {
            let resp = self
                .req(
                    Method::GET,
                    "/api/digilocker/documents?docType=NONE",
                    &self.creds,
                )
                .send()
                .await
                .unwrap();
            let pending = resp
                .headers()
                .get("x-catalogue-pending-issuers")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if resp.status() == 200 && pending.as_deref() == Some("0") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("catalogue not built in 30 s");
    }

    /// Open the journey `url` and get to the sandbox's sign-in page.
    pub async fn open_journey(&self, browser: &Browser, url: &str) -> Page {
        let page = browser.get_following(url, &self.base).await;
        assert_eq!(page.status, 200, "journey start: {page:?}");
        page
    }

    /// Sign in with an Aadhaar or mobile number, OTP and PIN, up to the consent page.
    pub async fn sign_in(&self, browser: &Browser, url: &str, username: &str, pin: &str) -> Page {
        let page = self.open_journey(browser, url).await;
        let page = browser
            .submit(&page, None, &[("username", username)], &self.base)
            .await;
        let page = browser
            .submit(&page, None, &[("otp", sandbox::seed::OTP)], &self.base)
            .await;
        let page = browser
            .submit(&page, None, &[("pin", pin)], &self.base)
            .await;
        assert!(
            page.body.contains("decision"),
            "expected the consent page: {page:?}"
        );
        page
    }

    /// Answer the consent page; `docs` None keeps the defaults. Returns where
    /// the user's browser ends up (the business's URL).
    pub async fn decide(
        &self,
        browser: &Browser,
        consent: &Page,
        allow: bool,
        docs: Option<&[String]>,
    ) -> reqwest::Url {
        let (action, fields) = decision(consent, allow, docs);
        let end = browser
            .submit_fields(consent, &action, &fields, &self.base)
            .await;
        let loc = end
            .location
            .clone()
            .unwrap_or_else(|| panic!("no redirect back to the business: {end:?}"));
        assert!(loc.starts_with("http://127.0.0.1:9/"), "ended at {loc}");
        reqwest::Url::parse(&loc).unwrap()
    }

    /// Sign the happy citizen in on a new request, up to the consent page.
    pub async fn happy_consent(&self, created: &Value, browser: &Browser) -> Page {
        let c = happy_citizen();
        let url = created["url"].as_str().unwrap();
        self.sign_in(browser, url, c.aadhaar.as_deref().unwrap(), &c.pin)
            .await
    }

    /// Allow on the consent page and return the callback URL DigiLocker
    /// sends the browser to, without following it.
    pub async fn allow_to_callback(&self, browser: &Browser, consent: &Page) -> String {
        let (action, fields) = decision(consent, true, None);
        let url = reqwest::Url::parse(&consent.url)
            .unwrap()
            .join(&action)
            .unwrap();
        let resp = browser.http.post(url).form(&fields).send().await.unwrap();
        let callback = resp.headers()["location"].to_str().unwrap().to_owned();
        assert!(callback.contains("/digilocker/callback?"), "{callback}");
        callback
    }

    /// Create a request and walk the happy citizen through consent (all
    /// offered documents ticked). Returns (request id, business URL).
    pub async fn authenticated(&self) -> (String, reqwest::Url) {
        let created = self.create().await;
        let browser = Browser::new();
        let c = happy_citizen();
        let consent = self
            .sign_in(
                &browser,
                created["url"].as_str().unwrap(),
                c.aadhaar.as_deref().unwrap(),
                &c.pin,
            )
            .await;
        let back = self.decide(&browser, &consent, true, None).await;
        (created["id"].as_str().unwrap().to_owned(), back)
    }

    /// A new request asking for `doc_types`, consented by `who` with every
    /// offered box ticked; returns its id.
    pub async fn consented(&self, who: &sandbox::seed::Citizen, doc_types: &[&str]) -> String {
        let t = self;
        let created = t
            .create_for(
                &t.creds,
                serde_json::json!({"redirectUrl": BUSINESS, "docType": doc_types}),
            )
            .await;
        let browser = Browser::new();
        let username = who.aadhaar.clone().or(who.mobile.clone()).unwrap();
        let consent = t
            .sign_in(
                &browser,
                created["url"].as_str().unwrap(),
                &username,
                &who.pin,
            )
            .await;
        let offered = consent.checkbox_values("doc");
        let back = t.decide(&browser, &consent, true, Some(&offered)).await;
        assert_eq!(param(&back, "success").as_deref(), Some("True"));
        created["id"].as_str().unwrap().to_owned()
    }

    /// The request's stored DigiLocker token, decrypted (`access_token`,
    /// `refresh_token`, `expires_at`).
    pub async fn stored_token(&self, id: &str) -> Value {
        let r = self
            .app
            .state
            .store
            .get_request(&self.creds.id, id, 0)
            .await
            .unwrap()
            .unwrap();
        let key = self
            .app
            .state
            .keys
            .data_key(id, r.data_key.as_ref().unwrap())
            .unwrap();
        key.open_json(&format!("requests/{id}/token"), r.token.as_ref().unwrap())
            .unwrap()
    }

    /// Set the embedded sandbox's fault switches (JSON of its admin
    /// endpoint), with the admin token the app generated.
    pub async fn faults(&self, faults: Value) {
        let token = self
            .app
            .sandbox_admin_token
            .as_deref()
            .expect("the app runs in sandbox mode");
        let resp = self
            .http
            .put(self.url("/sandbox/admin/faults"))
            .bearer_auth(token)
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_success(),
            "setting faults: {}",
            resp.text().await.unwrap()
        );
    }

    /// Everything the database holds, as raw bytes: on SQLite the main
    /// file, its WAL and shared memory exactly as they are on disk (no
    /// checkpoint first: leftovers count); on PostgreSQL every row of every
    /// table as text (bytea as hex) plus every bytea value's bytes.
    pub async fn raw_storage(&self) -> Vec<u8> {
        let Some(pg) = &self.pg else {
            // Read by another process (`cat`), never opened here: closing any
            // descriptor of a file drops every POSIX lock this process holds
            // on it, SQLite's included. With its locks gone, the next process
            // to open the database (a CLI command, say) takes itself for the
            // only user and truncates the shared-memory file under this
            // process's mapping of it: SIGBUS.
            let mut all = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                let p = self.dir.path().join(format!("gateway.sqlite{suffix}"));
                let out = tokio::process::Command::new("cat")
                    .arg(&p)
                    .stderr(std::process::Stdio::null())
                    .output()
                    .await
                    .expect("cat runs");
                if out.status.success() {
                    all.extend(out.stdout);
                }
            }
            return all;
        };
        let db = pg.pool().await;
        let mut raw = Vec::new();
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .fetch_all(&db)
        .await
        .unwrap();
        for (table,) in tables {
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT t::text FROM {table} t"
            )))
            .fetch_all(&db)
            .await
            .unwrap();
            raw.extend(rows.into_iter().flat_map(|(r,)| r.into_bytes()));
        }
        let bytea: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND data_type = 'bytea'",
        )
        .fetch_all(&db)
        .await
        .unwrap();
        assert!(
            bytea.iter().any(|(t, c)| t == "files" && c == "data"),
            "{bytea:?}"
        );
        for (table, column) in bytea {
            let values: Vec<(Option<Vec<u8>>,)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {column} FROM {table}")))
                    .fetch_all(&db)
                    .await
                    .unwrap();
            raw.extend(values.into_iter().flat_map(|(v,)| v.unwrap_or_default()));
        }
        raw
    }

    /// Whether `raw` holds a sealed data key of request `id` that the
    /// master key still opens: then everything of the request could be read.
    pub fn holds_data_key(&self, raw: &[u8], id: &str) -> bool {
        // A sealed data key: v1, key id, nonce, 32 bytes, tag = 77 bytes.
        const LEN: usize = 1 + 4 + 24 + 32 + 16;
        let keys = &self.app.state.keys;
        (0..raw.len().saturating_sub(LEN - 1))
            .filter(|&i| raw[i] == 1)
            .any(|i| keys.data_key(id, &raw[i..i + LEN]).is_ok())
    }
}

/// A `digilocker-gateway serve` process with `env` and its output: none of
/// the test's environment, logs at `info`, the sandbox without its failing
/// issuers (their warnings would drown what a test looks for). `start`
/// returns once it listens (with its base URL) or has exited (`None`).
pub struct Serve {
    child: tokio::process::Child,
    out: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Serve {
    pub async fn start(
        data_dir: &std::path::Path,
        env: &[(&'static str, String)],
    ) -> (Serve, Option<String>) {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env_clear()
            .env("GATEWAY_SANDBOX_FAILING_ISSUERS", "false")
            .env("GATEWAY_LOG", "info,sqlx=warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
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

    pub fn output(&self) -> String {
        self.out.lock().unwrap().join("\n")
    }

    /// Send SIGTERM and wait (at most `within`) for the exit; its output
    /// and whether it exited with success.
    pub async fn terminate(mut self, within: Duration) -> (bool, String) {
        let pid = self.child.id().expect("running");
        let kill = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("no exit within {within:?} of SIGTERM:\n{}", self.output()))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        (status.success(), self.output())
    }

    pub async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        let _ = self.child.wait().await;
        self.output()
    }
}

/// Does this run of the suite use the sandbox's earlier behaviour
/// (`GATEWAY_TEST_SANDBOX=legacy`: the one-line e-Aadhaar layout, one
/// spelling everywhere, refresh tokens that don't rotate) instead of its
/// default, which behaves like the real DigiLocker?
pub fn legacy_sandbox() -> bool {
    std::env::var("GATEWAY_TEST_SANDBOX").is_ok_and(|b| b.eq_ignore_ascii_case("legacy"))
}

/// Does this run of the suite use PostgreSQL (`GATEWAY_TEST_BACKEND=postgres`)?
pub fn on_postgres() -> bool {
    std::env::var("GATEWAY_TEST_BACKEND").is_ok_and(|b| b.eq_ignore_ascii_case("postgres"))
}

/// The test PostgreSQL database (`GATEWAY_TEST_PG_URL`, default the local `test` database).
pub fn pg_base_url() -> String {
    std::env::var("GATEWAY_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh PostgreSQL schema for one test, so tests run in parallel on one
/// database. `url` connects with `search_path` set to it; dropped on drop.
#[derive(Debug)]
pub struct PgSchema {
    pub name: String,
    pub url: String,
}

impl PgSchema {
    pub async fn create() -> PgSchema {
        let name = format!("gwtest_{}", uuid::Uuid::new_v4().simple());
        let base = pg_base_url();
        let admin = sqlx::PgPool::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at {base}: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        // The application name marks this test's connections, so that the
        // drop can end those an unfinished app left behind.
        let url = format!("{base}{sep}options=-csearch_path%3D{name}&application_name={name}");
        PgSchema { name, url }
    }

    /// A pool on this schema, for looking at the raw rows.
    pub async fn pool(&self) -> sqlx::PgPool {
        sqlx::PgPool::connect(&self.url).await.unwrap()
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, where we cannot block on a
        // future: do it on a thread with its own small runtime.
        let name = self.name.clone();
        let base = pg_base_url();
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                use sqlx::Connection;
                let mut admin = sqlx::PgConnection::connect(&base).await.ok()?;
                // A transaction of the app may still be open on the blocked
                // test thread: end the app's connections (they are marked
                // with the schema's name), and rather leave the schema than
                // wait forever.
                sqlx::query("SET lock_timeout = '3s'")
                    .execute(&mut admin)
                    .await
                    .ok()?;
                sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                    .bind(&name)
                    .execute(&mut admin)
                    .await
                    .ok()?;
                if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE")))
                    .execute(&mut admin)
                    .await {
                        eprintln!("cannot drop test schema {name}: {e}");
                        return None;
                    }
                admin.close().await.ok()
            })
        });
        if !matches!(done.join(), Ok(Some(()))) {
            eprintln!("test schema {} was left behind", self.name);
        }
    }
}

/// Run `statements` one by one on the test server as its superuser, from
/// any context (a drop inside a test's runtime included: on a thread with a
/// runtime of its own). Failures are printed, not raised.
pub fn pg_admin_blocking(statements: &[String]) {
    let owned = statements.to_vec();
    let base = pg_base_url();
    let done = std::thread::spawn(move || {
        let statements = owned;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(async {
            use sqlx::Connection;
            let mut admin = sqlx::PgConnection::connect(&base).await.ok()?;
            for statement in &statements {
                if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone()))
                    .execute(&mut admin)
                    .await
                {
                    eprintln!("{statement}: {e}");
                }
            }
            admin.close().await.ok()
        })
    });
    if !matches!(done.join(), Ok(Some(()))) {
        eprintln!("could not reach the test PostgreSQL to run {statements:?}");
    }
}

/// The consent form's action and fields for a decision; `docs` None keeps
/// the page's defaults.
fn decision(
    consent: &Page,
    allow: bool,
    docs: Option<&[String]>,
) -> (String, Vec<(String, String)>) {
    let (action, mut fields) = consent.form(None);
    if let Some(docs) = docs {
        fields.retain(|(n, _)| n != "doc");
        fields.extend(docs.iter().map(|d| ("doc".to_owned(), d.clone())));
    }
    fields.retain(|(n, _)| n != "decision");
    fields.push((
        "decision".into(),
        if allow { "allow" } else { "deny" }.into(),
    ));
    (action, fields)
}

/// Query parameters of a URL as pairs.
pub fn query(url: &reqwest::Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn param(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Assert a contract error body.
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], want_code, "{body}");
    assert!(
        body["error"]["detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    assert!(
        body["error"]["traceId"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}
