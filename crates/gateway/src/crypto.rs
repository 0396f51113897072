//! Encryption at rest, client secrets and unguessable tokens.
//!
//! Two levels of keys. The master key (from configuration, never stored)
//! seals one random **data key** per request; the data key seals everything
//! of that request (journey secrets, tokens, user details, scope, files).
//! Erasing a request deletes its sealed data key first: every copy of the
//! rest, wherever it lingers (WAL, free pages, dead tuples, backups), can no
//! longer be opened, even with the master key (crypto-shredding).
//!
//! Master-key envelope: `v1 | key id (4 bytes) | nonce (24) | XChaCha20-Poly1305
//! ciphertext`; the key id lets master keys rotate (old ones stay configured
//! for reading). Data-key envelope: `v2 | nonce (24) | ciphertext`. In both,
//! the associated data binds a ciphertext to its row and column so it can't
//! be swapped into another row.
//!
//! Random bytes (keys, nonces, tokens) come from `rand`'s thread-local
//! ChaCha generator, a CSPRNG seeded and regularly reseeded from the
//! operating system: as safe as asking the OS each time, without a system
//! call per value.

use anyhow::{anyhow, bail, Context};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const VERSION: u8 = 1;
const DATA_VERSION: u8 = 2;
const NONCE_LEN: usize = 24;

fn seal_with(
    cipher: &XChaCha20Poly1305,
    aad: &str,
    plain: &[u8],
) -> anyhow::Result<(Vec<u8>, [u8; NONCE_LEN])> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| anyhow!("encryption failed"))?;
    Ok((ct, nonce))
}

fn open_with(
    cipher: &XChaCha20Poly1305,
    aad: &str,
    nonce: &[u8],
    ct: &[u8],
) -> anyhow::Result<Vec<u8>> {
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| anyhow!("decryption failed: wrong key or tampered data"))
}

/// A request's own key: everything sealed for the request is sealed with
/// it. It is stored only sealed by the master key ([`Keyring::new_data_key`]).
#[derive(Clone)]
pub struct DataKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey")
    }
}

impl DataKey {
    /// Encrypt `plain`, bound to `aad`.
    pub fn seal(&self, aad: &str, plain: &[u8]) -> anyhow::Result<Vec<u8>> {
        let (ct, nonce) = seal_with(&self.cipher, aad, plain)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(DATA_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypt an envelope made by [`DataKey::seal`] with the same `aad`.
    pub fn open(&self, aad: &str, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != DATA_VERSION {
            bail!("not a data-key envelope");
        }
        open_with(
            &self.cipher,
            aad,
            &sealed[1..1 + NONCE_LEN],
            &sealed[1 + NONCE_LEN..],
        )
    }

    /// Serialize `value` as JSON and seal it.
    pub fn seal_json<T: serde::Serialize>(&self, aad: &str, value: &T) -> anyhow::Result<Vec<u8>> {
        self.seal(aad, &serde_json::to_vec(value)?)
    }

    /// Open an envelope made by `seal_json` and parse its JSON.
    pub fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        aad: &str,
        sealed: &[u8],
    ) -> anyhow::Result<T> {
        Ok(serde_json::from_slice(&self.open(aad, sealed)?)?)
    }
}

fn link_token(key: &[u8; 32], request_id: &str) -> String {
    use hmac::Mac;
    let Ok(mut mac) = <hmac::Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(request_id.as_bytes());
    let tag = mac.finalize().into_bytes();
    URL_SAFE_NO_PAD.encode(&tag[..16])
}

fn data_key_aad(request_id: &str) -> String {
    format!("requests/{request_id}/data_key")
}

/// A 256-bit master key and the id derived from it.
#[derive(Clone)]
pub struct MasterKey {
    id: [u8; 4],
    cipher: XChaCha20Poly1305,
    /// Keys the journey links' tokens ([`Keyring::journey_link_token`]).
    link_key: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey(id={})", hex::encode(self.id))
    }
}

impl MasterKey {
    /// From 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<MasterKey> {
        if bytes.len() != 32 {
            bail!(
                "a master key is 32 bytes (base64 of 32 random bytes); this one is {} bytes",
                bytes.len()
            );
        }
        let digest = Sha256::digest([b"key-id:".as_slice(), bytes].concat());
        let mut id = [0u8; 4];
        id.copy_from_slice(&digest[..4]);
        let cipher =
            XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| anyhow!("bad key length"))?;
        let link_key: [u8; 32] =
            Sha256::digest([b"journey-link-key:".as_slice(), bytes].concat()).into();
        Ok(MasterKey {
            id,
            cipher,
            link_key,
        })
    }

    /// From its base64 text form (standard alphabet, as `generate` prints).
    pub fn from_base64(text: &str) -> anyhow::Result<MasterKey> {
        let bytes = STANDARD
            .decode(text.trim())
            .context("the master key is not valid base64")?;
        MasterKey::from_bytes(&bytes)
    }

    /// A fresh random key, as base64 text.
    pub fn generate_base64() -> String {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        STANDARD.encode(bytes)
    }
}

/// The keys in use: the first encrypts, all decrypt.
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl Keyring {
    /// A keyring whose first key encrypts; the rest are old keys kept for reading.
    pub fn new(current: MasterKey, old: Vec<MasterKey>) -> Keyring {
        let mut keys = vec![current];
        keys.extend(old);
        Keyring { keys }
    }

    /// A fresh random data key for a request, and its form sealed by the
    /// current master key, to store.
    pub fn new_data_key(&self, request_id: &str) -> anyhow::Result<(DataKey, Vec<u8>)> {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes);
        let cipher =
            XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| anyhow!("bad key length"))?;
        let sealed = self.seal(&data_key_aad(request_id), &bytes)?;
        bytes.fill(0);
        Ok((DataKey { cipher }, sealed))
    }

    /// Open a request's stored data key.
    pub fn data_key(&self, request_id: &str, sealed: &[u8]) -> anyhow::Result<DataKey> {
        let mut bytes = self.open(&data_key_aad(request_id), sealed)?;
        let cipher =
            XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| anyhow!("bad key length"))?;
        bytes.fill(0);
        Ok(DataKey { cipher })
    }

    /// The secret part of a request's journey link: 128 bits of
    /// HMAC-SHA256 of the request id under a key derived from the master
    /// key. The id alone (a time-ordered UUID) does not open the journey.
    pub fn journey_link_token(&self, request_id: &str) -> String {
        link_token(&self.keys[0].link_key, request_id)
    }

    /// Whether `token` is `request_id`'s journey link token under any key
    /// of the ring (a link made before a key rotation still works).
    pub fn journey_link_matches(&self, request_id: &str, token: &str) -> bool {
        self.keys.iter().fold(false, |found, k| {
            let expected = link_token(&k.link_key, request_id);
            found | bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
        })
    }

    /// The configured keys' ids, the current one first.
    pub fn key_ids(&self) -> Vec<[u8; 4]> {
        self.keys.iter().map(|k| k.id).collect()
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> [u8; 4] {
        self.keys[0].id
    }

    /// `sealed` (bound to `aad`) sealed again with the current key.
    pub fn reseal(&self, aad: &str, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut plain = self.open(aad, sealed)?;
        let out = self.seal(aad, &plain);
        plain.fill(0);
        out
    }

    /// Encrypt `plain` with the master key, bound to `aad`.
    pub fn seal(&self, aad: &str, plain: &[u8]) -> anyhow::Result<Vec<u8>> {
        let key = &self.keys[0];
        let (ct, nonce) = seal_with(&key.cipher, aad, plain)?;
        let mut out = Vec::with_capacity(1 + 4 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Serialize `value` as JSON and seal it.
    pub fn seal_json<T: serde::Serialize>(&self, aad: &str, value: &T) -> anyhow::Result<Vec<u8>> {
        self.seal(aad, &serde_json::to_vec(value)?)
    }

    /// Open an envelope made by `seal_json` and parse its JSON.
    pub fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        aad: &str,
        sealed: &[u8],
    ) -> anyhow::Result<T> {
        Ok(serde_json::from_slice(&self.open(aad, sealed)?)?)
    }

    /// Decrypt an envelope made by `seal` with the same `aad`.
    pub fn open(&self, aad: &str, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        if sealed.len() < 1 + 4 + NONCE_LEN || sealed[0] != VERSION {
            bail!("not an encrypted envelope");
        }
        let id = &sealed[1..5];
        let key = self.keys.iter().find(|k| k.id == id).ok_or_else(|| {
            anyhow!(
                "encrypted with a key that is not configured (key id {})",
                hex::encode(id)
            )
        })?;
        open_with(
            &key.cipher,
            aad,
            &sealed[5..5 + NONCE_LEN],
            &sealed[5 + NONCE_LEN..],
        )
    }
}

/// 256 random bits, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a secret or token, as stored.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Random bytes in a journey's OAuth `state`, after the request's id.
const STATE_RANDOM: usize = 32;

/// A new journey's OAuth `state`: the request's id (its 16 bytes) then 32
/// random bytes, base64url without padding (64 characters). The id is no
/// secret (the business and the user's browser see it anyway); the random
/// bytes are what makes the state unguessable. See [`state_key`].
pub fn new_state(request_id: &uuid::Uuid) -> String {
    let mut bytes = [0u8; 16 + STATE_RANDOM];
    bytes[..16].copy_from_slice(request_id.as_bytes());
    rand::fill(&mut bytes[16..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database finds a request's callback by (`requests.state_hash`):
/// for a state from [`new_state`], its request id's 16 bytes then the
/// state's SHA-256. Request ids are time-ordered, so a new request's key
/// goes to the end of the index and the sweeper, erasing in expiry order,
/// empties whole pages of it; with the hash alone every create and every
/// erasure wrote to a random page of the index. Any other state (one issued
/// by a version before this one: 32 random bytes, or anything forged) is
/// keyed by its SHA-256 alone, as it was then, so a journey begun before an
/// upgrade still finishes after it.
pub fn state_key(state: &str) -> Vec<u8> {
    let hash = Sha256::digest(state.as_bytes());
    let mut decoded = [0u8; 16 + STATE_RANDOM];
    match URL_SAFE_NO_PAD.decode_slice(state, &mut decoded) {
        Ok(n) if n == decoded.len() => {
            let mut key = Vec::with_capacity(16 + hash.len());
            key.extend_from_slice(&decoded[..16]);
            key.extend_from_slice(&hash);
            key
        }
        _ => hash.to_vec(),
    }
}

/// Compare a presented secret with a stored hash in constant time.
pub fn secret_matches(presented: &str, stored_hash: &[u8]) -> bool {
    hash_secret(presented).ct_eq(stored_hash).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::new(MasterKey::from_bytes(&[7u8; 32]).unwrap(), vec![])
    }

    #[test]
    fn a_state_carries_its_request_id_and_is_keyed_in_id_order() {
        let older = uuid::Uuid::now_v7();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let newer = uuid::Uuid::now_v7();
        let (a, b) = (new_state(&older), new_state(&newer));
        assert_eq!(a.len(), 64);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        // Two states of the same request differ: the random part.
        assert_ne!(new_state(&older), a);
        let (ka, kb) = (state_key(&a), state_key(&b));
        assert_eq!(&ka[..16], older.as_bytes());
        assert_eq!(&ka[16..], hash_secret(&a).as_slice());
        assert!(ka < kb, "keys sort as their requests were created");
        // A state one character off is another key.
        let mut forged = a.clone().into_bytes();
        forged[63] = if forged[63] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_ne!(state_key(&forged), ka);
    }

    #[test]
    fn a_state_of_another_shape_is_keyed_by_its_hash_alone() {
        // As states were issued before they carried the request id.
        let legacy = random_token();
        assert_eq!(legacy.len(), 43);
        assert_eq!(state_key(&legacy), hash_secret(&legacy));
        for odd in [
            "",
            "a",
            "not base64 at all!",
            &"A".repeat(65),
            &"A".repeat(200),
        ] {
            assert_eq!(state_key(odd), hash_secret(odd), "{odd:?}");
        }
    }

    #[test]
    fn round_trip_and_binding() {
        let k = ring();
        let sealed = k.seal("requests/a/token", b"secret token").unwrap();
        assert!(!sealed.windows(12).any(|w| w == b"secret token"));
        assert_eq!(
            k.open("requests/a/token", &sealed).unwrap(),
            b"secret token"
        );
        assert!(
            k.open("requests/b/token", &sealed).is_err(),
            "swapped row must not decrypt"
        );
    }

    #[test]
    fn rotation_reads_old_keys() {
        let old = MasterKey::from_bytes(&[1u8; 32]).unwrap();
        let sealed = Keyring::new(old.clone(), vec![])
            .seal("x", b"data")
            .unwrap();
        let rotated = Keyring::new(MasterKey::from_bytes(&[2u8; 32]).unwrap(), vec![old]);
        assert_eq!(rotated.open("x", &sealed).unwrap(), b"data");
        let without = Keyring::new(MasterKey::from_bytes(&[2u8; 32]).unwrap(), vec![]);
        assert!(without.open("x", &sealed).is_err());
    }

    #[test]
    fn data_keys_are_sealed_by_the_master_key_and_bound_to_their_request() {
        let k = ring();
        let (key, sealed) = k.new_data_key("r1").unwrap();
        let ct = key.seal("requests/r1/token", b"a token").unwrap();
        let again = k.data_key("r1", &sealed).unwrap();
        assert_eq!(again.open("requests/r1/token", &ct).unwrap(), b"a token");
        assert!(k.data_key("r2", &sealed).is_err(), "bound to its request");
        let (other, _) = k.new_data_key("r1").unwrap();
        assert!(other.open("requests/r1/token", &ct).is_err());
        assert!(
            k.open("requests/r1/token", &ct).is_err(),
            "the master key alone opens nothing sealed by a data key"
        );
    }

    #[test]
    fn secrets_compare() {
        let h = hash_secret("abc");
        assert!(secret_matches("abc", &h));
        assert!(!secret_matches("abd", &h));
        assert_eq!(random_token().len(), 43);
        assert!(MasterKey::from_base64(&MasterKey::generate_base64()).is_ok());
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
    }
}
