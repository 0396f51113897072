//! Erase means erased: after revoke, after expiry and when a client is
//! disabled, nothing of the user is left that the master key can open; no
//! document number, name or URI is ever stored in clear; and the consent
//! audit trail records what happened, without personal data, past the
//! request's erasure.

use std::time::Duration;

use serde_json::{json, Value};

use crate::browser::Browser;
use gateway::state::Clock;

use crate::harness::{assert_error, happy_citizen, TestApp};

/// Fetch Ramesh's PAN (his own, already in his locker) and his e-Aadhaar;
/// returns the two file links.
async fn fetch_everything(t: &TestApp, id: &str) -> Vec<String> {
    let c = happy_citizen();
    let (_, v) = t
        .get("/api/digilocker/documents?docType=PANCR", &t.creds)
        .await;
    let org = v["documents"][0]["orgId"].clone();
    let (s, pan) = t
        .post(
            &format!("/api/digilocker/{id}/document"),
            &t.creds,
            json!({"docType": "PANCR", "orgId": org, "format": "pdf", "consent": "Y",
                   "parameters": [{"name": "panno", "value": "ABCDE1234F"}, {"name": "PANFullName", "value": c.name}]}),
        )
        .await;
    assert_eq!(s, 200, "{pan}");
    let (s, ekyc) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_eq!(s, 200, "{ekyc}");
    vec![
        pan["fileUrl"].as_str().unwrap().to_owned(),
        ekyc["aadhaar"]["xml"]["fileUrl"]
            .as_str()
            .unwrap()
            .to_owned(),
    ]
}

/// Nothing that identifies the citizen or their documents, in clear.
fn assert_no_plaintext(raw: &[u8], when: &str) {
    let c = happy_citizen();
    let contains = |needle: &str| raw.windows(needle.len()).any(|w| w == needle.as_bytes());
    for (needle, what) in [
        ("ABCDE1234F", "the PAN number"),
        ("in.gov.pan-PANCR", "a document URI"),
        (c.name.as_str(), "the citizen's name"),
        (c.digilocker_id.as_str(), "the DigiLocker id"),
        (c.mobile.as_deref().unwrap(), "the mobile number"),
        (c.email.as_str(), "the e-mail address"),
        ("KycRes", "the e-Aadhaar XML"),
        ("%PDF", "a PDF"),
        ("PANCR-in.gov", "a file name"),
    ] {
        assert!(!contains(needle), "{what} is stored in clear {when}");
    }
}

/// Wait until the sweeper erased request `id`.
async fn erased(t: &TestApp, id: &str) {
    let store = &t.app.state.store;
    for _ in 0..100 {
        if store.erasure_count(id).await.unwrap() == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id} was not erased");
}

#[tokio::test]
async fn revoke_erases_everything_at_once() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let (id, _) = t.authenticated().await;
    let links = fetch_everything(&t, &id).await;
    let raw = t.raw_storage().await;
    assert_no_plaintext(&raw, "while the request lives");
    assert!(t.holds_data_key(&raw, &id), "the test can see a live key");

    let (s, v) = t
        .get(&format!("/api/digilocker/{id}/revoke"), &t.creds)
        .await;
    assert_eq!((s, v), (200, json!({"success": true})));
    // Links handed out before the revoke work until their own validUpto
    // (the hosted API says to revoke once the documents are fetched).
    for link in &links {
        let r = t.http.get(link).send().await.unwrap();
        assert_eq!(r.status(), 200, "a file link handed out died at the revoke");
    }
    let (s, st) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(s, 200);
    assert_eq!(st["status"], "revoked");
    assert_eq!(st["digilockerUserDetails"], json!({}), "{st}");
    let raw = t.raw_storage().await;
    assert_no_plaintext(&raw, "after revoke");
    // The last link expires: the key, and so everything sealed with it, goes.
    t.clock
        .advance(t.app.state.config.file_link_ttl.as_secs() as i64 + 1);
    gateway::sweeper::sweep_once(&gateway::sweeper::Sweeper::of(&t.app.state))
        .await
        .unwrap();
    for link in &links {
        let r = t.http.get(link).send().await.unwrap();
        assert_eq!(r.status(), 404, "a file link outlived its validUpto");
    }
    let r = t
        .app
        .state
        .store
        .get_request(&t.creds.id, &id, 0)
        .await
        .unwrap()
        .unwrap();
    assert!(r.data_key.is_none(), "the key outlived the last link");
    let raw = t.raw_storage().await;
    assert_no_plaintext(&raw, "after the last link");
    assert!(
        !t.holds_data_key(&raw, &id),
        "after the last link the master key still opens the request's data key somewhere in the database files"
    );
    let r = t
        .app
        .state
        .store
        .get_request(&t.creds.id, &id, 0)
        .await
        .unwrap()
        .unwrap();
    assert!(r.data_key.is_none() && r.token.is_none() && r.user_details.is_none());
}

#[tokio::test]
async fn expiry_erases_everything_and_leaves_no_key_behind() {
    let t = TestApp::spawn_with(|c| c.request_ttl = Duration::from_secs(600)).await;
    t.wait_catalogue().await;
    let (id, _) = t.authenticated().await;
    fetch_everything(&t, &id).await;
    assert!(t.holds_data_key(&t.raw_storage().await, &id));
    t.clock.advance(601);
    erased(&t, &id).await;
    // The erased event commits with the delete; the sweep then checkpoints
    // and truncates the WAL. Give that end of the sweep a bounded moment.
    let mut raw = t.raw_storage().await;
    for _ in 0..50 {
        if !t.holds_data_key(&raw, &id) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        raw = t.raw_storage().await;
    }
    assert_no_plaintext(&raw, "after expiry");
    assert!(
        !t.holds_data_key(&raw, &id),
        "after the sweep the master key still opens the request's data key somewhere in the database files"
    );
}

#[tokio::test]
async fn a_disabled_clients_links_die_and_its_journeys_end() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let (id, _) = t.authenticated().await;
    let links = fetch_everything(&t, &id).await;
    // A journey in progress: the user is on DigiLocker's consent page.
    let created = t.create().await;
    let browser = Browser::new();
    let consent = t.happy_consent(&created, &browser).await;
    t.app
        .state
        .store
        .set_client_disabled(&t.creds.id, true, t.clock.now())
        .await
        .unwrap();
    for link in &links {
        assert_eq!(t.http.get(link).send().await.unwrap().status(), 404);
    }
    // The user allows, but the callback can't complete the journey.
    let callback = t.allow_to_callback(&browser, &consent).await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 400, "{page:?}");
    let r = t
        .app
        .state
        .store
        .get_request(&t.creds.id, created["id"].as_str().unwrap(), 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status.as_str(), "unauthenticated");
    assert!(r.data_key.is_none());
    assert!(!t.holds_data_key(&t.raw_storage().await, &id));
}

/// The kinds of a request's audit trail, through the API.
async fn trail(t: &TestApp, id: &str) -> Vec<Value> {
    let (s, v) = t
        .get(&format!("/api/digilocker/{id}/audit"), &t.creds)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["id"], id);
    v["events"].as_array().unwrap().clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn the_audit_trail_follows_a_journey_a_denial_a_revoke_and_an_expiry() {
    let t = TestApp::spawn_with(|c| c.request_ttl = Duration::from_secs(600)).await;
    t.wait_catalogue().await;
    // A whole journey, fetches and a revoke.
    let (id, _) = t.authenticated().await;
    fetch_everything(&t, &id).await;
    t.get(&format!("/api/digilocker/{id}/revoke"), &t.creds)
        .await;
    let events = trail(&t, &id).await;
    assert_eq!(
        kinds(&events),
        [
            "created",
            "journey_started",
            "consent_given",
            "document_fetched",
            "aadhaar_fetched",
            "revoked"
        ]
    );
    let consent = &events[2]["detail"]["docTypes"];
    assert!(
        consent.as_array().unwrap().iter().any(|d| d == "PANCR"),
        "{consent}"
    );
    assert_eq!(events[3]["detail"]["docType"], "PANCR");
    assert_eq!(events[3]["detail"]["format"], "pdf");
    for e in &events {
        assert!(e["id"].as_str().unwrap().starts_with("evt_"));
        assert!(e["at"].as_str().unwrap().ends_with("+05:30"));
    }
    let text = serde_json::to_string(&events).unwrap();
    assert_no_plaintext(text.as_bytes(), "in the audit trail");
    // A denial.
    let created = t.create().await;
    let denied = created["id"].as_str().unwrap().to_owned();
    let browser = Browser::new();
    let consent = t.happy_consent(&created, &browser).await;
    t.decide(&browser, &consent, false, None).await;
    let events = trail(&t, &denied).await;
    assert_eq!(
        kinds(&events),
        ["created", "journey_started", "consent_denied"]
    );
    assert_eq!(events[2]["detail"]["errCode"], "user_consent_not_given");
    // Another client sees none of it.
    let other = t.new_client("").await;
    let (s, b) = t.get(&format!("/api/digilocker/{id}/audit"), &other).await;
    assert_error(s, &b, 404, "request_not_found");
    // Expiry: the request is gone, its trail outlives it.
    t.clock.advance(601);
    erased(&t, &denied).await;
    erased(&t, &id).await;
    let store = t.app.state.store.clone();
    let (s, b) = t
        .get(&format!("/api/digilocker/{denied}/audit"), &t.creds)
        .await;
    assert_error(s, &b, 404, "request_not_found");
    let all = store.client_events(&t.creds.id, 0, 0, 1000).await.unwrap();
    let of = |rid: &str| -> Vec<String> {
        all.iter()
            .filter(|e| e.request_id == rid)
            .map(|e| e.kind.clone())
            .collect()
    };
    assert_eq!(
        of(&denied),
        ["created", "journey_started", "consent_denied", "erased"]
    );
    assert_eq!(of(&id).last().map(String::as_str), Some("erased"));
    let erased = all
        .iter()
        .find(|e| e.request_id == denied && e.kind == "erased")
        .unwrap();
    assert!(erased.detail.contains("expired"), "{}", erased.detail);
}
