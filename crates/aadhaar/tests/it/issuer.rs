//! Issuers' XML certificates: each doc type reads into its typed data; the signature is
//! verified against the test PKI; a one-byte change, an untrusted signer, wrapping and
//! hostile input are caught.

use crate::support::{anchors, replace_once, sign, xmlsec_verifies, Signer};
use aadhaar::issuer::{read_and_verify, Details, ReadDocument};
use time::OffsetDateTime;

const SIGNATURE: &str = r#"<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/><Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></Transforms><DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue></DigestValue></Reference></SignedInfo><SignatureValue></SignatureValue><KeyInfo><X509Data></X509Data></KeyInfo></Signature>"#;

/// An issuer certificate in DigiLocker's format, pretty-printed as issuers send it, with
/// `data` as its `CertificateData` and a signature template.
pub fn unsigned(doc_type: &str, number: &str, data: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Certificate language="99" name="Test Document" type="{doc_type}" number="{number}" prevNumber="" expiryDate="" validFromDate="12-04-2019" issuedAt="" issueDate="12-04-2019" status="A">
  <IssuedBy>
    <Organization name="Test Issuer" code="000004" tin="" uid="in.gov.test" type="CG"/>
  </IssuedBy>
  <IssuedTo>
    <Person uid="" title="" name="RAMESH KUMAR SHARMA" dob="15-08-1985" swd="SURESH KUMAR SHARMA" swdIndicator="" gender="M" maritalStatus="" religion="" phone="" email="">
      <Address type="permanent" line1="No. 42, 2nd Cross" line2="Gandhi Nagar" house="No. 42" landmark="" locality="Gandhi Nagar" vtc="Bengaluru" district="Bengaluru Urban" pin="560009" state="Karnataka" country="India"/>
      <Photo format="JPEG">/9j/4AAQ</Photo>
    </Person>
  </IssuedTo>
  <CertificateData>
    {data}
  </CertificateData>
{SIGNATURE}</Certificate>
"#
    )
}

pub const PAN: &str = r#"<PAN num="ABCDE1234F" name="RAMESH KUMAR SHARMA" fatherName="SURESH KUMAR SHARMA" dob="15-08-1985" status="Active"/>"#;
const LICENCE: &str = r#"<DrivingLicense number="KA0120110012345" status="Active" issueDate="03-06-2011" validFrom="03-06-2011" validTill="14-08-2035" issuingAuthority="RTO Bengaluru (Central), KA01"><Categories><Category abbreviation="LMV" description="Light Motor Vehicle" issueDate="03-06-2011"/><Category abbreviation="MCWG" description="Motor Cycle with Gear" issueDate="03-06-2011"/></Categories></DrivingLicense>"#;
const VEHICLE: &str = r#"<VehicleRegistration registrationNumber="GJ01RP4321" registrationDate="18-10-2018" ownerName="RAJESH MANUBHAI PATEL" maker="Maruti Suzuki" model="Swift VXI" fuelType="Petrol" chassisNumber="MA3EWDE1S00654321" engineNumber="K12MN1234567" registeringAuthority="RTO Ahmedabad, GJ01" status="Active"/>"#;
const MARKSHEET: &str = r#"<Marksheet examination="Secondary School Examination (Class X)" rollNumber="4012345" year="2001" school="Kendriya Vidyalaya No. 1" result="PASS"><Marks obtained="170" maximum="200" percentage="85.00"><Subject name="Mathematics" obtained="92" maximum="100"/><Subject name="Science" obtained="78" maximum="100"/></Marks></Marksheet>"#;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn read(xml: &[u8]) -> ReadDocument {
    read_and_verify(xml, &anchors(), now()).expect("readable")
}

#[test]
fn each_doc_type_reads_into_its_typed_data_and_verifies() {
    let pan = sign(&unsigned("PANCR", "ABCDE1234F", PAN), Signer::Leaf);
    assert!(xmlsec_verifies(&pan));
    let r = read(&pan);
    assert!(r.verification.signature, "{:?}", r.verification);
    assert_eq!(r.verification.reason, None);
    let signer = r.verification.signer.as_deref().unwrap();
    assert!(
        signer.contains("CN=DS TEST E-GOVERNANCE DIVISION 1"),
        "{signer}"
    );
    assert_eq!(
        r.verification.chain.first().map(String::as_str),
        Some(signer)
    );
    assert!(
        r.verification.chain.len() >= 3,
        "{:?}",
        r.verification.chain
    );
    assert_eq!(r.document.doc_type, "PANCR");
    assert_eq!(r.document.number, "ABCDE1234F");
    assert_eq!(r.document.issue_date.as_deref(), Some("2019-04-12"));
    assert_eq!(r.document.issuer.id, "in.gov.test");
    assert_eq!(r.document.holder.name, "RAMESH KUMAR SHARMA");
    assert_eq!(
        r.document.holder.date_of_birth.as_deref(),
        Some("1985-08-15")
    );
    assert_eq!(r.document.holder.gender.as_deref(), Some("M"));
    assert!(r.document.holder.has_photo);
    assert_eq!(
        r.document.holder.address.as_ref().map(|a| a.pin.as_str()),
        Some("560009")
    );
    assert_eq!(
        r.document.details,
        Details::Pan {
            pan: "ABCDE1234F".into(),
            name: "RAMESH KUMAR SHARMA".into(),
            father_name: "SURESH KUMAR SHARMA".into(),
            date_of_birth: Some("1985-08-15".into()),
            status: "Active".into(),
        }
    );

    let dl = read(&sign(
        &unsigned("DRVLC", "KA0120110012345", LICENCE),
        Signer::Leaf,
    ));
    assert!(dl.verification.signature);
    let Details::DrivingLicence {
        valid_till,
        classes,
        issuing_authority,
        ..
    } = &dl.document.details
    else {
        panic!("{:?}", dl.document.details)
    };
    assert_eq!(valid_till.as_deref(), Some("2035-08-14"));
    assert_eq!(issuing_authority, "RTO Bengaluru (Central), KA01");
    let codes: Vec<&str> = classes.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["LMV", "MCWG"]);
    assert_eq!(classes[0].description, "Light Motor Vehicle");

    let rc = read(&sign(
        &unsigned("RVCER", "GJ01RP4321", VEHICLE),
        Signer::Leaf,
    ));
    assert!(rc.verification.signature);
    let Details::VehicleRegistration {
        owner_name,
        maker,
        chassis_number,
        registration_date,
        ..
    } = &rc.document.details
    else {
        panic!("{:?}", rc.document.details)
    };
    assert_eq!(owner_name, "RAJESH MANUBHAI PATEL");
    assert_eq!(maker, "Maruti Suzuki");
    assert_eq!(chassis_number, "MA3EWDE1S00654321");
    assert_eq!(registration_date.as_deref(), Some("2018-10-18"));

    for doc_type in ["SSCER", "HSCER"] {
        let m = read(&sign(
            &unsigned(doc_type, "20014012345", MARKSHEET),
            Signer::Leaf,
        ));
        assert!(m.verification.signature);
        let Details::Marksheet {
            board,
            year,
            result,
            marks_obtained,
            subjects,
            ..
        } = &m.document.details
        else {
            panic!("{:?}", m.document.details)
        };
        assert_eq!(board, "Test Issuer");
        assert_eq!(year, "2001");
        assert_eq!(result, "PASS");
        assert_eq!(*marks_obtained, Some(170));
        assert_eq!(subjects.len(), 2);
        assert_eq!(subjects[0].obtained, Some(92));
    }

    // An unknown doc type keeps the common part and a generic reading.
    let other = read(&sign(
        &unsigned(
            "PRFND",
            "KABNG001",
            r#"<Field name="Member Name" value="RAMESH KUMAR SHARMA"/><Passbook balance="100"/>"#,
        ),
        Signer::Leaf,
    ));
    assert!(other.verification.signature);
    assert_eq!(other.document.holder.name, "RAMESH KUMAR SHARMA");
    let Details::Generic { fields } = &other.document.details else {
        panic!("{:?}", other.document.details)
    };
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("Member Name", "RAMESH KUMAR SHARMA"),
            ("Passbook.balance", "100")
        ]
    );
}

/// The benchmark's fixture (signed once with xmlsec1 from [`unsigned`]'s PAN) verifies.
#[test]
fn the_benchmark_fixture_verifies() {
    let r = read(&crate::support::fixture("issuer-pan-signed.xml"));
    assert!(r.verification.signature, "{:?}", r.verification);
    assert_eq!(r.document.number, "ABCDE1234F");
}

#[test]
fn a_one_byte_change_leaves_the_data_unverified() {
    let signed = sign(&unsigned("PANCR", "ABCDE1234F", PAN), Signer::Leaf);
    for (from, to) in [
        ("num=\"ABCDE1234F\"", "num=\"ABCDE1234G\""),
        ("dob=\"15-08-1985\" status", "dob=\"16-08-1985\" status"),
        ("pin=\"560009\"", "pin=\"560008\""),
    ] {
        let tampered = replace_once(&signed, from, to);
        assert!(!xmlsec_verifies(&tampered));
        let r = read(&tampered);
        assert!(!r.verification.signature, "{from}");
        let reason = r.verification.reason.unwrap_or_default();
        assert!(reason.contains("does not verify"), "{reason}");
        // The data is still given, so the caller can show what it says, unverified.
        assert_eq!(r.document.doc_type, "PANCR");
    }
    // A change inside the signature value too.
    let s = String::from_utf8(signed.clone()).unwrap();
    let at = s.find("<SignatureValue>").unwrap() + "<SignatureValue>".len();
    let mut bytes = signed.clone();
    bytes[at + 10] = if bytes[at + 10] == b'A' { b'B' } else { b'A' };
    assert!(!read(&bytes).verification.signature);
}

#[test]
fn xml_signed_by_an_untrusted_key_is_not_verified() {
    let evil = sign(&unsigned("PANCR", "ABCDE1234F", PAN), Signer::Evil);
    let r = read(&evil);
    assert!(!r.verification.signature);
    let reason = r.verification.reason.unwrap_or_default();
    assert!(reason.contains("not trusted"), "{reason}");
    assert!(r.verification.signer.is_some());
    assert!(r.verification.chain.is_empty());

    // Unsigned: read, never verified.
    let bare = unsigned("PANCR", "ABCDE1234F", PAN).replace(SIGNATURE, "");
    let r = read(bare.as_bytes());
    assert!(!r.verification.signature);
    assert_eq!(
        r.verification.reason.as_deref(),
        Some("the document is not signed (no <Signature>)")
    );

    // The e-Aadhaar's production anchors do not trust the test PKI either.
    let signed = sign(&unsigned("PANCR", "ABCDE1234F", PAN), Signer::Leaf);
    let india = aadhaar::TrustAnchors::india_production().unwrap();
    assert!(
        !read_and_verify(&signed, &india, now())
            .unwrap()
            .verification
            .signature
    );
}

#[test]
fn wrapped_and_hostile_documents_are_refused() {
    let signed = sign(&unsigned("PANCR", "ABCDE1234F", PAN), Signer::Leaf);
    let s = String::from_utf8(signed).unwrap();
    let refused = |xml: &str| read_and_verify(xml.as_bytes(), &anchors(), now()).unwrap_err();

    // A second, forged PAN hidden inside the signature (wrapping): refused.
    let wrapped = s.replacen(
        "<KeyInfo>",
        r#"<Object><PAN xmlns="" num="ZZZZZ9999Z" name="SOMEONE ELSE"/></Object><KeyInfo>"#,
        1,
    );
    assert!(refused(&wrapped).reason.contains("namespace"));
    // In the signature's namespace it is not a PAN at all: the signed one is read, and
    // the signature (now with an Object) is not verified.
    let in_dsig = s.replacen(
        "<KeyInfo>",
        r#"<Object><PAN num="ZZZZZ9999Z" name="SOMEONE ELSE"/></Object><KeyInfo>"#,
        1,
    );
    let r = read(in_dsig.as_bytes());
    assert_eq!(r.document.number, "ABCDE1234F");
    assert!(!r.verification.signature);
    // The signed data moved under an element the reader does not look at, a forged copy
    // put where it looks: two CertificateData, refused.
    let moved = s.replacen(
        "<CertificateData>",
        r#"<CertificateData><PAN num="ZZZZZ9999Z"/></CertificateData><CertificateData>"#,
        1,
    );
    assert!(refused(&moved).reason.contains("occurs 2 times"));
    // Two PAN elements: which one is meant is ambiguous.
    let two = s.replacen(PAN, &format!("{PAN}{PAN}"), 1);
    assert!(refused(&two).reason.contains("2 <PAN>"));
    // A second Signature.
    let sig_at = s.find("<Signature").unwrap();
    let sig_end = s.find("</Signature>").unwrap() + "</Signature>".len();
    let twice = format!("{}{}{}", &s[..sig_end], &s[sig_at..sig_end], &s[sig_end..]);
    assert!(refused(&twice).reason.contains("Signature"));
    // Not a certificate at all.
    assert!(refused("<KycRes/>").reason.contains("<Certificate>"));
    // A DTD, an entity.
    let dtd = s.replacen(
        "<Certificate ",
        "<!DOCTYPE Certificate [<!ENTITY x \"y\">]><Certificate ",
        1,
    );
    assert!(refused(&dtd).reason.contains("hostile"));
    // Too deep, too many elements, too long an attribute, too big.
    let deep = s.replacen(
        PAN,
        &format!("{}{}", "<x>".repeat(100), "</x>".repeat(100)),
        1,
    );
    assert!(refused(&deep).reason.contains("hostile"));
    let many = s.replacen(PAN, &"<Field name=\"a\" value=\"b\"/>".repeat(1001), 1);
    assert!(refused(&many).reason.contains("elements"));
    let long = s.replacen(
        "fatherName=\"SURESH",
        &format!("fatherName=\"{}", "A".repeat(5000)),
        1,
    );
    assert!(refused(&long).reason.contains("limit"));
    let huge = vec![b' '; aadhaar::limits::MAX_DOCUMENT_BYTES + 1];
    assert!(read_and_verify(&huge, &anchors(), now()).is_err());
    // Not UTF-8.
    assert!(read_and_verify(b"<Certificate \xff/>", &anchors(), now()).is_err());
    // A reason never repeats a value from the document.
    assert!(!refused(&two).reason.contains("RAMESH"));
}
