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
    // Any time in the future is refused, a minute ahead as an hour ahead.
    for ts in [now() - 31 * 60, now() + 3600, now() + 60, now() + 2] {
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

/// A pull of `record` (one of the citizen's, found by its parameters).
fn record_pull(record: &sandbox::seed::IssuedDoc) -> Vec<(&str, &str)> {
    let mut form = vec![
        ("orgid", record.orgid.as_str()),
        ("doctype", record.doctype.as_str()),
        ("consent", "Y"),
    ];
    form.extend(record.params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    form
}

/// The happy-path citizen's class XII mark sheet: CBSE holds it, his locker
/// does not (yet).
fn ramesh_hscer() -> sandbox::seed::IssuedDoc {
    happy_citizen()
        .pullable
        .into_iter()
        .find(|d| d.doctype == "HSCER")
        .unwrap()
}

/// A token of `who` whose consent covers pulling `doctype`.
async fn token_pulling(sb: &TestSandbox, who: &sandbox::seed::Citizen, doctype: &str) -> String {
    let partners = format!("file.partners/{doctype}");
    token_ticking(sb, who, &[("req_doctype", doctype)], |value, checked| {
        checked || value == partners
    })
    .await
}

/// A PAN pull of someone else's number, for the checks that come before
/// the issuer looks.
const PAN_PULL: [(&str, &str); 5] = [
    ("orgid", "000004"),
    ("doctype", "PANCR"),
    ("consent", "Y"),
    ("panno", "ZZZZZ9999Z"),
    ("PANFullName", "Test Holder"),
];

async fn uri_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["uri"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The issued files a token sees, by URI.
async fn listed(sb: &TestSandbox, access: &str) -> Vec<Value> {
    let listing: Value = sb
        .get_bearer("oauth2/2/files/issued", access)
        .await
        .json()
        .await
        .unwrap();
    listing["items"].as_array().unwrap().clone()
}

async fn fetch_ok(sb: &TestSandbox, access: &str, uri: &str) {
    let file = sb.get_bearer(&format!("oauth2/1/file/{uri}"), access).await;
    assert_eq!(file.status(), StatusCode::OK, "{uri}");
    assert!(file.bytes().await.unwrap().starts_with(b"%PDF-"));
}

#[tokio::test]
async fn pulled_document_is_listed_fetchable_and_then_exists() {
    let sb = spawn().await;
    let who = happy_citizen();
    let record = ramesh_hscer();
    let access = token_pulling(&sb, &who, "HSCER").await;
    let access = access.as_str();
    let pull_form = record_pull(&record);
    let uri = uri_of(pull(&sb, access, &pull_form).await).await;
    // The issuer's own record: its URI carries the year and roll number.
    assert_eq!(uri, "in.cbse-HSCER-20034123456");
    assert_eq!(uri, record.uri);
    fetch_ok(&sb, access, &uri).await;
    assert!(listed(&sb, access)
        .await
        .iter()
        .any(|i| i["uri"] == uri.as_str()));

    // The same consent pulling again: it is in the locker now.
    let response = pull(&sb, access, &pull_form).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"], "uri_exists");
    assert_eq!(
        body["error_description"],
        "This document already exists in your Issued Documents."
    );
    // ...and still listed and fetchable by that consent.
    assert!(listed(&sb, access)
        .await
        .iter()
        .any(|i| i["uri"] == uri.as_str()));
    fetch_ok(&sb, access, &uri).await;

    // A returning citizen (a new journey, a new consent): the pulled document
    // is offered on the consent page like any other, and ticked by default.
    let other = sb.token_for(&who).await;
    let other = other["access_token"].as_str().unwrap();
    let response = pull(&sb, other, &pull_form).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::INTERNAL_SERVER_ERROR, "uri_exists".into())
    );
    let item = listed(&sb, other)
        .await
        .into_iter()
        .find(|i| i["uri"] == uri.as_str())
        .expect("the pulled document is listed for the new consent");
    assert_eq!(item["doctype"], "HSCER");
    assert_eq!(item["issuerid"], "in.cbse");
    fetch_ok(&sb, other, &uri).await;
}

/// Issuers find only the citizen's own records: a wrong number, a wrong
/// name, or another citizen's document is `record_not_found`, so no two
/// citizens can end up holding the same PAN.
#[tokio::test]
async fn a_pull_finds_only_the_citizens_own_record() {
    let sb = spawn().await;
    let ramesh = happy_citizen();
    let pan = ramesh
        .documents
        .iter()
        .find(|d| d.doctype == "PANCR")
        .unwrap();
    let priya = citizen(|c| c.name == "Priya Venkataraman");
    let priya_access = sb.token_for(&priya).await;
    let priya_access = priya_access["access_token"].as_str().unwrap();
    // Priya (her own PAN ticked, so PAN pulls are in scope) asks for Ramesh's.
    let response = pull(&sb, priya_access, &record_pull(pan)).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (StatusCode::NOT_FOUND, "record_not_found"),
        "{body}"
    );
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .starts_with("No record found in issuer database"));
    // Ramesh himself: his number with another name, another number with his
    // name, made-up values: none found.
    let access = sb.token_for(&ramesh).await;
    let access = access["access_token"].as_str().unwrap();
    for (number, name) in [
        ("ABCDE1234F", "Priya Venkataraman"),
        ("ABCDE1234G", "Ramesh Kumar Sharma"),
        ("BQRPV5678K", "Priya Venkataraman"),
        ("ZZZZZ9999Z", "Test Holder"),
    ] {
        let form = [
            ("orgid", "000004"),
            ("doctype", "PANCR"),
            ("consent", "Y"),
            ("panno", number),
            ("PANFullName", name),
        ];
        assert_eq!(
            error_of(pull(&sb, access, &form).await).await,
            (StatusCode::NOT_FOUND, "record_not_found".into()),
            "{number} {name}"
        );
    }
    // His own, typed loosely: found (already in his locker).
    let form = [
        ("orgid", "000004"),
        ("doctype", "PANCR"),
        ("consent", "Y"),
        ("panno", "abcde 1234 f"),
        ("PANFullName", "ramesh kumar  sharma"),
    ];
    assert_eq!(
        error_of(pull(&sb, access, &form).await).await,
        (StatusCode::INTERNAL_SERVER_ERROR, "uri_exists".into())
    );
    // Nothing was added to Priya's locker.
    assert!(!listed(&sb, priya_access)
        .await
        .iter()
        .any(|i| i["uri"] == pan.uri.as_str()));
}

#[tokio::test]
async fn pulling_a_seeded_document_is_uri_exists_and_it_is_listed() {
    let sb = spawn().await;
    let who = happy_citizen();
    let pan = who.documents.iter().find(|d| d.doctype == "PANCR").unwrap();
    let number = pan.uri.rsplit('-').next().unwrap();
    let token = sb.token_for(&who).await;
    let access = token["access_token"].as_str().unwrap();
    let response = pull(
        &sb,
        access,
        &[
            ("orgid", "000004"),
            ("doctype", "PANCR"),
            ("consent", "Y"),
            // Lower case and spaced: the issuer still recognises the number.
            ("panno", &format!(" {} ", number.to_ascii_lowercase())),
            ("PANFullName", &who.name),
        ],
    )
    .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::INTERNAL_SERVER_ERROR, "uri_exists".into())
    );
    let items = listed(&sb, access).await;
    let same: Vec<&Value> = items
        .iter()
        .filter(|i| i["doctype"] == "PANCR" && i["issuerid"] == pan.issuerid.as_str())
        .collect();
    assert_eq!(same.len(), 1, "{items:?}");
    assert!(same[0]["uri"].as_str().unwrap().ends_with(number));
    fetch_ok(&sb, access, &pan.uri).await;
}

#[tokio::test]
async fn a_doc_type_shared_for_pulling_covers_the_document_already_pulled() {
    let sb = spawn().await;
    // No driving licence in the locker: the consent page offers to pull one.
    let who = citizen(|c| {
        c.has_account && c.aadhaar.is_some() && !c.documents.iter().any(|d| d.doctype == "DRVLC")
    });
    let partners = |value: &str, checked: bool| checked || value == "file.partners/DRVLC";
    // Two consents given before either pulled (two tabs, two apps' journeys).
    let first = token_ticking(&sb, &who, &[("req_doctype", "DRVLC")], partners).await;
    let second = token_ticking(&sb, &who, &[("req_doctype", "DRVLC")], partners).await;
    let record = who.pullable.iter().find(|d| d.doctype == "DRVLC").unwrap();
    let dl = record_pull(record);
    let uri = uri_of(pull(&sb, &first, &dl).await).await;
    assert_eq!(uri, record.uri);
    let response = pull(&sb, &second, &dl).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::INTERNAL_SERVER_ERROR, "uri_exists".into())
    );
    // The second consent agreed to share driving licences: it sees this one.
    assert!(listed(&sb, &second)
        .await
        .iter()
        .any(|i| i["uri"] == uri.as_str() && i["doctype"] == "DRVLC"));
    fetch_ok(&sb, &second, &uri).await;

    // A later consent offers it like any document in the locker; one where
    // the citizen unticks it neither sees it nor can fetch it.
    let without = token_ticking(&sb, &who, &[], |value, checked| checked && value != uri).await;
    assert!(!listed(&sb, &without)
        .await
        .iter()
        .any(|i| i["uri"] == uri.as_str()));
    let response = sb
        .get_bearer(&format!("oauth2/1/file/{uri}"), &without)
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, "invalid_uri".into())
    );
}

#[tokio::test]
async fn pull_outside_the_consents_scope_is_invalid_doctype() {
    let sb = spawn().await;
    let who = citizen(|c| {
        c.has_account
            && c.aadhaar.is_some()
            && c.documents.iter().any(|d| d.doctype == "PANCR")
            && !c.documents.iter().any(|d| d.doctype == "DRVLC")
    });
    // Asked for nothing to pull, and the PAN unticked.
    let access = token_ticking(&sb, &who, &[], |value, checked| {
        checked && !value.contains("-PANCR-")
    })
    .await;
    for (orgid, doctype, params) in [
        (
            "000004",
            "PANCR",
            vec![("panno", "ZZZZZ9999Z"), ("PANFullName", "X")],
        ),
        (
            sandbox::catalogue::ORGID_CBSE,
            "MIGCR",
            vec![("rroll", "12345678"), ("year", "2019")],
        ),
    ] {
        let mut form = vec![("orgid", orgid), ("doctype", doctype), ("consent", "Y")];
        form.extend(params);
        let response = pull(&sb, &access, &form).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{doctype}");
        assert_eq!(body["error"], "invalid_doctype", "{doctype}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("consent"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn identity_documents_need_aadhaar_to_be_pulled() {
    let sb = spawn().await;
    let who = citizen(|c| c.has_account && c.aadhaar.is_none());
    assert!(who.documents.iter().any(|d| d.doctype == "PANCR"));
    let access = token_ticking(&sb, &who, &[("req_doctype", "MIGCR")], |value, checked| {
        checked || value == "file.partners/MIGCR"
    })
    .await;
    let response = pull(&sb, &access, &PAN_PULL).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"], "aadhaar_not_linked");
    assert_eq!(
        body["error_description"],
        "To access issued documents, please link your Aadhaar number to your DigiLocker account."
    );
    // An issuer that does not match against Aadhaar still lets the pull
    // through: CBSE finds his migration certificate.
    let record = who.pullable.iter().find(|d| d.doctype == "MIGCR").unwrap();
    let response = pull(&sb, &access, &record_pull(record)).await;
    // Values picked from a list (the year) come before the number.
    assert_eq!(
        uri_of(response).await,
        format!("{}-MIGCR-19969712345", sandbox::catalogue::ISSUERID_CBSE)
    );
}

/// The happy-path citizen's EPFO passbooks (current and previous employer),
/// which EPFO holds and his locker does not.
fn ramesh_passbooks() -> Vec<sandbox::seed::IssuedDoc> {
    happy_citizen()
        .pullable
        .into_iter()
        .filter(|d| d.doctype == "PRFND" && d.orgid == sandbox::catalogue::ORGID_EPFO)
        .collect()
}

#[tokio::test]
async fn the_slow_issuer_answers_pending_twice_then_succeeds() {
    let sb = spawn().await;
    let access = token_pulling(&sb, &happy_citizen(), "PRFND").await;
    let passbooks = ramesh_passbooks();
    assert_eq!(passbooks.len(), 2);
    let form = record_pull(&passbooks[0]);
    for attempt in 1..=2 {
        let response = pull(&sb, &access, &form).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "attempt {attempt}"
        );
        assert_eq!(body["error"], "pull_response_pending", "attempt {attempt}");
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains("forwarded to the Issuer department"));
    }
    let uri = uri_of(pull(&sb, &access, &form).await).await;
    assert_eq!(uri, passbooks[0].uri);
    fetch_ok(&sb, &access, &uri).await;
    // Other documents of the same issuer are counted on their own.
    let response = pull(&sb, &access, &record_pull(&passbooks[1])).await;
    assert_eq!(error_of(response).await.1, "pull_response_pending");
}

#[tokio::test]
async fn without_slow_issuers_the_first_pull_succeeds() {
    let sb = spawn_with(|c| c.slow_issuers.clear()).await;
    let access = token_pulling(&sb, &happy_citizen(), "PRFND").await;
    let passbooks = ramesh_passbooks();
    let response = pull(&sb, &access, &record_pull(&passbooks[0])).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_pull_pending_switch_forces_or_counts_pending() {
    let sb = spawn().await;
    let access = token_pulling(&sb, &happy_citizen(), "HSCER").await;
    let record = ramesh_hscer();
    let form = record_pull(&record);
    sb.sandbox
        .faults()
        .set(sandbox::Faults {
            pull_pending: Some(sandbox::PullPendingFault { attempts: None }),
            ..Default::default()
        })
        .unwrap();
    for _ in 0..3 {
        let response = pull(&sb, &access, &form).await;
        assert_eq!(
            error_of(response).await,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "pull_response_pending".into()
            )
        );
    }
    // Over HTTP: every issuer slow, one pending answer per document.
    let response = sb
        .browser
        .put(sb.url("admin/faults"))
        .json(&serde_json::json!({"pull_pending": {"attempts": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = pull(&sb, &access, &form).await;
    assert_eq!(error_of(response).await.1, "pull_response_pending");
    uri_of(pull(&sb, &access, &form).await).await;
    sb.sandbox.faults().clear();
}

#[tokio::test]
async fn catalogue_latency_slows_each_signed_call() {
    let latency = std::time::Duration::from_millis(400);
    let sb = spawn_with(|c| c.catalogue_latency = latency).await;
    let started = std::time::Instant::now();
    let response = call(
        &sb,
        "oauth2/1/pull/issuers",
        &signed(CLIENT_ID, CLIENT_SECRET, now()),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= latency, "{:?}", started.elapsed());
    let mut form = signed(CLIENT_ID, CLIENT_SECRET, now());
    form.push(("orgid".into(), "002317".into()));
    let started = std::time::Instant::now();
    assert_eq!(
        call(&sb, "oauth2/1/pull/doctype", &form).await.status(),
        StatusCode::OK
    );
    assert!(started.elapsed() >= latency);
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
