//! The e-Aadhaar over HTTP in the shape the sandbox is configured for, verified as a
//! gateway verifies it: with the `aadhaar` crate, trusting only the root from `ca.pem`.

use crate::support::*;
use reqwest::StatusCode;
use sandbox::EAadhaarShape;

async fn fetch_eaadhaar(sb: &TestSandbox) -> String {
    fetch_eaadhaar_of(sb, &happy_citizen()).await
}

async fn fetch_eaadhaar_of(sb: &TestSandbox, who: &sandbox::seed::Citizen) -> String {
    let token = sb.token_for(who).await;
    let access = token["access_token"].as_str().unwrap();
    let response = sb.get_bearer("oauth2/3/xml/eaadhaar", access).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

async fn verify(sb: &TestSandbox, xml: &str) -> aadhaar::Verified {
    let root = sb
        .browser
        .get(sb.url("ca.pem"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let anchors = aadhaar::TrustAnchors::from_pem(&root).unwrap();
    aadhaar::verify_and_parse(xml.as_bytes(), &anchors).unwrap()
}

#[tokio::test]
async fn the_real_shape_is_served_by_default_and_verifies() {
    let sb = spawn().await;
    let xml = fetch_eaadhaar(&sb).await;
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Certificate><CertificateData>"));
    assert_eq!(xml.matches("<X509SubjectName>").count(), 4);
    assert_eq!(xml.matches("<Transform ").count(), 1);
    let v = verify(&sb, &xml).await;
    assert_eq!(v.aadhaar.name, happy_citizen().name);
    // ts is the eKYC time, days to months before this download.
    let age = time::OffsetDateTime::now_utc() - v.signing.signing_time;
    assert!(
        age > time::Duration::days(2) && age < time::Duration::days(181),
        "{age}"
    );
}

#[tokio::test]
async fn the_legacy_shape_is_served_when_configured_and_verifies() {
    let sb = spawn_with(|c| c.eaadhaar_shape = EAadhaarShape::Legacy).await;
    let xml = fetch_eaadhaar(&sb).await;
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><Certificate><CertificateData>"));
    assert!(!xml.contains("<X509SubjectName>"));
    assert_eq!(xml.matches("<X509Certificate>").count(), 3);
    let v = verify(&sb, &xml).await;
    assert_eq!(v.aadhaar.name, happy_citizen().name);
}

/// The citizen whose e-Aadhaar was signed by a certificate that has expired
/// since: served like any other, verified at its signing time, and older
/// than a year.
#[tokio::test]
async fn the_citizen_signed_by_an_expired_certificate() {
    let sb = spawn().await;
    let harish = citizen(|c| c.eaadhaar_signer == sandbox::seed::EAadhaarSigner::Expired);
    assert!(harish.has_account && harish.eaadhaar_available);
    let token = sb.token_for(&harish).await;
    assert_eq!(
        token.get("eaadhar").or(token.get("eaadhaar")),
        Some(&serde_json::json!("Y")),
        "{token}"
    );
    let access = token["access_token"].as_str().unwrap();
    let response = sb.get_bearer("oauth2/3/xml/eaadhaar", access).await;
    assert_eq!(response.status(), StatusCode::OK);
    let xml = response.text().await.unwrap();
    let v = verify(&sb, &xml).await;
    assert_eq!(v.aadhaar.name, harish.name);
    assert!(v
        .signing
        .signer_subject
        .contains(sandbox::signing::EXPIRED_SIGNER_CN));
    let now = time::OffsetDateTime::now_utc();
    assert!(v.signing.signer_valid_until < now, "the signer has expired");
    assert!(v.signing.signing_time < v.signing.signer_valid_until);
    assert_eq!(v.signing.chain_validated_at, v.signing.signing_time);
    let age = now - v.signing.signing_time;
    assert_eq!(
        age.whole_days(),
        sandbox::signing::EXPIRED_SIGNER_EKYC_AGE_DAYS,
        "{age}"
    );
}

/// The whitespace text nodes inside the root element, as (parent, text), in
/// document order, read the way an XML parser that keeps whitespace sees
/// them (as `xmlsec1` and DOM-walking clients do).
fn whitespace_nodes(xml: &str) -> Vec<(String, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut nodes = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => stack.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap()),
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                let text = String::from_utf8(t.to_vec()).unwrap();
                if let Some(parent) = stack.last().filter(|_| text.trim().is_empty()) {
                    nodes.push((parent.clone(), text));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    nodes
}

/// DigiLocker's files: six lines, no whitespace in the signed data, and in
/// `<Signature>` exactly four whitespace text nodes (`\n  ` before
/// SignedInfo, `\n    ` before SignatureMethod, `\n  ` before Reference,
/// `\n` before KeyInfo). Over HTTP, for a citizen of each signer.
#[tokio::test]
async fn the_real_shape_has_digilockers_lines_and_whitespace_nodes() {
    let sb = spawn().await;
    for who in [
        happy_citizen(),
        citizen(|c| c.eaadhaar_signer == sandbox::seed::EAadhaarSigner::Previous),
        citizen(|c| c.eaadhaar_signer == sandbox::seed::EAadhaarSigner::Expired),
    ] {
        let xml = fetch_eaadhaar_of(&sb, &who).await;
        assert_eq!(xml.lines().count(), 6, "{}:\n{xml}", who.name);
        assert_eq!(
            whitespace_nodes(&xml),
            [
                ("Signature", "\n  "),
                ("SignedInfo", "\n    "),
                ("SignedInfo", "\n  "),
                ("Signature", "\n"),
            ]
            .map(|(p, t)| (p.to_owned(), t.to_owned())),
            "{}",
            who.name
        );
        assert_eq!(
            whitespace_nodes(&xml),
            sandbox::signing::REAL_SIGNATURE_WHITESPACE.map(|(p, t)| (p.to_owned(), t.to_owned()))
        );
        let v = verify(&sb, &xml).await;
        assert_eq!(v.aadhaar.name, who.name);
    }
}

/// The sandbox's leaf was rotated: e-Aadhaars whose eKYC came after the
/// rotation carry the current leaf, older ones the previous leaf (another
/// key, still valid); both verify against the one root, with no leaf pinned.
#[tokio::test]
async fn e_aadhaars_from_before_the_rotation_carry_the_previous_leaf() {
    use sandbox::seed::EAadhaarSigner;
    let sb = spawn().await;
    let mut signers = Vec::new();
    for signer in [EAadhaarSigner::Current, EAadhaarSigner::Previous] {
        let who = citizen(|c| c.eaadhaar_available && c.has_account && c.eaadhaar_signer == signer);
        let xml = fetch_eaadhaar_of(&sb, &who).await;
        let v = verify(&sb, &xml).await;
        let age = time::OffsetDateTime::now_utc() - v.signing.signing_time;
        let rotated = time::Duration::days(sandbox::signing::ROTATED_DAYS_AGO);
        match signer {
            EAadhaarSigner::Previous => {
                assert!(age > rotated, "{}: {age}", who.name);
                assert!(v.signing.signing_time < v.signing.signer_valid_until);
            }
            _ => assert!(age < rotated, "{}: {age}", who.name),
        }
        assert!(v.signing.signer_valid_until > time::OffsetDateTime::now_utc());
        signers.push(v.signing.signer_subject.clone());
    }
    assert_ne!(signers[0], signers[1]);
    assert!(
        signers[0].starts_with(&format!("CN={},", sandbox::signing::SIGNER_CN)),
        "{}",
        signers[0]
    );
    assert!(
        signers[1].starts_with(&format!("CN={},", sandbox::signing::PREVIOUS_SIGNER_CN)),
        "{}",
        signers[1]
    );
}
