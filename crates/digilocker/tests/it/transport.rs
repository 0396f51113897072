//! What the sandbox cannot make DigiLocker do: refused connections,
//! redirects, bare error pages, endless bodies. A few lines of axum stand in
//! for a misbehaving upstream (or a proxy in front of it).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use digilocker::{Client, Config, Endpoint, Error, ErrorCode, Outcome};
use secrecy::SecretString;
use url::Url;

use crate::journey::Decision;
use crate::support::{regular_citizen, TestSandbox, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI};

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

fn client(base: Url) -> Client {
    Client::new(Config {
        timeout: Duration::from_secs(5),
        ..Config::new(
            base,
            CLIENT_ID,
            SecretString::from(CLIENT_SECRET),
            REDIRECT_URI.parse().unwrap_or_else(|e| panic!("{e}")),
        )
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn token() -> SecretString {
    SecretString::from("any-token")
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    drop(listener);
    let records = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = records.clone();
    let client = client(
        format!("http://{addr}/public")
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .with_observer(Arc::new(move |r| {
        seen.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(r.clone())
    }));
    let error = client
        .user(&token())
        .await
        .err()
        .unwrap_or_else(|| panic!("connected?"));
    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    assert!(error.is_retryable());
    let records = records.lock().unwrap_or_else(|p| p.into_inner());
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].endpoint, &records[0].outcome, records[0].status),
        (Endpoint::User, &Outcome::Transport, None)
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let base = serve(
        Router::new()
            .route(
                "/public/oauth2/1/user",
                get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/elsewhere")]) }),
            )
            .route(
                "/elsewhere",
                get(move || async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    axum::Json(serde_json::json!({"digilockerid": "x"}))
                }),
            ),
    )
    .await;
    let error = client(base)
        .user(&token())
        .await
        .err()
        .unwrap_or_else(|| panic!("followed"));
    assert!(
        matches!(&error, Error::Upstream { status: 302, code: ErrorCode::Other(t), .. } if t == "Found"),
        "{error:?}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the bearer token went to the redirect target"
    );
}

#[tokio::test]
async fn a_bare_error_page_is_typed_by_its_status() {
    let base = serve(Router::new().route(
        "/public/oauth2/2/files/issued",
        get(|| async {
            (
                StatusCode::BAD_GATEWAY,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>502 Bad Gateway</body></html>",
            )
        }),
    ))
    .await;
    let error = client(base)
        .issued_files(&token())
        .await
        .err()
        .unwrap_or_else(|| panic!("ok?"));
    match &error {
        Error::Upstream {
            status,
            code,
            description,
        } => {
            assert_eq!(*status, 502);
            assert_eq!(code, &ErrorCode::Other("Bad Gateway".into()));
            assert_eq!(description, &None);
        }
        other => panic!("{other:?}"),
    }
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_success_status_carrying_an_error_is_an_error() {
    let base = serve(Router::new().route(
        "/public/oauth2/1/user",
        get(|| async {
            axum::Json(serde_json::json!({
                "error": "invalid_token",
                "error_description": "The access token is invalid"
            }))
        }),
    ))
    .await;
    let error = client(base)
        .user(&token())
        .await
        .err()
        .unwrap_or_else(|| panic!("ok?"));
    assert!(
        matches!(
            &error,
            Error::Upstream {
                status: 200,
                code: ErrorCode::InvalidToken,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_limit() {
    // Chunked, no Content-Length: the limit must hold while streaming.
    let base = serve(Router::new().route(
        "/public/oauth2/1/user",
        get(|| async {
            let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
            let stream =
                futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            (
                [(header::CONTENT_TYPE, "application/json")],
                Body::from_stream(stream),
            )
                .into_response()
        }),
    ))
    .await;
    let error = client(base)
        .user(&token())
        .await
        .err()
        .unwrap_or_else(|| panic!("ok?"));
    assert!(
        matches!(&error, Error::Malformed(m) if m.contains("limit")),
        "{error:?}"
    );
}

#[tokio::test]
async fn bodies_over_the_configured_limits_are_refused() {
    let sb = TestSandbox::start().await;
    let citizen = regular_citizen();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let small = sb.client_with(|c| {
        c.max_json_bytes = 256;
        c.max_file_bytes = 256;
    });
    assert!(matches!(small.pull_issuers().await, Err(Error::Malformed(m)) if m.contains("limit")));
    let result = small
        .file(
            &SecretString::from(token.access_token),
            &citizen.documents[0].uri,
        )
        .await;
    assert!(
        matches!(&result, Err(Error::Malformed(m)) if m.contains("limit")),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_path_outside_the_api_gets_a_bare_404_typed_by_its_status() {
    // Outside the sandbox's base path axum answers a bare 404, as a proxy or
    // a wrongly configured base URL would.
    let sb = TestSandbox::start().await;
    let wrong = sb.client_with(|c| {
        c.base_url = c
            .base_url
            .join("/not-public")
            .unwrap_or_else(|e| panic!("{e}"));
    });
    let error = wrong
        .pull_issuers()
        .await
        .err()
        .unwrap_or_else(|| panic!("ok?"));
    assert_eq!(error.status(), Some(404));
    assert_eq!(error.code(), Some(&ErrorCode::Other("Not Found".into())));
}

#[tokio::test]
async fn a_body_cut_off_after_the_headers_is_malformed() {
    // Promise 4 KiB, send half, give hyper time to flush it, then fail the
    // stream so the connection closes mid-body.
    let base = serve(Router::new().route(
        "/public/oauth2/1/user",
        get(|| async {
            let steps = futures_util::stream::unfold(0u8, |step| async move {
                match step {
                    0 => Some((Ok(bytes::Bytes::from(vec![b' '; 2048])), 1)),
                    1 => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Some((Err(std::io::Error::other("cut")), 2))
                    }
                    _ => None,
                }
            });
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CONTENT_LENGTH, "4096"),
                ],
                Body::from_stream(steps),
            )
                .into_response()
        }),
    ))
    .await;
    let error = client(base)
        .user(&token())
        .await
        .err()
        .unwrap_or_else(|| panic!("ok?"));
    assert!(
        matches!(&error, Error::Malformed(m) if m.contains("cut off")),
        "{error:?}"
    );
}
