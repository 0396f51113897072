//! The key that signs issuers' XML certificates (`GET oauth2/1/xml/{uri}`).
//!
//! Real DigiLocker hands out issuer XML (PAN, driving licences, mark sheets)
//! with an enveloped XMLDSig `<Signature>`. The sandbox's CA
//! ([`crate::signing::SigningAuthority`]) only signs e-Aadhaar documents, so
//! issuer certificates are signed by a key of their own: one self-signed
//! RSA-2048 certificate, "DigiLocker Sandbox Issuer Signer", kept next to the
//! CA in the data directory (`issuer-signer.pem`, certificate and key in one
//! owner-only file) so it survives restarts. A client verifying sandbox
//! issuer XML trusts [`IssuerSigner::cert_pem`] (also
//! [`crate::Sandbox::issuer_cert_pem`]); the certificate travels in every
//! signature's `KeyInfo` too.
//!
//! The signature has the shape DigiLocker's own signatures have: exclusive
//! C14N for `SignedInfo`, RSA-SHA1, one `Reference URI=""` with only the
//! enveloped-signature transform, SHA-256 digest, and `KeyInfo/X509Data`
//! with the subject name and the certificate. Canonicalization and signing
//! are bergshamra's.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use base64::Engine as _;
use bergshamra::core::algorithm;
use quick_xml::events::BytesText;
use quick_xml::Writer;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, SerialNumber, PKCS_RSA_SHA256,
};
use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
use time::{Duration, OffsetDateTime};

/// Common name of the issuer signing certificate.
pub const ISSUER_SIGNER_CN: &str = "DigiLocker Sandbox Issuer Signer";
const ORGANISATION: &str = "DigiLocker Sandbox - NOT A REAL CERTIFICATION AUTHORITY";
/// The file in the data directory holding the certificate and its key.
pub const ISSUER_SIGNER_FILE: &str = "issuer-signer.pem";

const CERT_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const CERT_END: &str = "-----END CERTIFICATE-----";
const KEY_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const KEY_END: &str = "-----END PRIVATE KEY-----";

/// Signs issuer XML certificates. Cheap to share behind an `Arc`; signing
/// takes `&self`.
pub struct IssuerSigner {
    path: PathBuf,
    cert_pem: String,
    cert_der: Vec<u8>,
    key: bergshamra::Key,
}

impl std::fmt::Debug for IssuerSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("IssuerSigner")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl IssuerSigner {
    /// Load the issuer signing key from `dir`, or create it there first.
    ///
    /// The certificate and key live in one file, [`ISSUER_SIGNER_FILE`]
    /// (mode 0600), written under a temporary name and then linked into
    /// place only if absent: several sandboxes starting on one directory at
    /// once all end up with the same key, whichever created it.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<IssuerSigner> {
        let path = dir.join(ISSUER_SIGNER_FILE);
        if !path.exists() {
            fs::create_dir_all(dir).with_context(|| {
                format!("creating the sandbox data directory {}", dir.display())
            })?;
            let contents = create()?;
            let tmp = dir.join(format!(
                ".{ISSUER_SIGNER_FILE}.{}.{:016x}",
                std::process::id(),
                rand::random::<u64>()
            ));
            write_private(&tmp, &contents)?;
            let linked = fs::hard_link(&tmp, &path);
            let _ = fs::remove_file(&tmp);
            match linked {
                Ok(()) => {}
                // Another sandbox was faster: use its key.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).with_context(|| format!("saving {}", path.display())),
            }
        }
        load(&path)
    }

    /// The signing certificate in PEM: what a client verifying sandbox issuer
    /// XML trusts.
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// The file the certificate and key are kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sign `unsigned`, an XML document whose root element is
    /// `<Certificate>`: an enveloped `<Signature>` becomes the root's last
    /// child. Fails when the document does not end with `</Certificate>`.
    pub fn sign(&self, unsigned: &str) -> anyhow::Result<String> {
        let trimmed = unsigned.trim_end();
        let body = trimmed.strip_suffix("</Certificate>").ok_or_else(|| {
            anyhow!("internal error: the certificate XML does not end with </Certificate>")
        })?;
        let template = format!("{body}{}</Certificate>", self.signature_template()?);
        let mut keys = bergshamra::KeysManager::new();
        keys.add_key(self.key.clone());
        let ctx = bergshamra::DsigContext::new(keys);
        bergshamra::sign(&ctx, &template)
            .map_err(|e| anyhow!("signing the issuer certificate failed: {e}"))
    }

    /// DigiLocker's `<Signature>` shape with empty values for bergshamra to
    /// fill in, and `KeyInfo` already holding our certificate.
    fn signature_template(&self) -> anyhow::Result<String> {
        let certificate = base64::engine::general_purpose::STANDARD.encode(&self.cert_der);
        let subject = format!("CN={ISSUER_SIGNER_CN},O={ORGANISATION},C=IN");
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
                        w.create_element("X509SubjectName")
                            .write_text_content(BytesText::new(&subject))?;
                        w.create_element("X509Certificate")
                            .write_text_content(BytesText::new(&certificate))?;
                        Ok(())
                    })?;
                    Ok(())
                })?;
                Ok(())
            })?;
        String::from_utf8(w.into_inner())
            .context("internal error: the signature template is not UTF-8")
    }
}

/// A new key and self-signed certificate, as the file's contents.
fn create() -> anyhow::Result<String> {
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
        .context("generating the issuer signing key")?;
    let key_pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .context("encoding the issuer signing key as PKCS#8")?
        .to_string();
    let pair = KeyPair::from_pkcs8_pem_and_sign_algo(&key_pem, &PKCS_RSA_SHA256)
        .context("loading the issuer signing key into rcgen")?;

    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "IN");
    dn.push(DnType::OrganizationName, ORGANISATION);
    dn.push(DnType::CommonName, ISSUER_SIGNER_CN);
    params.distinguished_name = dn;
    // An end-entity certificate that is its own trust anchor. No key usage
    // extension: with one, OpenSSL-based verifiers (xmlsec1) insist that a
    // self-signed certificate may sign certificates.
    params.is_ca = IsCa::ExplicitNoCa;
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(10 * 365);
    let mut serial: [u8; 16] = rand::random();
    serial[0] = (serial[0] & 0x7f) | 0x01;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    let cert = params
        .self_signed(&pair)
        .context("creating the issuer signing certificate")?;
    Ok(format!("{}{key_pem}", cert.pem()))
}

fn load(path: &Path) -> anyhow::Result<IssuerSigner> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let cert_pem = pem_block(&text, CERT_BEGIN, CERT_END)
        .ok_or_else(|| anyhow!("{} holds no PEM certificate", path.display()))?;
    let key_pem = pem_block(&text, KEY_BEGIN, KEY_END)
        .ok_or_else(|| anyhow!("{} holds no PKCS#8 private key", path.display()))?;
    let b64: String = cert_pem
        .trim()
        .strip_prefix(CERT_BEGIN)
        .and_then(|s| s.strip_suffix(CERT_END))
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let cert_der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .with_context(|| format!("{} holds a certificate that is not base64", path.display()))?;
    let key = bergshamra::keys::loader::load_rsa_private_pem(key_pem.as_bytes())
        .map_err(|e| anyhow!("{} holds no readable RSA key: {e}", path.display()))?;
    Ok(IssuerSigner {
        path: path.to_path_buf(),
        cert_pem,
        cert_der,
        key,
    })
}

/// The first `begin` ... `end` block of `text`, with a final newline.
fn pem_block(text: &str, begin: &str, end: &str) -> Option<String> {
    let start = text.find(begin)?;
    let stop = text[start..].find(end)? + start + end.len();
    Some(format!("{}\n", &text[start..stop]))
}

/// Write an owner-only file (0600 on Unix).
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_loaded_with_the_same_key_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = IssuerSigner::load_or_create(dir.path()).unwrap();
        let again = IssuerSigner::load_or_create(dir.path()).unwrap();
        assert_eq!(first.cert_pem(), again.cert_pem());
        assert!(first.cert_pem().starts_with(CERT_BEGIN));
        assert!(!format!("{first:?}").contains("PRIVATE"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(first.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary files are left behind.
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![ISSUER_SIGNER_FILE.to_owned()]);
    }

    #[test]
    fn refuses_documents_that_are_not_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let signer = IssuerSigner::load_or_create(dir.path()).unwrap();
        assert!(signer.sign("<Other/>").is_err());
        let signed = signer
            .sign("<Certificate><A b=\"c\"/></Certificate>\n")
            .unwrap();
        assert!(
            signed.contains("<DigestValue>") && !signed.contains("<DigestValue></DigestValue>")
        );
        assert!(signed.contains(ISSUER_SIGNER_CN));
    }
}
