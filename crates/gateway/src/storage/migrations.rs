//! The migrations, embedded in the binary by build.rs: the same `Migrator`
//! `sqlx::migrate!` builds (versions, descriptions, checksums, the
//! `-- no-transaction` opt-out), without sqlx's proc-macro crate.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::SqlSafeStr;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// The SQLite migrations (`migrations/sqlite`).
pub(crate) fn sqlite() -> Migrator {
    migrator(embedded::SQLITE)
}

/// The PostgreSQL migrations (`migrations/postgres`).
pub(crate) fn postgres() -> Migrator {
    migrator(embedded::POSTGRES)
}

fn migrator(files: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(ours: &Migrator, sqlx: &Migrator) {
        assert_eq!(ours.migrations.len(), sqlx.migrations.len());
        for (a, b) in ours.migrations.iter().zip(sqlx.migrations.iter()) {
            assert_eq!(a.version, b.version);
            assert_eq!(a.description, b.description);
            assert_eq!(a.migration_type, b.migration_type);
            assert_eq!(a.sql.as_str(), b.sql.as_str());
            // The checksum is what a database that sqlx::migrate! migrated
            // compares against: a difference would stop every start.
            assert_eq!(a.checksum, b.checksum, "migration {}", a.version);
            assert_eq!(a.no_tx, b.no_tx);
        }
        assert_eq!(ours.ignore_missing, sqlx.ignore_missing);
        assert_eq!(ours.locking, sqlx.locking);
        assert_eq!(ours.no_tx, sqlx.no_tx);
    }

    // sqlx's macros are a dev-dependency feature only: the tests compare
    // with what the macro builds from the same directories.
    #[test]
    fn embedded_migrations_are_what_sqlx_migrate_builds() {
        same(&sqlite(), &sqlx::migrate!("./migrations/sqlite"));
        same(&postgres(), &sqlx::migrate!("./migrations/postgres"));
        assert!(sqlite().migrations.len() >= 11 && postgres().migrations.len() >= 12);
    }
}
