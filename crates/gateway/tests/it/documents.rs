//! The catalogue, fetching documents, file links, revoke, upstream faults.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{assert_error, happy_pan_parameters, TestApp};

/// A catalogue entry with `doc_type`, from the API.
async fn entry(t: &TestApp, doc_type: &str) -> Value {
    let (s, v) = t
        .get(
            &format!("/api/digilocker/documents?docType={doc_type}"),
            &t.creds,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["documents"][0].clone()
}

fn params_for(entry: &Value, value: &str) -> Vec<Value> {
    entry["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| json!({"name": p["name"], "value": value}))
        .collect()
}

fn fetch_body(entry: &Value, params: impl Into<Value>) -> Value {
    json!({"docType": entry["docType"], "orgId": entry["orgId"], "format": "pdf", "consent": "Y", "parameters": params.into()})
}

#[tokio::test]
async fn the_catalogue_answers_503_until_built_then_the_contract_shape() {
    let t = TestApp::spawn_with(|c| c.sandbox_catalogue = (400, 2000)).await;
    let resp = t
        .req(Method::GET, "/api/digilocker/documents", &t.creds)
        .send()
        .await
        .unwrap();
    if resp.status() == 503 {
        assert!(resp.headers().get("retry-after").is_some());
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["code"], "catalogue_not_ready");
    }
    t.wait_catalogue().await;
    let resp = t
        .req(Method::GET, "/api/digilocker/documents", &t.creds)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    let v: Value = resp.json().await.unwrap();
    let docs = v["documents"].as_array().unwrap();
    assert!(docs.len() >= 1500, "{} documents", docs.len());
    let prfnd = docs
        .iter()
        .find(|d| d["docType"] == "PRFND" && d["orgId"] == "002317")
        .expect("PRFND of 002317");
    assert_eq!(prfnd["orgName"], "Accountants General, Tripura");
    assert_eq!(prfnd["availableFormats"], json!(["pdf"]));
    assert_eq!(
        prfnd["parameters"],
        json!([{"name": "AC_NO", "description": "Account No./PPO No."}, {"name": "MemberName", "description": "Name of the member"}])
    );
    let drvlc = docs.iter().filter(|d| d["docType"] == "DRVLC").count();
    assert!(
        drvlc >= 20,
        "a transport department per state issues DRVLC: {drvlc}"
    );
    // Conditional GET and filters.
    let resp = t
        .req(Method::GET, "/api/digilocker/documents", &t.creds)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
    let (_, f) = t
        .get("/api/digilocker/documents?orgId=002317", &t.creds)
        .await;
    assert!(f["documents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["orgId"] == "002317"));
    assert!(!f["documents"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn fetch_a_document_from_the_catalogue_and_download_it() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let (id, _) = t.authenticated().await;
    let pan = entry(&t, "PANCR").await;
    let (s, v) = t
        .post(
            &format!("/api/digilocker/{id}/document"),
            &t.creds,
            fetch_body(&pan, happy_pan_parameters()),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let file_url = v["fileUrl"].as_str().unwrap();
    assert!(file_url.starts_with(&t.url("/files/")));
    assert!(v["validUpto"].as_str().unwrap().ends_with("+05:30"));
    let resp = t.http.get(file_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"PANCR-"));
    // A document is never a page: nothing in it runs or loads.
    assert_eq!(
        resp.headers()["content-security-policy"],
        "default-src 'none'; sandbox; frame-ancestors 'none'"
    );
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF"), "a real PDF");
    // Another client presenting its id can't use the link; a made-up link is 404.
    let other = t.new_client("").await;
    let resp = t
        .http
        .get(file_url)
        .header("x-client-id", &other.id)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = t
        .http
        .get(t.url(&format!("/files/{}", "A".repeat(43))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "file_not_found");
    // An issued document by URI (ours).
    let (s, issued) = t
        .get(&format!("/api/digilocker/{id}/issued"), &t.creds)
        .await;
    assert_eq!(s, 200, "{issued}");
    let uri = issued["documents"][0]["uri"].as_str().unwrap();
    let (s, v) = t
        .post(
            &format!("/api/digilocker/{id}/document"),
            &t.creds,
            json!({"uri": uri, "consent": "Y"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let bytes = t
        .http
        .get(v["fileUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(bytes.starts_with(b"%PDF"));
}

#[tokio::test]
async fn document_requests_are_validated_against_the_catalogue() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let id = t
        .consented(&crate::harness::happy_citizen(), &["PRFND"])
        .await;
    let path = format!("/api/digilocker/{id}/document");
    let prfnd = entry(&t, "PRFND").await;
    let (s, b) = t
        .post(
            &path,
            &t.creds,
            json!({"docType": "PRFND", "orgId": prfnd["orgId"], "format": "pdf", "consent": "N"}),
        )
        .await;
    assert_error(s, &b, 400, "consent_not_given");
    let (s, b) = t
        .post(
            &path,
            &t.creds,
            json!({"docType": "PRFND", "orgId": prfnd["orgId"], "format": "pdf"}),
        )
        .await;
    assert_error(s, &b, 400, "consent_not_given");
    // A missing parameter is named.
    let (s, b) = t
        .post(
            &path,
            &t.creds,
            fetch_body(
                &prfnd,
                vec![json!({"name": "AC_NO", "value": "98432234234"})],
            ),
        )
        .await;
    assert_error(s, &b, 400, "invalid_payload");
    assert!(
        b["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("MemberName"),
        "{b}"
    );
    // An issuer the catalogue does not know is still asked (the catalogue
    // never gates a fetch): DigiLocker refuses the org id.
    let mut body = fetch_body(&prfnd, params_for(&prfnd, "1"));
    body["orgId"] = json!("999999999");
    let (s, b) = t.post(&path, &t.creds, body).await;
    assert_error(s, &b, 400, "bad_request");
    let mut body = fetch_body(&prfnd, params_for(&prfnd, "1"));
    body["format"] = json!("docx");
    let (s, b) = t.post(&path, &t.creds, body).await;
    assert_error(s, &b, 400, "invalid_payload");
    let (s, b) = t
        .post(&path, &t.creds, json!({"docType": "PRFND", "consent": "Y"}))
        .await;
    assert_error(s, &b, 400, "invalid_payload");
    let (s, b) = t.post(&path, &t.creds, json!({"docType": "PRFND", "orgId": prfnd["orgId"], "format": "pdf", "consent": "Y", "parameters": "AC_NO"})).await;
    assert_error(s, &b, 400, "invalid_payload");
    let (s, b) = TestApp::send(t.req(Method::POST, &path, &t.creds).body("nope")).await;
    assert_error(s, &b, 400, "invalid_payload");
    // The issuer has no record for these values.
    let (s, b) = t
        .post(
            &path,
            &t.creds,
            fetch_body(&prfnd, params_for(&prfnd, "NOTFOUND")),
        )
        .await;
    assert_error(s, &b, 404, "record_not_found");
    // A URI that isn't the user's.
    let (s, b) = t
        .post(
            &path,
            &t.creds,
            json!({"uri": "in.gov.pan-PANCR-ZZZZZ9999Z", "consent": "Y"}),
        )
        .await;
    assert!(s == 404 || s == 403, "{b}");
}

#[tokio::test]
async fn before_consent_fetches_answer_user_not_authenticated() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let created = t.create().await;
    let id = created["id"].as_str().unwrap();
    let pan = entry(&t, "PANCR").await;
    let (s, b) = t
        .post(
            &format!("/api/digilocker/{id}/document"),
            &t.creds,
            fetch_body(&pan, params_for(&pan, "X")),
        )
        .await;
    assert_error(s, &b, 401, "user_not_authenticated");
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_error(s, &b, 401, "user_not_authenticated");
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/revoke"), &t.creds)
        .await;
    assert_error(s, &b, 401, "user_not_authenticated");
}

#[tokio::test]
async fn revoke_revokes_upstream_and_locally() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let (id, _) = t.authenticated().await;
    let token = t.stored_token(&id).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = t
        .get(&format!("/api/digilocker/{id}/revoke"), &t.creds)
        .await;
    assert_eq!((s, v), (200, json!({"success": true})));
    let (_, st) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(st["status"], "revoked");
    let pan = entry(&t, "PANCR").await;
    let (s, b) = t
        .post(
            &format!("/api/digilocker/{id}/document"),
            &t.creds,
            fetch_body(&pan, params_for(&pan, "X")),
        )
        .await;
    assert_error(s, &b, 401, "token_revoked");
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/aadhaar"), &t.creds)
        .await;
    assert_error(s, &b, 401, "token_revoked");
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/revoke"), &t.creds)
        .await;
    assert_error(s, &b, 401, "token_revoked");
    // Upstream too, right after the answer: the sandbox no longer accepts
    // the token.
    let mut status = 0;
    for _ in 0..50 {
        status = t
            .http
            .get(t.url("/sandbox/oauth2/1/user"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 401);
    // And our copy is gone.
    let r = t
        .app
        .state
        .store
        .get_request(&t.creds.id, &id, 0)
        .await
        .unwrap()
        .unwrap();
    assert!(r.token.is_none());
}

#[tokio::test]
async fn upstream_failures_map_to_contract_codes() {
    let t = TestApp::spawn_with(|c| c.upstream_timeout = std::time::Duration::from_secs(1)).await;
    t.wait_catalogue().await;
    let (id, _) = t.authenticated().await;
    let pan = entry(&t, "PANCR").await;
    let path = format!("/api/digilocker/{id}/document");
    let body = fetch_body(&pan, happy_pan_parameters());
    let cases = [
        (
            json!({"error": {"endpoint": "pulldocument", "rate": 1.0, "status": 500, "error": "repository_service_unresponsive"}}),
            500,
            "upstream_server_error",
        ),
        (
            json!({"error": {"endpoint": "pulldocument", "rate": 1.0, "status": 503, "error": "repository_service_inactive"}}),
            500,
            "upstream_server_error",
        ),
        (
            json!({"error": {"endpoint": "pulldocument", "rate": 1.0, "status": 400, "error": "invalid_parameter"}}),
            400,
            "bad_request",
        ),
        (
            json!({"error": {"endpoint": "pulldocument", "rate": 1.0, "status": 401, "error": "invalid_token"}}),
            401,
            "invalid_token",
        ),
        (
            json!({"hang": {"endpoint": "pulldocument", "secs": 30}}),
            500,
            "upstream_server_error",
        ),
        (
            json!({"malformed": {"endpoint": "pulldocument"}}),
            500,
            "upstream_server_error",
        ),
    ];
    for (faults, status, code) in cases {
        t.faults(faults.clone()).await;
        let (s, b) = t.post(&path, &t.creds, body.clone()).await;
        assert_error(s, &b, status, code);
        t.faults(json!({})).await;
    }
    let (s, _) = t.post(&path, &t.creds, body).await;
    assert_eq!(s, 200, "works again once the faults are cleared");
}

#[tokio::test]
async fn a_document_offered_as_xml_is_fetched_as_the_issuers_signed_xml() {
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let (id, _) = t.authenticated().await;
    let pan = entry(&t, "PANCR").await;
    assert_eq!(pan["availableFormats"], json!(["pdf", "xml"]), "{pan}");
    let mut body = fetch_body(&pan, happy_pan_parameters());
    body["format"] = json!("xml");
    let (s, v) = t
        .post(&format!("/api/digilocker/{id}/document"), &t.creds, body)
        .await;
    assert_eq!(s, 200, "{v}");
    let resp = t
        .http
        .get(v["fileUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/xml");
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .ends_with(".xml\""));
    let xml = resp.text().await.unwrap();
    assert!(xml.contains("<PAN "), "{xml}");
    assert!(xml.contains("<Signature"), "the issuer signs it");
    // A PDF-only document refuses xml with the formats it has.
    let prfnd = entry(&t, "PRFND").await;
    assert_eq!(prfnd["availableFormats"], json!(["pdf"]));
    let mut body = fetch_body(&prfnd, params_for(&prfnd, "12345"));
    body["format"] = json!("xml");
    let (s, b) = t
        .post(&format!("/api/digilocker/{id}/document"), &t.creds, body)
        .await;
    assert_error(s, &b, 400, "invalid_payload");
}

#[tokio::test]
async fn the_catalogue_is_served_compressed_as_the_client_asks() {
    use std::io::Read;
    let t = TestApp::spawn().await;
    t.wait_catalogue().await;
    let get = |accept: Option<&'static str>| {
        let mut rb = t.req(Method::GET, "/api/digilocker/documents", &t.creds);
        if let Some(a) = accept {
            rb = rb.header("accept-encoding", a);
        }
        rb.send()
    };
    let plain = get(None).await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let etag = plain.headers()["etag"].to_str().unwrap().to_owned();
    let plain = plain.bytes().await.unwrap();
    // Several accepted with the same q: the smaller body of the two.
    let mut size = std::collections::HashMap::new();
    for one in ["gzip", "br"] {
        size.insert(
            one,
            get(Some(one)).await.unwrap().bytes().await.unwrap().len(),
        );
    }
    let smallest = |of: &[&'static str]| *of.iter().min_by_key(|e| size[*e]).unwrap();
    for (accept, want) in [
        ("gzip", "gzip"),
        ("br", "br"),
        ("gzip, deflate, br", smallest(&["gzip", "br"])),
        ("gzip, deflate, br, zstd", smallest(&["gzip", "br"])),
        ("gzip;q=1, br;q=0.5", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("zstd;q=0.5, br;q=0.9", "br"),
    ] {
        let resp = get(Some(accept)).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-encoding"], want, "{accept}");
        assert_eq!(resp.headers()["vary"], "accept-encoding");
        assert_eq!(resp.headers()["etag"].to_str().unwrap(), etag);
        let body = resp.bytes().await.unwrap();
        assert!(body.len() * 3 < plain.len(), "{want} compresses");
        let mut out = Vec::new();
        match want {
            "gzip" => {
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            _ => {
                brotli::Decompressor::new(&body[..], 4096)
                    .read_to_end(&mut out)
                    .unwrap();
            }
        }
        assert_eq!(out, plain, "{want} holds the same catalogue");
    }
    // An encoding the gateway does not offer: the plain JSON.
    let resp = get(Some("zstd")).await.unwrap();
    assert!(resp.headers().get("content-encoding").is_none());
    assert_eq!(resp.bytes().await.unwrap(), plain);
    // The ETag holds across encodings.
    let resp = t
        .req(Method::GET, "/api/digilocker/documents", &t.creds)
        .header("accept-encoding", "br")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);
}

/// Some issuers deliver a document as an image: fetched by its URI, it is
/// handed out with an image type (`image/jpg`, which DigiLocker's spec also
/// lists, as the registered `image/jpeg`) and the matching extension.
#[tokio::test]
async fn an_image_document_is_fetched_by_uri_with_its_image_type() {
    let t = TestApp::spawn().await;
    let mut seen = std::collections::BTreeSet::new();
    for who in sandbox::seed::citizens()
        .into_iter()
        .filter(|c| c.has_account && c.documents.iter().any(|d| d.mime[0].starts_with("image/")))
    {
        let id = t.consented(&who, &[]).await;
        for doc in who
            .documents
            .iter()
            .filter(|d| d.mime[0].starts_with("image/"))
        {
            let (s, v) = t
                .post(
                    &format!("/api/digilocker/{id}/document"),
                    &t.creds,
                    json!({"uri": doc.uri, "consent": "Y"}),
                )
                .await;
            assert_eq!(s, 200, "{}: {v}", doc.uri);
            let resp = t
                .http
                .get(v["fileUrl"].as_str().unwrap())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let (want_type, ext) = match doc.mime[0].as_str() {
                "image/png" => ("image/png", "png"),
                _ => ("image/jpeg", "jpg"),
            };
            assert_eq!(resp.headers()["content-type"], want_type, "{}", doc.uri);
            let disposition = resp.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(disposition.ends_with(&format!(".{ext}\"")), "{disposition}");
            let bytes = resp.bytes().await.unwrap();
            if ext == "png" {
                assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
            } else {
                assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]));
            }
            seen.insert(doc.mime[0].clone());
        }
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
}
