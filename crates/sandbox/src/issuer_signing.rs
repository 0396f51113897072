//! The keys that sign issuers' XML certificates (`GET oauth2/1/xml/{uri}`).
//!
//! Real DigiLocker hands out issuer XML (PAN, driving licences, vehicle
//! registrations, mark sheets) with an enveloped XMLDSig `<Signature>` made
//! by the issuer's own document-signer certificate, which chains to India
//! PKI's root through licensed CAs. The sandbox does the same with its own
//! PKI ([`crate::signing::SigningAuthority`]): each issuer (by issuer id)
//! has its own RSA-2048 key and a certificate issued by the sandbox's
//! sub-CA, so every issuer XML chains root → CA → sub-CA → issuer signer,
//! exactly like the e-Aadhaar. A client verifying sandbox issuer XML trusts
//! the sandbox root ([`crate::Sandbox::root_ca_pem`]), as it does for the
//! e-Aadhaar.
//!
//! The keys live in the data directory under [`ISSUERS_DIR`], one
//! `<issuer id>.key` (owner-only) each, made the first time the issuer
//! signs; the certificate is made again by each sandbox process on first
//! use (so it always chains to the CA in the same directory) and written
//! next to the key as `<issuer id>.pem`.
//!
//! The signature has the shape DigiLocker's issuers' signatures have:
//! exclusive C14N for `SignedInfo`, RSA-SHA1, one `Reference URI=""` with
//! only the enveloped-signature transform, SHA-256 digest, and
//! `KeyInfo/X509Data` with (`X509SubjectName`, `X509Certificate`) pairs
//! for the signer, the sub-CA and the CA. The signature itself is made by
//! [`crate::signing`]'s one signing function.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context as _};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use x509_cert::attr::Attribute;
use x509_cert::der::asn1::{ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use x509_cert::der::{Any, Decode as _, Encode as _};
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::signing::{sign_enveloped, signature_template, IssuerCertificate, SigningAuthority};

/// The folder of the data directory holding the issuers' keys and
/// certificates.
pub const ISSUERS_DIR: &str = "issuers";

/// The common name of an issuer's signing certificate.
pub fn signer_cn(issuer: &str) -> String {
    format!("DS SANDBOX {}", issuer.to_uppercase())
}

/// Signs issuer XML certificates, one key per issuer. Cheap to share;
/// signing takes `&self`.
pub struct IssuerSigner {
    dir: PathBuf,
    /// The certified signer of each issuer id used so far.
    signers: Mutex<HashMap<String, Arc<IssuerCertificate>>>,
}

impl std::fmt::Debug for IssuerSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("IssuerSigner")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl IssuerSigner {
    /// The issuers' signers, kept in [`ISSUERS_DIR`] under `data_dir`
    /// (created if missing).
    pub fn new(data_dir: &Path) -> anyhow::Result<IssuerSigner> {
        let dir = data_dir.join(ISSUERS_DIR);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(IssuerSigner {
            dir,
            signers: Mutex::new(HashMap::new()),
        })
    }

    /// The folder the issuers' keys and certificates are kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Sign `unsigned`, an XML document whose root element is
    /// `<Certificate>`, as the issuer `issuerid` (named `issuer`) signs it,
    /// with a certificate from `authority`: an enveloped `<Signature>`
    /// becomes the root's last child. Fails when the document does not end
    /// with `</Certificate>`.
    pub fn sign(
        &self,
        authority: &SigningAuthority,
        issuerid: &str,
        issuer: &str,
        unsigned: &str,
    ) -> anyhow::Result<String> {
        let trimmed = unsigned.trim_end();
        let body = trimmed.strip_suffix("</Certificate>").ok_or_else(|| {
            anyhow!("internal error: the certificate XML does not end with </Certificate>")
        })?;
        let signer = self.signer(authority, issuerid, issuer)?;
        let template = format!(
            "{body}{}</Certificate>\n",
            signature_template(false, &signer.chain)?
        );
        sign_enveloped(signer.key.clone(), &template)
            .context("signing the issuer certificate failed")
    }

    /// A detached CMS `SignedData` (DER) over `parts` (concatenated), made
    /// at `at` by the issuer `issuerid` (named `issuer`), with a
    /// certificate from `authority`: what a PDF signature's `/Contents`
    /// holds, the bytes of its `/ByteRange` being `parts`.
    pub fn sign_detached(
        &self,
        authority: &SigningAuthority,
        issuerid: &str,
        issuer: &str,
        parts: &[&[u8]],
        at: OffsetDateTime,
    ) -> anyhow::Result<Vec<u8>> {
        const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
        const ID_SIGNED_DATA: ObjectIdentifier =
            ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
        const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
        const MESSAGE_DIGEST: ObjectIdentifier =
            ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
        const SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
        const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
        const RSA_ENCRYPTION: ObjectIdentifier =
            ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
        let fail = |what: &str, e: x509_cert::der::Error| anyhow!("encoding {what}: {e}");

        let signer = self.signer(authority, issuerid, issuer)?;
        let certificates = signer
            .chain
            .iter()
            .map(|(_, der)| x509_cert::Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail("the chain", e))?;
        let leaf = certificates
            .first()
            .ok_or_else(|| anyhow!("internal error: the issuer's chain is empty"))?;
        let mut digest = Sha256::new();
        for part in parts {
            digest.update(part);
        }
        let unix = u64::try_from(at.unix_timestamp()).unwrap_or_default();
        let time = UtcTime::from_unix_duration(std::time::Duration::from_secs(unix))
            .map_err(|e| fail("the signing time", e))?;
        let attribute = |oid: ObjectIdentifier, value: Any| -> anyhow::Result<Attribute> {
            Ok(Attribute {
                oid,
                values: SetOfVec::try_from(vec![value]).map_err(|e| fail("an attribute", e))?,
            })
        };
        let any = |what: &str, r: Result<Any, x509_cert::der::Error>| r.map_err(|e| fail(what, e));
        let attributes = SetOfVec::try_from(vec![
            attribute(
                CONTENT_TYPE,
                any("the content type", Any::encode_from(&ID_DATA))?,
            )?,
            attribute(
                SIGNING_TIME,
                any(
                    "the signing time",
                    Any::encode_from(&x509_cert::time::Time::UtcTime(time)),
                )?,
            )?,
            attribute(
                MESSAGE_DIGEST,
                any(
                    "the digest",
                    OctetString::new(digest.finalize().to_vec()).and_then(|d| Any::encode_from(&d)),
                )?,
            )?,
        ])
        .map_err(|e| fail("the signed attributes", e))?;
        // The signature is over the attributes' DER as a SET OF (RFC 5652, 5.4).
        let signed = attributes
            .to_der()
            .map_err(|e| fail("the signed attributes", e))?;
        let signature = signer
            .rsa
            .sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(&signed))
            .map_err(|e| anyhow!("signing the PDF: {e}"))?;
        let sha256 = AlgorithmIdentifierOwned {
            oid: SHA256,
            parameters: None,
        };
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: leaf.tbs_certificate.issuer.clone(),
                serial_number: leaf.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: sha256.clone(),
            signed_attrs: Some(attributes),
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
            signature: OctetString::new(signature).map_err(|e| fail("the signature", e))?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![sha256])
                .map_err(|e| fail("the digest algorithms", e))?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_DATA,
                econtent: None,
            },
            certificates: Some(CertificateSet(
                SetOfVec::try_from(
                    certificates
                        .into_iter()
                        .map(CertificateChoices::Certificate)
                        .collect::<Vec<_>>(),
                )
                .map_err(|e| fail("the certificates", e))?,
            )),
            crls: None,
            signer_infos: SignerInfos(
                SetOfVec::try_from(vec![signer_info]).map_err(|e| fail("the signer", e))?,
            ),
        };
        ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data).map_err(|e| fail("the SignedData", e))?,
        }
        .to_der()
        .map_err(|e| fail("the ContentInfo", e))
    }

    fn signer(
        &self,
        authority: &SigningAuthority,
        issuerid: &str,
        issuer: &str,
    ) -> anyhow::Result<Arc<IssuerCertificate>> {
        if let Some(hit) = self
            .signers
            .lock()
            .ok()
            .and_then(|s| s.get(issuerid).cloned())
        {
            return Ok(hit);
        }
        let file: String = issuerid
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let made = Arc::new(authority.issuer_signer(
            &self.dir.join(format!("{file}.key")),
            &format!("{issuer} SANDBOX - NOT A REAL CERTIFICATE"),
            &signer_cn(issuer),
        )?);
        let Ok(mut signers) = self.signers.lock() else {
            return Ok(made);
        };
        // Another request may have made one meanwhile; keep the first.
        Ok(signers.entry(issuerid.to_owned()).or_insert(made).clone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn each_issuer_has_its_own_key_kept_private_and_chained_to_the_sandbox_root() {
        let dir = tempfile::tempdir().unwrap();
        let ca = SigningAuthority::load_or_create(dir.path()).unwrap();
        let signer = IssuerSigner::new(dir.path()).unwrap();
        let unsigned = "<Certificate><A b=\"c\"/></Certificate>\n";
        let pan = signer
            .sign(&ca, "in.gov.pan", "Income Tax Department", unsigned)
            .unwrap();
        let cbse = signer
            .sign(
                &ca,
                "in.gov.cbse",
                "Central Board of Secondary Education",
                unsigned,
            )
            .unwrap();
        assert!(pan.contains("CN=DS SANDBOX INCOME TAX DEPARTMENT"));
        assert!(cbse.contains("CN=DS SANDBOX CENTRAL BOARD OF SECONDARY EDUCATION"));
        assert!(!pan.contains("<DigestValue></DigestValue>"));
        // Both verify against the sandbox root alone.
        let root = base64::engine::general_purpose::STANDARD
            .decode(
                ca.root_pem()
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap();
        for xml in [&pan, &cbse] {
            let mut keys = bergshamra::KeysManager::new();
            keys.add_trusted_cert(root.clone());
            let ctx = bergshamra::DsigContext::new(keys).with_trusted_keys_only(false);
            let result = bergshamra::verify(&ctx, xml).unwrap();
            assert!(matches!(result, bergshamra::VerifyResult::Valid { .. }));
        }
        // One key file and one certificate per issuer, keys owner-only; a
        // second signer on the directory uses the same keys.
        let mut names: Vec<String> = std::fs::read_dir(signer.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "in_gov_cbse.key",
                "in_gov_cbse.pem",
                "in_gov_pan.key",
                "in_gov_pan.pem"
            ]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(signer.dir().join("in_gov_pan.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let key = std::fs::read(signer.dir().join("in_gov_pan.key")).unwrap();
        let again = IssuerSigner::new(dir.path()).unwrap();
        again
            .sign(&ca, "in.gov.pan", "Income Tax Department", unsigned)
            .unwrap();
        assert_eq!(
            std::fs::read(again.dir().join("in_gov_pan.key")).unwrap(),
            key
        );
        assert!(signer.sign(&ca, "in.gov.pan", "x", "<Other/>").is_err());
        assert!(!format!("{signer:?}").contains("PRIVATE"));
    }
}
