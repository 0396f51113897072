//! DigiLocker's side of a revoke. The user's withdrawal is honoured locally
//! first: the request's data is erased in one transaction that also queues
//! the upstream revoke (the token, sealed with the master key, is all the
//! queue holds). The revoke is then made at once, and when DigiLocker fails
//! (5xx, an HTML page, a timeout, unreachable) it is retried in the
//! background with backoff until DigiLocker accepts it or the token has
//! expired by itself. Either way an `upstream_revoked` event records it (the
//! audit trail, and a `digilocker.request.revoke_confirmed` webhook).

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::crypto::Keyring;
use crate::metrics::Metrics;
use crate::sealed::StoredToken;
use crate::state::{AppState, Clock};
use crate::storage::{
    EventKind, NewEvent, NewUpstreamRevoke, Store, UpstreamRevoke, UpstreamRevokeOutcome,
};
use crate::upstream;

/// What DigiLocker revokes use, and nothing more.
#[derive(Clone)]
pub struct Revoker {
    pub store: Arc<dyn Store>,
    pub keys: Keyring,
    pub dl: digilocker::Client,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
}

impl Revoker {
    /// The revoker of a running gateway.
    pub fn of(state: &AppState) -> Revoker {
        Revoker {
            store: state.store.clone(),
            keys: state.keys.clone(),
            dl: state.dl.clone(),
            metrics: state.metrics.clone(),
            clock: state.clock.clone(),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// DigiLocker publishes no refresh-token lifetime: with one, the revoke is
/// tried for this long at most (then the row and its token go).
pub const REFRESH_TOKEN_HORIZON: i64 = 7 * 24 * 3600;
/// Without an expiry from DigiLocker, an access token is taken to live this long.
const ACCESS_TOKEN_DEFAULT_LIFE: i64 = 3600;
/// A claimed revoke is another instance's to retry only after this.
const LEASE_SECS: i64 = 120;
/// Revokes taken per look.
const BATCH: i64 = 16;
/// How often the queue is looked at.
const POLL: Duration = Duration::from_secs(2);
/// Backoff between attempts: from this, doubling (with jitter) ...
const RETRY_MIN: Duration = Duration::from_secs(5);
/// ... up to this.
const RETRY_MAX: Duration = Duration::from_secs(15 * 60);

/// The associated data of a queued token: bound to its request.
pub(crate) fn aad(request_id: &str) -> String {
    format!("upstream_revokes/{request_id}/token")
}

/// The queue entry for revoking `token` upstream, sealed with the master
/// key; `None` when the token is dead already (an expired access token
/// and no refresh token: nothing left to revoke).
pub fn job(
    keys: &Keyring,
    request_id: &str,
    token: &StoredToken,
    now: i64,
) -> anyhow::Result<Option<NewUpstreamRevoke>> {
    let expires_at = if token.refresh_token.is_some() {
        now + REFRESH_TOKEN_HORIZON
    } else if token.expires_at > 0 {
        token.expires_at
    } else {
        now + ACCESS_TOKEN_DEFAULT_LIFE
    };
    if expires_at <= now {
        return Ok(None);
    }
    Ok(Some(NewUpstreamRevoke {
        token_sealed: keys.seal_json(&aad(request_id), token)?,
        expires_at,
        created_at: now,
    }))
}

/// Try `request_id`'s queued revoke now (right after the local erasure),
/// unless the background worker has it.
pub async fn attempt_now(state: Revoker, request_id: String) {
    let now = state.now();
    match state
        .store
        .claim_upstream_revokes(now, LEASE_SECS, 1, Some(&request_id))
        .await
    {
        Ok(jobs) => {
            for job in jobs {
                attempt(&state, job).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot claim the upstream revoke; the worker will"),
    }
}

/// Background loop (every instance runs one): the queued revokes that are
/// due, each claimed by one instance.
pub async fn run(state: Revoker) {
    loop {
        let now = state.now();
        match state
            .store
            .claim_upstream_revokes(now, LEASE_SECS, BATCH, None)
            .await
        {
            Ok(jobs) => {
                for job in jobs {
                    attempt(&state, job).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the upstream revoke queue"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// One attempt at one queued revoke, its outcome stored.
async fn attempt(state: &Revoker, job: UpstreamRevoke) {
    let outcome = match outcome_of(state, &job).await {
        Ok(outcome) => outcome,
        Err(e) => {
            // The token cannot be opened (its master key is gone): nothing
            // can revoke it; drop it rather than retry for ever.
            tracing::error!(request_id = %job.request_id, error = %format!("{e:#}"), "cannot open a queued revoke's token; dropped");
            done(state, &job, "unreadable")
        }
    };
    match &outcome {
        UpstreamRevokeOutcome::Done(_) => {
            tracing::info!(request_id = %job.request_id, attempts = job.attempts + 1, "revoked at DigiLocker");
        }
        UpstreamRevokeOutcome::Retry {
            error,
            next_attempt_at,
        } => {
            tracing::warn!(request_id = %job.request_id, attempts = job.attempts + 1, error = %error, retry_at = next_attempt_at, "DigiLocker's revoke failed; the request is erased here and the revoke will be retried");
        }
    }
    if let Err(e) = state
        .store
        .finish_upstream_revoke(&job.request_id, &outcome)
        .await
    {
        tracing::warn!(request_id = %job.request_id, error = %e, "cannot record an upstream revoke attempt; it will be tried again");
    } else if matches!(outcome, UpstreamRevokeOutcome::Done(_)) {
        // The token's row is gone: leave no copy of it in the WAL.
        if let Err(e) = state.store.compact().await {
            tracing::warn!(error = %e, "cannot compact after an upstream revoke");
        }
    }
}

fn done(state: &Revoker, job: &UpstreamRevoke, outcome: &str) -> UpstreamRevokeOutcome {
    UpstreamRevokeOutcome::Done(NewEvent::new(
        EventKind::UpstreamRevoked,
        serde_json::json!({"outcome": outcome, "attempts": job.attempts + 1}),
        state.now(),
    ))
}

async fn outcome_of(
    state: &Revoker,
    job: &UpstreamRevoke,
) -> anyhow::Result<UpstreamRevokeOutcome> {
    let now = state.now();
    if now >= job.expires_at {
        return Ok(done(state, job, "token_expired"));
    }
    let token: StoredToken = state
        .keys
        .open_json(&aad(&job.request_id), &job.token_sealed)?;
    // Revoking either token of a consent ends both: one call, with the
    // access token while it lives, else the refresh token.
    let access_alive = token.expires_at == 0 || token.expires_at > now;
    let mut tries: Vec<(String, digilocker::TokenHint)> = Vec::new();
    if access_alive {
        tries.push((
            token.access_token.clone(),
            digilocker::TokenHint::AccessToken,
        ));
    }
    if let Some(refresh) = &token.refresh_token {
        tries.push((refresh.clone(), digilocker::TokenHint::RefreshToken));
    }
    if tries.is_empty() {
        return Ok(done(state, job, "token_expired"));
    }
    let last = tries.len() - 1;
    for (i, (secret, hint)) in tries.into_iter().enumerate() {
        let secret = SecretString::from(secret);
        match upstream::call(&state.metrics, "revoke", state.dl.revoke(&secret, hint)).await {
            Ok(()) => return Ok(done(state, job, "revoked")),
            // DigiLocker no longer knows this token. An access token that
            // died early may leave its refresh token alive: revoke that too.
            Err(e) if upstream::is_already_invalid(&e) => {
                if i == last {
                    return Ok(done(state, job, "revoked"));
                }
            }
            Err(e) => {
                let wait = crate::catalogue::backoff(job.attempts + 1, RETRY_MIN, RETRY_MAX);
                let next = (now + wait.as_secs() as i64).min(job.expires_at);
                return Ok(UpstreamRevokeOutcome::Retry {
                    error: format!("{} ({})", e.kind(), e.status().unwrap_or_default()),
                    next_attempt_at: next,
                });
            }
        }
    }
    Ok(done(state, job, "revoked"))
}
