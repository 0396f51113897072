//! What the gateway keeps encrypted for a request, and the associated data
//! that binds each ciphertext to its row and column.

use serde::{Deserialize, Serialize};

/// The journey's one-time secrets: the OAuth `state` and the PKCE pair.
#[derive(Serialize, Deserialize)]
pub struct JourneySecrets {
    pub state: String,
    pub verifier: String,
    pub challenge: String,
}

/// The request's DigiLocker token.
#[derive(Serialize, Deserialize)]
pub struct StoredToken {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Unix seconds; 0 when unknown.
    pub expires_at: i64,
}

impl StoredToken {
    /// From DigiLocker's token answer at `now`. A refresh that returns no
    /// new refresh token keeps the previous one; one that does (DigiLocker
    /// rotates them) replaces it.
    pub fn from_response(
        t: &digilocker::TokenResponse,
        previous_refresh: Option<String>,
        now: i64,
    ) -> StoredToken {
        StoredToken {
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone().or(previous_refresh),
            expires_at: t
                .expires_in
                .map(|s| now.saturating_add(s.max(0)))
                .unwrap_or(0),
        }
    }
}

/// The user details shown by `/status` (`digilockerUserDetails`).
#[derive(Serialize, Deserialize, Default, Debug, Clone, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDetails {
    pub digilocker_id: String,
    pub email: String,
    pub phone_number: String,
}

/// The columns of a request that hold ciphertext.
#[derive(Debug, Clone, Copy)]
pub enum Sealed {
    Journey,
    Token,
    User,
    Scope,
}

impl Sealed {
    /// Associated data binding a ciphertext to its request and column, so
    /// it cannot be swapped into another row.
    pub fn aad(self, request_id: &str) -> String {
        let column = match self {
            Sealed::Journey => "journey",
            Sealed::Token => "token",
            Sealed::User => "user",
            Sealed::Scope => "scope",
        };
        format!("requests/{request_id}/{column}")
    }
}

/// The request's data key, or `None` once its data was erased (revoked, its
/// client disabled, or created before data keys existed).
pub fn request_key(
    keys: &crate::crypto::Keyring,
    r: &crate::storage::RequestRecord,
) -> anyhow::Result<Option<crate::crypto::DataKey>> {
    r.data_key
        .as_deref()
        .map(|sealed| keys.data_key(&r.id, sealed))
        .transpose()
}
