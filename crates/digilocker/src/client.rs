//! The HTTP client: one method per DigiLocker endpoint, with a timeout on every
//! call, no redirects followed, bounded bodies, and every failure typed.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE};
use reqwest::{RequestBuilder, StatusCode};
use secrecy::{ExposeSecret as _, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::config::{CallRecord, ClientAuth, Config, Endpoint, Observer, Outcome};
use crate::error::{Error, ErrorCode};
use crate::signing;
use crate::types::{
    find_pulled, AuthorizeParams, FileDownload, IssuedFile, IssuedFiles, PullDocType, PullDocTypes,
    PullIssuer, PullIssuers, PullParameter, PullParameters, PulledDocument, PulledUri, TokenHint,
    TokenResponse, User,
};

/// Error bodies are a line of JSON; anything longer is not worth reading.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Where the signed e-Aadhaar is: the path DigiLocker serves today, then the
/// one its published specification lists (v2). [`Client::eaadhaar`] tries
/// them in this order until one is known to work.
const EAADHAAR_PATHS: [&str; 2] = ["oauth2/3/xml/eaadhaar", "oauth2/2/xml/eaadhaar"];

/// The client. Cheap to clone (the connection pool and configuration are shared).
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    config: Arc<Config>,
    /// `base_url` with a trailing `/`, so that relative endpoint paths join
    /// under it rather than replacing its last segment.
    base: Url,
    /// Unix seconds now: read afresh for every signed call (a `ts` older
    /// than 30 minutes is refused). A field only so tests can move time.
    clock: fn() -> u64,
    /// The index in [`EAADHAAR_PATHS`] of the e-Aadhaar path to try first:
    /// the one that last answered as DigiLocker. Shared by clones, so one
    /// discovery serves every caller.
    eaadhaar_path: Arc<AtomicU8>,
}

/// Seconds since the Unix epoch (0 if the system clock is before it).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A success answer, body read in full (within the limit).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Client {
    /// Build a client: timeout on every call, no redirects followed, the
    /// bundled public roots trusted for TLS, and [`Config::extra_ca_pem`]'s
    /// certificates besides them.
    ///
    /// Fails with [`Error::InvalidArgument`] when `base_url` is not an
    /// `http(s)` URL or the extra CA bundle holds no readable certificate,
    /// and with [`Error::Transport`] when the TLS backend cannot be set up.
    pub fn new(config: Config) -> Result<Client, Error> {
        if !matches!(config.base_url.scheme(), "http" | "https")
            || config.base_url.cannot_be_a_base()
        {
            return Err(Error::InvalidArgument(format!(
                "the DigiLocker base URL must be an http(s) URL such as \
                 https://digilocker.meripehchaan.gov.in/public, not `{}`",
                config.base_url
            )));
        }
        let mut base = config.base_url.clone();
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mut roots = bundled_roots();
        if let Some(pem) = &config.extra_ca_pem {
            roots.extend(extra_roots(pem)?);
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            // A redirect from an API endpoint is an error to report, never
            // something to follow with a bearer token attached.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("digilocker-rs/", env!("CARGO_PKG_VERSION")))
            .tls_certs_only(roots)
            .build()
            .map_err(|e| {
                Error::Transport(format!("could not build the HTTP client: {}", chain(&e)))
            })?;
        Ok(Client {
            http,
            config: Arc::new(config),
            base,
            clock: unix_now,
            eaadhaar_path: Arc::new(AtomicU8::new(0)),
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The same client with `observer` called after every call (replacing any
    /// observer set in [`Config::observer`]).
    pub fn with_observer(mut self, observer: Observer) -> Client {
        let mut config = (*self.config).clone();
        config.observer = Some(observer);
        self.config = Arc::new(config);
        self
    }

    /// `oauth2/1/authorize?...`: where to send the user's browser.
    ///
    /// Always carries `response_type=code`, `client_id`, `redirect_uri`, `state`,
    /// `code_challenge` and `code_challenge_method=S256`; the optional
    /// parameters only when set.
    pub fn authorize_url(&self, params: &AuthorizeParams) -> Url {
        let mut url = self.url("oauth2/1/authorize");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.config.client_id)
                .append_pair("redirect_uri", self.config.redirect_uri.as_str())
                .append_pair("state", &params.state)
                .append_pair("code_challenge", &params.code_challenge)
                .append_pair("code_challenge_method", "S256");
            if params.signup {
                q.append_pair("dl_flow", "signup");
            }
            if let Some(mobile) = &params.verified_mobile {
                q.append_pair("verified_mobile", mobile);
            }
            let doctypes: Vec<&str> = params
                .req_doctype
                .iter()
                .map(|d| d.trim())
                .filter(|d| !d.is_empty())
                .collect();
            if !doctypes.is_empty() {
                q.append_pair("req_doctype", &doctypes.join(","));
            }
            if let Some(purpose) = &params.purpose {
                q.append_pair("purpose", purpose);
            }
            if let Some(till) = params.consent_valid_till {
                q.append_pair("consent_valid_till", &till.to_string());
            }
        }
        url
    }

    /// `oauth2/1/token`, `grant_type=authorization_code`.
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &SecretString,
    ) -> Result<TokenResponse, Error> {
        let form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.config.redirect_uri.as_str()),
            ("code_verifier", verifier.expose_secret()),
        ];
        let request = self.client_authenticated(self.url("oauth2/1/token"), form);
        self.execute(
            Endpoint::ExchangeCode,
            request,
            self.config.max_json_bytes,
            json,
        )
        .await
    }

    /// `oauth2/1/token`, `grant_type=refresh_token`. DigiLocker may rotate
    /// refresh tokens: when the answer carries a `refresh_token`, it replaces
    /// the one sent, which no longer works; keep the old one only when the
    /// answer has none.
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenResponse, Error> {
        let form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ];
        let request = self.client_authenticated(self.url("oauth2/1/token"), form);
        self.execute(
            Endpoint::Refresh,
            request,
            self.config.max_json_bytes,
            token,
        )
        .await
    }

    /// `oauth2/1/revoke`. Any success status is success; a JSON `error` in the
    /// body is still reported as [`Error::Upstream`]. DigiLocker answers a
    /// token that is unknown, expired or already revoked with `400
    /// invalid_token` ("The token is invalid"): [`Error::is_invalid_token`]
    /// tells that case apart, which a caller revoking may treat as done.
    /// Revoking either token of a consent ends both.
    pub async fn revoke(&self, token: &SecretString, hint: TokenHint) -> Result<(), Error> {
        let form = vec![
            ("token", token.expose_secret()),
            ("token_type_hint", hint.as_str()),
        ];
        let request = self.client_authenticated(self.url("oauth2/1/revoke"), form);
        self.execute(
            Endpoint::Revoke,
            request,
            self.config.max_json_bytes,
            |answer| match json_error_in(&answer) {
                Some(error) => Err(error),
                None => Ok(()),
            },
        )
        .await
    }

    /// `oauth2/1/user`.
    pub async fn user(&self, access_token: &SecretString) -> Result<User, Error> {
        let request = self.bearer_get(self.url("oauth2/1/user"), access_token);
        self.execute(Endpoint::User, request, self.config.max_json_bytes, json)
            .await
    }

    /// `oauth2/2/files/issued`.
    pub async fn issued_files(
        &self,
        access_token: &SecretString,
    ) -> Result<Vec<IssuedFile>, Error> {
        let request = self.bearer_get(self.url("oauth2/2/files/issued"), access_token);
        self.execute(
            Endpoint::IssuedFiles,
            request,
            self.config.max_json_bytes,
            |answer| json::<IssuedFiles>(answer).map(|files| files.items),
        )
        .await
    }

    /// `oauth2/1/file/{uri}`, checking the `hmac` header where present.
    ///
    /// `uri` is sent as one percent-encoded path segment; an empty URI, `.` or
    /// `..` is refused with [`Error::InvalidArgument`] before any call.
    pub async fn file(
        &self,
        access_token: &SecretString,
        uri: &str,
    ) -> Result<FileDownload, Error> {
        let started = Instant::now();
        let url = match self.document_url("oauth2/1/file", uri) {
            Ok(url) => url,
            Err(e) => return self.refused(Endpoint::File, started, e),
        };
        let request = self.http.get(url).bearer_auth(access_token.expose_secret());
        let secret = &self.config.client_secret;
        self.execute(
            Endpoint::File,
            request,
            self.config.max_file_bytes,
            |answer| decode_file(answer, secret),
        )
        .await
    }

    /// `oauth2/1/xml/{uri}`: the certificate's data as XML. `uri` as for [`Client::file`].
    pub async fn xml(&self, access_token: &SecretString, uri: &str) -> Result<Bytes, Error> {
        let started = Instant::now();
        let url = match self.document_url("oauth2/1/xml", uri) {
            Ok(url) => url,
            Err(e) => return self.refused(Endpoint::Xml, started, e),
        };
        let request = self.http.get(url).bearer_auth(access_token.expose_secret());
        self.execute(Endpoint::Xml, request, self.config.max_file_bytes, xml)
            .await
    }

    /// The signed e-Aadhaar XML (verify it with the `aadhaar` crate before
    /// trusting a byte of it).
    ///
    /// DigiLocker serves it at `oauth2/3/xml/eaadhaar`; its published v2
    /// specification lists `oauth2/2/xml/eaadhaar`. The first call tries
    /// `/3/`, and when that answers a plain "no such path" 404 (an HTML page,
    /// an empty body, or a JSON error that is not one of DigiLocker's codes
    /// about the user or the token) tries `/2/`. Whichever path answers as
    /// DigiLocker (the XML, or one of its own errors such as
    /// `aadhaar_not_linked` or `invalid_token`) is remembered, by this client
    /// and its clones, and tried first from then on; if it later answers a
    /// plain 404 the other is tried again. When both answer a plain 404 the
    /// error is that 404, described as such.
    ///
    /// A success status whose body is not an e-Aadhaar (an HTML page, JSON,
    /// an empty or cut-off body, XML whose root is not `<Certificate>`) is
    /// [`Error::Malformed`]; a JSON `error` object is [`Error::Upstream`].
    /// Each attempt is reported to the observer as an [`Endpoint::Eaadhaar`]
    /// call.
    pub async fn eaadhaar(&self, access_token: &SecretString) -> Result<Bytes, Error> {
        let first = usize::from(self.eaadhaar_path.load(Ordering::Relaxed)) % EAADHAAR_PATHS.len();
        for index in [first, 1 - first] {
            let request = self.bearer_get(self.url(EAADHAAR_PATHS[index]), access_token);
            let result = self
                .execute(
                    Endpoint::Eaadhaar,
                    request,
                    self.config.max_file_bytes,
                    eaadhaar_xml,
                )
                .await;
            match &result {
                Err(e) if is_no_such_path(e) => continue,
                Ok(_) | Err(Error::Upstream { .. }) => {
                    // The path exists: DigiLocker answered on it (a 5xx or a
                    // JSON error about the user still proves that). Kept as
                    // an index below 2, so the cast cannot truncate.
                    if index != first {
                        self.eaadhaar_path.store(index as u8, Ordering::Relaxed);
                        tracing::info!(
                            path = EAADHAAR_PATHS[index],
                            "DigiLocker serves the e-Aadhaar at this path; using it from now on"
                        );
                    }
                }
                // A timeout or a broken body proves nothing either way.
                Err(_) => {}
            }
            return result;
        }
        Err(Error::Upstream {
            status: StatusCode::NOT_FOUND.as_u16(),
            code: ErrorCode::Other("Not Found".into()),
            description: Some(format!(
                "neither {} nor {} exists under the DigiLocker base URL {}: check the base URL",
                EAADHAAR_PATHS[0], EAADHAAR_PATHS[1], self.config.base_url
            )),
        })
    }

    /// The e-Aadhaar path [`Client::eaadhaar`] tries first: `oauth2/3/xml/eaadhaar`
    /// until `/2/` has been found to be the one that works.
    pub fn eaadhaar_path(&self) -> &'static str {
        EAADHAAR_PATHS
            [usize::from(self.eaadhaar_path.load(Ordering::Relaxed)) % EAADHAAR_PATHS.len()]
    }

    /// `oauth2/1/pull/issuers` (signed).
    pub async fn pull_issuers(&self) -> Result<Vec<PullIssuer>, Error> {
        let request = self.signed(self.url("oauth2/1/pull/issuers"), &[]);
        self.execute(
            Endpoint::PullIssuers,
            request,
            self.config.max_json_bytes,
            |answer| json::<PullIssuers>(answer).map(|list| list.issuers),
        )
        .await
    }

    /// `oauth2/1/pull/doctype` (signed).
    pub async fn pull_doctypes(&self, orgid: &str) -> Result<Vec<PullDocType>, Error> {
        let request = self.signed(self.url("oauth2/1/pull/doctype"), &[("orgid", orgid)]);
        self.execute(
            Endpoint::PullDoctypes,
            request,
            self.config.max_json_bytes,
            |answer| json::<PullDocTypes>(answer).map(|list| list.documents),
        )
        .await
    }

    /// `oauth2/1/pull/parameters` (signed).
    pub async fn pull_parameters(
        &self,
        orgid: &str,
        doctype: &str,
    ) -> Result<Vec<PullParameter>, Error> {
        let request = self.signed(
            self.url("oauth2/1/pull/parameters"),
            &[("orgid", orgid), ("doctype", doctype)],
        );
        self.execute(
            Endpoint::PullParameters,
            request,
            self.config.max_json_bytes,
            |answer| json::<PullParameters>(answer).map(PullParameters::into_vec),
        )
        .await
    }

    /// [`Client::pull_document`], and when DigiLocker answers `uri_exists`
    /// (the document is already in the user's locker, pulled before by any
    /// consent, or issued there), [`Client::issued_files`] and
    /// [`find_pulled`] to find it: same doc type, same issuer (`issuerid`,
    /// from the catalogue's [`PullIssuer::issuerid`]; `None` for any), and
    /// where the URIs show them, the same parameters.
    ///
    /// When the listing has no such document (the consent does not cover
    /// it), the `uri_exists` error is returned as it came. Every other error
    /// of the pull is returned unchanged, `pull_response_pending` included
    /// ([`Error::is_pull_pending`]: ask again later).
    pub async fn pull_document_or_existing(
        &self,
        access_token: &SecretString,
        orgid: &str,
        issuerid: Option<&str>,
        doctype: &str,
        params: &[(String, String)],
    ) -> Result<PulledDocument, Error> {
        match self
            .pull_document(access_token, orgid, doctype, params)
            .await
        {
            Ok(uri) => Ok(PulledDocument {
                uri,
                already_in_locker: false,
            }),
            Err(exists) if exists.code() == Some(&ErrorCode::UriExists) => {
                let files = self.issued_files(access_token).await?;
                match find_pulled(&files, issuerid, doctype, params) {
                    Some(file) => Ok(PulledDocument {
                        uri: file.uri.clone(),
                        already_in_locker: true,
                    }),
                    None => Err(exists),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// `oauth2/1/pull/pulldocument`: returns the new document's URI.
    ///
    /// `params` are the issuer's parameters (`paramname`, value) from
    /// [`Client::pull_parameters`]; `consent=Y` is always sent. A parameter
    /// named `orgid`, `doctype` or `consent` is refused with
    /// [`Error::InvalidArgument`].
    pub async fn pull_document(
        &self,
        access_token: &SecretString,
        orgid: &str,
        doctype: &str,
        params: &[(String, String)],
    ) -> Result<String, Error> {
        let started = Instant::now();
        if let Some((name, _)) = params
            .iter()
            .find(|(name, _)| matches!(name.as_str(), "orgid" | "doctype" | "consent"))
        {
            let error = Error::InvalidArgument(format!(
                "`{name}` is set by pull_document itself and cannot be an issuer parameter"
            ));
            return self.refused(Endpoint::PullDocument, started, error);
        }
        let mut form: Vec<(&str, &str)> =
            vec![("orgid", orgid), ("doctype", doctype), ("consent", "Y")];
        form.extend(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let request = self
            .http
            .post(self.url("oauth2/1/pull/pulldocument"))
            .bearer_auth(access_token.expose_secret())
            .header(ACCEPT, "application/json")
            .form(&form);
        self.execute(
            Endpoint::PullDocument,
            request,
            self.config.max_json_bytes,
            |answer| json::<PulledUri>(answer).map(|pulled| pulled.uri),
        )
        .await
    }

    // ---- request building ----

    /// An endpoint URL under the base. `path` is a constant of this module.
    fn url(&self, path: &str) -> Url {
        // Joining a relative constant path onto an http(s) base cannot fail;
        // falling back to the base keeps this infallible without a panic.
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    /// `{prefix}/{uri}` with `uri` percent-encoded as exactly one path segment
    /// (`/`, `?`, `#`, `%` included), so a URI can never reach another path.
    fn document_url(&self, prefix: &str, uri: &str) -> Result<Url, Error> {
        if uri.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "the document URI is empty; take it from issued_files or pull_document".into(),
            ));
        }
        // `.` and `..` are path navigation, not names; the URL library would
        // silently drop them (calling `file/` instead), so refuse them outright.
        if uri == "." || uri == ".." {
            return Err(Error::InvalidArgument(format!(
                "`{uri}` is not a document URI"
            )));
        }
        let mut url = self.url(prefix);
        url.path_segments_mut()
            .map_err(|_| Error::InvalidArgument("the base URL cannot take a path".into()))?
            .pop_if_empty()
            .push(uri);
        Ok(url)
    }

    fn bearer_get(&self, url: Url, access_token: &SecretString) -> RequestBuilder {
        self.http
            .get(url)
            .bearer_auth(access_token.expose_secret())
            .header(ACCEPT, "application/json")
    }

    /// A form POST carrying the client credentials the configured way.
    fn client_authenticated<'a>(
        &'a self,
        url: Url,
        mut form: Vec<(&'a str, &'a str)>,
    ) -> RequestBuilder {
        let secret = self.config.client_secret.expose_secret();
        let request = self.http.post(url).header(ACCEPT, "application/json");
        match self.config.client_auth {
            ClientAuth::FormBody => {
                form.push(("client_id", &self.config.client_id));
                form.push(("client_secret", secret));
                request.form(&form)
            }
            ClientAuth::Basic => request
                .basic_auth(&self.config.client_id, Some(secret))
                .form(&form),
        }
    }

    /// A signed catalogue call: `clientid`, `ts` and
    /// `hmac = hex(SHA-256(secret + clientid + ts))` added to `fields`.
    fn signed(&self, url: Url, fields: &[(&str, &str)]) -> RequestBuilder {
        // The spec says "unix seconds in IST": a unix timestamp has no time
        // zone, so this is plain seconds since the epoch (what DigiLocker checks
        // against its 30-minute window). Read now, for this one call: a crawl
        // of the whole catalogue takes minutes, and a `ts` taken once at its
        // start would go stale half an hour in.
        let ts = (self.clock)().to_string();
        let hmac = signing::catalogue_signature(
            self.config.client_secret.expose_secret(),
            &self.config.client_id,
            &ts,
        );
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("clientid", &self.config.client_id));
        form.push(("ts", &ts));
        form.push(("hmac", &hmac));
        self.http
            .post(url)
            .header(ACCEPT, "application/json")
            .form(&form)
    }

    // ---- execution ----

    /// Send, read the body within `limit`, decode, and report the call.
    async fn execute<T>(
        &self,
        endpoint: Endpoint,
        request: RequestBuilder,
        limit: usize,
        decode: impl FnOnce(Answer) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let started = Instant::now();
        let (status, answer) = send(request, limit).await;
        let result = answer.and_then(decode);
        self.report(endpoint, status, started.elapsed(), &result);
        result
    }

    /// Report a call refused before sending, and return its error.
    fn refused<T>(&self, endpoint: Endpoint, started: Instant, error: Error) -> Result<T, Error> {
        let result = Err(error);
        self.report(endpoint, None, started.elapsed(), &result);
        result
    }

    fn report<T>(
        &self,
        endpoint: Endpoint,
        status: Option<u16>,
        duration: Duration,
        result: &Result<T, Error>,
    ) {
        let outcome = Outcome::of(result);
        let duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        // Only the endpoint name, status, duration and error code: never URLs
        // (document URIs carry PAN/licence numbers), tokens or bodies.
        match result {
            Ok(_) => tracing::debug!(
                endpoint = endpoint.as_str(),
                status,
                duration_ms,
                "DigiLocker call succeeded"
            ),
            Err(e @ Error::Upstream { .. }) => tracing::info!(
                endpoint = endpoint.as_str(),
                status,
                duration_ms,
                code = e.code().map(ErrorCode::as_str),
                "DigiLocker answered with an error"
            ),
            Err(e) => tracing::warn!(
                endpoint = endpoint.as_str(),
                status,
                duration_ms,
                outcome = outcome.as_str(),
                "DigiLocker call failed: {e}"
            ),
        }
        if let Some(observer) = &self.config.observer {
            observer(&CallRecord {
                endpoint,
                status,
                outcome,
                duration,
            });
        }
    }
}

/// Send a request; on success read the whole body (at most `limit` bytes).
/// Returns the status when an answer arrived, for the call record.
async fn send(request: RequestBuilder, limit: usize) -> (Option<u16>, Result<Answer, Error>) {
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return (None, Err(transport_error(e))),
    };
    let status = response.status();
    if !status.is_success() {
        // The error body is best effort: a bare, unreadable or oversized one
        // still yields a typed error carrying the status.
        let body = read_limited(response, MAX_ERROR_BODY_BYTES).await.ok();
        return (
            Some(status.as_u16()),
            Err(error_from_status(status, body.as_deref())),
        );
    }
    let headers = response.headers().clone();
    let result = read_limited(response, limit).await.map(|body| Answer {
        status,
        headers,
        body,
    });
    (Some(status.as_u16()), result)
}

/// Read the body, refusing to buffer more than `limit` bytes.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Bytes, Error> {
    if let Some(length) = response.content_length() {
        if length > limit as u64 {
            return Err(Error::Malformed(format!(
                "the answer announces {length} bytes, over the limit of {limit}"
            )));
        }
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(body_error)? {
        if body.len() + chunk.len() > limit {
            return Err(Error::Malformed(format!(
                "the answer is longer than the limit of {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn transport_error(e: reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::Timeout
    } else {
        // Without the URL: document URIs in it carry personal identifiers.
        Error::Transport(chain(&e.without_url()))
    }
}

fn body_error(e: reqwest::Error) -> Error {
    if e.is_timeout() {
        Error::Timeout
    } else {
        Error::Malformed(format!(
            "the answer was cut off or garbled: {}",
            chain(&e.without_url())
        ))
    }
}

/// An error and its causes on one line (reqwest's own message is generic).
/// The Mozilla root certificates compiled into the binary (the
/// `webpki-root-certs` crate), parsed once. Every HTTPS client the gateway
/// makes trusts these and only these, so it behaves the same in a minimal
/// container with no system certificate store as on a full host.
pub fn bundled_roots() -> Vec<reqwest::Certificate> {
    static ROOTS: std::sync::OnceLock<Vec<reqwest::Certificate>> = std::sync::OnceLock::new();
    ROOTS
        .get_or_init(|| {
            webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .filter_map(|der| reqwest::Certificate::from_der(der).ok())
                .collect()
        })
        .clone()
}

/// The certificates of an extra CA bundle ([`Config::extra_ca_pem`]),
/// each checked to be a usable trust anchor before the client is built, so
/// a wrong file is reported as such rather than as a TLS backend failure.
pub fn extra_roots(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, Error> {
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
        Error::InvalidArgument(format!(
            "the extra CA bundle is not valid PEM: {}",
            chain(&e)
        ))
    })?;
    if certs.is_empty() {
        return Err(Error::InvalidArgument(
            "the extra CA bundle holds no certificate (no -----BEGIN CERTIFICATE----- block)"
                .into(),
        ));
    }
    reqwest::Client::builder()
        .tls_certs_only(certs.clone())
        .build()
        .map_err(|e| {
            Error::InvalidArgument(format!(
                "the extra CA bundle holds a certificate that cannot be trusted as a CA: {}",
                chain(&e)
            ))
        })?;
    Ok(certs)
}

/// Whether an error is a plain "no such path" 404: a bare or HTML 404, or a
/// JSON one whose code is not one of DigiLocker's (an API gateway's
/// `not_found`), or the generic `invalid_request` a server gives for an
/// endpoint it does not have. A 404 carrying DigiLocker's own codes
/// (`aadhaar_not_linked`, `aadhaar_not_available`, `invalid_token`, ...) is
/// DigiLocker answering on that path.
fn is_no_such_path(e: &Error) -> bool {
    matches!(
        e,
        Error::Upstream {
            status: 404,
            code: ErrorCode::Other(_) | ErrorCode::InvalidRequest,
            ..
        }
    )
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The typed error of a non-2xx answer: the JSON `error`/`error_description`
/// when present, otherwise the status's reason phrase as the code.
fn error_from_status(status: StatusCode, body: Option<&[u8]>) -> Error {
    let parsed = body.and_then(|b| serde_json::from_slice::<Value>(b).ok());
    if let Some(error) = parsed.as_ref().and_then(|v| upstream_error_in(v, status)) {
        return error;
    }
    let description = parsed
        .as_ref()
        .and_then(|v| v.get("error_description"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let reason = status
        .canonical_reason()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
    Error::Upstream {
        status: status.as_u16(),
        code: ErrorCode::Other(reason),
        description,
    }
}

/// `{"error": "...", "error_description": "..."}` in a JSON value, if any.
fn upstream_error_in(value: &Value, status: StatusCode) -> Option<Error> {
    let code = value.get("error")?.as_str()?.trim();
    if code.is_empty() {
        return None;
    }
    Some(Error::Upstream {
        status: status.as_u16(),
        code: ErrorCode::parse(code),
        description: value
            .get("error_description")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// An `error` object in a success answer whose body is JSON.
fn json_error_in(answer: &Answer) -> Option<Error> {
    let value = serde_json::from_slice::<Value>(&answer.body).ok()?;
    upstream_error_in(&value, answer.status)
}

/// Decode a JSON success answer; a 2xx carrying `error` is still an error.
fn json<T: DeserializeOwned>(answer: Answer) -> Result<T, Error> {
    let value: Value = serde_json::from_slice(&answer.body).map_err(|e| {
        Error::Malformed(if answer.body.is_empty() {
            "the answer is empty where JSON was expected".to_owned()
        } else {
            format!("the answer is not valid JSON ({e})")
        })
    })?;
    if let Some(error) = upstream_error_in(&value, answer.status) {
        return Err(error);
    }
    serde_json::from_value(value).map_err(|e| {
        // serde's type errors quote the offending value, which may be a token
        // or personal data: keep only messages that name a field.
        let message = e.to_string();
        Error::Malformed(if message.starts_with("missing field") {
            format!("the JSON answer lacks a required field ({message})")
        } else {
            "the JSON answer has a field of an unexpected type".to_owned()
        })
    })
}

/// A token answer must carry a usable access token.
fn token(answer: Answer) -> Result<TokenResponse, Error> {
    let token: TokenResponse = json(answer)?;
    if token.access_token.trim().is_empty() {
        return Err(Error::Malformed(
            "the token answer has an empty access_token".into(),
        ));
    }
    Ok(token)
}

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok())
}

fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        let essence = ct.split(';').next().unwrap_or("").trim();
        essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
    })
}

fn decode_file(answer: Answer, client_secret: &SecretString) -> Result<FileDownload, Error> {
    let content_type_value = content_type(&answer.headers);
    if is_json(content_type_value) {
        if let Some(error) = json_error_in(&answer) {
            return Err(error);
        }
    }
    if answer.body.is_empty() {
        return Err(Error::Malformed("the file is empty".into()));
    }
    let hmac_verified = match answer.headers.get("hmac") {
        None => None,
        Some(header) => {
            let given = header.to_str().map_err(|_| Error::HmacMismatch)?;
            if !signing::verify_file_hmac(client_secret.expose_secret(), &answer.body, given) {
                return Err(Error::HmacMismatch);
            }
            Some(true)
        }
    };
    Ok(FileDownload {
        content_type: content_type_value
            .unwrap_or("application/octet-stream")
            .to_owned(),
        bytes: answer.body,
        hmac_verified,
    })
}

/// An XML success answer: refuse a JSON error object, an empty body, a body
/// that does not even start with `<` and end with `>` (cut off in transit),
/// and an HTML page (a proxy's or a portal's, served with `200`).
fn xml(answer: Answer) -> Result<Bytes, Error> {
    let text = answer
        .body
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(&answer.body)
        .trim_ascii();
    // A JSON error, whatever the content type says.
    if is_json(content_type(&answer.headers)) || text.starts_with(b"{") {
        if let Some(error) = json_error_in(&answer) {
            return Err(error);
        }
    }
    if text.is_empty() {
        return Err(Error::Malformed("the XML answer is empty".into()));
    }
    if !root_element_closed(text) {
        return Err(Error::Malformed(
            "the XML answer is cut off or is not XML".into(),
        ));
    }
    if root_element_name(text).is_some_and(|name| name.eq_ignore_ascii_case(b"html")) {
        return Err(Error::Malformed(
            "the answer is an HTML page, not XML".into(),
        ));
    }
    Ok(answer.body)
}

/// [`xml`], and the root element must be DigiLocker's e-Aadhaar root,
/// `<Certificate>`: any other XML (an error document of a proxy, say) is not
/// an e-Aadhaar, and is malformed rather than a document to verify.
fn eaadhaar_xml(answer: Answer) -> Result<Bytes, Error> {
    let body = xml(answer)?;
    let text = body
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(&body)
        .trim_ascii();
    let root = root_element_name(text).unwrap_or_default();
    // The local name: a namespace prefix (`ns:Certificate`) is allowed.
    let local = root.rsplit(|&b| b == b':').next().unwrap_or_default();
    if local != b"Certificate" {
        return Err(Error::Malformed(format!(
            "the e-Aadhaar answer is XML whose root is <{}>, not DigiLocker's <Certificate>",
            String::from_utf8_lossy(&root[..root.len().min(64)])
        )));
    }
    Ok(body)
}

/// The text from the root element's `<` on, after the prolog (declaration,
/// comments, doctype); `None` when the prolog never ends or no element follows.
fn after_prolog(text: &[u8]) -> Option<&[u8]> {
    let mut rest = text;
    loop {
        let start = rest.iter().position(|&b| b == b'<')?;
        rest = &rest[start..];
        let skip_to = |end: &[u8]| {
            rest.windows(end.len())
                .position(|w| w == end)
                .map(|i| i + end.len())
        };
        let skipped = if rest.starts_with(b"<?") {
            skip_to(b"?>")
        } else if rest.starts_with(b"<!--") {
            skip_to(b"-->")
        } else if rest.starts_with(b"<!") {
            skip_to(b">")
        } else {
            return Some(rest);
        };
        rest = &rest[skipped?..];
    }
}

/// The root element's name (empty when `<` is followed by no name).
fn root_element_name(text: &[u8]) -> Option<&[u8]> {
    let rest = after_prolog(text)?;
    let name_len = rest[1..]
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
        .unwrap_or(rest.len() - 1);
    Some(&rest[1..1 + name_len])
}

/// A cheap truncation check, not a parser: after the prolog (declaration,
/// comments, doctype) comes a root element, and the text ends by closing it
/// (`</Root>`), or the root is a single self-closing tag. A body cut off
/// anywhere loses that closing tag.
fn root_element_closed(text: &[u8]) -> bool {
    let (Some(rest), Some(name)) = (after_prolog(text), root_element_name(text)) else {
        return false;
    };
    if name.is_empty() {
        return false;
    }
    let Some(first_tag_end) = rest.iter().position(|&b| b == b'>') else {
        return false;
    };
    if first_tag_end == rest.len() - 1 {
        // The whole document is one tag: it must be self-closing.
        return first_tag_end > 0 && rest[first_tag_end - 1] == b'/';
    }
    let Some(body) = rest.strip_suffix(b">") else {
        return false;
    };
    let body = body.trim_ascii_end();
    body.strip_suffix(name)
        .is_some_and(|before| before.ends_with(b"</"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn client(base: &str) -> Client {
        Client::new(Config::new(
            base.parse().unwrap(),
            "DEMOCLIENT",
            SecretString::from("topsecret"),
            "https://kyc.example.com/digilocker/callback"
                .parse()
                .unwrap(),
        ))
        .unwrap()
    }

    /// The form fields of a signed request as built now.
    fn signed_form(c: &Client, fields: &[(&str, &str)]) -> Vec<(String, String)> {
        let request = c
            .signed(c.url("oauth2/1/pull/doctype"), fields)
            .build()
            .unwrap();
        let body = request.body().unwrap().as_bytes().unwrap();
        url::form_urlencoded::parse(body).into_owned().collect()
    }

    fn form_field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} in {form:?}"))
    }

    #[test]
    fn every_signed_call_is_signed_with_the_time_it_is_made() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NOW: AtomicU64 = AtomicU64::new(1_700_000_000);
        let mut c = client("https://betaapi.digitallocker.gov.in/public");
        c.clock = || NOW.load(Ordering::SeqCst);
        // The same client, one call at the start of a crawl and one 45
        // minutes in: each carries its own ts and a signature over it, so
        // the later one is not refused as older than 30 minutes.
        let first = signed_form(&c, &[("orgid", "002317")]);
        NOW.fetch_add(45 * 60, Ordering::SeqCst);
        let later = signed_form(&c.clone(), &[("orgid", "002317")]);
        for (form, ts) in [(&first, "1700000000"), (&later, "1700002700")] {
            assert_eq!(form_field(form, "ts"), ts);
            assert_eq!(form_field(form, "clientid"), "DEMOCLIENT");
            assert_eq!(form_field(form, "orgid"), "002317");
            assert_eq!(
                form_field(form, "hmac"),
                signing::catalogue_signature("topsecret", "DEMOCLIENT", ts)
            );
        }
    }

    #[test]
    fn the_real_clock_signs_with_the_current_time() {
        let c = client("https://betaapi.digitallocker.gov.in/public");
        let before = unix_now();
        let form = signed_form(&c, &[]);
        let ts: u64 = form_field(&form, "ts").parse().unwrap();
        assert!((before..=unix_now()).contains(&ts), "{ts} vs {before}");
    }

    fn query(url: &Url) -> Vec<(String, String)> {
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn authorize_url_with_every_parameter() {
        let c = client("https://digilocker.meripehchaan.gov.in/public");
        let url = c.authorize_url(&AuthorizeParams {
            state: "st-1".into(),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            signup: true,
            verified_mobile: Some("9876543210".into()),
            req_doctype: vec!["PANCR".into(), " DRVLC ".into(), "".into()],
            purpose: Some("KYC & onboarding".into()),
            consent_valid_till: Some(1_767_225_600),
        });
        assert_eq!(
            url.as_str().split('?').next(),
            Some("https://digilocker.meripehchaan.gov.in/public/oauth2/1/authorize")
        );
        let pairs = |items: &[(&str, &str)]| -> Vec<(String, String)> {
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            query(&url),
            pairs(&[
                ("response_type", "code"),
                ("client_id", "DEMOCLIENT"),
                (
                    "redirect_uri",
                    "https://kyc.example.com/digilocker/callback"
                ),
                ("state", "st-1"),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                ),
                ("code_challenge_method", "S256"),
                ("dl_flow", "signup"),
                ("verified_mobile", "9876543210"),
                ("req_doctype", "PANCR,DRVLC"),
                ("purpose", "KYC & onboarding"),
                ("consent_valid_till", "1767225600"),
            ])
        );
        // The `&` of the purpose is escaped, not a parameter separator.
        assert!(url.as_str().contains("purpose=KYC+%26+onboarding"));
    }

    #[test]
    fn authorize_url_without_optional_parameters() {
        let c = client("http://127.0.0.1:8080/sandbox/");
        let url = c.authorize_url(&AuthorizeParams {
            state: "s".into(),
            code_challenge: "c".into(),
            ..Default::default()
        });
        assert_eq!(url.path(), "/sandbox/oauth2/1/authorize");
        let keys: Vec<String> = query(&url).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "response_type",
                "client_id",
                "redirect_uri",
                "state",
                "code_challenge",
                "code_challenge_method"
            ]
        );
    }

    #[test]
    fn endpoints_join_under_the_base_with_or_without_trailing_slash() {
        for base in [
            "https://betaapi.digitallocker.gov.in/public",
            "https://betaapi.digitallocker.gov.in/public/",
        ] {
            assert_eq!(
                client(base).url("oauth2/1/token").as_str(),
                "https://betaapi.digitallocker.gov.in/public/oauth2/1/token"
            );
        }
        assert_eq!(
            client("http://127.0.0.1:9/")
                .url("oauth2/2/files/issued")
                .as_str(),
            "http://127.0.0.1:9/oauth2/2/files/issued"
        );
    }

    #[test]
    fn a_non_http_base_url_is_refused() {
        let config = Config::new(
            "mailto:someone@example.com".parse().unwrap(),
            "id",
            SecretString::from("s"),
            "https://x.example/cb".parse().unwrap(),
        );
        assert!(matches!(
            Client::new(config),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn document_uri_stays_one_path_segment() {
        let c = client("https://api.digitallocker.gov.in/public");
        let url = c
            .document_url("oauth2/1/file", "in.gov.pan-PANCR-ABCDE1234F")
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://api.digitallocker.gov.in/public/oauth2/1/file/in.gov.pan-PANCR-ABCDE1234F"
        );
        let url = c.document_url("oauth2/1/file", "../../token").unwrap();
        assert_eq!(url.path(), "/public/oauth2/1/file/..%2F..%2Ftoken");
        let url = c.document_url("oauth2/1/xml", "a?b#c%2e%2e/d").unwrap();
        assert_eq!(url.path(), "/public/oauth2/1/xml/a%3Fb%23c%252e%252e%2Fd");
        assert_eq!(url.query(), None);
        assert_eq!(url.path_segments().unwrap().count(), 5);
        for bad in ["", " ", ".", ".."] {
            assert!(
                matches!(
                    c.document_url("oauth2/1/file", bad),
                    Err(Error::InvalidArgument(_))
                ),
                "{bad:?} accepted"
            );
        }
    }

    fn answer(status: u16, content_type: Option<&str>, body: &'static [u8]) -> Answer {
        let mut headers = HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        }
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn error_status_with_json_body_is_typed() {
        let e = error_from_status(
            StatusCode::UNAUTHORIZED,
            Some(br#"{"error":"invalid_token","error_description":"The access token is invalid"}"#),
        );
        match e {
            Error::Upstream {
                status,
                code,
                description,
            } => {
                assert_eq!(status, 401);
                assert_eq!(code, ErrorCode::InvalidToken);
                assert_eq!(description.as_deref(), Some("The access token is invalid"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bare_error_status_becomes_its_reason_phrase() {
        for body in [
            None,
            Some(&b"<html>Bad gateway</html>"[..]),
            Some(&b"{}"[..]),
        ] {
            let e = error_from_status(StatusCode::BAD_GATEWAY, body);
            assert!(
                matches!(&e, Error::Upstream { status: 502, code: ErrorCode::Other(text), .. } if text == "Bad Gateway"),
                "{e:?}"
            );
        }
        let e = error_from_status(StatusCode::from_u16(599).unwrap(), None);
        assert!(
            matches!(e, Error::Upstream { code: ErrorCode::Other(text), .. } if text == "HTTP 599")
        );
    }

    #[test]
    fn success_with_error_field_is_an_upstream_error() {
        let e = json::<TokenResponse>(answer(
            200,
            Some("application/json"),
            br#"{"error":"invalid_grant","error_description":"code already used"}"#,
        ))
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Upstream {
                status: 200,
                code: ErrorCode::InvalidGrant,
                ..
            }
        ));
    }

    #[test]
    fn an_empty_access_token_is_malformed() {
        let e = token(answer(
            200,
            None,
            br#"{"access_token":" ","token_type":"Bearer"}"#,
        ))
        .unwrap_err();
        assert!(matches!(e, Error::Malformed(_)), "{e:?}");
        assert!(token(answer(200, None, br#"{"access_token":"abc"}"#)).is_ok());
    }

    #[test]
    fn config_new_has_the_documented_defaults() {
        let c = client("https://betaapi.digitallocker.gov.in/public");
        let config = c.config();
        assert_eq!(config.timeout, std::time::Duration::from_secs(30));
        assert_eq!(config.connect_timeout, std::time::Duration::from_secs(10));
        assert_eq!(config.client_auth, ClientAuth::FormBody);
        assert_eq!(config.max_json_bytes, 2 * 1024 * 1024);
        assert_eq!(config.max_file_bytes, 20 * 1024 * 1024);
        assert!(config.observer.is_none());
    }

    #[test]
    fn malformed_and_truncated_json_is_malformed() {
        for body in [
            &br#"{"access_token":"abc","expires_in":36"#[..],
            b"",
            b"<html>maintenance</html>",
            br#"{"expires_in":3600}"#,
        ] {
            let body: &'static [u8] = Box::leak(body.to_vec().into_boxed_slice());
            let e = json::<TokenResponse>(answer(200, Some("application/json"), body)).unwrap_err();
            assert!(matches!(e, Error::Malformed(_)), "{e:?}");
        }
    }

    #[test]
    fn type_errors_do_not_quote_the_value() {
        let e = json::<IssuedFiles>(answer(
            200,
            None,
            br#"{"items":[{"name":"x","uri":{"secret":"ABCDE1234F"}}]}"#,
        ))
        .unwrap_err();
        assert!(!e.to_string().contains("ABCDE1234F"), "{e}");
    }

    #[test]
    fn xml_answers_are_sanity_checked() {
        let ok = xml(answer(
            200,
            Some("application/xml"),
            b"\xEF\xBB\xBF<Certificate/>\n",
        ))
        .unwrap();
        assert!(ok.ends_with(b"\n"), "the body is returned unchanged");
        let complete = [
            &b"<?xml version=\"1.0\"?>\n<!-- c --><Certificate a=\"1\"><D/></Certificate >"[..],
            b"<KycRes ret=\"Y\"/>",
            b"<Certificate>\r\n</Certificate>\r\n",
        ];
        for good in complete {
            let good: &'static [u8] = Box::leak(good.to_vec().into_boxed_slice());
            assert!(
                xml(answer(200, None, good)).is_ok(),
                "{:?}",
                String::from_utf8_lossy(good)
            );
        }
        for bad in [
            &b""[..],
            b"  \n",
            b"<Certificate><CertificateData>",
            b"<Certificate><CertificateData></CertificateData>",
            b"<Certificate><CertificateData></CertificateData></Certif",
            b"<?xml version=\"1.0\"?>",
            b"<KycRes ret=\"Y\"",
            b"not xml",
        ] {
            let bad: &'static [u8] = Box::leak(bad.to_vec().into_boxed_slice());
            assert!(matches!(
                xml(answer(200, Some("application/xml"), bad)),
                Err(Error::Malformed(_))
            ));
        }
        let e = xml(answer(
            200,
            Some("application/json; charset=utf-8"),
            br#"{"error":"aadhaar_not_linked"}"#,
        ))
        .unwrap_err();
        assert_eq!(e.code(), Some(&ErrorCode::AadhaarNotLinked));
        // A JSON error is read whatever the content type claims.
        let e = xml(answer(
            200,
            Some("application/xml"),
            b" {\"error\":\"aadhaar_not_available\"}",
        ))
        .unwrap_err();
        assert_eq!(e.code(), Some(&ErrorCode::AadhaarNotAvailable));
        // HTML is not XML, however well closed.
        for page in [
            &b"<!DOCTYPE html>\n<html><body>Service unavailable</body></html>\n"[..],
            b"<HTML><HEAD><TITLE>Portal</TITLE></HEAD></HTML>",
            b"<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"></html>",
        ] {
            let page: &'static [u8] = Box::leak(page.to_vec().into_boxed_slice());
            let e = xml(answer(200, Some("text/html"), page)).unwrap_err();
            assert!(
                matches!(&e, Error::Malformed(m) if m.contains("HTML")),
                "{e:?}"
            );
        }
    }

    #[test]
    fn an_eaadhaar_answer_must_be_a_certificate_document() {
        for good in [
            &b"<?xml version=\"1.0\"?>\n<Certificate><CertificateData/></Certificate>"[..],
            b"<dl:Certificate xmlns:dl=\"urn:x\"></dl:Certificate>",
        ] {
            let good: &'static [u8] = Box::leak(good.to_vec().into_boxed_slice());
            assert!(eaadhaar_xml(answer(200, None, good)).is_ok());
        }
        for bad in [
            &b"<Error><Code>NoSuchKey</Code></Error>"[..],
            b"<html><body>Not here</body></html>",
            b"{}",
            br#"{"items":[]}"#,
            b"",
            b"Certificate",
        ] {
            let bad: &'static [u8] = Box::leak(bad.to_vec().into_boxed_slice());
            let e = eaadhaar_xml(answer(200, Some("application/xml"), bad)).unwrap_err();
            assert!(matches!(e, Error::Malformed(_)), "{e:?}");
        }
    }

    #[test]
    fn only_a_plain_404_means_no_such_path() {
        let upstream = |status, code: &str| Error::Upstream {
            status,
            code: ErrorCode::parse(code),
            description: None,
        };
        assert!(is_no_such_path(&upstream(404, "Not Found")));
        assert!(is_no_such_path(&upstream(404, "not_found")));
        assert!(is_no_such_path(&upstream(404, "invalid_request")));
        for code in [
            "aadhaar_not_linked",
            "aadhaar_not_available",
            "invalid_token",
            "invalid_uri",
        ] {
            assert!(!is_no_such_path(&upstream(404, code)), "{code}");
        }
        assert!(!is_no_such_path(&upstream(500, "Internal Server Error")));
        assert!(!is_no_such_path(&Error::Timeout));
    }

    #[test]
    fn an_extra_ca_bundle_must_hold_a_readable_certificate() {
        let config = |pem: &[u8]| Config {
            extra_ca_pem: Some(pem.to_vec()),
            ..Config::new(
                "https://betaapi.digitallocker.gov.in/public"
                    .parse()
                    .unwrap(),
                "id",
                SecretString::from("s"),
                "https://x.example/cb".parse().unwrap(),
            )
        };
        for bad in [
            &b""[..],
            b"not a certificate",
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            let e = Client::new(config(bad)).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidArgument(m) if m.contains("extra CA bundle")),
                "{e:?}"
            );
        }
        // The bundled roots are themselves a valid bundle.
        let pem = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .take(2)
            .map(|der| {
                use base64::Engine as _;
                let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
                format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n")
            })
            .collect::<String>();
        let c = Client::new(config(pem.as_bytes())).unwrap();
        assert!(!format!("{:?}", c.config()).contains("BEGIN CERTIFICATE"));
    }

    #[test]
    fn file_hmac_header_is_checked() {
        let secret = SecretString::from("topsecret");
        let mut good = answer(200, Some("application/pdf"), b"hello pdf");
        good.headers.insert(
            "hmac",
            HeaderValue::from_static("rPf3GsmfFbwhIjKtSxHbgV8BXuCGIztoL5Fac7mp8ro="),
        );
        let file = decode_file(good, &secret).unwrap();
        assert_eq!(file.hmac_verified, Some(true));
        assert_eq!(file.content_type, "application/pdf");

        let mut bad = answer(200, Some("application/pdf"), b"hello pdf, altered");
        bad.headers.insert(
            "hmac",
            HeaderValue::from_static("rPf3GsmfFbwhIjKtSxHbgV8BXuCGIztoL5Fac7mp8ro="),
        );
        assert!(matches!(
            decode_file(bad, &secret),
            Err(Error::HmacMismatch)
        ));

        let unsigned = decode_file(answer(200, None, b"%PDF-1.7"), &secret).unwrap();
        assert_eq!(unsigned.hmac_verified, None);
        assert_eq!(unsigned.content_type, "application/octet-stream");
        assert!(matches!(
            decode_file(answer(200, None, b""), &secret),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn config_debug_hides_the_secret() {
        let c = client("https://betaapi.digitallocker.gov.in/public");
        assert!(!format!("{c:?}").contains("topsecret"));
    }
}
