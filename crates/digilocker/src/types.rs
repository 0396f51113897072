//! DigiLocker's request parameters and answers, typed and tolerant of the
//! spelling and type variants seen in the spec and in the wild.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{dates, lenient};

/// Optional parameters of the authorize URL (see [`crate::Client::authorize_url`]).
#[derive(Clone, Debug, Default)]
pub struct AuthorizeParams {
    /// `state`: echoed back on the redirect; see [`crate::generate_state`].
    pub state: String,
    /// `code_challenge`: [`crate::Pkce::challenge`].
    pub code_challenge: String,
    /// `dl_flow=signup`: send the user straight to sign-up.
    pub signup: bool,
    /// `verified_mobile`: a mobile number the partner has already verified;
    /// DigiLocker uses it only together with `dl_flow=signup`.
    pub verified_mobile: Option<String>,
    /// `req_doctype`, comma-joined (e.g. `PANCR,DRVLC`): limits the documents
    /// offered on the consent screen. Empty: not sent.
    pub req_doctype: Vec<String>,
    /// `purpose` shown to the user.
    pub purpose: Option<String>,
    /// `consent_valid_till` (unix seconds).
    pub consent_valid_till: Option<i64>,
}

/// The token endpoint's answer. Tolerant of DigiLocker's spelling variants
/// (`digilocker_id`, `eaadhar`), of numbers sent as strings and back, and of
/// missing optional fields. Its `Debug` output redacts the tokens.
#[derive(Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token for the resource APIs.
    pub access_token: String,
    /// Lifetime of the access token in seconds (e.g. 3600).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub expires_in: Option<i64>,
    /// `Bearer`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub token_type: Option<String>,
    /// What the user consented to, space-separated (see [`TokenResponse::scopes`]).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub scope: Option<String>,
    /// Token to renew the access token with.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub refresh_token: Option<String>,
    /// `digilockerid` or `digilocker_id`.
    #[serde(
        default,
        alias = "digilocker_id",
        deserialize_with = "lenient::opt_string"
    )]
    pub digilockerid: Option<String>,
    /// The account holder's name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// Date of birth, `DDMMYYYY`.
    #[serde(default, deserialize_with = "lenient::opt_dob")]
    pub dob: Option<String>,
    /// `M`, `F` or `T`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub gender: Option<String>,
    /// `eaadhaar` or `eaadhar`, `Y`/`N`: whether e-Aadhaar data is available.
    #[serde(default, alias = "eaadhar", deserialize_with = "lenient::opt_string")]
    pub eaadhaar: Option<String>,
    /// A unique reference of the user account.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub reference_key: Option<String>,
    /// Number or string upstream; kept as unix seconds.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub consent_valid_till: Option<i64>,
    /// The account's mobile number, where DigiLocker sends it.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub mobile: Option<String>,
    /// The account's email, where DigiLocker sends it.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
    /// Whether the account was created during this journey (`Y`/`N` or `true`/`false`).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub new_account: Option<String>,
}

impl TokenResponse {
    /// The consented scope, split on whitespace (e.g. `files.issueddocs`,
    /// `issued/in.gov.pan-PANCR-...`, `file.partners/...`, `userdetails`).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.as_deref().unwrap_or("").split_whitespace()
    }

    /// Doc types the user agreed may be pulled: the `file.partners/<DOCTYPE>`
    /// entries of the scope (e.g. `DRVLC`).
    pub fn pullable_doctypes(&self) -> impl Iterator<Item = &str> {
        self.scopes()
            .filter_map(|s| s.strip_prefix("file.partners/"))
            .filter(|d| !d.is_empty())
    }

    /// URIs of the issued documents the user shared: the `issued/<uri>`
    /// entries of the scope.
    pub fn shared_uris(&self) -> impl Iterator<Item = &str> {
        self.scopes()
            .filter_map(|s| s.strip_prefix("issued/"))
            .filter(|u| !u.is_empty())
    }

    /// [`TokenResponse::dob`] as a date (`DDMMYYYY`, whether it came as a
    /// string or as a number that lost its leading zero); `None` when absent
    /// or not a real date.
    pub fn dob_parsed(&self) -> Option<time::Date> {
        self.dob.as_deref().and_then(dates::parse)
    }
}

impl fmt::Debug for TokenResponse {
    // Hand-written so that a stray `{:?}` can never print a token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[REDACTED]")
            .field("expires_in", &self.expires_in)
            .field("token_type", &self.token_type)
            .field("scope", &self.scope)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("digilockerid", &self.digilockerid)
            .field("name", &self.name.as_ref().map(|_| "[PERSONAL]"))
            .field("dob", &self.dob.as_ref().map(|_| "[PERSONAL]"))
            .field("gender", &self.gender)
            .field("eaadhaar", &self.eaadhaar)
            .field("reference_key", &self.reference_key)
            .field("consent_valid_till", &self.consent_valid_till)
            .field("mobile", &self.mobile.as_ref().map(|_| "[PERSONAL]"))
            .field("email", &self.email.as_ref().map(|_| "[PERSONAL]"))
            .field("new_account", &self.new_account)
            .finish()
    }
}

/// `oauth2/1/user`: the account holder's details.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    /// `digilockerid` or `digilocker_id`: a 36-character id.
    #[serde(
        default,
        alias = "digilocker_id",
        deserialize_with = "lenient::opt_string"
    )]
    pub digilockerid: Option<String>,
    /// Name as registered with DigiLocker.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// Date of birth, `DDMMYYYY`.
    #[serde(default, deserialize_with = "lenient::opt_dob")]
    pub dob: Option<String>,
    /// `M`, `F` or `T`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub gender: Option<String>,
    /// `eaadhaar` or `eaadhar`, `Y`/`N`.
    #[serde(default, alias = "eaadhar", deserialize_with = "lenient::opt_string")]
    pub eaadhaar: Option<String>,
    /// Mobile number, where sent.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub mobile: Option<String>,
    /// Email, where sent.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
}

/// One issued document from `oauth2/2/files/issued`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IssuedFile {
    /// The document's name (e.g. `PAN Verification Record`).
    #[serde(default, deserialize_with = "lenient::string_or_empty")]
    pub name: String,
    /// `file` (or `dir`).
    #[serde(rename = "type", default, deserialize_with = "lenient::opt_string")]
    pub kind: Option<String>,
    /// Size (often blank for issued documents).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub size: Option<String>,
    /// Date last modified in DigiLocker.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub date: Option<String>,
    /// Parent folder (blank for issued documents).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub parent: Option<String>,
    /// Available formats, e.g. `application/pdf`, `application/xml`. The v1 spec
    /// sends one string; v2 a list: both accepted.
    #[serde(default, deserialize_with = "lenient::string_list")]
    pub mime: Vec<String>,
    /// The document's URI, e.g. `in.gov.pan-PANCR-ABCDE1234F`: pass it to
    /// [`crate::Client::file`] / [`crate::Client::xml`].
    #[serde(deserialize_with = "lenient::string")]
    pub uri: String,
    /// Five-letter doc type, e.g. `PANCR`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub doctype: Option<String>,
    /// Descriptive doc type, e.g. `PAN Verification Record`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
    /// Issuer id as in the URI, e.g. `in.gov.pan`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub issuerid: Option<String>,
    /// Issuer name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub issuer: Option<String>,
}

impl User {
    /// [`User::dob`] as a date; `None` when absent or not a real date.
    pub fn dob_parsed(&self) -> Option<time::Date> {
        self.dob.as_deref().and_then(dates::parse)
    }
}

impl IssuedFile {
    /// Whether DigiLocker offers this document as XML data ([`crate::Client::xml`]).
    pub fn has_xml(&self) -> bool {
        self.mime
            .iter()
            .any(|m| m.eq_ignore_ascii_case("application/xml"))
    }

    /// [`IssuedFile::date`] as a calendar date, whichever format DigiLocker
    /// used: `DD-MM-YYYY`, `DD/MM/YYYY`, `YYYY-MM-DD`, or an ISO 8601
    /// date-time (taken as the date in India at that instant). `None` when
    /// absent or unreadable; the raw text stays in `date`.
    pub fn date_parsed(&self) -> Option<time::Date> {
        self.date.as_deref().and_then(dates::parse)
    }

    /// Whether this is a document of `doctype` from the issuer `issuerid`
    /// (compared without regard to ASCII case). `issuerid` `None` matches
    /// any issuer.
    pub fn is_of(&self, issuerid: Option<&str>, doctype: &str) -> bool {
        let same =
            |a: Option<&str>, b: &str| a.is_some_and(|a| a.trim().eq_ignore_ascii_case(b.trim()));
        same(self.doctype.as_deref(), doctype)
            && issuerid.is_none_or(|i| same(self.issuerid.as_deref(), i))
    }

    /// Whether the URI's last part (after `{issuerid}-{DOCTYPE}-`) carries
    /// one of the pull parameters' values, as URIs with the document number
    /// do (`in.gov.pan-PANCR-ABCDE1234F`). Values shorter than 4 characters
    /// (a year's worth of noise) are ignored.
    pub fn uri_shows_any(&self, params: &[(String, String)]) -> bool {
        let marker = self.doctype.as_deref().map(|d| format!("-{}-", d.trim()));
        let id = marker
            .and_then(|m| self.uri.find(&m).map(|at| &self.uri[at + m.len()..]))
            .or_else(|| self.uri.rsplit('-').next())
            .unwrap_or(&self.uri);
        let id = normalise(id);
        params
            .iter()
            .map(|(_, value)| normalise(value))
            .any(|value| value.len() >= 4 && id.contains(&value))
    }
}

/// Upper case, letters and digits only: `mh-01 ab/1234` -> `MH01AB1234`.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The issued file a pull that answered `uri_exists` found in the locker:
/// among `files` of `doctype` from `issuerid` (any issuer when `None`), the
/// first whose URI shows one of the pull's parameter values, else the only
/// one there is. `None` when the listing has no document of that doc type
/// and issuer (for example when the user's consent does not cover it), and
/// when there are several and none shows the parameters: handing over one
/// of them would risk another document than the one asked for.
pub fn find_pulled<'a>(
    files: &'a [IssuedFile],
    issuerid: Option<&str>,
    doctype: &str,
    params: &[(String, String)],
) -> Option<&'a IssuedFile> {
    let candidates: Vec<&IssuedFile> = files
        .iter()
        .filter(|f| f.is_of(issuerid, doctype))
        .collect();
    match candidates.iter().find(|f| f.uri_shows_any(params)) {
        Some(shown) => Some(shown),
        None if candidates.len() == 1 => candidates.first().copied(),
        None => None,
    }
}

/// The outcome of [`crate::Client::pull_document_or_existing`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulledDocument {
    /// The document's URI, for [`crate::Client::file`] / [`crate::Client::xml`].
    pub uri: String,
    /// `true` when DigiLocker answered `uri_exists` and the URI was found in
    /// the user's issued documents; `false` when the pull added it.
    pub already_in_locker: bool,
}

/// The body of `oauth2/2/files/issued`.
#[derive(Debug, Deserialize)]
pub(crate) struct IssuedFiles {
    #[serde(default)]
    pub items: Vec<IssuedFile>,
}

/// A downloaded file.
#[derive(Clone)]
pub struct FileDownload {
    /// The file's bytes.
    pub bytes: bytes::Bytes,
    /// The response `Content-Type` (`application/octet-stream` when absent).
    pub content_type: String,
    /// `Some(true)` when an `hmac` header was present and matched; `None` when absent.
    /// A present but wrong hmac is an error, never `Some(false)`.
    pub hmac_verified: Option<bool>,
}

impl fmt::Debug for FileDownload {
    // The bytes are a citizen's document: show their size, never their content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileDownload")
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .field("content_type", &self.content_type)
            .field("hmac_verified", &self.hmac_verified)
            .finish()
    }
}

/// An issuer from `pull/issuers`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PullIssuer {
    /// Issuer name.
    #[serde(default, deserialize_with = "lenient::string_or_empty")]
    pub name: String,
    /// Description.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
    /// Categories (free text).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub categories: Option<String>,
    /// Issuer id as in document URIs, e.g. `in.gov.transport`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub issuerid: Option<String>,
    /// Organisation id for `pull/doctype`, `pull/parameters`, `pull/pulldocument`.
    #[serde(deserialize_with = "lenient::string")]
    pub orgid: String,
}

#[derive(Deserialize)]
pub(crate) struct PullIssuers {
    #[serde(default)]
    pub issuers: Vec<PullIssuer>,
}

/// A doc type from `pull/doctype`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PullDocType {
    /// Five-letter doc type, e.g. `DRVLC`.
    #[serde(deserialize_with = "lenient::string")]
    pub doctype: String,
    /// Description, e.g. `Driving License`.
    #[serde(default, deserialize_with = "lenient::string_or_empty")]
    pub description: String,
    /// The formats this doc type comes in, spelt like [`IssuedFile::mime`]
    /// (`application/pdf`, `application/xml`), where an answer lists them.
    /// DigiLocker's `pull/doctype` (and the sandbox's, which answers alike)
    /// does not send formats, so this is `None` against it. `None` means
    /// "not said", never "no formats": see [`PullDocType::offers_xml`].
    #[serde(
        default,
        deserialize_with = "lenient::opt_string_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub mime: Option<Vec<String>>,
}

impl PullDocType {
    /// Whether documents of this type come as XML certificate data too:
    /// `Some(true)`/`Some(false)` when the answer listed formats, `None`
    /// when it did not (DigiLocker itself): then only the `mime` of the
    /// issued document, after pulling it, tells.
    pub fn offers_xml(&self) -> Option<bool> {
        self.mime.as_ref().map(|formats| {
            formats
                .iter()
                .any(|m| m.eq_ignore_ascii_case("application/xml"))
        })
    }
}

#[derive(Deserialize)]
pub(crate) struct PullDocTypes {
    #[serde(default)]
    pub documents: Vec<PullDocType>,
}

/// A parameter from `pull/parameters`: one input the user must supply to pull
/// the document (passed to [`crate::Client::pull_document`] as `(paramname, value)`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PullParameter {
    /// Label to show the user.
    #[serde(default, deserialize_with = "lenient::string_or_empty")]
    pub label: String,
    /// Form field name for `pull/pulldocument`.
    #[serde(deserialize_with = "lenient::string")]
    pub paramname: String,
    /// Example value.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub example: Option<String>,
    /// Allowed values, where the issuer restricts them (shape varies by issuer).
    #[serde(default)]
    pub valuelist: Option<serde_json::Value>,
}

/// The body of `pull/parameters`: the spec's bare array, or the same wrapped
/// in an object, which some deployments send.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum PullParameters {
    List(Vec<PullParameter>),
    Wrapped {
        #[serde(alias = "params")]
        parameters: Vec<PullParameter>,
    },
}

impl PullParameters {
    pub(crate) fn into_vec(self) -> Vec<PullParameter> {
        match self {
            PullParameters::List(v) | PullParameters::Wrapped { parameters: v } => v,
        }
    }
}

/// The body of `pull/pulldocument`.
#[derive(Deserialize)]
pub(crate) struct PulledUri {
    #[serde(deserialize_with = "lenient::string")]
    pub uri: String,
}

/// `token_type_hint` of a revoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
}

impl TokenHint {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenHint::AccessToken => "access_token",
            TokenHint::RefreshToken => "refresh_token",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(value: serde_json::Value) -> TokenResponse {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn token_response_in_the_specs_spelling() {
        // AccessResponse of the published spec: digilocker_id, eaadhar, dob as integer.
        let t = token(json!({
            "access_token": "bc125c212a4b03a9a188a858be5a163f379e878a",
            "expires_in": 3600,
            "token_type": "Bearer",
            "scope": "files.issueddocs userdetails issued/in.gov.pan-PANCR-ABCDE1234F",
            "refresh_token": "a47ab18c593703e4f83a274694db7422a8cfcb8f",
            "digilocker_id": "123e4567-e89b-12d3-a456-426655440000",
            "name": "Sunil Kumar",
            "dob": 1011970,
            "gender": "M",
            "eaadhar": "Y",
            "reference_key": "1c66bec26364cd6fefaabc6cae91840a"
        }));
        assert_eq!(
            t.digilockerid.as_deref(),
            Some("123e4567-e89b-12d3-a456-426655440000")
        );
        assert_eq!(t.eaadhaar.as_deref(), Some("Y"));
        assert_eq!(t.dob.as_deref(), Some("01011970"), "leading zero restored");
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(
            t.scopes().collect::<Vec<_>>(),
            [
                "files.issueddocs",
                "userdetails",
                "issued/in.gov.pan-PANCR-ABCDE1234F"
            ]
        );
    }

    #[test]
    fn token_response_in_the_wild_spelling() {
        let t = token(json!({
            "access_token": "abc",
            "expires_in": "3600",
            "digilockerid": "dl-1",
            "eaadhaar": "N",
            "dob": "31121970",
            "consent_valid_till": "1767225600",
            "mobile": 9876543210u64,
            "new_account": "Y"
        }));
        assert_eq!(t.digilockerid.as_deref(), Some("dl-1"));
        assert_eq!(t.eaadhaar.as_deref(), Some("N"));
        assert_eq!(t.dob.as_deref(), Some("31121970"));
        assert_eq!(t.expires_in, Some(3600));
        assert_eq!(t.consent_valid_till, Some(1_767_225_600));
        assert_eq!(t.mobile.as_deref(), Some("9876543210"));
        assert_eq!(t.new_account.as_deref(), Some("Y"));
    }

    #[test]
    fn consent_valid_till_as_number_string_or_junk() {
        assert_eq!(
            token(json!({"access_token": "a", "consent_valid_till": 1767225600}))
                .consent_valid_till,
            Some(1_767_225_600)
        );
        assert_eq!(
            token(json!({"access_token": "a", "consent_valid_till": " 1767225600 "}))
                .consent_valid_till,
            Some(1_767_225_600)
        );
        assert_eq!(
            token(json!({"access_token": "a", "consent_valid_till": 1767225600.0}))
                .consent_valid_till,
            Some(1_767_225_600)
        );
        // An odd value must not throw away a valid token.
        assert_eq!(
            token(json!({"access_token": "a", "consent_valid_till": "soon"})).consent_valid_till,
            None
        );
        assert_eq!(
            token(json!({"access_token": "a", "consent_valid_till": null})).consent_valid_till,
            None
        );
    }

    #[test]
    fn token_response_with_only_the_token() {
        let t = token(json!({"access_token": "a"}));
        assert!(t.refresh_token.is_none() && t.scope.is_none() && t.digilockerid.is_none());
        assert_eq!(t.scopes().count(), 0);
        assert!(serde_json::from_value::<TokenResponse>(json!({"token_type": "Bearer"})).is_err());
    }

    #[test]
    fn token_debug_redacts_tokens_and_personal_data() {
        let t = token(json!({
            "access_token": "SECRET-ACCESS",
            "refresh_token": "SECRET-REFRESH",
            "name": "Sunil Kumar",
            "mobile": "9876543210"
        }));
        let debug = format!("{t:?}");
        for leaked in ["SECRET-ACCESS", "SECRET-REFRESH", "Sunil", "9876543210"] {
            assert!(!debug.contains(leaked), "{leaked} in {debug}");
        }
    }

    #[test]
    fn user_accepts_both_spellings() {
        let u: User = serde_json::from_value(json!({
            "digilocker_id": "dl-1", "name": "A", "dob": "01011990", "gender": "F", "eaadhar": "Y"
        }))
        .unwrap();
        assert_eq!(u.digilockerid.as_deref(), Some("dl-1"));
        assert_eq!(u.eaadhaar.as_deref(), Some("Y"));
        let u: User =
            serde_json::from_value(json!({"digilockerid": "dl-2", "eaadhaar": "N"})).unwrap();
        assert_eq!(u.digilockerid.as_deref(), Some("dl-2"));
        assert_eq!(u.eaadhaar.as_deref(), Some("N"));
        assert!(u.name.is_none());
    }

    #[test]
    fn issued_files_mime_as_list_or_string() {
        let files: IssuedFiles = serde_json::from_value(json!({
            "items": [
                {"name": "PAN", "type": "file", "size": "", "date": "2024-01-01", "parent": "",
                 "mime": ["application/pdf", "application/xml"], "uri": "in.gov.pan-PANCR-ABCDE1234F",
                 "doctype": "PANCR", "description": "PAN Verification Record",
                 "issuerid": "in.gov.pan", "issuer": "Income Tax Department"},
                {"name": "DL", "mime": "application/pdf", "uri": "in.gov.transport-DRVLC-X"},
                {"name": "Marks", "uri": "in.gov.cbse-HSCER-1", "size": 12345}
            ],
            "resource": "partner"
        }))
        .unwrap();
        let [pan, dl, marks] = &files.items[..] else {
            panic!("three items expected")
        };
        assert_eq!(pan.mime, ["application/pdf", "application/xml"]);
        assert!(pan.has_xml());
        assert_eq!(pan.kind.as_deref(), Some("file"));
        assert_eq!(pan.size, None, "blank size is absent");
        assert_eq!(dl.mime, ["application/pdf"]);
        assert!(!dl.has_xml());
        assert!(marks.mime.is_empty());
        assert_eq!(marks.size.as_deref(), Some("12345"));
        assert!(
            serde_json::from_value::<IssuedFiles>(json!({"items": [{"name": "no uri"}]})).is_err()
        );
        let empty: IssuedFiles = serde_json::from_value(json!({"resource": "x"})).unwrap();
        assert!(empty.items.is_empty());
    }

    #[test]
    fn pull_parameters_bare_or_wrapped() {
        let bare: PullParameters = serde_json::from_value(json!([
            {"label": "Registration number", "paramname": "reg_no", "example": "MH01AB1234",
             "valuelist": ["A", "B"]}
        ]))
        .unwrap();
        let bare = bare.into_vec();
        assert_eq!(bare[0].paramname, "reg_no");
        assert_eq!(bare[0].valuelist, Some(json!(["A", "B"])));
        let wrapped: PullParameters =
            serde_json::from_value(json!({"parameters": [{"label": "Roll", "paramname": "roll"}]}))
                .unwrap();
        let wrapped = wrapped.into_vec();
        assert_eq!(wrapped[0].paramname, "roll");
        assert_eq!(wrapped[0].example, None);
    }

    #[test]
    fn catalogue_entries_tolerate_missing_optionals() {
        let issuers: PullIssuers = serde_json::from_value(json!({"issuers": [
            {"name": "Transport", "orgid": "001891", "issuerid": "in.gov.transport",
             "description": "", "categories": "Transport"},
            {"name": "CBSE", "orgid": 1234}
        ]}))
        .unwrap();
        assert_eq!(issuers.issuers[0].orgid, "001891");
        assert_eq!(issuers.issuers[0].description, None);
        assert_eq!(issuers.issuers[1].orgid, "1234");
        let docs: PullDocTypes =
            serde_json::from_value(json!({"documents": [{"doctype": "DRVLC"}]})).unwrap();
        assert_eq!(docs.documents[0].doctype, "DRVLC");
        assert_eq!(docs.documents[0].description, "");
        assert_eq!(docs.documents[0].mime, None);
        assert_eq!(docs.documents[0].offers_xml(), None);
    }

    #[test]
    fn doctype_formats_are_an_optional_hint() {
        let docs: PullDocTypes = serde_json::from_value(json!({"documents": [
            {"doctype": "PANCR", "description": "PAN", "mime": ["application/pdf", "application/xml"]},
            {"doctype": "RVCER", "description": "RC", "mime": ["application/pdf"]},
            {"doctype": "DRVLC", "description": "DL", "mime": "application/pdf, application/XML"},
            {"doctype": "PRFND", "description": "PF", "mime": null},
            {"doctype": "HSCER", "description": "XII"}
        ]}))
        .unwrap();
        let d = &docs.documents;
        assert_eq!(
            d[0].mime.as_deref(),
            Some(&["application/pdf".to_owned(), "application/xml".to_owned()][..])
        );
        let said: Vec<Option<bool>> = d.iter().map(PullDocType::offers_xml).collect();
        assert_eq!(said, [Some(true), Some(false), Some(true), None, None]);

        // Absent stays absent when stored and read back (e.g. in a cache).
        let stored = serde_json::to_value(&d[4]).unwrap();
        assert!(stored.get("mime").is_none(), "{stored}");
        let back: PullDocType =
            serde_json::from_value(serde_json::to_value(&d[0]).unwrap()).unwrap();
        assert_eq!(back.mime, d[0].mime);
    }

    #[test]
    fn the_specs_token_spelling_with_an_integer_dob_and_string_till() {
        // DigiLocker's AccessResponse: digilocker_id, eaadhar, dob an integer
        // (01011990 arrives as 1011990), consent_valid_till a string.
        let t = token(json!({
            "access_token": "a", "digilocker_id": "dl-9", "eaadhar": "Y",
            "dob": 1011990, "consent_valid_till": "1767225600"
        }));
        assert_eq!(t.digilockerid.as_deref(), Some("dl-9"));
        assert_eq!(t.eaadhaar.as_deref(), Some("Y"));
        assert_eq!(t.dob.as_deref(), Some("01011990"));
        assert_eq!(t.dob_parsed(), Some(time::macros::date!(1990 - 01 - 01)));
        assert_eq!(t.consent_valid_till, Some(1_767_225_600));
        let t = token(json!({"access_token": "a", "dob": 31121970}));
        assert_eq!(t.dob_parsed(), Some(time::macros::date!(1970 - 12 - 31)));
        let t = token(json!({"access_token": "a", "dob": "15081990"}));
        assert_eq!(t.dob_parsed(), Some(time::macros::date!(1990 - 08 - 15)));
        // Not a date: the text is kept, the parsed date is absent.
        let t = token(json!({"access_token": "a", "dob": 99999999}));
        assert_eq!(t.dob.as_deref(), Some("99999999"));
        assert_eq!(t.dob_parsed(), None);
        let u: User = serde_json::from_value(json!({"dob": 5111998})).unwrap();
        assert_eq!(u.dob_parsed(), Some(time::macros::date!(1998 - 11 - 05)));
    }

    #[test]
    fn scope_lists_shared_uris_and_pullable_doctypes() {
        let t = token(json!({"access_token": "a",
            "scope": "files.issueddocs userdetails issued/in.gov.pan-PANCR-X file.partners/DRVLC file.partners/ picture"}));
        assert_eq!(t.shared_uris().collect::<Vec<_>>(), ["in.gov.pan-PANCR-X"]);
        assert_eq!(t.pullable_doctypes().collect::<Vec<_>>(), ["DRVLC"]);
    }

    fn file(uri: &str, doctype: &str, issuerid: &str, date: Option<&str>) -> IssuedFile {
        serde_json::from_value(json!({
            "name": "x", "uri": uri, "doctype": doctype, "issuerid": issuerid, "date": date
        }))
        .unwrap()
    }

    #[test]
    fn issued_dates_parse_in_every_format() {
        use time::macros::date;
        for (text, expected) in [
            ("12-05-2015", Some(date!(2015 - 05 - 12))),
            ("12/05/2015", Some(date!(2015 - 05 - 12))),
            ("2015-05-12", Some(date!(2015 - 05 - 12))),
            ("2015-05-12T15:50:38Z", Some(date!(2015 - 05 - 12))),
            ("soon", None),
        ] {
            let f = file("u", "PANCR", "in.gov.pan", Some(text));
            assert_eq!(f.date_parsed(), expected, "{text}");
            assert_eq!(f.date.as_deref(), Some(text), "the raw text is kept");
        }
        assert_eq!(file("u", "PANCR", "in.gov.pan", None).date_parsed(), None);
    }

    #[test]
    fn find_pulled_picks_same_doctype_issuer_and_parameters() {
        let files = vec![
            file("in.gov.pan-PANCR-ABCDE1234F", "PANCR", "in.gov.pan", None),
            file(
                "in.gov.mh.transport-DRVLC-MH0120110012345",
                "DRVLC",
                "in.gov.mh.transport",
                None,
            ),
            file(
                "in.gov.ka.transport-DRVLC-KA0520190000001",
                "DRVLC",
                "in.gov.ka.transport",
                None,
            ),
            file(
                "in.gov.ka.transport-DRVLC-KA0520190000002",
                "DRVLC",
                "in.gov.ka.transport",
                None,
            ),
            file("in.cbse-SSCER-200812345678", "SSCER", "in.cbse", None),
        ];
        let params = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        let pick = |issuer: Option<&str>, doctype: &str, p: &[(&str, &str)]| {
            find_pulled(&files, issuer, doctype, &params(p)).map(|f| f.uri.as_str())
        };
        // The parameters shown in the URI choose among same-issuer documents
        // (case and spacing do not matter).
        assert_eq!(
            pick(
                Some("in.gov.ka.transport"),
                "DRVLC",
                &[("dlno", "ka05 2019 0000002"), ("DOB", "01-01-1990")]
            ),
            Some("in.gov.ka.transport-DRVLC-KA0520190000002")
        );
        // No parameter shown: the only one of that doc type and issuer, but
        // never a guess among several.
        assert_eq!(
            pick(Some("in.gov.mh.transport"), "drvlc", &[("dlno", "ZZ")]),
            Some("in.gov.mh.transport-DRVLC-MH0120110012345")
        );
        assert_eq!(
            pick(Some("in.gov.ka.transport"), "drvlc", &[("dlno", "ZZ")]),
            None
        );
        // The roll number inside a year+roll URI.
        assert_eq!(
            pick(
                Some("in.cbse"),
                "SSCER",
                &[("rroll", "12345678"), ("year", "2008")]
            ),
            Some("in.cbse-SSCER-200812345678")
        );
        // Another issuer's document of the same type is never picked.
        assert_eq!(pick(Some("in.gov.dl.transport"), "DRVLC", &[]), None);
        assert_eq!(pick(Some("in.gov.pan"), "DRVLC", &[]), None);
        // Issuer unknown: any issuer, parameters still preferred.
        assert_eq!(
            pick(None, "DRVLC", &[("dlno", "MH0120110012345")]),
            Some("in.gov.mh.transport-DRVLC-MH0120110012345")
        );
    }
}
