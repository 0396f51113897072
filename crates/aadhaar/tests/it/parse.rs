//! Parsing without verification: fields, missing data, masking, and hostile input.

use crate::support::*;
use aadhaar::limits::{MAX_ATTRIBUTE_BYTES, MAX_DOCUMENT_BYTES, MAX_PHOTO_BYTES};
use aadhaar::{parse_unverified, verify_and_parse, Error};
use base64::Engine as _;

fn minimal(uid_data: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><Certificate><CertificateData><KycRes ts=\"2026-11-25T10:00:00\" txn=\"t\">{uid_data}</KycRes></CertificateData></Certificate>"
    )
}

#[test]
fn missing_and_empty_attributes_are_normal() {
    let xml = minimal("<UidData uid=\"\"><Poi name=\"Ravi\" dob=\"\" gender=\"\"/><Poa state=\"Kerala\"/></UidData>");
    let a = parse_unverified(xml.as_bytes()).expect("parses");
    assert_eq!(a.name, "Ravi");
    assert_eq!(a.date_of_birth, None);
    assert_eq!(a.gender, None);
    assert_eq!(a.masked_number, None);
    assert_eq!(a.address.state, "Kerala");
    assert_eq!(a.address.vtc, "");
    assert_eq!(a.local, None);
    assert!(a.photo.is_empty());
    let c = a.to_contract(false, "", "");
    assert_eq!(c.date_of_birth, "");
    assert_eq!(c.masked_number, "");
    assert_eq!(c.photo, "");
    assert!(!c.verified.signature);
}

#[test]
fn year_only_dates_of_birth_are_kept() {
    let xml = minimal("<UidData><Poi name=\"A\" dob=\"1961\" gender=\"M\"/></UidData>");
    let a = parse_unverified(xml.as_bytes()).expect("parses");
    assert_eq!(a.to_contract(false, "", "").date_of_birth, "1961");
}

#[test]
fn a_full_aadhaar_number_is_masked_on_parse_and_never_leaves() {
    let full = aadhaar::verhoeff::append_check_digit("98765432109").expect("digits");
    let xml = minimal(&format!(
        "<UidData uid=\"{full}\"><Poi name=\"A\"/></UidData>"
    ));
    let a = parse_unverified(xml.as_bytes()).expect("parses");
    assert_eq!(
        a.masked_number.map(|m| m.to_string()),
        Some(format!("xxxx-xxxx-{}", &full[8..]))
    );
    let json = serde_json::to_string(&a.to_contract(false, "", "")).expect("json");
    assert!(!json.contains(&full[..8]), "{json}");
    assert!(!format!("{a:?}").contains(&full[..8]));
}

#[test]
fn unreadable_values_are_malformed_and_the_message_has_no_personal_data() {
    let xml = minimal("<UidData><Poi name=\"A\" dob=\"31-02-1990\"/></UidData>");
    let err = parse_unverified(xml.as_bytes()).expect_err("refused");
    assert!(matches!(err, Error::Malformed { .. }));
    assert!(!err.to_string().contains("31-02-1990"), "{err}");
    let xml = minimal("<UidData><Poi name=\"A\"/><Pht>not*base64</Pht></UidData>");
    assert!(matches!(
        parse_unverified(xml.as_bytes()),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(
        parse_unverified(b"\xff\xfe<x/>"),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(
        parse_unverified(b"<Certificate>"),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn wrong_shapes_are_refused() {
    for (why, xml) in [
        ("no Poi", minimal("<UidData/>")),
        (
            "two UidData",
            minimal("<UidData><Poi/></UidData><UidData><Poi/></UidData>"),
        ),
        (
            "namespaced Poi",
            minimal("<UidData xmlns:e=\"urn:e\"><e:Poi name=\"A\"/></UidData>"),
        ),
        (
            "Poi not under UidData",
            minimal("<Poi name=\"B\"/><UidData><Poi/></UidData>"),
        ),
        ("other root", "<Other><CertificateData/></Other>".to_owned()),
        (
            "extra element under the root",
            minimal("<UidData><Poi/></UidData>")
                .replace("</Certificate>", "<Extra/></Certificate>"),
        ),
    ] {
        assert!(
            matches!(
                parse_unverified(xml.as_bytes()),
                Err(Error::UnexpectedStructure { .. })
            ),
            "{why}: {:?}",
            parse_unverified(xml.as_bytes())
        );
    }
}

#[test]
fn dtds_and_entity_expansion_are_hostile() {
    let billion_laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Certificate><CertificateData><KycRes><UidData><Poi name="&lol3;"/></UidData></KycRes></CertificateData></Certificate>"#;
    let external = r#"<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><Certificate/>"#;
    for xml in [billion_laughs, external] {
        let err = parse_unverified(xml.as_bytes());
        assert!(matches!(err, Err(Error::Hostile { .. })), "{err:?}");
        assert!(matches!(
            verify_and_parse(xml.as_bytes(), &anchors()),
            Err(Error::Hostile { .. })
        ));
    }
}

#[test]
fn deep_nesting_is_hostile() {
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    let xml = minimal(&format!("<UidData><Poi/>{deep}</UidData>"));
    assert!(matches!(
        parse_unverified(xml.as_bytes()),
        Err(Error::Hostile { .. })
    ));
}

#[test]
fn oversized_inputs_are_hostile() {
    let big_attr = "x".repeat(MAX_ATTRIBUTE_BYTES + 1);
    let xml = minimal(&format!("<UidData><Poi name=\"{big_attr}\"/></UidData>"));
    assert!(matches!(
        parse_unverified(xml.as_bytes()),
        Err(Error::Hostile { .. })
    ));

    let big_photo =
        base64::engine::general_purpose::STANDARD.encode(vec![7u8; MAX_PHOTO_BYTES + 3]);
    let xml = minimal(&format!("<UidData><Poi/><Pht>{big_photo}</Pht></UidData>"));
    assert!(
        xml.len() < MAX_DOCUMENT_BYTES,
        "the photo limit is what is tested"
    );
    assert!(matches!(
        parse_unverified(xml.as_bytes()),
        Err(Error::Hostile { .. })
    ));

    // A photo just within the limit is fine.
    let ok_photo = base64::engine::general_purpose::STANDARD.encode(vec![7u8; MAX_PHOTO_BYTES]);
    let xml = minimal(&format!("<UidData><Poi/><Pht>{ok_photo}</Pht></UidData>"));
    assert_eq!(
        parse_unverified(xml.as_bytes()).map(|a| a.photo.len()),
        Ok(MAX_PHOTO_BYTES)
    );

    let huge = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(
        parse_unverified(&huge),
        Err(Error::Hostile { .. })
    ));

    let many = "<e/>".repeat(5000);
    let xml = minimal(&format!("<UidData><Poi/>{many}</UidData>"));
    assert!(matches!(
        parse_unverified(xml.as_bytes()),
        Err(Error::Hostile { .. })
    ));
}

#[test]
fn the_signed_sample_parses_unverified_to_the_same_data() {
    let xml = signed_fixture();
    let unverified = parse_unverified(&xml).expect("parses");
    let verified = verify_and_parse(&xml, &anchors())
        .expect("verifies")
        .aadhaar;
    assert_eq!(unverified, verified);
}

#[test]
fn a_declared_encoding_other_than_utf8_is_refused() {
    let body = minimal("<UidData><Poi name=\"A\"/></UidData>");
    let latin1 = body.replace(
        "<?xml version=\"1.0\"?>",
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
    );
    assert!(matches!(
        parse_unverified(latin1.as_bytes()),
        Err(Error::Malformed { .. })
    ));
    let utf8 = body.replace(
        "<?xml version=\"1.0\"?>",
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
    );
    assert!(parse_unverified(utf8.as_bytes()).is_ok());
}
