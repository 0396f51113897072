//! What a client written from the hosted API's docs relies on, and what
//! hostile input gets: the redirect's `scope`, trailing slashes, strict
//! redirect URLs, the contract body on every error (whoever produced it),
//! the headers every answer carries, idempotency, and the OpenAPI document.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::browser::Browser;
use crate::harness::{assert_error, happy_citizen, param, TestApp, BUSINESS};

/// Send raw bytes and read the whole answer (the server closes, or `wait` passes).
async fn raw(t: &TestApp, request: &[u8], wait: Duration) -> (u16, String, Value) {
    let addr = t.app.addr;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // One chunk is enough for an error body.
        body.split("\r\n").nth(1).unwrap_or_default().to_owned()
    } else {
        body.to_owned()
    };
    (
        status,
        head.to_owned(),
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn auth_headers(t: &TestApp) -> String {
    format!(
        "x-client-id: {}\r\nx-client-secret: {}\r\nx-product-instance-id: {}\r\n",
        t.creds.id, t.creds.secret, t.creds.instance
    )
}

#[tokio::test]
async fn the_redirect_scope_is_plus_joined_and_percent_encoded_with_pulled_doc_types() {
    let t = TestApp::spawn().await;
    // PRFND is not in the happy citizen's locker: DigiLocker offers to pull it.
    let created = t
        .create_for(
            &t.creds,
            json!({"redirectUrl": BUSINESS, "docType": ["PRFND"]}),
        )
        .await;
    let browser = Browser::new();
    let consent = t.happy_consent(&created, &browser).await;
    let offered = consent.checkbox_values("doc");
    assert!(
        offered.iter().any(|v| v == "file.partners/PRFND"),
        "{offered:?}"
    );
    let back = t.decide(&browser, &consent, true, Some(&offered)).await;
    let raw_query = back.query().unwrap();
    let raw_scope = raw_query
        .split('&')
        .find_map(|kv| kv.strip_prefix("scope="))
        .unwrap();
    assert!(
        !raw_scope.contains('+') && !raw_scope.contains("%20"),
        "a raw + decodes to a space: {raw_scope}"
    );
    let scope = param(&back, "scope").unwrap();
    assert_eq!(
        raw_scope,
        scope.replace('+', "%2B"),
        "only %2B between codes"
    );
    let codes: Vec<&str> = scope.split('+').collect();
    assert!(codes.contains(&"PRFND"), "pulled doc types count: {scope}");
    for d in &happy_citizen().documents {
        assert!(codes.contains(&d.doctype.as_str()), "{scope}");
    }
    if codes.contains(&"ADHAR") {
        assert_eq!(codes[0], "ADHAR", "ADHAR comes first: {scope}");
    }
}

#[tokio::test]
async fn every_api_path_answers_with_a_trailing_slash() {
    let t = TestApp::spawn().await;
    let (s, created) = t
        .post(
            "/api/digilocker/",
            &t.creds,
            json!({"redirectUrl": BUSINESS}),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (s, st) = t
        .get(&format!("/api/digilocker/{id}/status/"), &t.creds)
        .await;
    assert_eq!((s, st["id"].as_str()), (200, Some(id)));
    let (s, b) = t
        .get("/api/digilocker/documents/?docType=PANCR", &t.creds)
        .await;
    assert!(s == 200 || s == 503, "{s} {b}");
}

#[tokio::test]
async fn the_hosted_docs_invalid_redirect_example_is_refused() {
    let t = TestApp::spawn().await;
    for bad in ["https://.co", "https://example..com/x", "https://co/"] {
        let (s, b) = t
            .post("/api/digilocker", &t.creds, json!({"redirectUrl": bad}))
            .await;
        assert_error(s, &b, 400, "invalid_redirect_url");
    }
}

#[tokio::test]
async fn every_kind_of_rejection_answers_the_contract_body() {
    let t = TestApp::spawn_with(|c| c.body_read_timeout = Duration::from_secs(1)).await;
    let id = t.create().await["id"].as_str().unwrap().to_owned();
    // A wrong method.
    for (method, path) in [
        (Method::DELETE, "/api/digilocker".to_owned()),
        (Method::PUT, format!("/api/digilocker/{id}/status")),
        (Method::GET, format!("/api/digilocker/{id}/document")),
    ] {
        let (s, b) = TestApp::send(t.req(method, &path, &t.creds)).await;
        assert_error(s, &b, 405, "method_not_allowed");
    }
    // A parameter given twice, and a bad query encoding.
    for q in ["orgId=a&orgId=b", "docType=%FF%FE"] {
        let (s, b) = t
            .get(&format!("/api/digilocker/documents?{q}"), &t.creds)
            .await;
        assert_error(s, &b, 400, "invalid_payload");
    }
    // An id that is not UTF-8 once decoded names no request: as any
    // unknown id, 404; a file link likewise.
    let (s, b) = t.get("/api/digilocker/%FF%FE/status", &t.creds).await;
    assert_error(s, &b, 404, "request_not_found");
    let (s, b) = TestApp::send(t.http.get(t.url("/files/%FF%FE"))).await;
    assert_error(s, &b, 404, "file_not_found");
    // Wrong JSON types.
    let (s, b) = t
        .post(
            &format!("/api/digilocker/{id}/document"),
            &t.creds,
            json!({"consent": "Y", "parameters": "nope"}),
        )
        .await;
    assert_error(s, &b, 400, "invalid_payload");
    // A Content-Length over the limit is refused before any of the body is sent.
    let (s, head, b) = raw(
        &t,
        format!(
            "POST /api/digilocker HTTP/1.1\r\nhost: x\r\n{}content-type: application/json\r\ncontent-length: 10000000\r\n\r\n",
            auth_headers(&t)
        )
        .as_bytes(),
        Duration::from_secs(5),
    )
    .await;
    assert_error(s, &b, 413, "payload_too_large");
    assert!(
        head.to_ascii_lowercase()
            .contains("cache-control: no-store"),
        "{head}"
    );
    // A chunked body that grows over the limit.
    let chunk = "x".repeat(70 * 1024);
    let (s, _, b) = raw(
        &t,
        format!(
            "POST /api/digilocker HTTP/1.1\r\nhost: x\r\n{}transfer-encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
            auth_headers(&t),
            chunk.len()
        )
        .as_bytes(),
        Duration::from_secs(5),
    )
    .await;
    assert_error(s, &b, 413, "payload_too_large");
    // Too many headers.
    let many: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let (s, _, b) = raw(
        &t,
        format!(
            "GET /api/digilocker/documents HTTP/1.1\r\nhost: x\r\n{many}connection: close\r\n\r\n"
        )
        .as_bytes(),
        Duration::from_secs(5),
    )
    .await;
    assert_error(s, &b, 431, "headers_too_large");
    // A body that stops arriving.
    let (s, _, b) = raw(
        &t,
        format!(
            "POST /api/digilocker HTTP/1.1\r\nhost: x\r\n{}content-length: 100\r\n\r\n{{\"redirect",
            auth_headers(&t)
        )
        .as_bytes(),
        Duration::from_secs(5),
    )
    .await;
    assert_error(s, &b, 408, "request_timeout");
}

#[tokio::test]
async fn api_answers_are_never_cached_and_pages_are_locked_down() {
    let t = TestApp::spawn().await;
    let created = t.create().await;
    let id = created["id"].as_str().unwrap();
    for (method, path, want) in [
        (Method::GET, format!("/api/digilocker/{id}/status"), 200),
        (Method::GET, format!("/api/digilocker/{id}/aadhaar"), 401),
        (Method::GET, "/api/digilocker/nope/status".to_owned(), 404),
        (Method::DELETE, "/api/digilocker".to_owned(), 405),
    ] {
        let r = t.req(method, &path, &t.creds).send().await.unwrap();
        assert_eq!(r.status(), want, "{path}");
        let h = r.headers();
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["pragma"], "no-cache", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    }
    // An unauthenticated call too.
    let r = t
        .http
        .get(t.url(&format!("/api/digilocker/{id}/status")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["cache-control"], "no-store");
    // The gateway's HTML pages: the journey's error page and the demo.
    for path in ["/digilocker/not-a-request/start", "/demo"] {
        let r = t.http.get(t.url(path)).send().await.unwrap();
        let h = r.headers();
        assert!(
            h["content-type"].to_str().unwrap().starts_with("text/html"),
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    }
}

#[tokio::test]
async fn a_digilocker_failure_during_the_token_exchange_is_not_the_users_fault() {
    let t = TestApp::spawn().await;
    let created = t.create().await;
    let browser = Browser::new();
    let consent = t.happy_consent(&created, &browser).await;
    let callback = t.allow_to_callback(&browser, &consent).await;
    t.faults(json!({"error": {"rate": 1.0, "status": 503, "error": "repository_service_inactive", "endpoint": "token"}}))
        .await;
    let page = browser.get(&callback).await;
    let back = reqwest::Url::parse(page.location.as_deref().unwrap()).unwrap();
    assert_eq!(param(&back, "success").as_deref(), Some("False"));
    assert_eq!(
        param(&back, "errCode").as_deref(),
        Some("upstream_server_error")
    );
    // The request reads as an upstream failure too, never as the user's
    // refusal.
    let id = created["id"].as_str().unwrap();
    t.faults(json!({})).await;
    for path in ["aadhaar", "revoke"] {
        let (s, b) = t
            .get(&format!("/api/digilocker/{id}/{path}"), &t.creds)
            .await;
        assert_error(s, &b, 500, "upstream_server_error");
    }
    let (_, st) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(st["status"], "unauthenticated");
}

#[tokio::test]
async fn a_callback_error_reaches_the_business_only_as_a_documented_code() {
    let t = TestApp::spawn().await;
    let created = t.create().await;
    let browser = Browser::new();
    let consent = t.happy_consent(&created, &browser).await;
    let callback = t.allow_to_callback(&browser, &consent).await;
    let state = reqwest::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let forged = format!(
        "{}?state={state}&error=%3Cscript%3Eevil%3C%2Fscript%3E&error_description=call%20us%20on%20555",
        t.url("/digilocker/callback")
    );
    let page = browser.get(&forged).await;
    let back = reqwest::Url::parse(page.location.as_deref().unwrap()).unwrap();
    assert_eq!(
        param(&back, "errCode").as_deref(),
        Some("upstream_server_error")
    );
    let message = param(&back, "errMessage").unwrap();
    assert!(
        !message.contains("555") && !message.contains("script"),
        "{message}"
    );
}

#[tokio::test]
async fn an_idempotency_key_is_tied_to_its_body_and_freed_by_expiry() {
    let t = TestApp::spawn_with(|c| {
        c.request_ttl = Duration::from_secs(600);
        // Expired but not yet swept is the case that matters.
        c.sweep_interval = Duration::from_secs(3600);
    })
    .await;
    let send = |body: Value| {
        TestApp::send(
            t.req(Method::POST, "/api/digilocker", &t.creds)
                .header("idempotency-key", "order-7")
                .json(&body),
        )
    };
    let (s, first) = send(json!({"redirectUrl": BUSINESS})).await;
    assert_eq!(s, 201);
    // The same body, spaced and ordered differently, is the same request.
    let (s, again) = TestApp::send(
        t.req(Method::POST, "/api/digilocker", &t.creds)
            .header("idempotency-key", "order-7")
            .header("content-type", "application/json")
            .body(format!("{{ \"redirectUrl\" :  \"{BUSINESS}\" }}")),
    )
    .await;
    assert_eq!((s, &again["id"]), (201, &first["id"]));
    let (s, b) = send(json!({"redirectUrl": "https://other.example/done"})).await;
    assert_error(s, &b, 422, "idempotency_key_mismatch");
    t.clock.advance(601);
    let (s, fresh) = send(json!({"redirectUrl": "https://other.example/done"})).await;
    assert_eq!(s, 201, "{fresh}");
    assert_ne!(fresh["id"], first["id"], "an expired key starts afresh");
}

#[tokio::test]
async fn the_openapi_document_is_served_committed_and_readable() {
    let t = TestApp::spawn().await;
    let served: Value = t
        .http
        .get(t.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/openapi.json"
        ))
        .expect("docs/openapi.json is committed"),
    )
    .unwrap();
    assert_eq!(
        served, committed,
        "docs/openapi.json is stale: run `cargo run -p gateway -- openapi > docs/openapi.json`"
    );
    for path in [
        "/api/digilocker",
        "/api/digilocker/{id}/status",
        "/api/digilocker/documents",
        "/api/digilocker/{id}/document",
        "/api/digilocker/{id}/aadhaar",
        "/api/digilocker/{id}/revoke",
        "/api/digilocker/{id}/issued",
        "/api/digilocker/{id}/verified",
    ] {
        assert!(served["paths"].get(path).is_some(), "{path} missing");
    }
    // The reference page, from our own origin only.
    let page = t.http.get(t.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("https://"), "no CDN: {html}");
    for asset in ["/docs/swagger-ui-bundle.js", "/docs/swagger-initializer.js"] {
        let r = t.http.get(t.url(asset)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        let body = r.text().await.unwrap();
        if asset.ends_with("initializer.js") {
            assert!(body.contains("/openapi.json"), "{body}");
        }
    }
}
