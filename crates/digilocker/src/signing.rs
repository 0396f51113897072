//! The two integrity checks of the partner API: the request signature of the
//! catalogue calls, and the `hmac` header of file downloads.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};

/// `hmac` form field of a signed call: lowercase hex of
/// `SHA-256(client_secret + clientid + ts)`. DigiLocker calls this an "hmac"
/// but specifies a plain hash of the concatenation, and that is what it checks.
pub fn catalogue_signature(client_secret: &str, client_id: &str, ts: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(client_secret.as_bytes());
    hasher.update(client_id.as_bytes());
    hasher.update(ts.as_bytes());
    hex::encode(hasher.finalize())
}

/// `base64(HMAC-SHA256(key = client_secret, body))`: the `hmac` header DigiLocker
/// puts on file downloads (and expects on uploads).
pub fn file_hmac(client_secret: &str, body: &[u8]) -> String {
    STANDARD.encode(mac(client_secret, body).finalize().into_bytes())
}

/// Whether `header` is the file hmac of `body`. The comparison is constant-time;
/// a header that is not valid base64 does not match.
pub fn verify_file_hmac(client_secret: &str, body: &[u8], header: &str) -> bool {
    let Ok(given) = STANDARD.decode(header.trim()) else {
        return false;
    };
    mac(client_secret, body).verify_slice(&given).is_ok()
}

fn mac(client_secret: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this never fails; the fallback only
    // satisfies the type (an empty key would make every check fail, not pass).
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(client_secret.as_bytes())
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(body);
    mac
}
