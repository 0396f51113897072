//! Every way a call to DigiLocker can fail, and DigiLocker's error codes, typed.

use std::fmt;

/// Error codes of DigiLocker's Authorized Partner API spec (and the OAuth 2.0 codes of RFC 6749),
/// typed; unknown codes are kept as text in [`ErrorCode::Other`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_request`: a required OAuth parameter is missing or malformed.
    InvalidRequest,
    /// `invalid_client`: the client credentials were rejected.
    InvalidClient,
    /// `invalid_grant`: the code / refresh token is wrong, expired, already used,
    /// or the PKCE verifier does not match.
    InvalidGrant,
    /// `unauthorized_client`.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `access_denied`: the user denied consent.
    AccessDenied,
    /// `invalid_token`: the bearer token is expired or revoked.
    InvalidToken,
    /// `uri_missing`.
    UriMissing,
    /// `invalid_uri`: no file for that URI.
    InvalidUri,
    /// `invalid_id`.
    InvalidId,
    /// `aadhaar_not_linked`.
    AadhaarNotLinked,
    /// `aadhaar_not_available`: the user must redo Aadhaar e-KYC in DigiLocker.
    AadhaarNotAvailable,
    /// `record_not_found`: the issuer has no record matching the pull parameters.
    RecordNotFound,
    /// `invalid_parameter`: a signed call's orgid, doctype, ts or hmac is wrong.
    InvalidParameter,
    /// `invalid_client_id`.
    InvalidClientId,
    /// `unexpected_error`.
    UnexpectedError,
    /// `invalid_orgid`.
    InvalidOrgid,
    /// `invalid_doctype`.
    InvalidDoctype,
    /// `pull_response_pending`: the issuer must verify the details before it
    /// issues the document; the same pull may succeed later (retry with
    /// backoff), or the document may appear in the issued documents.
    PullResponsePending,
    /// `uri_exists`: the document is already in the user's issued documents
    /// (issued there, or pulled before by any consent, this one included):
    /// find it with [`crate::Client::issued_files`] and [`crate::find_pulled`],
    /// or let [`crate::Client::pull_document_or_existing`] do both.
    UriExists,
    /// `repository_service_unresponsive`.
    RepositoryServiceUnresponsive,
    /// `repository_service_configerror`.
    RepositoryServiceConfigerror,
    /// `repository_service_resperror`.
    RepositoryServiceResperror,
    /// `repository_service_exception`.
    RepositoryServiceException,
    /// `repository_service_inactive`.
    RepositoryServiceInactive,
    /// `repository_service_unpublished`.
    RepositoryServiceUnpublished,
    /// Any other code, verbatim; or, for an error status without a JSON body,
    /// the status's reason phrase (e.g. `Bad Gateway`).
    Other(String),
}

impl ErrorCode {
    /// Parse DigiLocker's `error` field. Unknown codes become [`ErrorCode::Other`].
    pub fn parse(code: &str) -> ErrorCode {
        match code.trim() {
            "invalid_request" => ErrorCode::InvalidRequest,
            "invalid_client" => ErrorCode::InvalidClient,
            "invalid_grant" => ErrorCode::InvalidGrant,
            "unauthorized_client" => ErrorCode::UnauthorizedClient,
            "unsupported_grant_type" => ErrorCode::UnsupportedGrantType,
            "access_denied" => ErrorCode::AccessDenied,
            // The published spec itself spells it once as "invalid token".
            "invalid_token" | "invalid token" => ErrorCode::InvalidToken,
            "uri_missing" => ErrorCode::UriMissing,
            "invalid_uri" => ErrorCode::InvalidUri,
            "invalid_id" => ErrorCode::InvalidId,
            "aadhaar_not_linked" => ErrorCode::AadhaarNotLinked,
            "aadhaar_not_available" => ErrorCode::AadhaarNotAvailable,
            "record_not_found" => ErrorCode::RecordNotFound,
            "invalid_parameter" => ErrorCode::InvalidParameter,
            "invalid_client_id" => ErrorCode::InvalidClientId,
            "unexpected_error" => ErrorCode::UnexpectedError,
            "invalid_orgid" => ErrorCode::InvalidOrgid,
            "invalid_doctype" => ErrorCode::InvalidDoctype,
            "pull_response_pending" => ErrorCode::PullResponsePending,
            "uri_exists" => ErrorCode::UriExists,
            "repository_service_unresponsive" => ErrorCode::RepositoryServiceUnresponsive,
            "repository_service_configerror" => ErrorCode::RepositoryServiceConfigerror,
            "repository_service_resperror" => ErrorCode::RepositoryServiceResperror,
            "repository_service_exception" => ErrorCode::RepositoryServiceException,
            "repository_service_inactive" => ErrorCode::RepositoryServiceInactive,
            "repository_service_unpublished" => ErrorCode::RepositoryServiceUnpublished,
            other => ErrorCode::Other(other.to_owned()),
        }
    }

    /// The wire spelling (`invalid_token`, ...); for [`ErrorCode::Other`] its text.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::UriMissing => "uri_missing",
            ErrorCode::InvalidUri => "invalid_uri",
            ErrorCode::InvalidId => "invalid_id",
            ErrorCode::AadhaarNotLinked => "aadhaar_not_linked",
            ErrorCode::AadhaarNotAvailable => "aadhaar_not_available",
            ErrorCode::RecordNotFound => "record_not_found",
            ErrorCode::InvalidParameter => "invalid_parameter",
            ErrorCode::InvalidClientId => "invalid_client_id",
            ErrorCode::UnexpectedError => "unexpected_error",
            ErrorCode::InvalidOrgid => "invalid_orgid",
            ErrorCode::InvalidDoctype => "invalid_doctype",
            ErrorCode::PullResponsePending => "pull_response_pending",
            ErrorCode::UriExists => "uri_exists",
            ErrorCode::RepositoryServiceUnresponsive => "repository_service_unresponsive",
            ErrorCode::RepositoryServiceConfigerror => "repository_service_configerror",
            ErrorCode::RepositoryServiceResperror => "repository_service_resperror",
            ErrorCode::RepositoryServiceException => "repository_service_exception",
            ErrorCode::RepositoryServiceInactive => "repository_service_inactive",
            ErrorCode::RepositoryServiceUnpublished => "repository_service_unpublished",
            ErrorCode::Other(text) => text,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every way a call can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// DigiLocker answered with an error body (or a bare error status, or a
    /// success status whose JSON body carries an `error` field).
    #[error("DigiLocker answered HTTP {status} `{code}`{}", describe(.description))]
    Upstream {
        /// The HTTP status (may be 2xx when the body carried an `error` field).
        status: u16,
        /// The `error` field, typed.
        code: ErrorCode,
        /// The `error_description` field, when there was one.
        description: Option<String>,
    },
    /// No answer within the configured timeout.
    #[error("DigiLocker did not answer in time")]
    Timeout,
    /// Connection or protocol failure.
    #[error("could not reach DigiLocker: {0}")]
    Transport(String),
    /// A success status with a body we could not parse (malformed, truncated,
    /// or larger than the configured limit).
    #[error("DigiLocker's answer was malformed: {0}")]
    Malformed(String),
    /// The `hmac` header of a file download did not match its body.
    #[error(
        "the file's hmac header does not match its body: the file may have been altered in transit"
    )]
    HmacMismatch,
    /// The caller passed a value that cannot be sent (e.g. a document URI that
    /// would escape its path segment); nothing was sent to DigiLocker.
    #[error("refused to call DigiLocker: {0}")]
    InvalidArgument(String),
}

fn describe(description: &Option<String>) -> String {
    match description {
        Some(d) if !d.trim().is_empty() => format!(": {}", d.trim()),
        _ => String::new(),
    }
}

impl Error {
    /// The upstream error code, if DigiLocker answered with one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Upstream { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status DigiLocker answered with, for [`Error::Upstream`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Upstream { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether DigiLocker said the token is invalid (`invalid_token`):
    /// expired or revoked for a resource call (401), or, for
    /// [`crate::Client::revoke`], unknown or already revoked (400, "The token
    /// is invalid"), which a caller revoking a token may treat as done.
    pub fn is_invalid_token(&self) -> bool {
        self.code() == Some(&ErrorCode::InvalidToken)
    }

    /// Whether a pull answered `pull_response_pending`: the issuer is
    /// verifying the details; pull again later (with backoff).
    pub fn is_pull_pending(&self) -> bool {
        self.code() == Some(&ErrorCode::PullResponsePending)
    }

    /// Whether trying the same call again later may succeed: timeouts, transport
    /// failures, rate limiting and DigiLocker's/the issuer's transient faults.
    /// Errors about the request itself (bad token, unknown URI, invalid orgid,
    /// pending pull, ...) are not retryable. Note that an authorization code is
    /// single-use: a retried exchange may fail with `invalid_grant` if the first
    /// attempt reached DigiLocker.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Timeout | Error::Transport(_) => true,
            Error::Malformed(_) | Error::HmacMismatch | Error::InvalidArgument(_) => false,
            Error::Upstream { status, code, .. } => match code {
                ErrorCode::RepositoryServiceUnresponsive
                | ErrorCode::RepositoryServiceResperror
                | ErrorCode::RepositoryServiceException
                | ErrorCode::RepositoryServiceInactive
                | ErrorCode::UnexpectedError => true,
                ErrorCode::Other(_) => matches!(status, 429 | 500 | 502 | 503 | 504),
                _ => false,
            },
        }
    }

    /// A short, stable name of the kind of failure, for metrics labels and logs:
    /// `upstream`, `timeout`, `transport`, `malformed`, `hmac_mismatch`, `invalid_argument`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Upstream { .. } => "upstream",
            Error::Timeout => "timeout",
            Error::Transport(_) => "transport",
            Error::Malformed(_) => "malformed",
            Error::HmacMismatch => "hmac_mismatch",
            Error::InvalidArgument(_) => "invalid_argument",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: [&str; 26] = [
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "access_denied",
        "invalid_token",
        "uri_missing",
        "invalid_uri",
        "invalid_id",
        "aadhaar_not_linked",
        "aadhaar_not_available",
        "record_not_found",
        "invalid_parameter",
        "invalid_client_id",
        "unexpected_error",
        "invalid_orgid",
        "invalid_doctype",
        "pull_response_pending",
        "uri_exists",
        "repository_service_unresponsive",
        "repository_service_configerror",
        "repository_service_resperror",
        "repository_service_exception",
        "repository_service_inactive",
        "repository_service_unpublished",
    ];

    #[test]
    fn every_documented_code_is_typed_and_round_trips() {
        for code in KNOWN {
            let parsed = ErrorCode::parse(code);
            assert!(
                !matches!(parsed, ErrorCode::Other(_)),
                "{code} fell through to Other"
            );
            assert_eq!(parsed.as_str(), code);
            assert_eq!(parsed.to_string(), code);
        }
    }

    #[test]
    fn unknown_codes_are_kept_verbatim() {
        assert_eq!(
            ErrorCode::parse("partner_service_unresponsive"),
            ErrorCode::Other("partner_service_unresponsive".into())
        );
        assert_eq!(ErrorCode::parse("invalid token"), ErrorCode::InvalidToken);
    }

    #[test]
    fn display_names_status_code_and_description() {
        let e = Error::Upstream {
            status: 404,
            code: ErrorCode::InvalidUri,
            description: Some("No file found for given URI".into()),
        };
        assert_eq!(
            e.to_string(),
            "DigiLocker answered HTTP 404 `invalid_uri`: No file found for given URI"
        );
        let bare = Error::Upstream {
            status: 502,
            code: ErrorCode::Other("Bad Gateway".into()),
            description: None,
        };
        assert_eq!(
            bare.to_string(),
            "DigiLocker answered HTTP 502 `Bad Gateway`"
        );
    }

    #[test]
    fn retryable_means_transient() {
        let upstream = |status, code| Error::Upstream {
            status,
            code,
            description: None,
        };
        assert!(Error::Timeout.is_retryable());
        assert!(Error::Transport("reset".into()).is_retryable());
        assert!(upstream(500, ErrorCode::RepositoryServiceUnresponsive).is_retryable());
        assert!(upstream(503, ErrorCode::RepositoryServiceInactive).is_retryable());
        assert!(upstream(502, ErrorCode::Other("Bad Gateway".into())).is_retryable());
        assert!(!upstream(401, ErrorCode::InvalidToken).is_retryable());
        assert!(!upstream(500, ErrorCode::PullResponsePending).is_retryable());
        assert!(!upstream(500, ErrorCode::InvalidOrgid).is_retryable());
        assert!(!upstream(404, ErrorCode::Other("Not Found".into())).is_retryable());
        assert!(!Error::HmacMismatch.is_retryable());
    }
}
