//! The expiry sweeper: erases every request past `validUpto` with its
//! tokens, user details and files.

use crate::app::interval;
use crate::state::AppState;

/// Erase what has expired now; returns how many requests this call erased.
pub async fn sweep_once(state: &AppState) -> anyhow::Result<usize> {
    let mut total = 0;
    loop {
        let erased = state
            .store
            .sweep_expired(state.now(), &state.config.instance_name)
            .await?;
        for id in &erased {
            tracing::info!(request_id = %id, "expired request erased");
        }
        total += erased.len();
        state.metrics.erased(erased.len() as u64);
        if erased.len() < 1000 {
            return Ok(total);
        }
    }
}

/// Background loop.
pub async fn run(state: AppState) {
    loop {
        if let Err(e) = sweep_once(&state).await {
            tracing::warn!(error = %e, "sweep failed; will retry");
        }
        // Forget rate-limit state of clients that went quiet.
        if let Some(limiter) = &state.limiter {
            limiter.retain_recent();
        }
        tokio::time::sleep(interval(state.config.sweep_interval)).await;
    }
}
