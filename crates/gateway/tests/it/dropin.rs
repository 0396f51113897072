//! Drop-in: what a client written only from the hosted API's documentation
//! does, and must find working (the last differences, closed).

use reqwest::Method;
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::harness::{assert_error, happy_citizen, param, query, TestApp};

#[tokio::test]
async fn a_json_body_with_a_byte_order_mark_is_read() {
    let t = TestApp::spawn().await;
    let body = format!(
        "\u{FEFF}{}",
        json!({"redirectUrl": "http://127.0.0.1:9/kyc/done"})
    );
    let (s, v) = TestApp::send(
        t.req(Method::POST, "/api/digilocker", &t.creds)
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["status"], "unauthenticated");
}

#[tokio::test]
async fn the_business_own_id_success_and_scope_give_way_to_the_gateways() {
    let t = TestApp::spawn().await;
    let created = t
        .create_for(
            &t.creds,
            json!({"redirectUrl": "http://127.0.0.1:9/kyc/done?id=mine&success=maybe&sessionId=XYZ&scope=theirs"}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let browser = Browser::new();
    let c = happy_citizen();
    let consent = t
        .sign_in(
            &browser,
            created["url"].as_str().unwrap(),
            c.aadhaar.as_deref().unwrap(),
            &c.pin,
        )
        .await;
    let back = t.decide(&browser, &consent, true, None).await;
    let pairs = query(&back);
    let count = |k: &str| pairs.iter().filter(|(n, _)| n == k).count();
    for k in ["id", "success", "scope", "sessionId"] {
        assert_eq!(count(k), 1, "{k} in {back}");
    }
    assert_eq!(param(&back, "id").as_deref(), Some(id));
    assert_eq!(param(&back, "success").as_deref(), Some("True"));
    assert_eq!(param(&back, "sessionId").as_deref(), Some("XYZ"));
    assert_ne!(param(&back, "scope").as_deref(), Some("theirs"));
}

/// A doc type with several issuers in the catalogue, none of whose documents
/// `held` names.
async fn ambiguous_doc_type(t: &TestApp, held: &[String]) -> (String, usize) {
    let (_, all) = t.get("/api/digilocker/documents", &t.creds).await;
    let mut issuers: std::collections::BTreeMap<String, usize> = Default::default();
    for d in all["documents"].as_array().unwrap() {
        *issuers
            .entry(d["docType"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    issuers
        .into_iter()
        .filter(|(d, n)| *n > 1 && !held.contains(d))
        .max_by_key(|(_, n)| *n)
        .expect("a doc type with several issuers")
}

#[tokio::test]
async fn org_id_is_optional_as_in_the_hosted_schema() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let c = happy_citizen();
    let held: Vec<String> = c.documents.iter().map(|d| d.doctype.clone()).collect();
    assert!(held.contains(&"DRVLC".to_owned()) && held.contains(&"PANCR".to_owned()));
    let (ambiguous, issuers) = ambiguous_doc_type(&t, &held).await;
    let id = t.consented(&c, &["PANCR", "DRVLC", &ambiguous]).await;
    let path = format!("/api/digilocker/{id}/document");

    // One issuer of PAN in the catalogue: that one.
    let (s, v) = t
        .post(
            &path,
            &t.creds,
            json!({"docType": "PANCR", "format": "pdf", "consent": "Y",
                   "parameters": [{"name": "panno", "value": "ABCDE1234F"}, {"name": "PANFullName", "value": c.name}]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // A licence: every state issues one; the user's own says which.
    let dl = c.documents.iter().find(|d| d.doctype == "DRVLC").unwrap();
    let (_, entry) = t
        .get(
            &format!("/api/digilocker/documents?docType=DRVLC&orgId={}", dl.orgid),
            &t.creds,
        )
        .await;
    let number = dl.uri.rsplit('-').next().unwrap();
    let params: Vec<Value> = entry["documents"][0]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap();
            let value = if name.to_ascii_lowercase().contains("dob") {
                c.dob.as_str()
            } else {
                number
            };
            json!({"name": name, "value": value})
        })
        .collect();
    let (s, v) = t
        .post(
            &path,
            &t.creds,
            json!({"docType": "DRVLC", "format": "pdf", "consent": "Y", "parameters": params}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, trail) = t
        .get(&format!("/api/digilocker/{id}/audit"), &t.creds)
        .await;
    let fetched: Vec<&Value> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "document_fetched" && e["detail"]["docType"] == "DRVLC")
        .collect();
    assert_eq!(fetched.len(), 1, "{trail}");
    assert_eq!(
        fetched[0]["detail"]["orgId"].as_str(),
        Some(dl.orgid.as_str()),
        "fetched from the user's own issuer"
    );
    // Several issuers and none of the user's: named, so the business can pick.
    let (s, b) = t
        .post(
            &path,
            &t.creds,
            json!({"docType": ambiguous, "format": "pdf", "consent": "Y"}),
        )
        .await;
    assert_error(s, &b, 400, "invalid_payload");
    let detail = b["error"]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("{issuers} issuers")) && detail.contains("orgId"),
        "{detail}"
    );
    // No issuer at all.
    let (s, b) = t
        .post(
            &path,
            &t.creds,
            json!({"docType": "NOSUCH", "format": "pdf", "consent": "Y"}),
        )
        .await;
    assert_error(s, &b, 400, "invalid_payload");
}

#[tokio::test]
async fn a_normal_integration_never_meets_the_rate_limit() {
    let t = TestApp::spawn().await;
    let created = t.create().await;
    let id = created["id"].as_str().unwrap();
    // 150 status calls back to back, as a polling client might.
    let path = format!("/api/digilocker/{id}/status");
    let calls = (0..150).map(|_| t.get(&path, &t.creds));
    let answers = futures::future::join_all(calls).await;
    let limited = answers.iter().filter(|(s, _)| *s == 429).count();
    assert_eq!(limited, 0, "{limited} of 150 got 429");
}

#[tokio::test]
async fn after_a_denied_journey_calls_answer_401_as_the_hosted_api_documents() {
    let t = TestApp::spawn().await;
    let created = t.create().await;
    let id = created["id"].as_str().unwrap();
    let browser = Browser::new();
    let c = happy_citizen();
    let consent = t
        .sign_in(
            &browser,
            created["url"].as_str().unwrap(),
            c.aadhaar.as_deref().unwrap(),
            &c.pin,
        )
        .await;
    let back = t.decide(&browser, &consent, false, None).await;
    assert_eq!(param(&back, "success").as_deref(), Some("False"));
    for path in ["aadhaar", "revoke", "issued"] {
        let (s, b) = t
            .get(&format!("/api/digilocker/{id}/{path}"), &t.creds)
            .await;
        assert_error(s, &b, 401, "user_consent_not_given");
    }
}

#[tokio::test]
async fn upstream_failures_answer_500_as_the_hosted_api_documents() {
    let t = TestApp::spawn().await;
    let (id, _) = t.authenticated().await;
    t.faults(json!({"error": {"rate": 1.0, "status": 500, "error": "repository_service_unresponsive", "endpoint": "files"}}))
        .await;
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/issued"), &t.creds)
        .await;
    assert_error(s, &b, 500, "upstream_server_error");
    t.faults(json!({"error": {"rate": 1.0, "status": 503, "error": "repository_service_inactive", "endpoint": "eaadhaar"}}))
        .await;
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_error(s, &b, 500, "get_xml_failed");
}
