//! The pool of read connections (bb8 over sqlx connections).
//!
//! sqlx's own pool pings every connection as it comes back: one more round
//! trip per read, to PostgreSQL over the network or to SQLite's connection
//! thread. On a status call that was a sixth of the gateway's time. This
//! pool hands a connection back as it is, and drops one whose last
//! statement failed on the connection itself (I/O, TLS, protocol, a
//! crashed SQLite thread) instead of pinging it. A statement abandoned
//! half way (its caller went away) needs no ping either: sqlx finishes or
//! resets it before the connection's next statement.

use std::time::Duration;

use sqlx::{ConnectOptions, Connection};

use super::{StoreError, StoreResult};

/// Connections made from one set of options.
#[derive(Debug)]
pub(crate) struct Manager<C: Connection + 'static> {
    options: C::Options,
}

/// A pooled connection and whether it is known to be broken.
#[derive(Debug)]
pub(crate) struct Pooled<C> {
    conn: C,
    broken: bool,
}

impl<C: Connection + 'static> bb8::ManageConnection for Manager<C> {
    type Connection = Pooled<C>;
    type Error = sqlx::Error;

    async fn connect(&self) -> Result<Pooled<C>, sqlx::Error> {
        Ok(Pooled {
            conn: self.options.connect().await?,
            broken: false,
        })
    }

    /// Only used if checks on checkout are turned on (they are not).
    async fn is_valid(&self, pooled: &mut Pooled<C>) -> Result<(), sqlx::Error> {
        pooled.conn.ping().await
    }

    fn has_broken(&self, pooled: &mut Pooled<C>) -> bool {
        pooled.broken
    }
}

/// The read pool of a store.
#[derive(Debug)]
pub(crate) struct ReadPool<C: Connection + 'static> {
    pool: bb8::Pool<Manager<C>>,
}

impl<C: Connection + 'static> Clone for ReadPool<C> {
    fn clone(&self) -> Self {
        ReadPool {
            pool: self.pool.clone(),
        }
    }
}

/// How big a read pool is and how long a caller waits for a connection.
pub(crate) struct ReadPoolSize {
    pub max: u32,
    pub min_idle: Option<u32>,
    pub wait: Duration,
}

impl<C: Connection + 'static> ReadPool<C> {
    /// A pool of up to `size.max` connections made with `options`; opens
    /// `min_idle` of them before returning (an unreachable database fails
    /// here, at start, rather than on the first call).
    pub async fn open(options: C::Options, size: ReadPoolSize) -> Result<Self, sqlx::Error> {
        let pool = bb8::Pool::builder()
            .max_size(size.max)
            .min_idle(size.min_idle)
            .connection_timeout(size.wait)
            // A broken connection fails its statement and is dropped then.
            .test_on_check_out(false)
            .build(Manager { options })
            .await?;
        Ok(ReadPool { pool })
    }

    /// A connection, waiting up to the pool's timeout for one.
    pub async fn get(&self) -> StoreResult<ReadConn<'_, C>> {
        match self.pool.get().await {
            Ok(inner) => Ok(ReadConn { inner }),
            Err(bb8::RunError::User(e)) => Err(e.into()),
            Err(bb8::RunError::TimedOut) => Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
        }
    }
}

/// A connection out of the pool; back in it when dropped.
pub(crate) struct ReadConn<'a, C: Connection + 'static> {
    inner: bb8::PooledConnection<'a, Manager<C>>,
}

impl<C: Connection + 'static> ReadConn<'_, C> {
    /// The connection, to run statements on.
    pub fn conn(&mut self) -> &mut C {
        &mut self.inner.conn
    }

    /// Pass on a statement's result, marking the connection broken (never
    /// handed out again) if the statement failed on the connection itself
    /// rather than in the database.
    pub fn check<T>(&mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if let Err(e) = &result {
            if !statement_error(e) {
                self.inner.broken = true;
            }
        }
        result
    }
}

/// Whether an error is about the statement or its rows (the connection is
/// fine), as opposed to the connection (I/O, TLS, protocol, a crashed
/// SQLite thread, or anything sqlx adds later).
fn statement_error(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Database(_)
            | sqlx::Error::RowNotFound
            | sqlx::Error::TypeNotFound { .. }
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::Encode(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_connection_failures_mark_a_connection_broken() {
        assert!(statement_error(&sqlx::Error::RowNotFound));
        assert!(statement_error(&sqlx::Error::ColumnNotFound("x".into())));
        assert!(!statement_error(&sqlx::Error::Io(std::io::Error::other(
            "reset"
        ))));
        assert!(!statement_error(&sqlx::Error::WorkerCrashed));
        assert!(!statement_error(&sqlx::Error::Protocol("bad".into())));
    }

    #[tokio::test]
    async fn a_connection_that_failed_on_itself_is_not_handed_out_again() {
        let dir = tempfile::tempdir().unwrap();
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("db"))
            .create_if_missing(true);
        let pool = ReadPool::<sqlx::SqliteConnection>::open(
            options,
            ReadPoolSize {
                max: 1,
                min_idle: Some(1),
                wait: Duration::from_secs(5),
            },
        )
        .await
        .unwrap();
        // Remember which connection the pool holds by a connection-local
        // setting.
        {
            let mut c = pool.get().await.unwrap();
            sqlx::query("PRAGMA cache_size = -777")
                .execute(c.conn())
                .await
                .unwrap();
        }
        let cache_size = |pool: ReadPool<sqlx::SqliteConnection>| async move {
            let mut c = pool.get().await.unwrap();
            let (size,): (i64,) = sqlx::query_as("PRAGMA cache_size")
                .fetch_one(c.conn())
                .await
                .unwrap();
            size
        };
        // A failed statement leaves it in the pool…
        {
            let mut c = pool.get().await.unwrap();
            let failed = sqlx::query("SELECT * FROM no_such_table")
                .execute(c.conn())
                .await;
            assert!(c.check(failed).is_err());
        }
        assert_eq!(cache_size(pool.clone()).await, -777);
        // …a failed connection does not: the next caller gets a new one.
        {
            let mut c = pool.get().await.unwrap();
            let failed: Result<(), _> = Err(sqlx::Error::WorkerCrashed);
            assert!(c.check(failed).is_err());
        }
        assert_ne!(cache_size(pool.clone()).await, -777);
    }
}
