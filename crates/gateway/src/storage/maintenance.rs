//! Keeping the database clean and its keys current: the sweeper's erasure
//! steps (run through [`Dialect::erase`]), event retention, the mode a
//! database serves, and what is sealed with which master key.

use sqlx::Executor;

use super::rows::Pair;
use super::sql::{Bind, Dialect, RowsAffected, SqlStore};
use super::writer::Priority;
use super::{EventKind, KeyUse, NewEvent, SealedKind, SealedValue, StoreResult, SweepStep};

/// The data keys of revoked requests whose last file link is gone (the
/// partial index `requests_revoked_keys` finds them).
const ERASE_REVOKED_KEYS: &str = "UPDATE requests SET data_key = NULL \
     WHERE status = 'revoked' AND data_key IS NOT NULL \
     AND NOT EXISTS (SELECT 1 FROM files f WHERE f.request_id = requests.id)";

/// What needs which master key at `$1`: each kind of sealed value by the
/// id of the key that sealed it (an envelope's bytes 2 to 5), how many,
/// and until when at the latest. A request's data key is needed until its
/// `valid_upto` or its last file link's expiry, whichever is later.
const KEY_USAGE: &str = "\
    SELECT 'requests' AS kind, substr(r.data_key, 2, 4) AS key_id, COUNT(*) AS count, \
           MAX(CASE WHEN f.last > r.valid_upto THEN f.last ELSE r.valid_upto END) AS until \
      FROM requests r \
      LEFT JOIN (SELECT request_id, MAX(expires_at) AS last FROM files GROUP BY request_id) f \
        ON f.request_id = r.id \
     WHERE r.data_key IS NOT NULL \
       AND (r.valid_upto > $1 OR f.last > $1) \
     GROUP BY substr(r.data_key, 2, 4) \
    UNION ALL \
    SELECT 'file links', substr(r.data_key, 2, 4), COUNT(*), MAX(f.expires_at) \
      FROM files f JOIN requests r ON r.id = f.request_id \
     WHERE r.data_key IS NOT NULL AND f.expires_at > $1 \
     GROUP BY substr(r.data_key, 2, 4) \
    UNION ALL \
    SELECT 'webhook secrets', substr(webhook_secret, 2, 4), COUNT(*), NULL \
      FROM clients WHERE webhook_secret IS NOT NULL \
     GROUP BY substr(webhook_secret, 2, 4) \
    UNION ALL \
    SELECT 'previous webhook secrets', substr(webhook_previous_secret, 2, 4), COUNT(*), \
           MAX(webhook_previous_until) \
      FROM clients WHERE webhook_previous_secret IS NOT NULL AND webhook_previous_until > $1 \
     GROUP BY substr(webhook_previous_secret, 2, 4) \
    UNION ALL \
    SELECT 'queued DigiLocker revokes', substr(token_sealed, 2, 4), COUNT(*), MAX(expires_at) \
      FROM upstream_revokes \
     GROUP BY substr(token_sealed, 2, 4)";

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut D::Conn: Executor<'c, Database = D::Db>,
{
    pub(super) async fn sweep_step(&self, now: i64, limit: i64) -> StoreResult<SweepStep> {
        D::erase(self, move |conn| {
            Box::pin(async move {
                let started = std::time::Instant::now();
                // The rows go, their files with them (ON DELETE CASCADE),
                // the data key first of all.
                let gone = D::sweep_requests(&mut *conn, now, limit).await?;
                let events: Vec<_> = gone
                    .iter()
                    .map(|(id, client_id)| {
                        let reason = serde_json::json!({"reason": "expired"});
                        let e = NewEvent::new(EventKind::Erased, reason, now);
                        (id.clone(), client_id.clone(), e)
                    })
                    .collect();
                Self::append_events(conn, &events).await?;
                Ok(SweepStep {
                    requests: gone.into_iter().map(|(id, _)| id).collect(),
                    took: started.elapsed(),
                })
            })
        })
        .await
    }

    pub(super) async fn sweep_links(&self, now: i64, limit: i64) -> StoreResult<u64> {
        D::erase(self, move |conn| {
            Box::pin(async move {
                let links = sqlx::query(D::SWEEP_LINKS)
                    .arg(now)
                    .arg(limit)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                // A revoked request's key goes with its last link.
                let keys = sqlx::query(ERASE_REVOKED_KEYS)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                Ok(links + keys)
            })
        })
        .await
    }

    pub(super) async fn purge_events(&self, before: i64, limit: i64) -> StoreResult<u64> {
        D::erase(self, move |conn| {
            Box::pin(async move {
                // Events are appended in time order, so the oldest by `seq`
                // are the ones past retention: no index on `at`.
                sqlx::query(
                    "DELETE FROM deliveries WHERE event_id IN \
                     (SELECT id FROM (SELECT id, at FROM events ORDER BY seq LIMIT $2) oldest \
                      WHERE at < $1)",
                )
                .arg(before)
                .arg(limit)
                .execute(&mut *conn)
                .await?;
                let done = sqlx::query(
                    "DELETE FROM events WHERE seq IN \
                     (SELECT seq FROM (SELECT seq, at FROM events ORDER BY seq LIMIT $2) oldest \
                      WHERE at < $1)",
                )
                .arg(before)
                .arg(limit)
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected())
            })
        })
        .await
    }

    pub(super) async fn claim_mode(&self, mode: &str, now: i64) -> StoreResult<(String, i64)> {
        let mode = mode.to_owned();
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO gateway_meta (name, value, set_at) VALUES ('mode', $1, $2) \
                         ON CONFLICT (name) DO NOTHING",
                    )
                    .arg(&mode)
                    .arg(now)
                    .execute(&mut *conn)
                    .await?;
                    let Pair(mode, at) = sqlx::query_as(
                        "SELECT value, set_at FROM gateway_meta WHERE name = 'mode'",
                    )
                    .fetch_one(&mut *conn)
                    .await?;
                    Ok((mode, at))
                })
            })
            .await
    }

    pub(super) async fn key_usage(&self, now: i64) -> StoreResult<Vec<KeyUse>> {
        let mut db = self.read.get().await?;
        let all = sqlx::query_as(KEY_USAGE)
            .arg(now)
            .fetch_all(db.conn())
            .await;
        Ok(db.check(all)?)
    }

    pub(super) async fn sealed_under_other_keys(
        &self,
        current: &[u8],
    ) -> StoreResult<Vec<SealedValue>> {
        let mut out = Vec::new();
        for kind in [
            SealedKind::WebhookSecret,
            SealedKind::WebhookPreviousSecret,
            SealedKind::UpstreamRevokeToken,
        ] {
            let (table, key, column) = kind.columns();
            let sql = format!(
                "SELECT {key}, {column} FROM {table} \
                 WHERE {column} IS NOT NULL AND substr({column}, 2, 4) <> $1"
            );
            let mut db = self.read.get().await?;
            let rows: Result<Vec<Pair<String, Vec<u8>>>, _> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .arg(current)
                    .fetch_all(db.conn())
                    .await;
            let rows = db.check(rows)?;
            out.extend(rows.into_iter().map(|Pair(owner, sealed)| SealedValue {
                kind,
                owner,
                sealed,
            }));
        }
        Ok(out)
    }

    pub(super) async fn replace_sealed(
        &self,
        value: &SealedValue,
        resealed: &[u8],
    ) -> StoreResult<bool> {
        let (value, resealed) = (value.clone(), resealed.to_vec());
        self.writer
            .write(Priority::Api, move |conn| {
                Box::pin(async move {
                    let (table, key, column) = value.kind.columns();
                    let sql = format!(
                        "UPDATE {table} SET {column} = $1 WHERE {key} = $2 AND {column} = $3"
                    );
                    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .arg(&resealed)
                        .arg(&value.owner)
                        .arg(&value.sealed)
                        .execute(&mut *conn)
                        .await?;
                    Ok(done.rows_affected() == 1)
                })
            })
            .await
    }
}
