//! The reference server: a bare axum + sqlx SQLite server answering the
//! gateway's create, status and catalogue calls with the least work (see
//! `bench::reference`). Prints `listening on ADDR` once it accepts
//! connections; stops on Ctrl-C or SIGTERM.
//!
//! ```sh
//! bench-reference --db /tmp/reference.sqlite [--listen 127.0.0.1:0]
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// A bare axum + SQLite server to compare the gateway with.
#[derive(Parser)]
#[command(name = "bench-reference")]
struct Args {
    /// The SQLite database file (created if missing).
    #[arg(long)]
    db: PathBuf,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pool = bench::reference::open_database(&args.db)
        .await
        .with_context(|| format!("cannot open {}", args.db.display()))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, bench::reference::router(pool))
        .with_graceful_shutdown(stop_signal())
        .await?;
    Ok(())
}

async fn stop_signal() {
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
