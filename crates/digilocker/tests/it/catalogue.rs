//! The signed catalogue calls and pull document.

use digilocker::{Endpoint, Error, ErrorCode, Outcome, PullIssuer, PullParameter};
use secrecy::SecretString;

use crate::journey::Decision;
use crate::support::{regular_citizen, TestSandbox};

fn upstream_code<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, ErrorCode) {
    match result {
        Err(Error::Upstream { status, code, .. }) => (status, code),
        other => panic!("expected an upstream error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_catalogue_walks_issuers_doctypes_and_parameters() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let issuers = client
        .pull_issuers()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(issuers.len() >= 10, "{} issuers", issuers.len());
    assert!(issuers
        .iter()
        .all(|i| !i.orgid.is_empty() && !i.name.is_empty()));
    assert_eq!(sb.last_record().endpoint, Endpoint::PullIssuers);

    // The recognisable issuers are there, under their real issuer ids.
    let ids: Vec<&str> = issuers
        .iter()
        .filter_map(|i| i.issuerid.as_deref())
        .collect();
    assert!(ids.contains(&"in.gov.pan"), "{ids:?}");

    let mut pairs = 0;
    for issuer in issuers.iter().take(5) {
        let doctypes = client
            .pull_doctypes(&issuer.orgid)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", issuer.orgid));
        assert!(!doctypes.is_empty(), "{} issues nothing", issuer.name);
        for doctype in &doctypes {
            let params = client
                .pull_parameters(&issuer.orgid, &doctype.doctype)
                .await
                .unwrap_or_else(|e| panic!("{}/{}: {e}", issuer.orgid, doctype.doctype));
            assert!(
                params
                    .iter()
                    .all(|p| !p.paramname.is_empty() && !p.label.is_empty()),
                "{params:?}"
            );
            pairs += 1;
        }
    }
    assert!(pairs >= 5);
    let records = sb.records.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(records.iter().any(|r| r.endpoint == Endpoint::PullDoctypes));
    assert!(records
        .iter()
        .any(|r| r.endpoint == Endpoint::PullParameters));
    assert!(records.iter().all(|r| r.outcome == Outcome::Ok));
}

#[tokio::test]
async fn unknown_orgid_and_doctype_are_invalid_parameters() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let (status, code) = upstream_code(client.pull_doctypes("no-such-org").await);
    assert_eq!((status, code), (400, ErrorCode::InvalidParameter));
    let issuers = client
        .pull_issuers()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, code) = upstream_code(client.pull_parameters(&issuers[0].orgid, "NOSUCH").await);
    assert_eq!((status, code), (400, ErrorCode::InvalidParameter));
}

#[tokio::test]
async fn a_bad_signature_or_client_is_rejected() {
    let sb = TestSandbox::start().await;
    let wrong_secret = sb.client_with(|c| c.client_secret = SecretString::from("not-the-secret"));
    let (status, code) = upstream_code(wrong_secret.pull_issuers().await);
    assert_eq!((status, code), (400, ErrorCode::InvalidParameter));

    let unknown = sb.client_with(|c| c.client_id = "nobody".into());
    let (status, code) = upstream_code(unknown.pull_issuers().await);
    assert_eq!((status, code), (401, ErrorCode::InvalidClientId));
    let (status, code) = upstream_code(unknown.pull_doctypes("x").await);
    assert_eq!((status, code), (401, ErrorCode::InvalidClientId));
}

#[tokio::test]
async fn pull_document_errors() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let token = sb
        .token_for(&regular_citizen(), Decision::AllowAsOffered)
        .await;
    let access = SecretString::from(token.access_token);

    let (status, code) = upstream_code(
        client
            .pull_document(&access, "no-such-org", "DRVLC", &[])
            .await,
    );
    assert_eq!((status, code), (500, ErrorCode::InvalidOrgid));

    let issuers = client
        .pull_issuers()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let issuer = &issuers[0];
    let (status, code) = upstream_code(
        client
            .pull_document(&access, &issuer.orgid, "NOSUCH", &[])
            .await,
    );
    assert_eq!((status, code), (500, ErrorCode::InvalidDoctype));

    // The issuer finds no record (the sandbox's rule: a value `NOTFOUND`).
    let pullable = first_pullable(&client, &issuers).await;
    let values = pullable.values(Some("NOTFOUND"));
    let (status, code) = upstream_code(
        client
            .pull_document(&access, &pullable.orgid, &pullable.doctype, &values)
            .await,
    );
    assert_eq!((status, code), (404, ErrorCode::RecordNotFound));
    assert_eq!(sb.last_record().endpoint, Endpoint::PullDocument);

    // A required parameter left out.
    let (status, code) = upstream_code(
        client
            .pull_document(&access, &pullable.orgid, &pullable.doctype, &[])
            .await,
    );
    assert_eq!((status, code), (400, ErrorCode::InvalidParameter));

    // Our own fields cannot be smuggled in as issuer parameters.
    let smuggled = [("consent".to_owned(), "N".to_owned())];
    let result = client
        .pull_document(&access, &pullable.orgid, &pullable.doctype, &smuggled)
        .await;
    assert!(
        matches!(result, Err(Error::InvalidArgument(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_pulled_document_can_be_fetched() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let access = SecretString::from(token.access_token);
    let issuers = client
        .pull_issuers()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pullable = first_pullable(&client, &issuers).await;
    let values = pullable.values(None);

    let uri = client
        .pull_document(&access, &pullable.orgid, &pullable.doctype, &values)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let prefix = format!("{}-{}-", pullable.issuerid, pullable.doctype);
    assert!(
        uri.starts_with(&prefix),
        "{uri} does not start with {prefix}"
    );
    let record = sb.last_record();
    assert_eq!(
        (record.endpoint, record.outcome, record.status),
        (Endpoint::PullDocument, Outcome::Ok, Some(200))
    );

    // The same pull again answers the same URI.
    let again = client
        .pull_document(&access, &pullable.orgid, &pullable.doctype, &values)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, uri);

    // It is now among the issued documents this token sees, and downloadable.
    let files = client
        .issued_files(&access)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(files.iter().any(|f| f.uri == uri), "{uri} not listed");
    let file = client
        .file(&access, &uri)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(file.bytes.starts_with(b"%PDF-"));
    assert_eq!(file.hmac_verified, Some(true));

    // Another grant pulling the same record: it already exists.
    let other = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let (status, code) = upstream_code(
        client
            .pull_document(
                &SecretString::from(other.access_token),
                &pullable.orgid,
                &pullable.doctype,
                &values,
            )
            .await,
    );
    assert_eq!((status, code), (500, ErrorCode::UriExists));
}

/// A doc type that takes parameters, with what is needed to fill them in.
pub struct Pullable {
    pub orgid: String,
    pub issuerid: String,
    pub doctype: String,
    pub params: Vec<PullParameter>,
}

impl Pullable {
    /// A value for every parameter: the first allowed one where the issuer
    /// lists them, else `free` (or the example, or a made-up value).
    pub fn values(&self, free: Option<&str>) -> Vec<(String, String)> {
        self.params
            .iter()
            .map(|p| {
                let listed = p
                    .valuelist
                    .as_ref()
                    .and_then(|v| v.as_array())
                    .and_then(|v| v.first())
                    .and_then(|v| v.as_str());
                let value = match (listed, free) {
                    (Some(v), _) => v.to_owned(),
                    (None, Some(free)) => free.to_owned(),
                    (None, None) => p.example.clone().unwrap_or_else(|| "ABC123".into()),
                };
                (p.paramname.clone(), value)
            })
            .collect()
    }
}

/// The first doc type with at least one free-text parameter.
pub async fn first_pullable(client: &digilocker::Client, issuers: &[PullIssuer]) -> Pullable {
    for issuer in issuers {
        let doctypes = client
            .pull_doctypes(&issuer.orgid)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for d in doctypes {
            let params = client
                .pull_parameters(&issuer.orgid, &d.doctype)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let free_text = params.iter().any(|p| {
                p.valuelist
                    .as_ref()
                    .and_then(|v| v.as_array())
                    .is_none_or(|v| v.is_empty())
            });
            if free_text {
                return Pullable {
                    orgid: issuer.orgid.clone(),
                    issuerid: issuer.issuerid.clone().unwrap_or_default(),
                    doctype: d.doctype,
                    params,
                };
            }
        }
    }
    panic!("no doc type in the catalogue takes a free-text parameter")
}

#[tokio::test]
async fn doctypes_carry_the_sandbox_format_hint() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let issuers = client
        .pull_issuers()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let orgid_of = |issuerid: &str| {
        issuers
            .iter()
            .find(|i| i.issuerid.as_deref() == Some(issuerid))
            .map(|i| i.orgid.clone())
            .unwrap_or_else(|| panic!("no issuer {issuerid}"))
    };
    let formats = |docs: &[digilocker::PullDocType], doctype: &str| {
        docs.iter()
            .find(|d| d.doctype == doctype)
            .map(|d| (d.mime.clone(), d.offers_xml()))
            .unwrap_or_else(|| panic!("no {doctype}"))
    };

    let pan = client
        .pull_doctypes(&orgid_of("in.gov.pan"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        formats(&pan, "PANCR"),
        (
            Some(vec!["application/pdf".into(), "application/xml".into()]),
            Some(true)
        )
    );
    let transport = client
        .pull_doctypes(&orgid_of("in.gov.ka.transport"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(formats(&transport, "DRVLC").1, Some(true));
    assert_eq!(
        formats(&transport, "RVCER"),
        (Some(vec!["application/pdf".into()]), Some(false))
    );
    let tripura = client
        .pull_doctypes(&orgid_of("in.gov.agtripura"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(formats(&tripura, "PRFND").1, Some(false));
}
