//! Master keys in use: what still needs each key (`keys status`), the
//! start-up check that refuses to run without a key live data needs, and
//! the re-sealing of long-lived values under the current key, so an old
//! key is needed only by requests made before the rotation, which end
//! within their lifetime.

use std::collections::BTreeMap;

use crate::crypto::Keyring;
use crate::storage::{KeyUse, SealedKind, Store};

/// What needs one master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyNeed {
    /// The key id, as `keys status` and error messages print it (hex).
    pub key_id: String,
    /// `current`, `old` (configured in `old_master_keys`) or `missing`.
    pub configured: &'static str,
    /// What needs it: (kind, count, until at the latest; `None`: until re-sealed).
    pub uses: Vec<KeyUse>,
}

impl KeyNeed {
    /// When the last need ends (`None`: not by itself; re-sealed at the
    /// next start of an instance whose current key is another).
    pub fn until(&self) -> Option<i64> {
        self.uses
            .iter()
            .map(|u| u.until)
            .try_fold(i64::MIN, |acc, u| u.map(|u| acc.max(u)))
    }
}

/// Every key still needed at `now`, and every configured key (needed or
/// not), the current one first.
pub async fn status(store: &dyn Store, keys: &Keyring, now: i64) -> anyhow::Result<Vec<KeyNeed>> {
    let ids = keys.key_ids();
    let mut by_key: BTreeMap<Vec<u8>, Vec<KeyUse>> = BTreeMap::new();
    for u in store.key_usage(now).await? {
        by_key.entry(u.key_id.clone()).or_default().push(u);
    }
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        out.push(KeyNeed {
            key_id: hex::encode(id),
            configured: if i == 0 { "current" } else { "old" },
            uses: by_key.remove(id.as_slice()).unwrap_or_default(),
        });
    }
    for (id, uses) in by_key {
        out.push(KeyNeed {
            key_id: hex::encode(id),
            configured: "missing",
            uses,
        });
    }
    Ok(out)
}

/// Refuse to start when live data needs a key that is not configured,
/// naming it and what needs it; else re-seal webhook secrets and queued
/// revokes sealed with an old key under the current one. Returns how many
/// values were re-sealed.
pub async fn check_and_reseal(
    store: &dyn Store,
    keys: &Keyring,
    now: i64,
) -> anyhow::Result<usize> {
    let missing: Vec<KeyNeed> = status(store, keys, now)
        .await?
        .into_iter()
        .filter(|k| k.configured == "missing")
        .collect();
    if !missing.is_empty() {
        let list = missing
            .iter()
            .map(|k| format!("key id {} ({})", k.key_id, describe_uses(&k.uses, now)))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(crate::config::ConfigRefused(format!(
            "live data is sealed with a master key that is not configured: {list}. Put that key \
             back in GATEWAY_OLD_MASTER_KEYS (old_master_keys); `digilocker-gateway keys status` \
             shows what needs each key and until when"
        ))
        .into());
    }
    let current = keys.current_id();
    let mut resealed = 0;
    for value in store.sealed_under_other_keys(&current).await? {
        let aad = match value.kind {
            SealedKind::WebhookSecret | SealedKind::WebhookPreviousSecret => {
                crate::webhooks::signing::aad(&value.owner)
            }
            SealedKind::UpstreamRevokeToken => crate::revocation::aad(&value.owner),
        };
        let new = keys.reseal(&aad, &value.sealed)?;
        if store.replace_sealed(&value, &new).await? {
            resealed += 1;
        }
    }
    if resealed > 0 {
        tracing::info!(
            resealed,
            key_id = %hex::encode(current),
            "webhook secrets and queued revokes re-sealed with the current master key"
        );
    }
    Ok(resealed)
}

/// "3 requests until 2026-12-07 12:00:00 UTC, 1 webhook secrets until re-sealed".
pub fn describe_uses(uses: &[KeyUse], now: i64) -> String {
    if uses.is_empty() {
        return "needed by nothing".into();
    }
    uses.iter()
        .map(|u| {
            let until = match u.until {
                Some(t) => format!("until {}", crate::timefmt::ist(t.max(now))),
                None => "until re-sealed (at the next start)".into(),
            };
            format!("{} {} {until}", u.count, u.kind)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `keys status` as text.
pub fn status_text(needs: &[KeyNeed], now: i64) -> String {
    let mut out = String::new();
    for k in needs {
        let until = match (k.uses.is_empty(), k.until()) {
            (true, _) => "no longer needed: can be removed".to_owned(),
            (false, Some(t)) => format!("needed until {} at the latest", crate::timefmt::ist(t)),
            (false, None) => "needed until re-sealed".to_owned(),
        };
        out.push_str(&format!("key {} ({}): {until}\n", k.key_id, k.configured));
        for u in &k.uses {
            let when = match u.until {
                Some(t) => crate::timefmt::ist(t.max(now)),
                None => "until re-sealed".into(),
            };
            out.push_str(&format!("  {:<26} {:>8}  {when}\n", u.kind, u.count));
        }
    }
    out.push_str(
        "client secrets are SHA-256 hashes and need no master key; webhook secrets and queued \
         revokes are re-sealed with the current key whenever an instance starts\n",
    );
    out
}
