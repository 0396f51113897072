//! `digilocker-gateway backup --to FILE`: a consistent copy of a SQLite
//! gateway's database while it serves. PostgreSQL is backed up with its own
//! tools (`pg_dump`); the command says how.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::config::Config;

/// What a finished backup wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub from: PathBuf,
    pub to: PathBuf,
    pub bytes: u64,
}

/// The SQLite file a configuration uses, or why there is none.
fn sqlite_file(config: &Config) -> anyhow::Result<PathBuf> {
    match config.database_url.as_deref() {
        None => Ok(config.sqlite_path()),
        Some(url) if url.starts_with("sqlite:") => Ok(PathBuf::from(
            url.trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:"),
        )),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            bail!(
                "this gateway stores its data in PostgreSQL: back it up with PostgreSQL's own \
                 tools, which take a consistent snapshot while the gateway serves:\n  \
                 pg_dump --format=custom --no-owner --no-privileges --file=gateway.dump \"$GATEWAY_DATABASE_URL\"\n\
                 and restore it, as the gateway's role, into an empty database that role owns:\n  \
                 pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname=\"$NEW_DATABASE_URL\" gateway.dump\n\
                 (docs/production.md, \"Backups and restore\")"
            )
        }
        Some(_) => bail!("database URL must start with sqlite:// or postgres://"),
    }
}

/// Copy the SQLite database of `config` into `to`, consistently, while
/// other processes (the serving gateway) read and write it: `VACUUM INTO`
/// reads one snapshot in a read transaction (WAL mode: writers go on
/// meanwhile) and writes a compact database. `to` must not exist; it is
/// created owner-only (0600) before anything is written into it, and
/// removed again if the copy fails.
pub async fn sqlite_backup(config: &Config, to: &Path) -> anyhow::Result<BackupReport> {
    let from = sqlite_file(config)?;
    if !from.is_file() {
        bail!(
            "no SQLite database at {} (set --data-dir or --database-url to the gateway's)",
            from.display()
        );
    }
    create_owner_only(to)?;
    match vacuum_into(&from, to).await {
        Ok(()) => {
            let bytes = std::fs::metadata(to)
                .with_context(|| format!("cannot read the backup {}", to.display()))?
                .len();
            Ok(BackupReport {
                from,
                to: to.to_owned(),
                bytes,
            })
        }
        Err(e) => {
            let _ = std::fs::remove_file(to);
            Err(e)
        }
    }
}

/// Create `to`, empty and owner-only, refusing an existing file (or link).
fn create_owner_only(to: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(to) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "{} already exists: a backup never overwrites a file; choose a new name or remove it",
            to.display()
        ),
        Err(e) => Err(e).with_context(|| format!("cannot create the backup file {}", to.display())),
    }
}

async fn vacuum_into(from: &Path, to: &Path) -> anyhow::Result<()> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", from.display()))?
        .create_if_missing(false)
        // Whatever journal mode the file has (WAL for the gateway's) is kept.
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(30));
    let mut conn = options
        .connect()
        .await
        .with_context(|| format!("cannot open the SQLite database {}", from.display()))?;
    // Absolute, so that SQLite never reads a name like `file:…` as a URI.
    let to = std::path::absolute(to)
        .with_context(|| format!("cannot resolve the backup path {}", to.display()))?;
    let target = to
        .to_str()
        .with_context(|| format!("the backup path {} is not UTF-8", to.display()))?;
    let done = sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&mut conn)
        .await
        .with_context(|| format!("the backup of {} failed", from.display()));
    let _ = conn.close().await;
    done?;
    Ok(())
}
