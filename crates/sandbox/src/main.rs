//! `digilocker-sandbox`: the DigiLocker look-alike as a standalone server.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use sandbox::{EAadhaarShape, PartnerApp, Sandbox, SandboxConfig, SlowIssuer};

/// A DigiLocker look-alike speaking the partner API (OAuth 2.0 + PKCE,
/// consent pages, files, e-Aadhaar, pull), for testing DigiLocker clients.
#[derive(Debug, Parser)]
#[command(name = "digilocker-sandbox", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9090", env = "SANDBOX_LISTEN")]
    listen: SocketAddr,
    /// Path prefix of every route (DigiLocker itself uses /public).
    #[arg(long, default_value = "/public", env = "SANDBOX_BASE_PATH")]
    base_path: String,
    /// Directory for the sandbox CA (created on first start, reused after).
    #[arg(long, default_value = "./data/sandbox", env = "SANDBOX_DATA_DIR")]
    data_dir: PathBuf,
    /// Register a partner app: client_id:client_secret:redirect_uri
    /// (repeatable; the redirect URI may itself contain ':').
    #[arg(long = "app", value_parser = parse_app)]
    apps: Vec<PartnerApp>,
    /// About how many issuers the pull catalogue has.
    #[arg(long, default_value_t = sandbox::catalogue::DEFAULT_ISSUERS)]
    catalogue_issuers: usize,
    /// About how many (issuer, doc type) pairs the pull catalogue has.
    #[arg(long, default_value_t = sandbox::catalogue::DEFAULT_PAIRS)]
    catalogue_pairs: usize,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl: u64,
    /// Authorization code lifetime in seconds.
    #[arg(long, default_value_t = 60)]
    code_ttl: u64,
    /// Require `Authorization: Bearer <token>` on admin/faults.
    #[arg(long, env = "SANDBOX_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Answer with one spelling everywhere, non-rotating refresh tokens,
    /// DD-MM-YYYY dates and an hmac on every file, instead of the variants
    /// real DigiLocker sends (see the README's "Quirks").
    #[arg(long, env = "SANDBOX_NO_QUIRKS")]
    no_quirks: bool,
    /// The least latency of each signed catalogue call (pull/issuers,
    /// doctype, parameters), in milliseconds; 0 with a jitter of 0 for none.
    #[arg(long, default_value_t = 20, env = "SANDBOX_CATALOGUE_LATENCY_MS")]
    catalogue_latency_ms: u64,
    /// Up to this many milliseconds more on each catalogue call, drawn by
    /// seeded dice (by default calls take 20 to 60 ms: a crawl of the
    /// default catalogue at 16 calls in parallel takes about 30 s).
    #[arg(long, default_value_t = 40, env = "SANDBOX_CATALOGUE_JITTER_MS")]
    catalogue_jitter_ms: u64,
    /// Every issuer healthy: no issuer down, flaky or slow (by default a
    /// handful are, like the real federation; see the README's "A
    /// federation that partly fails").
    #[arg(long, env = "SANDBOX_HEALTHY")]
    healthy: bool,
    /// Pull attempts of each document the slow issuer (EPFO, PRFND) answers
    /// with pull_response_pending before one succeeds; 0 turns it off.
    #[arg(long, default_value_t = 2)]
    slow_pull_attempts: u32,
    /// Layout of the e-Aadhaar XML: `real` (exactly as DigiLocker sends it)
    /// or `legacy` (the sandbox's earlier one-line layout).
    #[arg(long, default_value = "real", env = "SANDBOX_EAADHAAR_SHAPE", value_parser = parse_shape)]
    eaadhaar_shape: EAadhaarShape,
}

fn parse_shape(text: &str) -> Result<EAadhaarShape, String> {
    text.parse()
}

fn parse_app(text: &str) -> Result<PartnerApp, String> {
    let mut parts = text.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(id), Some(secret), Some(uri)) if !id.is_empty() && !secret.is_empty() && !uri.is_empty() => {
            url::Url::parse(uri).map_err(|e| format!("redirect URI {uri:?} is not an absolute URL: {e}"))?;
            Ok(PartnerApp {
                client_id: id.to_owned(),
                client_secret: secret.to_owned(),
                redirect_uris: vec![uri.to_owned()],
            })
        }
        _ => Err("expected client_id:client_secret:redirect_uri, e.g. demo:s3cret:http://127.0.0.1:8080/callback".to_owned()),
    }
}

/// The demo app always registered, so the sandbox is usable with no flags.
fn demo_app() -> PartnerApp {
    PartnerApp {
        client_id: "sandbox-demo".to_owned(),
        client_secret: "sandbox-demo-secret-not-for-production".to_owned(),
        redirect_uris: vec!["http://127.0.0.1:8080/callback".to_owned()],
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        // `RUST_LOG`: `level` and `target=level` directives, default `info`.
        let filter = std::env::var("RUST_LOG")
            .ok()
            .and_then(|v| v.parse::<tracing_subscriber::filter::Targets>().ok())
            .unwrap_or_else(|| {
                tracing_subscriber::filter::Targets::new()
                    .with_default(tracing::level_filters::LevelFilter::INFO)
            });
        tracing_subscriber::fmt().finish().with(filter).init();
    }
    let args = Args::parse();
    let sandbox = Sandbox::new(SandboxConfig {
        base_path: args.base_path.clone(),
        data_dir: args.data_dir.clone(),
        access_token_ttl: Duration::from_secs(args.token_ttl),
        code_ttl: Duration::from_secs(args.code_ttl),
        catalogue_issuers: args.catalogue_issuers,
        catalogue_pairs: args.catalogue_pairs,
        admin_token: args.admin_token.clone(),
        eaadhaar_shape: args.eaadhaar_shape,
        quirks: !args.no_quirks,
        slow_issuers: if args.slow_pull_attempts == 0 {
            Vec::new()
        } else {
            vec![SlowIssuer {
                attempts: args.slow_pull_attempts,
                ..SlowIssuer::epfo()
            }]
        },
        catalogue_latency: Duration::from_millis(args.catalogue_latency_ms),
        catalogue_latency_jitter: Duration::from_millis(args.catalogue_jitter_ms),
        issuer_faults: if args.healthy {
            BTreeMap::new()
        } else {
            sandbox::federation::default_issuer_faults()
        },
        ..SandboxConfig::default()
    })?;
    let mut apps = vec![demo_app()];
    apps.extend(args.apps.iter().cloned());
    for app in &apps {
        sandbox.register_app(app.clone());
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("could not listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}{}", sandbox.base_path());
    // The sandbox's own test credentials are printed on purpose: they are
    // not secrets, and a tester needs them to configure a client.
    println!("DigiLocker sandbox listening on {base}");
    println!("  authorize:   {base}/oauth2/1/authorize");
    println!(
        "  root CA:     {base}/ca.pem  (CA files in {})",
        args.data_dir.display()
    );
    println!(
        "  issuer XML:  signed by each issuer's certificate under the root (keys in {})",
        args.data_dir
            .join(sandbox::issuer_signing::ISSUERS_DIR)
            .display()
    );
    println!("  faults:      {base}/admin/faults");
    let issuers = sandbox.issuer_faults();
    if issuers.is_empty() {
        println!("  issuers:     all healthy (--healthy)");
    } else {
        println!(
            "  issuers:     {} faulty by design (org ids {}); --healthy for none",
            issuers.len(),
            issuers.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    println!("  e-Aadhaar:   {} shape", args.eaadhaar_shape);
    println!("Registered apps (client_id / client_secret / redirect_uri):");
    for app in &apps {
        println!(
            "  {} / {} / {}",
            app.client_id,
            app.client_secret,
            app.redirect_uris.join(", ")
        );
    }
    println!(
        "Test citizens (Aadhaar, mobile, PIN, OTP {}): see crates/sandbox/README.md",
        sandbox::seed::OTP
    );
    axum::serve(listener, sandbox.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("the server stopped with an error")?;
    Ok(())
}
