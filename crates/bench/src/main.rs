//! `bench`: the gateway against a bare reference server, in one run.
//! See `docs/benchmarks.md`.

use std::path::PathBuf;
use std::process::ExitCode;

use bench::driver::{self, Backend, Options, Plan, Schemas};
use clap::{Parser, ValueEnum};

/// Benchmark the gateway against a bare axum + SQLite reference server on
/// 127.0.0.1, with wrk, and print the ratios.
#[derive(Parser)]
#[command(name = "bench")]
struct Args {
    /// A smoke run of about a minute per backend: 2 s per call, 5,000
    /// requests created first, a 12 s TTL for the expiry runs.
    #[arg(long)]
    quick: bool,
    /// Fail on a gross regression (create below 1.2x or status below 0.6x
    /// the reference, peak RSS from 80 MiB, the catalogue from 300 KB), not
    /// only on errors: what CI runs (`scripts/bench.sh --quick --gate`).
    #[arg(long)]
    gate: bool,
    /// The gateway's storage for the runs.
    #[arg(long, value_enum, default_value_t = Backends::Both)]
    backend: Backends,
    /// The PostgreSQL server of the PostgreSQL runs (a fresh schema is made
    /// in it and dropped at the end).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
    /// Skip the expiry runs.
    #[arg(long)]
    no_expiry: bool,
    /// Use this gateway binary instead of building it.
    #[arg(long)]
    gateway_bin: Option<PathBuf>,
    /// Use this reference binary instead of building it.
    #[arg(long)]
    reference_bin: Option<PathBuf>,
    /// Keep the temporary directory with the servers' logs and databases.
    #[arg(long)]
    keep: bool,
    /// Put the servers' databases and logs under this directory instead of
    /// /dev/shm (memory), e.g. to include a disk in what is measured.
    #[arg(long)]
    tmp_dir: Option<PathBuf>,
    /// Write the markdown results here (default target/bench/results-<time>.md).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Backends {
    Sqlite,
    Postgres,
    Both,
}

async fn interrupted() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = Options {
        plan: Plan::new(args.quick, !args.no_expiry),
        backends: match args.backend {
            Backends::Sqlite => vec![Backend::Sqlite],
            Backends::Postgres => vec![Backend::Postgres],
            Backends::Both => vec![Backend::Sqlite, Backend::Postgres],
        },
        pg_url: args.pg_url,
        gateway_bin: args.gateway_bin,
        reference_bin: args.reference_bin,
        out: args.out,
        keep: args.keep,
        tmp_dir: args.tmp_dir,
        gate: args.gate,
    };
    // One thread: the children are tied to it by PR_SET_PDEATHSIG, and the
    // driver itself should take as little CPU from the servers as it can.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let schemas = Schemas::new(&options.pg_url);
    let code = runtime.block_on(async {
        let code = tokio::select! {
            result = driver::run(&options, &schemas) => match result {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("bench: {e:#}");
                    ExitCode::FAILURE
                }
            },
            // Dropping the run kills every child (kill_on_drop) and removes
            // the temporary directory.
            _ = interrupted() => {
                eprintln!("bench: interrupted; servers and wrk stopped");
                ExitCode::from(130)
            }
        };
        schemas.drop_all().await;
        code
    });
    code
}
