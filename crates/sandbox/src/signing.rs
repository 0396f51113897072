//! The sandbox CA and the e-Aadhaar XML, signed as DigiLocker signs it.
//!
//! OWNER: content helper. Interface below is fixed.
//!
//! DigiLocker signs e-Aadhaar with an NeGD certificate chaining up to the
//! CCA India root. The sandbox cannot, so it makes its own three-level PKI on
//! first start: a root ("DigiLocker Sandbox Root CA"), an intermediate and an
//! RSA-2048 signing leaf ("NeGD DigiLocker Sandbox Signer"), all marked as
//! sandbox in their subject. A gateway in sandbox mode trusts this root
//! ([`SigningAuthority::root_pem`]) instead of CCA India's, and validates the
//! chain exactly as it would in production.
//!
//! The signature has DigiLocker's shape: enveloped XMLDSig over the whole
//! document (`Reference URI=""`), transforms enveloped-signature + exclusive
//! C14N, digest SHA-256, signature RSA-SHA1, and `KeyInfo/X509Data` with the
//! leaf and the intermediate. Canonicalization and signing are bergshamra's.

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
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SerialNumber, PKCS_RSA_SHA256,
};
use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
use sha2::{Digest as _, Sha256};
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::seed::{Address, Citizen};

/// Names of the files kept in the CA directory. Keys are owner-only (0600).
const ROOT_CERT: &str = "root.pem";
const ROOT_KEY: &str = "root.key";
const INTERMEDIATE_CERT: &str = "intermediate.pem";
const INTERMEDIATE_KEY: &str = "intermediate.key";
const SIGNER_CERT: &str = "signer.pem";
const SIGNER_KEY: &str = "signer.key";
const ALL_FILES: [&str; 6] = [
    ROOT_CERT,
    ROOT_KEY,
    INTERMEDIATE_CERT,
    INTERMEDIATE_KEY,
    SIGNER_CERT,
    SIGNER_KEY,
];

/// Present while one process creates the CA; others wait for it to go.
const LOCK_FILE: &str = ".creating";
/// How long to wait for another process to finish creating the CA (RSA key
/// generation takes seconds in debug builds).
const CREATE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Subject common names, so testers recognise the chain in any certificate viewer.
pub const ROOT_CN: &str = "DigiLocker Sandbox Root CA";
/// Common name of the intermediate CA.
pub const INTERMEDIATE_CN: &str = "DigiLocker Sandbox Intermediate CA";
/// Common name of the signing leaf, after NeGD's real signer.
pub const SIGNER_CN: &str = "NeGD DigiLocker Sandbox Signer";
const ORGANISATION: &str = "DigiLocker Sandbox - NOT A REAL CERTIFICATION AUTHORITY";

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

/// A root CA, an intermediate and a signing leaf, created on first start and
/// kept in a directory.
pub struct SigningAuthority {
    dir: PathBuf,
    root_pem: String,
    intermediate_pem: String,
    signer_pem: String,
    /// The signing key with its chain (leaf, intermediate) for `KeyInfo`.
    key: bergshamra::Key,
    /// Signed XML per citizen content: signing costs an RSA operation in
    /// pure Rust, and the server may ask for the same e-Aadhaar repeatedly.
    cache: Mutex<HashMap<[u8; 32], Arc<str>>>,
}

impl std::fmt::Debug for SigningAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("SigningAuthority")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl SigningAuthority {
    /// Load the CA from `dir`, or create and save it there (owner-only files).
    ///
    /// On first start `dir` is created if needed and six files are written:
    /// `root.pem`, `intermediate.pem`, `signer.pem` (certificates) and the
    /// matching `.key` files (PKCS#8 PEM, mode 0600). Later starts load the same
    /// files, so the root a gateway trusts stays valid across restarts. A
    /// directory holding only some of the files is refused rather than
    /// silently replaced: delete it to start a new CA.
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
        if missing.len() == ALL_FILES.len() {
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
                    let created = create(dir);
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
        bail!(
            "the sandbox CA directory {} is incomplete (missing {}); delete the directory to \
             create a new CA, or restore the missing files",
            dir.display(),
            missing.join(", ")
        );
    }

    /// The root certificate in PEM, for a gateway in sandbox mode to trust.
    pub fn root_pem(&self) -> String {
        self.root_pem.clone()
    }

    /// The intermediate CA certificate in PEM (also sent in every `KeyInfo`).
    pub fn intermediate_pem(&self) -> String {
        self.intermediate_pem.clone()
    }

    /// The signing (leaf) certificate in PEM.
    pub fn signer_pem(&self) -> String {
        self.signer_pem.clone()
    }

    /// The directory the CA lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The citizen's e-Aadhaar XML in UPSTREAM.md's shape, signed.
    ///
    /// Fails with [`EAadhaarUnavailable::NotLinked`] for a citizen without an
    /// Aadhaar and [`EAadhaarUnavailable::NotAvailable`] when
    /// `eaadhaar_available` is false. The result is cached per citizen data,
    /// so repeated calls return the same document (same `ts`, same
    /// signature) until the sandbox restarts.
    pub fn sign_eaadhaar(&self, citizen: &Citizen) -> anyhow::Result<String> {
        let Some(aadhaar) = citizen.aadhaar.as_deref() else {
            return Err(EAadhaarUnavailable::NotLinked.into());
        };
        if !citizen.eaadhaar_available {
            return Err(EAadhaarUnavailable::NotAvailable.into());
        }
        let cache_key: [u8; 32] = Sha256::digest(format!("{citizen:?}").as_bytes()).into();
        if let Some(hit) = self.cached(&cache_key) {
            return Ok(hit.to_string());
        }
        let now = OffsetDateTime::now_utc();
        let unsigned = eaadhaar_xml(citizen, aadhaar, now)?;
        let signed = self.sign_document(&unsigned)?;
        let signed: Arc<str> = Arc::from(signed);
        if let Ok(mut cache) = self.cache.lock() {
            // The entry might have been filled meanwhile by another request;
            // keep the first so every caller sees one document.
            let kept = cache.entry(cache_key).or_insert(signed);
            return Ok(kept.to_string());
        }
        Ok(signed.to_string())
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Arc<str>> {
        self.cache.lock().ok()?.get(key).cloned()
    }

    /// Append DigiLocker's signature template to `unsigned` (which must end
    /// with `</Certificate>`) and sign it.
    fn sign_document(&self, unsigned: &str) -> anyhow::Result<String> {
        let body = unsigned.strip_suffix("</Certificate>").ok_or_else(|| {
            anyhow!("internal error: the e-Aadhaar XML does not end with </Certificate>")
        })?;
        let template = format!("{body}{}</Certificate>", signature_template()?);
        let mut keys = bergshamra::KeysManager::new();
        keys.add_key(self.key.clone());
        let ctx = bergshamra::DsigContext::new(keys);
        bergshamra::sign(&ctx, &template).map_err(|e| anyhow!("signing the e-Aadhaar failed: {e}"))
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

fn subject(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "IN");
    dn.push(DnType::OrganizationName, ORGANISATION);
    dn.push(DnType::CommonName, cn);
    dn
}

/// A new RSA-2048 key: PKCS#8 PEM (to save) and an rcgen key pair (to sign
/// certificates with). rcgen's ring backend cannot generate RSA keys, so the
/// `rsa` crate does.
fn rsa_key() -> anyhow::Result<(String, KeyPair)> {
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
        .context("generating an RSA-2048 key")?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .context("encoding an RSA key as PKCS#8")?
        .to_string();
    let pair = KeyPair::from_pkcs8_pem_and_sign_algo(&pem, &PKCS_RSA_SHA256)
        .context("loading the RSA key into rcgen")?;
    Ok((pem, pair))
}

fn create(dir: &Path) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    // A day of backdating absorbs clock skew between the sandbox and a gateway.
    let start = now - Duration::days(1);

    let (root_key_pem, root_key) = rsa_key()?;
    let mut root = CertificateParams::default();
    root.distinguished_name = subject(ROOT_CN);
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    root.not_before = start;
    root.not_after = now + Duration::days(20 * 365);
    root.serial_number = Some(serial());
    let root_cert = root
        .self_signed(&root_key)
        .context("creating the sandbox root certificate")?;

    let (intermediate_key_pem, intermediate_key) = rsa_key()?;
    let mut intermediate = CertificateParams::default();
    intermediate.distinguished_name = subject(INTERMEDIATE_CN);
    intermediate.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    intermediate.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    intermediate.use_authority_key_identifier_extension = true;
    intermediate.not_before = start;
    intermediate.not_after = now + Duration::days(10 * 365);
    intermediate.serial_number = Some(serial());
    let intermediate_cert = intermediate
        .signed_by(&intermediate_key, &root_cert, &root_key)
        .context("creating the sandbox intermediate certificate")?;

    let (signer_key_pem, signer_key) = rsa_key()?;
    let mut signer = CertificateParams::default();
    signer.distinguished_name = subject(SIGNER_CN);
    signer.is_ca = IsCa::ExplicitNoCa;
    signer.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    signer.use_authority_key_identifier_extension = true;
    signer.not_before = start;
    signer.not_after = now + Duration::days(3 * 365);
    signer.serial_number = Some(serial());
    let signer_cert = signer
        .signed_by(&signer_key, &intermediate_cert, &intermediate_key)
        .context("creating the sandbox signing certificate")?;

    // Certificates last: `load_or_create` treats a directory with every file
    // present as complete, and keys are useless without them anyway.
    write_private(&dir.join(ROOT_KEY), &root_key_pem)?;
    write_private(&dir.join(INTERMEDIATE_KEY), &intermediate_key_pem)?;
    write_private(&dir.join(SIGNER_KEY), &signer_key_pem)?;
    write_public(&dir.join(ROOT_CERT), &root_cert.pem())?;
    write_public(&dir.join(INTERMEDIATE_CERT), &intermediate_cert.pem())?;
    write_public(&dir.join(SIGNER_CERT), &signer_cert.pem())?;
    Ok(())
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

fn load(dir: &Path) -> anyhow::Result<SigningAuthority> {
    let root_pem = read(&dir.join(ROOT_CERT))?;
    let intermediate_pem = read(&dir.join(INTERMEDIATE_CERT))?;
    let signer_pem = read(&dir.join(SIGNER_CERT))?;
    let signer_key_pem = read(&dir.join(SIGNER_KEY))?;
    // Parsed now so a damaged file fails at start, not at the first e-Aadhaar.
    certificate_der(&root_pem, &dir.join(ROOT_CERT))?;
    let intermediate_der = certificate_der(&intermediate_pem, &dir.join(INTERMEDIATE_CERT))?;
    let signer_der = certificate_der(&signer_pem, &dir.join(SIGNER_CERT))?;
    let mut key = bergshamra::keys::loader::load_rsa_private_pem(signer_key_pem.as_bytes())
        .map_err(|e| {
            anyhow!(
                "{} is not a readable RSA key: {e}",
                dir.join(SIGNER_KEY).display()
            )
        })?;
    // KeyInfo carries the leaf first, then the intermediate: the chain up to
    // (not including) the root, as DigiLocker sends it.
    key.x509_chain = vec![signer_der, intermediate_der];
    Ok(SigningAuthority {
        dir: dir.to_path_buf(),
        root_pem,
        intermediate_pem,
        signer_pem,
        key,
        cache: Mutex::new(HashMap::new()),
    })
}

/// The `<Signature>` template DigiLocker uses, with empty values for
/// bergshamra to fill in.
fn signature_template() -> anyhow::Result<String> {
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
                            w.create_element("Transform")
                                .with_attribute(("Algorithm", algorithm::EXC_C14N))
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
            w.create_element("KeyInfo").write_inner_content(|w| {
                w.create_element("X509Data")
                    .write_text_content(BytesText::new(""))?;
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
    let ist = UtcOffset::from_hms(5, 30, 0).unwrap_or(UtcOffset::UTC);
    let t = t.to_offset(ist);
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

/// Width and height of the e-Aadhaar photo, about what UIDAI sends.
const PHOTO_W: u16 = 160;
const PHOTO_H: u16 = 200;

/// A passport-style placeholder photo: a grey head-and-shoulders silhouette
/// on a pale background tinted per citizen, with a little deterministic
/// grain so it compresses like a real photo (~10 KB) rather than to nothing.
pub fn photo_jpeg(seed: &str) -> anyhow::Result<Vec<u8>> {
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
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(&pixels, PHOTO_W, PHOTO_H, jpeg_encoder::ColorType::Rgb)
        .context("encoding the placeholder photo as JPEG")?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::seed;
    use std::process::Command;
    use std::sync::OnceLock;

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

    /// Run `xmlsec1 --verify` on `xml` against the sandbox root, with the
    /// intermediate as an untrusted helper. Returns (success, stderr).
    fn xmlsec_verify(ca: &SigningAuthority, xml: &str) -> (bool, String) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root.pem");
        let intermediate = dir.path().join("intermediate.pem");
        let doc = dir.path().join("eaadhaar.xml");
        fs::write(&root, ca.root_pem()).unwrap();
        fs::write(&intermediate, ca.intermediate_pem()).unwrap();
        fs::write(&doc, xml).unwrap();
        let out = Command::new("/usr/bin/xmlsec1")
            .arg("--verify")
            .arg("--trusted-pem")
            .arg(&root)
            .arg("--untrusted-pem")
            .arg(&intermediate)
            .arg(&doc)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn signed_eaadhaar_verifies_with_xmlsec1_and_tampering_breaks_it() {
        let (_dir, ca) = shared();
        let ramesh = citizen("Ramesh Kumar Sharma");
        let xml = ca.sign_eaadhaar(&ramesh).unwrap();
        let (ok, stderr) = xmlsec_verify(ca, &xml);
        assert!(ok, "xmlsec1 rejected the signed e-Aadhaar: {stderr}\n{xml}");

        let tampered = xml.replacen(
            "name=\"Ramesh Kumar Sharma\"",
            "name=\"Mallory Kumar Sharma\"",
            1,
        );
        assert_ne!(tampered, xml, "the name attribute was not found");
        let (ok, _) = xmlsec_verify(ca, &tampered);
        assert!(!ok, "xmlsec1 accepted a tampered e-Aadhaar");
    }

    #[test]
    fn xml_special_characters_and_local_scripts_survive_signing() {
        let (_dir, ca) = shared();
        let maria = citizen("Maria D'Souza");
        let xml = ca.sign_eaadhaar(&maria).unwrap();
        assert!(xml.contains("Flat 3 &amp; 4, &quot;Sea View&quot; &lt;Annexe&gt;"));
        let (ok, stderr) = xmlsec_verify(ca, &xml);
        assert!(ok, "{stderr}");

        let priya = citizen("Priya Venkataraman");
        let xml = ca.sign_eaadhaar(&priya).unwrap();
        assert!(xml.contains("<LData lang=\"20\" name=\"பிரியா வெங்கடராமன்\""));
        let (ok, stderr) = xmlsec_verify(ca, &xml);
        assert!(ok, "{stderr}");
    }

    #[test]
    fn document_has_digilockers_shape() {
        let (_dir, ca) = shared();
        let lakshmi = citizen("Lakshmi");
        let xml = ca.sign_eaadhaar(&lakshmi).unwrap();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><Certificate><CertificateData><KycRes code=\""));
        let last4 = &lakshmi.aadhaar.clone().unwrap()[8..];
        assert!(xml.contains(&format!("uid=\"xxxxxxxx{last4}\"")));
        // The full number never appears.
        assert!(!xml.contains(lakshmi.aadhaar.as_deref().unwrap()));
        assert!(xml.contains("<Poi dob=\"01-01-1960\" gender=\"F\" name=\"Lakshmi\"/>"));
        // Empty address attributes are left out.
        assert!(xml.contains(
            "<Poa country=\"India\" dist=\"Mysuru\" pc=\"571105\" state=\"Karnataka\" vtc=\"Hunsur\"/>"
        ));
        for part in [
            "<Reference URI=\"\">",
            "xmldsig#enveloped-signature",
            "<SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\"/>",
            "<DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>",
            "<CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
        ] {
            assert!(xml.contains(part), "missing {part}");
        }
        // Leaf and intermediate in KeyInfo, root not.
        assert_eq!(xml.matches("<X509Certificate>").count(), 2);
        let root_b64: String = ca
            .root_pem()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert!(!xml.contains(&root_b64));

        // The photo is a real JPEG of a plausible size.
        let start = xml.find("<Pht>").unwrap() + 5;
        let end = xml.find("</Pht>").unwrap();
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(&xml[start..end])
            .unwrap();
        assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF]);
        assert!(
            (4_000..40_000).contains(&jpeg.len()),
            "{} bytes",
            jpeg.len()
        );
    }

    #[test]
    fn citizens_without_eaadhaar_are_refused_with_the_reason() {
        let (_dir, ca) = shared();
        let irfan = citizen("Mohammed Irfan Khan");
        let err = ca.sign_eaadhaar(&irfan).unwrap_err();
        assert_eq!(
            err.downcast_ref::<EAadhaarUnavailable>(),
            Some(&EAadhaarUnavailable::NotLinked)
        );
        let sunita = citizen("Sunita Devi");
        let err = ca.sign_eaadhaar(&sunita).unwrap_err();
        assert_eq!(
            err.downcast_ref::<EAadhaarUnavailable>(),
            Some(&EAadhaarUnavailable::NotAvailable)
        );
    }

    #[test]
    fn repeated_requests_are_cached() {
        let (_dir, ca) = shared();
        let arjun = citizen("Arjun Reddy");
        let first = ca.sign_eaadhaar(&arjun).unwrap();
        let start = std::time::Instant::now();
        let second = ca.sign_eaadhaar(&arjun).unwrap();
        assert_eq!(first, second);
        assert!(start.elapsed() < std::time::Duration::from_millis(50));
    }

    #[test]
    fn load_or_create_keeps_the_same_ca_and_protects_keys() {
        let (dir, ca) = shared();
        let again = SigningAuthority::load_or_create(dir.path()).unwrap();
        assert_eq!(again.root_pem(), ca.root_pem());
        assert_eq!(again.signer_pem(), ca.signer_pem());
        assert!(ca.root_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            for key in [ROOT_KEY, INTERMEDIATE_KEY, SIGNER_KEY] {
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
            msg.contains("incomplete") && msg.contains("signer.key"),
            "{msg}"
        );
    }

    #[test]
    fn certificates_name_the_sandbox() {
        let (_dir, ca) = shared();
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-subject", "-enddate"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(ca.signer_pem().as_bytes())?;
                child.wait_with_output()
            });
        // openssl is part of every Debian image xmlsec1 runs on.
        let out = out.unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(SIGNER_CN), "{text}");
        assert!(text.contains("NOT A REAL"), "{text}");
    }
}
