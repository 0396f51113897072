//! The run: build the binaries, then for each storage backend start the
//! gateway and a fresh reference, create the requests the status runs read,
//! run every call against both, then the expiry runs; print the report.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::cpu;
use crate::process::{self, Server};
use crate::report::{Call, CallRow, ExpiryRow, Measured, Report, RunInfo};
use crate::rss::PeakWatch;
use crate::target::{Credentials, Target};
use crate::wrk::{self, Script};

/// The gateway's storage backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The name in the report.
    pub fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How long and how hard: the full run or `--quick`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub quick: bool,
    /// wrk's duration for each call.
    pub call_seconds: u64,
    /// Requests created on each server before the status runs.
    pub seed: usize,
    /// At most this long for creating them on the gateway.
    pub seed_limit: Duration,
    pub create_connections: u32,
    /// The status call runs once per entry.
    pub status_connections: Vec<u32>,
    pub catalogue_connections: u32,
    /// The expiry runs' `GATEWAY_REQUEST_TTL_SECONDS`.
    pub ttl_seconds: u64,
    /// The expiry runs' `GATEWAY_SWEEP_INTERVAL_SECONDS`.
    pub sweep_seconds: u64,
    /// How long the cohort is created (the steady measurement).
    pub steady_seconds: u64,
    pub expiry: bool,
}

impl Plan {
    /// The full run (issue settings) or a smoke run of about a minute.
    pub fn new(quick: bool, expiry: bool) -> Plan {
        if quick {
            Plan {
                quick,
                call_seconds: 2,
                seed: 5_000,
                seed_limit: Duration::from_secs(20),
                create_connections: 64,
                status_connections: vec![64, 256],
                catalogue_connections: 16,
                ttl_seconds: 12,
                sweep_seconds: 2,
                steady_seconds: 4,
                expiry,
            }
        } else {
            Plan {
                quick,
                call_seconds: 10,
                seed: 100_000,
                seed_limit: Duration::from_secs(120),
                create_connections: 64,
                status_connections: vec![64, 256],
                catalogue_connections: 16,
                ttl_seconds: 50,
                sweep_seconds: 5,
                steady_seconds: 15,
                expiry,
            }
        }
    }

    /// The window measured while the cohort expires: it starts a second
    /// before the first of the cohort expires (`validUpto` is in whole
    /// seconds) and lasts until the last of it has been swept, plus a margin.
    pub fn during_seconds(&self) -> u64 {
        self.steady_seconds + self.sweep_seconds + 3
    }

    fn describe(&self) -> String {
        format!(
            "{} run: wrk 1 thread, {} s per call, {} requests created before the status runs{}",
            if self.quick { "quick" } else { "full" },
            self.call_seconds,
            self.seed,
            if self.expiry {
                format!(
                    ", expiry with a {} s TTL and a {} s sweep",
                    self.ttl_seconds, self.sweep_seconds
                )
            } else {
                String::new()
            }
        )
    }
}

/// Everything the run needs from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub plan: Plan,
    pub backends: Vec<Backend>,
    /// PostgreSQL server for the PostgreSQL runs; a fresh schema is made in it.
    pub pg_url: String,
    /// Prebuilt binaries; `None` builds them with cargo.
    pub gateway_bin: Option<PathBuf>,
    pub reference_bin: Option<PathBuf>,
    /// Where the markdown report goes; `None`: `target/bench/results-<time>.md`.
    pub out: Option<PathBuf>,
    /// Keep the temporary directory (servers' logs and databases).
    pub keep: bool,
}

/// PostgreSQL schemas made by this run, dropped at the end even after an
/// error or Ctrl-C.
#[derive(Debug, Clone, Default)]
pub struct Schemas {
    pg_url: String,
    made: Arc<Mutex<Vec<String>>>,
}

impl Schemas {
    /// Schemas in the database at `pg_url`.
    pub fn new(pg_url: &str) -> Schemas {
        Schemas {
            pg_url: pg_url.to_owned(),
            made: Arc::default(),
        }
    }

    async fn admin(&self) -> anyhow::Result<sqlx::PgPool> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect(&self.pg_url)
            .await
            .with_context(|| {
                format!(
                    "PostgreSQL is not reachable at {}: start it, pass --pg-url, or run with --backend sqlite",
                    self.pg_url
                )
            })?;
        Ok(pool)
    }

    /// Fail early when PostgreSQL is not there.
    pub async fn check(&self) -> anyhow::Result<()> {
        self.admin().await?.close().await;
        Ok(())
    }

    /// A fresh schema; the database URL that makes it the search path.
    async fn create(&self) -> anyhow::Result<(String, String)> {
        let schema = format!("gwbench_{}", uuid::Uuid::new_v4().simple());
        let admin = self.admin().await?;
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await?;
        admin.close().await;
        if let Ok(mut made) = self.made.lock() {
            made.push(schema.clone());
        }
        let sep = if self.pg_url.contains('?') { '&' } else { '?' };
        // The application name tells the gateway's backends apart in
        // pg_stat_activity, so their CPU time can be counted.
        let url = format!(
            "{}{sep}options=-csearch_path%3D{schema}&application_name={schema}",
            self.pg_url
        );
        Ok((schema, url))
    }

    /// A watch on the PostgreSQL backends serving connections named `schema`.
    async fn watch(&self, schema: &str) -> anyhow::Result<Backends> {
        Ok(Backends {
            pool: self.admin().await?,
            application_name: schema.to_owned(),
        })
    }

    async fn drop_one(&self, schema: &str) -> anyhow::Result<()> {
        let admin = self.admin().await?;
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(&admin)
            .await?;
        admin.close().await;
        if let Ok(mut made) = self.made.lock() {
            made.retain(|s| s != schema);
        }
        Ok(())
    }

    /// Drop every schema this run made and has not dropped yet.
    pub async fn drop_all(&self) {
        let left: Vec<String> = self.made.lock().map(|m| m.clone()).unwrap_or_default();
        for schema in left {
            if let Err(e) = self.drop_one(&schema).await {
                eprintln!("bench: could not drop schema {schema}: {e:#}");
            }
        }
    }
}

/// The PostgreSQL backend processes serving one gateway.
#[derive(Debug)]
struct Backends {
    pool: sqlx::PgPool,
    application_name: String,
}

impl Backends {
    /// Their pids right now (none if PostgreSQL is on another machine, in
    /// effect: their `/proc` entries will not be found).
    async fn pids(&self) -> Vec<u32> {
        sqlx::query_scalar::<_, i32>("SELECT pid FROM pg_stat_activity WHERE application_name = $1")
            .bind(&self.application_name)
            .fetch_all(&self.pool)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| u32::try_from(p).ok())
            .collect()
    }
}

/// Build (release) and locate the gateway and the reference.
async fn binaries(options: &Options) -> anyhow::Result<(PathBuf, PathBuf)> {
    let exe = std::env::current_exe().context("cannot find the bench binary itself")?;
    // target/<profile>/bench -> target/release/
    let release = exe
        .parent()
        .and_then(Path::parent)
        .map(|t| t.join("release"))
        .context("the bench binary is not in a cargo target directory")?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build = |package: &'static str, bin: &'static str| {
        // In its own process group, which is sent SIGTERM if the run is
        // dropped (Ctrl-C) mid-build: killing cargo alone would leave its
        // rustc processes running.
        let mut cmd = tokio::process::Command::new(&cargo);
        cmd.current_dir(&root)
            .args(["build", "--release", "-p", package, "--bin", bin])
            .process_group(0);
        async move {
            let mut child = cmd
                .spawn()
                .with_context(|| format!("cannot run cargo to build {bin}"))?;
            let mut group = process::GroupGuard::new(child.id());
            let status = child.wait().await?;
            group.disarm();
            if !status.success() {
                bail!("cargo build --release -p {package} --bin {bin} failed ({status})");
            }
            anyhow::Ok(())
        }
    };
    let gateway = match &options.gateway_bin {
        Some(p) => p.clone(),
        None => {
            build("gateway", "digilocker-gateway").await?;
            release.join("digilocker-gateway")
        }
    };
    let reference = match &options.reference_bin {
        Some(p) => p.clone(),
        None => {
            build("bench", "bench-reference").await?;
            release.join("bench-reference")
        }
    };
    for p in [&gateway, &reference] {
        if !p.is_file() {
            bail!("{} does not exist", p.display());
        }
    }
    Ok((gateway, reference))
}

/// The gateway's environment for one run: sandbox mode, a temporary data
/// directory, no rate limit (one client drives all the load).
fn gateway_env(
    data_dir: &Path,
    database_url: Option<&str>,
    expiry: Option<(u64, u64)>,
) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "GATEWAY_DATA_DIR".to_owned(),
            data_dir.to_string_lossy().into_owned(),
        ),
        ("GATEWAY_RATE_LIMIT_PER_SECOND".to_owned(), "0".to_owned()),
    ];
    if let Some(url) = database_url {
        env.push(("GATEWAY_DATABASE_URL".to_owned(), url.to_owned()));
    }
    if let Some((ttl, sweep)) = expiry {
        env.push(("GATEWAY_REQUEST_TTL_SECONDS".to_owned(), ttl.to_string()));
        env.push((
            "GATEWAY_SWEEP_INTERVAL_SECONDS".to_owned(),
            sweep.to_string(),
        ));
    }
    env
}

/// `digilocker-gateway client add`, then `serve` on a free port.
async fn start_gateway(
    bin: &Path,
    env: &[(String, String)],
    dir: &Path,
) -> anyhow::Result<(Server, Credentials)> {
    let mut add = process::command(bin);
    add.args(["client", "add", "--name", "bench"])
        .envs(env.iter().cloned());
    let out = tokio::time::timeout(Duration::from_secs(60), add.output())
        .await
        .context("`digilocker-gateway client add` took over 60 s")??;
    if !out.status.success() {
        bail!(
            "`digilocker-gateway client add` failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let credentials = Credentials::from_client_add(&String::from_utf8_lossy(&out.stdout))?;
    let mut serve = process::command(bin);
    serve
        .args(["serve", "--listen", "127.0.0.1:0"])
        .envs(env.iter().cloned());
    let server = Server::start(
        "gateway",
        serve,
        dir.join("gateway.log"),
        Duration::from_secs(120),
    )
    .await?;
    Ok((server, credentials))
}

async fn start_reference(bin: &Path, dir: &Path) -> anyhow::Result<Server> {
    let mut cmd = process::command(bin);
    cmd.arg("--db")
        .arg(dir.join("reference.sqlite"))
        .args(["--listen", "127.0.0.1:0"]);
    Server::start(
        "reference server",
        cmd,
        dir.join("reference.log"),
        Duration::from_secs(60),
    )
    .await
}

/// One wrk run against `server`, with its peak RSS and CPU time (and that
/// of the PostgreSQL backends serving it, if any).
async fn measure(
    server: &Server,
    run: &wrk::Run,
    scripts: &Path,
    database: Option<&Backends>,
) -> anyhow::Result<Measured> {
    let pids = match database {
        Some(d) => d.pids().await,
        None => Vec::new(),
    };
    let watch = PeakWatch::start(server.pid);
    let before = cpu::snapshot(server.pid, &pids);
    let result = run.run(scripts).await;
    let after = cpu::snapshot(server.pid, &pids);
    let peak_rss_kib = watch.finish().await;
    let wrk = result.with_context(|| format!("the {} run failed", server.name))?;
    let usage = before.zip(after).and_then(|(a, b)| cpu::between(&a, &b));
    Ok(Measured {
        wrk,
        peak_rss_kib,
        server_cpu_seconds: usage.map(|u| u.server_seconds),
        database_cpu_seconds: usage.and_then(|u| u.database_seconds),
        other_cores: usage.map(|u| u.other_cores),
    })
}

fn describe(m: &Measured) -> String {
    format!(
        "{:>7.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  {:>9.0} B/answer  peak RSS {:>6.1} MiB  \
         CPU {:>4.0} µs/answer{}  other load {:.1} cores  errors {}",
        m.wrk.rate(),
        m.wrk.p50_us / 1000.0,
        m.wrk.p99_us / 1000.0,
        m.wrk.bytes_per_answer(),
        m.peak_rss_kib.unwrap_or(0) as f64 / 1024.0,
        m.cpu_us_per_answer().unwrap_or(f64::NAN),
        m.database_us_per_answer()
            .map(|d| format!(" + PostgreSQL {d:.0} µs"))
            .unwrap_or_default(),
        m.other_cores.unwrap_or(f64::NAN),
        m.wrk.errors()
    )
}

/// The runs of one call, as wrk sees them, for a target.
fn runs(plan: &Plan, target: &Target, ids: &Path) -> Vec<(Call, wrk::Run)> {
    let run = |script, path: &str, connections, extra: Option<&str>| wrk::Run {
        script,
        url: format!("{}{path}", target.base),
        connections,
        seconds: plan.call_seconds,
        headers: target
            .headers
            .iter()
            .cloned()
            .chain(extra.map(str::to_owned))
            .collect(),
        script_args: if script == Script::Status {
            vec![ids.to_string_lossy().into_owned()]
        } else {
            Vec::new()
        },
    };
    let mut out = Vec::new();
    for &c in &plan.status_connections {
        out.push((Call::Status, run(Script::Status, "/", c, None)));
    }
    out.push((
        Call::Catalogue,
        run(
            Script::Get,
            "/api/digilocker/documents",
            plan.catalogue_connections,
            None,
        ),
    ));
    out.push((
        Call::CatalogueCompressed,
        run(
            Script::Get,
            "/api/digilocker/documents",
            plan.catalogue_connections,
            Some("Accept-Encoding: gzip, br"),
        ),
    ));
    // Last, so the status runs read a table of exactly `seed` rows.
    out.push((
        Call::Create,
        run(
            Script::Create,
            "/api/digilocker",
            plan.create_connections,
            None,
        ),
    ));
    out
}

/// What the catalogue answers look like, for the notes under the table.
async fn catalogue_note(name: &str, target: &Target) -> anyhow::Result<String> {
    let plain = target.probe("/api/digilocker/documents", &[]).await?;
    let packed = target
        .probe(
            "/api/digilocker/documents",
            &[("accept-encoding", "gzip, br")],
        )
        .await?;
    let entries = serde_json::from_slice::<serde_json::Value>(&plain.body)
        .ok()
        .and_then(|v| v["documents"].as_array().map(Vec::len))
        .unwrap_or(0);
    Ok(format!(
        "{name} catalogue: {entries} documents, body {} bytes; with `Accept-Encoding: gzip, br`: \
         `Content-Encoding: {}`, body {} bytes",
        plain.body_bytes, packed.encoding, packed.body_bytes
    ))
}

/// Both servers, every call.
async fn compare(
    backend: Backend,
    options: &Options,
    bins: &(PathBuf, PathBuf),
    schemas: &Schemas,
    tmp: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let plan = &options.plan;
    let dir = tmp.join(format!("{}-compare", backend.slug()));
    std::fs::create_dir_all(&dir)?;
    let scripts = wrk::scripts_dir(tmp);
    let schema = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(schemas.create().await?),
    };
    let env = gateway_env(&dir, schema.as_ref().map(|(_, url)| url.as_str()), None);
    let database = match &schema {
        Some((name, _)) => Some(schemas.watch(name).await?),
        None => None,
    };
    let (gateway, credentials) = start_gateway(&bins.0, &env, &dir).await?;
    let reference = start_reference(&bins.1, &dir).await?;
    println!(
        "[{}] gateway at {} (log {}), reference at {}",
        backend.label(),
        gateway.base,
        gateway.log.display(),
        reference.base
    );
    // The same requests, auth headers included, go to both servers.
    let gw = Target::new(&gateway.base, credentials.header_lines())?;
    let rf = Target::new(&reference.base, credentials.header_lines())?;

    // The gateway first, bounded in time (a loaded machine or PostgreSQL can
    // be slow); the reference then gets as many rows, so both status runs
    // read tables of the same size.
    let mut ids_files = Vec::new();
    let mut count = plan.seed;
    for (name, target) in [("gateway", &gw), ("reference", &rf)] {
        let started = Instant::now();
        let ids = target
            .create_many(count, 64, plan.seed_limit)
            .await
            .with_context(|| format!("creating {count} requests on the {name}"))?;
        if ids.len() < count {
            report.notes.push(format!(
                "{}: only {} of the {count} requests were created within {} s; \
                 the status runs read tables of that size",
                backend.label(),
                ids.len(),
                plan.seed_limit.as_secs()
            ));
        }
        count = ids.len();
        let path = dir.join(format!("{name}-ids.txt"));
        std::fs::write(&path, ids.join("\n") + "\n")?;
        let probe = target
            .probe(&format!("/api/digilocker/{}/status", ids[0]), &[])
            .await?;
        if probe.status != 200 {
            bail!(
                "the {name} answered {} to the status of a request it just created",
                probe.status
            );
        }
        println!(
            "[{}] created {count} requests on the {name} in {:.1} s",
            backend.label(),
            started.elapsed().as_secs_f64()
        );
        ids_files.push(path);
    }
    let waited = gw.wait_for_catalogue(Duration::from_secs(300)).await?;
    println!(
        "[{}] gateway catalogue ready ({:.1} s after seeding)",
        backend.label(),
        waited.as_secs_f64()
    );
    report
        .notes
        .push(catalogue_note(&format!("{} gateway", backend.label()), &gw).await?);
    if !report.notes.iter().any(|n| n.starts_with("reference")) {
        report.notes.push(catalogue_note("reference", &rf).await?);
    }

    let gateway_runs = runs(plan, &gw, &ids_files[0]);
    let reference_runs = runs(plan, &rf, &ids_files[1]);
    for ((call, g), (_, r)) in gateway_runs.iter().zip(&reference_runs) {
        let gm = measure(&gateway, g, &scripts, database.as_ref()).await?;
        println!(
            "[{}] {:<28} c{:<3} gateway   {}",
            backend.label(),
            call.label(),
            g.connections,
            describe(&gm)
        );
        let rm = measure(&reference, r, &scripts, None).await?;
        println!(
            "[{}] {:<28} c{:<3} reference {}",
            backend.label(),
            call.label(),
            r.connections,
            describe(&rm)
        );
        report.calls.push(CallRow {
            backend: backend.label().to_owned(),
            call: *call,
            connections: g.connections,
            gateway: gm,
            reference: rm,
        });
    }
    // Report a crash rather than let its errors speak for it.
    let (mut gateway, mut reference) = (gateway, reference);
    for server in [&mut gateway, &mut reference] {
        if !server.running() {
            bail!(
                "the {} exited during the runs; its last output:\n{}",
                server.name,
                server.log_tail(40)
            );
        }
    }
    gateway.stop().await?;
    reference.stop().await?;
    if let Some(d) = database {
        d.pool.close().await;
    }
    if let Some((schema, _)) = schema {
        schemas.drop_one(&schema).await?;
    }
    Ok(())
}

/// Creates at full load while nothing expires, then while that cohort
/// expires and is swept.
async fn expiry(
    backend: Backend,
    options: &Options,
    bins: &(PathBuf, PathBuf),
    schemas: &Schemas,
    tmp: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let plan = &options.plan;
    let dir = tmp.join(format!("{}-expiry", backend.slug()));
    std::fs::create_dir_all(&dir)?;
    let scripts = wrk::scripts_dir(tmp);
    let schema = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(schemas.create().await?),
    };
    let env = gateway_env(
        &dir,
        schema.as_ref().map(|(_, url)| url.as_str()),
        Some((plan.ttl_seconds, plan.sweep_seconds)),
    );
    let database = match &schema {
        Some((name, _)) => Some(schemas.watch(name).await?),
        None => None,
    };
    let (mut gateway, credentials) = start_gateway(&bins.0, &env, &dir).await?;
    let gw = Target::new(&gateway.base, credentials.header_lines())?;
    // The catalogue build would compete with the cohort's creation.
    gw.wait_for_catalogue(Duration::from_secs(300)).await?;
    let create = |seconds| wrk::Run {
        script: Script::Create,
        url: format!("{}/api/digilocker", gw.base),
        connections: plan.create_connections,
        seconds,
        headers: gw.headers.clone(),
        script_args: Vec::new(),
    };
    let started = Instant::now();
    let steady = measure(
        &gateway,
        &create(plan.steady_seconds),
        &scripts,
        database.as_ref(),
    )
    .await?;
    println!(
        "[{}] expiry: steady create        gateway   {}",
        backend.label(),
        describe(&steady)
    );
    let window = Duration::from_secs(plan.ttl_seconds.saturating_sub(1));
    let wait = window.saturating_sub(started.elapsed());
    println!(
        "[{}] expiry: waiting {:.0} s for the {} requests to expire",
        backend.label(),
        wait.as_secs_f64(),
        steady.wrk.requests
    );
    tokio::time::sleep(wait).await;
    let erased_before = gw.erased_total().await;
    let during = measure(
        &gateway,
        &create(plan.during_seconds()),
        &scripts,
        database.as_ref(),
    )
    .await?;
    let erased_after = gw.erased_total().await;
    println!(
        "[{}] expiry: create during expiry gateway   {}",
        backend.label(),
        describe(&during)
    );
    let erased_in_window = match (erased_before, erased_after) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    match erased_in_window {
        Some(n) if (n as f64) < steady.wrk.requests => report.notes.push(format!(
            "{} expiry: only {n} of the {} requests of the cohort were erased within the window",
            backend.label(),
            steady.wrk.requests
        )),
        None => report.notes.push(format!(
            "{} expiry: the gateway's /metrics has no requests_erased counter; erasures not counted",
            backend.label()
        )),
        _ => {}
    }
    report.expiry.push(ExpiryRow {
        backend: backend.label().to_owned(),
        ttl_seconds: plan.ttl_seconds,
        sweep_seconds: plan.sweep_seconds,
        steady,
        during,
        erased_in_window,
    });
    if !gateway.running() {
        bail!(
            "the gateway exited during the expiry runs; its last output:\n{}",
            gateway.log_tail(40)
        );
    }
    gateway.stop().await?;
    if let Some(d) = database {
        d.pool.close().await;
    }
    if let Some((schema, _)) = schema {
        schemas.drop_one(&schema).await?;
    }
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "n/a".to_owned())
}

fn machine() -> (String, usize, f64) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| crate::rss::parse_status_kib(&s, "MemTotal"))
        .map(|k| k as f64 / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    (cpu, cores, memory_gib)
}

fn commit() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .current_dir(&root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(c) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{c} + uncommitted changes")
            } else {
                c
            }
        }
        None => "unknown".to_owned(),
    }
}

/// The whole run. `Ok(true)` when every phase ran without errors.
pub async fn run(options: &Options, schemas: &Schemas) -> anyhow::Result<bool> {
    if !wrk::installed() {
        bail!("wrk is not installed: `apt-get install wrk` (scripts/bench.sh installs it)");
    }
    if options.backends.contains(&Backend::Postgres) {
        schemas.check().await?;
    }
    let bins = binaries(options).await?;
    let mut tmp = tempfile::Builder::new()
        .prefix("gateway-bench-")
        .tempdir()?;
    if options.keep {
        tmp.disable_cleanup(true);
        println!("bench: keeping {}", tmp.path().display());
    }
    let scripts = wrk::scripts_dir(tmp.path());
    std::fs::create_dir_all(&scripts)?;
    wrk::write_scripts(&scripts)?;
    let load_before = loadavg();
    let started = Instant::now();
    println!("bench: {}", options.plan.describe());

    let mut report = Report::default();
    for &backend in &options.backends {
        compare(backend, options, &bins, schemas, tmp.path(), &mut report).await?;
        if options.plan.expiry {
            expiry(backend, options, &bins, schemas, tmp.path(), &mut report).await?;
        }
    }

    let (cpu, cores, memory_gib) = machine();
    let now = time::OffsetDateTime::now_utc();
    let date = now
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default();
    report.info = RunInfo {
        date,
        commit: commit(),
        cpu,
        cores,
        memory_gib,
        load_before,
        load_after: loadavg(),
        mode: format!(
            "{}; {:.0} s in all",
            options.plan.describe(),
            started.elapsed().as_secs_f64()
        ),
    };
    let markdown = report.markdown();
    println!("\n{markdown}");
    let out = match &options.out {
        Some(p) => p.clone(),
        None => {
            let stamp = now
                .format(time::macros::format_description!(
                    "[year][month][day]-[hour][minute][second]"
                ))
                .unwrap_or_default();
            std::env::current_exe()?
                .parent()
                .and_then(Path::parent)
                .context("no target directory")?
                .join("bench")
                .join(format!("results-{stamp}.md"))
        }
    };
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, &markdown).with_context(|| format!("cannot write {}", out.display()))?;
    println!("results written to {}", out.display());
    let failures = report.failures();
    for f in &failures {
        eprintln!("bench: errors in {f}");
    }
    Ok(failures.is_empty())
}
