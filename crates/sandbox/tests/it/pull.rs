//! The signed catalogue calls and pull document.

use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::*;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The spec's signature: hex(sha256(secret + clientid + ts)).
fn signed(client_id: &str, secret: &str, ts: i64) -> Vec<(String, String)> {
    let hmac = hex::encode(Sha256::digest(
        format!("{secret}{client_id}{ts}").as_bytes(),
    ));
    vec![
        ("clientid".into(), client_id.into()),
        ("ts".into(), ts.to_string()),
        ("hmac".into(), hmac),
    ]
}

async fn call(sb: &TestSandbox, path: &str, form: &[(String, String)]) -> reqwest::Response {
    sb.browser
        .post(sb.url(path))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn signed_catalogue_walk_issuers_doctypes_parameters() {
    let sb = spawn().await;
    let response = call(
        &sb,
        "oauth2/1/pull/issuers",
        &signed(CLIENT_ID, CLIENT_SECRET, now()),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let issuers: Value = response.json().await.unwrap();
    let issuers = issuers["issuers"].as_array().unwrap();
    assert!(!issuers.is_empty());
    for field in ["name", "description", "categories", "issuerid", "orgid"] {
        assert!(issuers[0][field].is_string(), "{field}");
    }
    let tripura = issuers
        .iter()
        .find(|i| i["orgid"] == "002317")
        .expect("AG Tripura");

    let mut form = signed(CLIENT_ID, CLIENT_SECRET, now());
    form.push(("orgid".into(), tripura["orgid"].as_str().unwrap().into()));
    let docs: Value = call(&sb, "oauth2/1/pull/doctype", &form)
        .await
        .json()
        .await
        .unwrap();
    let docs = docs["documents"].as_array().unwrap();
    assert!(docs
        .iter()
        .any(|d| d["doctype"] == "PRFND" && d["description"].is_string()));

    form.push(("doctype".into(), "PRFND".into()));
    let params: Value = call(&sb, "oauth2/1/pull/parameters", &form)
        .await
        .json()
        .await
        .unwrap();
    let params = params.as_array().unwrap();
    let names: Vec<&str> = params
        .iter()
        .map(|p| p["paramname"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"AC_NO"), "{names:?}");
    for p in params {
        assert!(p["label"].is_string() && p["example"].is_string() && p["valuelist"].is_array());
    }
}

#[tokio::test]
async fn doctype_call_also_accepts_orgid_in_the_signature() {
    let sb = spawn().await;
    let ts = now();
    let hmac = hex::encode(Sha256::digest(
        format!("{CLIENT_SECRET}{CLIENT_ID}002317{ts}").as_bytes(),
    ));
    let form = vec![
        ("clientid".to_owned(), CLIENT_ID.to_owned()),
        ("orgid".to_owned(), "002317".to_owned()),
        ("ts".to_owned(), ts.to_string()),
        ("hmac".to_owned(), hmac),
    ];
    assert_eq!(
        call(&sb, "oauth2/1/pull/doctype", &form).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn stale_future_and_missing_ts_are_invalid_parameter() {
    let sb = spawn().await;
    for ts in [now() - 31 * 60, now() + 3600] {
        let response = call(
            &sb,
            "oauth2/1/pull/issuers",
            &signed(CLIENT_ID, CLIENT_SECRET, ts),
        )
        .await;
        assert_eq!(
            error_of(response).await,
            (StatusCode::BAD_REQUEST, "invalid_parameter".into()),
            "ts {ts}"
        );
    }
    // 29 minutes old is still fine.
    let response = call(
        &sb,
        "oauth2/1/pull/issuers",
        &signed(CLIENT_ID, CLIENT_SECRET, now() - 29 * 60),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut form = signed(CLIENT_ID, CLIENT_SECRET, now());
    form.retain(|(k, _)| k != "ts");
    let response = call(&sb, "oauth2/1/pull/issuers", &form).await;
    assert_eq!(error_of(response).await.1, "invalid_parameter");
}

#[tokio::test]
async fn wrong_hmac_is_invalid_parameter_and_unknown_client_is_invalid_client_id() {
    let sb = spawn().await;
    let response = call(
        &sb,
        "oauth2/1/pull/issuers",
        &signed(CLIENT_ID, "wrong-secret", now()),
    )
    .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, "invalid_parameter".into())
    );
    let response = call(
        &sb,
        "oauth2/1/pull/issuers",
        &signed("nobody", CLIENT_SECRET, now()),
    )
    .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, "invalid_client_id".into())
    );
}

#[tokio::test]
async fn unknown_orgid_or_doctype_is_invalid_parameter() {
    let sb = spawn().await;
    let mut form = signed(CLIENT_ID, CLIENT_SECRET, now());
    form.push(("orgid".into(), "999999999".into()));
    let response = call(&sb, "oauth2/1/pull/doctype", &form).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, "invalid_parameter".into())
    );
    let mut form = signed(CLIENT_ID, CLIENT_SECRET, now());
    form.push(("orgid".into(), "002317".into()));
    form.push(("doctype".into(), "NOSUCH".into()));
    let response = call(&sb, "oauth2/1/pull/parameters", &form).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, "invalid_parameter".into())
    );
}

async fn pull(sb: &TestSandbox, access: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    sb.browser
        .post(sb.url("oauth2/1/pull/pulldocument"))
        .bearer_auth(access)
        .form(fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn pull_document_errors() {
    let sb = spawn().await;
    let token = sb.token_for(&happy_citizen()).await;
    let access = token["access_token"].as_str().unwrap();
    let response = pull(
        &sb,
        access,
        &[
            ("orgid", "999999999"),
            ("doctype", "PRFND"),
            ("consent", "Y"),
        ],
    )
    .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::INTERNAL_SERVER_ERROR, "invalid_orgid".into())
    );
    let response = pull(
        &sb,
        access,
        &[("orgid", "002317"), ("doctype", "NOSUCH"), ("consent", "Y")],
    )
    .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::INTERNAL_SERVER_ERROR, "invalid_doctype".into())
    );
    let response = pull(
        &sb,
        access,
        &[("orgid", "002317"), ("doctype", "PRFND"), ("AC_NO", "1")],
    )
    .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, "invalid_parameter".into())
    );
    let response = pull(
        &sb,
        "bad-token",
        &[("orgid", "002317"), ("doctype", "PRFND"), ("consent", "Y")],
    )
    .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
}

#[tokio::test]
async fn pulled_document_becomes_fetchable_by_the_token() {
    let sb = spawn().await;
    let token = sb.token_for(&happy_citizen()).await;
    let access = token["access_token"].as_str().unwrap();
    let fields = [
        ("orgid", "000004"),
        ("doctype", "PANCR"),
        ("consent", "Y"),
        ("panno", "ZZZZZ9999Z"),
        ("PANFullName", "Test Holder"),
    ];
    let response = pull(&sb, access, &fields).await;
    assert_eq!(response.status(), StatusCode::OK);
    let uri = response.json::<Value>().await.unwrap()["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(uri.contains("-PANCR-"), "{uri}");
    // A retry answers the same URI.
    let again: Value = pull(&sb, access, &fields).await.json().await.unwrap();
    assert_eq!(again["uri"], uri.as_str());

    let file = sb.get_bearer(&format!("oauth2/1/file/{uri}"), access).await;
    assert_eq!(file.status(), StatusCode::OK);
    assert!(file.bytes().await.unwrap().starts_with(b"%PDF-"));
    let listing: Value = sb
        .get_bearer("oauth2/2/files/issued", access)
        .await
        .json()
        .await
        .unwrap();
    assert!(listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["uri"] == uri.as_str()));

    // Another consent for the same citizen finds it already in the locker.
    let other = sb.token_for(&happy_citizen()).await;
    let response = pull(&sb, other["access_token"].as_str().unwrap(), &fields).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::INTERNAL_SERVER_ERROR, "uri_exists".into())
    );
}

#[tokio::test]
async fn pull_record_not_found_and_missing_parameter() {
    let sb = spawn().await;
    let token = sb.token_for(&happy_citizen()).await;
    let access = token["access_token"].as_str().unwrap();
    let response = pull(
        &sb,
        access,
        &[
            ("orgid", "000004"),
            ("doctype", "PANCR"),
            ("consent", "Y"),
            ("panno", "NOTFOUND"),
            ("PANFullName", "X"),
        ],
    )
    .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, "record_not_found".into())
    );
    let response = pull(
        &sb,
        access,
        &[
            ("orgid", "000004"),
            ("doctype", "PANCR"),
            ("consent", "Y"),
            ("PANFullName", "X"),
        ],
    )
    .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, "invalid_parameter".into())
    );
}
