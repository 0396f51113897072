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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_signature_is_hex_sha256_of_secret_clientid_ts() {
        // printf 'topsecretDEMOCLIENT1700000000' | sha256sum
        assert_eq!(
            catalogue_signature("topsecret", "DEMOCLIENT", "1700000000"),
            "1d26043154322b87af9efcccce9c5c58e7902a2bdf816704631caf17bc5ffea4"
        );
    }

    #[test]
    fn file_hmac_matches_openssl() {
        // printf 'hello pdf' | openssl dgst -sha256 -hmac topsecret -binary | base64
        let expected = "rPf3GsmfFbwhIjKtSxHbgV8BXuCGIztoL5Fac7mp8ro=";
        assert_eq!(file_hmac("topsecret", b"hello pdf"), expected);
        assert!(verify_file_hmac("topsecret", b"hello pdf", expected));
        assert!(verify_file_hmac(
            "topsecret",
            b"hello pdf",
            &format!(" {expected}\n")
        ));
    }

    #[test]
    fn file_hmac_rejects_other_bodies_keys_and_garbage() {
        let good = file_hmac("topsecret", b"hello pdf");
        assert!(!verify_file_hmac("topsecret", b"hello pdf!", &good));
        assert!(!verify_file_hmac("othersecret", b"hello pdf", &good));
        assert!(!verify_file_hmac(
            "topsecret",
            b"hello pdf",
            "not base64 at all!"
        ));
        assert!(!verify_file_hmac("topsecret", b"hello pdf", ""));
        // A prefix of the right MAC must not pass.
        let truncated = STANDARD.encode(&STANDARD.decode(&good).unwrap_or_default()[..16]);
        assert!(!verify_file_hmac("topsecret", b"hello pdf", &truncated));
    }
}
