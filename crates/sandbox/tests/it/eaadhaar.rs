//! The e-Aadhaar over HTTP in the shape the sandbox is configured for, verified as a
//! gateway verifies it: with the `aadhaar` crate, trusting only the root from `ca.pem`.

use crate::support::*;
use reqwest::StatusCode;
use sandbox::EAadhaarShape;

async fn fetch_eaadhaar(sb: &TestSandbox) -> String {
    let token = sb.token_for(&happy_citizen()).await;
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
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Certificate>\n    <CertificateData>"));
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
    assert_eq!(token["eaadhar"], "Y", "{token}");
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
