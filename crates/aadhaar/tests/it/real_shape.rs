//! DigiLocker's real e-Aadhaar shape: pretty-printed with signed whitespace, only the
//! enveloped-signature transform, and KeyInfo holding (subject, certificate) pairs for the
//! leaf, the root, the CA and the sub-CA, in that order. It verifies; the anti-wrapping
//! checks still hold; a root is trusted only when configured, never because KeyInfo
//! carries it; the time rule holds against a leaf that has since expired; and the age
//! policy is separate from the signature check.

use crate::support::*;
use aadhaar::{
    verify_and_parse_with, DigestAlgorithm, Error, SignatureAlgorithm, TrustAnchors, VerifyOptions,
};
use time::macros::datetime;
use time::Duration;

/// A real-shaped document signed by the current India-like leaf 40 days before REAL_NOW.
fn genuine() -> Vec<u8> {
    let ts = ts_at(REAL_NOW - Duration::days(40));
    sign_real(
        &real_unsigned(&ts),
        RealSigner::Current,
        &RealSigner::Current.digilocker_order(),
    )
}

/// REAL_NOW as xmlsec1's `--verification-time`.
const XMLSEC_NOW: &str = "2026-11-27 06:30:00";

#[test]
fn a_real_shaped_document_verifies_in_both_implementations() {
    let xml = genuine();
    let text = std::str::from_utf8(&xml).expect("UTF-8");
    // It is the shape it claims to be.
    assert!(text.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Certificate>\n    <CertificateData>"
    ));
    assert!(text.contains("<SignedInfo>\n            <CanonicalizationMethod"));
    assert_eq!(text.matches("<Transform ").count(), 1);
    assert_eq!(text.matches("<X509SubjectName>").count(), 4);
    assert!(
        (15_000..=18_000).contains(&xml.len()),
        "{} bytes, DigiLocker's are 15-18 KB",
        xml.len()
    );

    let v = verify_and_parse_with(&xml, &india_anchors(), &at(REAL_NOW)).expect("verifies");
    let a = &v.aadhaar;
    assert_eq!(a.name, "Priya Sharma");
    assert_eq!(a.address.street, "Gali No. 4 & 5");
    let local = a.local.as_ref().expect("LData");
    assert_eq!(local.name, "प्रिया शर्मा");
    // UIDAI's blank local country (one space) reads as absent.
    assert_eq!(local.address.country, "");
    assert!(a.transaction_id.starts_with("UKC:"));
    let s = &v.signing;
    assert!(s
        .signer_subject
        .contains("DS TEST NATIONAL E-GOVERNANCE DIVISION 2"));
    assert!(s
        .signer_issuer
        .contains("Test SafeScrypt sub-CA for Document Signer 2022"));
    assert_eq!(s.signature_algorithm, SignatureAlgorithm::RsaSha1);
    assert_eq!(s.digest_algorithm, DigestAlgorithm::Sha256);
    assert_eq!(s.chain_validated_at, s.signing_time);
    assert_eq!(Some(s.signing_time), a.generated_at);

    assert!(xmlsec_verifies_real(&xml, XMLSEC_NOW), "xmlsec1 agrees");
}

#[test]
fn the_order_of_key_info_does_not_matter_and_the_root_may_be_left_out() {
    let ts = ts_at(REAL_NOW - Duration::days(40));
    let unsigned = real_unsigned(&ts);
    for order in [
        &["sub-ca.pem", "ca.pem", "root.pem", "leaf.pem"][..],
        &["ca.pem", "leaf.pem", "sub-ca.pem"][..],
        &["leaf.pem", "sub-ca.pem", "ca.pem"][..],
    ] {
        let xml = sign_real(&unsigned, RealSigner::Current, order);
        let v = verify_and_parse_with(&xml, &india_anchors(), &at(REAL_NOW))
            .unwrap_or_else(|e| panic!("{order:?}: {e}"));
        assert!(
            v.signing.signer_subject.contains("DIVISION 2"),
            "{order:?}: the leaf is the signer whatever its position"
        );
        assert!(xmlsec_verifies_real(&xml, XMLSEC_NOW), "{order:?}");
    }
    // Only the leaf: the configured intermediates fill the gap, and nothing else does.
    let leaf_only = sign_real(&unsigned, RealSigner::Current, &["leaf.pem"]);
    let err = verify_and_parse_with(&leaf_only, &india_anchors(), &at(REAL_NOW))
        .expect_err("no path to the root without the intermediates");
    assert!(matches!(err, Error::UntrustedChain { .. }), "{err:?}");
    let with_intermediates = india_anchors()
        .with_intermediates_pem(&(india_pem("ca.pem") + &india_pem("sub-ca.pem")))
        .expect("intermediates load");
    verify_and_parse_with(&leaf_only, &with_intermediates, &at(REAL_NOW))
        .expect("verifies with configured intermediates");
}

#[test]
fn a_root_in_key_info_is_never_trusted_for_being_there() {
    // The genuine document carries its own root, but a verifier configured with another
    // root must refuse it.
    let xml = genuine();
    let other = anchors(); // the compact-shape tests' root
    let err = verify_and_parse_with(&xml, &other, &at(REAL_NOW)).expect_err("untrusted");
    assert!(matches!(err, Error::UntrustedChain { .. }), "{err:?}");

    // A look-alike chain with the same names, carrying its own root in DigiLocker's
    // order: refused by both implementations.
    let ts = ts_at(REAL_NOW - Duration::days(40));
    let evil = sign_real(
        &real_unsigned(&ts),
        RealSigner::Evil,
        &RealSigner::Evil.digilocker_order(),
    );
    let err = verify_and_parse_with(&evil, &india_anchors(), &at(REAL_NOW))
        .expect_err("look-alike chain");
    assert!(matches!(err, Error::UntrustedChain { .. }), "{err:?}");
    assert!(!xmlsec_verifies_real(&evil, XMLSEC_NOW));

    // The look-alike leaf with the genuine chain beside its own in KeyInfo: still refused
    // (the evil leaf is not issued by the genuine sub-CA, whatever else is there).
    let mixed = sign_real(
        &real_unsigned(&ts),
        RealSigner::Evil,
        &[
            "evil-leaf.pem",
            "root.pem",
            "ca.pem",
            "sub-ca.pem",
            "evil-root.pem",
            "evil-ca.pem",
            "evil-sub-ca.pem",
        ],
    );
    let err =
        verify_and_parse_with(&mixed, &india_anchors(), &at(REAL_NOW)).expect_err("mixed chain");
    assert!(matches!(err, Error::UntrustedChain { .. }), "{err:?}");
    assert!(!xmlsec_verifies_real(&mixed, XMLSEC_NOW));
}

/// Whether an error is the kind a tampering must give.
type ExpectedError = fn(&Error) -> bool;

/// Tamperings of a real-shaped document, and the error kind each must give.
#[test]
fn every_tampering_of_the_real_shape_is_refused() {
    let xml = genuine();
    let text = String::from_utf8(xml.clone()).expect("UTF-8");
    let sig_start = text.find("    <Signature ").expect("Signature");
    let sig_end = text.find("</Signature>").expect("/Signature") + "</Signature>".len();
    let signature = &text[sig_start..sig_end];
    let cases: Vec<(&str, Vec<u8>, ExpectedError)> = vec![
        (
            "changed name",
            replace_once(&xml, "name=\"Priya Sharma\"", "name=\"Priya Verma\""),
            |e| matches!(e, Error::SignatureInvalid { .. }),
        ),
        (
            // The whitespace inside SignedInfo is signed.
            "reindented SignedInfo",
            replace_once(
                &xml,
                "<SignedInfo>\n            <CanonicalizationMethod",
                "<SignedInfo>\n        <CanonicalizationMethod",
            ),
            |e| matches!(e, Error::SignatureInvalid { .. }),
        ),
        (
            // So is the whitespace between the data elements (inclusive C14N keeps it).
            "reindented data",
            replace_once(&xml, "\n                <Poi ", "\n            <Poi "),
            |e| matches!(e, Error::SignatureInvalid { .. }),
        ),
        (
            "a C14N transform added after signing",
            replace_once(
                &xml,
                "#enveloped-signature\"/>",
                "#enveloped-signature\"/>\n                    <Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
            ),
            |e| matches!(e, Error::SignatureInvalid { .. }),
        ),
        (
            "an XPath transform",
            replace_once(
                &xml,
                "#enveloped-signature\"/>",
                "#enveloped-signature\"/>\n                    <Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><XPath>not(ancestor-or-self::Poi)</XPath></Transform>",
            ),
            |e| matches!(e, Error::UnsupportedAlgorithm { .. } | Error::UnexpectedStructure { .. }),
        ),
        (
            "forged data wrapped in an Object",
            replace_once(
                &xml,
                "</KeyInfo>",
                "</KeyInfo>\n        <Object><KycRes ts=\"2026-01-01T00:00:00\"><UidData uid=\"xxxxxxxx9999\"><Poi name=\"Mallory\"/></UidData></KycRes></Object>",
            ),
            |e| matches!(e, Error::UnexpectedStructure { .. }),
        ),
        (
            "forged data hidden in KeyInfo",
            replace_once(
                &xml,
                "<X509Data>",
                "<X509Data><UidData uid=\"xxxxxxxx9999\"><Poi name=\"Mallory\"/></UidData>",
            ),
            |e| matches!(e, Error::UnexpectedStructure { .. }),
        ),
        (
            "duplicated Poi",
            replace_once(
                &xml,
                "<Poa ",
                "<Poi dob=\"01-01-1970\" gender=\"M\" name=\"Mallory\"/>\n                <Poa ",
            ),
            |e| matches!(e, Error::UnexpectedStructure { .. }),
        ),
        (
            "a second Signature",
            replace_once(
                &xml,
                "\n</Certificate>",
                &format!("\n{signature}\n</Certificate>"),
            ),
            |e| matches!(e, Error::UnexpectedStructure { .. }),
        ),
        (
            "the leaf swapped for a sibling of the same sub-CA",
            replace_once(
                &xml,
                &base64_of("leaf.pem"),
                &base64_of("expired-leaf.pem"),
            ),
            |e| matches!(e, Error::SignatureInvalid { .. } | Error::UntrustedChain { .. }),
        ),
    ];
    for (name, tampered, expected) in cases {
        let err = verify_and_parse_with(&tampered, &india_anchors(), &at(REAL_NOW))
            .map(|v| v.aadhaar)
            .expect_err(&format!("{name}: accepted"));
        assert!(expected(&err), "{name}: unexpected error {err:?}");
    }
    // What the signature does not cover may change, as with DigiLocker's own files:
    // KeyInfo's layout.
    let reindented = replace_once(
        &xml,
        "\n                <X509SubjectName>",
        "\n<X509SubjectName>",
    );
    verify_and_parse_with(&reindented, &india_anchors(), &at(REAL_NOW))
        .expect("KeyInfo whitespace is not signed");
    assert!(xmlsec_verifies_real(&reindented, XMLSEC_NOW));
}

fn base64_of(file: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(pem_der(&india_pem(file)))
}

/// The crate's time rule (crate docs, "The time rule") against a real-shaped document
/// whose leaf has expired, like DigiLocker's leaf valid 2023-08-22 to 2026-02-11.
#[test]
fn the_time_rule_with_a_leaf_that_has_expired_since() {
    let leaf_expired = datetime!(2026-02-11 23:59:59 UTC);
    let anchors = india_anchors();

    // Signed three weeks before the leaf expired.
    let ts = datetime!(2026-01-20 10:15:30.123 +05:30);
    let xml = sign_real(
        &real_unsigned("2026-01-20T10:15:30.123+05:30"),
        RealSigner::Expired,
        &RealSigner::Expired.digilocker_order(),
    );
    // xmlsec1 (which has no time rule) checks the chain at the signing time: valid.
    assert!(xmlsec_verifies_real(&xml, "2026-01-20 04:45:30"));
    assert!(
        !xmlsec_verifies_real(&xml, XMLSEC_NOW),
        "the leaf has expired by now"
    );

    // Today, nine months after the leaf expired: accepted, validated at the signing time.
    let v = verify_and_parse_with(&xml, &anchors, &at(REAL_NOW)).expect("accepted");
    assert_eq!(v.signing.signing_time, ts);
    assert_eq!(v.signing.chain_validated_at, ts);
    assert_eq!(v.signing.signer_valid_until, leaf_expired);
    assert!(v.signing.signer_subject.contains("DIVISION 1"));

    // With no age limit it verifies however old it gets: ten years on, still judged at
    // its signing time.
    let v = verify_and_parse_with(&xml, &anchors, &at(ts + Duration::days(3650)))
        .expect("no age limit");
    assert_eq!(v.signing.chain_validated_at, ts);

    // A signing time after the leaf expired: a retired key cannot sign new documents.
    let after = sign_real(
        &real_unsigned("2026-03-01T09:00:00.000+05:30"),
        RealSigner::Expired,
        &RealSigner::Expired.digilocker_order(),
    );
    let err = verify_and_parse_with(&after, &anchors, &at(REAL_NOW)).expect_err("expired key");
    assert!(matches!(err, Error::UntrustedChain { .. }), "{err:?}");

    // A signing time before that leaf existed, and the leaf expired now: refused too.
    let before = sign_real(
        &real_unsigned("2023-06-01T09:00:00.000+05:30"),
        RealSigner::Expired,
        &RealSigner::Expired.digilocker_order(),
    );
    let err = verify_and_parse_with(&before, &anchors, &at(REAL_NOW)).expect_err("not yet valid");
    assert!(matches!(err, Error::UntrustedChain { .. }), "{err:?}");

    // The current leaf re-signing an older eKYC (ts before the leaf's notBefore of
    // 2025-10-01): validated now, while the chain is valid.
    let resigned = sign_real(
        &real_unsigned("2025-09-01T09:00:00.000+05:30"),
        RealSigner::Current,
        &RealSigner::Current.digilocker_order(),
    );
    let v = verify_and_parse_with(&resigned, &anchors, &at(REAL_NOW)).expect("re-signed");
    assert_eq!(v.signing.chain_validated_at, REAL_NOW);
}

/// Freshness is a policy of its own (`VerifyOptions::max_age`), checked after the
/// signature: an old genuine document is `TooOld` and says so; a forged one is a
/// signature error whatever its age.
#[test]
fn the_age_limit_is_a_policy_apart_from_the_signature() {
    let anchors = india_anchors();
    // Signed by the leaf that expired on 2026-02-11, three weeks before it did: about
    // ten months old at REAL_NOW.
    let ts = datetime!(2026-01-20 10:15:30.123 +05:30);
    let xml = sign_real(
        &real_unsigned("2026-01-20T10:15:30.123+05:30"),
        RealSigner::Expired,
        &RealSigner::Expired.digilocker_order(),
    );
    let limit = |days| VerifyOptions {
        max_age: Some(Duration::days(days)),
        ..at(REAL_NOW)
    };
    let age = REAL_NOW - ts;
    assert_eq!(age.whole_days(), 311);

    // A limit longer than its age: verified, as with none.
    let v = verify_and_parse_with(&xml, &anchors, &limit(1095)).expect("within three years");
    assert_eq!(v.signing.chain_validated_at, ts);
    verify_and_parse_with(&xml, &anchors, &limit(312)).expect("a day within the limit");

    // A limit shorter than its age: TooOld, naming the signing time and the limit, and
    // never saying the signature failed.
    let err = verify_and_parse_with(&xml, &anchors, &limit(311)).expect_err("too old");
    assert_eq!(
        err,
        Error::TooOld {
            signed_at: ts,
            max_age: Duration::days(311)
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("too old")
            && message.contains("signed on 2026-01-20")
            && message.contains("311 days"),
        "{message}"
    );
    assert!(
        !message.contains("signature") && !message.contains("not trusted"),
        "{message}"
    );

    // A forged document as old as that: a signature error, not TooOld, with or without
    // a limit it would break.
    let forged = replace_once(&xml, "Priya Sharma", "Priya Sharmb");
    for options in [at(REAL_NOW), limit(30)] {
        let err = verify_and_parse_with(&forged, &anchors, &options).expect_err("forged");
        assert!(matches!(err, Error::SignatureInvalid { .. }), "{err:?}");
    }
    // So is one signed by a key nobody trusts.
    let evil = sign_real(
        &real_unsigned("2026-01-20T10:15:30.123+05:30"),
        RealSigner::Evil,
        &RealSigner::Evil.digilocker_order(),
    );
    let err = verify_and_parse_with(&evil, &anchors, &limit(30)).expect_err("untrusted");
    assert!(matches!(err, Error::UntrustedChain { .. }), "{err:?}");
}

#[test]
fn the_built_in_production_anchors_do_not_trust_the_test_pki() {
    let err = verify_and_parse_with(
        &genuine(),
        &TrustAnchors::india_production().expect("built in"),
        &at(REAL_NOW),
    )
    .expect_err("a test PKI named like India's is not India's");
    assert!(matches!(err, Error::UntrustedChain { .. }), "{err:?}");
}
