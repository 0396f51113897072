//! PKCE (RFC 7636, S256 only: the one method DigiLocker supports) and `state`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};

/// PKCE verifier + S256 challenge.
#[derive(Clone, Debug)]
pub struct Pkce {
    /// The verifier: keep it server-side, send it only to the token endpoint.
    pub verifier: SecretString,
    /// `BASE64URL-NOPAD(SHA256(verifier))`, sent in the authorize URL.
    pub challenge: String,
}

impl Pkce {
    /// A fresh random verifier (43 chars of the unreserved alphabet, 256 bits
    /// from the OS's CSPRNG) and its challenge.
    pub fn generate() -> Pkce {
        let verifier = random_token(32);
        let challenge = s256_challenge(&verifier);
        Pkce {
            verifier: SecretString::from(verifier),
            challenge,
        }
    }

    /// The pair for a given verifier (e.g. one restored from storage).
    pub fn from_verifier(verifier: SecretString) -> Pkce {
        let challenge = s256_challenge(verifier.expose_secret());
        Pkce {
            verifier,
            challenge,
        }
    }
}

/// The S256 code challenge of a verifier: `BASE64URL-NOPAD(SHA256(ASCII(verifier)))`.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A fresh random `state` value (URL-safe, 256 bits).
pub fn generate_state() -> String {
    random_token(32)
}

/// `len` random bytes from the OS, base64url without padding: only
/// `[A-Za-z0-9_-]`, which is within PKCE's unreserved alphabet.
fn random_token(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(&bytes)
}
