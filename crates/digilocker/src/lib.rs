//! Typed async client for DigiLocker's Authorized Partner API (see
//! `spec/UPSTREAM.md`).
//!
//! Base URLs (configure one; nothing is hard-coded):
//! - current production: `https://digilocker.meripehchaan.gov.in/public`
//! - legacy production: `https://api.digitallocker.gov.in/public`
//! - partner test: `https://betaapi.digitallocker.gov.in/public`
//! - the project's sandbox: `http://127.0.0.1:8080/sandbox` (embedded) or the
//!   standalone `digilocker-sandbox`'s address.
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

/// Client configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Base URL up to and including `/public` (or the sandbox's base path);
    /// endpoint paths such as `oauth2/1/token` are appended to it.
    pub base_url: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The registered redirect URI (the gateway's callback).
    pub redirect_uri: Url,
    /// Timeout of every call, connect to last byte. Default 30 s.
    pub timeout: Duration,
}

/// PKCE verifier + S256 challenge.
#[derive(Clone, Debug)]
pub struct Pkce {
    pub verifier: SecretString,
    pub challenge: String,
}

impl Pkce {
    /// A fresh random verifier (43+ chars, unreserved alphabet) and its challenge.
    pub fn generate() -> Pkce {
        todo_skeleton()
    }
}

/// A fresh random `state` value (URL-safe, 128+ bits).
pub fn generate_state() -> String {
    todo_skeleton()
}

/// Optional parameters of the authorize URL.
#[derive(Clone, Debug, Default)]
pub struct AuthorizeParams {
    pub state: String,
    pub code_challenge: String,
    /// `dl_flow=signup`.
    pub signup: bool,
    pub verified_mobile: Option<String>,
    /// `req_doctype`, comma-joined.
    pub req_doctype: Vec<String>,
    pub purpose: Option<String>,
    pub consent_valid_till: Option<i64>,
}

/// The token endpoint's answer. Tolerant of DigiLocker's spelling variants.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: Option<i64>,
    pub token_type: Option<String>,
    pub scope: Option<String>,
    pub refresh_token: Option<String>,
    /// `digilockerid` or `digilocker_id`.
    pub digilockerid: Option<String>,
    pub name: Option<String>,
    pub dob: Option<String>,
    pub gender: Option<String>,
    /// `eaadhaar` or `eaadhar`, `Y`/`N`.
    pub eaadhaar: Option<String>,
    pub reference_key: Option<String>,
    /// Number or string upstream; kept as unix seconds.
    pub consent_valid_till: Option<i64>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub new_account: Option<String>,
}

/// `oauth2/1/user`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub digilockerid: Option<String>,
    pub name: Option<String>,
    pub dob: Option<String>,
    pub gender: Option<String>,
    pub eaadhaar: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
}

/// One issued document.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IssuedFile {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub size: Option<String>,
    pub date: Option<String>,
    pub parent: Option<String>,
    pub mime: Vec<String>,
    pub uri: String,
    pub doctype: Option<String>,
    pub description: Option<String>,
    pub issuerid: Option<String>,
    pub issuer: Option<String>,
}

/// A downloaded file.
#[derive(Clone, Debug)]
pub struct FileDownload {
    pub bytes: bytes::Bytes,
    /// The response `Content-Type`.
    pub content_type: String,
    /// `Some(true)` when an `hmac` header was present and matched; `None` when absent.
    /// A present but wrong hmac is an error, never `Some(false)`.
    pub hmac_verified: Option<bool>,
}

/// An issuer from `pull/issuers`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PullIssuer {
    pub name: String,
    pub description: Option<String>,
    pub categories: Option<String>,
    pub issuerid: Option<String>,
    pub orgid: String,
}

/// A doc type from `pull/doctype`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PullDocType {
    pub doctype: String,
    pub description: String,
}

/// A parameter from `pull/parameters`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PullParameter {
    pub label: String,
    pub paramname: String,
    pub example: Option<String>,
    pub valuelist: Option<serde_json::Value>,
}

/// Upstream error codes of UPSTREAM.md, typed; unknown codes kept as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    AccessDenied,
    InvalidToken,
    UriMissing,
    InvalidUri,
    InvalidId,
    AadhaarNotLinked,
    AadhaarNotAvailable,
    RecordNotFound,
    InvalidParameter,
    InvalidClientId,
    UnexpectedError,
    InvalidOrgid,
    InvalidDoctype,
    PullResponsePending,
    UriExists,
    RepositoryServiceUnresponsive,
    RepositoryServiceConfigerror,
    RepositoryServiceResperror,
    RepositoryServiceException,
    RepositoryServiceInactive,
    RepositoryServiceUnpublished,
    Other(String),
}

/// Every way a call can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// DigiLocker answered with an error body (or a bare error status).
    #[error("DigiLocker answered {status}: {code:?}")]
    Upstream { status: u16, code: ErrorCode, description: Option<String> },
    /// No answer within the configured timeout.
    #[error("DigiLocker did not answer in time")]
    Timeout,
    /// Connection or protocol failure.
    #[error("could not reach DigiLocker: {0}")]
    Transport(String),
    /// A success status with a body we could not parse (malformed, truncated).
    #[error("DigiLocker's answer was malformed: {0}")]
    Malformed(String),
    /// The `hmac` header of a file download did not match its body.
    #[error("the file's hmac header does not match its body")]
    HmacMismatch,
}

/// The client.
#[derive(Clone, Debug)]
pub struct Client {}

#[allow(unused_variables)]
impl Client {
    /// Build a client: timeout on every call, no redirects followed.
    pub fn new(config: Config) -> Result<Client, Error> { todo_skeleton() }
    /// `oauth2/1/authorize?...`.
    pub fn authorize_url(&self, params: &AuthorizeParams) -> Url { todo_skeleton() }
    /// `oauth2/1/token`, `grant_type=authorization_code`.
    pub async fn exchange_code(&self, code: &str, verifier: &SecretString) -> Result<TokenResponse, Error> { todo_skeleton() }
    /// `oauth2/1/token`, `grant_type=refresh_token`.
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenResponse, Error> { todo_skeleton() }
    /// `oauth2/1/revoke`.
    pub async fn revoke(&self, token: &SecretString, hint: TokenHint) -> Result<(), Error> { todo_skeleton() }
    /// `oauth2/1/user`.
    pub async fn user(&self, access_token: &SecretString) -> Result<User, Error> { todo_skeleton() }
    /// `oauth2/2/files/issued`.
    pub async fn issued_files(&self, access_token: &SecretString) -> Result<Vec<IssuedFile>, Error> { todo_skeleton() }
    /// `oauth2/1/file/{uri}`, checking the `hmac` header where present.
    pub async fn file(&self, access_token: &SecretString, uri: &str) -> Result<FileDownload, Error> { todo_skeleton() }
    /// `oauth2/1/xml/{uri}`.
    pub async fn xml(&self, access_token: &SecretString, uri: &str) -> Result<bytes::Bytes, Error> { todo_skeleton() }
    /// `oauth2/3/xml/eaadhaar`.
    pub async fn eaadhaar(&self, access_token: &SecretString) -> Result<bytes::Bytes, Error> { todo_skeleton() }
    /// `oauth2/1/pull/issuers` (signed).
    pub async fn pull_issuers(&self) -> Result<Vec<PullIssuer>, Error> { todo_skeleton() }
    /// `oauth2/1/pull/doctype` (signed).
    pub async fn pull_doctypes(&self, orgid: &str) -> Result<Vec<PullDocType>, Error> { todo_skeleton() }
    /// `oauth2/1/pull/parameters` (signed).
    pub async fn pull_parameters(&self, orgid: &str, doctype: &str) -> Result<Vec<PullParameter>, Error> { todo_skeleton() }
    /// `oauth2/1/pull/pulldocument`: returns the new document's URI.
    pub async fn pull_document(&self, access_token: &SecretString, orgid: &str, doctype: &str, params: &[(String, String)]) -> Result<String, Error> { todo_skeleton() }
}

/// `token_type_hint` of a revoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenHint {
    AccessToken,
    RefreshToken,
}

#[allow(clippy::panic)]
fn todo_skeleton<T>() -> T {
    panic!("skeleton: not implemented yet")
}
