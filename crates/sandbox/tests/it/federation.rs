//! A federation that partly fails by default: down, flaky, slow issuers and
//! one broken (issuer, doc type) pair; healing and breaking them at run time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt as _};
use reqwest::StatusCode;
use sandbox::federation::{
    self, DOWN_ORGIDS, FAULTY_ORGIDS, INTERMITTENT_ORGIDS, ORGID_BROKEN_PROXY, ORGID_INACTIVE,
    ORGID_UNRESPONSIVE, PAIR_DOWN, SLOW_DELAY, SLOW_ORGIDS,
};
use sandbox::IssuerFault;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::*;

/// A signed catalogue form: `clientid`, `ts`, `hmac`, then `extra`.
fn signed(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let hmac = hex::encode(Sha256::digest(
        format!("{CLIENT_SECRET}{CLIENT_ID}{ts}").as_bytes(),
    ));
    let mut form = vec![
        ("clientid".to_owned(), CLIENT_ID.to_owned()),
        ("ts".to_owned(), ts),
        ("hmac".to_owned(), hmac),
    ];
    form.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    form
}

async fn doctype_call(sb: &TestSandbox, orgid: &str) -> reqwest::Response {
    sb.browser
        .post(sb.url("oauth2/1/pull/doctype"))
        .form(&signed(&[("orgid", orgid)]))
        .send()
        .await
        .unwrap()
}

async fn parameters_call(sb: &TestSandbox, orgid: &str, doctype: &str) -> reqwest::Response {
    sb.browser
        .post(sb.url("oauth2/1/pull/parameters"))
        .form(&signed(&[("orgid", orgid), ("doctype", doctype)]))
        .send()
        .await
        .unwrap()
}

/// A pull with made-up but complete parameters for `doctype`.
async fn pull_call(
    sb: &TestSandbox,
    access: &str,
    orgid: &str,
    doctype: &str,
    number: &str,
) -> reqwest::Response {
    let mut form = vec![("orgid", orgid), ("doctype", doctype), ("consent", "Y")];
    match doctype {
        "DRVLC" => form.extend([("dlno", number), ("DOB", "15-08-1990")]),
        "RVCER" => form.extend([("regno", number), ("chasisno", "45678")]),
        "SSCER" | "HSCER" => form.extend([("rroll", number), ("year", "2019")]),
        other => panic!("no parameters known for {other}"),
    }
    sb.browser
        .post(sb.url("oauth2/1/pull/pulldocument"))
        .bearer_auth(access)
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// A citizen whose consent covers pulling DRVLC, RVCER and SSCER (they have
/// one of each already), and their access token.
async fn puller(sb: &TestSandbox) -> String {
    let who = citizen(|c| {
        c.aadhaar.is_some()
            && ["DRVLC", "RVCER", "SSCER"]
                .iter()
                .all(|t| c.documents.iter().any(|d| d.doctype == *t))
    });
    let token = sb.token_for(&who).await;
    token["access_token"].as_str().unwrap().to_owned()
}

async fn doctypes_of(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["doctype"].as_str().unwrap().to_owned())
        .collect()
}

/// A pull the issuer itself answered: no citizen has a record with these
/// made-up numbers, so a working issuer says `404 record_not_found` (its own
/// answer, after DigiLocker reached it), never a repository fault.
async fn issuer_answered(response: reqwest::Response) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("record_not_found")),
        "{body}"
    );
}

#[tokio::test]
async fn down_issuers_fail_every_call_with_their_own_error_and_so_do_their_pulls() {
    let sb = spawn().await;
    let access = puller(&sb).await;
    for (orgid, status, code, doctype) in [
        (
            ORGID_UNRESPONSIVE,
            StatusCode::INTERNAL_SERVER_ERROR,
            "repository_service_unresponsive",
            "DRVLC",
        ),
        (
            ORGID_INACTIVE,
            StatusCode::SERVICE_UNAVAILABLE,
            "repository_service_inactive",
            "DRVLC",
        ),
    ] {
        for _ in 0..5 {
            let response = doctype_call(&sb, orgid).await;
            assert_eq!(
                error_of(response).await,
                (status, code.to_owned()),
                "{orgid}"
            );
        }
        let response = parameters_call(&sb, orgid, doctype).await;
        assert_eq!(error_of(response).await, (status, code.to_owned()));
        for _ in 0..2 {
            let response = pull_call(&sb, &access, orgid, doctype, "AR0120190054321").await;
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], code, "{orgid}: {body}");
            let text = body["error_description"].as_str().unwrap();
            assert!(text.contains(orgid), "names the issuer: {text}");
        }
    }
    // DigiLocker's own checks come first: a bad signature is still a 400.
    let mut form = signed(&[("orgid", ORGID_UNRESPONSIVE)]);
    form[2].1 = "0".repeat(64);
    let response = sb
        .browser
        .post(sb.url("oauth2/1/pull/doctype"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.1, "invalid_parameter");
    // Another state's transport department pulls the same licence fine.
    let karnataka = sandbox::catalogue::transport_orgid("KA").unwrap();
    issuer_answered(pull_call(&sb, &access, &karnataka, "DRVLC", "AR0120190054321").await).await;
}

#[tokio::test]
async fn the_broken_proxy_answers_an_html_page_not_json() {
    let sb = spawn().await;
    let access = puller(&sb).await;
    let responses = [
        doctype_call(&sb, ORGID_BROKEN_PROXY).await,
        doctype_call(&sb, ORGID_BROKEN_PROXY).await,
        parameters_call(&sb, ORGID_BROKEN_PROXY, "SSCER").await,
        pull_call(&sb, &access, ORGID_BROKEN_PROXY, "SSCER", "55501234").await,
    ];
    for response in responses {
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(response.headers()["content-type"], "text/html");
        let page = response.text().await.unwrap();
        assert!(page.starts_with("<html>"), "{page}");
        assert!(page.contains("<title>502 Bad Gateway</title>"), "{page}");
        assert!(serde_json::from_str::<Value>(&page).is_err());
    }
}

#[tokio::test]
async fn one_pair_fails_while_the_issuers_other_doc_types_work() {
    let sb = spawn().await;
    let access = puller(&sb).await;
    let (orgid, broken) = PAIR_DOWN;
    let listed = doctypes_of(doctype_call(&sb, orgid).await).await;
    assert!(listed.iter().any(|d| d == broken), "{listed:?}");
    assert!(listed.iter().any(|d| d == "DRVLC"), "{listed:?}");
    for _ in 0..4 {
        let response = parameters_call(&sb, orgid, broken).await;
        assert_eq!(
            error_of(response).await,
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "repository_service_configerror".into()
            )
        );
        assert_eq!(
            parameters_call(&sb, orgid, "DRVLC").await.status(),
            StatusCode::OK
        );
    }
    let response = pull_call(&sb, &access, orgid, broken, "HP01AB1234").await;
    assert_eq!(error_of(response).await.1, "repository_service_configerror");
    issuer_answered(pull_call(&sb, &access, orgid, "DRVLC", "HP0120190012345").await).await;
}

/// The first `n` answers of an issuer's `pull/doctype`: `None` when it
/// worked, else the error code.
async fn outcomes(sb: &TestSandbox, orgid: &str, n: usize) -> Vec<Option<String>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let response = doctype_call(sb, orgid).await;
        out.push(if response.status() == StatusCode::OK {
            None
        } else {
            let (status, code) = error_of(response).await;
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
            Some(code)
        });
    }
    out
}

#[tokio::test]
async fn intermittent_issuers_fail_some_calls_and_repeat_across_runs() {
    let first = spawn().await;
    let second = spawn().await;
    for (orgid, code) in INTERMITTENT_ORGIDS.iter().zip([
        "repository_service_resperror",
        "repository_service_exception",
    ]) {
        let run = outcomes(&first, orgid, 20).await;
        let failed = run.iter().flatten().count();
        assert!((3..=17).contains(&failed), "{orgid}: {failed} of 20 failed");
        assert!(run.iter().flatten().all(|c| c == code), "{orgid}: {run:?}");
        // Another sandbox, the same sequence: the dice are seeded per issuer.
        assert_eq!(run, outcomes(&second, orgid, 20).await, "{orgid}");
    }
    // Its pulls fail some of the time too.
    let access = puller(&first).await;
    let mut failures = 0;
    for i in 0..16 {
        let number = format!("11{i:06}");
        let response = pull_call(&first, &access, INTERMITTENT_ORGIDS[0], "SSCER", &number).await;
        // The issuer's own answer when it works (no such record), its
        // fault when it does not.
        match error_of(response).await.1.as_str() {
            "record_not_found" => {}
            other => {
                assert_eq!(other, "repository_service_resperror");
                failures += 1;
            }
        }
    }
    assert!((1..16).contains(&failures), "{failures} of 16 pulls failed");
}

#[tokio::test]
async fn the_slow_issuer_takes_its_time_and_others_do_not() {
    let sb = spawn().await;
    let slow = SLOW_ORGIDS[0];
    let started = Instant::now();
    let listed = doctypes_of(doctype_call(&sb, slow).await).await;
    let took = started.elapsed();
    assert!(!listed.is_empty());
    assert!(
        took >= SLOW_DELAY && took < Duration::from_secs(3),
        "{took:?}"
    );
    let started = Instant::now();
    assert_eq!(
        parameters_call(&sb, slow, &listed[0]).await.status(),
        StatusCode::OK
    );
    assert!(started.elapsed() >= SLOW_DELAY);
    let started = Instant::now();
    doctypes_of(doctype_call(&sb, sandbox::catalogue::ORGID_CBSE).await).await;
    assert!(started.elapsed() < SLOW_DELAY, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_parallel_crawl_meets_only_the_documented_faults_and_is_quick() {
    // The gateway tests' catalogue size.
    let sb = spawn_with(|c| {
        c.catalogue_issuers = 60;
        c.catalogue_pairs = 240;
    })
    .await;
    let started = Instant::now();
    let issuers: Value = sb
        .browser
        .post(sb.url("oauth2/1/pull/issuers"))
        .form(&signed(&[]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let orgids: Vec<String> = issuers["issuers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["orgid"].as_str().unwrap().to_owned())
        .filter(|o| !SLOW_ORGIDS.contains(&o.as_str()))
        .collect();
    let sb = &sb;
    let answers: Vec<(String, StatusCode, Vec<String>)> = stream::iter(orgids.clone())
        .map(|orgid| async move {
            let response = doctype_call(sb, &orgid).await;
            let status = response.status();
            let docs = if status == StatusCode::OK {
                doctypes_of(response).await
            } else {
                Vec::new()
            };
            (orgid, status, docs)
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let pairs: Vec<(String, String)> = answers
        .iter()
        .flat_map(|(orgid, _, docs)| docs.iter().map(|d| (orgid.clone(), d.clone())))
        .collect();
    let parameter_answers: Vec<(String, String, StatusCode)> = stream::iter(pairs.clone())
        .map(|(orgid, doctype)| async move {
            let status = parameters_call(sb, &orgid, &doctype).await.status();
            (orgid, doctype, status)
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let elapsed = started.elapsed();
    eprintln!(
        "crawled {} issuers, {} pairs in {elapsed:?}",
        orgids.len(),
        pairs.len()
    );

    let calls = 1 + orgids.len() + pairs.len();
    // The recognisable issuers alone: about 70 issuers, 130 pairs.
    assert!(pairs.len() > 100, "{} pairs", pairs.len());
    // Every call paid at least the default 20 ms, 16 at a time...
    let rounds = u32::try_from(calls.div_ceil(16)).unwrap();
    assert!(
        elapsed >= federation::DEFAULT_CATALOGUE_LATENCY * rounds,
        "{calls} calls in {elapsed:?}"
    );
    // ...and the whole crawl takes a couple of seconds (generous for a busy machine).
    assert!(
        elapsed < Duration::from_secs(8),
        "{calls} calls in {elapsed:?}"
    );
    for (orgid, status, _) in &answers {
        if DOWN_ORGIDS.contains(&orgid.as_str()) {
            assert!(status.is_server_error(), "{orgid} answered {status}");
        } else if !INTERMITTENT_ORGIDS.contains(&orgid.as_str()) {
            assert_eq!(*status, StatusCode::OK, "{orgid}");
        }
    }
    for (orgid, doctype, status) in &parameter_answers {
        if (orgid.as_str(), doctype.as_str()) == PAIR_DOWN {
            assert_eq!(*status, StatusCode::INTERNAL_SERVER_ERROR);
        } else if !INTERMITTENT_ORGIDS.contains(&orgid.as_str()) {
            assert_eq!(*status, StatusCode::OK, "{orgid} {doctype}");
        }
    }
    assert!(parameter_answers
        .iter()
        .any(|(o, d, _)| (o.as_str(), d.as_str()) == PAIR_DOWN));
}

#[tokio::test]
async fn with_no_issuer_faults_every_issuer_is_healthy() {
    let sb = spawn_with(|c| c.issuer_faults.clear()).await;
    assert!(sb.sandbox.issuer_faults().is_empty());
    let access = puller(&sb).await;
    for orgid in FAULTY_ORGIDS {
        let started = Instant::now();
        let docs = doctypes_of(doctype_call(&sb, orgid).await).await;
        assert!(started.elapsed() < SLOW_DELAY, "{orgid} is not slow");
        for doctype in &docs {
            for _ in 0..3 {
                assert_eq!(
                    parameters_call(&sb, orgid, doctype).await.status(),
                    StatusCode::OK,
                    "{orgid} {doctype}"
                );
            }
        }
    }
    let (orgid, doctype) = PAIR_DOWN;
    issuer_answered(pull_call(&sb, &access, orgid, doctype, "HP01AB1234").await).await;
    issuer_answered(pull_call(&sb, &access, ORGID_BROKEN_PROXY, "SSCER", "55501234").await).await;
}

#[tokio::test]
async fn issuers_heal_and_break_through_the_sandbox() {
    let sb = spawn().await;
    assert_eq!(
        sb.sandbox.issuer_faults(),
        federation::default_issuer_faults()
    );
    assert!(doctype_call(&sb, ORGID_INACTIVE)
        .await
        .status()
        .is_server_error());
    // Healed: it recovers at once.
    sb.sandbox.set_issuer_fault(ORGID_INACTIVE, None).unwrap();
    doctypes_of(doctype_call(&sb, ORGID_INACTIVE).await).await;
    assert!(!sb.sandbox.issuer_faults().contains_key(ORGID_INACTIVE));
    // A healthy issuer broken, with an error of our choosing.
    let tripura = sandbox::catalogue::ORGID_AG_TRIPURA;
    doctypes_of(doctype_call(&sb, tripura).await).await;
    sb.sandbox
        .set_issuer_fault(
            tripura,
            Some(IssuerFault::down(503, "repository_service_unpublished")),
        )
        .unwrap();
    assert_eq!(
        error_of(doctype_call(&sb, tripura).await).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "repository_service_unpublished".into()
        )
    );
    // Refused, and nothing changes: an unknown org id, a doc type the
    // issuer does not issue, an invalid rate.
    assert!(sb.sandbox.set_issuer_fault("999999", None).is_err());
    let bad = [
        IssuerFault::down(500, "x").only_doctype("PANCR"),
        IssuerFault::intermittent(1.5, 500, "x"),
    ];
    for fault in bad {
        assert!(sb.sandbox.set_issuer_fault(tripura, Some(fault)).is_err());
    }
    assert!(doctype_call(&sb, tripura).await.status().is_server_error());
    // Every issuer at once.
    sb.sandbox.set_issuer_faults(BTreeMap::new()).unwrap();
    for orgid in DOWN_ORGIDS.iter().chain([&tripura]) {
        doctypes_of(doctype_call(&sb, orgid).await).await;
    }
}

async fn admin(
    sb: &TestSandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = sb.browser.request(method, sb.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn issuers_heal_and_break_over_admin_http() {
    use reqwest::Method;
    let sb = spawn().await;
    let (status, now) = admin(&sb, Method::GET, "admin/faults", None).await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<&String> = now["issuers"].as_object().unwrap().keys().collect();
    assert_eq!(listed.len(), FAULTY_ORGIDS.len(), "{now}");
    assert_eq!(now["issuers"][ORGID_BROKEN_PROXY]["html"], true);
    assert_eq!(now["issuers"][PAIR_DOWN.0]["doctype"], PAIR_DOWN.1);

    // A body without `issuers` (as before issuers had faults) leaves them.
    let (status, _) = admin(&sb, Method::PUT, "admin/faults", Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sb.sandbox.issuer_faults(),
        federation::default_issuer_faults()
    );

    // Heal one.
    let path = format!("admin/faults/issuers/{ORGID_UNRESPONSIVE}");
    let (status, now) = admin(&sb, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(now["issuers"].get(ORGID_UNRESPONSIVE).is_none(), "{now}");
    doctypes_of(doctype_call(&sb, ORGID_UNRESPONSIVE).await).await;
    assert_eq!(admin(&sb, Method::GET, &path, None).await.1, Value::Null);

    // Break it again, another way.
    let fault = json!({"status": 503, "error": "repository_service_unpublished"});
    let (status, _) = admin(&sb, Method::PUT, &path, Some(fault)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        error_of(doctype_call(&sb, ORGID_UNRESPONSIVE).await).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "repository_service_unpublished".into()
        )
    );
    let (_, one) = admin(&sb, Method::GET, &path, None).await;
    assert_eq!(one["status"], 503);
    assert_eq!(one["rate"], 1.0);

    // Invalid bodies are refused and change nothing.
    let before = sb.sandbox.issuer_faults();
    for (path, body) in [
        (path.as_str(), json!({"rate": 2.0})),
        (path.as_str(), json!({"status": 503, "eror": "typo"})),
        ("admin/faults/issuers/999999", json!({})),
        ("admin/faults", json!({"issuers": {"999999": {}}})),
        (
            "admin/faults",
            json!({"issuers": {ORGID_INACTIVE: {"doctype": "PANCR"}}}),
        ),
        // A bad switch beside good issuers: neither is applied.
        ("admin/faults", json!({"issuers": {}, "lag": 5})),
    ] {
        let (status, answer) = admin(&sb, Method::PUT, path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
    }
    assert_eq!(sb.sandbox.issuer_faults(), before);
    let (status, _) = admin(&sb, Method::DELETE, "admin/faults/issuers/999999", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // `issuers: {}` heals every issuer, with the switches in the same body.
    let body = json!({"issuers": {}, "latency": {"ms": 1, "endpoint": "token"}});
    let (status, now) = admin(&sb, Method::PUT, "admin/faults", Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(now["issuers"], json!({}));
    assert_eq!(now["latency"]["ms"], 1);
    for orgid in DOWN_ORGIDS {
        doctypes_of(doctype_call(&sb, orgid).await).await;
    }
}

#[tokio::test]
async fn admin_issuer_routes_need_the_admin_token_when_configured() {
    let sb = spawn_with(|c| c.admin_token = Some("let-me-in".into())).await;
    let path = format!("admin/faults/issuers/{ORGID_INACTIVE}");
    let response = sb.browser.delete(sb.url(&path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(sb.sandbox.issuer_faults().contains_key(ORGID_INACTIVE));
    let response = sb
        .browser
        .delete(sb.url(&path))
        .bearer_auth("let-me-in")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!sb.sandbox.issuer_faults().contains_key(ORGID_INACTIVE));
}
