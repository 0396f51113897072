//! What the real DigiLocker does and the gateway must survive: a document
//! already in the locker (`uri_exists`), slow issuers, pulls outside the
//! consent, accounts without Aadhaar, rotating refresh tokens, a token
//! revoked behind our back, a slow catalogue.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{
    assert_error, citizen, happy_citizen, happy_pan_parameters, parameters_of, TestApp,
};

async fn fetch(t: &TestApp, id: &str, org: &str, doc: &str, params: Value) -> (u16, Value) {
    t.post(
        &format!("/api/digilocker/{id}/document"),
        &t.creds,
        json!({"docType": doc, "orgId": org, "format": "pdf", "consent": "Y", "parameters": params}),
    )
    .await
}

async fn download(t: &TestApp, link: &Value) -> Vec<u8> {
    let resp = t
        .http
        .get(link["fileUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn a_returning_citizen_fetches_the_same_documents_again() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let ramesh = happy_citizen();
    let pan = happy_pan_parameters();
    // His class XII mark sheet: CBSE holds it, his locker does not yet.
    let marksheet = ramesh
        .pullable
        .iter()
        .find(|d| d.doctype == "HSCER")
        .unwrap();
    let (org, sheet) = (marksheet.orgid.as_str(), parameters_of(marksheet));
    let (_, v) = t
        .get("/api/digilocker/documents?docType=PANCR", &t.creds)
        .await;
    let pan_org = v["documents"][0]["orgId"].as_str().unwrap().to_owned();

    // First KYC: his own PAN (already in his locker) and a mark sheet pulled now.
    let first = t.consented(&ramesh, &["HSCER"]).await;
    let mut links = Vec::new();
    for _ in 0..2 {
        // The same request asking twice works too.
        let (s, a) = fetch(&t, &first, &pan_org, "PANCR", pan.clone()).await;
        assert_eq!(s, 200, "{a}");
        let (s, b) = fetch(&t, &first, org, "HSCER", sheet.clone()).await;
        assert_eq!(s, 200, "{b}");
        links.push((a, b));
    }
    // Second KYC of the same citizen, a new request and a new consent.
    let second = t.consented(&ramesh, &["HSCER"]).await;
    let (s, a) = fetch(&t, &second, &pan_org, "PANCR", pan.clone()).await;
    assert_eq!(s, 200, "{a}");
    let (s, b) = fetch(&t, &second, org, "HSCER", sheet.clone()).await;
    assert_eq!(s, 200, "{b}");
    links.push((a, b));
    let first_sheet = download(&t, &links[0].1).await;
    for (pan_link, sheet_link) in &links {
        assert!(download(&t, pan_link).await.starts_with(b"%PDF"));
        assert_eq!(
            download(&t, sheet_link).await,
            first_sheet,
            "the same document every time"
        );
    }
    let urls: std::collections::HashSet<&str> = links
        .iter()
        .map(|(a, _)| a["fileUrl"].as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), 3, "a fresh link each time");
}

#[tokio::test]
async fn a_slow_issuer_is_asked_again_until_it_answers() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    // EPFO's passbook issuer answers pull_response_pending twice first. It
    // holds two passbooks of the happy citizen (two employers).
    let ramesh = happy_citizen();
    let passbooks: Vec<Value> = ramesh
        .pullable
        .iter()
        .filter(|d| d.doctype == "PRFND" && d.orgid == "000171")
        .map(parameters_of)
        .collect();
    assert_eq!(passbooks.len(), 2);
    let id = t.consented(&ramesh, &["PRFND"]).await;
    let (s, b) = fetch(&t, &id, "000171", "PRFND", passbooks[0].clone()).await;
    assert_eq!(s, 200, "{b}");
    // An issuer that stays pending: a clear error the business can retry.
    t.faults(json!({"pull_pending": {}})).await;
    let (s, b) = fetch(&t, &id, "000171", "PRFND", passbooks[1].clone()).await;
    assert_error(s, &b, 500, "upstream_server_error");
    assert!(b["error"]["detail"]
        .as_str()
        .unwrap()
        .contains("Retry-After"));
}

#[tokio::test]
async fn pulls_outside_the_consent_or_without_aadhaar_get_contract_codes() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    // No docType asked for: the user agreed to no pull of PRFND.
    let id = t.consented(&happy_citizen(), &[]).await;
    let (s, b) = fetch(
        &t,
        &id,
        "002317",
        "PRFND",
        json!([{"name": "AC_NO", "value": "5550001"}, {"name": "MemberName", "value": "R"}]),
    )
    .await;
    assert_error(s, &b, 403, "invalid_grant");
    // An account without Aadhaar pulling an identity document.
    let irfan = citizen(|c| c.aadhaar.is_none() && c.mobile.is_some() && !c.documents.is_empty());
    let id = t.consented(&irfan, &["PANCR"]).await;
    let (_, v) = t
        .get("/api/digilocker/documents?docType=PANCR", &t.creds)
        .await;
    let pan_org = v["documents"][0]["orgId"].as_str().unwrap().to_owned();
    let (s, b) = fetch(
        &t,
        &id,
        &pan_org,
        "PANCR",
        json!([{"name": "panno", "value": "ZZZZZ9999Z"}, {"name": "PANFullName", "value": "Z"}]),
    )
    .await;
    assert_error(s, &b, 400, "aadhaar_not_linked");
}

#[tokio::test]
async fn rotating_refresh_tokens_are_kept_and_concurrent_refreshes_both_work() {
    let t = TestApp::spawn_with(|c| c.request_ttl = Duration::from_secs(6 * 3600)).await;
    let (id, _) = t.authenticated().await;
    let path = format!("/api/digilocker/{id}/issued");
    let mut refresh_tokens = vec![t.stored_token(&id).await["refresh_token"].clone()];
    for _ in 0..2 {
        // Past the access token's expiry: the gateway refreshes first.
        t.clock.advance(3601);
        let (s, b) = t.get(&path, &t.creds).await;
        assert_eq!(s, 200, "{b}");
        let now = t.stored_token(&id).await["refresh_token"].clone();
        if !crate::harness::legacy_sandbox() {
            assert!(!refresh_tokens.contains(&now), "DigiLocker rotated it");
        }
        refresh_tokens.push(now);
    }
    // Two calls that both find the token expired: one refreshes, the other
    // uses what it stored.
    t.clock.advance(3601);
    let (a, b) = tokio::join!(t.get(&path, &t.creds), t.get(&path, &t.creds));
    assert_eq!((a.0, b.0), (200, 200), "{} {}", a.1, b.1);
}

#[tokio::test]
async fn revoke_succeeds_when_digilocker_already_forgot_the_token() {
    let t = TestApp::spawn().await;
    let (id, _) = t.authenticated().await;
    let token = t.stored_token(&id).await;
    // Revoked behind the gateway's back (the user, in DigiLocker's app).
    let resp = t
        .http
        .post(t.url("/sandbox/oauth2/1/revoke"))
        .form(&[
            ("token", token["access_token"].as_str().unwrap()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/revoke"), &t.creds)
        .await;
    assert_eq!((s, &b["success"]), (200, &json!(true)), "{b}");
}

#[tokio::test]
async fn a_slow_catalogue_is_503_until_its_first_build_finishes() {
    let t = TestApp::spawn_with(|c| {
        c.sandbox_catalogue_latency = Duration::from_millis(100);
        c.catalogue_parallelism = 8;
    })
    .await;
    let (s, b) = t.get("/api/digilocker/documents", &t.creds).await;
    assert_error(s, &b, 503, "catalogue_not_ready");
    let started = std::time::Instant::now();
    t.wait_catalogue().await;
    assert!(
        started.elapsed() > Duration::from_millis(500),
        "the latency was really paid"
    );
    let (s, v) = t.get("/api/digilocker/documents", &t.creds).await;
    assert_eq!(s, 200);
    let n = v["documents"].as_array().map_or(0, Vec::len);
    assert!(n >= 100, "{n} documents");
}

/// DigiLocker's token answer spells the user's id, e-Aadhaar flag, date of
/// birth and consent end two ways each; the sandbox takes turns through
/// every combination (its `spelling` module). Four consents of one citizen
/// in one app: each is read the same.
#[tokio::test]
async fn every_spelling_of_the_token_answer_is_read_alike() {
    let t = TestApp::spawn().await;
    let ramesh = happy_citizen();
    for n in 0..4 {
        let id = t.consented(&ramesh, &[]).await;
        let (s, st) = t
            .get(&format!("/api/digilocker/{id}/status"), &t.creds)
            .await;
        assert_eq!(s, 200, "{st}");
        assert_eq!(
            st["digilockerUserDetails"]["digilockerId"],
            ramesh.digilocker_id.as_str(),
            "answer {n} ({:?}): {st}",
            sandbox::spelling::Spelling::of_token_answer(0, n)
        );
        let (s, v) = t
            .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
            .await;
        assert_eq!(s, 200, "answer {n}: {v}");
    }
}
