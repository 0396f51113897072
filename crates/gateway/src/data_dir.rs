//! The data directory is the owner's alone: the directory `0700`, every file
//! the gateway keeps in it `0600` (the SQLite database and its WAL, the
//! sandbox master key, the sandbox client's credentials, the sandbox admin
//! token, the sandbox CA). Files are created with that mode, and files and
//! directories left by older releases are tightened on start.
//!
//! Only what the gateway itself keeps there is touched: a data directory
//! pointed at a folder holding other things leaves those things alone.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::Config;

/// Mode of the data directory and of every directory the gateway makes in it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the gateway writes in the data directory.
pub const FILE_MODE: u32 = 0o600;

/// The files the gateway keeps directly in the data directory.
pub const KNOWN_FILES: &[&str] = &[
    "gateway.sqlite",
    "gateway.sqlite-wal",
    "gateway.sqlite-shm",
    "gateway.sqlite-journal",
    "master.key",
    "sandbox-credentials.json",
    "sandbox-headers.txt",
    "sandbox-admin-token",
];

/// Before the store opens: create the data directory owner-only when this
/// configuration uses it (SQLite by default, or sandbox mode), tighten what
/// an older run left in it, and create the SQLite file `0600` so that SQLite
/// (which gives its WAL and shared-memory files the database file's mode)
/// never makes a readable one.
pub fn prepare(config: &Config) -> anyhow::Result<()> {
    if config.database_url.is_none() || config.sandbox_mode() {
        let dir = &config.data_dir;
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create data directory {}", dir.display()))?;
        set_mode(dir, DIR_MODE)?;
        for name in KNOWN_FILES {
            tighten_file(&dir.join(name))?;
        }
    }
    if let Some(db) = sqlite_file(config) {
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = db.clone().into_os_string();
            name.push(suffix);
            tighten_file(Path::new(&name))?;
        }
        tighten_file(&db)?;
        create_private(&db)?;
    }
    Ok(())
}

/// The SQLite database file this configuration opens, if any.
pub fn sqlite_file(config: &Config) -> Option<PathBuf> {
    match config.database_url.as_deref() {
        None => Some(config.sqlite_path()),
        Some(url) if url.starts_with("sqlite:") => {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            // A URL's options (`?mode=rwc`) are not part of the file name.
            let path = path.split('?').next().unwrap_or(path);
            (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
        }
        Some(_) => None,
    }
}

/// Create an empty file readable by its owner only, unless it exists. A
/// missing parent directory is left for the store to report.
fn create_private(path: &Path) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::AlreadyExists | ErrorKind::NotFound) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Make an existing regular file owner-only; a missing one is fine. A
/// symbolic link is left alone (its target is not ours to change).
pub fn tighten_file(path: &Path) -> anyhow::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => set_mode(path, FILE_MODE),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot inspect {}", path.display())),
    }
}

/// Make a directory the gateway owns, and everything in it, owner-only:
/// directories `0700`, files `0600`. Symbolic links are not followed; what
/// vanishes meanwhile (another instance's temporary file) is skipped.
pub fn tighten_tree(dir: &Path) -> anyhow::Result<()> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", dir.display())),
    };
    if meta.is_file() {
        return skip_vanished(set_mode(dir, FILE_MODE));
    }
    if !meta.is_dir() {
        return Ok(());
    }
    skip_vanished(set_mode(dir, DIR_MODE))?;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        tighten_tree(&entry.path())?;
    }
    Ok(())
}

fn skip_vanished(result: anyhow::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == ErrorKind::NotFound) =>
        {
            Ok(())
        }
        other => other,
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = fs::symlink_metadata(path)?.permissions().mode() & 0o7777;
    if current != mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn an_older_data_directory_is_tightened_and_the_database_created_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let key = dir.join("master.key");
        fs::write(&key, "k").unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        // Not the gateway's: left as it is.
        let other = dir.join("notes.txt");
        fs::write(&other, "n").unwrap();
        fs::set_permissions(&other, fs::Permissions::from_mode(0o644)).unwrap();
        let config = Config {
            data_dir: dir.clone(),
            ..Config::default()
        };
        prepare(&config).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&dir.join("gateway.sqlite")), 0o600);
        assert_eq!(mode(&other), 0o644);

        let ca = dir.join("sandbox");
        fs::create_dir_all(ca.join("retired")).unwrap();
        fs::write(ca.join("root.pem"), "pem").unwrap();
        fs::set_permissions(ca.join("root.pem"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(&ca, fs::Permissions::from_mode(0o755)).unwrap();
        tighten_tree(&ca).unwrap();
        assert_eq!(mode(&ca), 0o700);
        assert_eq!(mode(&ca.join("retired")), 0o700);
        assert_eq!(mode(&ca.join("root.pem")), 0o600);
    }

    #[test]
    fn the_sqlite_file_of_a_database_url() {
        let with = |url: Option<&str>| Config {
            database_url: url.map(str::to_owned),
            data_dir: PathBuf::from("/d"),
            ..Config::default()
        };
        assert_eq!(
            sqlite_file(&with(None)),
            Some(PathBuf::from("/d/gateway.sqlite"))
        );
        assert_eq!(
            sqlite_file(&with(Some("sqlite:///var/kyc/g.db?mode=rwc"))),
            Some(PathBuf::from("/var/kyc/g.db"))
        );
        assert_eq!(
            sqlite_file(&with(Some("sqlite:g.db"))),
            Some(PathBuf::from("g.db"))
        );
        assert_eq!(sqlite_file(&with(Some("postgres://db/kyc"))), None);
    }
}
