//! The production trust anchors, built in: India PKI's root that DigiLocker's e-Aadhaar
//! signing certificates chain to, and the two intermediate CAs between them.
//!
//! The PEM files live in the crate's `trust/` folder, with a README saying where they come
//! from and how to check the root's fingerprint. [`TrustAnchors::india_production`] is the
//! usual way in; the PEM text is public for callers that add their own certificates.
//!
//! ```
//! let anchors = aadhaar::TrustAnchors::india_production()?;
//! assert_eq!(anchors.root_subjects(), ["CN=CCA India 2022,O=India PKI,C=IN"]);
//! # Ok::<(), aadhaar::Error>(())
//! ```

use crate::error::Error;
use crate::verify::TrustAnchors;

/// The root: `CN=CCA India 2022, O=India PKI, C=IN` (India's Controller of Certifying
/// Authorities), self-signed, valid 2022-02-02 to 2042-02-02. Its SHA-256 fingerprint is
/// [`CCA_INDIA_2022_SHA256`].
pub const CCA_INDIA_2022_PEM: &str = include_str!("../trust/cca-india-2022.pem");

/// The SHA-256 fingerprint of [`CCA_INDIA_2022_PEM`]'s certificate, as
/// `openssl x509 -noout -fingerprint -sha256` prints it.
pub const CCA_INDIA_2022_SHA256: &str =
    "9A:3F:D3:17:67:98:E8:42:DD:CB:12:C2:62:F1:1C:FA:CC:A7:0A:8B:84:C6:EA:6F:DA:30:84:2A:95:A9:4C:D8";

/// Two intermediate CAs: `SafeScrypt CA 2022` (issued by CCA India 2022) and
/// `SafeScrypt sub-CA for Document Signer 2022` (issued by SafeScrypt CA 2022), which
/// issues DigiLocker's signing certificates. Chain-building help, not trust anchors.
pub const SAFESCRYPT_2022_INTERMEDIATES_PEM: &str =
    include_str!("../trust/safescrypt-2022-intermediates.pem");

impl TrustAnchors {
    /// What production verifies real DigiLocker e-Aadhaar files against: the CCA India
    /// 2022 root as the only trust anchor, with the SafeScrypt 2022 intermediates to help
    /// build chains when `KeyInfo` carries only the leaf.
    ///
    /// Fails only if the embedded certificates were damaged, which this crate's tests rule
    /// out; a caller may still treat the error like any other configuration error.
    pub fn india_production() -> Result<Self, Error> {
        TrustAnchors::from_pem(CCA_INDIA_2022_PEM)?
            .with_intermediates_pem(SAFESCRYPT_2022_INTERMEDIATES_PEM)
    }
}
