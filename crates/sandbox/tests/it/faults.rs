//! Fault switches, set over the admin endpoint and programmatically.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sandbox::{Endpoint, ErrorFault, Faults, LatencyFault, ScopedFault};
use serde_json::{json, Value};

use crate::support::*;

async fn put_faults(sb: &TestSandbox, body: Value) -> reqwest::Response {
    sb.browser
        .put(sb.url("admin/faults"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A valid signed `pull/issuers` call: an endpoint needing no journey.
async fn issuers(sb: &TestSandbox) -> reqwest::Response {
    let ts = time::OffsetDateTime::now_utc().unix_timestamp();
    let hmac = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        format!("{CLIENT_SECRET}{CLIENT_ID}{ts}").as_bytes(),
    ));
    sb.browser
        .post(sb.url("oauth2/1/pull/issuers"))
        .form(&[
            ("clientid", CLIENT_ID),
            ("ts", &ts.to_string()),
            ("hmac", &hmac),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn admin_endpoint_round_trips_and_validates() {
    let sb = spawn().await;
    let body = json!({
        "latency": {"ms": 5, "endpoint": "token"},
        "error": {"rate": 0.25, "status": 503, "error": "repository_service_inactive", "endpoint": "pull"},
        "hang": null,
        "malformed": {"endpoint": "eaadhaar"},
        "truncated": {"endpoint": "file"},
        "seed": 42
    });
    let response = put_faults(&sb, body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let now: Value = sb
        .browser
        .get(sb.url("admin/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now["latency"]["ms"], 5);
    assert_eq!(now["error"]["endpoint"], "pull");
    assert_eq!(now["malformed"]["endpoint"], "eaadhaar");
    assert_eq!(sb.sandbox.faults().get().seed, Some(42));

    for bad in [
        json!({"error": {"rate": 2.0}}),
        json!({"error": {"rate": 0.5, "status": 200}}),
        json!({"latency": {"ms": 5, "endpoint": "everything"}}),
        json!({"lag": 5}),
    ] {
        let response = put_faults(&sb, bad.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    // A rejected change leaves the switches as they were.
    assert_eq!(sb.sandbox.faults().get().seed, Some(42));
    assert_eq!(put_faults(&sb, json!({})).await.status(), StatusCode::OK);
    assert_eq!(sb.sandbox.faults().get(), Faults::default());
}

#[tokio::test]
async fn admin_token_is_required_when_configured() {
    let sb = spawn_with(|c| c.admin_token = Some("let-me-in".into())).await;
    let response = sb.browser.get(sb.url("admin/faults")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = put_faults(&sb, json!({"latency": {"ms": 1}})).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sb.sandbox.faults().get(), Faults::default());
    let response = sb
        .browser
        .get(sb.url("admin/faults"))
        .bearer_auth("let-me-in")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn latency_delays_only_its_endpoint() {
    let sb = spawn().await;
    sb.sandbox
        .faults()
        .set(Faults {
            latency: Some(LatencyFault {
                ms: 600,
                endpoint: Endpoint::Issuers,
            }),
            ..Faults::default()
        })
        .unwrap();
    let started = Instant::now();
    assert_eq!(issuers(&sb).await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(600));
    let started = Instant::now();
    let response = sb.get_bearer("oauth2/1/user", "x").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "other endpoints are not delayed"
    );
}

#[tokio::test]
async fn error_rate_one_always_fails_with_the_chosen_error() {
    let sb = spawn().await;
    let token = sb.token_for(&happy_citizen()).await;
    let access = token["access_token"].as_str().unwrap();
    put_faults(
        &sb,
        json!({"error": {"rate": 1.0, "status": 500, "error": "repository_service_unresponsive", "endpoint": "files"}}),
    )
    .await;
    for _ in 0..3 {
        let response = sb.get_bearer("oauth2/2/files/issued", access).await;
        assert_eq!(
            error_of(response).await,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "repository_service_unresponsive".into()
            )
        );
    }
    assert_eq!(
        sb.get_bearer("oauth2/1/user", access).await.status(),
        StatusCode::OK
    );
    put_faults(&sb, json!({"error": {"rate": 1.0, "status": 401, "error": "invalid_token", "endpoint": "user"}})).await;
    let response = sb.get_bearer("oauth2/1/user", access).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
}

#[tokio::test]
async fn seeded_error_rate_fails_some_and_repeats() {
    let sb = spawn().await;
    let faults = Faults {
        error: Some(ErrorFault {
            html: false,
            rate: 0.5,
            status: 503,
            error: "repository_service_inactive".into(),
            error_description: Some("down for the test".into()),
            endpoint: Endpoint::Pull,
        }),
        seed: Some(1234),
        ..Faults::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        sb.sandbox.faults().set(faults.clone()).unwrap();
        let mut outcomes = Vec::new();
        for _ in 0..20 {
            outcomes.push(issuers(&sb).await.status());
        }
        runs.push(outcomes);
    }
    assert_eq!(runs[0], runs[1], "same seed, same outcomes");
    let failed = runs[0]
        .iter()
        .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(failed > 0 && failed < 20, "{failed} of 20 failed");
}

#[tokio::test]
async fn hang_outlasts_the_clients_timeout() {
    let sb = spawn().await;
    put_faults(&sb, json!({"hang": {"endpoint": "token"}})).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let result = impatient
        .post(sb.url("oauth2/1/token"))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
    // Other endpoints still answer.
    assert_eq!(issuers(&sb).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_breaks_json_bodies_but_keeps_the_status() {
    let sb = spawn().await;
    sb.sandbox
        .faults()
        .set(Faults {
            malformed: Some(ScopedFault {
                endpoint: Endpoint::Issuers,
            }),
            ..Faults::default()
        })
        .unwrap();
    let response = issuers(&sb).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("json"));
    let text = response.text().await.unwrap();
    assert!(text.starts_with("{\"issuers\""));
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "not parseable JSON"
    );
}

#[tokio::test]
async fn malformed_breaks_eaadhaar_xml_and_file_hmac() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let token = sb.token_for(&citizen).await;
    let access = token["access_token"].as_str().unwrap();
    let good = sb
        .get_bearer("oauth2/3/xml/eaadhaar", access)
        .await
        .text()
        .await
        .unwrap();
    put_faults(&sb, json!({"malformed": {"endpoint": "eaadhaar"}})).await;
    let bad = sb
        .get_bearer("oauth2/3/xml/eaadhaar", access)
        .await
        .text()
        .await
        .unwrap();
    assert_ne!(good, bad);
    assert!(
        !bad.trim_end().ends_with("</Certificate>"),
        "root left unclosed"
    );

    put_faults(&sb, json!({"malformed": {"endpoint": "file"}})).await;
    let uri = &citizen.documents[0].uri;
    let response = sb.get_bearer(&format!("oauth2/1/file/{uri}"), access).await;
    let hmac = response.headers()["hmac"].to_str().unwrap().to_owned();
    let body = response.bytes().await.unwrap();
    use base64::Engine as _;
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(CLIENT_SECRET.as_bytes()).unwrap();
    mac.update(&body);
    let actual = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_ne!(hmac, actual, "the hmac header no longer matches the body");
}

#[tokio::test]
async fn truncated_body_fails_to_read() {
    let sb = spawn().await;
    put_faults(&sb, json!({"truncated": {"endpoint": "issuers"}})).await;
    let response = issuers(&sb).await;
    assert_eq!(response.status(), StatusCode::OK);
    let declared: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(declared > 0);
    assert!(response.bytes().await.is_err(), "the body ends early");
}

#[tokio::test]
async fn all_scope_spares_the_journey_pages_unless_authorize_is_named() {
    let sb = spawn().await;
    put_faults(&sb, json!({"error": {"rate": 1.0, "endpoint": "all"}})).await;
    let flow = sb.new_flow();
    let page = sb.start(&flow, &[]).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "journey pages unaffected by all"
    );
    assert_eq!(
        issuers(&sb).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    put_faults(
        &sb,
        json!({"error": {"rate": 1.0, "endpoint": "authorize"}}),
    )
    .await;
    let page = sb.start(&flow, &[]).await;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    // The admin endpoint itself is never faulty.
    assert_eq!(put_faults(&sb, json!({})).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn eaadhaar_v2_only_hides_the_v3_path_behind_a_plain_404() {
    // Set at start...
    let sb = spawn_with(|c| c.faults.eaadhaar_v2_only = true).await;
    let token = sb.token_for(&happy_citizen()).await;
    let access = token["access_token"].as_str().unwrap();
    let v3 = sb.get_bearer("oauth2/3/xml/eaadhaar", access).await;
    assert_eq!(v3.status(), StatusCode::NOT_FOUND);
    assert!(v3.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = v3.text().await.unwrap();
    assert!(page.contains("Not Found"), "{page}");
    assert!(
        serde_json::from_str::<Value>(&page).is_err(),
        "no DigiLocker error code"
    );
    // ...before any token is looked at, as a path the server does not have.
    let bogus = sb
        .get_bearer("oauth2/3/xml/eaadhaar", "no-such-token")
        .await;
    assert_eq!(bogus.status(), StatusCode::NOT_FOUND);
    // The specification's path still serves the e-Aadhaar.
    let v2 = sb.get_bearer("oauth2/2/xml/eaadhaar", access).await;
    assert_eq!(v2.status(), StatusCode::OK);
    assert!(v2.text().await.unwrap().contains("<KycRes"));

    // ...and through the admin endpoint, off and on.
    assert_eq!(put_faults(&sb, json!({})).await.status(), StatusCode::OK);
    let v3 = sb.get_bearer("oauth2/3/xml/eaadhaar", access).await;
    assert_eq!(v3.status(), StatusCode::OK);
    let response = put_faults(&sb, json!({"eaadhaar_v2_only": true})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let now: Value = response.json().await.unwrap();
    assert_eq!(now["eaadhaar_v2_only"], true);
    assert!(sb.sandbox.faults().get().eaadhaar_v2_only);
    let v3 = sb.get_bearer("oauth2/3/xml/eaadhaar", access).await;
    assert_eq!(v3.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn eaadhaar_html_answers_200_with_a_page_on_both_paths() {
    let sb = spawn().await;
    let token = sb.token_for(&happy_citizen()).await;
    let access = token["access_token"].as_str().unwrap();
    let response = put_faults(&sb, json!({"eaadhaar_html": true})).await;
    assert_eq!(response.status(), StatusCode::OK);
    for path in ["oauth2/3/xml/eaadhaar", "oauth2/2/xml/eaadhaar"] {
        let answer = sb.get_bearer(path, access).await;
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
        assert!(answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = answer.text().await.unwrap();
        assert!(page.starts_with("<!DOCTYPE html>") && !page.contains("<KycRes"));
    }
    // Only the e-Aadhaar: other endpoints answer as ever.
    let user = sb.get_bearer("oauth2/1/user", access).await;
    assert_eq!(user.status(), StatusCode::OK);
    put_faults(&sb, json!({})).await;
    let answer = sb.get_bearer("oauth2/3/xml/eaadhaar", access).await;
    assert!(answer.text().await.unwrap().contains("<KycRes"));
}

#[tokio::test]
async fn an_error_fault_can_answer_with_a_proxys_html_page() {
    let sb = spawn().await;
    put_faults(
        &sb,
        json!({"error": {"rate": 1.0, "status": 502, "html": true, "endpoint": "pull"}}),
    )
    .await;
    let response = issuers(&sb).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(response.headers()["content-type"], "text/html");
    let page = response.text().await.unwrap();
    assert!(page.starts_with("<html>"), "{page}");
}
