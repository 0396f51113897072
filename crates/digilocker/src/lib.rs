//! Typed async client for DigiLocker's Authorized Partner API (its published
//! OpenAPI specification, v1.0.0, and what the live service sends).
//!
//! Base URLs (configure one; nothing is hard-coded):
//! - current production: `https://digilocker.meripehchaan.gov.in/public`
//! - legacy production: `https://api.digitallocker.gov.in/public`
//! - partner test: `https://betaapi.digitallocker.gov.in/public`
//! - the project's sandbox: `http://127.0.0.1:8080/sandbox` (embedded) or the
//!   standalone `digilocker-sandbox`'s address.
//!
//! Every call has a timeout ([`Config::timeout`]), follows no redirects, reads
//! at most [`Config::max_json_bytes`] / [`Config::max_file_bytes`], and fails
//! with a typed [`Error`]. Tokens and secrets never reach logs: tracing events
//! carry only the endpoint name, status, duration and error code, and the same
//! is handed to the optional [`Config::observer`] for metrics.
//!
//! What the real service sends is read in every shape seen: `digilockerid` or
//! `digilocker_id`, `eaadhaar` or `eaadhar`, `dob` as a string or as a number
//! that lost its leading zero ([`TokenResponse::dob_parsed`]),
//! `consent_valid_till` as a number or a string, issued-file dates in
//! `DD-MM-YYYY`, `DD/MM/YYYY` or ISO 8601 ([`IssuedFile::date_parsed`]), and
//! files with or without an `hmac` header (checked when present). Refresh
//! tokens may rotate: keep the one a refresh answers. A pull that finds the
//! document already in the locker (`uri_exists`) is resolved from the issued
//! files by [`Client::pull_document_or_existing`]; a slow issuer's
//! `pull_response_pending` is [`Error::is_pull_pending`]. Every signed
//! catalogue call carries the time it is made. The e-Aadhaar is fetched from
//! `oauth2/3/xml/eaadhaar`, or from the specification's
//! `oauth2/2/xml/eaadhaar` where `/3/` does not exist (found once, then
//! remembered: [`Client::eaadhaar`]).
//!
//! TLS trusts the Mozilla roots compiled in ([`bundled_roots`]) and, for a
//! DigiLocker or proxy behind a private CA, the certificates of
//! [`Config::extra_ca_pem`] besides them.
//!
//! ```no_run
//! # async fn demo() -> Result<(), digilocker::Error> {
//! use digilocker::{AuthorizeParams, Client, Config, Pkce, generate_state};
//! # let base: url::Url = "https://betaapi.digitallocker.gov.in/public".parse().unwrap();
//! # let callback: url::Url = "https://kyc.example.com/digilocker/callback".parse().unwrap();
//! let client = Client::new(Config::new(base, "CLIENTID", "secret".into(), callback))?;
//! let pkce = Pkce::generate();
//! let url = client.authorize_url(&AuthorizeParams {
//!     state: generate_state(),
//!     code_challenge: pkce.challenge.clone(),
//!     req_doctype: vec!["PANCR".into()],
//!     ..Default::default()
//! });
//! // ... send the user to `url`; on the callback with `code`:
//! # let code = "";
//! let token = client.exchange_code(code, &pkce.verifier).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod client;
mod config;
mod dates;
mod error;
mod lenient;
mod pkce;
pub mod signing;
mod types;

pub use client::{bundled_roots, extra_roots, Client};
pub use config::{
    CallRecord, ClientAuth, Config, Endpoint, Observer, Outcome, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_JSON_BYTES, DEFAULT_TIMEOUT,
};
pub use error::{Error, ErrorCode};
pub use pkce::{generate_state, s256_challenge, Pkce};
pub use types::{
    find_pulled, AuthorizeParams, FileDownload, IssuedFile, PullDocType, PullIssuer, PullParameter,
    PulledDocument, TokenHint, TokenResponse, User,
};
