//! Fixtures and helpers: the test PKI under tests/fixtures (made by gen-fixtures.sh),
//! e-Aadhaar documents built from template.xml, and xmlsec1 for signing and for the
//! cross-check.

use aadhaar::TrustAnchors;
use base64::Engine as _;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const DSIG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const DSIG_RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn fixture_str(name: &str) -> String {
    String::from_utf8(fixture(name)).expect("fixture is UTF-8")
}

/// The trust anchors of the test PKI: the test root only.
pub fn anchors() -> TrustAnchors {
    TrustAnchors::from_pem(&fixture_str("root.pem")).expect("root.pem loads")
}

/// The committed signed sample (about 100 KB with its photo).
pub fn signed_fixture() -> Vec<u8> {
    fixture("e-aadhaar-signed.xml")
}

/// Now, as KycRes ts, in IST as DigiLocker writes it.
pub fn ts_now() -> String {
    ts_at(time::OffsetDateTime::now_utc())
}

pub fn ts_at(t: time::OffsetDateTime) -> String {
    let ist = time::UtcOffset::from_hms(5, 30, 0).expect("IST");
    let t = t.to_offset(ist);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000+05:30",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// An unsigned e-Aadhaar built from template.xml, with the fixture photo and the given ts.
pub fn unsigned(ts: &str) -> String {
    let photo = base64::engine::general_purpose::STANDARD.encode(fixture("photo.jpg"));
    fixture_str("template.xml")
        .replace("@PHOTO@", &photo)
        .replace("@TS@", ts)
}

/// An unsigned e-Aadhaar with a small photo, for tests that run thousands of times.
pub fn unsigned_small(ts: &str) -> String {
    let photo = base64::engine::general_purpose::STANDARD.encode(&fixture("photo.jpg")[..1500]);
    fixture_str("template.xml")
        .replace("@PHOTO@", &photo)
        .replace("@TS@", ts)
}

/// Which key and certificates xmlsec1 signs with.
pub enum Signer {
    /// leaf.key; KeyInfo gets the leaf and the intermediate.
    Leaf,
    /// leaf.key; KeyInfo gets the leaf only.
    LeafOnly,
    /// evil-leaf.key under the untrusted look-alike root.
    Evil,
    /// leaf-sha1.key: a leaf under the trusted sub-CA whose certificate is SHA-1-signed.
    Sha1Leaf,
}

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output()
        .expect("xmlsec1 runs (it is installed at /usr/bin/xmlsec1)")
}

/// Signs `template` (a document whose Signature has empty DigestValue/SignatureValue) with
/// xmlsec1.
pub fn sign(template: &str, signer: Signer) -> Vec<u8> {
    sign_with_args(template, signer, &[])
}

/// [`sign`] with extra xmlsec1 arguments (for example `--id-attr:Id CertificateData`).
pub fn sign_with_args(template: &str, signer: Signer, args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.xml");
    let output = dir.path().join("out.xml");
    std::fs::write(&input, template).expect("write template");
    let f = |n: &str| fixtures().join(n).display().to_string();
    let key = match signer {
        Signer::Leaf => format!("{},{},{}", f("leaf.key"), f("leaf.pem"), f("inter.pem")),
        Signer::LeafOnly => format!("{},{}", f("leaf.key"), f("leaf.pem")),
        Signer::Sha1Leaf => format!(
            "{},{},{}",
            f("leaf-sha1.key"),
            f("leaf-sha1.pem"),
            f("inter.pem")
        ),
        Signer::Evil => format!(
            "{},{},{}",
            f("evil-leaf.key"),
            f("evil-leaf.pem"),
            f("evil-inter.pem")
        ),
    };
    let out = run(Command::new("xmlsec1")
        .arg("--sign")
        .args(args)
        .arg("--privkey-pem")
        .arg(key)
        .arg("--output")
        .arg(&output)
        .arg(&input));
    assert!(
        out.status.success(),
        "xmlsec1 --sign failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&output).expect("read signed")
}

/// The reference implementation's verdict: `xmlsec1 --verify` with the test root trusted
/// and the intermediate available.
pub fn xmlsec_verifies(xml: &[u8]) -> bool {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("doc.xml");
    std::fs::write(&input, xml).expect("write doc");
    let f = |n: &str| fixtures().join(n);
    let out = run(Command::new("xmlsec1")
        .arg("--verify")
        .arg("--trusted-pem")
        .arg(f("root.pem"))
        .arg("--untrusted-pem")
        .arg(f("inter.pem"))
        .arg(&input));
    out.status.success()
}

/// Replaces the first occurrence of `from`, insisting it is there so a test cannot
/// silently tamper with nothing.
pub fn replace_once(xml: &[u8], from: &str, to: &str) -> Vec<u8> {
    let s = std::str::from_utf8(xml).expect("UTF-8");
    assert!(s.contains(from), "test setup: {from:?} not in document");
    s.replacen(from, to, 1).into_bytes()
}

/// The text between `open` and `close`, first occurrence.
pub fn between<'a>(s: &'a str, open: &str, close: &str) -> &'a str {
    let start = s.find(open).expect("open tag") + open.len();
    let end = s[start..].find(close).expect("close tag") + start;
    &s[start..end]
}

// ---------------------------------------------------------------------------------------
// The real shape: documents laid out exactly as DigiLocker sends them, signed under the
// India-like test PKI in tests/fixtures/india-like (made by gen-india-like-fixtures.sh).

/// A fixed "now" for the real-shape tests, so that the India-like PKI's real-world dates
/// (one leaf already expired) give the same verdicts whenever the tests run.
pub const REAL_NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-27 12:00:00 +05:30);

pub fn india_path(name: &str) -> PathBuf {
    fixtures().join("india-like").join(name)
}

pub fn india_pem(name: &str) -> String {
    std::fs::read_to_string(india_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The trust anchors of the India-like PKI: its root only.
pub fn india_anchors() -> TrustAnchors {
    TrustAnchors::from_pem(&india_pem("root.pem")).expect("india-like root loads")
}

/// [`VerifyOptions`](aadhaar::VerifyOptions) with the clock at `now`.
pub fn at(now: time::OffsetDateTime) -> aadhaar::VerifyOptions {
    aadhaar::VerifyOptions {
        now,
        ..aadhaar::VerifyOptions::default()
    }
}

/// An unsigned real-shaped e-Aadhaar (real-template.xml) with a 5,000-byte photo, which
/// makes the signed file about DigiLocker's size (16-17 KB).
pub fn real_unsigned(ts: &str) -> String {
    let photo = base64::engine::general_purpose::STANDARD.encode(&fixture("photo.jpg")[..5000]);
    fixture_str("real-template.xml")
        .replace("@PHOTO@", &photo)
        .replace("@TS@", ts)
}

/// Which India-like key signs a real-shaped document.
#[derive(Clone, Copy)]
pub enum RealSigner {
    /// leaf.key, "DS TEST NATIONAL E-GOVERNANCE DIVISION 2", valid 2025-10-01..2028-03-20.
    Current,
    /// expired-leaf.key, "... DIVISION 1", valid 2023-08-22..2026-02-11 (like the real one).
    Expired,
    /// evil-leaf.key: same names as Current, under the look-alike root.
    Evil,
}

impl RealSigner {
    fn key(self) -> &'static str {
        match self {
            RealSigner::Current => "leaf.key",
            RealSigner::Expired => "expired-leaf.key",
            RealSigner::Evil => "evil-leaf.key",
        }
    }

    /// The certificate files of this signer's chain, in DigiLocker's KeyInfo order:
    /// leaf, root, CA, sub-CA.
    pub fn digilocker_order(self) -> [&'static str; 4] {
        match self {
            RealSigner::Current => ["leaf.pem", "root.pem", "ca.pem", "sub-ca.pem"],
            RealSigner::Expired => ["expired-leaf.pem", "root.pem", "ca.pem", "sub-ca.pem"],
            RealSigner::Evil => [
                "evil-leaf.pem",
                "evil-root.pem",
                "evil-ca.pem",
                "evil-sub-ca.pem",
            ],
        }
    }
}

/// The DER of the first certificate in a PEM file.
pub fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = between(
        pem,
        "-----BEGIN CERTIFICATE-----",
        "-----END CERTIFICATE-----",
    )
    .chars()
    .filter(|c| !c.is_ascii_whitespace())
    .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("PEM base64")
}

/// DigiLocker's KeyInfo content: one X509Data with an (X509SubjectName, X509Certificate)
/// pair per certificate file, indented as in the real files.
pub fn key_info_pairs(files: &[&str]) -> String {
    use der::Decode as _;
    let mut out = String::from("\n            <X509Data>");
    for file in files {
        let der = pem_der(&india_pem(file));
        let cert = x509_cert::Certificate::from_der(&der).expect("certificate");
        out.push_str(&format!(
            "\n                <X509SubjectName>{}</X509SubjectName>\n                <X509Certificate>{}</X509Certificate>",
            cert.tbs_certificate.subject,
            base64::engine::general_purpose::STANDARD.encode(&der)
        ));
    }
    out.push_str("\n            </X509Data>\n        ");
    out
}

/// Signs a real-shaped template with xmlsec1, then fills `KeyInfo` (which the enveloped
/// signature does not cover, and which DigiLocker writes as it likes) with `key_info`
/// certificate files in that order.
pub fn sign_real(template: &str, signer: RealSigner, key_info: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.xml");
    let output = dir.path().join("out.xml");
    std::fs::write(&input, template).expect("write template");
    let out = run(Command::new("xmlsec1")
        .arg("--sign")
        .arg("--privkey-pem")
        .arg(india_path(signer.key()))
        .arg("--output")
        .arg(&output)
        .arg(&input));
    assert!(
        out.status.success(),
        "xmlsec1 --sign failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed = std::fs::read_to_string(&output).expect("read signed");
    assert!(
        signed.contains("@KEYINFO@"),
        "the template has a KeyInfo placeholder"
    );
    signed
        .replacen("@KEYINFO@", &key_info_pairs(key_info), 1)
        .into_bytes()
}

/// xmlsec1's verdict on a real-shaped document with the India-like root trusted (and
/// nothing else), checking certificate validity at `at` (`YYYY-MM-DD HH:MM:SS`, UTC).
pub fn xmlsec_verifies_real(xml: &[u8], at: &str) -> bool {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("doc.xml");
    std::fs::write(&input, xml).expect("write doc");
    let out = run(Command::new("xmlsec1")
        .arg("--verify")
        .arg("--trusted-pem")
        .arg(india_path("root.pem"))
        .arg("--verification-time")
        .arg(at)
        .arg(&input));
    out.status.success()
}
