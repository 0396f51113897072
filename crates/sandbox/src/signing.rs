//! The sandbox CA and the e-Aadhaar XML, signed as DigiLocker signs it.
//!
//! DigiLocker signs e-Aadhaar with a National e-Governance Division
//! document-signer certificate four levels deep in India's PKI: CCA India
//! (root) → SafeScrypt CA → SafeScrypt sub-CA for Document Signer → the
//! signer. The sandbox cannot, so it makes its own PKI of the same depth and
//! roles on first start ([`ROOT_CN`] → [`CA_CN`] → [`SUB_CA_CN`] → the
//! signers), every name marked as sandbox, with the real certificates' kinds
//! of extension: an RSA-4096 root like CCA India 2022, RSA-2048 below it, and
//! subject names holding commas inside their values (SafeScrypt CA 2022's
//! `street=No.4, Rajiv Gandhi Salai`), which `X509SubjectName` carries
//! unescaped, as DigiLocker writes it. A gateway in sandbox mode trusts this
//! root ([`SigningAuthority::root_pem`]) instead of CCA India's, and validates
//! the chain exactly as it would in production.
//!
//! # Signers: rotated, and one expired
//!
//! DigiLocker's signing certificate is renewed every couple of years (one
//! was valid 2023-08-22 to 2026-02-11), and an e-Aadhaar keeps the signature
//! it was given at its eKYC. The sandbox has three signers, chosen per
//! citizen by [`Citizen::eaadhaar_signer`]:
//!
//! - **current** ([`SIGNER_CN`]): its own key (`signer-2.key`, made on the
//!   first start that needs it), certified at every start, valid from
//!   [`ROTATED_DAYS_AGO`] days before the start: the leaf after the latest
//!   rotation. Signs e-Aadhaars whose eKYC came after it.
//! - **previous** ([`PREVIOUS_SIGNER_CN`], `signer.pem` and `signer.key`, as
//!   made with the CA): still valid, but rotated out; signs the e-Aadhaars of
//!   [`EAadhaarSigner::Previous`] citizens, whose eKYC was more than
//!   [`ROTATED_DAYS_AGO`] days ago.
//! - **expired** ([`EXPIRED_SIGNER_CN`]): the previous signer's key certified
//!   again at every start, valid from [`EXPIRED_SIGNER_FROM_DAYS`] to
//!   [`EXPIRED_SIGNER_UNTIL_DAYS`] days before the start (a renewal without
//!   re-keying); signs the e-Aadhaar of [`EAadhaarSigner::Expired`] citizens,
//!   with the eKYC [`EXPIRED_SIGNER_EKYC_AGE_DAYS`] days before the download,
//!   inside that validity. Never written to the data directory.
//!
//! Two document shapes ([`EAadhaarShape`]):
//!
//! - **Real** (the default): byte for byte the layout of genuine DigiLocker
//!   files, which are signed with PHP's xmlseclibs: six lines (the XML
//!   declaration, then everything else with **no whitespace** in the signed
//!   data, then a newline at the end), and inside `<Signature>` exactly the
//!   four whitespace text nodes xmlseclibs' template leaves: `\n  ` before
//!   `SignedInfo`, `\n    ` before `SignatureMethod`, `\n  ` before
//!   `Reference` (these two are inside the signed `SignedInfo`) and `\n`
//!   before `KeyInfo` ([`REAL_SIGNATURE_WHITESPACE`]). `SignedInfo`
//!   canonicalized with exclusive C14N and signed with RSA-SHA1;
//!   `Reference URI=""` with only the enveloped-signature transform (so the
//!   digest is over inclusive C14N 1.0) and SHA-256; `KeyInfo/X509Data` with
//!   four (`X509SubjectName`, `X509Certificate`) pairs in DigiLocker's order:
//!   leaf, root, CA, sub-CA. `KycRes ts` is the citizen's eKYC, days to
//!   months before the download.
//! - **Legacy**: what older sandboxes sent. One line, transforms
//!   enveloped-signature + exclusive C14N, `KeyInfo` with the chain below the
//!   root in chain order (leaf, sub-CA, CA), `ts` the download time (the
//!   eKYC time for a citizen whose signer is not the current one).
//!
//! Canonicalization and signing are bergshamra's.

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context as _};
use base64::Engine as _;
use bergshamra::core::algorithm;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, CustomExtension, DistinguishedName,
    DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, RsaKeySize,
    SerialNumber, PKCS_RSA_SHA256,
};
use sha2::{Digest as _, Sha256, Sha512};
use time::{Duration, OffsetDateTime, UtcOffset};
use x509_cert::der::asn1::Ia5String;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AccessDescription, AuthorityInfoAccessSyntax, CertificatePolicies};

use crate::seed::{Address, Citizen, EAadhaarSigner};

/// Names of the files kept in the CA directory. Keys are owner-only (0600).
const ROOT_CERT: &str = "root.pem";
const ROOT_KEY: &str = "root.key";
const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key";
const SUB_CA_CERT: &str = "sub-ca.pem";
const SUB_CA_KEY: &str = "sub-ca.key";
const SIGNER_CERT: &str = "signer.pem";
const SIGNER_KEY: &str = "signer.key";
/// The current signer's key, made on the first start that finds it missing
/// (so a directory made by an older sandbox keeps its root); its certificate
/// is made at every start.
const CURRENT_SIGNER_KEY: &str = "signer-2.key";
const ALL_FILES: [&str; 8] = [
    ROOT_CERT,
    ROOT_KEY,
    CA_CERT,
    CA_KEY,
    SUB_CA_CERT,
    SUB_CA_KEY,
    SIGNER_CERT,
    SIGNER_KEY,
];
/// The files of the three-level CA (root → intermediate → signer) that older
/// sandboxes made. Such a directory is moved aside into
/// `retired-3-level-ca-<time>/` and a four-level CA is created in its place.
const OLD_FILES: [&str; 6] = [
    ROOT_CERT,
    ROOT_KEY,
    "intermediate.pem",
    "intermediate.key",
    SIGNER_CERT,
    SIGNER_KEY,
];
const OLD_MARKERS: [&str; 2] = ["intermediate.pem", "intermediate.key"];
const RETIRED_PREFIX: &str = "retired-3-level-ca-";

/// Present while one process creates the CA; others wait for it to go.
const LOCK_FILE: &str = ".creating";
/// How long to wait for another process to finish creating the CA (RSA key
/// generation takes seconds in debug builds).
const CREATE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Common name of the sandbox root, in the role of `CCA India 2022`.
pub const ROOT_CN: &str = "Sandbox CCA India Root";
/// Common name of the CA under the root, in the role of `SafeScrypt CA 2022`.
pub const CA_CN: &str = "Sandbox SafeScrypt CA";
/// Common name of the sub-CA that issues the signer, in the role of
/// `SafeScrypt sub-CA for Document Signer 2022`.
pub const SUB_CA_CN: &str = "Sandbox SafeScrypt sub-CA for Document Signer";
/// Common name of the current signing leaf (after the latest rotation), in
/// the role of `DS NATIONAL E-GOVERNANCE DIVISION 1`.
pub const SIGNER_CN: &str = "DS SANDBOX NATIONAL E-GOVERNANCE DIVISION 2";
/// Common name of the signing leaf before the latest rotation (`signer.pem`):
/// still valid, no longer signing new e-Aadhaars.
pub const PREVIOUS_SIGNER_CN: &str = "DS SANDBOX NATIONAL E-GOVERNANCE DIVISION";
/// The current signer's validity starts this many days before the sandbox
/// starts: e-Aadhaars whose eKYC is older were signed by the previous signer
/// ([`EAadhaarSigner::Previous`]), newer ones by the current one.
pub const ROTATED_DAYS_AGO: i64 = 90;
/// Common name of the signing leaf that has expired since, in the role of the
/// real `DS NATIONAL E-GOVERNANCE DIVISION 1` seen valid 2023-08-22 to
/// 2026-02-11 (see the module docs).
pub const EXPIRED_SIGNER_CN: &str = "DS SANDBOX NATIONAL E-GOVERNANCE DIVISION (EXPIRED)";
/// The expired signer's validity starts this many days before the sandbox
/// starts (or at the sub-CA's notBefore, if later).
pub const EXPIRED_SIGNER_FROM_DAYS: i64 = 900;
/// The expired signer's validity ended this many days before the sandbox started.
pub const EXPIRED_SIGNER_UNTIL_DAYS: i64 = 365;
/// How long before the download the eKYC of an e-Aadhaar signed by the
/// expired signer happened (`KycRes ts`, give or take a day): inside that
/// signer's validity, under the gateway's default age limit of 1,095 days.
pub const EXPIRED_SIGNER_EKYC_AGE_DAYS: i64 = 700;
const ROOT_ORGANISATION: &str = "India PKI Sandbox - NOT A REAL CERTIFICATION AUTHORITY";
const CA_ORGANISATION: &str = "SafeScrypt Sandbox - NOT A REAL CERTIFICATION AUTHORITY";
const SIGNER_ORGANISATION: &str = "NATIONAL E-GOVERNANCE DIVISION SANDBOX - NOT A REAL CERTIFICATE";
/// The CA's postal address, in the attributes SafeScrypt CA 2022's subject
/// has (`postalCode`, `ST`, `street`, `houseIdentifier`), commas included.
const CA_ADDRESS: PostalAddress<'static> = PostalAddress {
    postal_code: "600113",
    state: "Tamil Nadu",
    street: "No.4, Sandbox Salai",
    house: Some("II Floor, Sandbox Park"),
};
/// The signers' postal address (no house identifier).
const SIGNER_ADDRESS: PostalAddress<'static> = PostalAddress {
    postal_code: "110003",
    state: "Delhi",
    street: "Sandbox Niketan, 6 CGO Complex, Lodhi Road",
    house: None,
};
/// The issuers' signers' postal address.
const ISSUER_ADDRESS: PostalAddress<'static> = PostalAddress {
    postal_code: "110001",
    state: "Delhi",
    street: "Sandbox Bhawan, Sansad Marg",
    house: None,
};
/// Bits of the root's RSA key, as CCA India 2022's; the CAs and signers
/// below it have 2048, as SafeScrypt's and DigiLocker's do.
const ROOT_KEY_BITS: RsaKeySize = RsaKeySize::_4096;
/// The certificate subject attributes rcgen has no name for.
const OID_STREET: &[u64] = &[2, 5, 4, 9];
const OID_POSTAL_CODE: &[u64] = &[2, 5, 4, 17];
const OID_HOUSE_IDENTIFIER: &[u64] = &[2, 5, 4, 51];

/// India PKI's certificate-policy arc, which the real CA certificates carry
/// (`2.16.356.100.2`); the leaf gets two policies under the same arc, as a
/// document signer's certificate does. They give the sandbox certificates the
/// real ones' shape and mean nothing else.
const POLICY_INDIA_PKI: &[u64] = &[2, 16, 356, 100, 2];
const POLICY_LEAF_CLASS: &[u64] = &[2, 16, 356, 100, 2, 2];
const POLICY_LEAF_DOCUMENT_SIGNER: &[u64] = &[2, 16, 356, 100, 10, 1];
/// Microsoft's "document signing" extended key usage, on DigiLocker's leaf.
const EKU_DOCUMENT_SIGNING: &[u64] = &[1, 3, 6, 1, 4, 1, 311, 10, 3, 12];
const OID_AUTHORITY_INFO_ACCESS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
const OID_CERTIFICATE_POLICIES: &[u64] = &[2, 5, 29, 32];
const ID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
const ID_AD_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");
/// Where the sandbox PKI's CRLs, OCSP responder and issuer certificates
/// would be. `.invalid` can never resolve, so no client ever fetches them.
const PKI_URL: &str = "http://pki.digilocker-sandbox.invalid";

/// Which layout the sandbox gives the e-Aadhaar XML. Both are signed by the
/// same CA and verify against the same root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum EAadhaarShape {
    /// What DigiLocker really sends (the module docs list every detail).
    #[default]
    Real,
    /// The sandbox's earlier, simpler layout: one line, enveloped + exclusive
    /// C14N transforms, the chain below the root in `KeyInfo`.
    Legacy,
}

impl EAadhaarShape {
    /// The name used on the command line: `real` or `legacy`.
    pub fn as_str(self) -> &'static str {
        match self {
            EAadhaarShape::Real => "real",
            EAadhaarShape::Legacy => "legacy",
        }
    }
}

impl std::fmt::Display for EAadhaarShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EAadhaarShape {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "real" => Ok(EAadhaarShape::Real),
            "legacy" => Ok(EAadhaarShape::Legacy),
            other => Err(format!(
                "unknown e-Aadhaar shape {other:?}: expected \"real\" or \"legacy\""
            )),
        }
    }
}

/// Why an e-Aadhaar could not be produced for a citizen. The server maps these
/// to DigiLocker's `404 aadhaar_not_linked` / `404 aadhaar_not_available`;
/// it travels inside the `anyhow::Error` of [`SigningAuthority::sign_eaadhaar`]
/// and can be recovered with `err.downcast_ref::<EAadhaarUnavailable>()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EAadhaarUnavailable {
    /// The citizen's DigiLocker account has no Aadhaar linked.
    #[error("no Aadhaar is linked to this DigiLocker account (aadhaar_not_linked)")]
    NotLinked,
    /// An Aadhaar is linked, but no e-Aadhaar can be fetched for it.
    #[error("the e-Aadhaar is not available for this account (aadhaar_not_available)")]
    NotAvailable,
}

/// An issuer's document signer ([`SigningAuthority::issuer_signer`]).
pub(crate) struct IssuerCertificate {
    /// The signing key.
    pub key: bergshamra::Key,
    /// The same key for signing outside XML (the PDFs' CMS signatures).
    pub rsa: rsa::RsaPrivateKey,
    /// (`X509SubjectName` as DigiLocker writes it, DER) of the signer, the
    /// sub-CA and the CA: the chain below the root, in chain order.
    pub chain: Vec<(String, Vec<u8>)>,
}

/// Signs `template`, an XML document holding one enveloped `<Signature>`
/// with empty values, with `key`: the one place the sandbox makes an XML
/// signature (e-Aadhaar and issuers' XML alike).
pub(crate) fn sign_enveloped(key: bergshamra::Key, template: &str) -> anyhow::Result<String> {
    let mut keys = bergshamra::KeysManager::new();
    keys.add_key(key);
    let ctx = bergshamra::DsigContext::new(keys);
    bergshamra::sign(&ctx, template).map_err(|e| anyhow!("{e}"))
}

/// One certificate of the sandbox PKI, as loaded from the CA directory.
#[derive(Clone)]
struct LoadedCert {
    pem: String,
    der: Vec<u8>,
    /// The subject as DigiLocker's `X509SubjectName` writes it
    /// ([`xmlseclibs_subject`]): most specific first, commas in values
    /// unescaped.
    subject: String,
}

/// A four-level sandbox PKI (root, CA, sub-CA, signing leaves), created on
/// first start and kept in a directory, and the e-Aadhaar it signs.
pub struct SigningAuthority {
    dir: PathBuf,
    root: LoadedCert,
    ca: LoadedCert,
    sub_ca: LoadedCert,
    /// The leaf after the latest rotation (module docs), made at start.
    signer: LoadedCert,
    /// The leaf before it: `signer.pem`.
    previous_signer: LoadedCert,
    /// The previous signer's key certified again, expired since (module docs).
    expired_signer: LoadedCert,
    /// The current signer's key (no chain attached; each shape writes its
    /// own `KeyInfo`).
    key: bergshamra::Key,
    /// The previous (and expired) signer's key.
    previous_key: bergshamra::Key,
    /// The shape [`SigningAuthority::sign_eaadhaar`] produces.
    shape: EAadhaarShape,
    /// Signed XML per shape and citizen content: signing costs an RSA
    /// operation in pure Rust, and the server may ask for the same e-Aadhaar
    /// repeatedly.
    cache: Mutex<HashMap<[u8; 32], Arc<str>>>,
}

impl std::fmt::Debug for SigningAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("SigningAuthority")
            .field("dir", &self.dir)
            .field("shape", &self.shape)
            .finish_non_exhaustive()
    }
}

impl SigningAuthority {
    /// Load the CA from `dir`, or create and save it there (owner-only files).
    ///
    /// On first start `dir` is created if needed and eight files are written:
    /// `root.pem`, `ca.pem`, `sub-ca.pem`, `signer.pem` (certificates) and the
    /// matching `.key` files (PKCS#8 PEM, mode 0600). Later starts load the same
    /// files, so the root a gateway trusts stays valid across restarts.
    ///
    /// A directory holding an older sandbox's three-level CA (`root`,
    /// `intermediate`, `signer`) is upgraded: those files are moved into
    /// `retired-3-level-ca-<time>/` inside it and a four-level CA is created,
    /// so the root changes once (a gateway reading `root.pem` or `ca.pem`
    /// picks up the new one). Any other directory holding only some of the
    /// files is refused rather than silently replaced: delete it to start a
    /// new CA.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<SigningAuthority> {
        // Several sandboxes may start on one directory at once (parallel
        // tests, two processes): the one that creates the lock file creates
        // the CA, the others wait for the lock file to go and load the same
        // files. `create_new` is atomic between threads and processes alike,
        // and sandboxes on different directories never wait for each other.
        let missing = missing_files(dir);
        if missing.is_empty() {
            return load(dir);
        }
        if missing.len() == ALL_FILES.len() || holds_old_ca(dir) {
            let existed = dir.exists();
            fs::create_dir_all(dir)
                .with_context(|| format!("creating the sandbox CA directory {}", dir.display()))?;
            #[cfg(unix)]
            if !existed {
                use std::os::unix::fs::PermissionsExt as _;
                // A directory we made holds only the CA: owner-only. One that
                // existed is left as it is (the key files are 0600 anyway).
                let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
            }
            let lock = dir.join(LOCK_FILE);
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(_) => {
                    let created = create_holding_lock(dir);
                    let _ = fs::remove_file(&lock);
                    created?;
                    return load(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("creating {}", lock.display()));
                }
            }
        }
        if dir.join(LOCK_FILE).exists() {
            wait_for_other_creator(dir)?;
            return load(dir);
        }
        let missing = missing_files(dir);
        if missing.is_empty() {
            // Another process finished between our first look and now.
            return load(dir);
        }
        bail!(
            "the sandbox CA directory {} is incomplete (missing {}); delete the directory to \
             create a new CA, or restore the missing files",
            dir.display(),
            missing.join(", ")
        );
    }

    /// The same authority producing `shape` from now on (see
    /// [`SigningAuthority::set_shape`]).
    pub fn with_shape(mut self, shape: EAadhaarShape) -> Self {
        self.shape = shape;
        self
    }

    /// Choose the shape [`SigningAuthority::sign_eaadhaar`] produces
    /// ([`EAadhaarShape::Real`] unless set).
    pub fn set_shape(&mut self, shape: EAadhaarShape) {
        self.shape = shape;
    }

    /// The shape [`SigningAuthority::sign_eaadhaar`] produces.
    pub fn shape(&self) -> EAadhaarShape {
        self.shape
    }

    /// The root certificate in PEM, for a gateway in sandbox mode to trust.
    pub fn root_pem(&self) -> String {
        self.root.pem.clone()
    }

    /// The CA certificate under the root, in PEM.
    pub fn ca_pem(&self) -> String {
        self.ca.pem.clone()
    }

    /// The sub-CA certificate that issues the signer, in PEM.
    pub fn sub_ca_pem(&self) -> String {
        self.sub_ca.pem.clone()
    }

    /// Both intermediate CA certificates (CA, then sub-CA) as one PEM bundle:
    /// what a verifier needs besides the root when a document's `KeyInfo`
    /// carries only the leaf.
    pub fn intermediates_pem(&self) -> String {
        format!("{}{}", self.ca.pem, self.sub_ca.pem)
    }

    /// The current signing (leaf) certificate in PEM: the one after the
    /// latest rotation, made at start (module docs).
    pub fn signer_pem(&self) -> String {
        self.signer.pem.clone()
    }

    /// The signing certificate before the latest rotation (`signer.pem`), in
    /// PEM: it signs the e-Aadhaar of citizens whose
    /// [`Citizen::eaadhaar_signer`] is [`EAadhaarSigner::Previous`].
    pub fn previous_signer_pem(&self) -> String {
        self.previous_signer.pem.clone()
    }

    /// The signing certificate that has expired since (made at start, see the
    /// module docs), in PEM: it signs the e-Aadhaar of citizens whose
    /// [`Citizen::eaadhaar_signer`] is [`EAadhaarSigner::Expired`].
    pub fn expired_signer_pem(&self) -> String {
        self.expired_signer.pem.clone()
    }

    /// The directory the CA lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The citizen's e-Aadhaar XML in the configured shape, signed.
    ///
    /// Fails with [`EAadhaarUnavailable::NotLinked`] for a citizen without an
    /// Aadhaar and [`EAadhaarUnavailable::NotAvailable`] when
    /// `eaadhaar_available` is false. The result is cached per shape and
    /// citizen data, so repeated calls return the same document (same `ts`,
    /// same signature) until the sandbox restarts.
    pub fn sign_eaadhaar(&self, citizen: &Citizen) -> anyhow::Result<String> {
        self.sign_eaadhaar_as(citizen, self.shape)
    }

    /// [`SigningAuthority::sign_eaadhaar`] in the given shape, whatever the
    /// configured one.
    pub fn sign_eaadhaar_as(
        &self,
        citizen: &Citizen,
        shape: EAadhaarShape,
    ) -> anyhow::Result<String> {
        let Some(aadhaar) = citizen.aadhaar.as_deref() else {
            return Err(EAadhaarUnavailable::NotLinked.into());
        };
        if !citizen.eaadhaar_available {
            return Err(EAadhaarUnavailable::NotAvailable.into());
        }
        let cache_key: [u8; 32] =
            Sha256::digest(format!("{shape:?}|{citizen:?}").as_bytes()).into();
        if let Some(hit) = self.cached(&cache_key) {
            return Ok(hit.to_string());
        }
        let signed = self.sign_at(citizen, aadhaar, shape, OffsetDateTime::now_utc())?;
        let signed: Arc<str> = Arc::from(signed);
        if let Ok(mut cache) = self.cache.lock() {
            // The entry might have been filled meanwhile by another request;
            // keep the first so every caller sees one document.
            let kept = cache.entry(cache_key).or_insert(signed);
            return Ok(kept.to_string());
        }
        Ok(signed.to_string())
    }

    /// The signed e-Aadhaar as downloaded at `now`, uncached.
    fn sign_at(
        &self,
        citizen: &Citizen,
        aadhaar: &str,
        shape: EAadhaarShape,
        now: OffsetDateTime,
    ) -> anyhow::Result<String> {
        // The signer of the citizen's e-Aadhaar, and its key: the previous
        // and the expired signer share one.
        let (signer, mut key) = match citizen.eaadhaar_signer {
            EAadhaarSigner::Current => (&self.signer, self.key.clone()),
            EAadhaarSigner::Previous => (&self.previous_signer, self.previous_key.clone()),
            EAadhaarSigner::Expired => (&self.expired_signer, self.previous_key.clone()),
        };
        let template = match shape {
            EAadhaarShape::Real => {
                // DigiLocker's order: leaf, root, CA, sub-CA.
                let pairs = [signer, &self.root, &self.ca, &self.sub_ca];
                real_xml(citizen, aadhaar, now, &pairs)?
            }
            EAadhaarShape::Legacy => {
                // bergshamra fills the empty X509Data with this chain.
                key.x509_chain = vec![
                    signer.der.clone(),
                    self.sub_ca.der.clone(),
                    self.ca.der.clone(),
                ];
                // `ts` is the download time in this shape, except that a
                // signer rotated out (or expired) signed before the rotation.
                let ts = match citizen.eaadhaar_signer {
                    EAadhaarSigner::Current => now,
                    EAadhaarSigner::Previous | EAadhaarSigner::Expired => ekyc_time(citizen, now),
                };
                let unsigned = eaadhaar_xml(citizen, aadhaar, ts)?;
                let body = unsigned.strip_suffix("</Certificate>").ok_or_else(|| {
                    anyhow!("internal error: the e-Aadhaar XML does not end with </Certificate>")
                })?;
                format!("{body}{}</Certificate>", signature_template(true, &[])?)
            }
        };
        sign_enveloped(key, &template).context("signing the e-Aadhaar failed")
    }

    /// A document signer for an issuer, certified by this PKI's sub-CA like
    /// DigiLocker's own signer (root → CA → sub-CA → signer): `cn` of
    /// `organisation`, its key kept at `key_path` (made there first if
    /// missing, owner-only), its certificate made now, valid from a year ago
    /// (or the sub-CA's start) for three years, and written next to the key
    /// as `.pem`. See [`crate::issuer_signing`].
    pub(crate) fn issuer_signer(
        &self,
        key_path: &Path,
        organisation: &str,
        cn: &str,
    ) -> anyhow::Result<IssuerCertificate> {
        let key_pem = load_or_create_key(key_path)?;
        let key = signing_key(&key_pem, key_path)?;
        let rsa = <rsa::RsaPrivateKey as rsa::pkcs8::DecodePrivateKey>::from_pkcs8_pem(&key_pem)
            .map_err(|e| anyhow!("{} is not a readable RSA key: {e}", key_path.display()))?;
        let params = document_signer_params(subject(
            organisation,
            Some("Document Signer"),
            Some(&ISSUER_ADDRESS),
            cn,
        ))?;
        let leaf = make_signer(
            &self.dir,
            &self.sub_ca,
            &key_pem,
            (cn, params),
            OffsetDateTime::now_utc(),
            (365, -3 * 365),
        )?;
        // Several sandboxes may share the directory: each writes its own
        // temporary file, and the last rename wins.
        let pem_path = key_path.with_extension("pem");
        let tmp = key_path.with_extension(format!(
            "pem.{}.{:016x}.tmp",
            std::process::id(),
            rand::random::<u64>()
        ));
        write_public(&tmp, &leaf.pem)?;
        fs::rename(&tmp, &pem_path).with_context(|| format!("saving {}", pem_path.display()))?;
        Ok(IssuerCertificate {
            key,
            rsa,
            chain: [leaf, self.sub_ca.clone(), self.ca.clone()]
                .into_iter()
                .map(|c| (c.subject, c.der))
                .collect(),
        })
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Arc<str>> {
        self.cache.lock().ok()?.get(key).cloned()
    }
}

/// The CA files not (yet) in `dir`.
fn missing_files(dir: &Path) -> Vec<&'static str> {
    ALL_FILES
        .iter()
        .copied()
        .filter(|f| !dir.join(f).exists())
        .collect()
}

/// Whether `dir` holds an older sandbox's three-level CA (and none of the
/// files only a four-level CA has).
fn holds_old_ca(dir: &Path) -> bool {
    OLD_MARKERS.iter().any(|f| dir.join(f).exists())
        && [CA_CERT, CA_KEY, SUB_CA_CERT, SUB_CA_KEY]
            .iter()
            .all(|f| !dir.join(f).exists())
}

/// Create the CA in `dir` while holding the lock file: retire an older
/// three-level CA first, and do nothing if another process completed the CA
/// between our first look and taking the lock.
fn create_holding_lock(dir: &Path) -> anyhow::Result<()> {
    if missing_files(dir).is_empty() {
        return Ok(());
    }
    if holds_old_ca(dir) {
        let stamp = OffsetDateTime::now_utc();
        let retired = dir.join(format!(
            "{RETIRED_PREFIX}{:04}{:02}{:02}T{:02}{:02}{:02}",
            stamp.year(),
            u8::from(stamp.month()),
            stamp.day(),
            stamp.hour(),
            stamp.minute(),
            stamp.second()
        ));
        fs::create_dir_all(&retired).with_context(|| format!("creating {}", retired.display()))?;
        for name in OLD_FILES {
            let from = dir.join(name);
            if from.exists() {
                fs::rename(&from, retired.join(name)).with_context(|| {
                    format!("moving {} into {}", from.display(), retired.display())
                })?;
            }
        }
        tracing::warn!(
            dir = %dir.display(),
            retired = %retired.display(),
            "the sandbox CA directory held an older three-level CA: moved it aside and created \
             a four-level CA; gateways must trust the new root (root.pem, or GET ca.pem)"
        );
    }
    let missing = missing_files(dir);
    if missing.len() != ALL_FILES.len() {
        bail!(
            "the sandbox CA directory {} is incomplete (missing {}); delete the directory to \
             create a new CA, or restore the missing files",
            dir.display(),
            missing.join(", ")
        );
    }
    create(dir)
}

/// Wait until another process has created the CA in `dir`.
fn wait_for_other_creator(dir: &Path) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    while dir.join(LOCK_FILE).exists() {
        if start.elapsed() > CREATE_WAIT {
            bail!(
                "another process has been creating the sandbox CA in {} for over {}s; if none is \
                 running, delete {} and start again",
                dir.display(),
                CREATE_WAIT.as_secs(),
                dir.join(LOCK_FILE).display()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let missing = missing_files(dir);
    if !missing.is_empty() {
        bail!(
            "creating the sandbox CA in {} failed in another process (missing {}); delete the \
             directory and start again",
            dir.display(),
            missing.join(", ")
        );
    }
    Ok(())
}

/// A random positive 16-byte certificate serial number.
fn serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

/// A postal address in a certificate subject, as India PKI's CAs carry one.
struct PostalAddress<'a> {
    postal_code: &'a str,
    state: &'a str,
    street: &'a str,
    /// `houseIdentifier` (2.5.4.51), e.g. `II Floor, Tidel Park`.
    house: Option<&'a str>,
}

fn subject(
    organisation: &str,
    unit: Option<&str>,
    address: Option<&PostalAddress<'_>>,
    cn: &str,
) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "IN");
    dn.push(DnType::OrganizationName, organisation);
    if let Some(unit) = unit {
        dn.push(DnType::OrganizationalUnitName, unit);
    }
    if let Some(a) = address {
        let utf8 = |v: &str| DnValue::Utf8String(v.to_owned());
        dn.push(
            DnType::CustomDnType(OID_POSTAL_CODE.to_vec()),
            utf8(a.postal_code),
        );
        dn.push(DnType::StateOrProvinceName, a.state);
        dn.push(DnType::CustomDnType(OID_STREET.to_vec()), utf8(a.street));
        if let Some(house) = a.house {
            dn.push(
                DnType::CustomDnType(OID_HOUSE_IDENTIFIER.to_vec()),
                utf8(house),
            );
        }
    }
    dn.push(DnType::CommonName, cn);
    dn
}

/// A subject name as DigiLocker's `X509SubjectName` holds it: PHP's
/// xmlseclibs joins `openssl_x509_parse`'s subject with `,`, most specific
/// attribute first, under OpenSSL's short names, and escapes nothing, so a
/// value's own comma reads like a separator (`CN=SafeScrypt CA 2022,
/// houseIdentifier=II Floor, Tidel Park,street=No.4, Rajiv Gandhi Salai,...`).
fn xmlseclibs_subject(name: &x509_cert::name::Name) -> String {
    let mut parts = Vec::new();
    for rdn in name.0.iter() {
        for atv in rdn.0.iter() {
            let oid = atv.oid.to_string();
            let key = match oid.as_str() {
                "2.5.4.3" => "CN",
                "2.5.4.5" => "serialNumber",
                "2.5.4.6" => "C",
                "2.5.4.7" => "L",
                "2.5.4.8" => "ST",
                "2.5.4.9" => "street",
                "2.5.4.10" => "O",
                "2.5.4.11" => "OU",
                "2.5.4.12" => "title",
                "2.5.4.17" => "postalCode",
                "2.5.4.51" => "houseIdentifier",
                "2.5.4.65" => "pseudonym",
                "1.2.840.113549.1.9.1" => "emailAddress",
                other => other,
            }
            .to_owned();
            // The string types of a name (UTF8String, PrintableString,
            // IA5String) are all UTF-8 as they stand.
            let value = String::from_utf8_lossy(atv.value.value()).into_owned();
            parts.push(format!("{key}={value}"));
        }
    }
    parts.reverse();
    parts.join(",")
}

/// A new RSA key of `bits`: PKCS#8 PEM (to save) and an rcgen key pair (to
/// sign certificates with). aws-lc makes it: an RSA-4096 root takes well
/// under a second, where the pure-Rust `rsa` crate takes many in a debug
/// build.
fn rsa_key(bits: RsaKeySize) -> anyhow::Result<(String, KeyPair)> {
    let pair =
        KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, bits).context("generating an RSA key")?;
    Ok((pair.serialize_pem(), pair))
}

/// Authority Information Access (OCSP responder and issuer certificate), which
/// rcgen has no typed field for.
fn authority_info_access(ocsp: &str, ca_issuers: &str) -> anyhow::Result<CustomExtension> {
    let describe = |method: ObjectIdentifier, uri: &str| -> anyhow::Result<AccessDescription> {
        Ok(AccessDescription {
            access_method: method,
            access_location: GeneralName::UniformResourceIdentifier(
                Ia5String::new(uri).map_err(|e| anyhow!("AIA URI {uri}: {e}"))?,
            ),
        })
    };
    let aia = AuthorityInfoAccessSyntax(vec![
        describe(ID_AD_OCSP, ocsp)?,
        describe(ID_AD_CA_ISSUERS, ca_issuers)?,
    ]);
    let der = aia
        .to_der()
        .map_err(|e| anyhow!("encoding the AIA extension: {e}"))?;
    Ok(CustomExtension::from_oid_content(
        OID_AUTHORITY_INFO_ACCESS,
        der,
    ))
}

/// Certificate policies (policy identifiers only), which rcgen has no typed
/// field for.
fn certificate_policies(policies: &[&[u64]]) -> anyhow::Result<CustomExtension> {
    let info = policies
        .iter()
        .map(|arcs| {
            let dotted = arcs
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(".");
            Ok(PolicyInformation {
                policy_identifier: ObjectIdentifier::new(&dotted)
                    .map_err(|e| anyhow!("policy OID {dotted}: {e}"))?,
                policy_qualifiers: None,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let der = CertificatePolicies(info)
        .to_der()
        .map_err(|e| anyhow!("encoding the certificate policies extension: {e}"))?;
    Ok(CustomExtension::from_oid_content(
        OID_CERTIFICATE_POLICIES,
        der,
    ))
}

/// The extensions a CA under the root carries, like SafeScrypt's: policies,
/// where to find its issuer's certificate and OCSP, and its CRL.
fn intermediate_extensions(
    params: &mut CertificateParams,
    issuer_file: &str,
    crl_file: &str,
) -> anyhow::Result<()> {
    params.custom_extensions = vec![
        certificate_policies(&[POLICY_INDIA_PKI])?,
        authority_info_access(
            &format!("{PKI_URL}/ocsp"),
            &format!("{PKI_URL}/{issuer_file}"),
        )?,
    ];
    params.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec![format!("{PKI_URL}/{crl_file}")],
    }];
    Ok(())
}

fn create(dir: &Path) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    // Backdated so that every citizen's eKYC time (up to six months before a
    // download) falls inside the previous signer's validity, as with
    // DigiLocker's real signers; this also absorbs clock skew between the
    // sandbox and a gateway. The CAs go back further than the expired
    // signer's validity (which starts EXPIRED_SIGNER_FROM_DAYS before a
    // start); a directory made by an older sandbox has CAs from two years
    // before it was made, which still covers that signer's eKYC time
    // (EXPIRED_SIGNER_EKYC_AGE_DAYS).
    let ca_start = now - Duration::days(3 * 365);
    let signer_start = now - Duration::days(365);
    let ca_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];

    let (root_key_pem, root_key) = rsa_key(ROOT_KEY_BITS)?;
    let mut root = CertificateParams::default();
    root.distinguished_name = subject(ROOT_ORGANISATION, None, None, ROOT_CN);
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = ca_usages.clone();
    root.not_before = ca_start;
    root.not_after = now + Duration::days(20 * 365);
    root.serial_number = Some(serial());
    let root_cert = root
        .self_signed(&root_key)
        .context("creating the sandbox root certificate")?;

    let (ca_key_pem, ca_key) = rsa_key(RsaKeySize::_2048)?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = subject(
        CA_ORGANISATION,
        Some("Certifying Authority"),
        Some(&CA_ADDRESS),
        CA_CN,
    );
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    ca.key_usages = ca_usages.clone();
    ca.use_authority_key_identifier_extension = true;
    intermediate_extensions(
        &mut ca,
        "sandbox-cca-india-root.cer",
        "sandbox-cca-india-root.crl",
    )?;
    ca.not_before = ca_start;
    ca.not_after = now + Duration::days(10 * 365);
    ca.serial_number = Some(serial());
    let ca_cert = ca
        .signed_by(&ca_key, &Issuer::from_params(&root, &root_key))
        .context("creating the sandbox CA certificate")?;

    let (sub_ca_key_pem, sub_ca_key) = rsa_key(RsaKeySize::_2048)?;
    let mut sub_ca = CertificateParams::default();
    sub_ca.distinguished_name = sub_ca_subject();
    sub_ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    sub_ca.key_usages = ca_usages;
    sub_ca.use_authority_key_identifier_extension = true;
    intermediate_extensions(
        &mut sub_ca,
        "sandbox-safescrypt-ca.cer",
        "sandbox-safescrypt-ca.crl",
    )?;
    sub_ca.not_before = ca_start;
    sub_ca.not_after = now + Duration::days(10 * 365);
    sub_ca.serial_number = Some(serial());
    let sub_ca_cert = sub_ca
        .signed_by(&sub_ca_key, &Issuer::from_params(&ca, &ca_key))
        .context("creating the sandbox sub-CA certificate")?;

    let (signer_key_pem, signer_key) = rsa_key(RsaKeySize::_2048)?;
    let mut signer = signer_params(PREVIOUS_SIGNER_CN)?;
    signer.not_before = signer_start;
    signer.not_after = now + Duration::days(3 * 365);
    signer.serial_number = Some(serial());
    let signer_cert = signer
        .signed_by(&signer_key, &Issuer::from_params(&sub_ca, &sub_ca_key))
        .context("creating the sandbox signing certificate")?;

    // Certificates last: `load_or_create` treats a directory with every file
    // present as complete, and keys are useless without them anyway.
    write_private(&dir.join(ROOT_KEY), &root_key_pem)?;
    write_private(&dir.join(CA_KEY), &ca_key_pem)?;
    write_private(&dir.join(SUB_CA_KEY), &sub_ca_key_pem)?;
    write_private(&dir.join(SIGNER_KEY), &signer_key_pem)?;
    write_public(&dir.join(ROOT_CERT), &root_cert.pem())?;
    write_public(&dir.join(CA_CERT), &ca_cert.pem())?;
    write_public(&dir.join(SUB_CA_CERT), &sub_ca_cert.pem())?;
    write_public(&dir.join(SIGNER_CERT), &signer_cert.pem())?;
    Ok(())
}

/// The sub-CA's subject, in the role of `C=IN, O=Sify Technologies Limited,
/// OU=Sub-CA, CN=SafeScrypt sub-CA for Document Signer 2022`.
fn sub_ca_subject() -> DistinguishedName {
    subject(CA_ORGANISATION, Some("Sub-CA"), None, SUB_CA_CN)
}

/// A document signer's certificate parameters (all but validity and serial),
/// like DigiLocker's leaf: not a CA, signing key usages, e-mail protection
/// and document signing, India PKI policies, AIA and CRL.
fn signer_params(cn: &str) -> anyhow::Result<CertificateParams> {
    let mut signer = document_signer_params(subject(
        SIGNER_ORGANISATION,
        Some("DigiLocker"),
        Some(&SIGNER_ADDRESS),
        cn,
    ))?;
    signer.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec![format!(
            "{PKI_URL}/sandbox-safescrypt-sub-ca-document-signer.crl"
        )],
    }];
    Ok(signer)
}

/// A document signer's certificate parameters for `name` (all but validity
/// and serial; no CRL): not a CA, signing key usages, e-mail protection and
/// document signing, India PKI policies and AIA. DigiLocker's leaf and the
/// issuers' signers alike.
fn document_signer_params(name: DistinguishedName) -> anyhow::Result<CertificateParams> {
    let mut signer = CertificateParams::default();
    signer.distinguished_name = name;
    signer.is_ca = IsCa::ExplicitNoCa;
    signer.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    signer.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::EmailProtection,
        ExtendedKeyUsagePurpose::Other(EKU_DOCUMENT_SIGNING.to_vec()),
    ];
    signer.use_authority_key_identifier_extension = true;
    signer.custom_extensions = vec![
        certificate_policies(&[POLICY_LEAF_CLASS, POLICY_LEAF_DOCUMENT_SIGNER])?,
        authority_info_access(
            &format!("{PKI_URL}/ocsp/sub-ca"),
            &format!("{PKI_URL}/sandbox-safescrypt-sub-ca-document-signer.cer"),
        )?,
    ];
    Ok(signer)
}

fn unix_time(t: &x509_cert::time::Time) -> OffsetDateTime {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A signer certificate made at start (see the module docs): `signer_key_pem`
/// certified by the sub-CA in `dir` as `cn`, valid from `from_days` (or the
/// sub-CA's own start, if later) to `until_days` days before `now`'s day
/// (negative: after it).
fn make_signer(
    dir: &Path,
    sub_ca: &LoadedCert,
    signer_key_pem: &str,
    (cn, mut params): (&str, CertificateParams),
    now: OffsetDateTime,
    (from_days, until_days): (i64, i64),
) -> anyhow::Result<LoadedCert> {
    let sub_ca_key_path = dir.join(SUB_CA_KEY);
    let sub_ca_key =
        KeyPair::from_pkcs8_pem_and_sign_algo(&read(&sub_ca_key_path)?, &PKCS_RSA_SHA256)
            .with_context(|| format!("{} is not a readable RSA key", sub_ca_key_path.display()))?;
    let signer_key = KeyPair::from_pkcs8_pem_and_sign_algo(signer_key_pem, &PKCS_RSA_SHA256)
        .with_context(|| {
            format!(
                "a signing key in {} is not a readable RSA key",
                dir.display()
            )
        })?;
    let sub_ca_cert = x509_cert::Certificate::from_der(&sub_ca.der)
        .map_err(|e| anyhow!("the sub-CA certificate is not readable: {e}"))?;
    // The sub-CA as an issuer: its name and key (rcgen derives the authority
    // key identifier from the key, as it did the sub-CA's own).
    let mut issuer = CertificateParams::default();
    issuer.distinguished_name = sub_ca_subject();
    issuer.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let day = now.replace_time(time::Time::MIDNIGHT);
    params.not_before = (day - Duration::days(from_days))
        .max(unix_time(&sub_ca_cert.tbs_certificate.validity.not_before));
    params.not_after = day - Duration::days(until_days);
    params.serial_number = Some(serial());
    let cert = params
        .signed_by(&signer_key, &Issuer::from_params(&issuer, &sub_ca_key))
        .with_context(|| format!("creating the sandbox signing certificate {cn}"))?;
    let parsed = x509_cert::Certificate::from_der(cert.der())
        .map_err(|e| anyhow!("the signing certificate {cn} is not readable: {e}"))?;
    if parsed.tbs_certificate.issuer != sub_ca_cert.tbs_certificate.subject {
        bail!(
            "the sub-CA in {} is not named as this sandbox names it ({}); delete the directory \
             to create a new CA",
            dir.display(),
            sub_ca.subject
        );
    }
    Ok(LoadedCert {
        subject: xmlseclibs_subject(&parsed.tbs_certificate.subject),
        pem: cert.pem(),
        der: cert.der().to_vec(),
    })
}

/// The current signer's key (PKCS#8 PEM) from `dir`, made first if missing.
fn current_signer_key(dir: &Path) -> anyhow::Result<String> {
    load_or_create_key(&dir.join(CURRENT_SIGNER_KEY))
}

/// An RSA-2048 key (PKCS#8 PEM) from `path`, made first if missing.
/// Several sandboxes may start on one directory at once: each writes a
/// whole key to its own temporary file and links it into place, so the
/// first link wins and every process reads that one complete key.
fn load_or_create_key(path: &Path) -> anyhow::Result<String> {
    if !path.exists() {
        let (pem, _) = rsa_key(RsaKeySize::_2048)?;
        let tmp = path.with_extension(format!(
            "{}.{:016x}.tmp",
            std::process::id(),
            rand::random::<u64>()
        ));
        write_private(&tmp, &pem)?;
        match fs::hard_link(&tmp, path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // A file system without hard links: a rename still never leaves
            // half a key, only the last of racing starts wins.
            Err(_) => {
                fs::rename(&tmp, path).with_context(|| format!("saving {}", path.display()))?
            }
        }
        let _ = fs::remove_file(&tmp);
    }
    read(path)
}

/// Write `contents` to `path` through a temporary file and a rename, so a
/// crash never leaves a half-written file, with the given mode on Unix.
fn write_file(path: &Path, contents: &str, mode: u32) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("saving {}", path.display()))?;
    Ok(())
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    write_file(path, contents, 0o600)
}

fn write_public(path: &Path, contents: &str) -> anyhow::Result<()> {
    write_file(path, contents, 0o644)
}

fn read(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The DER of the single CERTIFICATE block in `pem`.
fn certificate_der(pem: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem
        .find(BEGIN)
        .map(|i| i + BEGIN.len())
        .ok_or_else(|| anyhow!("{} holds no PEM certificate", path.display()))?;
    let end = pem[start..]
        .find(END)
        .map(|i| start + i)
        .ok_or_else(|| anyhow!("{} has a certificate without an END line", path.display()))?;
    let b64: String = pem[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .with_context(|| {
            format!(
                "{} holds a certificate that is not valid base64",
                path.display()
            )
        })
}

/// Read one certificate file: its PEM text, DER and subject.
fn load_cert(dir: &Path, name: &str) -> anyhow::Result<LoadedCert> {
    let path = dir.join(name);
    let pem = read(&path)?;
    // Parsed now so a damaged file fails at start, not at the first e-Aadhaar.
    let der = certificate_der(&pem, &path)?;
    let cert = x509_cert::Certificate::from_der(&der).map_err(|e| {
        anyhow!(
            "{} is not a readable X.509 certificate: {e}",
            path.display()
        )
    })?;
    Ok(LoadedCert {
        subject: xmlseclibs_subject(&cert.tbs_certificate.subject),
        pem,
        der,
    })
}

/// A signing key as bergshamra signs with it.
fn signing_key(pem: &str, path: &Path) -> anyhow::Result<bergshamra::Key> {
    bergshamra::keys::loader::load_rsa_private_pem(pem.as_bytes())
        .map_err(|e| anyhow!("{} is not a readable RSA key: {e}", path.display()))
}

fn load(dir: &Path) -> anyhow::Result<SigningAuthority> {
    let root = load_cert(dir, ROOT_CERT)?;
    let ca = load_cert(dir, CA_CERT)?;
    let sub_ca = load_cert(dir, SUB_CA_CERT)?;
    let previous_signer = load_cert(dir, SIGNER_CERT)?;
    let previous_key_pem = read(&dir.join(SIGNER_KEY))?;
    let previous_key = signing_key(&previous_key_pem, &dir.join(SIGNER_KEY))?;
    let current_key_pem = current_signer_key(dir)?;
    let key = signing_key(&current_key_pem, &dir.join(CURRENT_SIGNER_KEY))?;
    let now = OffsetDateTime::now_utc();
    let signer = make_signer(
        dir,
        &sub_ca,
        &current_key_pem,
        (SIGNER_CN, signer_params(SIGNER_CN)?),
        now,
        (ROTATED_DAYS_AGO, -3 * 365),
    )?;
    let expired_signer = make_signer(
        dir,
        &sub_ca,
        &previous_key_pem,
        (EXPIRED_SIGNER_CN, signer_params(EXPIRED_SIGNER_CN)?),
        now,
        (EXPIRED_SIGNER_FROM_DAYS, EXPIRED_SIGNER_UNTIL_DAYS),
    )?;
    Ok(SigningAuthority {
        dir: dir.to_path_buf(),
        root,
        ca,
        sub_ca,
        signer,
        previous_signer,
        expired_signer,
        key,
        previous_key,
        shape: EAadhaarShape::default(),
        cache: Mutex::new(HashMap::new()),
    })
}

/// A `<Signature>` template in DigiLocker's shape, with empty values for
/// [`sign_enveloped`] to fill in: exclusive C14N and RSA-SHA1 for
/// `SignedInfo`, one `Reference URI=""` with the enveloped-signature
/// transform (followed by exclusive C14N when `c14n_transform`), SHA-256,
/// and `KeyInfo/X509Data` holding `chain`'s (`X509SubjectName`,
/// `X509Certificate`) pairs (empty: bergshamra fills it from the key's chain).
pub(crate) fn signature_template(
    c14n_transform: bool,
    chain: &[(String, Vec<u8>)],
) -> anyhow::Result<String> {
    let mut w = Writer::new(Vec::new());
    w.create_element("Signature")
        .with_attribute(("xmlns", "http://www.w3.org/2000/09/xmldsig#"))
        .write_inner_content(|w| {
            w.create_element("SignedInfo").write_inner_content(|w| {
                w.create_element("CanonicalizationMethod")
                    .with_attribute(("Algorithm", algorithm::EXC_C14N))
                    .write_empty()?;
                w.create_element("SignatureMethod")
                    .with_attribute(("Algorithm", algorithm::RSA_SHA1))
                    .write_empty()?;
                w.create_element("Reference")
                    .with_attribute(("URI", ""))
                    .write_inner_content(|w| {
                        w.create_element("Transforms").write_inner_content(|w| {
                            w.create_element("Transform")
                                .with_attribute(("Algorithm", algorithm::ENVELOPED_SIGNATURE))
                                .write_empty()?;
                            if c14n_transform {
                                w.create_element("Transform")
                                    .with_attribute(("Algorithm", algorithm::EXC_C14N))
                                    .write_empty()?;
                            }
                            Ok(())
                        })?;
                        w.create_element("DigestMethod")
                            .with_attribute(("Algorithm", algorithm::SHA256))
                            .write_empty()?;
                        w.create_element("DigestValue")
                            .write_text_content(BytesText::new(""))?;
                        Ok(())
                    })?;
                Ok(())
            })?;
            w.create_element("SignatureValue")
                .write_text_content(BytesText::new(""))?;
            w.create_element("KeyInfo").write_inner_content(|w| {
                w.create_element("X509Data").write_inner_content(|w| {
                    for (subject, der) in chain {
                        let certificate = base64::engine::general_purpose::STANDARD.encode(der);
                        w.create_element("X509SubjectName")
                            .write_text_content(BytesText::new(subject))?;
                        w.create_element("X509Certificate")
                            .write_text_content(BytesText::new(&certificate))?;
                    }
                    Ok(())
                })?;
                Ok(())
            })?;
            Ok(())
        })?;
    String::from_utf8(w.into_inner()).context("internal error: the signature template is not UTF-8")
}

/// UIDAI's language code for `LData@lang` (the 22 scheduled languages,
/// numbered alphabetically), from the seed's ISO 639 code. Unknown codes pass
/// through unchanged.
fn uidai_language(iso: &str) -> &str {
    match iso {
        "as" => "01",
        "bn" => "02",
        "brx" => "03",
        "doi" => "04",
        "gu" => "05",
        "hi" => "06",
        "kn" => "07",
        "ks" => "08",
        "kok" => "09",
        "mai" => "10",
        "ml" => "11",
        "mni" => "12",
        "mr" => "13",
        "ne" => "14",
        "or" => "15",
        "pa" => "16",
        "sa" => "17",
        "sat" => "18",
        "sd" => "19",
        "ta" => "20",
        "te" => "21",
        "ur" => "22",
        other => other,
    }
}

/// Address attributes in the order DigiLocker writes them, empty ones left out.
fn address_attributes(a: &Address) -> Vec<(&'static str, &str)> {
    [
        ("co", &a.co),
        ("country", &a.country),
        ("dist", &a.dist),
        ("house", &a.house),
        ("lm", &a.lm),
        ("loc", &a.loc),
        ("pc", &a.pc),
        ("po", &a.po),
        ("state", &a.state),
        ("street", &a.street),
        ("subdist", &a.subdist),
        ("vtc", &a.vtc),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| (k, v.as_str()))
    .collect()
}

/// ISO 8601 in IST with milliseconds, as UIDAI writes `ts`.
fn ist_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(ist());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+05:30",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// The unsigned e-Aadhaar: `<Certificate><CertificateData><KycRes>...`.
/// Every value goes through quick-xml's escaping.
fn eaadhaar_xml(citizen: &Citizen, aadhaar: &str, now: OffsetDateTime) -> anyhow::Result<String> {
    let last4 = aadhaar.get(aadhaar.len().saturating_sub(4)..).unwrap_or("");
    let uid = format!("xxxxxxxx{last4}");
    let seed = Sha256::digest(format!(
        "{}|{}",
        citizen.digilocker_id,
        now.unix_timestamp_nanos()
    ));
    let hexed = hex::encode(seed);
    let code = &hexed[..32];
    let txn = format!("UKC:{}", &hexed[32..]);
    let tkn = hex::encode(Sha256::digest(format!("tkn|{aadhaar}|{hexed}")));
    let ts = ist_timestamp(now);
    let ttl = ist_timestamp(now + Duration::days(365));
    let photo =
        base64::engine::general_purpose::STANDARD.encode(photo_jpeg(&citizen.digilocker_id)?);

    let mut w = Writer::new(Vec::new());
    w.write_event(Event::Decl(BytesDecl::new(
        "1.0",
        Some("UTF-8"),
        Some("yes"),
    )))?;
    w.create_element("Certificate").write_inner_content(|w| {
        w.create_element("CertificateData")
            .write_inner_content(|w| {
                w.create_element("KycRes")
                    .with_attributes([
                        ("code", code),
                        ("ret", "Y"),
                        ("ts", ts.as_str()),
                        ("ttl", ttl.as_str()),
                        ("txn", txn.as_str()),
                    ])
                    .write_inner_content(|w| {
                        w.create_element("UidData")
                            .with_attributes([("tkn", tkn.as_str()), ("uid", uid.as_str())])
                            .write_inner_content(|w| {
                                w.create_element("Poi")
                                    .with_attributes(
                                        [
                                            ("dob", citizen.dob.as_str()),
                                            ("gender", citizen.gender.as_str()),
                                            ("name", citizen.name.as_str()),
                                        ]
                                        .into_iter()
                                        .filter(|(_, v)| !v.is_empty()),
                                    )
                                    .write_empty()?;
                                w.create_element("Poa")
                                    .with_attributes(address_attributes(&citizen.address))
                                    .write_empty()?;
                                if let Some(local) = &citizen.local {
                                    let mut attrs = vec![("lang", uidai_language(&local.lang))];
                                    if !local.name.is_empty() {
                                        attrs.push(("name", local.name.as_str()));
                                    }
                                    attrs.extend(address_attributes(&local.address));
                                    w.create_element("LData")
                                        .with_attributes(attrs)
                                        .write_empty()?;
                                }
                                w.create_element("Pht")
                                    .write_text_content(BytesText::new(&photo))?;
                                Ok(())
                            })?;
                        Ok(())
                    })?;
                Ok(())
            })?;
        Ok(())
    })?;
    String::from_utf8(w.into_inner()).context("internal error: the e-Aadhaar XML is not UTF-8")
}

/// The XML-DSig namespace.
const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Every whitespace text node of a real-shaped e-Aadhaar inside its root
/// element, in document order, as (parent element, text): what PHP's
/// xmlseclibs leaves of its signature template once it has inserted
/// `CanonicalizationMethod` first in `SignedInfo`, appended the `Reference`,
/// put `SignatureValue` before the template's last newline and appended
/// `KeyInfo`. None is in the signed data; the two inside `SignedInfo` are
/// covered by the signature value.
pub const REAL_SIGNATURE_WHITESPACE: [(&str, &str); 4] = [
    ("Signature", "\n  "),
    ("SignedInfo", "\n    "),
    ("SignedInfo", "\n  "),
    ("Signature", "\n"),
];

/// India Standard Time.
fn ist() -> UtcOffset {
    UtcOffset::from_hms(5, 30, 0).unwrap_or(UtcOffset::UTC)
}

/// When the citizen's eKYC happened, as DigiLocker's `KycRes ts` records it,
/// by an offset (with milliseconds) before `download` that is fixed per
/// citizen, so each citizen's e-Aadhaar looks the same age whenever it is
/// fetched: 3 days to [`ROTATED_DAYS_AGO`] for the current signer's citizens
/// (after the rotation), from [`ROTATED_DAYS_AGO`] to 180 days for the
/// previous signer's (before it), [`EXPIRED_SIGNER_EKYC_AGE_DAYS`] days and
/// up to one more for the expired signer's (inside its validity).
fn ekyc_time(citizen: &Citizen, download: OffsetDateTime) -> OffsetDateTime {
    const DAY: u64 = 86_400;
    let rotated = u64::try_from(ROTATED_DAYS_AGO).unwrap_or(90);
    let (min_age, span) = match citizen.eaadhaar_signer {
        EAadhaarSigner::Current => (3 * DAY, (rotated - 4) * DAY),
        EAadhaarSigner::Previous => ((rotated + 1) * DAY, (180 - rotated - 1) * DAY),
        EAadhaarSigner::Expired => (
            u64::try_from(EXPIRED_SIGNER_EKYC_AGE_DAYS).unwrap_or(0) * DAY,
            DAY,
        ),
    };
    let d = Sha256::digest(format!("ekyc|{}", citizen.digilocker_id).as_bytes());
    let n = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
    let age = i64::try_from(min_age + n % span).unwrap_or(0);
    let millis = i64::from(u16::from_be_bytes([d[8], d[9]]) % 1000);
    let whole_second = download.replace_nanosecond(0).unwrap_or(download);
    whole_second - Duration::seconds(age) + Duration::milliseconds(millis)
}

/// `KycRes` and `UidData` attribute values in DigiLocker's real formats.
struct RealKyc {
    code: String,
    /// `2023-09-15T12:05:11.310+05:30`
    ts: String,
    /// `2024-06-29T16:39:32`: no fraction, no offset.
    ttl: String,
    /// `UKC:` + 32 hex + the eKYC time as 14 digits.
    txn: String,
    /// 72 base64 characters.
    tkn: String,
}

/// The values of one citizen's real-shaped e-Aadhaar downloaded at `now`:
/// derived from the citizen's seed (DigiLocker id, Aadhaar number) and the
/// eKYC time, so the same citizen gets the same values every time.
fn real_kyc(citizen: &Citizen, aadhaar: &str, now: OffsetDateTime) -> RealKyc {
    let ts = ekyc_time(citizen, now).to_offset(ist());
    let ttl = ts + Duration::days(365);
    let id = &citizen.digilocker_id;
    let code = hex::encode(Sha256::digest(format!("code|{id}").as_bytes()));
    let txn_id = hex::encode(Sha256::digest(format!("txn|{id}|{aadhaar}").as_bytes()));
    let tkn = Sha512::digest(format!("tkn|{id}|{aadhaar}").as_bytes());
    RealKyc {
        code: code[..32].to_owned(),
        ts: ist_timestamp(ts),
        ttl: format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            ttl.year(),
            u8::from(ttl.month()),
            ttl.day(),
            ttl.hour(),
            ttl.minute(),
            ttl.second()
        ),
        txn: format!(
            "UKC:{}{:04}{:02}{:02}{:02}{:02}{:02}",
            &txn_id[..32],
            ts.year(),
            u8::from(ts.month()),
            ts.day(),
            ts.hour(),
            ts.minute(),
            ts.second()
        ),
        tkn: base64::engine::general_purpose::STANDARD.encode(&tkn[..54]),
    }
}

/// Address attributes in alphabetical order, leaving out only empty ones: a
/// value of one space (UIDAI's `country=" "` in `LData`) is kept as sent.
fn real_address_attributes(a: &Address) -> Vec<(&'static str, &str)> {
    [
        ("co", &a.co),
        ("country", &a.country),
        ("dist", &a.dist),
        ("house", &a.house),
        ("lm", &a.lm),
        ("loc", &a.loc),
        ("pc", &a.pc),
        ("po", &a.po),
        ("state", &a.state),
        ("street", &a.street),
        ("subdist", &a.subdist),
        ("vtc", &a.vtc),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k, v.as_str()))
    .collect()
}

/// The whole real-shaped e-Aadhaar, signature template included, ready for
/// bergshamra to fill in `DigestValue` and `SignatureValue`. `key_info` is
/// written as (`X509SubjectName`, `X509Certificate`) pairs in the given
/// order; `KeyInfo` is outside what the signature covers, so it is final here.
fn real_xml(
    citizen: &Citizen,
    aadhaar: &str,
    now: OffsetDateTime,
    key_info: &[&LoadedCert],
) -> anyhow::Result<String> {
    let last4 = aadhaar.get(aadhaar.len().saturating_sub(4)..).unwrap_or("");
    let uid = format!("xxxxxxxx{last4}");
    let kyc = real_kyc(citizen, aadhaar, now);
    let b64 = base64::engine::general_purpose::STANDARD;
    let photo = b64.encode(photo_jpeg(&citizen.digilocker_id)?);

    // No indentation anywhere: the only whitespace is what xmlseclibs'
    // signature template leaves (REAL_SIGNATURE_WHITESPACE), written below.
    let mut w = Writer::new(Vec::new());
    let ws = |w: &mut Writer<Vec<u8>>, text: &str| {
        w.write_event(Event::Text(BytesText::from_escaped(text)))
    };
    w.write_event(Event::Decl(BytesDecl::new(
        "1.0",
        Some("UTF-8"),
        Some("yes"),
    )))?;
    ws(&mut w, "\n")?;
    w.create_element("Certificate").write_inner_content(|w| {
        w.create_element("CertificateData")
            .write_inner_content(|w| {
                w.create_element("KycRes")
                    .with_attributes([
                        ("code", kyc.code.as_str()),
                        ("ret", "Y"),
                        ("ts", kyc.ts.as_str()),
                        ("ttl", kyc.ttl.as_str()),
                        ("txn", kyc.txn.as_str()),
                    ])
                    .write_inner_content(|w| {
                        w.create_element("UidData")
                            .with_attributes([("tkn", kyc.tkn.as_str()), ("uid", uid.as_str())])
                            .write_inner_content(|w| {
                                w.create_element("Poi")
                                    .with_attributes(
                                        [
                                            ("dob", citizen.dob.as_str()),
                                            ("gender", citizen.gender.as_str()),
                                            ("name", citizen.name.as_str()),
                                        ]
                                        .into_iter()
                                        .filter(|(_, v)| !v.is_empty()),
                                    )
                                    .write_empty()?;
                                w.create_element("Poa")
                                    .with_attributes(real_address_attributes(&citizen.address))
                                    .write_empty()?;
                                if let Some(local) = &citizen.local {
                                    let mut attrs = real_address_attributes(&local.address);
                                    attrs.push(("lang", uidai_language(&local.lang)));
                                    if !local.name.is_empty() {
                                        attrs.push(("name", local.name.as_str()));
                                    }
                                    attrs.sort_by_key(|(k, _)| *k);
                                    w.create_element("LData")
                                        .with_attributes(attrs)
                                        .write_empty()?;
                                }
                                w.create_element("Pht")
                                    .write_text_content(BytesText::new(&photo))?;
                                Ok(())
                            })?;
                        Ok(())
                    })?;
                Ok(())
            })?;
        let [before_signed_info, before_signature_method, before_reference, before_key_info] =
            REAL_SIGNATURE_WHITESPACE.map(|(_, text)| text);
        w.create_element("Signature")
            .with_attribute(("xmlns", DSIG_NS))
            .write_inner_content(|w| {
                ws(w, before_signed_info)?;
                w.create_element("SignedInfo").write_inner_content(|w| {
                    w.create_element("CanonicalizationMethod")
                        .with_attribute(("Algorithm", algorithm::EXC_C14N))
                        .write_empty()?;
                    ws(w, before_signature_method)?;
                    w.create_element("SignatureMethod")
                        .with_attribute(("Algorithm", algorithm::RSA_SHA1))
                        .write_empty()?;
                    ws(w, before_reference)?;
                    w.create_element("Reference")
                        .with_attribute(("URI", ""))
                        .write_inner_content(|w| {
                            w.create_element("Transforms").write_inner_content(|w| {
                                w.create_element("Transform")
                                    .with_attribute(("Algorithm", algorithm::ENVELOPED_SIGNATURE))
                                    .write_empty()?;
                                Ok(())
                            })?;
                            w.create_element("DigestMethod")
                                .with_attribute(("Algorithm", algorithm::SHA256))
                                .write_empty()?;
                            w.create_element("DigestValue")
                                .write_text_content(BytesText::new(""))?;
                            Ok(())
                        })?;
                    Ok(())
                })?;
                w.create_element("SignatureValue")
                    .write_text_content(BytesText::new(""))?;
                ws(w, before_key_info)?;
                w.create_element("KeyInfo").write_inner_content(|w| {
                    w.create_element("X509Data").write_inner_content(|w| {
                        for cert in key_info {
                            w.create_element("X509SubjectName")
                                .write_text_content(BytesText::new(&cert.subject))?;
                            w.create_element("X509Certificate")
                                .write_text_content(BytesText::new(&b64.encode(&cert.der)))?;
                        }
                        Ok(())
                    })?;
                    Ok(())
                })?;
                Ok(())
            })?;
        Ok(())
    })?;
    // PHP's DOMDocument::saveXML ends the document with a newline.
    ws(&mut w, "\n")?;
    String::from_utf8(w.into_inner()).context("internal error: the e-Aadhaar XML is not UTF-8")
}

/// Width and height of the e-Aadhaar photo, about what UIDAI sends.
pub(crate) const PHOTO_W: u16 = 160;
pub(crate) const PHOTO_H: u16 = 200;

/// A passport-style placeholder photo: a grey head-and-shoulders silhouette
/// on a pale background tinted per citizen, with a little deterministic
/// grain so it compresses like a real photo (~10 KB) rather than to nothing.
pub fn photo_jpeg(seed: &str) -> anyhow::Result<Vec<u8>> {
    let pixels = photo_rgb(seed);
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 80)
        .encode(&pixels, PHOTO_W, PHOTO_H, jpeg_encoder::ColorType::Rgb)
        .context("encoding the placeholder photo as JPEG")?;
    libjpeg_marker_order(&out).context("internal error: the encoder wrote an unreadable JPEG")
}

/// The pixels of [`photo_jpeg`]: [`PHOTO_W`] × [`PHOTO_H`], RGB, row by row.
pub(crate) fn photo_rgb(seed: &str) -> Vec<u8> {
    let digest = Sha256::digest(seed.as_bytes());
    let tint = [digest[0] % 40, digest[1] % 40, digest[2] % 40];
    let mut state = u64::from_le_bytes([
        digest[3], digest[4], digest[5], digest[6], digest[7], digest[8], digest[9], digest[10],
    ]) | 1;
    let mut noise = move || {
        // xorshift64: cheap grain, determined by the seed.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        i16::try_from(state % 13).unwrap_or(0) - 6
    };
    let (w, h) = (i32::from(PHOTO_W), i32::from(PHOTO_H));
    let mut pixels = Vec::with_capacity(usize::from(PHOTO_W) * usize::from(PHOTO_H) * 3);
    for y in 0..h {
        for x in 0..w {
            let head = {
                let (dx, dy) = (x - w / 2, y - 78);
                dx * dx * 100 / (34 * 34) + dy * dy * 100 / (42 * 42) <= 100
            };
            let neck = (x - w / 2).abs() < 16 && (110..140).contains(&y);
            let shoulders = {
                let (dx, dy) = (x - w / 2, y - (h + 30));
                dy < 0 && dx * dx * 100 / (78 * 78) + dy * dy * 100 / (80 * 80) <= 100
            };
            let base: [i16; 3] = if head || neck || shoulders {
                // Darker towards the bottom, like studio lighting.
                let shade = i16::try_from(y / 8).unwrap_or(0);
                [96 - shade, 100 - shade, 108 - shade]
            } else {
                let fade = i16::try_from(y / 10).unwrap_or(0);
                [
                    200 + i16::from(tint[0]) - fade,
                    210 + i16::from(tint[1]) - fade,
                    215 + i16::from(tint[2]) - fade,
                ]
            };
            for c in base {
                let v = (c + noise()).clamp(0, 255);
                pixels.push(u8::try_from(v).unwrap_or(0));
            }
        }
    }
    pixels
}

/// `jpeg` with its header segments in the order libjpeg and Java's ImageIO
/// write them, as UIDAI's photos have them: `SOI`, `APP0` (JFIF), the `DQT`s,
/// `SOF0`, the `DHT`s, then `SOS` and the scan. The encoder writes `SOF0`
/// before the quantization tables, which decoders accept but a real photo
/// never shows. `None` when `jpeg` is not a baseline JPEG this can read.
pub fn libjpeg_marker_order(jpeg: &[u8]) -> Option<Vec<u8>> {
    let rank = |marker: u8| match marker {
        0xE0..=0xEF => 0, // APPn
        0xDB => 1,        // DQT
        0xC0..=0xC3 => 2, // SOFn
        0xC4 => 3,        // DHT
        0xDD => 4,        // DRI
        _ => 5,
    };
    let rest = jpeg.strip_prefix(&[0xFF, 0xD8])?;
    let mut segments: Vec<(u8, &[u8])> = Vec::new();
    let mut at = 0;
    loop {
        let marker = *rest.get(at + 1)?;
        if rest.get(at) != Some(&0xFF) {
            return None;
        }
        if marker == 0xDA {
            break;
        }
        let len = usize::from(u16::from_be_bytes([*rest.get(at + 2)?, *rest.get(at + 3)?]));
        let segment = rest.get(at..at + 2 + len)?;
        segments.push((rank(marker), segment));
        at += 2 + len;
    }
    // A stable sort keeps the tables' own order (luma before chroma).
    segments.sort_by_key(|(rank, _)| *rank);
    let mut out = Vec::with_capacity(jpeg.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    for (_, segment) in segments {
        out.extend_from_slice(segment);
    }
    out.extend_from_slice(rest.get(at..)?);
    Some(out)
}

/// The markers of `jpeg`'s header segments in order, up to and including
/// `SOS` (e.g. `[0xD8, 0xE0, 0xDB, 0xDB, 0xC0, 0xC4, ...]`), for tests and
/// tools that check a photo's layout.
pub fn jpeg_markers(jpeg: &[u8]) -> Vec<u8> {
    let mut markers = Vec::new();
    if jpeg.starts_with(&[0xFF, 0xD8]) {
        markers.push(0xD8);
    }
    let mut at = 2;
    while let (Some(0xFF), Some(&marker)) = (jpeg.get(at), jpeg.get(at + 1)) {
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        let Some(len) = jpeg.get(at + 2..at + 4) else {
            break;
        };
        at += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
    }
    markers
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::seed;
    use std::process::Command;
    use std::sync::OnceLock;

    const SHAPES: [EAadhaarShape; 2] = [EAadhaarShape::Real, EAadhaarShape::Legacy];

    /// One CA for the whole test binary: RSA key generation is slow in debug
    /// builds. The temp dir lives as long as the process.
    fn shared() -> &'static (tempfile::TempDir, SigningAuthority) {
        static CA: OnceLock<(tempfile::TempDir, SigningAuthority)> = OnceLock::new();
        CA.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let ca = SigningAuthority::load_or_create(dir.path()).unwrap();
            (dir, ca)
        })
    }

    fn citizen(name: &str) -> Citizen {
        seed::all()
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .unwrap()
    }

    /// Run `xmlsec1 --verify` on `xml` with only the sandbox root trusted:
    /// every other certificate must come from the document's `KeyInfo`.
    /// Returns (success, stderr).
    fn xmlsec_verify(ca: &SigningAuthority, xml: &str) -> (bool, String) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root.pem");
        let doc = dir.path().join("eaadhaar.xml");
        fs::write(&root, ca.root_pem()).unwrap();
        fs::write(&doc, xml).unwrap();
        let out = Command::new("/usr/bin/xmlsec1")
            .arg("--verify")
            .arg("--trusted-pem")
            .arg(&root)
            .arg(&doc)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Our own verifier, as the gateway runs it, trusting only the root.
    fn aadhaar_verify(
        ca: &SigningAuthority,
        xml: &str,
    ) -> Result<aadhaar::Verified, aadhaar::Error> {
        let anchors = aadhaar::TrustAnchors::from_pem(&ca.root_pem()).unwrap();
        aadhaar::verify_and_parse(xml.as_bytes(), &anchors)
    }

    fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
        let start = s.find(open).unwrap() + open.len();
        let end = s[start..].find(close).unwrap() + start;
        &s[start..end]
    }

    fn attribute(xml: &str, element: &str, name: &str) -> String {
        let tag = format!(" {}", between(xml, &format!("<{element} "), ">"));
        between(&tag, &format!(" {name}=\""), "\"").to_owned()
    }

    fn pem_base64(pem: &str) -> String {
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }

    #[test]
    fn both_shapes_verify_with_xmlsec1_and_the_aadhaar_crate_and_tampering_breaks_them() {
        let (_dir, ca) = shared();
        let ramesh = citizen("Ramesh Kumar Sharma");
        for shape in SHAPES {
            let xml = ca.sign_eaadhaar_as(&ramesh, shape).unwrap();
            let (ok, stderr) = xmlsec_verify(ca, &xml);
            assert!(
                ok,
                "{shape}: xmlsec1 rejected the signed e-Aadhaar: {stderr}\n{xml}"
            );
            let verified = aadhaar_verify(ca, &xml)
                .unwrap_or_else(|e| panic!("{shape}: the aadhaar crate rejected it: {e}"));
            assert_eq!(verified.aadhaar.name, "Ramesh Kumar Sharma");
            assert!(verified.signing.signer_subject.contains(SIGNER_CN));
            assert!(verified.signing.signer_issuer.contains(SUB_CA_CN));

            let tampered = xml.replacen(
                "name=\"Ramesh Kumar Sharma\"",
                "name=\"Mallory Kumar Sharma\"",
                1,
            );
            assert_ne!(tampered, xml, "{shape}: the name attribute was not found");
            let (ok, _) = xmlsec_verify(ca, &tampered);
            assert!(!ok, "{shape}: xmlsec1 accepted a tampered e-Aadhaar");
            assert!(aadhaar_verify(ca, &tampered).is_err(), "{shape}");
        }
    }

    #[test]
    fn in_the_real_shape_the_whitespace_is_signed_too() {
        let (_dir, ca) = shared();
        let xml = ca
            .sign_eaadhaar_as(&citizen("Ananya Chatterjee"), EAadhaarShape::Real)
            .unwrap();
        // Inside SignedInfo (covered by the signature value), and a newline
        // slipped into the data (covered by the digest over inclusive C14N).
        for (what, from, to) in [
            (
                "SignedInfo",
                "/>\n    <SignatureMethod",
                "/>\n      <SignatureMethod",
            ),
            ("SignedInfo", "/>\n  <Reference", "/><Reference"),
            ("data", "<UidData", "\n<UidData"),
        ] {
            assert!(xml.contains(from), "{what}: {from:?} not in\n{xml}");
            let changed = xml.replacen(from, to, 1);
            let (ok, _) = xmlsec_verify(ca, &changed);
            assert!(!ok, "xmlsec1 accepted changed whitespace in {what}");
            assert!(aadhaar_verify(ca, &changed).is_err(), "{what}");
        }
        // Around SignedInfo and KeyInfo it is outside what is signed (as with
        // DigiLocker): changing it changes nothing.
        for (from, to) in [
            ("\n  <SignedInfo>", "<SignedInfo>"),
            ("\n<KeyInfo>", "\n    <KeyInfo>"),
        ] {
            let changed = xml.replacen(from, to, 1);
            assert_ne!(changed, xml);
            assert!(xmlsec_verify(ca, &changed).0, "{from:?}");
        }
    }

    /// The whitespace text nodes inside the root, as (parent, text), in
    /// document order; and how many elements there are.
    fn whitespace_nodes(xml: &str) -> (Vec<(String, String)>, usize) {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut stack: Vec<String> = Vec::new();
        let mut nodes = Vec::new();
        let mut elements = 0;
        loop {
            match reader.read_event().unwrap() {
                Event::Start(e) => {
                    elements += 1;
                    stack.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                }
                Event::Empty(_) => elements += 1,
                Event::End(_) => {
                    stack.pop();
                }
                Event::Text(t) => {
                    let text = String::from_utf8(t.to_vec()).unwrap();
                    if text.trim().is_empty() && !stack.is_empty() {
                        nodes.push((stack.last().unwrap().clone(), text));
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        (nodes, elements)
    }

    #[test]
    fn the_real_shape_has_digilockers_six_lines_and_four_whitespace_nodes() {
        let (_dir, ca) = shared();
        for c in seed::all().iter().filter(|c| c.eaadhaar_available) {
            let xml = ca.sign_eaadhaar_as(c, EAadhaarShape::Real).unwrap();
            // Six lines: the declaration, the data and the signature's head,
            // SignatureMethod, the Reference and SignatureValue, KeyInfo;
            // and a newline at the end, as PHP's saveXML writes it.
            assert_eq!(xml.lines().count(), 6, "{}:\n{xml}", c.name);
            assert_eq!(xml.matches('\n').count(), 6, "{}", c.name);
            assert!(xml.ends_with("</Certificate>\n"), "{}", c.name);
            let (nodes, elements) = whitespace_nodes(&xml);
            let expected: Vec<(String, String)> = REAL_SIGNATURE_WHITESPACE
                .iter()
                .map(|(parent, text)| ((*parent).to_owned(), (*text).to_owned()))
                .collect();
            assert_eq!(nodes, expected, "{}", c.name);
            assert!(elements > 20, "{elements}");
            // Nothing at all between the data's elements: UidData's children
            // are Poi, Poa, LData, Pht by position.
            let data = between(&xml, "<CertificateData>", "</CertificateData>");
            assert!(!data.contains(">\n") && !data.contains("> <"), "{}", c.name);
            assert!(
                between(&xml, "\n", "<Signature ")
                    .starts_with("<Certificate><CertificateData><KycRes "),
                "{}",
                c.name
            );
            let uid_data = between(&xml, "<UidData ", "</UidData>");
            let children: Vec<&str> = uid_data
                .split('<')
                .skip(1)
                .filter(|t| !t.starts_with('/'))
                .map(|t| t.split([' ', '/', '>']).next().unwrap())
                .collect();
            let mut want = vec!["Poi", "Poa"];
            if c.local.is_some() {
                want.push("LData");
            }
            want.push("Pht");
            assert_eq!(children, want, "{}", c.name);
        }
        // The legacy shape has none at all.
        let legacy = ca
            .sign_eaadhaar_as(&citizen("Ramesh Kumar Sharma"), EAadhaarShape::Legacy)
            .unwrap();
        assert_eq!(whitespace_nodes(&legacy).0, Vec::new());
    }

    #[test]
    fn xml_special_characters_and_local_scripts_survive_signing() {
        let (_dir, ca) = shared();
        let maria = citizen("Maria D'Souza");
        let priya = citizen("Priya Venkataraman");
        for shape in SHAPES {
            let xml = ca.sign_eaadhaar_as(&maria, shape).unwrap();
            assert!(xml.contains("Flat 3 &amp; 4, &quot;Sea View&quot; &lt;Annexe&gt;"));
            let (ok, stderr) = xmlsec_verify(ca, &xml);
            assert!(ok, "{shape}: {stderr}");
            let v = aadhaar_verify(ca, &xml).unwrap();
            assert!(
                v.aadhaar.address.house.contains("\"Sea View\" <Annexe>"),
                "{shape}"
            );

            let xml = ca.sign_eaadhaar_as(&priya, shape).unwrap();
            assert!(xml.contains("name=\"பிரியா வெங்கடராமன்\""), "{shape}");
            let (ok, stderr) = xmlsec_verify(ca, &xml);
            assert!(ok, "{shape}: {stderr}");
            let v = aadhaar_verify(ca, &xml).unwrap();
            assert_eq!(v.aadhaar.local.unwrap().language, "20", "{shape}");
        }
    }

    #[test]
    fn the_real_shape_is_laid_out_as_digilocker_sends_it() {
        let (_dir, ca) = shared();
        let lakshmi = citizen("Lakshmi");
        let xml = ca.sign_eaadhaar_as(&lakshmi, EAadhaarShape::Real).unwrap();
        // The declaration on its own line, then the data with no whitespace.
        assert!(
            xml.starts_with(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Certificate>\
                 <CertificateData><KycRes code=\""
            ),
            "{xml}"
        );
        assert!(
            xml.ends_with("</X509Data></KeyInfo></Signature></Certificate>\n"),
            "{xml}"
        );
        let last4 = &lakshmi.aadhaar.clone().unwrap()[8..];
        assert!(xml.contains(&format!("uid=\"xxxxxxxx{last4}\">")));
        assert!(!xml.contains(lakshmi.aadhaar.as_deref().unwrap()));
        assert!(xml.contains("\"><Poi dob=\"01-01-1960\" gender=\"F\" name=\"Lakshmi\"/><Poa "));
        // Empty address attributes are left out; a local country of one
        // space is kept, as UIDAI sends it.
        assert!(xml.contains(
            "<Poa country=\"India\" dist=\"Mysuru\" pc=\"571105\" state=\"Karnataka\" vtc=\"Hunsur\"/>"
        ));
        assert!(xml.contains(
            "<LData country=\" \" dist=\"ಮೈಸೂರು\" lang=\"07\" name=\"ಲಕ್ಷ್ಮಿ\" pc=\"571105\" \
             state=\"ಕರ್ನಾಟಕ\" vtc=\"ಹುಣಸೂರು\"/><Pht>"
        ));
        assert!(!xml.contains("<Rar") && !xml.contains("<Prn"));
        // The signature, element by element, with the whitespace xmlseclibs
        // leaves (module docs).
        let signature = format!(
            "</CertificateData><Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">\
             \n  <SignedInfo>\
             <CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
             \n    <SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\"/>\
             \n  <Reference URI=\"\">\
             <Transforms>\
             <Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
             </Transforms>\
             <DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
             <DigestValue>{}</DigestValue>\
             </Reference>\
             </SignedInfo>\
             <SignatureValue>{}</SignatureValue>\
             \n<KeyInfo>\
             <X509Data><X509SubjectName>",
            between(&xml, "<DigestValue>", "</DigestValue>"),
            between(&xml, "<SignatureValue>", "</SignatureValue>"),
        );
        assert!(xml.contains(&signature), "{xml}");
        // KeyInfo: (subject, certificate) pairs in DigiLocker's order: leaf,
        // root, CA, sub-CA. Lakshmi's eKYC predates the rotation.
        assert_eq!(lakshmi.eaadhaar_signer, EAadhaarSigner::Previous);
        let pairs = key_info_pairs(&xml);
        let expected = [
            (PREVIOUS_SIGNER_CN, ca.previous_signer_pem()),
            (ROOT_CN, ca.root_pem()),
            (CA_CN, ca.ca_pem()),
            (SUB_CA_CN, ca.sub_ca_pem()),
        ];
        assert_eq!(pairs.len(), 4, "{pairs:?}");
        for ((subject, cert), (cn, pem)) in pairs.iter().zip(expected) {
            assert!(subject.starts_with(&format!("CN={cn},")), "{subject}");
            assert!(subject.ends_with(",C=IN"), "{subject}");
            assert_eq!(cert, &pem_base64(&pem), "{cn}");
        }
    }

    /// The (`X509SubjectName`, `X509Certificate`) pairs of a real-shaped
    /// e-Aadhaar's `KeyInfo`.
    fn key_info_pairs(xml: &str) -> Vec<(String, String)> {
        let key_info = between(xml, "<X509Data>", "</X509Data>");
        let mut pairs = Vec::new();
        let mut rest = key_info;
        while let Some(at) = rest.find("<X509SubjectName>") {
            rest = &rest[at..];
            let subject = between(rest, "<X509SubjectName>", "</X509SubjectName>");
            let cert = between(rest, "<X509Certificate>", "</X509Certificate>");
            pairs.push((subject.to_owned(), cert.to_owned()));
            rest = &rest[rest.find("</X509Certificate>").unwrap()..];
        }
        pairs
    }

    #[test]
    fn subject_names_carry_unescaped_commas_as_digilockers_do() {
        let (_dir, ca) = shared();
        let xml = ca
            .sign_eaadhaar_as(&citizen("Ramesh Kumar Sharma"), EAadhaarShape::Real)
            .unwrap();
        let pairs = key_info_pairs(&xml);
        // The CA, as SafeScrypt CA 2022: its house and street hold commas,
        // written as they are, most specific attribute first.
        assert_eq!(
            pairs[2].0,
            format!(
                "CN={CA_CN},houseIdentifier=II Floor, Sandbox Park,street=No.4, Sandbox Salai,\
                 ST=Tamil Nadu,postalCode=600113,OU=Certifying Authority,O={CA_ORGANISATION},C=IN"
            )
        );
        assert!(!pairs.iter().any(|(s, _)| s.contains('\\')), "{pairs:?}");
        assert_eq!(
            pairs[0].0,
            format!(
                "CN={SIGNER_CN},street=Sandbox Niketan, 6 CGO Complex, Lodhi Road,ST=Delhi,\
                 postalCode=110003,OU=DigiLocker,O={SIGNER_ORGANISATION},C=IN"
            )
        );
        assert_eq!(
            pairs[3].0,
            format!("CN={SUB_CA_CN},OU=Sub-CA,O={CA_ORGANISATION},C=IN")
        );
        // Naive splitting on commas gets more parts than the name has.
        assert!(pairs[2].0.split(',').count() > 8);
        // The certificates themselves encode those values properly.
        let text = openssl_text(&ca.ca_pem());
        assert!(text.contains("street = \"No.4, Sandbox Salai\""), "{text}");
    }

    #[test]
    fn real_kyc_values_have_digilockers_formats() {
        let (_dir, ca) = shared();
        let now = OffsetDateTime::now_utc();
        let ist = UtcOffset::from_hms(5, 30, 0).unwrap();
        let mut ages = std::collections::BTreeSet::new();
        for c in seed::all()
            .iter()
            .filter(|c| c.eaadhaar_available && c.eaadhaar_signer != EAadhaarSigner::Expired)
        {
            let xml = ca.sign_eaadhaar_as(c, EAadhaarShape::Real).unwrap();
            // ts: 2023-09-15T12:05:11.310+05:30, days to months before now.
            let ts = &attribute(&xml, "KycRes", "ts");
            assert_eq!(ts.len(), 29, "{ts}");
            assert!(ts.ends_with("+05:30") && &ts[19..20] == ".", "{ts}");
            let parsed =
                OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).unwrap();
            let age = now - parsed;
            assert!(
                age > Duration::days(2) && age < Duration::days(181),
                "{}: ts {ts} is {age} old",
                c.name
            );
            ages.insert(age.whole_days());
            // ttl: no fraction, no offset.
            let ttl = &attribute(&xml, "KycRes", "ttl");
            assert_eq!(ttl.len(), 19, "{ttl}");
            assert!(time::PrimitiveDateTime::parse(
                ttl,
                &time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]")
            )
            .is_ok());
            // txn: UKC: + 32 hex + the eKYC time as 14 digits.
            let txn = &attribute(&xml, "KycRes", "txn");
            let (hexpart, stamp) = txn.strip_prefix("UKC:").unwrap().split_at(32);
            assert!(hexpart.bytes().all(|b| b.is_ascii_hexdigit()), "{txn}");
            let t = parsed.to_offset(ist);
            assert_eq!(
                stamp,
                format!(
                    "{:04}{:02}{:02}{:02}{:02}{:02}",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second()
                )
            );
            // tkn: 72 base64 characters.
            let tkn = &attribute(&xml, "UidData", "tkn");
            assert_eq!(tkn.len(), 72, "{tkn}");
            assert!(base64::engine::general_purpose::STANDARD
                .decode(tkn)
                .is_ok());
            // A whole file is 15-18 KB with the photo, as DigiLocker's are.
            assert!(
                (15_000..=18_000).contains(&xml.len()),
                "{}: {} bytes",
                c.name,
                xml.len()
            );
        }
        // The eKYC age varies between citizens.
        assert!(ages.len() >= 5, "{ages:?}");
    }

    #[test]
    fn a_citizens_ekyc_is_the_same_age_at_every_download() {
        let (_dir, ca) = shared();
        let arjun = citizen("Arjun Reddy");
        let aadhaar = arjun.aadhaar.clone().unwrap();
        let first = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let later = first + Duration::days(40) + Duration::seconds(7);
        let ts_at = |now| {
            let xml = ca
                .sign_at(&arjun, &aadhaar, EAadhaarShape::Real, now)
                .unwrap();
            OffsetDateTime::parse(
                &attribute(&xml, "KycRes", "ts"),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        };
        assert_eq!(ts_at(later) - ts_at(first), later - first);
        assert_ne!(
            ekyc_time(&arjun, first),
            ekyc_time(&citizen("Lakshmi"), first)
        );
    }

    /// xmlsec1 with the chain judged at `at` (`--verification-gmt-time`).
    fn xmlsec_verify_at(ca: &SigningAuthority, xml: &str, at: OffsetDateTime) -> bool {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root.pem");
        let doc = dir.path().join("eaadhaar.xml");
        fs::write(&root, ca.root_pem()).unwrap();
        fs::write(&doc, xml).unwrap();
        let at = at.to_offset(UtcOffset::UTC);
        Command::new("/usr/bin/xmlsec1")
            .arg("--verify")
            .arg("--trusted-pem")
            .arg(&root)
            .arg("--verification-gmt-time")
            .arg(format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute(),
                at.second()
            ))
            .arg(&doc)
            .output()
            .unwrap()
            .status
            .success()
    }

    fn validity(pem: &str) -> (OffsetDateTime, OffsetDateTime) {
        let der = certificate_der(pem, Path::new("test")).unwrap();
        let cert = x509_cert::Certificate::from_der(&der).unwrap();
        let v = &cert.tbs_certificate.validity;
        (unix_time(&v.not_before), unix_time(&v.not_after))
    }

    #[test]
    fn the_expired_signer_signs_its_citizen_at_a_time_inside_its_validity() {
        let (_dir, ca) = shared();
        let harish = seed::all()
            .iter()
            .find(|c| c.eaadhaar_signer == EAadhaarSigner::Expired)
            .cloned()
            .expect("a citizen signed by the expired signer");
        let now = OffsetDateTime::now_utc();
        let (from, until) = validity(&ca.expired_signer_pem());
        assert!(
            until < now - Duration::days(300),
            "expired about a year ago"
        );
        assert!(now - from > Duration::days(700), "{from}");
        // The whole chain was valid from before the signer's start.
        for pem in [ca.root_pem(), ca.ca_pem(), ca.sub_ca_pem()] {
            assert!(validity(&pem).0 <= from);
        }
        for shape in SHAPES {
            let xml = ca.sign_eaadhaar_as(&harish, shape).unwrap();
            assert!(
                xml.contains(&pem_base64(&ca.expired_signer_pem())),
                "{shape}"
            );
            assert!(!xml.contains(&pem_base64(&ca.signer_pem())), "{shape}");
            let ts = OffsetDateTime::parse(
                &attribute(&xml, "KycRes", "ts"),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap();
            let age = now - ts;
            assert!(
                age >= Duration::days(EXPIRED_SIGNER_EKYC_AGE_DAYS)
                    && age <= Duration::days(EXPIRED_SIGNER_EKYC_AGE_DAYS + 1),
                "{shape}: {age}"
            );
            assert!(from < ts && ts < until, "{shape}");
            // xmlsec1 accepts it judged at its signing time, not today.
            assert!(xmlsec_verify_at(ca, &xml, ts), "{shape}");
            assert!(!xmlsec_verify_at(ca, &xml, now), "{shape}");
            // The gateway's verifier: genuine, judged at ts; too old for a year's limit.
            let v = aadhaar_verify(ca, &xml).unwrap_or_else(|e| panic!("{shape}: {e}"));
            assert!(v.signing.signer_subject.contains(EXPIRED_SIGNER_CN));
            assert_eq!(v.signing.chain_validated_at, ts);
            let anchors = aadhaar::TrustAnchors::from_pem(&ca.root_pem()).unwrap();
            let strict = aadhaar::VerifyOptions {
                max_age: Some(Duration::days(365)),
                ..aadhaar::VerifyOptions::default()
            };
            assert!(matches!(
                aadhaar::verify_and_parse_with(xml.as_bytes(), &anchors, &strict),
                Err(aadhaar::Error::TooOld { .. })
            ));
        }
        // Everyone else is signed by the current signer.
        let xml = ca
            .sign_eaadhaar_as(&citizen("Ramesh Kumar Sharma"), EAadhaarShape::Real)
            .unwrap();
        assert!(!xml.contains(EXPIRED_SIGNER_CN));
    }

    #[test]
    fn the_expired_signer_is_made_at_every_start_from_the_files_there() {
        let (dir, ca) = shared();
        let again = SigningAuthority::load_or_create(dir.path()).unwrap();
        // A new certificate (serial), the same key, name and issuer.
        assert_ne!(again.expired_signer_pem(), ca.expired_signer_pem());
        assert_eq!(again.expired_signer.subject, ca.expired_signer.subject);
        let a = openssl_text(&ca.expired_signer_pem());
        let b = openssl_text(&again.expired_signer_pem());
        let issuer = |t: &str| {
            t.lines()
                .find(|l| l.trim_start().starts_with("Issuer:"))
                .unwrap()
                .to_owned()
        };
        assert_eq!(issuer(&a), issuer(&openssl_text(&ca.signer_pem())));
        assert_eq!(issuer(&a), issuer(&b));
        let modulus = |t: &str| between(t, "Modulus:", "Exponent").to_owned();
        // A renewal of the previous signer without re-keying.
        assert_eq!(
            modulus(&a),
            modulus(&openssl_text(&ca.previous_signer_pem()))
        );
        assert_ne!(modulus(&a), modulus(&openssl_text(&ca.signer_pem())));
        assert!(a.contains("CA:FALSE") && a.contains("Digital Signature, Non Repudiation"));
    }

    #[test]
    fn the_legacy_shape_is_the_earlier_layout() {
        let (_dir, ca) = shared();
        let lakshmi = citizen("Lakshmi");
        let xml = ca
            .sign_eaadhaar_as(&lakshmi, EAadhaarShape::Legacy)
            .unwrap();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><Certificate><CertificateData><KycRes code=\""));
        assert!(!xml.contains('\n'));
        assert!(xml.contains("<Poi dob=\"01-01-1960\" gender=\"F\" name=\"Lakshmi\"/>"));
        assert!(xml.contains(
            "<Poa country=\"India\" dist=\"Mysuru\" pc=\"571105\" state=\"Karnataka\" vtc=\"Hunsur\"/>"
        ));
        // The blank local country is left out here.
        assert!(xml.contains("<LData lang=\"07\" name=\"ಲಕ್ಷ್ಮಿ\" dist="));
        assert!(!xml.contains("country=\" \""));
        for part in [
            "<Reference URI=\"\"><Transforms><Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></Transforms>",
            "<SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\"/>",
            "<DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>",
            "<CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
        ] {
            assert!(xml.contains(part), "missing {part}");
        }
        // KeyInfo: the chain below the root, in chain order, no subject
        // names; Lakshmi's signer is the one before the rotation.
        assert!(!xml.contains("X509SubjectName"));
        let certs = |xml: &str| -> Vec<String> {
            xml.split("<X509Certificate>")
                .skip(1)
                .map(|s| s.split("</X509Certificate>").next().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            certs(&xml),
            [
                pem_base64(&ca.previous_signer_pem()),
                pem_base64(&ca.sub_ca_pem()),
                pem_base64(&ca.ca_pem())
            ]
        );
        let ts_of = |xml: &str| {
            OffsetDateTime::parse(
                &attribute(xml, "KycRes", "ts"),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        };
        // ts: the eKYC time for a signer rotated out, the download time for
        // the current one.
        let now = OffsetDateTime::now_utc();
        assert!(now - ts_of(&xml) > Duration::days(ROTATED_DAYS_AGO));
        let ramesh = ca
            .sign_eaadhaar_as(&citizen("Ramesh Kumar Sharma"), EAadhaarShape::Legacy)
            .unwrap();
        assert!(now - ts_of(&ramesh) < Duration::hours(1));
        assert_eq!(certs(&ramesh)[0], pem_base64(&ca.signer_pem()));
    }

    #[test]
    fn the_photo_is_a_small_real_jpeg() {
        let (_dir, ca) = shared();
        let xml = ca
            .sign_eaadhaar_as(&citizen("Kavya Nair"), EAadhaarShape::Real)
            .unwrap();
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(between(&xml, "<Pht>", "</Pht>"))
            .unwrap();
        assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF]);
        assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9]);
        // libjpeg's (and UIDAI's) order: SOI, APP0 JFIF, DQT, DQT, SOF0,
        // four DHT, SOS; the quantization tables before the frame header.
        assert_eq!(
            jpeg_markers(&jpeg),
            [0xD8, 0xE0, 0xDB, 0xDB, 0xC0, 0xC4, 0xC4, 0xC4, 0xC4, 0xDA]
        );
        assert_eq!(&jpeg[6..11], b"JFIF\0");
        // About what UIDAI sends: a few kilobytes.
        assert!((3_000..8_000).contains(&jpeg.len()), "{} bytes", jpeg.len());
    }

    #[test]
    fn the_configured_shape_is_what_sign_eaadhaar_produces() {
        let dir = tempfile::tempdir().unwrap();
        // Reuse the shared CA's files rather than generating keys again.
        for f in ALL_FILES {
            fs::copy(shared().0.path().join(f), dir.path().join(f)).unwrap();
        }
        let ca = SigningAuthority::load_or_create(dir.path()).unwrap();
        assert_eq!(ca.shape(), EAadhaarShape::Real);
        let ramesh = citizen("Ramesh Kumar Sharma");
        assert!(ca
            .sign_eaadhaar(&ramesh)
            .unwrap()
            .contains("<X509SubjectName>"));
        let ca = ca.with_shape(EAadhaarShape::Legacy);
        assert!(!ca
            .sign_eaadhaar(&ramesh)
            .unwrap()
            .contains("<X509SubjectName>"));
        assert_eq!("Legacy".parse(), Ok(EAadhaarShape::Legacy));
        assert_eq!("real".parse(), Ok(EAadhaarShape::Real));
        assert!("fancy".parse::<EAadhaarShape>().is_err());
    }

    #[test]
    fn citizens_without_eaadhaar_are_refused_with_the_reason() {
        let (_dir, ca) = shared();
        let irfan = citizen("Mohammed Irfan Khan");
        let sunita = citizen("Sunita Devi");
        for shape in SHAPES {
            let err = ca.sign_eaadhaar_as(&irfan, shape).unwrap_err();
            assert_eq!(
                err.downcast_ref::<EAadhaarUnavailable>(),
                Some(&EAadhaarUnavailable::NotLinked)
            );
            let err = ca.sign_eaadhaar_as(&sunita, shape).unwrap_err();
            assert_eq!(
                err.downcast_ref::<EAadhaarUnavailable>(),
                Some(&EAadhaarUnavailable::NotAvailable)
            );
        }
    }

    #[test]
    fn repeated_requests_are_cached() {
        let (_dir, ca) = shared();
        let arjun = citizen("Arjun Reddy");
        for shape in SHAPES {
            let first = ca.sign_eaadhaar_as(&arjun, shape).unwrap();
            let start = std::time::Instant::now();
            let second = ca.sign_eaadhaar_as(&arjun, shape).unwrap();
            assert_eq!(first, second);
            assert!(start.elapsed() < std::time::Duration::from_millis(50));
        }
        assert_ne!(
            ca.sign_eaadhaar_as(&arjun, EAadhaarShape::Real).unwrap(),
            ca.sign_eaadhaar_as(&arjun, EAadhaarShape::Legacy).unwrap()
        );
    }

    #[test]
    fn load_or_create_keeps_the_same_ca_and_protects_keys() {
        let (dir, ca) = shared();
        let again = SigningAuthority::load_or_create(dir.path()).unwrap();
        assert_eq!(again.root_pem(), ca.root_pem());
        assert_eq!(again.previous_signer_pem(), ca.previous_signer_pem());
        assert_eq!(again.intermediates_pem(), ca.ca_pem() + &ca.sub_ca_pem());
        assert!(ca.root_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        // The current signer is certified afresh at every start, with the
        // same key.
        assert_ne!(again.signer_pem(), ca.signer_pem());
        let modulus = |pem: &str| between(&openssl_text(pem), "Modulus:", "Exponent").to_owned();
        assert_eq!(modulus(&again.signer_pem()), modulus(&ca.signer_pem()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            for key in [ROOT_KEY, CA_KEY, SUB_CA_KEY, SIGNER_KEY, CURRENT_SIGNER_KEY] {
                let mode = fs::metadata(dir.path().join(key))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{key}");
            }
        }
        // A document signed by the reloaded CA verifies against the first root.
        let xml = again.sign_eaadhaar(&citizen("Kavya Nair")).unwrap();
        let (ok, stderr) = xmlsec_verify(ca, &xml);
        assert!(ok, "{stderr}");
    }

    #[test]
    fn an_older_three_level_ca_directory_is_retired_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        // The six files an older sandbox wrote (contents are kept as they are).
        for name in OLD_FILES {
            fs::write(dir.path().join(name), format!("old {name}")).unwrap();
        }
        let ca = SigningAuthority::load_or_create(dir.path()).unwrap();
        assert!(missing_files(dir.path()).is_empty());
        assert!(!dir.path().join("intermediate.pem").exists());
        let retired: Vec<PathBuf> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(RETIRED_PREFIX))
            })
            .collect();
        assert_eq!(retired.len(), 1, "{retired:?}");
        for name in OLD_FILES {
            assert_eq!(
                fs::read_to_string(retired[0].join(name)).unwrap(),
                format!("old {name}")
            );
        }
        // The new CA works, and a second start loads it instead of retiring again.
        let xml = ca.sign_eaadhaar(&citizen("Ramesh Kumar Sharma")).unwrap();
        assert!(xmlsec_verify(&ca, &xml).0);
        let again = SigningAuthority::load_or_create(dir.path()).unwrap();
        assert_eq!(again.root_pem(), ca.root_pem());
    }

    #[test]
    fn concurrent_starts_on_one_directory_share_one_ca() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca");
        let roots: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|_| s.spawn(|| SigningAuthority::load_or_create(&path).unwrap().root_pem()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(roots.iter().all(|r| r == &roots[0]));
        assert!(!path.join(LOCK_FILE).exists());
    }

    #[test]
    fn an_incomplete_ca_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(ROOT_CERT), "not a certificate").unwrap();
        let err = SigningAuthority::load_or_create(dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("incomplete") && msg.contains("signer.key") && msg.contains("sub-ca.pem"),
            "{msg}"
        );
    }

    /// `openssl x509 -text` of a PEM certificate.
    fn openssl_text(pem: &str) -> String {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-text"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child.stdin.take().unwrap().write_all(pem.as_bytes())?;
                child.wait_with_output()
            })
            // openssl is part of every Debian image xmlsec1 runs on.
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn the_pki_has_the_real_ones_depth_roles_and_extensions() {
        let (_dir, ca) = shared();
        let root = openssl_text(&ca.root_pem());
        let mid = openssl_text(&ca.ca_pem());
        let sub = openssl_text(&ca.sub_ca_pem());
        let leaf = openssl_text(&ca.signer_pem());
        let issuer_subject = |text: &str, cn: &str| {
            assert!(text.contains(&format!("CN = {cn}")), "{text}");
            assert!(text.contains("NOT A REAL"), "{text}");
        };
        issuer_subject(&root, ROOT_CN);
        issuer_subject(&mid, CA_CN);
        issuer_subject(&sub, SUB_CA_CN);
        issuer_subject(&leaf, SIGNER_CN);
        assert!(root.contains(&format!(
            "Issuer: C = IN, O = {ROOT_ORGANISATION}, CN = {ROOT_CN}"
        )));
        assert!(mid.contains(&format!(
            "Issuer: C = IN, O = {ROOT_ORGANISATION}, CN = {ROOT_CN}"
        )));
        assert!(
            sub.contains(&format!("CN = {CA_CN}\n"))
                && sub.contains("Issuer: C = IN, O = SafeScrypt")
        );
        assert!(leaf.contains(&format!(
            "Issuer: C = IN, O = {CA_ORGANISATION}, OU = Sub-CA, CN = {SUB_CA_CN}"
        )));
        // CAs: basic constraints with the path lengths of India PKI, key usage.
        assert!(root.contains("X509v3 Basic Constraints: critical\n                CA:TRUE\n"));
        assert!(mid.contains("CA:TRUE, pathlen:1"));
        assert!(sub.contains("CA:TRUE, pathlen:0"));
        for ca_text in [&root, &mid, &sub] {
            assert!(ca_text.contains(
                "X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign"
            ));
        }
        // Intermediates: policies, AIA and CRL like SafeScrypt's.
        for text in [&mid, &sub] {
            assert!(text.contains("Policy: 2.16.356.100.2\n"), "{text}");
            assert!(text.contains("OCSP - URI:http://pki.digilocker-sandbox.invalid/"));
            assert!(text.contains("CA Issuers - URI:http://pki.digilocker-sandbox.invalid/"));
            assert!(text.contains("X509v3 CRL Distribution Points"));
            assert!(text.contains("X509v3 Authority Key Identifier"));
        }
        // Leaf: a document signer, not a CA.
        assert!(leaf.contains("CA:FALSE"));
        assert!(leaf.contains("Digital Signature, Non Repudiation"));
        assert!(leaf.contains("E-mail Protection"), "{leaf}");
        assert!(
            leaf.contains("1.3.6.1.4.1.311.10.3.12") || leaf.contains("Microsoft Document Signing"),
            "{leaf}"
        );
        assert!(
            leaf.contains("Policy: 2.16.356.100.2.2") && leaf.contains("Policy: 2.16.356.100.10.1")
        );
        assert!(leaf.contains("OCSP - URI:") && leaf.contains("CA Issuers - URI:"));
        assert!(leaf.contains("X509v3 CRL Distribution Points"));
        assert!(leaf.contains("Public-Key: (2048 bit)"));
        // The root is RSA-4096 like CCA India 2022; the rest RSA-2048.
        assert!(root.contains("Public-Key: (4096 bit)"), "{root}");
        for text in [&mid, &sub, &openssl_text(&ca.previous_signer_pem())] {
            assert!(text.contains("Public-Key: (2048 bit)"));
        }
    }

    #[test]
    fn the_leaf_was_rotated_and_older_eaadhaars_keep_the_previous_one() {
        let (_dir, ca) = shared();
        let now = OffsetDateTime::now_utc();
        let (current_from, current_until) = validity(&ca.signer_pem());
        let (previous_from, previous_until) = validity(&ca.previous_signer_pem());
        // A new certificate and a new key, valid from the rotation on.
        let modulus = |pem: &str| between(&openssl_text(pem), "Modulus:", "Exponent").to_owned();
        assert_ne!(
            modulus(&ca.signer_pem()),
            modulus(&ca.previous_signer_pem())
        );
        let rotated = now - current_from;
        assert!(
            rotated >= Duration::days(ROTATED_DAYS_AGO)
                && rotated <= Duration::days(ROTATED_DAYS_AGO + 1),
            "{rotated}"
        );
        assert!(current_until > now + Duration::days(365));
        // The previous leaf is older, and still valid today.
        assert!(previous_from < current_from && previous_until > now);
        let by = |signer: EAadhaarSigner| -> Vec<&Citizen> {
            seed::all()
                .iter()
                .filter(|c| c.eaadhaar_available && c.eaadhaar_signer == signer)
                .collect()
        };
        assert!(by(EAadhaarSigner::Previous).len() >= 3);
        assert!(by(EAadhaarSigner::Current).len() >= 3);
        for (signer, pem, cn) in [
            (EAadhaarSigner::Current, ca.signer_pem(), SIGNER_CN),
            (
                EAadhaarSigner::Previous,
                ca.previous_signer_pem(),
                PREVIOUS_SIGNER_CN,
            ),
        ] {
            let (from, until) = validity(&pem);
            for c in by(signer) {
                let xml = ca.sign_eaadhaar_as(c, EAadhaarShape::Real).unwrap();
                assert_eq!(key_info_pairs(&xml)[0].1, pem_base64(&pem), "{}", c.name);
                let ts = OffsetDateTime::parse(
                    &attribute(&xml, "KycRes", "ts"),
                    &time::format_description::well_known::Rfc3339,
                )
                .unwrap();
                // Signed at its eKYC, inside its signer's validity: before
                // the rotation for the previous signer, after it for the
                // current one.
                assert!(from <= ts && ts < until, "{}", c.name);
                match signer {
                    EAadhaarSigner::Previous => assert!(ts < current_from, "{}", c.name),
                    _ => assert!(ts >= current_from, "{}", c.name),
                }
                let (ok, stderr) = xmlsec_verify(ca, &xml);
                assert!(ok, "{}: {stderr}", c.name);
                let v = aadhaar_verify(ca, &xml).unwrap_or_else(|e| panic!("{}: {e}", c.name));
                assert!(
                    v.signing.signer_subject.contains(&format!("CN={cn},"))
                        || v.signing.signer_subject.ends_with(&format!("CN={cn}")),
                    "{}: {}",
                    c.name,
                    v.signing.signer_subject
                );
            }
        }
    }
}
