//! `GET /api/digilocker/{id}/aadhaar` through the sandbox: the verified
//! OKYC-shaped answer and every error code.

use serde_json::{json, Value};

use crate::browser::Browser;
use crate::harness::{assert_error, citizen, happy_citizen, TestApp};

async fn authenticated_as(t: &TestApp, c: &sandbox::seed::Citizen) -> String {
    let created = t.create().await;
    let browser = Browser::new();
    let username = c.aadhaar.clone().or(c.mobile.clone()).unwrap();
    let consent = t
        .sign_in(
            &browser,
            created["url"].as_str().unwrap(),
            &username,
            &c.pin,
        )
        .await;
    t.decide(&browser, &consent, true, None).await;
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_e_aadhaar_is_verified_and_answered_in_the_okyc_shape() {
    let t = TestApp::spawn().await;
    let c = happy_citizen();
    let id = authenticated_as(&t, &c).await;
    let (s, v) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["status"], "complete");
    let a = &v["aadhaar"];
    assert_eq!(a["name"], c.name.as_str());
    assert_eq!(a["dateOfBirth"], c.dob.as_str());
    assert_eq!(a["gender"], c.gender.as_str());
    let aadhaar = c.aadhaar.as_deref().unwrap();
    assert_eq!(a["maskedNumber"], format!("xxxx-xxxx-{}", &aadhaar[8..]));
    assert!(
        !v.to_string().contains(aadhaar),
        "the full Aadhaar number must never leave"
    );
    assert_eq!(
        a["verified"],
        json!({"email": false, "phone": false, "signature": true})
    );
    assert_eq!(a["address"]["pin"], c.address.pc.as_str());
    assert_eq!(a["address"]["careOf"], c.address.co.as_str());
    assert_eq!(a["address"]["district"], c.address.dist.as_str());
    assert_eq!(a["address"]["state"], c.address.state.as_str());
    for key in [
        "careOf",
        "country",
        "district",
        "house",
        "landmark",
        "locality",
        "pin",
        "postOffice",
        "state",
        "street",
        "subDistrict",
        "vtc",
    ] {
        assert!(a["address"][key].is_string(), "address.{key} missing: {a}");
    }
    let photo = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        a["photo"].as_str().unwrap(),
    )
    .unwrap();
    assert!(photo.starts_with(&[0xFF, 0xD8]), "the photo is a JPEG");
    assert!(time::OffsetDateTime::parse(
        a["generatedAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339
    )
    .is_ok());
    // The original XML, downloadable and verifiable by the business itself.
    let xml_url = a["xml"]["fileUrl"].as_str().unwrap();
    assert!(a["xml"]["validUntil"].as_str().unwrap().ends_with("+05:30"));
    let resp = t.http.get(xml_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/xml");
    let xml = resp.bytes().await.unwrap();
    assert!(std::str::from_utf8(&xml).unwrap().contains("<Signature"));
    let anchors = aadhaar::TrustAnchors::from_pem(
        &t.http
            .get(t.url("/sandbox/ca.pem"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(aadhaar::verify_and_parse(&xml, &anchors).is_ok());
}

#[tokio::test]
async fn a_citizen_without_aadhaar_or_e_aadhaar_gets_the_contract_codes() {
    let t = TestApp::spawn().await;
    let no_aadhaar = citizen(|c| c.aadhaar.is_none() && c.has_account);
    let id = authenticated_as(&t, &no_aadhaar).await;
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_error(s, &b, 400, "aadhaar_not_linked");
    let no_eaadhaar = citizen(|c| c.aadhaar.is_some() && !c.eaadhaar_available && c.has_account);
    let id = authenticated_as(&t, &no_eaadhaar).await;
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_error(s, &b, 404, "aadhaar_not_available");
}

#[tokio::test]
async fn upstream_failures_on_the_e_aadhaar_map_to_contract_codes() {
    let t = TestApp::spawn_with(|c| c.upstream_timeout = std::time::Duration::from_secs(1)).await;
    let id = authenticated_as(&t, &happy_citizen()).await;
    let path = format!("/api/digilocker/{id}/aadhaar");
    let cases: [(Value, u16, &str); 4] = [
        (
            json!({"error": {"endpoint": "eaadhaar", "rate": 1.0, "status": 500, "error": "repository_service_unresponsive"}}),
            500,
            "get_xml_failed",
        ),
        (
            json!({"hang": {"endpoint": "eaadhaar", "secs": 30}}),
            500,
            "get_xml_failed",
        ),
        (
            json!({"malformed": {"endpoint": "eaadhaar"}}),
            500,
            "get_xml_failed",
        ),
        (
            json!({"error": {"endpoint": "eaadhaar", "rate": 1.0, "status": 401, "error": "invalid_token"}}),
            401,
            "invalid_token",
        ),
    ];
    for (faults, status, code) in cases {
        t.faults(faults).await;
        let (s, b) = t.get(&path, &t.creds).await;
        assert_error(s, &b, status, code);
    }
    t.faults(json!({})).await;
    let (s, _) = t.get(&path, &t.creds).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn an_e_aadhaar_signed_by_an_untrusted_root_is_refused() {
    // Trust another CA's root: the sandbox's genuine signature must then fail.
    let other = tempfile::tempdir().unwrap();
    let authority = sandbox::signing::SigningAuthority::load_or_create(other.path()).unwrap();
    let pem = other.path().join("other-root.pem");
    std::fs::write(&pem, authority.root_pem()).unwrap();
    let t = TestApp::spawn_with(|c| c.trust_anchors = Some(pem.clone())).await;
    let id = authenticated_as(&t, &happy_citizen()).await;
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_error(s, &b, 500, "unwrap_aadhaar_failed");
}

/// The seeded citizen whose e-Aadhaar was signed about 700 days ago by a
/// signing certificate that has expired since.
fn signed_by_an_expired_certificate() -> sandbox::seed::Citizen {
    citizen(|c| c.eaadhaar_signer == sandbox::seed::EAadhaarSigner::Expired)
}

#[tokio::test]
async fn an_e_aadhaar_whose_signer_expired_since_is_verified_at_its_signing_time() {
    // The default policy: up to 1,095 days old.
    let t = TestApp::spawn().await;
    assert_eq!(t.app.state.config.aadhaar_max_age_days, 1095);
    let c = signed_by_an_expired_certificate();
    let id = authenticated_as(&t, &c).await;
    let (s, v) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["aadhaar"]["name"], c.name.as_str());
    assert_eq!(v["aadhaar"]["verified"]["signature"], true);
}

#[tokio::test]
async fn an_e_aadhaar_older_than_the_age_limit_is_not_available() {
    let t = TestApp::spawn_with(|c| c.aadhaar_max_age_days = 365).await;
    let id = authenticated_as(&t, &signed_by_an_expired_certificate()).await;
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_error(s, &b, 404, "aadhaar_not_available");
    let detail = b["error"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("signed on 20")
            && detail.contains("more than 365 days ago")
            && detail.contains("Please perform Aadhaar KYC again"),
        "{detail}"
    );
    assert!(!detail.contains("signature"), "{detail}");
    // A recent e-Aadhaar is within the same limit.
    let id = authenticated_as(&t, &happy_citizen()).await;
    let (s, v) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn the_age_is_judged_by_the_apps_clock() {
    // 400 days back, the 700-day-old e-Aadhaar was 300 days old: within a year.
    let t = TestApp::spawn_with(|c| c.aadhaar_max_age_days = 365).await;
    t.clock.advance(-400 * 86_400);
    let id = authenticated_as(&t, &signed_by_an_expired_certificate()).await;
    let (s, v) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn an_old_e_aadhaar_that_does_not_verify_is_a_signature_failure_not_too_old() {
    let other = tempfile::tempdir().unwrap();
    let authority = sandbox::signing::SigningAuthority::load_or_create(other.path()).unwrap();
    let pem = other.path().join("other-root.pem");
    std::fs::write(&pem, authority.root_pem()).unwrap();
    let t = TestApp::spawn_with(|c| {
        c.trust_anchors = Some(pem.clone());
        c.aadhaar_max_age_days = 30;
    })
    .await;
    let id = authenticated_as(&t, &signed_by_an_expired_certificate()).await;
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_error(s, &b, 500, "unwrap_aadhaar_failed");
}

#[tokio::test]
async fn the_e_aadhaar_is_fetched_from_v2_where_v3_does_not_exist() {
    let t = TestApp::spawn().await;
    t.faults(json!({"eaadhaar_v2_only": true})).await;
    let c = happy_citizen();
    let id = authenticated_as(&t, &c).await;
    let path = format!("/api/digilocker/{id}/aadhaar");
    let (s, v) = t.get(&path, &t.creds).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["aadhaar"]["name"], c.name.as_str());
    assert_eq!(t.app.state.dl.eaadhaar_path(), "oauth2/2/xml/eaadhaar");
    // Remembered: the next call goes straight there.
    let (s, _) = t.get(&path, &t.creds).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn an_html_page_instead_of_the_e_aadhaar_is_get_xml_failed() {
    let t = TestApp::spawn().await;
    let id = authenticated_as(&t, &happy_citizen()).await;
    t.faults(json!({"eaadhaar_html": true})).await;
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_error(s, &b, 500, "get_xml_failed");
}

/// DigiLocker rotates its signing leaf and keeps older e-Aadhaars as they
/// were signed: one app, one run, e-Aadhaars signed by the current leaf and
/// by the previous one (another key) both verify, with no leaf pinned.
#[tokio::test]
async fn e_aadhaars_signed_before_and_after_the_leaf_rotation_both_verify() {
    let t = TestApp::spawn().await;
    let mut signers = Vec::new();
    for signer in [
        sandbox::seed::EAadhaarSigner::Current,
        sandbox::seed::EAadhaarSigner::Previous,
    ] {
        let c = citizen(|c| c.has_account && c.eaadhaar_available && c.eaadhaar_signer == signer);
        let id = authenticated_as(&t, &c).await;
        let (s, v) = t
            .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
            .await;
        assert_eq!(s, 200, "{}: {v}", c.name);
        assert_eq!(v["aadhaar"]["name"], c.name.as_str());
        assert_eq!(v["aadhaar"]["verified"]["signature"], true);
        let xml = t
            .http
            .get(v["aadhaar"]["xml"]["fileUrl"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // The leaf is the first certificate of KeyInfo.
        let leaf = xml
            .split("<X509Certificate>")
            .nth(1)
            .and_then(|rest| rest.split("</X509Certificate>").next())
            .unwrap()
            .to_owned();
        signers.push(leaf);
    }
    assert_ne!(signers[0], signers[1], "two different leaves");
}
