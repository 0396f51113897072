//! Signature verification: a genuine document verifies, every tampering fails, and the
//! verdicts agree with xmlsec1 (the C reference implementation) wherever xmlsec1 rejects.

use crate::support::*;
use aadhaar::{
    verify_and_parse, verify_and_parse_with, DigestAlgorithm, Error, Gender, SignatureAlgorithm,
    TrustAnchors, VerifyOptions,
};
use base64::Engine as _;
use time::{Duration, OffsetDateTime};

#[test]
fn the_signed_sample_verifies_and_its_data_is_read() {
    let xml = signed_fixture();
    assert!(xml.len() > 90_000, "the sample should be realistic in size");
    let v = verify_and_parse(&xml, &anchors()).expect("the signed sample verifies");
    let a = &v.aadhaar;
    assert_eq!(a.name, "Priya Sharma");
    assert_eq!(
        a.date_of_birth.map(|d| d.to_string()).as_deref(),
        Some("15-08-1990")
    );
    assert_eq!(a.gender, Some(Gender::Female));
    assert_eq!(
        a.masked_number.map(|m| m.to_string()).as_deref(),
        Some("xxxx-xxxx-4412")
    );
    assert_eq!(a.address.care_of, "D/O Rajesh Sharma");
    assert_eq!(a.address.street, "Gali No. 4 & 5");
    assert_eq!(a.address.pin, "302017");
    assert_eq!(a.address.sub_district, "Sanganer");
    let local = a.local.as_ref().expect("LData");
    assert_eq!(local.name, "प्रिया शर्मा");
    assert_eq!(local.address.state, "राजस्थान");
    assert_eq!(local.language, "06");
    assert_eq!(a.photo, fixture("photo.jpg"));
    assert!(a.transaction_id.starts_with("UKC:"));

    let s = &v.signing;
    assert!(
        s.signer_subject.contains("DS TEST E-GOVERNANCE DIVISION 1"),
        "{}",
        s.signer_subject
    );
    assert!(s.signer_issuer.contains("Test Document Signer Sub-CA"));
    assert_eq!(s.signature_algorithm, SignatureAlgorithm::RsaSha1);
    assert_eq!(s.digest_algorithm, DigestAlgorithm::Sha256);
    assert_eq!(Some(s.signing_time), a.generated_at);
    assert_eq!(s.chain_validated_at, s.signing_time);
    assert!(xmlsec_verifies(&xml), "xmlsec1 agrees the sample is valid");
}

#[test]
fn a_freshly_signed_document_verifies_in_both_implementations() {
    for method in [DSIG_RSA_SHA1, DSIG_RSA_SHA256] {
        let template = unsigned_small(&ts_now()).replace(DSIG_RSA_SHA1, method);
        let xml = sign(&template, Signer::Leaf);
        let v = verify_and_parse(&xml, &anchors()).unwrap_or_else(|e| panic!("{method}: {e}"));
        let want = if method == DSIG_RSA_SHA1 {
            SignatureAlgorithm::RsaSha1
        } else {
            SignatureAlgorithm::RsaSha256
        };
        assert_eq!(v.signing.signature_algorithm, want);
        assert!(xmlsec_verifies(&xml), "{method}");
    }
}

/// Each tampering, with the error it must produce.
fn tampered_cases() -> Vec<(&'static str, Vec<u8>)> {
    let xml = signed_fixture();
    let text = String::from_utf8(xml.clone()).expect("UTF-8");
    let mut cases = Vec::new();

    cases.push((
        "changed attribute",
        replace_once(&xml, "name=\"Priya Sharma\"", "name=\"Priya Verma\""),
    ));
    cases.push((
        "changed date of birth",
        replace_once(&xml, "dob=\"15-08-1990\"", "dob=\"15-08-1980\""),
    ));
    // Change one base64 character in the middle of the photo: still valid base64.
    let photo = between(&text, "<Pht>", "</Pht>");
    let mid = photo.len() / 2;
    let old = &photo[mid..mid + 4];
    let new: String = old
        .chars()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .collect();
    let mut changed_photo = text.clone();
    let at = text.find("<Pht>").expect("Pht") + 5 + mid;
    changed_photo.replace_range(at..at + 4, &new);
    cases.push(("changed photo", changed_photo.into_bytes()));

    // Flip one bit of the signature value.
    let sig_b64 = between(&text, "<SignatureValue>", "</SignatureValue>");
    let clean: String = sig_b64.chars().filter(|c| !c.is_whitespace()).collect();
    let mut sig = base64::engine::general_purpose::STANDARD
        .decode(&clean)
        .expect("b64");
    sig[100] ^= 0x01;
    let flipped = base64::engine::general_purpose::STANDARD.encode(sig);
    cases.push((
        "flipped signature byte",
        replace_once(&xml, sig_b64, &flipped),
    ));

    // Put another valid leaf of the same sub-CA in KeyInfo.
    let leaf_b64 = between(&text, "<X509Certificate>", "</X509Certificate>");
    let leaf2 = fixture_str("leaf2.pem");
    let leaf2_b64 = between(
        &leaf2,
        "-----BEGIN CERTIFICATE-----",
        "-----END CERTIFICATE-----",
    );
    cases.push((
        "swapped certificate",
        replace_once(&xml, leaf_b64, leaf2_b64),
    ));

    // Changed digest value.
    let digest = between(&text, "<DigestValue>", "</DigestValue>");
    let mut d = base64::engine::general_purpose::STANDARD
        .decode(digest)
        .expect("b64");
    d[0] ^= 0x80;
    let d = base64::engine::general_purpose::STANDARD.encode(d);
    cases.push(("changed digest value", replace_once(&xml, digest, &d)));

    // Signed properly, but by a look-alike chain under a root nobody configured.
    cases.push(("untrusted root", sign(&unsigned(&ts_now()), Signer::Evil)));

    // Wrapping: a forged UidData hidden in a ds:Object, where the enveloped transform hides
    // it from the digest.
    cases.push((
        "forged data wrapped in an Object",
        replace_once(
            &xml,
            "</KeyInfo>",
            "</KeyInfo><Object><KycRes ts=\"2026-01-01T00:00:00\"><UidData uid=\"xxxxxxxx9999\"><Poi name=\"Mallory\"/></UidData></KycRes></Object>",
        ),
    ));
    // Wrapping: a second Poi (duplicated element).
    cases.push((
        "duplicated Poi",
        replace_once(
            &xml,
            "<Poa ",
            "<Poi dob=\"01-01-1970\" gender=\"M\" name=\"Mallory\"/><Poa ",
        ),
    ));
    // Wrapping: a second, unsigned CertificateData before the signed one.
    cases.push((
        "duplicated CertificateData",
        replace_once(
            &xml,
            "<Certificate><CertificateData>",
            "<Certificate><CertificateData><KycRes><UidData><Poi name=\"Mallory\"/></UidData></KycRes></CertificateData><CertificateData>",
        ),
    ));
    // The signature moved inside the data: still digests the same, but not DigiLocker's shape.
    let sig_start = text.find("<Signature ").expect("Signature");
    let sig_end = text.find("</Signature>").expect("/Signature") + "</Signature>".len();
    let signature = &text[sig_start..sig_end];
    let mut moved = text.clone();
    moved.replace_range(sig_start..sig_end, "");
    let moved = moved.replacen(
        "</CertificateData>",
        &format!("{signature}</CertificateData>"),
        1,
    );
    cases.push(("signature moved into CertificateData", moved.into_bytes()));
    // A second signature.
    cases.push((
        "duplicated Signature",
        replace_once(
            &xml,
            "</Certificate>",
            &format!("{signature}</Certificate>"),
        ),
    ));
    cases
}

#[test]
fn every_tampering_is_refused_and_xmlsec1_agrees_where_it_can_tell() {
    for (name, xml) in tampered_cases() {
        let err = verify_and_parse(&xml, &anchors())
            .map(|v| v.aadhaar)
            .expect_err(&format!("{name}: accepted a tampered document"));
        let expected = match name {
            "changed attribute"
            | "changed date of birth"
            | "changed photo"
            | "flipped signature byte"
            | "swapped certificate"
            | "changed digest value" => {
                matches!(err, Error::SignatureInvalid { .. })
            }
            "untrusted root" => matches!(err, Error::UntrustedChain { .. }),
            _ => matches!(err, Error::UnexpectedStructure { .. }),
        };
        assert!(expected, "{name}: unexpected error kind {err:?}");

        // The cross-check. xmlsec1 checks cryptography only, so it accepts the wrapping
        // cases (the enveloped transform hides the extra content from the digest); that is
        // exactly why this crate checks the layout. Where xmlsec1 rejects, we must too, and
        // for the cryptographic tamperings it must reject.
        let theirs = xmlsec_verifies(&xml);
        let cryptographic = !matches!(err, Error::UnexpectedStructure { .. });
        if cryptographic {
            assert!(
                !theirs,
                "{name}: xmlsec1 accepted what we rejected as {err:?}"
            );
        }
    }
}

#[test]
fn only_configured_roots_are_trusted() {
    let xml = sign(&unsigned_small(&ts_now()), Signer::Leaf);
    // The look-alike root with the same name is not the configured one.
    let evil = TrustAnchors::from_pem(&fixture_str("evil-root.pem")).expect("pem");
    assert!(matches!(
        verify_and_parse(&xml, &evil),
        Err(Error::UntrustedChain { .. })
    ));
    // Trusting the intermediate directly is a legitimate configuration.
    let inter = TrustAnchors::from_pem(&fixture_str("inter.pem")).expect("pem");
    assert!(verify_and_parse(&xml, &inter).is_ok());
    // Two roots in one bundle: either may anchor.
    let both = format!(
        "{}{}",
        fixture_str("evil-root.pem"),
        fixture_str("root.pem")
    );
    let both = TrustAnchors::from_pem(&both).expect("pem");
    assert_eq!(both.root_subjects().len(), 2);
    assert!(verify_and_parse(&xml, &both).is_ok());
}

#[test]
fn a_leaf_only_key_info_needs_configured_intermediates() {
    let xml = sign(&unsigned_small(&ts_now()), Signer::LeafOnly);
    assert_eq!(
        String::from_utf8_lossy(&xml)
            .matches("<X509Certificate>")
            .count(),
        1
    );
    assert!(matches!(
        verify_and_parse(&xml, &anchors()),
        Err(Error::UntrustedChain { .. })
    ));
    let with_inter = anchors()
        .with_intermediates_pem(&fixture_str("inter.pem"))
        .expect("pem");
    verify_and_parse(&xml, &with_inter).expect("verifies with the configured intermediate");
    assert!(
        xmlsec_verifies(&xml),
        "xmlsec1 also builds the chain with --untrusted-pem"
    );
}

#[test]
fn sha1_is_refused_for_the_digest() {
    let template = unsigned_small(&ts_now()).replace(
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "http://www.w3.org/2000/09/xmldsig#sha1",
    );
    let xml = sign(&template, Signer::Leaf);
    assert!(xmlsec_verifies(&xml), "the document is validly signed");
    assert!(matches!(
        verify_and_parse(&xml, &anchors()),
        Err(Error::UnsupportedAlgorithm { .. })
    ));
}

#[test]
fn references_other_than_the_whole_document_are_refused() {
    let template = unsigned_small(&ts_now())
        .replace("<CertificateData>", "<CertificateData Id=\"cd\">")
        .replace("<Reference URI=\"\">", "<Reference URI=\"#cd\">");
    let xml = sign_with_args(
        &template,
        Signer::Leaf,
        &["--id-attr:Id", "CertificateData"],
    );
    assert!(String::from_utf8_lossy(&xml).contains("URI=\"#cd\""));
    assert!(matches!(
        verify_and_parse(&xml, &anchors()),
        Err(Error::UnexpectedStructure { .. })
    ));
}

#[test]
fn an_unsigned_document_is_refused() {
    let text = unsigned_small(&ts_now());
    let start = text.find("<Signature ").expect("Signature");
    let end = text.find("</Signature>").expect("end") + "</Signature>".len();
    let mut bare = text.clone();
    bare.replace_range(start..end, "");
    assert_eq!(
        verify_and_parse(bare.as_bytes(), &anchors()).err(),
        Some(Error::SignatureMissing)
    );
    // The template with empty values is not a signature either.
    assert!(verify_and_parse(text.as_bytes(), &anchors()).is_err());
}

#[test]
fn a_document_without_ts_is_refused() {
    let template = unsigned_small("").replace(" ts=\"\"", "");
    let xml = sign(&template, Signer::Leaf);
    assert!(matches!(
        verify_and_parse(&xml, &anchors()),
        Err(Error::SigningTime { .. })
    ));
}

fn at(t: OffsetDateTime) -> VerifyOptions {
    VerifyOptions {
        now: t,
        ..VerifyOptions::default()
    }
}

#[test]
fn the_time_rule() {
    let leaf_until = verify_and_parse(&signed_fixture(), &anchors())
        .expect("sample verifies")
        .signing
        .signer_valid_until;

    // A ts in the future is refused, though the signature itself is fine (xmlsec1, which
    // does not know what ts means, accepts it).
    let future = sign(
        &unsigned_small(&ts_at(OffsetDateTime::now_utc() + Duration::days(1))),
        Signer::Leaf,
    );
    assert!(matches!(
        verify_and_parse(&future, &anchors()),
        Err(Error::SigningTime { .. })
    ));
    assert!(xmlsec_verifies(&future));

    // Signed the day before the leaf expired, checked two days later: accepted, and the
    // chain was judged at the signing time.
    let ts = leaf_until - Duration::days(1);
    let late = sign(&unsigned_small(&ts_at(ts)), Signer::Leaf);
    let v = verify_and_parse_with(&late, &anchors(), &at(leaf_until + Duration::days(1)))
        .expect("signed while the chain was valid");
    assert_eq!(v.signing.chain_validated_at, v.signing.signing_time);

    // The same document years later: still verified at its signing time (how old a
    // document may be is the caller's policy, `max_age`, unset here).
    let v = verify_and_parse_with(&late, &anchors(), &at(leaf_until + Duration::days(4 * 365)))
        .expect("no age limit");
    assert_eq!(v.signing.chain_validated_at, v.signing.signing_time);

    // Signed after the chain expired: refused whatever the clock says.
    let after = sign(
        &unsigned_small(&ts_at(leaf_until + Duration::days(1))),
        Signer::Leaf,
    );
    let err = verify_and_parse_with(&after, &anchors(), &at(leaf_until + Duration::days(2)));
    assert!(matches!(err, Err(Error::UntrustedChain { .. })), "{err:?}");

    // A ts before the leaf existed, but the chain is valid now: judged now (DigiLocker
    // re-signing an older UIDAI response with its current certificate).
    let old = sign(
        &unsigned_small("2024-01-15T10:00:00.000+05:30"),
        Signer::Leaf,
    );
    let v = verify_and_parse(&old, &anchors()).expect("chain valid now");
    assert!(v.signing.chain_validated_at > v.signing.signing_time);
}

#[test]
fn trust_anchor_configuration_errors_are_reported() {
    assert!(matches!(
        TrustAnchors::from_pem(""),
        Err(Error::TrustAnchors { .. })
    ));
    assert!(matches!(
        TrustAnchors::from_pem(
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----"
        ),
        Err(Error::TrustAnchors { .. })
    ));
    assert!(matches!(
        TrustAnchors::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
        Err(Error::TrustAnchors { .. })
    ));
}

#[test]
fn a_sha1_signed_certificate_is_refused() {
    let xml = sign(&unsigned_small(&ts_now()), Signer::Sha1Leaf);
    let err = verify_and_parse(&xml, &anchors())
        .map(|v| v.aadhaar)
        .expect_err("refused");
    assert!(
        matches!(&err, Error::UntrustedChain { reason } if reason.contains("SHA-1")),
        "{err:?}"
    );
}

#[test]
fn a_raw_key_value_is_refused() {
    // xmlsec1 fills KeyValue with the signing key's public key: a signature that verifies
    // against a key nobody vouches for.
    let template = unsigned_small(&ts_now()).replace("<X509Data></X509Data>", "<KeyValue/>");
    let xml = sign(&template, Signer::Leaf);
    assert!(String::from_utf8_lossy(&xml).contains("<Modulus>"));
    assert!(matches!(
        verify_and_parse(&xml, &anchors()),
        Err(Error::UnexpectedStructure { .. })
    ));
}
