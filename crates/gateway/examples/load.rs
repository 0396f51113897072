//! A small, bounded load run against the gateway on 127.0.0.1: starts the
//! gateway in this process on SQLite and/or PostgreSQL, then drives N
//! concurrent clients for a fixed time, first creating requests
//! (`POST /api/digilocker`), then reading their status
//! (`GET /api/digilocker/{id}/status`). Prints requests per second and
//! p50/p99 latency per backend and call.
//!
//! ```sh
//! cargo run --release -p gateway --example load -- \
//!     [--backend sqlite|postgres|both] [--concurrency 32] [--seconds 10] \
//!     [--pg-url postgres://postgres@127.0.0.1:5432/test]
//! ```
//!
//! The gateway and the load generator share the machine (and this process,
//! on separate runtimes): numbers are a floor, not what a dedicated server
//! would do. PostgreSQL runs get a fresh schema, dropped at the end.
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use gateway::storage::ClientRecord;
use gateway::Config;

struct Args {
    backends: Vec<&'static str>,
    concurrency: usize,
    seconds: u64,
    pg_url: String,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        backends: vec!["sqlite", "postgres"],
        concurrency: 32,
        seconds: 10,
        pg_url: "postgres://postgres@127.0.0.1:5432/test".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--backend" => {
                args.backends = match value()?.as_str() {
                    "sqlite" => vec!["sqlite"],
                    "postgres" => vec!["postgres"],
                    "both" => vec!["sqlite", "postgres"],
                    other => bail!("--backend is sqlite, postgres or both, not {other:?}"),
                }
            }
            "--concurrency" => args.concurrency = value()?.parse().context("--concurrency")?,
            "--seconds" => {
                // Bounded on purpose: this is a shared machine.
                args.seconds = value()?.parse::<u64>().context("--seconds")?.clamp(1, 60)
            }
            "--pg-url" => args.pg_url = value()?,
            other => bail!("unknown flag {other:?}; see the header of examples/load.rs"),
        }
    }
    Ok(args)
}

/// Latencies of one phase, and what they add up to.
struct Phase {
    name: &'static str,
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

impl Phase {
    fn report(&mut self, backend: &str) {
        self.latencies.sort();
        let pct = |p: f64| -> f64 {
            if self.latencies.is_empty() {
                return f64::NAN;
            }
            let i = ((self.latencies.len() as f64 * p).ceil() as usize)
                .clamp(1, self.latencies.len())
                - 1;
            self.latencies[i].as_secs_f64() * 1000.0
        };
        println!(
            "{backend:<9} {:<7} {:>8} ok {:>4} errors {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
            self.name,
            self.latencies.len(),
            self.errors,
            self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
        );
    }
}

#[derive(Clone)]
struct Target {
    http: reqwest::Client,
    base: String,
    id: String,
    secret: String,
    instance: String,
}

impl Target {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("x-client-id", &self.id)
            .header("x-client-secret", &self.secret)
            .header("x-product-instance-id", &self.instance)
    }
}

/// Run `call` from `concurrency` workers until `seconds` have passed.
async fn drive<F, Fut>(name: &'static str, concurrency: usize, seconds: u64, call: F) -> Phase
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let counter = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let call = call.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let t = Instant::now();
                    if call(n).await {
                        latencies.push(t.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut phase = Phase {
        name,
        latencies: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for w in workers {
        if let Ok((l, e)) = w.await {
            phase.latencies.extend(l);
            phase.errors += e;
        }
    }
    phase.elapsed = started.elapsed();
    phase
}

async fn run_backend(backend: &str, args: &Args, dir: &std::path::Path) -> anyhow::Result<()> {
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.join(backend),
        // Sandbox mode; the sweeper and catalogue builder are off so that
        // only the measured calls load the gateway.
        background_tasks: false,
        sandbox_catalogue: (10, 20),
        instance_name: format!("load-{backend}"),
        // One client drives all the load: measure the gateway, not its
        // per-client rate limit.
        rate_limit_per_second: 0,
        ..Config::default()
    };
    let schema = format!("gwload_{}", uuid::Uuid::new_v4().simple());
    if backend == "postgres" {
        let admin = sqlx::PgPool::connect(&args.pg_url)
            .await
            .with_context(|| format!("cannot reach PostgreSQL at {}", args.pg_url))?;
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&admin)
            .await?;
        admin.close().await;
        let sep = if args.pg_url.contains('?') { '&' } else { '?' };
        config.database_url = Some(format!(
            "{}{sep}options=-csearch_path%3D{schema}",
            args.pg_url
        ));
    }
    // The gateway gets its own runtime, as it would in its own process.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let app = gateway::start(config).await?;
            let client = ClientRecord {
                client_id: "load".into(),
                secret_hash: gateway::crypto::hash_secret("load-secret"),
                product_instance_id: "load-instance".into(),
                name: "load test".into(),
                allowed_origins: String::new(),
                disabled: 0,
                created_at: 0,
                ..Default::default()
            };
            app.state.store.insert_client(&client).await?;
            let _ = tx.send(app.base_url());
            let _ = stop_rx.await;
            app.stop().await;
            Ok(())
        })
    });
    let base = rx.await.context("the gateway did not start")?;
    let target = Target {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency)
            .timeout(Duration::from_secs(30))
            .build()?,
        base,
        id: "load".into(),
        secret: "load-secret".into(),
        instance: "load-instance".into(),
    };

    let ids = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (t, sink) = (target.clone(), ids.clone());
    let mut create = drive("create", args.concurrency, args.seconds, move |_| {
        let (t, sink) = (t.clone(), sink.clone());
        async move {
            let resp = t
                .req(reqwest::Method::POST, "/api/digilocker")
                .json(&serde_json::json!({"redirectUrl": "http://127.0.0.1:9/done"}))
                .send()
                .await;
            let Ok(resp) = resp else { return false };
            if resp.status() != 201 {
                return false;
            }
            let Ok(v) = resp.json::<serde_json::Value>().await else {
                return false;
            };
            if let (Some(id), Ok(mut ids)) = (v["id"].as_str(), sink.lock()) {
                ids.push(id.to_owned());
            }
            true
        }
    })
    .await;
    create.report(backend);

    let ids: Arc<Vec<String>> = Arc::new(ids.lock().map(|v| v.clone()).unwrap_or_default());
    if ids.is_empty() {
        bail!("no request was created on {backend}: nothing to read");
    }
    let t = target.clone();
    let mut status = drive("status", args.concurrency, args.seconds, move |n| {
        let (t, ids) = (t.clone(), ids.clone());
        async move {
            let id = &ids[n.wrapping_mul(7919) % ids.len()];
            match t
                .req(
                    reqwest::Method::GET,
                    &format!("/api/digilocker/{id}/status"),
                )
                .send()
                .await
            {
                Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }
    })
    .await;
    status.report(backend);

    let _ = stop_tx.send(());
    match server.join() {
        Ok(r) => r?,
        Err(_) => bail!("the gateway thread panicked"),
    }
    if backend == "postgres" {
        let admin = sqlx::PgPool::connect(&args.pg_url).await?;
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&admin)
            .await?;
        admin.close().await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let dir = tempfile::tempdir()?;
    println!(
        "{} concurrent clients, {} s per phase, gateway and load on this machine",
        args.concurrency, args.seconds
    );
    for backend in args.backends.clone() {
        run_backend(backend, &args, dir.path()).await?;
    }
    Ok(())
}
