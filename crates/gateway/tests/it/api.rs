//! Authentication, request creation and status, tenant isolation, errors.

use reqwest::Method;
use serde_json::json;

use crate::harness::{assert_error, Creds, TestApp, BUSINESS};

#[tokio::test]
async fn every_api_call_needs_the_three_headers() {
    let t = TestApp::spawn().await;
    let created = t.create().await;
    let id = created["id"].as_str().unwrap();
    let good = t.creds.clone();
    let wrong_secret = Creds {
        secret: "x".repeat(43),
        ..good.clone()
    };
    let wrong_instance = Creds {
        instance: "other".into(),
        ..good.clone()
    };
    let unknown = Creds {
        id: "nobody".into(),
        ..good.clone()
    };
    for path in [
        "/api/digilocker/documents".to_owned(),
        format!("/api/digilocker/{id}/status"),
        format!("/api/digilocker/{id}/revoke"),
        format!("/api/digilocker/{id}/issued"),
        format!("/api/digilocker/{id}/aadhaar"),
    ] {
        for creds in [&wrong_secret, &wrong_instance, &unknown] {
            let (s, b) = t.get(&path, creds).await;
            assert_error(s, &b, 401, "unauthorized");
        }
        // A missing header is the hosted API's own code.
        let (s, b) = TestApp::send(t.http.get(t.url(&path))).await;
        assert_error(s, &b, 401, "vault_secret_error");
        let (s, b) = TestApp::send(
            t.http
                .get(t.url(&path))
                .header("x-client-id", &good.id)
                .header("x-client-secret", &good.secret),
        )
        .await;
        assert_error(s, &b, 401, "vault_secret_error");
    }
    let (s, b) = t
        .post(
            "/api/digilocker",
            &wrong_secret,
            json!({"redirectUrl": BUSINESS}),
        )
        .await;
    assert_error(s, &b, 401, "unauthorized");
    let (s, b) = t
        .post(
            &format!("/api/digilocker/{id}/document"),
            &unknown,
            json!({}),
        )
        .await;
    assert_error(s, &b, 401, "unauthorized");
    // The detail never says which header was wrong.
    let (_, a) = t.get("/api/digilocker/documents", &wrong_secret).await;
    let (_, b) = t.get("/api/digilocker/documents", &unknown).await;
    assert_eq!(a["error"]["detail"], b["error"]["detail"]);
}

#[tokio::test]
async fn a_disabled_client_and_a_rotated_secret_stop_working() {
    let t = TestApp::spawn().await;
    let c = t.new_client("").await;
    let (s, _) = t
        .post("/api/digilocker", &c, json!({"redirectUrl": BUSINESS}))
        .await;
    assert_eq!(s, 201);
    t.app
        .state
        .store
        .set_client_disabled(&c.id, true, 0)
        .await
        .unwrap();
    // Clients are cached; a change reaches every instance within a second.
    let started = std::time::Instant::now();
    let (s, b) = eventually(
        || t.post("/api/digilocker", &c, json!({"redirectUrl": BUSINESS})),
        401,
    )
    .await;
    assert_error(s, &b, 401, "unauthorized");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    t.app
        .state
        .store
        .set_client_disabled(&c.id, false, 0)
        .await
        .unwrap();
    t.app
        .state
        .store
        .set_client_secret_hash(&c.id, &gateway::crypto::hash_secret("new-secret"))
        .await
        .unwrap();
    let (s, _) = eventually(
        || t.post("/api/digilocker", &c, json!({"redirectUrl": BUSINESS})),
        401,
    )
    .await;
    assert_eq!(s, 401);
    let rotated = Creds {
        secret: "new-secret".into(),
        ..c
    };
    let (s, _) = eventually(
        || {
            t.post(
                "/api/digilocker",
                &rotated,
                json!({"redirectUrl": BUSINESS}),
            )
        },
        201,
    )
    .await;
    assert_eq!(s, 201);
}

/// Call until the answer has status `want` (or three seconds pass).
async fn eventually<F, Fut>(call: F, want: u16) -> (u16, serde_json::Value)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (u16, serde_json::Value)>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let (s, b) = call().await;
        if s == want || std::time::Instant::now() > deadline {
            return (s, b);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn create_answers_the_contract_shape_and_status_follows() {
    let t = TestApp::spawn().await;
    let resp = t
        .req(Method::POST, "/api/digilocker", &t.creds)
        .json(&json!({"redirectUrl": BUSINESS, "docType": "PANCR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let trace = resp
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!trace.is_empty());
    let v: serde_json::Value = resp.json().await.unwrap();
    let id = v["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(v["status"], "unauthenticated");
    let url = v["url"].as_str().unwrap();
    let prefix = t.url(&format!("/digilocker/{id}/start?t="));
    let token = url.strip_prefix(&prefix).unwrap_or_else(|| panic!("{url}"));
    // 128 secret bits: the time-ordered id alone does not open the journey.
    assert_eq!(token.len(), 22, "{url}");
    for wrong in [
        t.url(&format!("/digilocker/{id}/start")),
        format!("{prefix}{}", "A".repeat(22)),
    ] {
        let resp = t.http.get(&wrong).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{wrong}");
    }
    let valid = v["validUpto"].as_str().unwrap();
    assert!(valid.ends_with("+05:30"), "{valid}");
    let valid_t =
        time::OffsetDateTime::parse(valid, &time::format_description::well_known::Rfc3339).unwrap();
    let in_secs = (valid_t - time::OffsetDateTime::now_utc()).whole_seconds();
    assert!(
        (3500..=3600).contains(&in_secs),
        "validUpto should be an hour ahead, is {in_secs}s"
    );

    let (s, st) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(s, 200);
    assert_eq!(st["id"], id);
    assert_eq!(st["status"], "unauthenticated");
    assert_eq!(st["url"], v["url"]);
    assert_eq!(st["validUpto"], v["validUpto"]);
    assert_eq!(st["digilockerUserDetails"], json!({}));
    assert!(st["traceId"].as_str().is_some_and(|s| !s.is_empty()));

    // The start link sends the browser to DigiLocker's authorize with PKCE,
    // state and the requested doc type.
    let resp = t.http.get(v["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let loc = reqwest::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert!(loc.path().ends_with("/sandbox/oauth2/1/authorize"), "{loc}");
    let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 22);
    assert_eq!(q["req_doctype"], "PANCR");
    assert_eq!(q["redirect_uri"], t.url("/digilocker/callback"));
}

#[tokio::test]
async fn create_rejects_bad_input_with_contract_codes() {
    let t = TestApp::spawn().await;
    let c = &t.creds;
    for (body, code) in [
        // Missing or of the wrong type: a malformed body, as the hosted API says.
        (json!({}), "invalid_payload"),
        (json!({"redirectUrl": null}), "invalid_payload"),
        (json!({"redirectUrl": 5}), "invalid_payload"),
        (json!({"redirectUrl": "not a url"}), "invalid_redirect_url"),
        (
            json!({"redirectUrl": "/relative/path"}),
            "invalid_redirect_url",
        ),
        (
            json!({"redirectUrl": "ftp://example.com/x"}),
            "invalid_redirect_url",
        ),
        (
            json!({"redirectUrl": "http://example.com/x"}),
            "invalid_redirect_url",
        ),
        (
            json!({"redirectUrl": "javascript:alert(1)"}),
            "invalid_redirect_url",
        ),
        (
            json!({"redirectUrl": "https://user:pw@example.com/"}),
            "invalid_redirect_url",
        ),
        (
            json!({"redirectUrl": BUSINESS, "docType": "PAN CR"}),
            "invalid_payload",
        ),
        (
            json!({"redirectUrl": BUSINESS, "docType": 7}),
            "invalid_payload",
        ),
        (json!([1, 2]), "invalid_payload"),
    ] {
        let (s, b) = t.post("/api/digilocker", c, body.clone()).await;
        assert_error(s, &b, 400, code);
    }
    let (s, b) = TestApp::send(t.req(Method::POST, "/api/digilocker", c).body("{not json")).await;
    assert_error(s, &b, 400, "invalid_payload");
    let big = "x".repeat(200 * 1024);
    let (s, b) = TestApp::send(t.req(Method::POST, "/api/digilocker", c).body(big)).await;
    assert_eq!(s, 413, "{b}");
    // https is fine for any host; origins can be restricted per client.
    let (s, _) = t
        .post(
            "/api/digilocker",
            c,
            json!({"redirectUrl": "https://shop.example/kyc"}),
        )
        .await;
    assert_eq!(s, 201);
    let restricted = t.new_client("https://bank.example").await;
    let (s, b) = t
        .post(
            "/api/digilocker",
            &restricted,
            json!({"redirectUrl": "https://evil.example/x"}),
        )
        .await;
    assert_error(s, &b, 400, "invalid_redirect_url");
    let (s, _) = t
        .post(
            "/api/digilocker",
            &restricted,
            json!({"redirectUrl": "https://bank.example/x?a=1"}),
        )
        .await;
    assert_eq!(s, 201);
}

#[tokio::test]
async fn one_client_never_sees_another_clients_requests() {
    let t = TestApp::spawn().await;
    let (id, _) = t.authenticated().await;
    let other = t.new_client("").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    for target in [id.as_str(), unknown.as_str(), "not-a-uuid"] {
        for path in ["status", "revoke", "aadhaar", "issued"] {
            let (s, b) = t
                .get(&format!("/api/digilocker/{target}/{path}"), &other)
                .await;
            assert_error(s, &b, 404, "request_not_found");
        }
        let (s, b) = t
            .post(
                &format!("/api/digilocker/{target}/document"),
                &other,
                json!({"docType": "PANCR", "orgId": "x", "format": "pdf", "consent": "Y"}),
            )
            .await;
        assert_error(s, &b, 404, "request_not_found");
    }
    // And the owner still can.
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["status"], "authenticated");
}

#[tokio::test]
async fn idempotency_key_returns_the_first_answer() {
    let t = TestApp::spawn().await;
    let send = || {
        TestApp::send(
            t.req(Method::POST, "/api/digilocker", &t.creds)
                .header("idempotency-key", "order-42")
                .json(&json!({"redirectUrl": BUSINESS})),
        )
    };
    let (s1, a) = send().await;
    let (s2, b) = send().await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(a["id"], b["id"]);
    let (_, c) = t
        .post(
            "/api/digilocker",
            &t.creds,
            json!({"redirectUrl": BUSINESS}),
        )
        .await;
    assert_ne!(a["id"], c["id"]);
}

#[tokio::test]
async fn unknown_paths_and_trace_ids() {
    let t = TestApp::spawn().await;
    let resp = t
        .http
        .get(t.url("/api/nothing"))
        .header("x-request-id", "my-trace-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["x-request-id"], "my-trace-1");
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["traceId"], "my-trace-1");
    // A hostile trace id is replaced, not echoed.
    let resp = t
        .http
        .get(t.url("/api/nothing"))
        .header("x-request-id", "a b\"c")
        .send()
        .await
        .unwrap();
    assert_ne!(resp.headers()["x-request-id"], "a b\"c");
}

#[tokio::test]
async fn health_ready_and_metrics() {
    let t = TestApp::spawn().await;
    let r = t.http.get(t.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r: serde_json::Value = t
        .http
        .get(t.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "ready");
    assert_eq!(
        r["database"],
        if crate::harness::on_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    );
    t.create().await;
    t.wait_catalogue().await;
    let m = t
        .http
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("gateway_http_requests_total{route=\"/api/digilocker\",method=\"POST\",status=\"201\"} 1"), "{m}");
    assert!(
        m.contains("gateway_http_request_duration_seconds_bucket"),
        "{m}"
    );
    assert!(
        m.contains("gateway_upstream_calls_total{endpoint=\"pull_issuers\",outcome=\"ok\"}"),
        "{m}"
    );
}

#[tokio::test]
async fn each_client_is_rate_limited_on_its_own() {
    let t = TestApp::spawn_with(|c| {
        c.rate_limit_per_second = 1;
        c.rate_limit_burst = 3;
    })
    .await;
    let other = t.new_client("").await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let resp = t
            .req(Method::GET, "/api/digilocker/documents", &t.creds)
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 {
            assert_eq!(resp.headers()["retry-after"], "1");
            let v: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(v["error"]["code"], "rate_limited");
        }
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses[..3].iter().all(|s| *s != 429),
        "the burst is allowed: {statuses:?}"
    );
    // Another client is not slowed by the first.
    let resp = t
        .req(Method::GET, "/api/digilocker/documents", &other)
        .send()
        .await
        .unwrap();
    assert_ne!(resp.status(), 429);
}
