//! The run: build the binaries, then for each storage backend: the expiry
//! gateway's steady creates; the gateway and a fresh reference started and
//! given the requests their status runs read, while that cohort ages; the
//! expiry window; every call against both servers. Then the report.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::instance::{Expiry, Instance};
pub use crate::postgres::Schemas;
use crate::process;
use crate::report::{Call, CallRow, ExpiryRow, Measured, Report, RunInfo};
use crate::target::Target;
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
                seed_limit: Duration::from_secs(90),
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
    /// Where the temporary directory goes; `None`: `/dev/shm` if it exists.
    pub tmp_dir: Option<PathBuf>,
    /// Fail the run on a gross regression ([`crate::report::Goals::GATE`]),
    /// not only on errors.
    pub gate: bool,
}

/// Build (the `dist` profile: what is shipped, fat LTO) and locate the
/// gateway and the reference.
async fn binaries(options: &Options) -> anyhow::Result<(PathBuf, PathBuf)> {
    let exe = std::env::current_exe().context("cannot find the bench binary itself")?;
    // target/<profile>/bench -> target/dist/
    let dist = exe
        .parent()
        .and_then(Path::parent)
        .map(|t| t.join("dist"))
        .context("the bench binary is not in a cargo target directory")?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let build = |package: &'static str, bin: &'static str| {
        // In its own process group, which is sent SIGTERM if the run is
        // dropped (Ctrl-C) mid-build: killing cargo alone would leave its
        // rustc processes running.
        let mut cmd = tokio::process::Command::new(&cargo);
        cmd.current_dir(&root)
            .args(["build", "--profile", "dist", "-p", package, "--bin", bin])
            .process_group(0);
        // Under `cargo run`, cargo describes the bench package in these; a
        // build script that reads one (ring's reads CARGO_MANIFEST_DIR)
        // would otherwise see it change and rebuild everything above it
        // whenever the benchmark is started the other way.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("CARGO_PKG_")
                || matches!(
                    name.as_ref(),
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_BIN_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                )
            {
                cmd.env_remove(name.as_ref());
            }
        }
        async move {
            let mut child = cmd
                .spawn()
                .with_context(|| format!("cannot run cargo to build {bin}"))?;
            let mut group = process::GroupGuard::new(child.id());
            let status = child.wait().await?;
            group.disarm();
            if !status.success() {
                bail!("cargo build --profile dist -p {package} --bin {bin} failed ({status})");
            }
            anyhow::Ok(())
        }
    };
    let gateway = match &options.gateway_bin {
        Some(p) => p.clone(),
        None => {
            build("gateway", "digilocker-gateway").await?;
            dist.join("digilocker-gateway")
        }
    };
    let reference = match &options.reference_bin {
        Some(p) => p.clone(),
        None => {
            build("bench", "bench-reference").await?;
            dist.join("bench-reference")
        }
    };
    for p in [&gateway, &reference] {
        if !p.is_file() {
            bail!("{} does not exist", p.display());
        }
    }
    Ok((gateway, reference))
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

/// The gateway and a fresh reference for the side-by-side runs, and the
/// requests created on each for the status runs to read.
struct Compare {
    backend: Backend,
    dir: PathBuf,
    gateway: Instance,
    reference: Instance,
    gateway_ids: Vec<String>,
    reference_ids: Vec<String>,
    /// Time spent so far creating requests on the gateway.
    gateway_seeding: Duration,
}

impl Compare {
    async fn start(
        backend: Backend,
        bins: &(PathBuf, PathBuf),
        schemas: &Schemas,
        tmp: &Path,
    ) -> anyhow::Result<Compare> {
        let dir = tmp.join(format!("{}-compare", backend.slug()));
        let gateway = Instance::gateway(
            &bins.0,
            &dir,
            (backend == Backend::Postgres).then_some(schemas),
            None,
        )
        .await?;
        // The same requests, auth headers included, go to both servers.
        let reference = Instance::reference(&bins.1, &dir, gateway.target.headers.clone()).await?;
        println!(
            "[{}] gateway at {} (log {}), reference at {}",
            backend.label(),
            gateway.server.base,
            gateway.server.log.display(),
            reference.server.base
        );
        Ok(Compare {
            backend,
            dir,
            gateway,
            reference,
            gateway_ids: Vec::new(),
            reference_ids: Vec::new(),
            gateway_seeding: Duration::ZERO,
        })
    }

    /// Create requests until `until` (if given): on the gateway up to the
    /// plan's count within the plan's time budget, then on the reference
    /// as many as the gateway has, so both status runs read tables of the
    /// same size.
    async fn seed(&mut self, plan: &Plan, until: Option<Instant>) -> anyhow::Result<()> {
        let left = || until.map(|u| u.saturating_duration_since(Instant::now()));
        let want = plan.seed.saturating_sub(self.gateway_ids.len());
        let budget = plan.seed_limit.saturating_sub(self.gateway_seeding);
        let limit = left().map_or(budget, |l| l.min(budget));
        if want > 0 && !limit.is_zero() {
            let started = Instant::now();
            let ids = self
                .gateway
                .target
                .create_many(want, 64, limit)
                .await
                .context("creating requests on the gateway")?;
            self.gateway_seeding += started.elapsed();
            self.gateway_ids.extend(ids);
            println!(
                "[{}] {} requests created on the gateway ({:.1} s so far)",
                self.backend.label(),
                self.gateway_ids.len(),
                self.gateway_seeding.as_secs_f64()
            );
        }
        let want = self
            .gateway_ids
            .len()
            .saturating_sub(self.reference_ids.len());
        let limit = left().unwrap_or(Duration::from_secs(300));
        if want > 0 && !limit.is_zero() {
            let started = Instant::now();
            let ids = self
                .reference
                .target
                .create_many(want, 64, limit)
                .await
                .context("creating requests on the reference")?;
            self.reference_ids.extend(ids);
            println!(
                "[{}] {} requests created on the reference (+{:.1} s)",
                self.backend.label(),
                self.reference_ids.len(),
                started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }

    /// Every call against both servers, then stop them.
    async fn run(
        self,
        plan: &Plan,
        scripts: &Path,
        schemas: &Schemas,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let label = self.backend.label();
        if self.gateway_ids.is_empty() || self.reference_ids.len() != self.gateway_ids.len() {
            bail!(
                "{label}: {} requests created on the gateway and {} on the reference; \
                 nothing comparable to read",
                self.gateway_ids.len(),
                self.reference_ids.len()
            );
        }
        if self.gateway_ids.len() < plan.seed {
            report.notes.push(format!(
                "{label}: only {} of the {} requests were created on the gateway within {} s; \
                 the status runs read tables of that size",
                self.gateway_ids.len(),
                plan.seed,
                plan.seed_limit.as_secs()
            ));
        }
        let mut files = Vec::new();
        for (name, instance, ids) in [
            ("gateway", &self.gateway, &self.gateway_ids),
            ("reference", &self.reference, &self.reference_ids),
        ] {
            let path = self.dir.join(format!("{name}-ids.txt"));
            std::fs::write(&path, ids.join("\n") + "\n")?;
            let probe = instance
                .target
                .probe(&format!("/api/digilocker/{}/status", ids[0]), &[])
                .await?;
            if probe.status != 200 {
                bail!(
                    "the {name} answered {} to the status of a request it created",
                    probe.status
                );
            }
            files.push(path);
        }
        let waited = self
            .gateway
            .target
            .wait_for_catalogue(Duration::from_secs(300))
            .await?;
        if waited > Duration::from_millis(500) {
            println!(
                "[{label}] waited {:.1} s for the gateway's catalogue",
                waited.as_secs_f64()
            );
        }
        report
            .notes
            .push(catalogue_note(&format!("{label} gateway"), &self.gateway.target).await?);
        if !report.notes.iter().any(|n| n.starts_with("reference")) {
            report
                .notes
                .push(catalogue_note("reference", &self.reference.target).await?);
        }

        let gateway_runs = runs(plan, &self.gateway.target, &files[0]);
        let reference_runs = runs(plan, &self.reference.target, &files[1]);
        for ((call, g), (_, r)) in gateway_runs.iter().zip(&reference_runs) {
            let gateway = self.gateway.measure(g, scripts).await?;
            println!(
                "[{label}] {:<28} c{:<3} gateway   {}",
                call.label(),
                g.connections,
                gateway.summary()
            );
            let reference = self.reference.measure(r, scripts).await?;
            println!(
                "[{label}] {:<28} c{:<3} reference {}",
                call.label(),
                r.connections,
                reference.summary()
            );
            report.calls.push(CallRow {
                backend: label.to_owned(),
                call: *call,
                connections: g.connections,
                gateway,
                reference,
            });
        }
        self.gateway.stop(schemas).await?;
        self.reference.stop(schemas).await?;
        Ok(())
    }
}

/// A gateway with a short TTL: creates at full load while nothing expires
/// (the steady numbers; the requests are the cohort), then again while the
/// cohort expires and is swept.
struct ExpiryRun {
    backend: Backend,
    gateway: Instance,
    started: Instant,
    steady: Measured,
}

impl ExpiryRun {
    /// Start the gateway and run the steady part.
    async fn start(
        backend: Backend,
        plan: &Plan,
        bins: &(PathBuf, PathBuf),
        schemas: &Schemas,
        tmp: &Path,
    ) -> anyhow::Result<ExpiryRun> {
        let gateway = Instance::gateway(
            &bins.0,
            &tmp.join(format!("{}-expiry", backend.slug())),
            (backend == Backend::Postgres).then_some(schemas),
            Some(Expiry {
                ttl_seconds: plan.ttl_seconds,
                sweep_seconds: plan.sweep_seconds,
            }),
        )
        .await?;
        // The catalogue build would compete with the cohort's creation.
        gateway
            .target
            .wait_for_catalogue(Duration::from_secs(300))
            .await?;
        let started = Instant::now();
        let steady = gateway
            .measure(
                &create_run(plan, &gateway.target, plan.steady_seconds),
                &wrk::scripts_dir(tmp),
            )
            .await?;
        println!(
            "[{}] expiry: steady create        gateway   {}",
            backend.label(),
            steady.summary()
        );
        Ok(ExpiryRun {
            backend,
            gateway,
            started,
            steady,
        })
    }

    /// When the first of the cohort expires: `validUpto` is in whole
    /// seconds, so a second before its creation time plus the TTL.
    fn window_opens(&self, plan: &Plan) -> Instant {
        self.started + Duration::from_secs(plan.ttl_seconds.saturating_sub(1))
    }

    /// Wait for the window, create through it, stop the gateway.
    async fn finish(
        self,
        plan: &Plan,
        scripts: &Path,
        schemas: &Schemas,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let label = self.backend.label();
        let opens = self.window_opens(plan);
        println!(
            "[{label}] expiry: {:.0} s until the {} requests start to expire",
            opens
                .saturating_duration_since(Instant::now())
                .as_secs_f64(),
            self.steady.wrk.requests
        );
        tokio::time::sleep_until(opens.into()).await;
        let target = &self.gateway.target;
        let erased_before = target.erased_total().await;
        let during = self
            .gateway
            .measure(&create_run(plan, target, plan.during_seconds()), scripts)
            .await?;
        let erased_after = target.erased_total().await;
        println!(
            "[{label}] expiry: create during expiry gateway   {}",
            during.summary()
        );
        let erased_in_window = erased_before
            .zip(erased_after)
            .map(|(a, b)| b.saturating_sub(a));
        match erased_in_window {
            Some(n) if (n as f64) < self.steady.wrk.requests => report.notes.push(format!(
                "{label} expiry: only {n} of the {} requests of the cohort were erased within the window",
                self.steady.wrk.requests
            )),
            None => report.notes.push(format!(
                "{label} expiry: the gateway's /metrics has no requests_erased counter; erasures not counted"
            )),
            _ => {}
        }
        report.expiry.push(ExpiryRow {
            backend: label.to_owned(),
            ttl_seconds: plan.ttl_seconds,
            sweep_seconds: plan.sweep_seconds,
            steady: self.steady,
            during,
            erased_in_window,
        });
        self.gateway.stop(schemas).await
    }
}

fn create_run(plan: &Plan, target: &Target, seconds: u64) -> wrk::Run {
    wrk::Run {
        script: Script::Create,
        url: format!("{}/api/digilocker", target.base),
        connections: plan.create_connections,
        seconds,
        headers: target.headers.clone(),
        script_args: Vec::new(),
    }
}

/// One backend: the expiry's steady part first, so that its cohort ages
/// while the side-by-side servers get their requests created (nothing is
/// measured meanwhile); its window; then the side-by-side runs.
async fn backend_run(
    backend: Backend,
    options: &Options,
    bins: &(PathBuf, PathBuf),
    schemas: &Schemas,
    tmp: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let plan = &options.plan;
    let scripts = wrk::scripts_dir(tmp);
    let expiry = if plan.expiry {
        Some(ExpiryRun::start(backend, plan, bins, schemas, tmp).await?)
    } else {
        None
    };
    let mut compare = Compare::start(backend, bins, schemas, tmp).await?;
    if let Some(expiry) = expiry {
        // Stop creating two seconds before the window, so the machine is
        // quiet again when it opens.
        let until = expiry.window_opens(plan) - Duration::from_secs(2);
        compare.seed(plan, Some(until)).await?;
        expiry.finish(plan, &scripts, schemas, report).await?;
    }
    compare.seed(plan, None).await?;
    compare.run(plan, &scripts, schemas, report).await
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
    // In memory by default: on a shared machine, another process's disk
    // writes would otherwise stall SQLite's checkpoints at random.
    let parent = options
        .tmp_dir
        .clone()
        .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()))
        .unwrap_or_else(std::env::temp_dir);
    let mut tmp = tempfile::Builder::new()
        .prefix("gateway-bench-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot make a directory in {}", parent.display()))?;
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
        backend_run(backend, options, &bins, schemas, tmp.path(), &mut report).await?;
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
            "{}; servers' files in {}; {:.0} s in all",
            options.plan.describe(),
            parent.display(),
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
    let mut regressions = 0;
    if options.gate {
        println!("\ngate (gross regressions only; the targets are in the table above):");
        for c in report.checks_against(crate::report::Goals::GATE) {
            println!(
                "  {} {} {}: {} (gate {})",
                if c.met { "ok  " } else { "FAIL" },
                c.backend,
                c.target,
                c.measured,
                c.goal
            );
            if !c.met {
                regressions += 1;
            }
        }
    }
    Ok(failures.is_empty() && regressions == 0)
}
