//! The consent journey through the sandbox's pages, over HTTP.

use serde_json::json;

use crate::browser::Browser;
use crate::harness::{citizen, happy_citizen, param, query, TestApp, BUSINESS};

#[tokio::test]
async fn consent_with_documents_ticked_authenticates_and_returns_scope() {
    let t = TestApp::spawn().await;
    let created = t.create().await;
    let id = created["id"].as_str().unwrap();
    let c = happy_citizen();
    let browser = Browser::new();
    let consent = t
        .sign_in(
            &browser,
            created["url"].as_str().unwrap(),
            c.aadhaar.as_deref().unwrap(),
            &c.pin,
        )
        .await;
    let offered = consent.checkbox_values("doc");
    assert!(
        offered.len() >= 2,
        "the happy citizen has documents: {offered:?}"
    );
    let back = t.decide(&browser, &consent, true, None).await;
    // The business's own parameters are kept, ours added.
    let q = query(&back);
    assert_eq!(q[0], ("sessionId".to_owned(), "XYZ".to_owned()));
    assert_eq!(param(&back, "success").as_deref(), Some("True"));
    assert_eq!(param(&back, "id").as_deref(), Some(id));
    let scope = param(&back, "scope").unwrap();
    for d in &c.documents {
        assert!(
            scope.split('+').any(|s| s == d.doctype),
            "{} missing from scope {scope:?}",
            d.doctype
        );
    }
    let (s, st) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(s, 200);
    assert_eq!(st["status"], "authenticated");
    assert_eq!(
        st["digilockerUserDetails"]["digilockerId"],
        c.digilocker_id.as_str()
    );
    assert_eq!(
        st["digilockerUserDetails"]["phoneNumber"],
        c.mobile.as_deref().unwrap()
    );
    assert_eq!(st["digilockerUserDetails"]["email"], c.email.as_str());
}

#[tokio::test]
async fn consent_with_nothing_ticked_still_authenticates_with_empty_scope() {
    let t = TestApp::spawn().await;
    let created = t.create().await;
    let c = happy_citizen();
    let browser = Browser::new();
    let consent = t
        .sign_in(
            &browser,
            created["url"].as_str().unwrap(),
            c.mobile.as_deref().unwrap(),
            &c.pin,
        )
        .await;
    let back = t.decide(&browser, &consent, true, Some(&[])).await;
    assert_eq!(param(&back, "success").as_deref(), Some("True"));
    assert_eq!(param(&back, "scope").as_deref(), Some(""));
    let (_, st) = t
        .get(
            &format!("/api/digilocker/{}/status", created["id"].as_str().unwrap()),
            &t.creds,
        )
        .await;
    assert_eq!(st["status"], "authenticated");
}

#[tokio::test]
async fn deny_sends_the_user_back_with_user_consent_not_given() {
    let t = TestApp::spawn().await;
    let created = t.create().await;
    let id = created["id"].as_str().unwrap();
    let c = happy_citizen();
    let browser = Browser::new();
    let consent = t
        .sign_in(
            &browser,
            created["url"].as_str().unwrap(),
            c.aadhaar.as_deref().unwrap(),
            &c.pin,
        )
        .await;
    let back = t.decide(&browser, &consent, false, None).await;
    assert_eq!(param(&back, "sessionId").as_deref(), Some("XYZ"));
    assert_eq!(param(&back, "success").as_deref(), Some("False"));
    assert_eq!(param(&back, "id").as_deref(), Some(id));
    assert_eq!(
        param(&back, "errCode").as_deref(),
        Some("user_consent_not_given")
    );
    assert!(param(&back, "errMessage").is_some_and(|m| !m.is_empty()));
    let (_, st) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(st["status"], "unauthenticated");
    assert_eq!(st["digilockerUserDetails"], json!({}));
    let (s, b) = t
        .post(&format!("/api/digilocker/{id}/document"), &t.creds, json!({"docType": "PANCR", "orgId": "x", "format": "pdf", "consent": "Y", "parameters": []}))
        .await;
    crate::harness::assert_error(s, &b, 401, "user_consent_not_given");
}

#[tokio::test]
async fn three_wrong_otps_fail_the_journey() {
    let t = TestApp::spawn().await;
    let created = t.create().await;
    let c = happy_citizen();
    let browser = Browser::new();
    let page = t
        .open_journey(&browser, created["url"].as_str().unwrap())
        .await;
    let mut page = browser
        .submit(
            &page,
            None,
            &[("username", c.aadhaar.as_deref().unwrap())],
            &t.base,
        )
        .await;
    for attempt in 1..=2 {
        page = browser
            .submit(&page, None, &[("otp", "000000")], &t.base)
            .await;
        assert!(
            page.status == 200 || page.status == 422,
            "attempt {attempt}: {page:?}"
        );
        assert!(
            page.body.to_lowercase().contains("otp"),
            "a message about the OTP: {}",
            page.body
        );
    }
    let end = browser
        .submit(&page, None, &[("otp", "000000")], &t.base)
        .await;
    let back = reqwest::Url::parse(
        end.location
            .as_deref()
            .expect("redirect back after 3 wrong OTPs"),
    )
    .unwrap();
    assert!(back.as_str().starts_with("http://127.0.0.1:9/"));
    assert_eq!(param(&back, "success").as_deref(), Some("False"));
    assert!(param(&back, "errCode").is_some_and(|c| !c.is_empty()));
    let (_, st) = t
        .get(
            &format!("/api/digilocker/{}/status", created["id"].as_str().unwrap()),
            &t.creds,
        )
        .await;
    assert_eq!(st["status"], "unauthenticated");
}

#[tokio::test]
async fn a_replayed_or_forged_callback_changes_nothing() {
    let t = TestApp::spawn().await;
    let created = t.create().await;
    let id = created["id"].as_str().unwrap();
    let browser = Browser::new();
    let consent = t.happy_consent(&created, &browser).await;
    // Stop at the callback to capture it.
    let callback = t.allow_to_callback(&browser, &consent).await;
    let first = browser.get(&callback).await;
    assert!(first.location.as_deref().unwrap().contains("success=True"));
    let (_, before) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    let token_before = t
        .app
        .state
        .store
        .get_request(&t.creds.id, id, 0)
        .await
        .unwrap()
        .unwrap()
        .token;

    let replay = browser.get(&callback).await;
    assert_eq!(replay.status, 400, "{replay:?}");
    assert!(replay.location.is_none());
    let forged = browser
        .get(&t.url("/digilocker/callback?code=abc&state=forged"))
        .await;
    assert_eq!(forged.status, 400);
    let empty = browser.get(&t.url("/digilocker/callback")).await;
    assert_eq!(empty.status, 400);
    let (_, after) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(before["status"], after["status"]);
    assert_eq!(
        before["digilockerUserDetails"],
        after["digilockerUserDetails"]
    );
    let token_after = t
        .app
        .state
        .store
        .get_request(&t.creds.id, id, 0)
        .await
        .unwrap()
        .unwrap()
        .token;
    assert_eq!(
        token_before, token_after,
        "the stored token must not change"
    );
    // The start link is dead too.
    let again = browser.get(created["url"].as_str().unwrap()).await;
    assert_eq!(again.status, 409);
}

#[tokio::test]
async fn a_citizen_without_an_account_signs_up() {
    let t = TestApp::spawn().await;
    let created = t.create().await;
    let c = citizen(|c| !c.has_account && c.mobile.is_some() && c.aadhaar.is_some());
    let browser = Browser::new();
    let page = t
        .open_journey(&browser, created["url"].as_str().unwrap())
        .await;
    // Sign in says there is no account; sign up instead.
    let signup = browser.submit(&page, Some("signup"), &[], &t.base).await;
    let page = browser
        .submit(
            &signup,
            None,
            &[("aadhaar", c.aadhaar.as_deref().unwrap())],
            &t.base,
        )
        .await;
    let page = browser
        .submit(&page, None, &[("otp", sandbox::seed::OTP)], &t.base)
        .await;
    let consent = browser
        .submit(
            &page,
            None,
            &[("pin", "246810"), ("pin_confirm", "246810")],
            &t.base,
        )
        .await;
    assert!(consent.body.contains("decision"), "{consent:?}");
    let back = t.decide(&browser, &consent, true, None).await;
    assert_eq!(param(&back, "success").as_deref(), Some("True"));
    let (_, st) = t
        .get(
            &format!("/api/digilocker/{}/status", created["id"].as_str().unwrap()),
            &t.creds,
        )
        .await;
    assert_eq!(st["status"], "authenticated");
}

#[tokio::test]
async fn a_citizen_whose_aadhaar_has_no_mobile_cannot_sign_up_and_the_business_is_told() {
    let t = TestApp::spawn().await;
    let created = t.create().await;
    let c = citizen(|c| !c.has_account && c.mobile.is_none());
    let browser = Browser::new();
    let page = t
        .open_journey(&browser, created["url"].as_str().unwrap())
        .await;
    let signup = browser.submit(&page, Some("signup"), &[], &t.base).await;
    let end = browser
        .submit(
            &signup,
            None,
            &[("aadhaar", c.aadhaar.as_deref().unwrap())],
            &t.base,
        )
        .await;
    let back =
        reqwest::Url::parse(end.location.as_deref().unwrap_or_else(|| panic!("{end:?}"))).unwrap();
    assert!(back.as_str().starts_with("http://127.0.0.1:9/"));
    assert_eq!(param(&back, "success").as_deref(), Some("False"));
    let code = param(&back, "errCode").unwrap();
    assert!(!code.is_empty());
    assert!(
        param(&back, "errMessage")
            .unwrap()
            .to_lowercase()
            .contains("mobile"),
        "{back}"
    );
}

#[tokio::test]
async fn a_callback_for_an_expired_request_changes_nothing() {
    let t = TestApp::spawn_with(|c| c.request_ttl = std::time::Duration::from_secs(60)).await;
    let created = t
        .create_for(&t.creds, json!({"redirectUrl": BUSINESS}))
        .await;
    let browser = Browser::new();
    let consent = t.happy_consent(&created, &browser).await;
    t.clock.advance(61);
    let callback = t.allow_to_callback(&browser, &consent).await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 400);
    assert!(
        page.location.is_none(),
        "no redirect for an expired request"
    );
    let (s, _) = t
        .get(
            &format!("/api/digilocker/{}/status", created["id"].as_str().unwrap()),
            &t.creds,
        )
        .await;
    assert_eq!(s, 404);
}

/// States now carry their request's id; one issued before (32 random bytes,
/// found by its hash alone) must still finish its journey after an upgrade.
#[tokio::test]
async fn a_journey_begun_before_states_carried_the_request_id_still_finishes() {
    let t = TestApp::spawn().await;
    let state = &t.app.state;
    let id = uuid::Uuid::now_v7().to_string();
    let legacy_state = gateway::crypto::random_token();
    let pkce = digilocker::Pkce::generate();
    let secrets = gateway::sealed::JourneySecrets {
        state: legacy_state.clone(),
        verifier: secrecy::ExposeSecret::expose_secret(&pkce.verifier).to_owned(),
        challenge: pkce.challenge.clone(),
    };
    let (data_key, sealed_key) = state.keys.new_data_key(&id).unwrap();
    let now = state.now();
    let inserted = state
        .store
        .insert_request(&gateway::storage::NewRequest {
            id: id.clone(),
            client_id: t.creds.id.clone(),
            redirect_url: "https://example.com/done?sessionId=XYZ".into(),
            doc_types: String::new(),
            // As an earlier version stored it.
            state_hash: gateway::crypto::hash_secret(&legacy_state),
            data_key: sealed_key,
            journey_secrets: data_key
                .seal_json(&gateway::sealed::Sealed::Journey.aad(&id), &secrets)
                .unwrap(),
            idempotency_key: None,
            idempotency_fingerprint: None,
            created_at: now,
            valid_upto: now + 600,
            trace_id: String::new(),
        })
        .await
        .unwrap();
    assert!(inserted);

    let c = happy_citizen();
    let browser = Browser::new();
    let consent = t
        .sign_in(
            &browser,
            &t.url(&format!(
                "/digilocker/{id}/start?t={}",
                t.app.state.keys.journey_link_token(&id)
            )),
            c.aadhaar.as_deref().unwrap(),
            &c.pin,
        )
        .await;
    let callback = t.allow_to_callback(&browser, &consent).await;
    assert_eq!(
        param(&reqwest::Url::parse(&callback).unwrap(), "state").as_deref(),
        Some(legacy_state.as_str()),
        "DigiLocker echoes the state the journey was begun with"
    );
    let back = browser.get(&callback).await;
    let back = reqwest::Url::parse(back.location.as_deref().expect("a redirect")).unwrap();
    assert_eq!(param(&back, "success").as_deref(), Some("True"));
    assert_eq!(param(&back, "id").as_deref(), Some(id.as_str()));
    let (s, st) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(s, 200);
    assert_eq!(st["status"], "authenticated");
}

/// A new request's `state` carries its id, then random bytes: two requests'
/// states differ, and neither is the id alone.
#[tokio::test]
async fn a_new_journeys_state_is_unguessable_and_carries_its_request() {
    let t = TestApp::spawn().await;
    let mut states = Vec::new();
    for _ in 0..2 {
        let created = t.create().await;
        let id = created["id"].as_str().unwrap().to_owned();
        let browser = Browser::new();
        let authorize = browser.get(created["url"].as_str().unwrap()).await;
        let url = reqwest::Url::parse(authorize.location.as_deref().expect("a redirect")).unwrap();
        let state = param(&url, "state").expect("the authorize URL has a state");
        let key = gateway::crypto::state_key(&state);
        assert_eq!(
            &key[..16],
            uuid::Uuid::parse_str(&id).unwrap().as_bytes(),
            "{state}"
        );
        assert_eq!(state.len(), 64);
        states.push(state);
    }
    assert_ne!(states[0], states[1]);
}
