//! The one error type of this crate.

/// Why an e-Aadhaar XML was refused.
///
/// Every variant but [`Error::TooOld`] is a reason not to trust the document; the gateway
/// answers those with `unwrap_aadhaar_failed`. [`Error::TooOld`] is different: the
/// document verified, and only the caller's freshness policy refuses it. The variants are
/// distinct so that logs and metrics can say which check failed. This crate never puts
/// personal values read from the document (names, numbers, dates of birth) into a reason:
/// reasons name elements, attributes, limits, algorithms and certificate subjects, and
/// [`Error::TooOld`] the signing time. Messages passed through from the XML parser and
/// from bergshamra describe positions and names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a well-formed UTF-8 XML e-Aadhaar, or a field has a value that
    /// cannot be read (for example a date of birth that is not a date).
    #[error("the e-Aadhaar XML is malformed: {reason}")]
    Malformed {
        /// What was wrong, in words meant for a developer reading the log.
        reason: String,
    },

    /// The document tries something a genuine e-Aadhaar never does and that is used to
    /// attack XML parsers: a DTD or entity declaration, nesting deeper than
    /// [`limits::MAX_DEPTH`](crate::limits::MAX_DEPTH), or a document, attribute or photo
    /// larger than the limits in [`limits`](crate::limits).
    #[error("the e-Aadhaar XML was refused as hostile: {reason}")]
    Hostile {
        /// Which limit or construct triggered the refusal.
        reason: String,
    },

    /// The document's shape is not the one DigiLocker signs: a missing, duplicated,
    /// misplaced or unexpected element. This is where signature-wrapping attempts end up.
    #[error("the e-Aadhaar XML does not have the expected structure: {reason}")]
    UnexpectedStructure {
        /// Which element or attribute was wrong.
        reason: String,
    },

    /// The document carries no `<Signature>` at all.
    #[error("the e-Aadhaar XML is not signed (no <Signature> element)")]
    SignatureMissing,

    /// The signature uses an algorithm this crate does not accept (for example a SHA-1
    /// reference digest, an XPath transform, or a non-RSA signature method).
    #[error("the e-Aadhaar signature uses an algorithm that is not accepted: {algorithm}")]
    UnsupportedAlgorithm {
        /// The algorithm URI (or name) that was refused.
        algorithm: String,
    },

    /// The reference digest or the signature value does not verify: the signed data was
    /// changed after signing, or the signature was made with another key.
    #[error("the e-Aadhaar signature does not verify: {reason}")]
    SignatureInvalid {
        /// What did not match.
        reason: String,
    },

    /// The signing certificate does not chain to a configured trust anchor, or a
    /// certificate in the chain is unacceptable (wrong key usage, weak signature, ...).
    #[error("the e-Aadhaar signing certificate is not trusted: {reason}")]
    UntrustedChain {
        /// Why the chain was refused.
        reason: String,
    },

    /// The signing time (`KycRes ts`) is missing, in the future, or too far in the past,
    /// or the chain was not valid at the time used to judge it (see the crate docs for the
    /// time rule).
    #[error("the e-Aadhaar signing time is not acceptable: {reason}")]
    SigningTime {
        /// What was wrong with the time.
        reason: String,
    },

    /// The document verified (signature, chain, signing time), but it was signed longer
    /// ago than the caller's freshness policy allows
    /// ([`VerifyOptions::max_age`](crate::VerifyOptions::max_age)). It is genuine; the
    /// user has to perform Aadhaar eKYC again for a newer one.
    #[error(
        "the e-Aadhaar is too old: it was signed on {}, more than {} days ago (the most this \
         service accepts); the user must perform Aadhaar eKYC again",
        .signed_at.date(),
        .max_age.whole_days()
    )]
    TooOld {
        /// The signing time, `KycRes ts`.
        signed_at: time::OffsetDateTime,
        /// The policy's largest accepted age.
        max_age: time::Duration,
    },

    /// The trust-anchor configuration itself is unusable (no certificate in the PEM bundle,
    /// an unreadable certificate, ...). This is an operator error, not a document error.
    #[error("the Aadhaar trust anchors are not usable: {reason}")]
    TrustAnchors {
        /// What was wrong with the configuration.
        reason: String,
    },
}

impl Error {
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Self::Malformed {
            reason: reason.into(),
        }
    }

    pub(crate) fn hostile(reason: impl Into<String>) -> Self {
        Self::Hostile {
            reason: reason.into(),
        }
    }

    pub(crate) fn structure(reason: impl Into<String>) -> Self {
        Self::UnexpectedStructure {
            reason: reason.into(),
        }
    }
}
