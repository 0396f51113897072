//! A server under test: its process, how to call it, and (for the gateway
//! on PostgreSQL) its database; measuring one wrk run against it.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::cpu;
use crate::postgres::{Database, Schemas};
use crate::process::{self, Server};
use crate::report::Measured;
use crate::rss::PeakWatch;
use crate::target::{Credentials, Target};
use crate::wrk;

/// A started server.
#[derive(Debug)]
pub struct Instance {
    pub server: Server,
    pub target: Target,
    /// The gateway's PostgreSQL schema; `None` on SQLite and for the reference.
    pub database: Option<Database>,
}

/// Expiry settings of a gateway: TTL and sweep interval, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Expiry {
    pub ttl_seconds: u64,
    pub sweep_seconds: u64,
}

/// The gateway's environment: sandbox mode (asked for: on PostgreSQL the
/// gateway runs the sandbox only when asked), its own data directory, no
/// rate limit (one client makes all the load). The embedded sandbox's
/// issuers all answer, and the catalogue is asked for without pacing, so
/// its first build is complete within seconds and nothing rebuilds it while
/// the calls are measured (the reference serves a fixed catalogue of the
/// same 10,000 documents): a failing issuer is retried, and the catalogue
/// stored again, every minute or so, which would measure rebuilds against
/// a reference that has none.
pub fn gateway_env(
    data_dir: &Path,
    database_url: Option<&str>,
    expiry: Option<Expiry>,
) -> Vec<(String, String)> {
    let mut env = vec![
        ("GATEWAY_MODE".to_owned(), "sandbox".to_owned()),
        (
            "GATEWAY_DATA_DIR".to_owned(),
            data_dir.to_string_lossy().into_owned(),
        ),
        ("GATEWAY_RATE_LIMIT_PER_SECOND".to_owned(), "0".to_owned()),
        (
            "GATEWAY_SANDBOX_FAILING_ISSUERS".to_owned(),
            "false".to_owned(),
        ),
        (
            "GATEWAY_CATALOGUE_CALLS_PER_SECOND".to_owned(),
            "100000".to_owned(),
        ),
    ];
    if let Some(url) = database_url {
        env.push(("GATEWAY_DATABASE_URL".to_owned(), url.to_owned()));
    }
    if let Some(e) = expiry {
        env.push((
            "GATEWAY_REQUEST_TTL_SECONDS".to_owned(),
            e.ttl_seconds.to_string(),
        ));
        env.push((
            "GATEWAY_SWEEP_INTERVAL_SECONDS".to_owned(),
            e.sweep_seconds.to_string(),
        ));
    }
    env
}

impl Instance {
    /// `digilocker-gateway client add`, then `serve` on a free port, with
    /// its data (and log) in `dir`; on PostgreSQL when `schemas` is given.
    pub async fn gateway(
        bin: &Path,
        dir: &Path,
        schemas: Option<&Schemas>,
        expiry: Option<Expiry>,
    ) -> anyhow::Result<Instance> {
        std::fs::create_dir_all(dir)?;
        let database = match schemas {
            Some(s) => Some(s.fresh().await?),
            None => None,
        };
        let env = gateway_env(dir, database.as_ref().map(|d| d.url.as_str()), expiry);
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
        let target = Target::new(&server.base, credentials.header_lines())?;
        Ok(Instance {
            server,
            target,
            database,
        })
    }

    /// `bench-reference` with its database in `dir`, sent `headers` (which
    /// it ignores) so that it gets byte for byte the gateway's requests.
    pub async fn reference(
        bin: &Path,
        dir: &Path,
        headers: Vec<String>,
    ) -> anyhow::Result<Instance> {
        std::fs::create_dir_all(dir)?;
        let mut cmd = process::command(bin);
        cmd.arg("--db")
            .arg(dir.join("reference.sqlite"))
            .args(["--listen", "127.0.0.1:0"]);
        let server = Server::start(
            "reference server",
            cmd,
            dir.join("reference.log"),
            Duration::from_secs(60),
        )
        .await?;
        let target = Target::new(&server.base, headers)?;
        Ok(Instance {
            server,
            target,
            database: None,
        })
    }

    /// One wrk run, with the server's peak RSS and CPU time (and that of
    /// the PostgreSQL backends serving it).
    pub async fn measure(&self, run: &wrk::Run, scripts: &Path) -> anyhow::Result<Measured> {
        let pids = match &self.database {
            Some(d) => d.backends.pids().await,
            None => Vec::new(),
        };
        let pid = self.server.pid;
        let watch = PeakWatch::start(pid);
        let before = cpu::snapshot(pid, &pids);
        let result = run.run(scripts).await;
        let after = cpu::snapshot(pid, &pids);
        let peak_rss_kib = watch.finish().await;
        let wrk = result.with_context(|| format!("the {} run failed", self.server.name))?;
        let usage = before.zip(after).and_then(|(a, b)| cpu::between(&a, &b));
        Ok(Measured {
            wrk,
            peak_rss_kib,
            server_cpu_seconds: usage.map(|u| u.server_seconds),
            database_cpu_seconds: usage.and_then(|u| u.database_seconds),
            other_cores: usage.map(|u| u.other_cores),
        })
    }

    /// Stop the server (an error if it had already exited: a crash must
    /// not pass for a run with errors) and drop its schema.
    pub async fn stop(mut self, schemas: &Schemas) -> anyhow::Result<()> {
        if !self.server.running() {
            bail!(
                "the {} exited during the runs; its last output:\n{}",
                self.server.name,
                self.server.log_tail(40)
            );
        }
        self.server.stop().await?;
        if let Some(d) = self.database {
            schemas.release(d).await?;
        }
        Ok(())
    }
}
