//! DigiLocker's signed e-Aadhaar XML: verify it, read it, and map it to the gateway's
//! OKYC-shaped JSON. This crate knows nothing of HTTP or storage.
//!
//! ```no_run
//! # fn demo(xml: &[u8]) -> Result<(), aadhaar::Error> {
//! // Production: India PKI's CCA India 2022 root, built in (see [`trust`]).
//! let anchors = aadhaar::TrustAnchors::india_production()?;
//! let verified = aadhaar::verify_and_parse(xml, &anchors)?;
//! let json = verified.aadhaar.to_contract(true, "https://gw.example/xml/abc", "2026-11-25T19:06:28+05:30");
//! # let _ = json; Ok(()) }
//! ```
//!
//! A sandbox or test PKI is configured the same way from its root's PEM with
//! [`TrustAnchors::from_pem`].
//!
//! The same machinery reads and verifies the issuers' XML certificates of other documents
//! (PAN, driving licence, vehicle registration, mark sheets: [`issuer`]), and
//! [`compare`] compares the holders of two documents (name, date of birth, gender), and
//! [`pdfsig`] verifies the digital signatures of issued PDFs against the same anchors.
//!
//! # The document
//!
//! What DigiLocker really sends (and the sandbox imitates by default) is pretty-printed:
//! a newline after the XML declaration, indented elements, and whitespace text also
//! inside `SignedInfo`, all of it signed. `SignedInfo` is canonicalized with exclusive
//! C14N and signed with RSA-SHA1; the one `Reference URI=""` has only the
//! enveloped-signature transform (so its SHA-256 digest is over inclusive C14N 1.0, the
//! XML-DSig default); `KeyInfo/X509Data` holds four (`X509SubjectName`,
//! `X509Certificate`) pairs in the order leaf, root, CA, sub-CA: not chain order, and the
//! root included. Both that shape and a compact one (no whitespace, enveloped-signature
//! followed by exclusive C14N, only the chain below the root in `KeyInfo`) verify.
//!
//! # What is trusted
//!
//! A business uses this answer for KYC, so the data is trusted only as far as the XML
//! signature is checked. [`verify_and_parse`]:
//!
//! 1. refuses hostile input before parsing it fully: more than
//!    [`limits::MAX_DOCUMENT_BYTES`], not UTF-8, any DTD construct (`<!DOCTYPE`,
//!    `<!ENTITY`: no entity is ever expanded), nesting deeper than [`limits::MAX_DEPTH`],
//!    more than [`limits::MAX_ELEMENTS`] elements, an attribute over
//!    [`limits::MAX_ATTRIBUTE_BYTES`], a photo over [`limits::MAX_PHOTO_BYTES`];
//! 2. insists on DigiLocker's layout, which is what defeats signature wrapping: the root is
//!    `Certificate`; exactly one `CertificateData`, `KycRes`, `UidData` and `Poi`, at most
//!    one `Poa`, `LData`, `Pht`, each the direct child of the one before, anywhere in the
//!    document (so a second copy hidden in the signature is refused); exactly one
//!    `ds:Signature`, a direct child of the root;
//! 3. insists on one signature shape: `SignedInfo` with exactly one
//!    `Reference URI=""` (the whole document), transforms enveloped-signature alone or
//!    followed by exclusive (or inclusive) C14N, digest SHA-256/384/512 (never SHA-1),
//!    signature RSA-SHA1 (what DigiLocker uses; SHA-1 is accepted nowhere else, not in
//!    certificates either) or RSA-SHA256, `KeyInfo` holding only `X509Data` with
//!    certificates (and their subject names, which are ignored), in any order; no
//!    `Object`. Whitespace between these elements is allowed (DigiLocker's is signed), any
//!    other text is refused;
//! 4. has [bergshamra](https://crates.io/crates/bergshamra) (pure Rust, tested against
//!    xmlsec's interop suite) canonicalize, check the digest and the signature value, and
//!    validate the chain from the `KeyInfo` leaf to the configured [`TrustAnchors`] at the
//!    instant chosen by the time rule below. The leaf is the one certificate that issued
//!    none of the others, wherever it stands; the others only help build the path. A root
//!    that `KeyInfo` carries (DigiLocker sends CCA India's) is never trusted for being
//!    there: the path must end at a configured root;
//! 5. checks that the leaf may sign (keyUsage digitalSignature or nonRepudiation, not a
//!    CA, RSA ≥ 2048 bits);
//! 6. reads the data from the same parsed document, from the nodes located in step 2,
//!    which the whole-document reference covers.
//!
//! # The time rule
//!
//! DigiLocker's signing certificates rotate and expire (one leaf was valid from 2023-08-22
//! to 2026-02-11), and the XML carries no signed signing time other than `KycRes ts`,
//! UIDAI's response time, which DigiLocker's signature covers. The rule:
//!
//! - `ts` is required. A `ts` more than [`limits::MAX_FUTURE_SKEW`] after now is refused
//!   (nothing is signed in the future), and so is one before 2010 (older than Aadhaar).
//! - The chain is validated **at `ts`** when `ts` lies inside the validity of every
//!   certificate in the chain, whether or not the chain has expired since. This is how
//!   `xmlsec1 --verification-gmt-time` judges DigiLocker's real files, and it accepts a
//!   document signed before DigiLocker rotated its leaf, however long ago.
//! - Otherwise, if the chain is valid **now**, it is validated now. This accepts
//!   DigiLocker re-signing an older UIDAI response with its current certificate (a `ts`
//!   before the leaf's notBefore).
//! - Otherwise the chain is validated at `ts` and fails, naming the expired certificate.
//!
//! For example, with DigiLocker's leaf valid 2023-08-22 to 2026-02-11 and a document
//! whose `ts` is 2026-01-20: verified on 2026-11-27, after the leaf expired, its chain is
//! validated at 2026-01-20 and it verifies, today and in ten years. A document from that
//! leaf with a `ts` after 2026-02-11 is refused (the key had retired), as is one with a
//! `ts` before 2023-08-22 once the leaf has expired.
//!
//! The chosen instant is reported as [`SigningInfo::chain_validated_at`]. Tests and
//! callers with their own clock use [`verify_and_parse_with`] and [`VerifyOptions`].
//!
//! # How old a document may be: a policy, not a signature check
//!
//! Whether an e-Aadhaar is recent enough for a purpose is the caller's decision, stated
//! as [`VerifyOptions::max_age`] (default: no limit). It is checked last, only once the
//! signature, the chain and the signing time have all been accepted, and a document
//! older than it (now minus `ts`) is refused with its own error, [`Error::TooOld`],
//! whose message says the document is too old, never that its signature failed. The
//! user's remedy is a fresh Aadhaar eKYC in DigiLocker.
//!
//! Set one: besides keeping KYC data current, it bounds what a retired signing key could
//! do if it leaked, since such a key can sign anything with a `ts` inside its old
//! validity. The gateway's default is three years (`aadhaar_max_age_days = 1095`).
//!
//! Revocation is not checked: the crate does no I/O, and DigiLocker's CRL/OCSP endpoints
//! would have to be fetched by the caller. Removing a compromised root or intermediate
//! from the configured [`TrustAnchors`] is the lever this crate offers.
//!
//! # Production trust anchors
//!
//! [`TrustAnchors::india_production`] trusts CCA India 2022 (SHA-256 fingerprint
//! [`trust::CCA_INDIA_2022_SHA256`]) and knows the two SafeScrypt 2022 intermediates
//! between it and DigiLocker's signer. The PEM files are in the crate's `trust/` folder,
//! with a README on checking the fingerprint.
//!
//! # Aadhaar numbers
//!
//! The full number never leaves the crate: `UidData@uid` is reduced to a
//! [`mask::MaskedAadhaar`] (last four digits) while parsing, whatever form it arrives in.
//! Error messages name fields and limits, never values. [`verhoeff`] validates numbers and
//! computes check digits.
//!
//! Every [`Error`] but [`Error::TooOld`] means "do not trust this document"; the gateway
//! answers those with `unwrap_aadhaar_failed`, and a document too old for its policy with
//! `aadhaar_not_available` (the user must perform Aadhaar eKYC again).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod compare;
pub mod contract;
mod error;
pub mod issuer;
pub mod limits;
pub mod mask;
mod model;
mod parse;
pub mod pdfsig;
pub mod trust;
pub mod verhoeff;
mod verify;

pub use contract::{
    ContractAadhaar, ContractAddress, ContractLocalData, ContractVerified, ContractXml,
};
pub use error::Error;
pub use model::{Address, DateOfBirth, EAadhaar, Gender, LocalData};
pub use parse::parse_unverified;
pub use verify::{
    verify_and_parse, verify_and_parse_with, DigestAlgorithm, SignatureAlgorithm, SigningInfo,
    TrustAnchors, Verified, VerifyOptions,
};
