//! The command line: `serve`, client management, catalogue refresh, backup.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use crate::app;
use crate::config::Config;
use crate::crypto;
use crate::operator::{self, Operator};
use crate::state::{Clock, SystemClock};
use crate::webhooks;

/// DigiLocker KYC gateway.
#[derive(Debug, Parser)]
#[command(name = "digilocker-gateway", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// TOML configuration file (also GATEWAY_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data directory: SQLite database, sandbox key and credentials (also GATEWAY_DATA_DIR; default ./data).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://... (also GATEWAY_DATABASE_URL).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (sandbox mode when no DigiLocker credentials are configured).
    Serve {
        /// Address to listen on (also GATEWAY_LISTEN; default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Manage the businesses that may call the API.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage the stored DigiLocker catalogue.
    #[command(subcommand)]
    Catalogue(CatalogueCommand),
    /// Print a fresh random master key (base64 of 32 bytes).
    GenerateKey,
    /// Print the API's OpenAPI 3.1 document (as served at /openapi.json).
    Openapi,
    /// The consent audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Master keys: what still needs each one.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Webhook deliveries: what was sent to whom, and sending again.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Copy a SQLite gateway's database, consistently, while it serves (on
    /// PostgreSQL: says how to use pg_dump). The master key is not in it.
    Backup {
        /// The file to write: must not exist; created owner-only (0600).
        #[arg(long)]
        to: PathBuf,
    },
}

/// `webhook ...`.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// A client's most recent events sent (or being sent) to its webhook,
    /// newest first, with their attempts and statuses.
    Deliveries {
        /// The client whose deliveries to list.
        #[arg(long)]
        client: String,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Send an event to its client's webhook again, now (a failed one gets
    /// one more attempt; a pending one is tried at once).
    Redeliver {
        /// The event's id (`evt_…`), as `webhook deliveries` lists it and
        /// receivers see it in `webhook-id`.
        event_id: String,
    },
}

/// `keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// For every master key id: what still needs it (live requests, file
    /// links, webhook secrets, queued revokes), how many, and until when at
    /// the latest; and which configured keys can be removed.
    Status,
}

/// `audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write a client's audit trail as JSON lines (one event per line, oldest
    /// first) to stdout. Events outlive their requests for the configured
    /// retention (`audit_retention_days`, default 180).
    Export {
        /// The client whose requests' events to export.
        #[arg(long)]
        client: String,
        /// Only events at or after this time: RFC 3339 (`2026-11-01T00:00:00+05:30`)
        /// or Unix seconds.
        #[arg(long)]
        since: Option<String>,
    },
}

/// `client ...`.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Add a client; prints its secret once.
    Add {
        /// A name for people reading the list.
        #[arg(long)]
        name: String,
        /// Restrict redirectUrl to these origins (repeatable), e.g. https://example.com.
        #[arg(long = "allowed-origin")]
        allowed_origins: Vec<String>,
    },
    /// List clients (never their secrets).
    List,
    /// Disable a client: its calls answer 401, and its live requests are
    /// erased (their users' data and file links). Says how many and asks
    /// first when there are any.
    Disable {
        client_id: String,
        /// Don't ask (for scripts): erase its live requests without confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Enable a disabled client.
    Enable { client_id: String },
    /// Replace a client's secret; prints the new one once. The old one stops working at once.
    RotateSecret { client_id: String },
    /// Set where a client's events are sent (Standard Webhooks); prints the
    /// signing secret `whsec_…` once when there is a new one.
    Webhook {
        client_id: String,
        /// The client's endpoint: https, a public address (plain http to
        /// this machine only in sandbox mode). Changing it keeps the secret.
        #[arg(long)]
        url: Option<String>,
        /// A new signing secret; the old one keeps signing beside it for 24 hours.
        #[arg(long)]
        rotate_secret: bool,
        /// Send this client nothing more; forget its URL and secrets.
        #[arg(long, conflicts_with_all = ["url", "rotate_secret"])]
        disable: bool,
    },
}

/// `catalogue ...`.
#[derive(Debug, Subcommand)]
pub enum CatalogueCommand {
    /// Ask DigiLocker for every issuer now (failing ones keep their last
    /// good entries).
    Refresh,
    /// How complete the stored catalogue is: failing issuers, their last
    /// error and when each is asked again.
    Status,
}

/// Build the configuration from file, environment and flags.
pub fn load_config(global: &GlobalArgs) -> anyhow::Result<Config> {
    let file = global
        .config
        .clone()
        .or_else(|| std::env::var("GATEWAY_CONFIG").ok().map(PathBuf::from));
    let mut config = Config::load(file.as_deref())?;
    if let Some(d) = &global.data_dir {
        config.data_dir = d.clone();
    }
    if let Some(u) = &global.database_url {
        config.database_url = Some(u.clone());
    }
    Ok(config)
}

/// Logs go to stdout through a writer thread, so a call never waits on the
/// terminal or the log collector (see [`crate::logs`]). Keep the guard
/// until exit: it writes what is still buffered.
fn init_logging() -> Option<crate::logs::LogGuard> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = log_filter(std::env::var("GATEWAY_LOG").ok().as_deref());
    let json = std::env::var("GATEWAY_LOG_FORMAT")
        .map(|v| v == "json")
        .unwrap_or(false);
    let (writer, guard) = match crate::logs::start(std::io::stdout()) {
        Ok(started) => started,
        Err(e) => {
            eprintln!("cannot start the log writer thread: {e}");
            return None;
        }
    };
    // Colours only for a person at a terminal; never into a log collector's pipe.
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_writer(writer);
    let _ = if json {
        builder.json().finish().with(filter).try_init()
    } else {
        builder.compact().finish().with(filter).try_init()
    };
    Some(guard)
}

/// The log filter: `GATEWAY_LOG`'s `level` and `target=level` directives
/// (`info,sqlx=warn` when unset). One it cannot read is reported and the
/// default used.
pub fn log_filter(directives: Option<&str>) -> tracing_subscriber::filter::Targets {
    const DEFAULT: &str = "info,sqlx=warn";
    let default = || {
        DEFAULT
            .parse()
            .unwrap_or_else(|_| tracing_subscriber::filter::Targets::new())
    };
    match directives.map(str::parse) {
        None => default(),
        Some(Ok(filter)) => filter,
        Some(Err(e)) => {
            eprintln!("GATEWAY_LOG is not a log filter ({e}); using {DEFAULT:?}");
            default()
        }
    }
}

/// The process's entry point: [`main`] on a multi-threaded Tokio runtime.
///
/// The runtime is built here rather than by `#[tokio::main]` in the binary so
/// that the binary's crate holds no async code: without shared generics (off
/// in optimised builds), every generic instance the server's future reaches
/// was compiled a second time for the binary, a third of an optimised build
/// of the gateway's own code.
pub fn run_main() -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(main()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Entry point, on a running Tokio runtime.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let _logs = init_logging();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            // A refusal for the configuration: a supervisor should wait
            // for the operator, not restart it (the unit says so).
            if e.downcast_ref::<crate::config::ConfigRefused>().is_some() {
                ExitCode::from(crate::config::ConfigRefused::EXIT_STATUS)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = load_config(&cli.global)?;
    match cli.command {
        Command::Serve { listen } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            serve(config).await
        }
        Command::Client(c) => {
            let url = config.database_url.clone();
            let result = client_command(config, c).await;
            // Every instance drops its client cache now, not within a
            // second (PostgreSQL: the instances listen for it).
            if let Some(url) = url.filter(|u| u.starts_with("postgres")) {
                crate::auth::announce_change(&url).await;
            }
            result
        }
        Command::Catalogue(CatalogueCommand::Refresh) => {
            match app::refresh_catalogue(config).await? {
                (Some(report), status) => {
                    println!(
                        "asked {} issuers, {} failed (they keep their last good entries)",
                        report.asked, report.failed
                    );
                    print!(
                        "{}",
                        catalogue_status_text(
                            &status,
                            time::OffsetDateTime::now_utc().unix_timestamp()
                        )
                    );
                }
                (None, _) => {
                    println!("another instance is refreshing the catalogue right now; nothing done")
                }
            }
            Ok(())
        }
        Command::Catalogue(CatalogueCommand::Status) => {
            let store = app::open_store(&config).await?;
            let status = crate::catalogue::status(store.as_ref()).await?;
            print!(
                "{}",
                catalogue_status_text(&status, time::OffsetDateTime::now_utc().unix_timestamp())
            );
            Ok(())
        }
        Command::GenerateKey => {
            println!("{}", crypto::MasterKey::generate_base64());
            Ok(())
        }
        Command::Openapi => {
            print!("{}", crate::api::openapi::document_json());
            Ok(())
        }
        Command::Audit(AuditCommand::Export { client, since }) => {
            audit_export(config, &client, since.as_deref()).await
        }
        Command::Webhook(c) => webhook_command(config, c).await,
        Command::Keys(KeysCommand::Status) => {
            let keys = configured_keys(&config)?;
            let store = app::open_store(&config).await?;
            let now = SystemClock.now();
            let needs = crate::keys::status(store.as_ref(), &keys, now).await?;
            print!("{}", crate::keys::status_text(&needs, now));
            Ok(())
        }
        Command::Backup { to } => {
            let report = crate::backup::sqlite_backup(&config, &to).await?;
            println!(
                "backed up {} to {} ({} bytes, owner-only)",
                report.from.display(),
                report.to.display(),
                report.bytes
            );
            let live = report.from.display();
            println!(
                "To restore: stop the gateway, remove {live}-wal and {live}-shm, copy the backup to \
                 {live} (or into an empty data directory as gateway.sqlite), and start the gateway \
                 with the same master key (it is not in the backup)."
            );
            Ok(())
        }
    }
}

/// The configured keyring, for commands that read what it sealed: the
/// configured master key, else the sandbox's key file when there is one
/// (never a new key).
fn configured_keys(config: &Config) -> anyhow::Result<crypto::Keyring> {
    if config.master_key.is_none() && !config.data_dir.join("master.key").exists() {
        bail!("no master key configured: set GATEWAY_MASTER_KEY (master_key) and GATEWAY_OLD_MASTER_KEYS as the instances have them");
    }
    app::load_keys(config)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    let json_logs = std::env::var("GATEWAY_LOG_FORMAT").is_ok_and(|v| v == "json");
    let running = app::start(config).await?;
    let state = &running.state;
    let base = running.base_url();
    let mode = state.config.mode.unwrap_or(crate::config::Mode::Sandbox);
    // One line through the logger (JSON when logs are JSON) saying what
    // runs where: mode, database, addresses, version, instance.
    tracing::info!(
        mode = mode.as_str(),
        database = state.store.backend(),
        listen = %running.addr,
        admin_listen = ?running.admin_addr,
        public_base_url = %base,
        version = env!("CARGO_PKG_VERSION"),
        instance = %state.config.instance_name,
        "gateway started"
    );
    if state.config.sandbox_mode() {
        tracing::warn!(
            mode = "sandbox",
            "SANDBOX mode: a DigiLocker look-alike and test clients, no real DigiLocker"
        );
    }
    if json_logs {
        // The log stream is JSON: no plain-text banner in it.
        app::shutdown_signal().await;
        tracing::info!("shutting down");
        running.stop().await;
        return Ok(());
    }
    println!();
    println!("  DigiLocker KYC gateway is running at {base}");
    println!("  database: {}", state.store.backend());
    if state.config.sandbox_mode() {
        println!("  mode: SANDBOX (DigiLocker look-alike at {base}/sandbox; test citizens in crates/sandbox/README.md)");
        println!("  demo: open {base}/demo in a browser to walk the whole journey");
        if let Some(c) = &state.demo_client {
            // Never the secret itself: stdout is the log stream.
            let file = |name: &str| {
                let path = data_dir.join(name);
                shell_quote(
                    &std::path::absolute(&path)
                        .unwrap_or(path)
                        .display()
                        .to_string(),
                )
            };
            let credentials = file(crate::sandbox_mode::CREDENTIALS_FILE);
            let headers = file(crate::sandbox_mode::HEADERS_FILE);
            let admin = file(crate::sandbox_mode::ADMIN_TOKEN_FILE);
            println!(
                "  sandbox client: x-client-id {}; its secret is in {credentials} (owner-only, 0600): cat {credentials}",
                c.client_id
            );
            println!(
                "  try: curl -s -X POST {base}/api/digilocker -H @{headers} -H 'content-type: application/json' \\\n         -d '{{\"redirectUrl\": \"{base}/demo/done\"}}'"
            );
            println!(
                "  sandbox fault switches: {base}/sandbox/admin/faults with -H \"Authorization: Bearer $(cat {admin})\""
            );
        }
    } else {
        println!("  mode: production (DigiLocker partner API)");
    }
    match running.admin_addr {
        Some(admin) => println!(
            "  health: {base}/healthz  ready: {base}/readyz  metrics: http://{admin}/metrics (admin listener; not served on {base})"
        ),
        None => println!("  health: {base}/healthz  ready: {base}/readyz  metrics: {base}/metrics"),
    }
    // The socket actually bound: differs from the public base behind a
    // balancer, and is how a supervisor learns the port of `--listen …:0`.
    println!("  listening on {}", running.addr);
    println!();
    app::shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

fn parse_since(text: &str) -> anyhow::Result<i64> {
    if let Ok(secs) = text.trim().parse::<i64>() {
        return Ok(secs);
    }
    let t =
        time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
            .with_context(|| format!("--since {text:?} is neither RFC 3339 nor Unix seconds"))?;
    Ok(t.unix_timestamp())
}

async fn audit_export(config: Config, client: &str, since: Option<&str>) -> anyhow::Result<()> {
    use std::io::Write;
    let since = since.map(parse_since).transpose()?.unwrap_or(0);
    let store = app::open_store(&config).await?;
    if store.get_client(client).await?.is_none() {
        bail!("no client {client}");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut after = 0;
    loop {
        let page = store.client_events(client, since, after, 1000).await?;
        for e in &page {
            let line = serde_json::to_string(&crate::api::audit::AuditEvent::from_record(e))?;
            writeln!(out, "{line}")?;
        }
        match page.last() {
            Some(last) if page.len() == 1000 => after = last.seq,
            _ => break,
        }
    }
    out.flush()?;
    Ok(())
}

/// Ask at the terminal for `expected` to be typed; refuse with `refusal`
/// when it isn't, or when standard input is not a terminal.
fn confirm(prompt: &str, expected: &str, refusal: &str) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!("{refusal}");
    }
    print!("{prompt}");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if answer.trim() != expected {
        bail!("{refusal}");
    }
    Ok(())
}

/// `s` as one word for a POSIX shell: as it is when plain, else single-quoted.
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:,=@%".contains(&b));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

async fn client_command(config: Config, command: ClientCommand) -> anyhow::Result<()> {
    let store = app::open_store(&config).await?;
    match command {
        ClientCommand::Add {
            name,
            allowed_origins,
        } => {
            let added = operator::add_client(
                store.as_ref(),
                &Operator::cli(),
                &name,
                &allowed_origins,
                SystemClock.now(),
            )
            .await?;
            println!("x-client-id: {}", added.client_id);
            println!("x-client-secret: {}", added.secret);
            println!("x-product-instance-id: {}", added.product_instance_id);
            println!("The secret is shown only now; the gateway keeps only its SHA-256.");
        }
        ClientCommand::List => {
            println!(
                "{:<40} {:<38} {:<9} {:<20} {:<8} name",
                "client id", "product instance id", "state", "created (UTC)", "webhook"
            );
            for c in store.list_clients().await? {
                let created = time::OffsetDateTime::from_unix_timestamp(c.created_at)
                    .map(|t| t.date().to_string())
                    .unwrap_or_default();
                let state = if c.disabled != 0 {
                    "disabled"
                } else {
                    "enabled"
                };
                let webhook = if c.webhook_url.is_some() { "yes" } else { "no" };
                println!(
                    "{:<40} {:<38} {:<9} {:<20} {:<8} {}",
                    c.client_id, c.product_instance_id, state, created, webhook, c.name
                );
            }
        }
        ClientCommand::Disable { client_id, yes } => {
            if store.get_client(&client_id).await?.is_none() {
                bail!("no client {client_id}");
            }
            let live = store.count_client_live_requests(&client_id).await?;
            if live > 0 && !yes {
                confirm(&format!(
                    "Disabling {client_id} erases its {live} live request(s) at once: their users' \
                     data and file links, never to be fetched again. Type the client id to go on: "
                ), &client_id, &format!("{client_id} would lose {live} live request(s); nothing done. Run again with --yes to disable it anyway"))?;
            }
            let live = operator::disable_client(
                store.as_ref(),
                &Operator::cli(),
                &client_id,
                SystemClock.now(),
            )
            .await?;
            println!("{client_id} disabled; {live} live request(s) erased");
        }
        ClientCommand::Enable { client_id } => {
            operator::enable_client(
                store.as_ref(),
                &Operator::cli(),
                &client_id,
                SystemClock.now(),
            )
            .await?;
            println!("{client_id} enabled");
        }
        ClientCommand::RotateSecret { client_id } => {
            let secret = operator::rotate_secret(
                store.as_ref(),
                &Operator::cli(),
                &client_id,
                SystemClock.now(),
            )
            .await?;
            println!("x-client-secret: {secret}");
            println!("The old secret no longer works. The new one is shown only now.");
        }
        ClientCommand::Webhook {
            client_id,
            url,
            rotate_secret,
            disable,
        } => {
            let change = if disable {
                webhooks::Change::Disable
            } else {
                webhooks::Change::Set {
                    url,
                    rotate: rotate_secret,
                }
            };
            client_webhook(&config, store.as_ref(), &client_id, change).await?;
        }
    }
    Ok(())
}

async fn client_webhook(
    config: &Config,
    store: &dyn crate::storage::Store,
    client_id: &str,
    change: webhooks::Change,
) -> anyhow::Result<()> {
    let keys = app::load_keys(config)?;
    let targets = webhooks::Targets::from_config(config);
    let now = SystemClock.now();
    let done = webhooks::configure(store, &keys, targets, client_id, change, now).await?;
    let Some(url) = &done.url else {
        println!("{client_id}: webhook disabled; events not yet delivered will not be sent");
        return Ok(());
    };
    println!("{client_id}: events are sent to {url}");
    if let Some(w) = &done.warning {
        println!("warning: {w}");
    }
    match &done.secret {
        Some(secret) => {
            println!("webhook signing secret: {secret}");
            println!("The secret is shown only now; the gateway keeps it only encrypted.");
        }
        None => println!("The signing secret is unchanged."),
    }
    if let Some(until) = done.previous_until {
        println!(
            "The previous secret also signs every delivery until {} (both signatures are in webhook-signature).",
            crate::timefmt::ist(until)
        );
    }
    Ok(())
}

async fn webhook_command(config: Config, command: WebhookCommand) -> anyhow::Result<()> {
    let store = app::open_store(&config).await?;
    match command {
        WebhookCommand::Deliveries { client, limit } => {
            if store.get_client(&client).await?.is_none() {
                bail!("no client {client}");
            }
            println!(
                "{:<36} {:<34} {:<9} {:>8} {:>6} {:<25} {:<25} last error",
                "event id",
                "type",
                "state",
                "attempts",
                "status",
                "created",
                "next attempt / finished"
            );
            for d in store.list_deliveries(&client, limit.clamp(1, 1000)).await? {
                let kind = store
                    .get_event(&d.event_id)
                    .await?
                    .and_then(|e| webhooks::payload::Payload::from_event(&e))
                    .map(|p| p.kind)
                    .unwrap_or("-");
                let when = match d.finished_at {
                    Some(t) => crate::timefmt::ist(t),
                    None => crate::timefmt::ist(d.next_attempt_at),
                };
                println!(
                    "{:<36} {:<34} {:<9} {:>8} {:>6} {:<25} {:<25} {}",
                    d.event_id,
                    kind,
                    d.state,
                    d.attempts,
                    d.last_status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                    crate::timefmt::ist(d.created_at),
                    when,
                    d.last_error.unwrap_or_default()
                );
            }
        }
        WebhookCommand::Redeliver { event_id } => {
            let client_id = operator::redeliver(
                store.as_ref(),
                &Operator::cli(),
                &event_id,
                SystemClock.now(),
            )
            .await?;
            println!("{event_id} will be sent to {client_id}'s webhook now");
        }
    }
    Ok(())
}

/// `catalogue status` as text: the stored version, then every failing
/// issuer with its last error and next attempt.
fn catalogue_status_text(status: &crate::catalogue::CatalogueStatus, now: i64) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    match &status.meta {
        None => out.push_str("no catalogue stored yet\n"),
        Some(m) => {
            let _ = writeln!(
                out,
                "catalogue version {}: {} documents from {} issuers; {} failing, {} not asked yet; \
                 stored {} ({}s ago){}",
                m.version,
                m.entries,
                m.issuers,
                m.failing,
                m.pending,
                crate::timefmt::ist(m.built_at),
                (now - m.built_at).max(0),
                if m.complete() { "; complete" } else { "; partial" }
            );
        }
    }
    if status.failing.is_empty() {
        out.push_str("no failing issuers\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<10} {:<40} {:>8} {:<26} {:<26} last error",
        "org id", "issuer", "attempts", "failing since", "next try"
    );
    for s in &status.failing {
        let org = if s.org_id.is_empty() {
            "(list)"
        } else {
            s.org_id.as_str()
        };
        let name: String = s.org_name.chars().take(40).collect();
        let _ = writeln!(
            out,
            "{:<10} {:<40} {:>8} {:<26} {:<26} {}",
            org,
            name,
            s.attempts,
            s.failing_since.map(crate::timefmt::ist).unwrap_or_default(),
            crate::timefmt::ist(s.next_try_at),
            s.last_error.as_deref().unwrap_or_default()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::log_filter;

    #[test]
    fn the_log_filter_reads_levels_and_targets_and_falls_back_to_its_default() {
        let default = log_filter(None);
        assert!(default.would_enable("gateway::http", &Level::INFO));
        assert!(!default.would_enable("gateway::http", &Level::DEBUG));
        assert!(!default.would_enable("sqlx::query", &Level::INFO));
        assert!(default.would_enable("sqlx::query", &Level::WARN));

        let set = log_filter(Some("warn,gateway::webhooks=debug"));
        assert!(set.would_enable("gateway::webhooks::worker", &Level::DEBUG));
        assert!(!set.would_enable("gateway::http", &Level::INFO));
        assert!(set.would_enable("gateway::http", &Level::WARN));

        let unreadable = log_filter(Some("gateway=loud"));
        assert!(unreadable.would_enable("gateway", &Level::INFO));
        assert!(!unreadable.would_enable("sqlx", &Level::INFO));
    }
}
