//! PKCE (RFC 7636, S256 only: the one method DigiLocker supports) and `state`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
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
    /// from a CSPRNG) and its challenge.
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

/// `len` random bytes, base64url without padding: only `[A-Za-z0-9_-]`,
/// which is within PKCE's unreserved alphabet. The bytes come from `rand`'s
/// thread-local ChaCha generator, a CSPRNG seeded (and reseeded) from the
/// operating system, without a system call per value.
fn random_token(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let pkce = Pkce::from_verifier(SecretString::from(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        ));
        assert_eq!(
            pkce.challenge,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    fn unreserved(s: &str) -> bool {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    }

    #[test]
    fn generated_verifier_is_valid_and_matches_its_challenge() {
        let pkce = Pkce::generate();
        let verifier = pkce.verifier.expose_secret();
        // RFC 7636 §4.1: 43..=128 characters of the unreserved alphabet.
        assert!((43..=128).contains(&verifier.len()), "{}", verifier.len());
        assert!(unreserved(verifier));
        assert_eq!(pkce.challenge, s256_challenge(verifier));
        assert_eq!(
            pkce.challenge.len(),
            43,
            "SHA-256 in base64url without padding"
        );
        assert!(!pkce.challenge.contains('='));
    }

    #[test]
    fn verifiers_and_states_are_fresh_each_time() {
        let a = Pkce::generate();
        let b = Pkce::generate();
        assert_ne!(a.verifier.expose_secret(), b.verifier.expose_secret());
        let (s1, s2) = (generate_state(), generate_state());
        assert_ne!(s1, s2);
        assert!(s1.len() >= 22, "at least 128 bits in base64url");
        assert!(unreserved(&s1));
    }

    #[test]
    fn debug_does_not_show_the_verifier() {
        let pkce = Pkce::from_verifier(SecretString::from(
            "a-verifier-that-must-stay-secret-000000000000",
        ));
        assert!(!format!("{pkce:?}").contains("must-stay-secret"));
    }
}
