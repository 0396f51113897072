//! The sandbox's fault switches: slow, hung, broken and failing answers.

use std::time::{Duration, Instant};

use digilocker::{Endpoint, Error, ErrorCode, Outcome};
use sandbox::faults::Endpoint as At;
use sandbox::{ErrorFault, Faults, HangFault, LatencyFault, ScopedFault};
use secrecy::SecretString;

use crate::journey::Decision;
use crate::support::{regular_citizen, TestSandbox};

fn scoped(endpoint: At) -> Option<ScopedFault> {
    Some(ScopedFault { endpoint })
}

#[tokio::test]
async fn latency_past_the_timeout_is_a_timeout() {
    let sb = TestSandbox::start().await;
    sb.set_faults(Faults {
        latency: Some(LatencyFault {
            ms: 3_000,
            endpoint: At::Issuers,
        }),
        ..Faults::default()
    });
    let client = sb.client_with(|c| c.timeout = Duration::from_millis(400));
    let started = Instant::now();
    let result = client.pull_issuers().await;
    let elapsed = started.elapsed();
    assert!(matches!(result, Err(Error::Timeout)), "{result:?}");
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed < Duration::from_millis(2_500),
        "{elapsed:?}"
    );
    let record = sb.last_record();
    assert_eq!(
        (record.endpoint, record.outcome, record.status),
        (Endpoint::PullIssuers, Outcome::Timeout, None)
    );
    assert!(Error::Timeout.is_retryable());

    // Other endpoints are not slowed.
    assert!(client
        .pull_doctypes("x")
        .await
        .is_err_and(|e| e.code().is_some()));
}

#[tokio::test]
async fn latency_within_the_timeout_only_slows_the_call() {
    let sb = TestSandbox::start().await;
    sb.set_faults(Faults {
        latency: Some(LatencyFault {
            ms: 300,
            endpoint: At::Issuers,
        }),
        ..Faults::default()
    });
    let issuers = sb
        .client()
        .pull_issuers()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!issuers.is_empty());
    let record = sb.last_record();
    assert_eq!(record.outcome, Outcome::Ok);
    assert!(
        record.duration >= Duration::from_millis(300),
        "{:?}",
        record.duration
    );
}

#[tokio::test]
async fn a_hung_upstream_is_a_timeout() {
    let sb = TestSandbox::start().await;
    let citizen = regular_citizen();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let access = SecretString::from(token.access_token);
    sb.set_faults(Faults {
        hang: Some(HangFault {
            secs: 3_600,
            endpoint: At::All,
        }),
        ..Faults::default()
    });
    let client = sb.client_with(|c| c.timeout = Duration::from_millis(300));
    assert!(matches!(client.user(&access).await, Err(Error::Timeout)));
    assert!(matches!(
        client.file(&access, &citizen.documents[0].uri).await,
        Err(Error::Timeout)
    ));
    assert!(matches!(client.pull_issuers().await, Err(Error::Timeout)));
    assert!(matches!(
        client
            .revoke(&access, digilocker::TokenHint::AccessToken)
            .await,
        Err(Error::Timeout)
    ));
}

#[tokio::test]
async fn malformed_json_is_malformed() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    let (callback, pkce) = sb
        .consent(
            &client,
            &citizen,
            Default::default(),
            Decision::AllowAsOffered,
        )
        .await;
    sb.set_faults(Faults {
        malformed: scoped(At::All),
        ..Faults::default()
    });

    let result = client
        .exchange_code(callback.code.as_deref().unwrap_or_default(), &pkce.verifier)
        .await;
    assert!(matches!(result, Err(Error::Malformed(_))), "{result:?}");
    let record = sb.last_record();
    assert_eq!(
        (record.endpoint, record.outcome, record.status),
        (Endpoint::ExchangeCode, Outcome::Malformed, Some(200))
    );
    assert!(matches!(
        client.pull_issuers().await,
        Err(Error::Malformed(_))
    ));
}

#[tokio::test]
async fn malformed_documents_are_caught() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let access = SecretString::from(token.access_token);
    sb.set_faults(Faults {
        malformed: scoped(At::All),
        ..Faults::default()
    });

    // The PDF is replaced by junk; the hmac header still describes the original.
    let result = client.file(&access, &citizen.documents[0].uri).await;
    assert!(matches!(result, Err(Error::HmacMismatch)), "{result:?}");
    assert_eq!(sb.last_record().outcome, Outcome::HmacMismatch);

    let with_xml = citizen
        .documents
        .iter()
        .find(|d| d.mime.iter().any(|m| m == "application/xml"))
        .unwrap_or_else(|| panic!("no XML document"));
    let result = client.xml(&access, &with_xml.uri).await;
    assert!(matches!(result, Err(Error::Malformed(_))), "{result:?}");
    let result = client.eaadhaar(&access).await;
    assert!(matches!(result, Err(Error::Malformed(_))), "{result:?}");
    let result = client.issued_files(&access).await;
    assert!(matches!(result, Err(Error::Malformed(_))), "{result:?}");
}

#[tokio::test]
async fn truncated_bodies_are_malformed() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let access = SecretString::from(token.access_token);
    sb.set_faults(Faults {
        truncated: scoped(At::All),
        ..Faults::default()
    });

    // The sandbox cuts the body and drops the connection. Whether hyper had
    // flushed the status line by then depends on buffering: a cut after the
    // head is `Malformed`, a cut before it is `Transport` (nothing arrived).
    // Either way no partial answer may come out as data.
    // (`transport::a_body_cut_off_after_the_headers_is_malformed` pins the first case.)
    for (what, result) in [
        ("issuers", client.pull_issuers().await.map(|_| ())),
        ("user", client.user(&access).await.map(|_| ())),
        (
            "file",
            client
                .file(&access, &citizen.documents[0].uri)
                .await
                .map(|_| ()),
        ),
        ("eaadhaar", client.eaadhaar(&access).await.map(|_| ())),
    ] {
        assert!(
            matches!(result, Err(Error::Malformed(_) | Error::Transport(_))),
            "{what}: {result:?}"
        );
    }
}

/// Every documented error, injected, comes back typed with its status.
#[tokio::test]
async fn injected_errors_are_typed() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let documented = [
        (400, "uri_missing", ErrorCode::UriMissing),
        (401, "invalid_token", ErrorCode::InvalidToken),
        (404, "invalid_uri", ErrorCode::InvalidUri),
        (404, "invalid_id", ErrorCode::InvalidId),
        (404, "aadhaar_not_linked", ErrorCode::AadhaarNotLinked),
        (404, "aadhaar_not_available", ErrorCode::AadhaarNotAvailable),
        (404, "record_not_found", ErrorCode::RecordNotFound),
        (
            400,
            "repository_service_configerror",
            ErrorCode::RepositoryServiceConfigerror,
        ),
        (500, "invalid_orgid", ErrorCode::InvalidOrgid),
        (500, "invalid_doctype", ErrorCode::InvalidDoctype),
        (500, "pull_response_pending", ErrorCode::PullResponsePending),
        (500, "uri_exists", ErrorCode::UriExists),
        (400, "invalid_parameter", ErrorCode::InvalidParameter),
        (401, "invalid_client_id", ErrorCode::InvalidClientId),
        (500, "unexpected_error", ErrorCode::UnexpectedError),
        (
            500,
            "repository_service_unresponsive",
            ErrorCode::RepositoryServiceUnresponsive,
        ),
        (
            500,
            "repository_service_resperror",
            ErrorCode::RepositoryServiceResperror,
        ),
        (
            500,
            "repository_service_exception",
            ErrorCode::RepositoryServiceException,
        ),
        (
            503,
            "repository_service_inactive",
            ErrorCode::RepositoryServiceInactive,
        ),
        (
            503,
            "repository_service_unpublished",
            ErrorCode::RepositoryServiceUnpublished,
        ),
        (400, "invalid_grant", ErrorCode::InvalidGrant),
        (401, "invalid_client", ErrorCode::InvalidClient),
        (
            500,
            "partner_service_unresponsive",
            ErrorCode::Other("partner_service_unresponsive".into()),
        ),
    ];
    for (status, error, expected) in documented {
        sb.set_faults(Faults {
            error: Some(ErrorFault {
                html: false,
                rate: 1.0,
                status,
                error: error.into(),
                error_description: Some(format!("injected {error}")),
                endpoint: At::Pull,
            }),
            ..Faults::default()
        });
        match client.pull_issuers().await {
            Err(Error::Upstream {
                status: got,
                code,
                description,
            }) => {
                assert_eq!((got, &code), (status, &expected), "{error}");
                assert_eq!(description, Some(format!("injected {error}")));
            }
            other => panic!("{error}: {other:?}"),
        }
        assert_eq!(sb.last_record().outcome, Outcome::Upstream(expected));
    }
}

#[tokio::test]
async fn an_injected_error_on_a_file_download_is_typed() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    sb.set_faults(Faults {
        error: Some(ErrorFault {
            html: false,
            rate: 1.0,
            status: 503,
            error: "repository_service_inactive".into(),
            error_description: None,
            endpoint: At::File,
        }),
        ..Faults::default()
    });
    let error = client
        .file(
            &SecretString::from(token.access_token),
            &citizen.documents[0].uri,
        )
        .await
        .err()
        .unwrap_or_else(|| panic!("the fault did not apply"));
    assert_eq!(error.code(), Some(&ErrorCode::RepositoryServiceInactive));
    assert_eq!(error.status(), Some(503));
    assert!(error.is_retryable());
}

#[tokio::test]
async fn faults_set_over_http_apply() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let admin = format!("{}/admin/faults", sb.base);
    let http = reqwest::Client::new();
    let put = |body: &'static str| {
        http.put(admin.clone())
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let answer = put(r#"{"error":{"rate":1.0,"status":503,"error":"repository_service_unpublished","endpoint":"user"}}"#)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(answer.status().is_success(), "{}", answer.status());
    let bogus = SecretString::from("not-a-token");
    let error = client
        .user(&bogus)
        .await
        .err()
        .unwrap_or_else(|| panic!("no error"));
    assert_eq!(error.code(), Some(&ErrorCode::RepositoryServiceUnpublished));

    let answer = put("{}").await.unwrap_or_else(|e| panic!("{e}"));
    assert!(answer.status().is_success());
    let error = client
        .user(&bogus)
        .await
        .err()
        .unwrap_or_else(|| panic!("no error"));
    assert_eq!(
        error.code(),
        Some(&ErrorCode::InvalidToken),
        "switches cleared"
    );
}
