//! The HTTP side: routes, shared state, and the pieces every handler uses
//! (errors, bearer and client authentication, the fault middleware).

mod admin;
mod error;
mod fault_layer;
mod journey;
mod oauth;
mod pages;
mod pull;
mod resources;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::catalogue::Catalogue;
use crate::documents;
use crate::faults::{Endpoint, FaultSwitch};
use crate::federation::{Federation, IssuerFault};
use crate::issuer_signing::IssuerSigner;
use crate::seed::{self, IssuedDoc};
use crate::signing::SigningAuthority;
use crate::store::{Account, Grant, Store};
use crate::{PartnerApp, SandboxConfig};

pub(crate) use error::ApiError;

/// State shared by every handler.
pub(crate) struct Shared {
    pub base_path: String,
    pub config: SandboxConfig,
    pub signing: SigningAuthority,
    /// Signs issuers' XML certificates (`oauth2/1/xml/{uri}`).
    pub issuer_signing: IssuerSigner,
    pub catalogue: Catalogue,
    pub faults: FaultSwitch,
    /// The faulty issuers and the catalogue calls' latency.
    pub federation: Federation,
    store: Mutex<Store>,
    /// Each document's file as served, by (DigiLocker id, URI): rendering a
    /// PDF takes milliseconds, and `files/issued` gives every file's size.
    files: Mutex<HashMap<(String, String), Arc<RenderedFile>>>,
    /// The sizes of the signed PDFs not served yet ([`Shared::size_of`]).
    sizes: Mutex<HashMap<(String, String), usize>>,
}

/// A document's file: its content type and bytes.
pub(crate) struct RenderedFile {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Shared {
    pub fn new(config: SandboxConfig) -> anyhow::Result<Shared> {
        let base_path = normalise_base_path(&config.base_path)?;
        let signing = SigningAuthority::load_or_create(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "could not load or create the sandbox CA in {}: {e:#}",
                config.data_dir.display()
            )
        })?;
        let issuer_signing = IssuerSigner::new(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "could not prepare the issuers' signing keys in {}: {e:#}",
                config.data_dir.display()
            )
        })?;
        let catalogue = Catalogue::generate(config.catalogue_issuers, config.catalogue_pairs);
        let faults = FaultSwitch::new(config.faults.clone())
            .map_err(|e| anyhow::anyhow!("invalid fault switches in the configuration: {e}"))?;
        for (orgid, fault) in &config.issuer_faults {
            fault
                .validate(orgid, &catalogue)
                .map_err(|e| anyhow::anyhow!("invalid issuer fault in the configuration: {e}"))?;
        }
        let federation = Federation::new(
            config.issuer_faults.clone(),
            config.catalogue_latency,
            config.catalogue_latency_jitter,
        );
        let accounts = seed::citizens()
            .into_iter()
            .map(|mut citizen| {
                add_aadhaar_card(&mut citizen);
                Account {
                    citizen,
                    pulled: Vec::new(),
                    token_answers: 0,
                    user_answers: 0,
                }
            })
            .collect();
        let store = Store {
            accounts,
            ..Store::default()
        };
        Ok(Shared {
            base_path,
            config,
            signing,
            issuer_signing,
            catalogue,
            faults,
            federation,
            store: Mutex::new(store),
            files: Mutex::new(HashMap::new()),
            sizes: Mutex::new(HashMap::new()),
        })
    }

    /// The file of `doc` in `citizen`'s locker
    /// ([`documents::render_issued_file`]: signed where its issuer signs
    /// PDFs), rendered once.
    pub fn file_of(&self, citizen: &seed::Citizen, doc: &IssuedDoc) -> Arc<RenderedFile> {
        let key = (citizen.digilocker_id.clone(), doc.uri.clone());
        if let Some(hit) = self.files.lock().ok().and_then(|f| f.get(&key).cloned()) {
            return hit;
        }
        let (content_type, bytes) = documents::render_issued_file(
            citizen,
            doc,
            &self.signing,
            &self.issuer_signing,
        )
        .unwrap_or_else(|e| {
            tracing::error!(error = %format!("{e:#}"), "signing a PDF failed; serving it unsigned");
            documents::render_file(citizen, doc)
        });
        let file = Arc::new(RenderedFile {
            content_type,
            bytes,
        });
        match self.files.lock() {
            Ok(mut files) => files.entry(key).or_insert(file).clone(),
            Err(_) => file,
        }
    }

    /// The size of the file of `doc` ([`Shared::file_of`]'s bytes), as
    /// `files/issued` lists it: a PDF still to be signed is measured without
    /// signing it (the same size), so listing a locker signs nothing.
    pub fn size_of(&self, citizen: &seed::Citizen, doc: &IssuedDoc) -> usize {
        let key = (citizen.digilocker_id.clone(), doc.uri.clone());
        if let Some(hit) = self.files.lock().ok().and_then(|f| f.get(&key).cloned()) {
            return hit.bytes.len();
        }
        if let Some(size) = self.sizes.lock().ok().and_then(|s| s.get(&key).copied()) {
            return size;
        }
        if doc
            .mime
            .first()
            .is_some_and(|m| documents::ImageFormat::of_mime(m).is_none())
        {
            if let Some(size) = documents::signed_pdf_size(citizen, doc) {
                if let Ok(mut sizes) = self.sizes.lock() {
                    sizes.insert(key, size);
                }
                return size;
            }
        }
        self.file_of(citizen, doc).bytes.len()
    }

    /// Refuse an org id the catalogue does not have, and an invalid fault.
    pub fn check_issuer_fault(
        &self,
        orgid: &str,
        fault: Option<&IssuerFault>,
    ) -> Result<(), String> {
        match fault {
            Some(fault) => fault.validate(orgid, &self.catalogue),
            None if self.catalogue.issuer(orgid).is_none() => Err(format!(
                "no issuer has org id {orgid:?} in this catalogue; pick one from pull/issuers"
            )),
            None => Ok(()),
        }
    }

    /// The state, locked. A handler that panicked while holding the lock
    /// leaves plain data behind, still consistent enough for a sandbox, so a
    /// poisoned lock is used rather than propagated.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        let mut guard = match self.store.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.sweep(Instant::now());
        guard
    }

    /// An absolute path of one of our routes, for links and form actions.
    pub fn path(&self, rest: &str) -> String {
        format!("{}/{}", self.base_path, rest.trim_start_matches('/'))
    }
}

/// `"/sandbox/"` -> `"/sandbox"`, `"/"` or `""` -> `""`.
fn normalise_base_path(raw: &str) -> anyhow::Result<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if !trimmed.starts_with('/') || trimmed.contains(['?', '#', '{', '}', ' ']) {
        anyhow::bail!(
            "base path {raw:?} must start with '/' and be a plain path such as /sandbox or /public"
        );
    }
    Ok(trimmed.to_owned())
}

/// The Aadhaar card is a document in every Aadhaar-linked DigiLocker: add
/// one when the seed did not, so consenting to it (and the `ADHAR` doc type
/// in the scope) works the same for every citizen. Like DigiLocker's, it
/// comes as PDF and, where an e-Aadhaar is available, as XML: the signed
/// e-Aadhaar itself ([`resources`]' `xml`).
fn add_aadhaar_card(citizen: &mut seed::Citizen) {
    let Some(aadhaar) = citizen.aadhaar.clone() else {
        return;
    };
    if citizen.documents.iter().any(|d| d.doctype == "ADHAR") {
        return;
    }
    let digest = hex::encode(Sha256::digest(citizen.digilocker_id.as_bytes()));
    let last4 = &aadhaar[aadhaar.len().saturating_sub(4)..];
    citizen.documents.insert(
        0,
        IssuedDoc {
            uri: format!("in.gov.uidai-ADHAR-{}", &digest[..32]),
            doctype: "ADHAR".to_owned(),
            issuerid: "in.gov.uidai".to_owned(),
            orgid: "in.gov.uidai".to_owned(),
            issuer: "Unique Identification Authority of India (UIDAI)".to_owned(),
            name: "Aadhaar Card".to_owned(),
            description: "Aadhaar Card".to_owned(),
            date: "01-04-2023".to_owned(),
            mime: if citizen.eaadhaar_available {
                vec!["application/pdf".to_owned(), "application/xml".to_owned()]
            } else {
                vec!["application/pdf".to_owned()]
            },
            params: Vec::new(),
            fields: vec![
                ("Name".to_owned(), citizen.name.clone()),
                ("Date of birth".to_owned(), citizen.dob.clone()),
                ("Gender".to_owned(), citizen.gender.clone()),
                ("Aadhaar number".to_owned(), format!("xxxx-xxxx-{last4}")),
            ],
        },
    );
}

/// Wrap a route in the fault middleware under `endpoint`'s name.
fn faulty(
    shared: &Shared,
    endpoint: Endpoint,
    route: MethodRouter<SharedState>,
) -> MethodRouter<SharedState> {
    route.layer(from_fn_with_state(
        (shared.faults.clone(), endpoint),
        fault_layer::apply,
    ))
}

pub(crate) type SharedState = std::sync::Arc<Shared>;

pub(crate) fn router(shared: SharedState) -> Router {
    use Endpoint as E;
    let s = &shared;
    let routes = Router::new()
        // The journey (HTML).
        .route(
            "/oauth2/1/authorize",
            faulty(s, E::Authorize, get(journey::authorize)),
        )
        .route(
            "/oauth2/1/authorize/signin",
            faulty(s, E::Authorize, post(journey::signin)),
        )
        .route(
            "/oauth2/1/authorize/signin/start",
            faulty(s, E::Authorize, post(journey::signin_start)),
        )
        .route(
            "/oauth2/1/authorize/signup",
            faulty(s, E::Authorize, post(journey::signup)),
        )
        .route(
            "/oauth2/1/authorize/signup/start",
            faulty(s, E::Authorize, post(journey::signup_start)),
        )
        .route(
            "/oauth2/1/authorize/otp",
            faulty(s, E::Authorize, post(journey::otp)),
        )
        .route(
            "/oauth2/1/authorize/pin",
            faulty(s, E::Authorize, post(journey::pin)),
        )
        .route(
            "/oauth2/1/authorize/consent",
            faulty(s, E::Authorize, post(journey::consent)),
        )
        // OAuth.
        .route("/oauth2/1/token", faulty(s, E::Token, post(oauth::token)))
        .route(
            "/oauth2/1/revoke",
            faulty(s, E::Revoke, post(oauth::revoke)),
        )
        // Resources.
        .route("/oauth2/1/user", faulty(s, E::User, get(resources::user)))
        .route(
            "/oauth2/1/files/issued",
            faulty(s, E::Files, get(resources::issued_v1)),
        )
        .route(
            "/oauth2/2/files/issued",
            faulty(s, E::Files, get(resources::issued)),
        )
        .route(
            "/oauth2/1/file",
            faulty(s, E::File, get(resources::uri_missing)),
        )
        .route(
            "/oauth2/1/file/",
            faulty(s, E::File, get(resources::uri_missing)),
        )
        .route(
            "/oauth2/1/file/{*uri}",
            faulty(s, E::File, get(resources::file)),
        )
        .route(
            "/oauth2/1/xml",
            faulty(s, E::Xml, get(resources::uri_missing)),
        )
        .route(
            "/oauth2/1/xml/",
            faulty(s, E::Xml, get(resources::uri_missing)),
        )
        .route(
            "/oauth2/1/xml/{*uri}",
            faulty(s, E::Xml, get(resources::xml)),
        )
        .route(
            "/oauth2/2/xml/eaadhaar",
            faulty(s, E::Eaadhaar, get(resources::eaadhaar)),
        )
        .route(
            "/oauth2/3/xml/eaadhaar",
            faulty(s, E::Eaadhaar, get(resources::eaadhaar_v3)),
        )
        // Pull.
        .route(
            "/oauth2/1/pull/issuers",
            faulty(s, E::Issuers, post(pull::issuers)),
        )
        .route(
            "/oauth2/1/pull/doctype",
            faulty(s, E::Doctype, post(pull::doctypes)),
        )
        .route(
            "/oauth2/1/pull/parameters",
            faulty(s, E::Parameters, post(pull::parameters)),
        )
        .route(
            "/oauth2/1/pull/pulldocument",
            faulty(s, E::Pulldocument, post(pull::pull_document)),
        )
        // Sandbox extras, never faulty.
        .route("/ca.pem", get(admin::ca_pem))
        .route(
            "/admin/faults",
            get(admin::get_faults).put(admin::put_faults),
        )
        .route(
            "/admin/faults/issuers/{orgid}",
            get(admin::get_issuer_fault)
                .put(admin::put_issuer_fault)
                .delete(admin::delete_issuer_fault),
        )
        .fallback(admin::not_found)
        .with_state(shared.clone());
    if shared.base_path.is_empty() {
        routes
    } else {
        Router::new().nest(&shared.base_path, routes)
    }
}

/// The citizen and consent behind a bearer token.
pub(crate) struct Authorized {
    pub grant_id: String,
    pub grant: Grant,
    pub account: Account,
    pub app: PartnerApp,
}

/// Check `Authorization: Bearer <access token>`: unknown, expired and
/// revoked tokens are all `401 invalid_token`, as DigiLocker answers.
pub(crate) fn authorize_bearer(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<Authorized, ApiError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::invalid_token(
                "The access token is missing; send Authorization: Bearer <access_token>",
            )
        })?;
    let store = shared.store();
    let record = store
        .access_tokens
        .get(token)
        .filter(|r| r.expires > Instant::now())
        .ok_or_else(|| ApiError::invalid_token("The access token is invalid or has expired"))?;
    let grant = store
        .grants
        .get(&record.grant)
        .filter(|g| !g.revoked)
        .ok_or_else(|| ApiError::invalid_token("The access token has been revoked"))?;
    let account = store
        .accounts
        .get(grant.account)
        .cloned()
        .ok_or_else(|| ApiError::unexpected("the token's account is gone"))?;
    let app = store.apps.get(&grant.client_id).cloned().ok_or_else(|| {
        ApiError::invalid_token("The application this token was issued to is no longer registered")
    })?;
    Ok(Authorized {
        grant_id: record.grant.clone(),
        grant: grant.clone(),
        account,
        app,
    })
}

/// Constant-time comparison of two secrets.
pub(crate) fn secret_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// `Authorization: Basic base64(client_id:client_secret)`, if sent.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::normalise_base_path;

    #[test]
    fn base_paths_are_normalised_and_checked() {
        assert_eq!(normalise_base_path("/sandbox/").unwrap(), "/sandbox");
        assert_eq!(normalise_base_path("/").unwrap(), "");
        assert_eq!(normalise_base_path("").unwrap(), "");
        assert_eq!(normalise_base_path("/a/public").unwrap(), "/a/public");
        assert!(normalise_base_path("sandbox").is_err());
        assert!(normalise_base_path("/{id}").is_err());
    }
}
