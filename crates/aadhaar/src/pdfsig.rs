//! Digital signatures of issued PDFs: find them, check what they cover, and verify them
//! against the same [`TrustAnchors`] as the issuer XML and the e-Aadhaar.
//!
//! DigiLocker's issuers sign many of their PDFs the way Acrobat does: a signature
//! dictionary (`/Type /Sig`, `/Filter /Adobe.PPKLite`, `/SubFilter /adbe.pkcs7.detached`)
//! whose `/ByteRange [0 b c d]` covers the whole file except the `/Contents` hex string,
//! and whose `/Contents` is a DER CMS `SignedData` over those bytes (detached), signed by
//! the issuer's document-signer certificate.
//!
//! ```no_run
//! # fn demo(pdf: &[u8]) {
//! let anchors = aadhaar::TrustAnchors::india_production().expect("built in");
//! let report = aadhaar::pdfsig::verify_pdf(pdf, &anchors, time::OffsetDateTime::now_utc());
//! if report.status == aadhaar::pdfsig::PdfSignatureStatus::Verified {
//!     println!("signed by {}", report.signer.unwrap_or_default());
//! }
//! # }
//! ```
//!
//! # What `verified` means
//!
//! [`verify_pdf`] answers [`PdfSignatureStatus::Unsigned`] when the file has no signature
//! dictionary, and [`PdfSignatureStatus::Verified`] only when every signature dictionary
//! verifies and the latest one covers the whole file:
//!
//! 1. the file is at most [`MAX_PDF_BYTES`], starts with a `%PDF-` header, and has at most
//!    [`MAX_SIGNATURES`] `/ByteRange` entries; each is the key of a readable dictionary
//!    (nesting, tokens and string lengths bounded: no unbounded scanning);
//! 2. the dictionary is a signature (`/Type /Sig` when typed; a document timestamp is not
//!    verified) with `/SubFilter /adbe.pkcs7.detached` or `/ETSI.CAdES.detached`;
//! 3. `/ByteRange` is `[0 b c d]` where bytes `b..c` are exactly the `/Contents` hex
//!    string, and `c + d` is the end of the file for the latest signature (an earlier
//!    signature of an incrementally updated file covers a prefix);
//! 4. `/Contents` decodes (at most [`MAX_CONTENTS_BYTES`]) to a DER `ContentInfo` holding
//!    a detached `SignedData` with one `SignerInfo`, zero padding after it allowed;
//! 5. its signed attributes hold the content type `id-data` and a message digest equal to
//!    the SHA-256, SHA-384 or SHA-512 (the `SignerInfo`'s digest algorithm; SHA-1 is not
//!    accepted) of the byte ranges;
//! 6. the RSA (PKCS #1 v1.5) signature over the DER of the signed attributes verifies with
//!    the certificate the `SignerInfo` names, found among the CMS `certificates`;
//! 7. that certificate chains, through the CMS certificates and the configured
//!    intermediates, to a configured root (bergshamra's chain validation, as for the XML),
//!    judged at the signed `signing-time` attribute (when the signature has none, now; a
//!    signing time more than [`MAX_FUTURE_SKEW`](crate::limits::MAX_FUTURE_SKEW) ahead of
//!    now is refused), and may sign documents (keyUsage, not a CA, RSA of 2048 bits or
//!    more).
//!
//! Anything else is [`PdfSignatureStatus::Invalid`] with a [`PdfSignatureProblem`] and a
//! reason; malformed input is a reason, never a panic. Revocation is not checked (no I/O
//! here), and nothing read from the document's pages is ever in a reason.
//!
//! Limitations: the signature dictionary must be in the file itself (as the byte range
//! requires), not in a compressed object stream; CMS encoded in BER (indefinite lengths)
//! is refused as malformed; a PAdES-LTA file whose last revision is a document timestamp
//! is reported as not covering the file.

use crate::issuer::{chain_subjects, reason_of};
use crate::limits::MAX_FUTURE_SKEW;
use crate::verify::{self, TrustAnchors};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use rsa::pkcs1::DecodeRsaPublicKey as _;
use serde::Serialize;
use time::OffsetDateTime;
use x509_cert::Certificate;

/// Largest PDF examined, in bytes (32 MiB; DigiLocker's files are a few hundred KB).
pub const MAX_PDF_BYTES: usize = 32 * 1024 * 1024;
/// Most signature dictionaries (`/ByteRange` entries) examined in one file.
pub const MAX_SIGNATURES: usize = 8;
/// Largest decoded `/Contents` (the CMS), in bytes (256 KiB; a signature with its chain is
/// 4-8 KB, with embedded revocation data tens of KB).
pub const MAX_CONTENTS_BYTES: usize = 256 * 1024;
/// Most certificates accepted in the CMS `certificates`.
const MAX_CMS_CERTIFICATES: usize = 16;
/// How far before a `/ByteRange` key its dictionary may start, and how many `<<` are
/// tried there (a `/Contents` before it is at most twice [`MAX_CONTENTS_BYTES`] of hex).
const MAX_DICT_SEARCH: usize = 2 * MAX_CONTENTS_BYTES + 64 * 1024;
const MAX_DICT_CANDIDATES: usize = 16;
/// Nesting and token bounds of one signature dictionary.
const MAX_NESTING: usize = 16;
const MAX_TOKENS: usize = 4096;
/// Longest literal string or name read in a signature dictionary.
const MAX_LITERAL: usize = 64 * 1024;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");

/// The outcome of a PDF signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PdfSignatureStatus {
    /// Every signature verified, the latest covers the whole file, and the signer chains
    /// to a configured root.
    Verified,
    /// The file carries no signature dictionary.
    Unsigned,
    /// A signature is there but does not verify, or the file cannot be examined.
    Invalid,
}

/// Which check an invalid signature failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PdfSignatureProblem {
    /// The file, the signature dictionary or the CMS cannot be read (or is over a limit).
    Malformed,
    /// A kind of signature or an algorithm that is not accepted.
    Unsupported,
    /// `/ByteRange` does not cover the whole file but the `/Contents` value: for example
    /// content appended after signing.
    ByteRange,
    /// The signed digest differs from the digest of the signed bytes: changed after signing.
    DigestMismatch,
    /// The signature value does not verify with the signer's key.
    BadSignature,
    /// The signer's certificate does not chain to a configured root, was not valid at the
    /// signing time, or may not sign documents.
    UntrustedChain,
}

/// A PDF's digital signatures, checked (what `verify_pdf` answers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PdfSignature {
    /// `verified`, `unsigned` or `invalid`.
    pub status: PdfSignatureStatus,
    /// Which check failed; only when `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<PdfSignatureProblem>,
    /// The subject (RFC 4514) of the latest signature's signer, when its certificate was
    /// found in the CMS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The chain's subjects from the signer up to the root; only when `verified`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// The latest signature's signed `signing-time` (RFC 3339), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_time: Option<String>,
    /// How many signatures the file carries.
    pub signatures: usize,
    /// Why it is not verified; absent when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl PdfSignature {
    fn unsigned() -> Self {
        PdfSignature {
            status: PdfSignatureStatus::Unsigned,
            problem: None,
            signer: None,
            chain: Vec::new(),
            signing_time: None,
            signatures: 0,
            reason: Some("the PDF carries no digital signature".into()),
        }
    }

    fn invalid(failure: Failure, signatures: usize) -> Self {
        PdfSignature {
            status: PdfSignatureStatus::Invalid,
            problem: Some(failure.problem),
            signer: failure.signer,
            chain: Vec::new(),
            signing_time: None,
            signatures,
            reason: Some(failure.reason),
        }
    }
}

/// Why one signature (or the file) did not verify.
#[derive(Debug)]
struct Failure {
    problem: PdfSignatureProblem,
    reason: String,
    signer: Option<String>,
}

fn fail(problem: PdfSignatureProblem, reason: impl Into<String>) -> Failure {
    Failure {
        problem,
        reason: reason.into(),
        signer: None,
    }
}

fn malformed(reason: impl Into<String>) -> Failure {
    fail(PdfSignatureProblem::Malformed, reason)
}

/// Checks the digital signatures of `pdf` against `anchors`, with `now` as the clock (see
/// the module docs). Never panics; an unreadable file is [`PdfSignatureStatus::Invalid`].
pub fn verify_pdf(pdf: &[u8], anchors: &TrustAnchors, now: OffsetDateTime) -> PdfSignature {
    let dicts = match signature_dictionaries(pdf) {
        Ok(dicts) => dicts,
        Err(failure) => return PdfSignature::invalid(failure, 0),
    };
    if dicts.is_empty() {
        return PdfSignature::unsigned();
    }
    let count = dicts.len();
    // Latest first: the one whose byte range ends furthest.
    let mut order: Vec<&SigDict> = dicts.iter().collect();
    order.sort_by_key(|d| std::cmp::Reverse(d.covered_end()));
    let mut latest = None;
    for (i, dict) in order.into_iter().enumerate() {
        match check_signature(pdf, dict, anchors, now, i == 0) {
            Ok(signed) if i == 0 => latest = Some(signed),
            Ok(_) => {}
            Err(mut failure) => {
                if i > 0 {
                    failure.reason = format!("an earlier signature: {}", failure.reason);
                }
                return PdfSignature::invalid(failure, count);
            }
        }
    }
    match latest {
        Some(signed) => PdfSignature {
            status: PdfSignatureStatus::Verified,
            problem: None,
            signer: Some(signed.signer),
            chain: signed.chain,
            signing_time: signed.signing_time.and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            }),
            signatures: count,
            reason: None,
        },
        None => PdfSignature::invalid(malformed("no signature was checked"), count),
    }
}

// ---------------------------------------------------------------------------------------
// Finding the signature dictionaries: a small, bounded reader of PDF object syntax.

/// A signature dictionary as found in the file.
#[derive(Debug)]
struct SigDict {
    /// `/Type`, when present.
    kind: Option<Vec<u8>>,
    sub_filter: Option<Vec<u8>>,
    byte_range: Vec<i64>,
    /// Where the `/Contents` hex string is: `<` up to and including `>`.
    contents: Option<(usize, usize)>,
}

impl SigDict {
    fn covered_end(&self) -> i64 {
        match self.byte_range.as_slice() {
            [_, _, c, d] => c.saturating_add(*d),
            _ => 0,
        }
    }
}

/// A PDF value, as far as a signature dictionary needs it.
#[derive(Debug)]
enum Value {
    Name(Vec<u8>),
    Int(i64),
    /// A hex string: the offset of its `<` and just after its `>`.
    Hex(usize, usize),
    Array(Vec<Value>),
    /// Keys (without the slash), each with the offset of its `/`, and values.
    Dict(Vec<(Vec<u8>, usize, Value)>),
    /// Anything else (reals, literal strings, booleans, null, references).
    Other,
}

fn is_white(c: u8) -> bool {
    matches!(c, 0 | 9 | 10 | 12 | 13 | 32)
}

fn is_delimiter(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(c: u8) -> bool {
    !is_white(c) && !is_delimiter(c)
}

struct Reader<'a> {
    b: &'a [u8],
    tokens: usize,
}

impl Reader<'_> {
    fn skip_white(&self, mut i: usize) -> usize {
        while let Some(&c) = self.b.get(i) {
            if is_white(c) {
                i += 1;
            } else if c == b'%' {
                while self.b.get(i).is_some_and(|c| *c != b'\n' && *c != b'\r') {
                    i += 1;
                }
            } else {
                break;
            }
        }
        i
    }

    fn token(&mut self) -> Result<(), String> {
        self.tokens += 1;
        if self.tokens > MAX_TOKENS {
            return Err(format!(
                "a signature dictionary has more than {MAX_TOKENS} tokens"
            ));
        }
        Ok(())
    }

    /// The value at `i` (no white space first), and the offset just after it.
    fn value(&mut self, i: usize, depth: usize) -> Result<(Value, usize), String> {
        self.token()?;
        if depth > MAX_NESTING {
            return Err(format!("nesting deeper than {MAX_NESTING}"));
        }
        let b = self.b;
        let at = |k: usize| b.get(k).copied();
        match at(i) {
            None => Err("the file ends inside a dictionary".into()),
            Some(b'<') if at(i + 1) == Some(b'<') => self.dict(i, depth),
            Some(b'<') => {
                let limit = (i + 2 * MAX_CONTENTS_BYTES + 2).min(b.len());
                let rest = b.get(i + 1..limit).unwrap_or_default();
                let len = rest
                    .iter()
                    .position(|c| *c == b'>')
                    .ok_or("a hex string is not closed (or is over the size limit)")?;
                if !rest[..len]
                    .iter()
                    .all(|c| c.is_ascii_hexdigit() || is_white(*c))
                {
                    return Err("a hex string holds a character that is not hex".into());
                }
                Ok((Value::Hex(i, i + len + 2), i + len + 2))
            }
            Some(b'(') => {
                let mut k = i + 1;
                let mut open = 1usize;
                while open > 0 {
                    if k - i > MAX_LITERAL {
                        return Err("a literal string is over the size limit".into());
                    }
                    match at(k) {
                        None => return Err("a literal string is not closed".into()),
                        Some(b'\\') => k += 1,
                        Some(b'(') => open += 1,
                        Some(b')') => open -= 1,
                        _ => {}
                    }
                    k += 1;
                }
                Ok((Value::Other, k))
            }
            Some(b'[') => {
                let mut items = Vec::new();
                let mut k = self.skip_white(i + 1);
                while at(k) != Some(b']') {
                    let (v, next) = self.value(k, depth + 1)?;
                    items.push(v);
                    k = self.skip_white(next);
                }
                Ok((Value::Array(items), k + 1))
            }
            Some(b'/') => {
                let (name, next) = self.name(i)?;
                Ok((Value::Name(name), next))
            }
            Some(c) if c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.') => {
                let end = self.regular_end(i)?;
                let text = &b[i..end];
                let Some(n) = std::str::from_utf8(text).ok().and_then(|t| t.parse().ok()) else {
                    // A real (or junk that reads as one): not needed.
                    return Ok((Value::Other, end));
                };
                // `n g R` is a reference.
                let j = self.skip_white(end);
                if at(j).is_some_and(|c| c.is_ascii_digit()) {
                    let gen_end = self.regular_end(j)?;
                    let k = self.skip_white(gen_end);
                    if at(k) == Some(b'R') && at(k + 1).is_none_or(|c| !is_regular(c)) {
                        return Ok((Value::Other, k + 1));
                    }
                }
                Ok((Value::Int(n), end))
            }
            Some(c) if is_regular(c) => {
                let end = self.regular_end(i)?;
                match &b[i..end] {
                    b"true" | b"false" | b"null" => Ok((Value::Other, end)),
                    other => Err(format!(
                        "unexpected keyword {:?} in a dictionary",
                        String::from_utf8_lossy(&other[..other.len().min(16)])
                    )),
                }
            }
            Some(_) => Err("unexpected delimiter in a dictionary".into()),
        }
    }

    fn regular_end(&self, i: usize) -> Result<usize, String> {
        let mut k = i;
        while self.b.get(k).is_some_and(|c| is_regular(*c)) {
            k += 1;
            if k - i > MAX_LITERAL {
                return Err("a token is over the size limit".into());
            }
        }
        Ok(k)
    }

    /// A name at `i` (its `/`), `#xx` escapes decoded.
    fn name(&self, i: usize) -> Result<(Vec<u8>, usize), String> {
        let end = self.regular_end(i + 1)?;
        let raw = &self.b[i + 1..end];
        let mut out = Vec::with_capacity(raw.len());
        let mut k = 0;
        while k < raw.len() {
            if raw[k] == b'#' {
                let hex = raw
                    .get(k + 1..k + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("a name has a bad # escape")?;
                out.push(hex);
                k += 3;
            } else {
                out.push(raw[k]);
                k += 1;
            }
        }
        Ok((out, end))
    }

    fn dict(&mut self, i: usize, depth: usize) -> Result<(Value, usize), String> {
        let mut entries: Vec<(Vec<u8>, usize, Value)> = Vec::new();
        let mut k = self.skip_white(i + 2);
        loop {
            match self.b.get(k..k + 2) {
                Some(b">>") => return Ok((Value::Dict(entries), k + 2)),
                None => return Err("the file ends inside a dictionary".into()),
                _ => {}
            }
            if self.b.get(k) != Some(&b'/') {
                return Err("a dictionary key is not a name".into());
            }
            self.token()?;
            let (key, next) = self.name(k)?;
            if entries.iter().any(|(other, _, _)| *other == key) {
                return Err(format!(
                    "a dictionary has the key /{} twice",
                    String::from_utf8_lossy(&key)
                ));
            }
            let j = self.skip_white(next);
            let (value, after) = self.value(j, depth + 1)?;
            entries.push((key, k, value));
            k = self.skip_white(after);
        }
    }
}

/// Every signature dictionary of the file, found by its `/ByteRange` key.
fn signature_dictionaries(pdf: &[u8]) -> Result<Vec<SigDict>, Failure> {
    if pdf.len() > MAX_PDF_BYTES {
        return Err(malformed(format!(
            "the PDF is {} bytes; the limit is {MAX_PDF_BYTES}",
            pdf.len()
        )));
    }
    let head = &pdf[..pdf.len().min(1024)];
    if memchr::memmem::find(head, b"%PDF-").is_none() {
        return Err(malformed("the file is not a PDF (no %PDF- header)"));
    }
    let mut found = Vec::new();
    for pos in memchr::memmem::find_iter(pdf, b"/ByteRange") {
        if pdf.get(pos + 10).is_some_and(|c| is_regular(*c)) {
            continue; // a longer name
        }
        if found.len() == MAX_SIGNATURES {
            return Err(malformed(format!(
                "the PDF has more than {MAX_SIGNATURES} signature dictionaries"
            )));
        }
        found.push(dictionary_at(pdf, pos)?);
    }
    Ok(found)
}

/// The dictionary whose `/ByteRange` key is at `pos`: the nearest `<<` before it whose
/// dictionary reads and holds that very key. Nothing further than [`MAX_DICT_SEARCH`]
/// either side of the key is read, so a hostile file costs at most
/// [`MAX_DICT_CANDIDATES`] reads of that window per signature.
fn dictionary_at(pdf: &[u8], pos: usize) -> Result<SigDict, Failure> {
    let start = pos.saturating_sub(MAX_DICT_SEARCH);
    let bounded = &pdf[..pdf.len().min(pos.saturating_add(MAX_DICT_SEARCH))];
    let mut window = &pdf[start..pos];
    let mut last_error = String::from("no dictionary starts before it");
    for _ in 0..MAX_DICT_CANDIDATES {
        let Some(idx) = memchr::memmem::rfind(window, b"<<") else {
            break;
        };
        let mut reader = Reader {
            b: bounded,
            tokens: 0,
        };
        match reader.value(start + idx, 0) {
            Ok((Value::Dict(entries), end)) if end > pos => {
                if entries
                    .iter()
                    .any(|(k, at, _)| k == b"ByteRange" && *at == pos)
                {
                    return sig_dict(entries);
                }
            }
            Ok(_) => {}
            Err(e) => last_error = e,
        }
        if idx == 0 {
            break;
        }
        window = &window[..idx + 1];
    }
    Err(malformed(format!(
        "a /ByteRange entry is not in a readable signature dictionary ({last_error})"
    )))
}

fn sig_dict(entries: Vec<(Vec<u8>, usize, Value)>) -> Result<SigDict, Failure> {
    let mut dict = SigDict {
        kind: None,
        sub_filter: None,
        byte_range: Vec::new(),
        contents: None,
    };
    for (key, _, value) in entries {
        match (key.as_slice(), value) {
            (b"Type", Value::Name(n)) => dict.kind = Some(n),
            (b"SubFilter", Value::Name(n)) => dict.sub_filter = Some(n),
            (b"ByteRange", Value::Array(items)) => {
                dict.byte_range = items
                    .into_iter()
                    .map(|v| match v {
                        Value::Int(n) if n >= 0 => Ok(n),
                        _ => Err(malformed(
                            "/ByteRange holds something other than non-negative integers",
                        )),
                    })
                    .collect::<Result<_, _>>()?;
            }
            (b"ByteRange", _) => return Err(malformed("/ByteRange is not an array")),
            (b"Contents", Value::Hex(from, to)) => dict.contents = Some((from, to)),
            (b"Contents", _) => {
                return Err(malformed(
                    "the signature's /Contents is not a direct hex string",
                ))
            }
            _ => {}
        }
    }
    Ok(dict)
}

// ---------------------------------------------------------------------------------------
// One signature.

/// A signature that verified.
struct Signed {
    signer: String,
    chain: Vec<String>,
    signing_time: Option<OffsetDateTime>,
}

/// The digest algorithms accepted.
#[derive(Clone, Copy)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn of(oid: &ObjectIdentifier) -> Result<Hash, Failure> {
        match oid.to_string().as_str() {
            "2.16.840.1.101.3.4.2.1" => Ok(Hash::Sha256),
            "2.16.840.1.101.3.4.2.2" => Ok(Hash::Sha384),
            "2.16.840.1.101.3.4.2.3" => Ok(Hash::Sha512),
            _ if *oid == SHA1 => Err(fail(
                PdfSignatureProblem::Unsupported,
                "the signature's digest is SHA-1, which is not accepted",
            )),
            other => Err(fail(
                PdfSignatureProblem::Unsupported,
                format!("the signature's digest algorithm {other} is not accepted"),
            )),
        }
    }

    /// The `sha*WithRSAEncryption` OID of this hash.
    fn with_rsa(self) -> ObjectIdentifier {
        match self {
            Hash::Sha256 => SHA256_WITH_RSA,
            Hash::Sha384 => SHA384_WITH_RSA,
            Hash::Sha512 => SHA512_WITH_RSA,
        }
    }

    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
        match self {
            Hash::Sha256 => run::<sha2::Sha256>(parts),
            Hash::Sha384 => run::<sha2::Sha384>(parts),
            Hash::Sha512 => run::<sha2::Sha512>(parts),
        }
    }

    fn pkcs1v15(self) -> rsa::Pkcs1v15Sign {
        match self {
            Hash::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            Hash::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
            Hash::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
        }
    }
}

/// What a signature covers, and where its `/Contents` string is.
struct Covered<'p> {
    ranges: [&'p [u8]; 2],
    contents: (usize, usize),
}

/// The two signed ranges, checked against the file and the `/Contents` string.
fn signed_ranges<'p>(pdf: &'p [u8], dict: &SigDict, whole: bool) -> Result<Covered<'p>, Failure> {
    let byte_range = |reason: String| fail(PdfSignatureProblem::ByteRange, reason);
    let (from, to) = dict
        .contents
        .ok_or_else(|| malformed("the signature dictionary has no /Contents"))?;
    let [a, b, c, d] = match dict.byte_range.as_slice() {
        [a, b, c, d] => [*a, *b, *c, *d].map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        _ => return Err(malformed("/ByteRange does not hold exactly four numbers")),
    };
    if a != 0 {
        return Err(byte_range(
            "the signature's byte range does not start at the beginning of the file".into(),
        ));
    }
    if b != from || c != to {
        return Err(byte_range(
            "the signature's byte range does not leave out exactly the /Contents value".into(),
        ));
    }
    let end = c.saturating_add(d);
    if end > pdf.len() {
        return Err(byte_range(format!(
            "the signature's byte range ends at byte {end}, after the end of the file ({} bytes)",
            pdf.len()
        )));
    }
    if whole && end != pdf.len() {
        return Err(byte_range(format!(
            "the signature's byte range does not cover the file: it ends at byte {end} of {} \
             (content was added after signing)",
            pdf.len()
        )));
    }
    Ok(Covered {
        ranges: [&pdf[..b], &pdf[c..end]],
        contents: (from, to),
    })
}

/// `/Contents`' bytes: the hex decoded, the zero padding after the DER element cut off.
fn contents_der(pdf: &[u8], (from, to): (usize, usize)) -> Result<Vec<u8>, Failure> {
    let hex: Vec<u8> = pdf[from + 1..to - 1]
        .iter()
        .copied()
        .filter(|c| !is_white(*c))
        .collect();
    if hex.len() > 2 * MAX_CONTENTS_BYTES {
        return Err(malformed(format!(
            "the signature's /Contents is over {MAX_CONTENTS_BYTES} bytes"
        )));
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c.wrapping_sub(b'A').wrapping_add(10) & 0x0f,
    };
    // An odd count: the last digit is followed by an implied 0.
    let bytes: Vec<u8> = hex
        .chunks(2)
        .map(|p| (nibble(p[0]) << 4) | p.get(1).map_or(0, |c| nibble(*c)))
        .collect();
    let (_, _, len) = tlv(&bytes).ok_or_else(|| {
        malformed("the signature's /Contents is not a DER element (empty, cut short or BER)")
    })?;
    if bytes[len..].iter().any(|b| *b != 0) {
        return Err(malformed(
            "the signature's /Contents has data after the CMS other than zero padding",
        ));
    }
    Ok(bytes[..len].to_vec())
}

/// (tag, header length, total length) of the DER element at the start of `b`: one-byte
/// tags and definite lengths only, and the element within `b`.
fn tlv(b: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *b.first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *b.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = b.get(2..2 + n)?;
        (
            bytes
                .iter()
                .fold(0usize, |acc, x| (acc << 8) | usize::from(*x)),
            2 + n,
        )
    };
    let total = header.checked_add(len)?;
    (total <= b.len()).then_some((tag, header, total))
}

/// The elements inside the constructed DER element `b`.
fn tlv_children(b: &[u8]) -> Option<Vec<&[u8]>> {
    let (_, header, total) = tlv(b)?;
    let mut rest = &b[header..total];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (_, _, len) = tlv(rest)?;
        out.push(&rest[..len]);
        rest = &rest[len..];
    }
    Some(out)
}

/// The signed attributes exactly as signed: the `[0] IMPLICIT` element of the one
/// `SignerInfo`, retagged as the `SET OF` it stands for (RFC 5652, 5.4). Taken from the
/// bytes rather than re-encoded, so a signer that did not sort them still verifies.
fn raw_signed_attributes(cms: &[u8]) -> Option<Vec<u8>> {
    let content_info = tlv_children(cms)?;
    let explicit = tlv_children(content_info.get(1)?)?;
    let signed_data = tlv_children(explicit.first()?)?;
    let signer_infos = tlv_children(signed_data.last()?)?;
    let [signer_info] = signer_infos.as_slice() else {
        return None;
    };
    let attrs = tlv_children(signer_info)?
        .into_iter()
        .find(|e| e.first() == Some(&0xA0))?;
    let mut out = attrs.to_vec();
    out[0] = 0x31;
    Some(out)
}

/// The one value of the signed attribute `oid`; `None` when absent.
fn attribute<'s>(
    signer: &'s SignerInfo,
    oid: &ObjectIdentifier,
    name: &str,
) -> Result<Option<&'s der::Any>, Failure> {
    let Some(attrs) = &signer.signed_attrs else {
        return Ok(None);
    };
    let mut found = attrs.iter().filter(|a| a.oid == *oid);
    let Some(attr) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(malformed(format!("the {name} attribute occurs twice")));
    }
    match attr.values.as_slice() {
        [value] => Ok(Some(value)),
        _ => Err(malformed(format!(
            "the {name} attribute does not have exactly one value"
        ))),
    }
}

/// `any` decoded as `T` (also a CHOICE, which `Any::decode_as` cannot do).
fn any_as<T: der::DecodeOwned>(any: &der::Any) -> Option<T> {
    any.to_der().ok().and_then(|der| T::from_der(&der).ok())
}

/// The certificate the `SignerInfo` names.
fn signer_certificate<'c>(
    signer: &SignerInfo,
    certificates: &'c [Certificate],
) -> Option<&'c Certificate> {
    certificates.iter().find(|c| match &signer.sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            c.tbs_certificate.issuer == id.issuer
                && c.tbs_certificate.serial_number == id.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => c
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .filter(|e| e.extn_id == SUBJECT_KEY_IDENTIFIER)
            .any(|e| {
                x509_cert::ext::pkix::SubjectKeyIdentifier::from_der(e.extn_value.as_bytes())
                    .is_ok_and(|own| own == *ski)
            }),
    })
}

fn check_signature(
    pdf: &[u8],
    dict: &SigDict,
    anchors: &TrustAnchors,
    now: OffsetDateTime,
    whole: bool,
) -> Result<Signed, Failure> {
    let unsupported = |reason: String| fail(PdfSignatureProblem::Unsupported, reason);
    let name = |n: &Option<Vec<u8>>| {
        n.as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    match dict.kind.as_deref() {
        None | Some(b"Sig") => {}
        Some(b"DocTimeStamp") => {
            return Err(unsupported(
                "a document timestamp (/DocTimeStamp) is not verified".into(),
            ))
        }
        Some(_) => {
            return Err(malformed(format!(
                "a /ByteRange is in a dictionary of /Type /{}, not /Sig",
                name(&dict.kind).unwrap_or_default()
            )))
        }
    }
    match dict.sub_filter.as_deref() {
        Some(b"adbe.pkcs7.detached" | b"ETSI.CAdES.detached") => {}
        Some(_) => {
            return Err(unsupported(format!(
                "the signature's /SubFilter /{} is not accepted (adbe.pkcs7.detached or \
                 ETSI.CAdES.detached are)",
                name(&dict.sub_filter).unwrap_or_default()
            )))
        }
        None => return Err(malformed("the signature dictionary has no /SubFilter")),
    }
    let Covered { ranges, contents } = signed_ranges(pdf, dict, whole)?;
    let cms = contents_der(pdf, contents)?;

    let content_info = ContentInfo::from_der(&cms)
        .map_err(|e| malformed(format!("the signature's CMS cannot be read: {e}")))?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(malformed("the signature's CMS is not SignedData"));
    }
    let signed_data: SignedData = content_info
        .content
        .decode_as()
        .map_err(|e| malformed(format!("the signature's SignedData cannot be read: {e}")))?;
    if signed_data.encap_content_info.econtent.is_some() {
        return Err(malformed(
            "the signature's SignedData is not detached (it holds its content)",
        ));
    }
    let signer = match signed_data.signer_infos.0.as_slice() {
        [one] => one,
        other => {
            return Err(malformed(format!(
                "the signature's SignedData has {} SignerInfos; one is expected",
                other.len()
            )))
        }
    };
    let certificates: Vec<Certificate> = signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(cert) => Some(cert.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    if certificates.len() > MAX_CMS_CERTIFICATES {
        return Err(malformed(format!(
            "the signature carries more than {MAX_CMS_CERTIFICATES} certificates"
        )));
    }
    let leaf = signer_certificate(signer, &certificates).ok_or_else(|| {
        fail(
            PdfSignatureProblem::UntrustedChain,
            "the signer's certificate is not among the signature's certificates",
        )
    })?;
    let subject = leaf.tbs_certificate.subject.to_string();
    let with_signer = |mut f: Failure| {
        f.signer = Some(subject.clone());
        f
    };

    // The digest of the signed bytes, as the signed attributes state it.
    let hash = Hash::of(&signer.digest_alg.oid).map_err(with_signer)?;
    let content_type = attribute(signer, &ID_CONTENT_TYPE, "content-type")
        .map_err(with_signer)?
        .ok_or_else(|| {
            with_signer(malformed(
                "the signature has no signed attributes with a content type",
            ))
        })?;
    if any_as::<ObjectIdentifier>(content_type) != Some(ID_DATA) {
        return Err(with_signer(malformed(
            "the signed content type is not id-data",
        )));
    }
    let message_digest = attribute(signer, &ID_MESSAGE_DIGEST, "message-digest")
        .map_err(with_signer)?
        .ok_or_else(|| with_signer(malformed("the signature has no message-digest attribute")))?;
    let message_digest = any_as::<OctetString>(message_digest).ok_or_else(|| {
        with_signer(malformed(
            "the message-digest attribute is not an OCTET STRING",
        ))
    })?;
    if hash.digest(&ranges) != message_digest.as_bytes() {
        return Err(with_signer(fail(
            PdfSignatureProblem::DigestMismatch,
            "the digest of the signed bytes does not match the signed digest: the PDF was \
             changed after signing",
        )));
    }
    let signing_time = attribute(signer, &ID_SIGNING_TIME, "signing-time")
        .map_err(with_signer)?
        .map(|v| {
            any_as::<x509_cert::time::Time>(v)
                .map(|t| verify::to_offset(&t))
                .ok_or_else(|| with_signer(malformed("the signing-time attribute is not a time")))
        })
        .transpose()?;

    // The signature over the signed attributes.
    let algorithm = &signer.signature_algorithm.oid;
    if *algorithm != RSA_ENCRYPTION && *algorithm != hash.with_rsa() {
        return Err(with_signer(fail(
            PdfSignatureProblem::Unsupported,
            format!(
                "the signature algorithm {algorithm} is not accepted (RSA PKCS #1 v1.5 with \
                 the digest algorithm is)"
            ),
        )));
    }
    let attrs = raw_signed_attributes(&cms)
        .ok_or_else(|| with_signer(malformed("the signed attributes cannot be located")))?;
    let spki = &leaf.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(with_signer(fail(
            PdfSignatureProblem::Unsupported,
            "the signer's key is not an RSA key",
        )));
    }
    let key = rsa::RsaPublicKey::from_pkcs1_der(spki.subject_public_key.raw_bytes())
        .map_err(|_| with_signer(malformed("the signer's RSA key cannot be read")))?;
    key.verify(
        hash.pkcs1v15(),
        &hash.digest(&[&attrs]),
        signer.signature.as_bytes(),
    )
    .map_err(|_| {
        with_signer(fail(
            PdfSignatureProblem::BadSignature,
            "the signature value does not verify with the signer's key",
        ))
    })?;

    // The chain, at the signing time.
    if signing_time.is_some_and(|t| t > now + MAX_FUTURE_SKEW) {
        return Err(with_signer(fail(
            PdfSignatureProblem::UntrustedChain,
            "the signing time is in the future",
        )));
    }
    let at = signing_time.unwrap_or(now);
    let untrusted =
        |e: crate::Error| with_signer(fail(PdfSignatureProblem::UntrustedChain, reason_of(&e)));
    let leaf_der = leaf
        .to_der()
        .map_err(|_| with_signer(malformed("the signer's certificate cannot be encoded")))?;
    let others: Vec<Vec<u8>> = certificates
        .iter()
        .filter(|c| *c != leaf)
        .filter_map(|c| c.to_der().ok())
        .collect();
    verify::validate_chain(&leaf_der, &others, anchors, at).map_err(untrusted)?;
    verify::check_leaf(leaf).map_err(untrusted)?;
    Ok(Signed {
        chain: chain_subjects(leaf, &certificates, anchors),
        signer: subject,
        signing_time,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn find(pdf: &[u8]) -> Result<Vec<SigDict>, String> {
        signature_dictionaries(pdf).map_err(|f| f.reason)
    }

    #[test]
    fn the_reader_finds_the_dictionary_around_its_byte_range() {
        let pdf = b"%PDF-1.7\n5 0 obj\n<< /Type /Sig /Prop_Build << /App << /Name /X >> >> \
            /Reason (a (nested) \\) string) /ByteRange [0 10 20 30] /Contents <00ff> \
            /M (D:2026) /Ref 3 0 R /Sub#46ilter /adbe.pkcs7.detached >>\nendobj\n";
        let dicts = find(pdf).unwrap();
        assert_eq!(dicts.len(), 1);
        let d = &dicts[0];
        assert_eq!(d.kind.as_deref(), Some(&b"Sig"[..]));
        assert_eq!(d.byte_range, [0, 10, 20, 30]);
        assert_eq!(d.sub_filter.as_deref(), Some(&b"adbe.pkcs7.detached"[..]));
        let (from, to) = d.contents.unwrap();
        assert_eq!(&pdf[from..to], b"<00ff>");
    }

    #[test]
    fn a_file_without_byte_range_is_unsigned_and_junk_is_malformed() {
        assert!(find(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj")
            .unwrap()
            .is_empty());
        assert!(find(b"%PDF-1.4 /ByteRangeX [0 1 2 3]").unwrap().is_empty());
        assert!(find(b"GIF89a").unwrap_err().contains("not a PDF"));
        for junk in [
            &b"%PDF-1.4 /ByteRange [0 1 2 3]"[..],
            b"%PDF-1.4 << /ByteRange [0 1 2 3] /Contents <0g> >>",
            b"%PDF-1.4 << /ByteRange [0 1 2 3] /Contents <00",
            b"%PDF-1.4 << /ByteRange [0 1 2 3] /ByteRange [0 1 2 3] >>",
            b"%PDF-1.4 << /ByteRange [0 1 2 3] /Contents (x) >>",
            b"%PDF-1.4 << /ByteRange [0 -1 2 3] >>",
        ] {
            assert!(find(junk).is_err(), "{}", String::from_utf8_lossy(junk));
        }
        // Deep nesting stops at the limit, not the stack.
        let mut deep = b"%PDF-1.4 << /A ".to_vec();
        deep.extend(std::iter::repeat_n(b'[', 100_000));
        deep.extend(b" /ByteRange [0 1 2 3] >>");
        assert!(find(&deep).is_err());
    }

    #[test]
    fn der_elements_are_bounded() {
        assert_eq!(tlv(&[0x30, 0x00]), Some((0x30, 2, 2)));
        assert_eq!(tlv(&[0x30, 0x81, 0x01, 0x05]), Some((0x30, 3, 4)));
        assert_eq!(tlv(&[0x30, 0x80, 0x00, 0x00]), None);
        assert_eq!(tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(tlv(&[0x30, 0x05, 0x00]), None);
        assert_eq!(tlv(&[0x1f, 0x01, 0x00]), None);
        assert!(raw_signed_attributes(&[0x30, 0x00]).is_none());
    }
}
