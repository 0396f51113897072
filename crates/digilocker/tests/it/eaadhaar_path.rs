//! Where the e-Aadhaar is: `oauth2/3/xml/eaadhaar` (what DigiLocker serves)
//! or `oauth2/2/xml/eaadhaar` (what its published specification lists). A few
//! lines of axum stand in for an upstream that serves one, the other, or
//! neither, and for one that answers `200` with something that is not an
//! e-Aadhaar.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use digilocker::{CallRecord, Client, Config, Endpoint, Error, ErrorCode, Outcome};
use secrecy::SecretString;
use url::Url;

use crate::journey::Decision;
use crate::support::{regular_citizen, TestSandbox, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI};

const V3: &str = "/public/oauth2/3/xml/eaadhaar";
const V2: &str = "/public/oauth2/2/xml/eaadhaar";
const EAADHAAR: &str = "<?xml version=\"1.0\"?>\n<Certificate><CertificateData/></Certificate>";

/// Serve `router` on 127.0.0.1:0; the client's base is `http://addr/public`.
async fn serve(router: Router) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}/public")
        .parse()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A client recording every call it reports.
fn client(base: Url) -> (Client, Arc<Mutex<Vec<CallRecord>>>) {
    let records = Arc::new(Mutex::new(Vec::new()));
    let seen = records.clone();
    let client = Client::new(Config {
        timeout: Duration::from_secs(5),
        observer: Some(Arc::new(move |r: &CallRecord| {
            seen.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(r.clone())
        })),
        ..Config::new(
            base,
            CLIENT_ID,
            SecretString::from(CLIENT_SECRET),
            REDIRECT_URI.parse().unwrap_or_else(|e| panic!("{e}")),
        )
    })
    .unwrap_or_else(|e| panic!("{e}"));
    (client, records)
}

fn token() -> SecretString {
    SecretString::from("any-token")
}

fn xml_answer() -> Response {
    ([(header::CONTENT_TYPE, "application/xml")], EAADHAAR).into_response()
}

/// An upstream serving the e-Aadhaar only at `/2/`, counting the calls to
/// each path; `/3/` answers what `v3` makes (axum's own 404 when `None`).
fn only_v2(v3: Option<fn() -> Response>) -> (Router, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (hits3, hits2) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (h3, h2) = (hits3.clone(), hits2.clone());
    let mut router = Router::new().route(
        V2,
        get(move || async move {
            h2.fetch_add(1, Ordering::SeqCst);
            xml_answer()
        }),
    );
    if let Some(answer) = v3 {
        router = router.route(
            V3,
            get(move || async move {
                h3.fetch_add(1, Ordering::SeqCst);
                answer()
            }),
        );
    } else {
        router = router.fallback(move || async move {
            h3.fetch_add(1, Ordering::SeqCst);
            StatusCode::NOT_FOUND
        });
    }
    (router, hits3, hits2)
}

#[tokio::test]
async fn a_plain_404_on_v3_falls_back_to_v2_and_the_client_remembers() {
    let (router, hits3, hits2) = only_v2(None);
    let (client, records) = client(serve(router).await);
    assert_eq!(client.eaadhaar_path(), "oauth2/3/xml/eaadhaar");

    let xml = client
        .eaadhaar(&token())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&xml[..], EAADHAAR.as_bytes());
    assert_eq!(
        (hits3.load(Ordering::SeqCst), hits2.load(Ordering::SeqCst)),
        (1, 1)
    );
    assert_eq!(client.eaadhaar_path(), "oauth2/2/xml/eaadhaar");
    // Both attempts were reported: the 404, then the success.
    let seen: Vec<(Endpoint, Option<u16>, Outcome)> = records
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|r| (r.endpoint, r.status, r.outcome.clone()))
        .collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].1, Some(404));
    assert_eq!(seen[1], (Endpoint::Eaadhaar, Some(200), Outcome::Ok));

    // Later calls, and a clone's (the gateway clones its client), go straight to /2/.
    client
        .eaadhaar(&token())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .clone()
        .eaadhaar(&token())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (hits3.load(Ordering::SeqCst), hits2.load(Ordering::SeqCst)),
        (1, 3)
    );
}

#[tokio::test]
async fn an_html_or_generic_json_404_is_no_such_path_too() {
    let html: fn() -> Response = || {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>404 Not Found</h1></body></html>",
        )
            .into_response()
    };
    let generic: fn() -> Response = || {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":"not_found","error_description":"No route"}"#,
        )
            .into_response()
    };
    for v3 in [html, generic] {
        let (router, hits3, hits2) = only_v2(Some(v3));
        let (client, _) = client(serve(router).await);
        client
            .eaadhaar(&token())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (hits3.load(Ordering::SeqCst), hits2.load(Ordering::SeqCst)),
            (1, 1)
        );
        assert_eq!(client.eaadhaar_path(), "oauth2/2/xml/eaadhaar");
    }
}

#[tokio::test]
async fn digilockers_own_404s_about_the_user_are_answers_not_missing_paths() {
    for (status, code) in [
        (404, "aadhaar_not_linked"),
        (404, "aadhaar_not_available"),
        (401, "invalid_token"),
    ] {
        let (h3, h2) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (c3, c2) = (h3.clone(), h2.clone());
        let router = Router::new()
            .route(
                V3,
                get(move || async move {
                    c3.fetch_add(1, Ordering::SeqCst);
                    (
                        StatusCode::from_u16(status).unwrap_or(StatusCode::NOT_FOUND),
                        [(header::CONTENT_TYPE, "application/json")],
                        format!(r#"{{"error":"{code}","error_description":"about the user"}}"#),
                    )
                }),
            )
            .route(
                V2,
                get(move || async move {
                    c2.fetch_add(1, Ordering::SeqCst);
                    xml_answer()
                }),
            );
        let (client, _) = client(serve(router).await);
        let e = client.eaadhaar(&token()).await.unwrap_err();
        assert_eq!(e.code(), Some(&ErrorCode::parse(code)), "{e}");
        assert_eq!(e.status(), Some(status));
        assert_eq!(
            (h3.load(Ordering::SeqCst), h2.load(Ordering::SeqCst)),
            (1, 0),
            "{code}: /2/ must not be tried"
        );
        assert_eq!(client.eaadhaar_path(), "oauth2/3/xml/eaadhaar");
    }
}

#[tokio::test]
async fn when_neither_path_exists_the_404_says_so() {
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let router = Router::new().fallback(move || async move {
        seen.fetch_add(1, Ordering::SeqCst);
        (StatusCode::NOT_FOUND, "")
    });
    let (client, _) = client(serve(router).await);
    let e = client.eaadhaar(&token()).await.unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 2, "both paths tried");
    assert_eq!(e.status(), Some(404));
    let text = e.to_string();
    assert!(
        text.contains("oauth2/3/xml/eaadhaar") && text.contains("oauth2/2/xml/eaadhaar"),
        "{text}"
    );
    assert!(!e.is_retryable());
    assert_eq!(client.eaadhaar_path(), "oauth2/3/xml/eaadhaar");
}

#[tokio::test]
async fn a_remembered_path_that_disappears_sends_the_client_back_to_the_other() {
    // /2/ first, then only /3/ (DigiLocker moving back).
    let moved = Arc::new(AtomicBool::new(false));
    let (m3, m2) = (moved.clone(), moved.clone());
    let router = Router::new()
        .route(
            V3,
            get(move || async move {
                if m3.load(Ordering::SeqCst) {
                    xml_answer()
                } else {
                    StatusCode::NOT_FOUND.into_response()
                }
            }),
        )
        .route(
            V2,
            get(move || async move {
                if m2.load(Ordering::SeqCst) {
                    StatusCode::NOT_FOUND.into_response()
                } else {
                    xml_answer()
                }
            }),
        );
    let (client, _) = client(serve(router).await);
    client
        .eaadhaar(&token())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(client.eaadhaar_path(), "oauth2/2/xml/eaadhaar");
    moved.store(true, Ordering::SeqCst);
    client
        .eaadhaar(&token())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(client.eaadhaar_path(), "oauth2/3/xml/eaadhaar");
}

#[tokio::test]
async fn a_success_that_is_not_an_e_aadhaar_is_malformed() {
    let cases: [(&str, &'static str); 5] = [
        (
            "text/html",
            "<!DOCTYPE html>\n<html><head><title>DigiLocker</title></head><body>Maintenance</body></html>",
        ),
        ("application/json", r#"{"status":"ok"}"#),
        ("application/xml", ""),
        ("application/xml", "<Error><Code>Busy</Code></Error>"),
        ("text/plain", "Service temporarily unavailable"),
    ];
    for (content_type, body) in cases {
        let router = Router::new().route(
            V3,
            get(move || async move { ([(header::CONTENT_TYPE, content_type)], body) }),
        );
        let (client, records) = client(serve(router).await);
        let e = client.eaadhaar(&token()).await.unwrap_err();
        assert!(
            matches!(e, Error::Malformed(_)),
            "{content_type} {body:?}: {e:?}"
        );
        assert!(!e.is_retryable());
        let last = records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .cloned()
            .unwrap_or_else(|| panic!("no call observed"));
        assert_eq!((last.status, last.outcome), (Some(200), Outcome::Malformed));
    }
    // A JSON error in a 200 is DigiLocker's error, typed.
    let router = Router::new().route(V3, get(|| async { r#"{"error":"aadhaar_not_available"}"# }));
    let (client, _) = client(serve(router).await);
    let e = client.eaadhaar(&token()).await.unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::AadhaarNotAvailable));
}

/// The sandbox's switch that makes it serve only the specification's `/2/`
/// path: the real client finds it, end to end.
#[tokio::test]
async fn the_sandbox_serving_only_v2_is_found() {
    let sb = TestSandbox::start().await;
    sb.set_faults(sandbox::Faults {
        eaadhaar_v2_only: true,
        ..sandbox::Faults::default()
    });
    let client = sb.client();
    let token = sb
        .token_for(&regular_citizen(), Decision::AllowAsOffered)
        .await;
    let xml = client
        .eaadhaar(&SecretString::from(token.access_token))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(String::from_utf8_lossy(&xml).contains("<KycRes"));
    assert_eq!(client.eaadhaar_path(), "oauth2/2/xml/eaadhaar");

    // Its other switch: the e-Aadhaar answered with a 200 HTML page.
    sb.set_faults(sandbox::Faults {
        eaadhaar_html: true,
        ..sandbox::Faults::default()
    });
    let token = sb
        .token_for(&regular_citizen(), Decision::AllowAsOffered)
        .await;
    let e = sb
        .client()
        .eaadhaar(&SecretString::from(token.access_token))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Malformed(m) if m.contains("HTML")),
        "{e:?}"
    );
}
