//! Signing secrets and signatures, as Standard Webhooks defines them: a
//! secret is `whsec_` + base64 (standard alphabet) of random bytes; the
//! signature of a delivery is `v1,` + base64 of HMAC-SHA256 over
//! `<webhook-id>.<webhook-timestamp>.<body>`. While a rotated-out secret
//! still signs, the header carries both signatures, space-separated; a
//! receiver accepts the delivery when any one verifies.

use anyhow::{anyhow, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::crypto::Keyring;
use crate::storage::ClientRecord;

/// How a secret is written for people.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;
/// How long a rotated-out secret keeps signing beside the new one.
pub const ROTATION_OVERLAP_SECONDS: i64 = 24 * 3600;

/// A signing key, wiped from memory when dropped.
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// A fresh random key.
    pub fn generate() -> SigningKey {
        let mut bytes = vec![0u8; SECRET_BYTES];
        // ThreadRng: a CSPRNG seeded (and periodically reseeded) from the OS.
        rand::fill(&mut bytes[..]);
        SigningKey(bytes)
    }

    /// The secret as the business is given it: `whsec_<base64>`.
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// Sealed with the master key, bound to its client, to store.
    pub fn seal(&self, keys: &Keyring, client_id: &str) -> anyhow::Result<Vec<u8>> {
        keys.seal(&aad(client_id), &self.0)
    }

    /// Open a stored (sealed) key of `client_id`.
    pub fn open(keys: &Keyring, client_id: &str, sealed: &[u8]) -> anyhow::Result<SigningKey> {
        keys.open(&aad(client_id), sealed).map(SigningKey).context(
            "cannot open the webhook signing secret (is the master key that sealed it configured?)",
        )
    }

    /// `v1,<base64 HMAC-SHA256 of id.timestamp.body>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> anyhow::Result<String> {
        standardwebhooks::Webhook::from_bytes(self.0.clone())
            .and_then(|w| w.sign(id, timestamp, body))
            .map_err(|e| anyhow!("cannot sign the delivery: {e}"))
    }
}

impl SigningKey {
    /// Does a delivery (its body and `webhook-*` headers) verify with this
    /// key, its timestamp within the library's tolerance of now?
    pub fn verify(&self, body: &[u8], headers: &axum::http::HeaderMap) -> bool {
        standardwebhooks::Webhook::from_bytes(self.0.clone())
            .and_then(|w| w.verify(body, headers))
            .is_ok()
    }
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// Both columns of a client's secrets are bound to the client (not to a
/// column): rotation moves the current one to `previous` as it is.
pub(crate) fn aad(client_id: &str) -> String {
    format!("clients/{client_id}/webhook")
}

/// The keys that sign a client's deliveries at `now`: the current one, and
/// the rotated-out one until its overlap ends.
pub fn signing_keys(
    keys: &Keyring,
    client_id: &str,
    secret: Option<&[u8]>,
    previous: Option<&[u8]>,
    previous_until: Option<i64>,
    now: i64,
) -> anyhow::Result<Vec<SigningKey>> {
    let current = secret.ok_or_else(|| anyhow!("the client's webhook has no signing secret"))?;
    let mut out = vec![SigningKey::open(keys, client_id, current)?];
    if let (Some(previous), Some(until)) = (previous, previous_until) {
        if until > now {
            // Best effort: a rotated-out secret sealed with a master key
            // that has since been removed only stops signing early.
            match SigningKey::open(keys, client_id, previous) {
                Ok(key) => out.push(key),
                Err(e) => {
                    tracing::warn!(client_id, error = %e, "the previous webhook secret cannot be opened; signing with the current one only")
                }
            }
        }
    }
    Ok(out)
}

/// [`signing_keys`] of a client record.
pub fn client_signing_keys(
    keys: &Keyring,
    client: &ClientRecord,
    now: i64,
) -> anyhow::Result<Vec<SigningKey>> {
    signing_keys(
        keys,
        &client.client_id,
        client.webhook_secret.as_deref(),
        client.webhook_previous_secret.as_deref(),
        client.webhook_previous_until,
        now,
    )
}

/// The `webhook-signature` header: one `v1,<sig>` per key, space-separated.
pub fn signature_header(
    keys: &[SigningKey],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> anyhow::Result<String> {
    let signatures = keys
        .iter()
        .map(|k| k.sign(id, timestamp, body))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;

    #[test]
    fn signatures_match_the_specifications_example() {
        // The example of the Standard Webhooks specification's libraries.
        let secret = STANDARD.decode("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let key = SigningKey(secret);
        assert_eq!(
            key.sign(
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1649367553,
                br#"{"email":"test@example.com","username":"test_user"}"#
            )
            .unwrap(),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
        assert_eq!(key.to_text(), "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
    }

    #[test]
    fn secrets_are_sealed_per_client_and_both_sign_during_a_rotation() {
        let keys = Keyring::new(MasterKey::from_bytes(&[3u8; 32]).unwrap(), vec![]);
        let (old, new) = (SigningKey::generate(), SigningKey::generate());
        assert!(old.to_text().starts_with("whsec_"));
        assert_ne!(old.to_text(), new.to_text());
        let sealed_old = old.seal(&keys, "cl_a").unwrap();
        let sealed_new = new.seal(&keys, "cl_a").unwrap();
        assert!(
            SigningKey::open(&keys, "cl_b", &sealed_new).is_err(),
            "bound to its client"
        );
        let both = signing_keys(
            &keys,
            "cl_a",
            Some(&sealed_new),
            Some(&sealed_old),
            Some(100),
            99,
        )
        .unwrap();
        let header = signature_header(&both, "evt_1", 99, b"{}").unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            parts,
            [
                new.sign("evt_1", 99, b"{}").unwrap(),
                old.sign("evt_1", 99, b"{}").unwrap()
            ]
        );
        // A previous secret that no configured master key opens any more
        // (an old key removed after a rotation) does not stop signing.
        let other = Keyring::new(MasterKey::from_bytes(&[4u8; 32]).unwrap(), vec![]);
        let sealed_elsewhere = old.seal(&other, "cl_a").unwrap();
        let current_only = signing_keys(
            &keys,
            "cl_a",
            Some(&sealed_new),
            Some(&sealed_elsewhere),
            Some(100),
            99,
        )
        .unwrap();
        assert_eq!(current_only.len(), 1);
        // After the overlap only the new secret signs.
        let after = signing_keys(
            &keys,
            "cl_a",
            Some(&sealed_new),
            Some(&sealed_old),
            Some(100),
            100,
        )
        .unwrap();
        assert_eq!(after.len(), 1);
    }
}
