//! The built-in production trust anchors: the right root, intermediates that chain to it,
//! and nothing else trusted.

use crate::support::*;
use aadhaar::trust::{
    CCA_INDIA_2022_PEM, CCA_INDIA_2022_SHA256, SAFESCRYPT_2022_INTERMEDIATES_PEM,
};
use aadhaar::{verify_and_parse, Error, TrustAnchors};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// The DER of every CERTIFICATE block, in order.
fn ders(pem: &str) -> Vec<Vec<u8>> {
    pem.split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .map(|block| {
            let b64: String = block
                .split("-----END CERTIFICATE-----")
                .next()
                .expect("END line")
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64")
        })
        .collect()
}

fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn chain_ok(cert: &[u8], helpers: &[Vec<u8>], root: &[u8], at: &str) -> Result<(), String> {
    let trusted = vec![root.to_vec()];
    let config = bergshamra::keys::x509::CertValidationConfig {
        trusted_certs: &trusted,
        untrusted_certs: helpers,
        crls: &[],
        verification_time: Some(at),
        skip_time_checks: false,
    };
    bergshamra::keys::x509::validate_cert_chain(cert, helpers, &config).map_err(|e| e.to_string())
}

#[test]
fn the_built_in_root_is_cca_india_2022_and_the_intermediates_chain_to_it() {
    let root = ders(CCA_INDIA_2022_PEM);
    assert_eq!(root.len(), 1, "one root certificate");
    let root = &root[0];
    // The fingerprint the CCA publishes, written out here so a changed constant or file
    // cannot pass unnoticed.
    let published =
        "9A:3F:D3:17:67:98:E8:42:DD:CB:12:C2:62:F1:1C:FA:CC:A7:0A:8B:84:C6:EA:6F:DA:30:84:2A:95:A9:4C:D8";
    assert_eq!(fingerprint(root), published);
    assert_eq!(CCA_INDIA_2022_SHA256, published);

    let inter = ders(SAFESCRYPT_2022_INTERMEDIATES_PEM);
    assert_eq!(
        inter.len(),
        2,
        "SafeScrypt CA 2022 and its Document Signer sub-CA"
    );
    let (ca, sub_ca) = (&inter[0], &inter[1]);
    let at = "2026-01-01+00:00:00";
    chain_ok(ca, &[], root, at).expect("SafeScrypt CA 2022 is issued by CCA India 2022");
    chain_ok(sub_ca, std::slice::from_ref(ca), root, at)
        .expect("the Document Signer sub-CA chains through SafeScrypt CA 2022 to the root");
    // Not a chain to just anything: the test PKI's root does not accept them, and the
    // sub-CA needs its CA.
    let test_root = ders(&fixture_str("root.pem")).remove(0);
    assert!(chain_ok(ca, &[], &test_root, at).is_err());
    assert!(chain_ok(sub_ca, &[], root, at).is_err());
    // And only while valid: the CAs were issued in February 2022.
    assert!(chain_ok(
        sub_ca,
        std::slice::from_ref(ca),
        root,
        "2021-06-01+00:00:00"
    )
    .is_err());

    let anchors = TrustAnchors::india_production().expect("built-in anchors load");
    assert_eq!(
        anchors.root_subjects(),
        ["CN=CCA India 2022,O=India PKI,C=IN"]
    );
}

#[test]
fn production_anchors_refuse_documents_from_other_pkis() {
    // A genuine signature by the test PKI: valid, but not India PKI's.
    let xml = signed_fixture();
    assert!(verify_and_parse(&xml, &anchors()).is_ok());
    let production = TrustAnchors::india_production().expect("built-in anchors load");
    let err = verify_and_parse(&xml, &production).expect_err("must be refused");
    assert!(matches!(err, Error::UntrustedChain { .. }), "{err:?}");
}
