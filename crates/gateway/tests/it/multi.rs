//! Several gateway instances on one PostgreSQL schema, in production mode
//! against one standalone sandbox DigiLocker (served by this test process on
//! its own port, like DigiLocker would be), behind one public base URL as a
//! load balancer would give them.
//!
//! The instances are `gateway::start` apps in this process: each has its own
//! pool, its own in-memory caches and its own background tasks, and they
//! share nothing but the database and the sandbox, which is what separate
//! processes would share. The "load balancer" is the test choosing which
//! instance each request goes to, by rewriting the public base URL.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gateway::storage::ClientRecord;
use gateway::{Config, RunningApp};
use sandbox::testing::ServedSandbox;
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::harness::{happy_citizen, param, Creds, PgSchema, TestApp};

/// What browsers and businesses are told the gateway is; never resolved.
const PUBLIC: &str = "http://gateway.invalid";
/// Production mode requires an https redirect; never fetched.
const BUSINESS: &str = "https://business.invalid/kyc/done?sessionId=XYZ";

/// A standalone sandbox DigiLocker on 127.0.0.1, counting catalogue builds.
struct Upstream {
    base: String,
    client_id: String,
    client_secret: String,
    trust_anchors: std::path::PathBuf,
    /// How many `pull/issuers` calls it answered: one per catalogue build.
    issuer_calls: Arc<AtomicUsize>,
    _served: ServedSandbox,
    _dir: tempfile::TempDir,
}

impl Upstream {
    async fn start() -> Upstream {
        let dir = tempfile::tempdir().unwrap();
        let config = sandbox::SandboxConfig {
            base_path: "/public".into(),
            data_dir: crate::harness::shared_sandbox_dir(),
            catalogue_issuers: 60,
            catalogue_pairs: 240,
            ..Default::default()
        };
        let client_id = "gateway-cluster".to_owned();
        let client_secret = gateway::crypto::random_token();
        // Every instance registers the same callback: the public one.
        let app = sandbox::PartnerApp {
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            redirect_uris: vec![format!("{PUBLIC}/digilocker/callback")],
        };
        let issuer_calls = Arc::new(AtomicUsize::new(0));
        let counter = issuer_calls.clone();
        let count = axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let counter = counter.clone();
                async move {
                    if req.uri().path().ends_with("/pull/issuers") {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    next.run(req).await
                }
            },
        );
        let served = ServedSandbox::start(config, vec![app], |r| r.layer(count))
            .await
            .unwrap();
        let trust_anchors = dir.path().join("sandbox-root.pem");
        std::fs::write(&trust_anchors, served.sandbox.root_ca_pem()).unwrap();
        Upstream {
            base: served.base.clone(),
            client_id,
            client_secret,
            trust_anchors,
            issuer_calls,
            _served: served,
            _dir: dir,
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A client of the gateway, stored where every instance sees it.
async fn add_client(store: &dyn gateway::storage::Store) -> Creds {
    let creds = Creds {
        id: format!("cl_{}", uuid::Uuid::new_v4().simple()),
        secret: gateway::crypto::random_token(),
        instance: uuid::Uuid::new_v4().to_string(),
    };
    store
        .insert_client(&ClientRecord {
            client_id: creds.id.clone(),
            secret_hash: gateway::crypto::hash_secret(&creds.secret),
            product_instance_id: creds.instance.clone(),
            name: "cluster test".into(),
            allowed_origins: String::new(),
            disabled: 0,
            created_at: 0,
            ..Default::default()
        })
        .await
        .unwrap();
    creds
}

/// Instances sharing one schema, one master key and one public base URL.
struct Cluster {
    upstream: Upstream,
    pg: PgSchema,
    master_key: String,
    /// In-process instances (empty when the instances are processes).
    instances: Vec<RunningApp>,
    /// Where each instance listens, in process or not.
    addrs: Vec<std::net::SocketAddr>,
    /// Instance processes, killed when the cluster is dropped.
    _processes: Vec<tokio::process::Child>,
    http: reqwest::Client,
    creds: Creds,
    _dirs: Vec<tempfile::TempDir>,
}

impl Cluster {
    /// Start `n` instances at the same moment, named a, b, c…
    async fn start(n: usize, adjust: impl Fn(&mut Config)) -> Cluster {
        let upstream = Upstream::start().await;
        let pg = PgSchema::create().await;
        let master_key = gateway::crypto::MasterKey::generate_base64();
        let dirs: Vec<tempfile::TempDir> = (0..n).map(|_| tempfile::tempdir().unwrap()).collect();
        let configs: Vec<Config> = dirs
            .iter()
            .enumerate()
            .map(|(i, dir)| {
                let mut config = Config {
                    listen: "127.0.0.1:0".parse().unwrap(),
                    data_dir: dir.path().to_owned(),
                    database_url: Some(pg.url.clone()),
                    public_base_url: Some(format!("{PUBLIC}/").parse().unwrap()),
                    master_key: Some(master_key.clone().into()),
                    digilocker: Some(gateway::config::DigilockerSettings {
                        base_url: upstream.base.parse().unwrap(),
                        client_id: upstream.client_id.clone(),
                        client_secret: upstream.client_secret.clone().into(),
                    }),
                    // The standalone sandbox is plain http on loopback.
                    digilocker_table: gateway::config::DigilockerTable {
                        allow_http: true,
                        ..Default::default()
                    },
                    trust_anchors: Some(upstream.trust_anchors.clone()),
                    sweep_interval: Duration::from_millis(100),
                    upstream_timeout: Duration::from_secs(5),
                    instance_name: ((b'a' + i as u8) as char).to_string(),
                    ..Config::default()
                };
                adjust(&mut config);
                config
            })
            .collect();
        let instances: Vec<RunningApp> =
            futures::future::join_all(configs.into_iter().map(gateway::start))
                .await
                .into_iter()
                .map(|r| r.unwrap())
                .collect();
        let creds = add_client(instances[0].state.store.as_ref()).await;
        Cluster {
            upstream,
            pg,
            master_key,
            addrs: instances.iter().map(|app| app.addr).collect(),
            instances,
            _processes: Vec::new(),
            http: http(),
            creds,
            _dirs: dirs,
        }
    }

    /// Start `n` `digilocker-gateway serve` processes at the same moment,
    /// configured through the environment as in production.
    async fn start_processes(n: usize) -> Cluster {
        let upstream = Upstream::start().await;
        let pg = PgSchema::create().await;
        let master_key = gateway::crypto::MasterKey::generate_base64();
        let dirs: Vec<tempfile::TempDir> = (0..n).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut processes: Vec<tokio::process::Child> = dirs
            .iter()
            .enumerate()
            .map(|(i, dir)| {
                tokio::process::Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"))
                    .arg("serve")
                    .env_clear()
                    .env("GATEWAY_LISTEN", "127.0.0.1:0")
                    .env("GATEWAY_DATA_DIR", dir.path())
                    .env("GATEWAY_DATABASE_URL", &pg.url)
                    .env("GATEWAY_PUBLIC_BASE_URL", PUBLIC)
                    .env("GATEWAY_MASTER_KEY", &master_key)
                    .env("GATEWAY_DIGILOCKER_BASE_URL", &upstream.base)
                    .env("GATEWAY_DIGILOCKER_CLIENT_ID", &upstream.client_id)
                    .env("GATEWAY_DIGILOCKER_CLIENT_SECRET", &upstream.client_secret)
                    .env("GATEWAY_DIGILOCKER_ALLOW_HTTP", "true")
                    .env("GATEWAY_TRUST_ANCHORS", &upstream.trust_anchors)
                    .env("GATEWAY_INSTANCE_NAME", format!("process-{i}"))
                    .env("GATEWAY_UPSTREAM_TIMEOUT_SECONDS", "5")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut addrs = Vec::new();
        for (i, child) in processes.iter_mut().enumerate() {
            use tokio::io::AsyncBufReadExt;
            let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
            let addr = tokio::time::timeout(Duration::from_secs(60), async {
                while let Some(line) = lines.next_line().await.unwrap() {
                    if let Some(addr) = line.trim().strip_prefix("listening on ") {
                        return addr.parse::<std::net::SocketAddr>().unwrap();
                    }
                }
                panic!("gateway process {i} exited before listening")
            })
            .await
            .unwrap_or_else(|_| panic!("gateway process {i} did not start in 60 s"));
            // Keep reading so the process never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            addrs.push(addr);
        }
        let store = gateway::storage::PgStore::open(&pg.url).await.unwrap();
        let creds = add_client(&store).await;
        Cluster {
            upstream,
            pg,
            master_key,
            instances: Vec::new(),
            addrs,
            _processes: processes,
            http: http(),
            creds,
            _dirs: dirs,
        }
    }

    /// `url` (on the public base) as served by instance `i`: the load balancer's choice.
    fn via(&self, i: usize, url: &str) -> String {
        let rest = url
            .strip_prefix(PUBLIC)
            .unwrap_or_else(|| panic!("{url} is not on the public base {PUBLIC}"));
        format!("http://{}{rest}", self.addrs[i])
    }

    fn req(&self, i: usize, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.via(i, &format!("{PUBLIC}{path}")))
            .header("x-client-id", &self.creds.id)
            .header("x-client-secret", &self.creds.secret)
            .header("x-product-instance-id", &self.creds.instance)
    }

    async fn get(&self, i: usize, path: &str) -> (u16, Value) {
        TestApp::send(self.req(i, reqwest::Method::GET, path)).await
    }

    async fn post(&self, i: usize, path: &str, body: Value) -> (u16, Value) {
        TestApp::send(self.req(i, reqwest::Method::POST, path).json(&body)).await
    }

    async fn create(&self, i: usize) -> Value {
        let (s, v) = self
            .post(i, "/api/digilocker", json!({"redirectUrl": BUSINESS}))
            .await;
        assert_eq!(s, 201, "{v}");
        v
    }

    /// Wait until instance `i` answers the catalogue.
    async fn wait_catalogue(&self, i: usize) {
        for _ in 0..300 {
            let resp = self
                .req(
                    i,
                    reqwest::Method::GET,
                    "/api/digilocker/documents?docType=NONE",
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
        panic!("instance {i}: catalogue not built in 30 s");
    }

    /// Walk the happy citizen through DigiLocker for a request created on
    /// `create_on`, its link opened there; the callback goes to `callback_on`.
    /// Returns (request id, the callback URL as DigiLocker sent it).
    async fn consent(&self, create_on: usize, callback_on: usize) -> (String, String) {
        let created = self.create(create_on).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let link = created["url"].as_str().unwrap();
        assert!(
            link.starts_with(PUBLIC),
            "links use the public base URL: {link}"
        );
        let browser = Browser::new();
        let citizen = happy_citizen();
        let upstream = &self.upstream.base;
        let page = browser
            .get_following(&self.via(create_on, link), upstream)
            .await;
        assert_eq!(page.status, 200, "{page:?}");
        let page = browser
            .submit(
                &page,
                None,
                &[("username", citizen.aadhaar.as_deref().unwrap())],
                upstream,
            )
            .await;
        let page = browser
            .submit(&page, None, &[("otp", sandbox::seed::OTP)], upstream)
            .await;
        let consent = browser
            .submit(&page, None, &[("pin", &citizen.pin)], upstream)
            .await;
        assert!(
            consent.body.contains("decision"),
            "expected the consent page: {consent:?}"
        );
        let (action, mut fields) = consent.form(None);
        fields.retain(|(n, _)| n != "decision");
        fields.push(("decision".into(), "allow".into()));
        let back = browser
            .submit_fields(&consent, &action, &fields, upstream)
            .await;
        let callback = back
            .location
            .clone()
            .unwrap_or_else(|| panic!("DigiLocker sent the user nowhere: {back:?}"));
        assert!(
            callback.starts_with(&format!("{PUBLIC}/digilocker/callback?")),
            "{callback}"
        );
        // The load balancer sends the callback to `callback_on`.
        let done = browser.get(&self.via(callback_on, &callback)).await;
        let business = reqwest::Url::parse(
            done.location
                .as_deref()
                .unwrap_or_else(|| panic!("no redirect to the business: {done:?}")),
        )
        .unwrap();
        assert!(
            business
                .as_str()
                .starts_with("https://business.invalid/kyc/done"),
            "{business}"
        );
        assert_eq!(
            param(&business, "success").as_deref(),
            Some("True"),
            "{business}"
        );
        assert_eq!(param(&business, "id").as_deref(), Some(id.as_str()));
        (id, callback)
    }

    /// Instance `i` says the request is authenticated, for the happy citizen.
    async fn assert_authenticated(&self, i: usize, id: &str) {
        let (s, st) = self.get(i, &format!("/api/digilocker/{id}/status")).await;
        assert_eq!(s, 200, "{st}");
        assert_eq!(st["status"], "authenticated", "instance {i}: {st}");
        assert_eq!(
            st["digilockerUserDetails"]["digilockerId"],
            happy_citizen().digilocker_id.as_str()
        );
    }

    /// A raw pool on the cluster's schema.
    async fn db(&self) -> sqlx::PgPool {
        self.pg.pool().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journey_started_on_one_instance_completes_on_another_and_is_read_on_a_third() {
    let cl = Cluster::start(3, |_| {}).await;
    assert!(!cl.master_key.is_empty());
    cl.wait_catalogue(2).await;
    let (a, b, c) = (0, 1, 2);

    // The business creates the request on A, the user's browser opens the
    // link on A and goes through DigiLocker; the callback lands on B.
    let (id, callback) = cl.consent(a, b).await;
    let browser = Browser::new();
    // The same callback again, on any instance, is refused: it is single-use cluster-wide.
    for i in [a, b, c] {
        assert_eq!(
            browser.get(&cl.via(i, &callback)).await.status,
            400,
            "instance {i} accepted a used callback"
        );
    }

    // Status and documents, read on C (and A).
    for i in [c, a] {
        cl.assert_authenticated(i, &id).await;
    }
    let (_, docs) = cl.get(c, "/api/digilocker/documents?docType=PANCR").await;
    let pan = &docs["documents"][0];
    // The happy citizen's own PAN: an issuer finds only the holder's record.
    let params = crate::harness::happy_pan_parameters();
    let (s, file) = cl
        .post(c, &format!("/api/digilocker/{id}/document"), json!({"docType": "PANCR", "orgId": pan["orgId"], "format": "pdf", "consent": "Y", "parameters": params}))
        .await;
    assert_eq!(s, 200, "{file}");
    // The file link works on every instance: the file is in the database.
    let file_url = file["fileUrl"].as_str().unwrap();
    for i in [a, b] {
        let resp = cl.http.get(cl.via(i, file_url)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "instance {i}");
        assert!(resp.bytes().await.unwrap().starts_with(b"%PDF"));
    }
    // The e-Aadhaar, verified against the configured trust anchor, on B.
    let (s, ekyc) = cl.get(b, &format!("/api/digilocker/{id}/aadhaar")).await;
    assert_eq!(s, 200, "{ekyc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_requests_are_erased_once_by_concurrent_sweepers() {
    let cl = Cluster::start(2, |c| c.request_ttl = Duration::from_secs(2)).await;
    // Requests created on both instances; both sweepers run every 100 ms.
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(cl.create(i % 2).await["id"].as_str().unwrap().to_owned());
    }
    let store = &cl.instances[0].state.store;
    for id in &ids {
        for _ in 0..100 {
            if store.erasure_count(id).await.unwrap() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            store.erasure_count(id).await.unwrap(),
            1,
            "{id} was not erased"
        );
    }
    // Let both sweepers run over the (now erased) requests a few more times.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let db = cl.db().await;
    let log: Vec<(String, String)> = sqlx::query_as(
        "SELECT request_id, detail FROM events WHERE kind = 'erased' ORDER BY request_id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let mut logged: Vec<&str> = log.iter().map(|(id, _)| id.as_str()).collect();
    logged.dedup();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(logged, want, "one erasure event per request");
    assert_eq!(log.len(), ids.len());
    assert!(log.iter().all(|(_, d)| d.contains("expired")), "{log:?}");
    // Each instance counts what it erased: the sum is each request once.
    let mut erased_by = Vec::new();
    for app in &cl.instances {
        let m = cl
            .http
            .get(format!("http://{}/metrics", app.addr))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let n: u64 = m
            .lines()
            .find_map(|l| l.strip_prefix("gateway_requests_erased_total "))
            .unwrap_or_else(|| panic!("no erased counter in {m}"))
            .trim()
            .parse()
            .unwrap();
        erased_by.push(n);
    }
    assert_eq!(
        erased_by.iter().sum::<u64>(),
        ids.len() as u64,
        "erased per instance: {erased_by:?}"
    );
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM requests")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(rows, 0);

    // And the sweep itself, both instances at the same moment on one expired
    // request: one erases it, the other finds nothing.
    let id = cl.create(0).await["id"].as_str().unwrap().to_owned();
    sqlx::query("UPDATE requests SET valid_upto = 0 WHERE id = $1")
        .bind(&id)
        .execute(&db)
        .await
        .unwrap();
    let (a, b) = (
        gateway::sweeper::Sweeper::of(&cl.instances[0].state),
        gateway::sweeper::Sweeper::of(&cl.instances[1].state),
    );
    let (sa, sb) = tokio::join!(
        gateway::sweeper::sweep_once(&a),
        gateway::sweeper::sweep_once(&b)
    );
    let (sa, sb) = (sa.unwrap().requests, sb.unwrap().requests);
    // The background sweepers may have got there first; never twice.
    assert!(sa + sb <= 1, "erased {sa} + {sb} times");
    for _ in 0..50 {
        if store.erasure_count(&id).await.unwrap() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.erasure_count(&id).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_build_the_catalogue_once() {
    let cl = Cluster::start(3, |_| {}).await;
    for i in 0..3 {
        cl.wait_catalogue(i).await;
    }
    // The schedulers of the instances that lost the race look again every
    // two seconds until the catalogue is there: give them time to (wrongly)
    // build a second one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        cl.upstream.issuer_calls.load(Ordering::SeqCst),
        1,
        "DigiLocker's catalogue was listed more than once"
    );
    let meta = cl.instances[1]
        .state
        .store
        .catalogue_meta()
        .await
        .unwrap()
        .unwrap();
    assert!(meta.entries > 0);
    assert_eq!(meta.pending, 0, "every issuer asked: {meta:?}");
    // Every instance answers from it.
    let answers: Vec<Value> =
        futures::future::join_all((0..3).map(|i| cl.get(i, "/api/digilocker/documents")))
            .await
            .into_iter()
            .map(|(s, v)| {
                assert_eq!(s, 200);
                v
            })
            .collect();
    assert_eq!(
        answers[0]["documents"].as_array().unwrap().len() as i64,
        meta.entries
    );
    assert!(answers.iter().all(|a| *a == answers[0]));
}

/// The same as real processes: two `digilocker-gateway serve` started
/// together, configured only through the environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateway_processes_share_journeys_and_build_the_catalogue_once() {
    let cl = Cluster::start_processes(2).await;
    for i in 0..2 {
        cl.wait_catalogue(i).await;
    }
    let (id, _) = cl.consent(0, 1).await;
    cl.assert_authenticated(0, &id).await;
    cl.assert_authenticated(1, &id).await;
    // The loser of the catalogue race looks again after two seconds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        cl.upstream.issuer_calls.load(Ordering::SeqCst),
        1,
        "DigiLocker's catalogue was listed more than once"
    );
    let (pending,): (i64,) = sqlx::query_as("SELECT pending FROM catalogue_meta")
        .fetch_one(&cl.db().await)
        .await
        .unwrap();
    assert_eq!(pending, 0, "every issuer asked");
}

/// `catalogue refresh` on the command line is one catalogue pass, and no
/// server: on a machine where the service already holds the admin port, the
/// refresh still runs (it once started the whole gateway, listeners and all,
/// and stopped at "cannot listen").
#[tokio::test]
async fn the_command_line_refreshes_the_catalogue_without_a_server() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pg = if crate::harness::on_postgres() {
        Some(PgSchema::create().await)
    } else {
        None
    };
    // The running service's admin port.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let admin = taken.local_addr().unwrap().to_string();
    let key = gateway::crypto::MasterKey::generate_base64();
    let command = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"));
        cmd.env_clear()
            .env("GATEWAY_LOG", "warn")
            .env("GATEWAY_MODE", "production")
            .env("GATEWAY_DIGILOCKER_BASE_URL", &upstream.base)
            .env("GATEWAY_DIGILOCKER_CLIENT_ID", &upstream.client_id)
            .env("GATEWAY_DIGILOCKER_CLIENT_SECRET", &upstream.client_secret)
            .env("GATEWAY_DIGILOCKER_ALLOW_HTTP", "true")
            .env("GATEWAY_MASTER_KEY", &key)
            .env("GATEWAY_PUBLIC_BASE_URL", PUBLIC)
            .env("GATEWAY_ADMIN_LISTEN", &admin)
            .env("GATEWAY_CATALOGUE_CALLS_PER_SECOND", "2000")
            .arg("--data-dir")
            .arg(dir.path());
        if let Some(pg) = &pg {
            cmd.env("GATEWAY_DATABASE_URL", &pg.url);
        }
        cmd.args(args);
        cmd
    };
    let out = command(&["catalogue", "refresh"]).output().await.unwrap();
    let status = command(&["catalogue", "status"]).output().await.unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    // Every issuer was asked; the sandbox's failing ones failed, as some
    // of DigiLocker's do every day.
    let (asked, failed) = text
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("asked ")?;
            let (asked, rest) = rest.split_once(" issuers, ")?;
            let (failed, _) = rest.split_once(" failed")?;
            Some((asked.parse::<usize>().ok()?, failed.parse::<usize>().ok()?))
        })
        .unwrap_or_else(|| panic!("no pass report in {text}"));
    assert!(asked >= 60 && failed < asked, "{text}");
    // What it stored is the catalogue every instance serves.
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        status.contains(&format!(" issuers; {failed} failing, 0 not asked yet"))
            && status.contains(&format!("documents from {asked} issuers")),
        "{status}"
    );
    assert_eq!(upstream.issuer_calls.load(Ordering::SeqCst), 1);
    drop(taken);
}
