//! The sandbox CA and the e-Aadhaar XML, signed as DigiLocker signs it.
//!
//! OWNER: content helper. Interface below is fixed.

use std::path::Path;

use crate::seed::Citizen;

/// A root CA, an intermediate and a signing leaf, created on first start and
/// kept in a directory.
pub struct SigningAuthority {}

impl SigningAuthority {
    /// Load the CA from `dir`, or create and save it there (owner-only files).
    pub fn load_or_create(_dir: &Path) -> anyhow::Result<SigningAuthority> {
        Ok(SigningAuthority {})
    }

    /// The root certificate in PEM, for a gateway in sandbox mode to trust.
    pub fn root_pem(&self) -> String {
        String::new()
    }

    /// The citizen's e-Aadhaar XML in UPSTREAM.md's shape, signed.
    pub fn sign_eaadhaar(&self, _citizen: &Citizen) -> anyhow::Result<String> {
        Ok(String::new())
    }
}
