//! Signature verification: the policy on top of bergshamra, the trust anchors, and the
//! time rule.

use crate::error::Error;
use crate::limits::{EARLIEST_SIGNING_TIME_UNIX, MAX_CERTIFICATES, MAX_FUTURE_SKEW};
use crate::model::EAadhaar;
use crate::parse::{self, Layout, DSIG_NS};
use base64::Engine as _;
use bergshamra::core::algorithm;
use der::Decode;
use time::{Duration, OffsetDateTime};
use uppsala::{Document, NodeId, NodeKind};
use x509_cert::Certificate;

/// The certificates a signing chain must end at: DigiLocker's production root (CCA India,
/// built in as [`TrustAnchors::india_production`]) in production, the sandbox's root in
/// sandbox mode.
///
/// Optionally also intermediate CA certificates, for when DigiLocker's `KeyInfo` carries
/// only the leaf: they help build the chain but are not trusted on their own.
#[derive(Clone)]
pub struct TrustAnchors {
    roots: Vec<Vec<u8>>,
    intermediates: Vec<Vec<u8>>,
    /// Parsed copies of the above, for the validity-window computation.
    parsed: Vec<Certificate>,
}

impl std::fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustAnchors")
            .field("roots", &self.root_subjects())
            .field("intermediates", &self.intermediates.len())
            .finish()
    }
}

impl TrustAnchors {
    /// Loads trust anchors from a PEM bundle (one or more `CERTIFICATE` blocks; other
    /// blocks and text between blocks are ignored). Fails when the bundle has no
    /// certificate or a certificate cannot be read.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let roots = pem_certificates(pem)?;
        let parsed = roots
            .iter()
            .map(|der| Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::TrustAnchors {
                reason: format!("a trust anchor is not a readable X.509 certificate: {e}"),
            })?;
        Ok(Self {
            roots,
            intermediates: Vec::new(),
            parsed,
        })
    }

    /// Adds intermediate CA certificates (PEM) used to build chains whose `KeyInfo` lacks
    /// them. They are not trust anchors: a chain must still end at a root from
    /// [`TrustAnchors::from_pem`].
    pub fn with_intermediates_pem(mut self, pem: &str) -> Result<Self, Error> {
        for der in pem_certificates(pem)? {
            let cert = Certificate::from_der(&der).map_err(|e| Error::TrustAnchors {
                reason: format!("an intermediate is not a readable X.509 certificate: {e}"),
            })?;
            self.parsed.push(cert);
            self.intermediates.push(der);
        }
        Ok(self)
    }

    /// Every configured certificate, roots first, then intermediates.
    pub(crate) fn certificates(&self) -> &[Certificate] {
        &self.parsed
    }

    /// The subjects of the root certificates (RFC 4514 form), for logs and health checks.
    pub fn root_subjects(&self) -> Vec<String> {
        self.parsed
            .iter()
            .take(self.roots.len())
            .map(|c| c.tbs_certificate.subject.to_string())
            .collect()
    }
}

fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, Error> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let end = after.find(END).ok_or_else(|| Error::TrustAnchors {
            reason: "a PEM CERTIFICATE block has no END line".into(),
        })?;
        let b64: String = after[..end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| Error::TrustAnchors {
                reason: format!("a PEM CERTIFICATE block is not valid base64: {e}"),
            })?;
        out.push(der);
        rest = &after[end + END.len()..];
    }
    if out.is_empty() {
        return Err(Error::TrustAnchors {
            reason: "the PEM bundle contains no CERTIFICATE block".into(),
        });
    }
    Ok(out)
}

/// The clock and bounds of the time rule, and the freshness policy.
/// [`VerifyOptions::default`] uses the system clock, the bounds in
/// [`limits`](crate::limits) and no age limit; callers with their own clock set `now`,
/// and a service that wants recent e-Aadhaar only sets `max_age`.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// The current time.
    pub now: OffsetDateTime,
    /// How far in the future `KycRes ts` may be.
    pub max_future_skew: Duration,
    /// The freshness policy: the largest accepted age of the document (now minus
    /// `KycRes ts`), or `None` for any age. Checked only after the signature and the chain
    /// verified, so a document refused for it is genuine, and is refused with
    /// [`Error::TooOld`], never a signature error. Default `None`; see the crate docs'
    /// time rule for why a service should set one.
    pub max_age: Option<Duration>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            now: OffsetDateTime::now_utc(),
            max_future_skew: MAX_FUTURE_SKEW,
            max_age: None,
        }
    }
}

/// A verified e-Aadhaar: the data, and who signed it when.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The identity data, read from the same parsed document the signature covers.
    pub aadhaar: EAadhaar,
    /// About the signature.
    pub signing: SigningInfo,
}

/// Facts about a verified signature, for audit logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningInfo {
    /// Subject of the signing (leaf) certificate, RFC 4514 form.
    pub signer_subject: String,
    /// Issuer of the signing certificate, RFC 4514 form.
    pub signer_issuer: String,
    /// Serial number of the signing certificate, upper-case hex.
    pub signer_serial: String,
    /// Start of the signing certificate's validity.
    pub signer_valid_from: OffsetDateTime,
    /// End of the signing certificate's validity.
    pub signer_valid_until: OffsetDateTime,
    /// The signing time: `KycRes ts`.
    pub signing_time: OffsetDateTime,
    /// The instant at which the certificate chain was validated (the signing time, or now;
    /// see the crate docs' time rule).
    pub chain_validated_at: OffsetDateTime,
    /// The `SignatureMethod`.
    pub signature_algorithm: SignatureAlgorithm,
    /// The reference's `DigestMethod`.
    pub digest_algorithm: DigestAlgorithm,
}

/// Accepted `SignatureMethod`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// `xmldsig#rsa-sha1`: what DigiLocker uses. Accepted only here, because DigiLocker's
    /// format needs it; SHA-1 is refused for digests and certificates.
    RsaSha1,
    /// `xmldsig-more#rsa-sha256`.
    RsaSha256,
}

/// Accepted reference `DigestMethod`s (no SHA-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    /// `xmlenc#sha256`: what DigiLocker uses.
    Sha256,
    /// `xmldsig-more#sha384`.
    Sha384,
    /// `xmlenc#sha512`.
    Sha512,
}

/// What [`check_signature_shape`] learnt from the `<Signature>`.
pub(crate) struct SignatureShape {
    pub signature_algorithm: SignatureAlgorithm,
    pub digest_algorithm: DigestAlgorithm,
    pub key_info_certs: Vec<Certificate>,
}

/// The element children of a `<Signature>` part. These parts hold only elements (the
/// values live in DigestValue, SignatureValue and X509Certificate, which are read
/// separately), so non-blank text here is refused.
fn child_elements(doc: &Document<'_>, id: NodeId) -> Result<Vec<NodeId>, Error> {
    let mut out = Vec::new();
    for c in doc.children_iter(id) {
        match doc.node_kind(c) {
            Some(NodeKind::Element(_)) => out.push(c),
            Some(NodeKind::Text(t)) | Some(NodeKind::CData(t)) if !t.trim().is_empty() => {
                return Err(Error::structure("unexpected text inside the <Signature>"));
            }
            _ => {}
        }
    }
    Ok(out)
}

fn dsig_name<'d>(doc: &'d Document<'_>, id: NodeId) -> Result<&'d str, Error> {
    let el = doc
        .element(id)
        .ok_or_else(|| Error::structure("expected an element in <Signature>"))?;
    if el.name.namespace_uri.as_deref() != Some(DSIG_NS) {
        return Err(Error::structure(format!(
            "<{}> inside <Signature> is not in the XML-DSig namespace",
            el.name.local_name
        )));
    }
    Ok(&el.name.local_name)
}

fn algorithm_of<'d>(doc: &'d Document<'_>, id: NodeId) -> &'d str {
    doc.element(id)
        .and_then(|e| {
            e.attributes
                .iter()
                .find(|a| a.name.namespace_uri.is_none() && &*a.name.local_name == "Algorithm")
        })
        .map(|a| &*a.value)
        .unwrap_or("")
}

/// Accepted canonicalization algorithms, for `SignedInfo` and as the reference's optional
/// second transform. DigiLocker canonicalizes `SignedInfo` with exclusive C14N and gives
/// the reference no C14N transform (so inclusive C14N 1.0 applies); either is equally safe
/// here because the reference covers the whole document either way.
const C14N_ALGORITHMS: [&str; 2] = [algorithm::EXC_C14N, algorithm::C14N];

/// The signature policy, checked before any cryptography. bergshamra verifies whatever a
/// `<Signature>` asks for (XPath transforms, several references, external URIs, keys
/// fetched by `RetrievalMethod`); an e-Aadhaar needs exactly one shape, so everything else
/// is refused here. In particular `Reference URI=""` (the whole document) is the only
/// reference allowed, so the signed node-set is the whole document minus the signature,
/// and no file or network URI can ever be dereferenced.
pub(crate) fn check_signature_shape(
    doc: &Document<'_>,
    sig: NodeId,
) -> Result<SignatureShape, Error> {
    let parts = child_elements(doc, sig)?;
    let names: Vec<&str> = parts
        .iter()
        .map(|id| dsig_name(doc, *id))
        .collect::<Result<_, _>>()?;
    // SignatureValue (the middle part) is read by bergshamra.
    let [signed_info, _signature_value, key_info] = parts.as_slice() else {
        return Err(Error::structure(format!(
            "<Signature> must hold exactly SignedInfo, SignatureValue, KeyInfo; it holds {}",
            names.join(", ")
        )));
    };
    if names != ["SignedInfo", "SignatureValue", "KeyInfo"] {
        return Err(Error::structure(format!(
            "<Signature> must hold exactly SignedInfo, SignatureValue, KeyInfo; it holds {}",
            names.join(", ")
        )));
    }

    // SignedInfo: CanonicalizationMethod, SignatureMethod, exactly one Reference.
    let si = child_elements(doc, *signed_info)?;
    let si_names: Vec<&str> = si
        .iter()
        .map(|id| dsig_name(doc, *id))
        .collect::<Result<_, _>>()?;
    if si_names != ["CanonicalizationMethod", "SignatureMethod", "Reference"] {
        return Err(Error::structure(format!(
            "<SignedInfo> must hold CanonicalizationMethod, SignatureMethod and one Reference; it holds {}",
            si_names.join(", ")
        )));
    }
    let c14n = algorithm_of(doc, si[0]);
    if !C14N_ALGORITHMS.contains(&c14n) {
        return Err(Error::UnsupportedAlgorithm {
            algorithm: format!("CanonicalizationMethod {c14n}"),
        });
    }
    let signature_algorithm = match algorithm_of(doc, si[1]) {
        algorithm::RSA_SHA1 => SignatureAlgorithm::RsaSha1,
        algorithm::RSA_SHA256 => SignatureAlgorithm::RsaSha256,
        other => {
            return Err(Error::UnsupportedAlgorithm {
                algorithm: format!("SignatureMethod {other}"),
            })
        }
    };
    if !child_elements(doc, si[1])?.is_empty() {
        return Err(Error::structure("<SignatureMethod> must be empty"));
    }

    let reference = si[2];
    let uri = doc.element(reference).and_then(|e| {
        e.attributes
            .iter()
            .find(|a| a.name.namespace_uri.is_none() && &*a.name.local_name == "URI")
    });
    match uri {
        Some(a) if a.value.is_empty() => {}
        Some(_) => {
            return Err(Error::structure(
                "the Reference URI must be \"\" (the whole document); other references are refused",
            ))
        }
        None => return Err(Error::structure("the Reference has no URI attribute")),
    }
    let r = child_elements(doc, reference)?;
    let r_names: Vec<&str> = r
        .iter()
        .map(|id| dsig_name(doc, *id))
        .collect::<Result<_, _>>()?;
    if r_names != ["Transforms", "DigestMethod", "DigestValue"] {
        return Err(Error::structure(format!(
            "<Reference> must hold Transforms, DigestMethod, DigestValue; it holds {}",
            r_names.join(", ")
        )));
    }
    let transforms: Vec<&str> = child_elements(doc, r[0])?
        .iter()
        .map(|id| {
            dsig_name(doc, *id).and_then(|n| {
                if n == "Transform" {
                    Ok(algorithm_of(doc, *id))
                } else {
                    Err(Error::structure(format!(
                        "unexpected <{n}> in <Transforms>"
                    )))
                }
            })
        })
        .collect::<Result<_, _>>()?;
    let transforms_ok = match transforms.as_slice() {
        [enveloped] => *enveloped == algorithm::ENVELOPED_SIGNATURE,
        [enveloped, c14n] => {
            *enveloped == algorithm::ENVELOPED_SIGNATURE && C14N_ALGORITHMS.contains(c14n)
        }
        _ => false,
    };
    if !transforms_ok {
        return Err(Error::UnsupportedAlgorithm {
            algorithm: format!(
                "Transforms [{}] (only enveloped-signature, optionally followed by C14N, is accepted)",
                transforms.join(", ")
            ),
        });
    }
    let digest_algorithm = match algorithm_of(doc, r[1]) {
        algorithm::SHA256 => DigestAlgorithm::Sha256,
        algorithm::SHA384 => DigestAlgorithm::Sha384,
        algorithm::SHA512 => DigestAlgorithm::Sha512,
        other => {
            return Err(Error::UnsupportedAlgorithm {
                algorithm: format!("DigestMethod {other}"),
            })
        }
    };

    // KeyInfo: X509Data with the certificates (KeyName tolerated). No KeyValue,
    // RetrievalMethod or EncryptedKey: a raw key could not be chained to an anchor, and a
    // RetrievalMethod would make the verifier read files. DigiLocker pairs each
    // certificate with its X509SubjectName and includes the root; the names are not used,
    // and a root here is only one more certificate to build the path with, never a trust
    // anchor (bergshamra trusts only the configured roots).
    let mut key_info_certs = Vec::new();
    for part in child_elements(doc, *key_info)? {
        match dsig_name(doc, part)? {
            "KeyName" => {}
            "X509Data" => {
                for item in child_elements(doc, part)? {
                    match dsig_name(doc, item)? {
                        "X509Certificate" => {
                            let b64: String = doc
                                .text_content_deep(item)
                                .chars()
                                .filter(|c| !c.is_ascii_whitespace())
                                .collect();
                            let der = base64::engine::general_purpose::STANDARD
                                .decode(b64)
                                .map_err(|_| {
                                    Error::malformed("an X509Certificate is not valid base64")
                                })?;
                            let cert =
                                Certificate::from_der(&der).map_err(|e| Error::UntrustedChain {
                                    reason: format!(
                                        "an X509Certificate in KeyInfo cannot be read: {e}"
                                    ),
                                })?;
                            key_info_certs.push(cert);
                        }
                        "X509SubjectName" | "X509IssuerSerial" => {}
                        other => {
                            return Err(Error::structure(format!(
                                "unexpected <{other}> in <X509Data>"
                            )))
                        }
                    }
                }
            }
            other => {
                return Err(Error::structure(format!(
                    "unexpected <{other}> in <KeyInfo>; only X509Data is accepted"
                )))
            }
        }
    }
    if key_info_certs.is_empty() {
        return Err(Error::UntrustedChain {
            reason: "KeyInfo carries no X509Certificate".into(),
        });
    }
    if key_info_certs.len() > MAX_CERTIFICATES {
        return Err(Error::hostile(format!(
            "KeyInfo carries {} certificates; the limit is {MAX_CERTIFICATES}",
            key_info_certs.len()
        )));
    }
    // SHA-1 stays where DigiLocker's format needs it (the SignatureMethod) and nowhere
    // else: bergshamra's legacy-algorithms feature would also accept SHA-1 and MD5 in
    // certificate signatures, so they are refused here.
    for cert in &key_info_certs {
        let oid = cert.signature_algorithm.oid.to_string();
        if WEAK_CERT_SIGNATURES.contains(&oid.as_str()) {
            return Err(Error::UntrustedChain {
                reason: format!(
                    "certificate \"{}\" is signed with a SHA-1/MD5 algorithm ({oid})",
                    cert.tbs_certificate.subject
                ),
            });
        }
    }

    Ok(SignatureShape {
        signature_algorithm,
        digest_algorithm,
        key_info_certs,
    })
}

/// Certificate signature algorithms refused in chains: md2/md5/sha1 with RSA, DSA with
/// SHA-1, ECDSA with SHA-1.
const WEAK_CERT_SIGNATURES: [&str; 5] = [
    "1.2.840.113549.1.1.2",
    "1.2.840.113549.1.1.4",
    "1.2.840.113549.1.1.5",
    "1.2.840.10040.4.3",
    "1.2.840.10045.4.1",
];

pub(crate) fn to_offset(t: &x509_cert::time::Time) -> OffsetDateTime {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The interval in which every certificate of the likely chain is valid: the `KeyInfo`
/// certificates plus the configured intermediates and roots that issued them. `None` when
/// the intervals do not overlap.
fn chain_window(
    key_info: &[Certificate],
    anchors: &TrustAnchors,
) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let mut chain: Vec<&Certificate> = key_info.iter().collect();
    // Pull in configured certificates that issued something already in the chain; a
    // bounded loop because the chain is at most a few certificates long.
    for _ in 0..MAX_CERTIFICATES {
        let mut added = false;
        for cand in &anchors.parsed {
            let issues_one = chain
                .iter()
                .any(|c| c.tbs_certificate.issuer == cand.tbs_certificate.subject);
            if issues_one && !chain.contains(&cand) {
                chain.push(cand);
                added = true;
            }
        }
        if !added {
            break;
        }
    }
    let from = chain
        .iter()
        .map(|c| to_offset(&c.tbs_certificate.validity.not_before))
        .max()?;
    let until = chain
        .iter()
        .map(|c| to_offset(&c.tbs_certificate.validity.not_after))
        .min()?;
    (from <= until).then_some((from, until))
}

/// Applies the time rule (see the crate docs) and returns the instant at which the chain
/// is to be validated. Freshness is not judged here ([`check_age`] runs after the
/// signature has verified).
fn chain_validation_time(
    signing_time: OffsetDateTime,
    window: Option<(OffsetDateTime, OffsetDateTime)>,
    options: &VerifyOptions,
) -> Result<OffsetDateTime, Error> {
    let now = options.now;
    if signing_time > now + options.max_future_skew {
        return Err(Error::SigningTime {
            reason: format!(
                "KycRes@ts is {} in the future (more than the allowed clock skew of {})",
                signing_time - now,
                options.max_future_skew
            ),
        });
    }
    if signing_time.unix_timestamp() < EARLIEST_SIGNING_TIME_UNIX {
        return Err(Error::SigningTime {
            reason: "KycRes@ts is before 2010, older than Aadhaar itself".into(),
        });
    }
    let Some((from, until)) = window else {
        // No interval in which the whole chain is valid: validate at the signing time so
        // the chain check reports which certificate is out of date.
        return Ok(signing_time);
    };
    let inside = |t: OffsetDateTime| from <= t && t <= until;
    if inside(signing_time) {
        // Whether the chain has expired since is not a reason to refuse: the signature
        // was made while it was valid. How old a document may be is the caller's policy
        // (`VerifyOptions::max_age`), checked once the signature has verified.
        Ok(signing_time)
    } else if inside(now) {
        // DigiLocker may re-sign an older UIDAI response with its current certificate.
        Ok(now)
    } else {
        Ok(signing_time)
    }
}

/// The freshness policy: a verified document older than `options.max_age` (now minus its
/// signing time) is [`Error::TooOld`].
fn check_age(signing_time: OffsetDateTime, options: &VerifyOptions) -> Result<(), Error> {
    match options.max_age {
        Some(max_age) if options.now - signing_time > max_age => Err(Error::TooOld {
            signed_at: signing_time,
            max_age,
        }),
        _ => Ok(()),
    }
}

fn bergshamra_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}+{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn map_bergshamra_error(e: bergshamra::Error) -> Error {
    use bergshamra::Error as B;
    match e {
        B::Certificate(reason) | B::Key(reason) | B::KeyNotFound(reason) => {
            Error::UntrustedChain { reason }
        }
        B::UnsupportedAlgorithm(algorithm) => Error::UnsupportedAlgorithm { algorithm },
        B::XmlStructure(reason) => Error::structure(reason),
        other => Error::SignatureInvalid {
            reason: other.to_string(),
        },
    }
}

/// Checks the end-entity certificate that actually verified the signature: it must be
/// meant for signing (keyUsage digitalSignature or nonRepudiation when the extension is
/// present), must not be a CA, and must have an RSA key of at least 2048 bits.
pub(crate) fn check_leaf(leaf: &Certificate) -> Result<(), Error> {
    let subject = leaf.tbs_certificate.subject.to_string();
    let refuse = |why: &str| Error::UntrustedChain {
        reason: format!("signing certificate \"{subject}\" {why}"),
    };
    for ext in leaf.tbs_certificate.extensions.iter().flatten() {
        let oid = ext.extn_id.to_string();
        if oid == "2.5.29.15" {
            let ku = x509_cert::ext::pkix::KeyUsage::from_der(ext.extn_value.as_bytes())
                .map_err(|_| refuse("has an unreadable keyUsage extension"))?;
            if !(ku.digital_signature() || ku.non_repudiation()) {
                return Err(refuse("is not allowed to sign (keyUsage)"));
            }
        } else if oid == "2.5.29.19" {
            let bc = x509_cert::ext::pkix::BasicConstraints::from_der(ext.extn_value.as_bytes())
                .map_err(|_| refuse("has an unreadable basicConstraints extension"))?;
            if bc.ca {
                return Err(refuse("is a CA certificate, not a document signer"));
            }
        }
    }
    let bits = rsa_modulus_bits(
        leaf.tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes(),
    )
    .ok_or_else(|| refuse("does not hold a readable RSA public key"))?;
    if bits < 2048 {
        return Err(refuse(&format!(
            "has a {bits}-bit RSA key (2048 is the minimum)"
        )));
    }
    Ok(())
}

/// The bit length of the modulus in a DER `RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER }`.
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    fn header(b: &[u8], tag: u8) -> Option<(usize, &[u8])> {
        let (&t, rest) = b.split_first()?;
        if t != tag {
            return None;
        }
        let (&l, rest) = rest.split_first()?;
        if l < 0x80 {
            return Some((usize::from(l), rest));
        }
        let n = usize::from(l & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        Some((len, &rest[n..]))
    }
    let (_, seq) = header(der, 0x30)?;
    let (len, int) = header(seq, 0x02)?;
    let modulus = int.get(..len)?;
    let first = modulus.iter().position(|b| *b != 0)?;
    let top = modulus[first];
    Some((modulus.len() - first - 1) * 8 + (8 - top.leading_zeros() as usize))
}

/// The chain from `leaf_der` through `others` (and the configured intermediates) to a
/// configured root, every certificate valid at `at`: bergshamra's chain validation, as the
/// XML signatures get it, for signatures made outside XML (the issuers' PDFs).
pub(crate) fn validate_chain(
    leaf_der: &[u8],
    others: &[Vec<u8>],
    anchors: &TrustAnchors,
    at: OffsetDateTime,
) -> Result<(), Error> {
    let time = bergshamra_time(at);
    let config = bergshamra::keys::x509::CertValidationConfig {
        trusted_certs: &anchors.roots,
        untrusted_certs: &anchors.intermediates,
        crls: &[],
        verification_time: Some(&time),
        skip_time_checks: false,
    };
    bergshamra::keys::x509::validate_cert_chain(leaf_der, others, &config)
        .map_err(map_bergshamra_error)
}

/// bergshamra's part, shared by every document this crate verifies: the digest, the
/// signature value and the chain from the `KeyInfo` leaf to `anchors` (and only to them)
/// at `at`; then that what verified is the located `sig` with the one whole-document
/// reference, and that the leaf may sign ([`check_leaf`]). Returns the leaf. The caller
/// has checked the signature's shape ([`check_signature_shape`]) first.
pub(crate) fn verify_enveloped(
    doc: &Document<'_>,
    sig: NodeId,
    root: NodeId,
    anchors: &TrustAnchors,
    at: OffsetDateTime,
) -> Result<Certificate, Error> {
    let mut keys = bergshamra::KeysManager::new();
    for der in &anchors.roots {
        keys.add_trusted_cert(der.clone());
    }
    for der in &anchors.intermediates {
        keys.add_untrusted_cert(der.clone());
    }
    // `DsigContext::new` is the hardened profile (strict reference positions, HMAC floor,
    // required digests). Its `trusted_keys_only` mode verifies only with keys configured
    // in advance, which cannot work for DigiLocker: the leaf rotates, and the point is to
    // validate whichever leaf `KeyInfo` carries up to a configured root. So inline X.509
    // keys are allowed, and bergshamra then requires their chain to reach the trusted
    // certificates (raw inline keys are refused when trust anchors are configured, and
    // `check_signature_shape` refused them already).
    let ctx = bergshamra::DsigContext::new(keys)
        .with_trusted_keys_only(false)
        .with_verification_time(bergshamra_time(at));
    let result =
        bergshamra::dsig::verify::verify_document(&ctx, doc).map_err(map_bergshamra_error)?;
    let (signature_node, references, key_info) = match result {
        bergshamra::VerifyResult::Valid {
            signature_node,
            references,
            key_info,
        } => (signature_node, references, key_info),
        bergshamra::VerifyResult::Invalid { reason } => {
            return Err(Error::SignatureInvalid { reason })
        }
    };
    // Belt and braces: what was verified is the signature and reference we inspected.
    if signature_node != sig {
        return Err(Error::structure(
            "the verified <Signature> is not the located one",
        ));
    }
    match references.as_slice() {
        [r] if r.uri.is_empty()
            && r.digest_verified
            && r.resolved_node.is_none_or(|n| n == doc.root() || n == root) => {}
        _ => {
            return Err(Error::SignatureInvalid {
                reason: "the verified reference is not the whole document".into(),
            })
        }
    }
    let leaf_der = key_info
        .x509_chain
        .first()
        .ok_or_else(|| Error::UntrustedChain {
            reason: "the signature was not verified with a certificate".into(),
        })?;
    let leaf = Certificate::from_der(leaf_der).map_err(|e| Error::UntrustedChain {
        reason: format!("the signing certificate cannot be read: {e}"),
    })?;
    check_leaf(&leaf)?;
    Ok(leaf)
}

/// Verifies an e-Aadhaar's signature and certificate chain, then reads its data, with the
/// system clock. See [`verify_and_parse_with`].
pub fn verify_and_parse(xml: &[u8], anchors: &TrustAnchors) -> Result<Verified, Error> {
    verify_and_parse_with(xml, anchors, &VerifyOptions::default())
}

/// Verifies an e-Aadhaar's signature and certificate chain, then reads its data.
///
/// In order: limits and hostile-input checks; the document layout (exactly one of each
/// e-Aadhaar element where DigiLocker puts it, exactly one `Signature` as the last part of
/// the root); the signature policy (one `Reference URI=""`, enveloped-signature alone or
/// followed by C14N, SHA-256/384/512 digest, RSA-SHA1 or RSA-SHA256, certificates in
/// `KeyInfo` in any order); the time rule (crate docs); then bergshamra checks the digest,
/// the signature value and the chain to `anchors` (and only to them, whatever roots
/// `KeyInfo` carries) at the chosen instant; then the leaf certificate's purpose and
/// key size; last, once all of that holds, the freshness policy
/// ([`VerifyOptions::max_age`], [`Error::TooOld`]).
/// Data is read from the same parsed document, from the nodes found in the layout step.
pub fn verify_and_parse_with(
    xml: &[u8],
    anchors: &TrustAnchors,
    options: &VerifyOptions,
) -> Result<Verified, Error> {
    let text = parse::decode(xml)?;
    let doc = parse::parse_dom(text)?;
    let layout: Layout = parse::locate(&doc)?;
    let sig = layout.signature.ok_or(Error::SignatureMissing)?;
    let shape = check_signature_shape(&doc, sig)?;

    let signing_time = parse::generated_at(&doc, &layout)?.ok_or_else(|| Error::SigningTime {
        reason: "KycRes has no ts attribute, so the signing time is unknown".into(),
    })?;
    let window = chain_window(&shape.key_info_certs, anchors);
    let chain_time = chain_validation_time(signing_time, window, options)?;

    let leaf = verify_enveloped(&doc, sig, layout.root, anchors, chain_time)?;
    // Only a document whose signature and chain verified gets here: being too old is a
    // policy refusal of a genuine document, never a signature failure.
    check_age(signing_time, options)?;

    let aadhaar = parse::extract(&doc, &layout)?;
    let serial: String = leaf
        .tbs_certificate
        .serial_number
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let signing = SigningInfo {
        signer_subject: leaf.tbs_certificate.subject.to_string(),
        signer_issuer: leaf.tbs_certificate.issuer.to_string(),
        signer_serial: serial,
        signer_valid_from: to_offset(&leaf.tbs_certificate.validity.not_before),
        signer_valid_until: to_offset(&leaf.tbs_certificate.validity.not_after),
        signing_time,
        chain_validated_at: chain_time,
        signature_algorithm: shape.signature_algorithm,
        digest_algorithm: shape.digest_algorithm,
    };
    Ok(Verified { aadhaar, signing })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    const DAY: i64 = 86_400;
    const BASE: i64 = 1_764_000_000; // 2025-11-24

    fn opts(now: i64) -> VerifyOptions {
        VerifyOptions {
            now: t(now),
            ..VerifyOptions::default()
        }
    }

    #[test]
    fn time_rule() {
        let window = Some((t(BASE), t(BASE + 800 * DAY)));
        // Signed inside the window, checked while valid: validated at the signing time.
        assert_eq!(
            chain_validation_time(t(BASE + DAY), window, &opts(BASE + 2 * DAY)),
            Ok(t(BASE + DAY))
        );
        // Chain expired since: still the signing time, however long ago (freshness is
        // the caller's policy, not part of the chain check).
        assert_eq!(
            chain_validation_time(t(BASE + 799 * DAY), window, &opts(BASE + 900 * DAY)),
            Ok(t(BASE + 799 * DAY))
        );
        assert_eq!(
            chain_validation_time(t(BASE + DAY), window, &opts(BASE + 5000 * DAY)),
            Ok(t(BASE + DAY))
        );
        // ts before the leaf existed but the chain is valid now: a re-signed response.
        assert_eq!(
            chain_validation_time(t(BASE - 100 * DAY), window, &opts(BASE + DAY)),
            Ok(t(BASE + DAY))
        );
        // In the future beyond the skew: refused; within the skew: fine.
        assert!(matches!(
            chain_validation_time(t(BASE + DAY + 3600), window, &opts(BASE + DAY)),
            Err(Error::SigningTime { .. })
        ));
        assert!(chain_validation_time(t(BASE + DAY + 300), window, &opts(BASE + DAY)).is_ok());
        // Before Aadhaar existed: refused.
        assert!(matches!(
            chain_validation_time(t(1_000_000_000), window, &opts(BASE)),
            Err(Error::SigningTime { .. })
        ));
    }

    #[test]
    fn the_age_policy() {
        let signed = t(BASE);
        let limit = |days| VerifyOptions {
            max_age: Some(Duration::days(days)),
            ..opts(BASE + 100 * DAY)
        };
        assert_eq!(check_age(signed, &opts(BASE + 5000 * DAY)), Ok(()));
        assert_eq!(check_age(signed, &limit(100)), Ok(()));
        assert_eq!(
            check_age(signed, &limit(99)),
            Err(Error::TooOld {
                signed_at: signed,
                max_age: Duration::days(99)
            })
        );
    }

    #[test]
    fn modulus_bits() {
        // SEQUENCE { INTEGER 0x00 0x80..(256 bytes) , INTEGER 65537 }
        let mut n = vec![0x00, 0x80];
        n.extend(std::iter::repeat_n(0x11, 255));
        let mut der = vec![0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01];
        der.extend(&n);
        der.extend([0x02, 0x03, 0x01, 0x00, 0x01]);
        assert_eq!(rsa_modulus_bits(&der), Some(2048));
        assert_eq!(rsa_modulus_bits(&[0x30, 0x03, 0x02, 0x01, 0x05]), Some(3));
        assert_eq!(rsa_modulus_bits(&[0x31]), None);
    }
}
