//! The signed catalogue calls and pull document.

use digilocker::{
    AuthorizeParams, Endpoint, Error, ErrorCode, Outcome, PullIssuer, PullParameter, PulledDocument,
};
use sandbox::seed::{Citizen, IssuedDoc};
use secrecy::SecretString;

use crate::journey::Decision;
use crate::support::{citizen_without_aadhaar, regular_citizen, TestSandbox};

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
async fn a_crawl_in_parallel_pays_the_catalogue_latency_on_every_call() {
    use futures_util::{stream, StreamExt as _};
    let latency = std::time::Duration::from_millis(40);
    // A healthy federation and no jitter: this is about the latency alone
    // (the failing issuers have tests of their own).
    let sb = TestSandbox::start_with(|c| {
        c.catalogue_latency = latency;
        c.catalogue_latency_jitter = std::time::Duration::ZERO;
        c.issuer_faults.clear();
    })
    .await;
    let client = sb.client();
    let started = std::time::Instant::now();
    let issuers = client
        .pull_issuers()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The gateway's way: 16 calls at a time, each signed when it is made.
    let doctypes: Vec<(String, String)> = stream::iter(issuers.iter())
        .map(|issuer| {
            let client = client.clone();
            async move {
                let docs = client
                    .pull_doctypes(&issuer.orgid)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", issuer.orgid));
                docs.into_iter()
                    .map(|d| (issuer.orgid.clone(), d.doctype))
                    .collect::<Vec<_>>()
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    let parameters = stream::iter(doctypes.iter())
        .map(|(orgid, doctype)| {
            let client = client.clone();
            async move { client.pull_parameters(orgid, doctype).await }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let elapsed = started.elapsed();
    assert!(parameters.iter().all(Result::is_ok));
    let calls = 1 + issuers.len() + doctypes.len();
    // Each call waits its latency, in parallel with the others: at least
    // calls / 16 rounds, and far less than one call after another.
    let rounds = u32::try_from(calls.div_ceil(16)).unwrap_or(u32::MAX);
    assert!(elapsed >= latency * rounds, "{calls} calls in {elapsed:?}");
    assert!(
        elapsed < latency * u32::try_from(calls).unwrap_or(u32::MAX) / 2,
        "{calls} calls in {elapsed:?}: the latency is per call, not a queue"
    );
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

/// A token of `citizen` whose consent covers pulling `doctype` (asked for
/// with `req_doctype`, its box ticked), their own documents shared too.
async fn token_pulling(sb: &TestSandbox, citizen: &Citizen, doctype: &str) -> SecretString {
    let client = sb.client();
    let mut ticked: Vec<String> = citizen.documents.iter().map(|d| d.uri.clone()).collect();
    ticked.push(format!("file.partners/{doctype}"));
    let params = AuthorizeParams {
        req_doctype: vec![doctype.to_owned()],
        ..AuthorizeParams::default()
    };
    let (callback, pkce) = sb
        .consent(&client, citizen, params, Decision::AllowOnly(ticked))
        .await;
    let code = callback.code.unwrap_or_else(|| panic!("no code"));
    let token = client
        .exchange_code(&code, &pkce.verifier)
        .await
        .unwrap_or_else(|e| panic!("exchange: {e}"));
    SecretString::from(token.access_token)
}

/// One of the records an issuer holds for `citizen` and their locker does
/// not: what a pull brings in, found by its parameters.
fn pullable(citizen: &Citizen, doctype: &str) -> IssuedDoc {
    citizen
        .pullable
        .iter()
        .find(|d| d.doctype == doctype)
        .cloned()
        .unwrap_or_else(|| panic!("{} has no {doctype} to pull", citizen.name))
}

#[tokio::test]
async fn a_pulled_document_can_be_fetched() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    // Their class XII mark sheet: CBSE has it, the locker does not.
    let doc = pullable(&citizen, "HSCER");
    let access = token_pulling(&sb, &citizen, "HSCER").await;
    let values = doc.params.clone();

    let uri = client
        .pull_document(&access, &doc.orgid, &doc.doctype, &values)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(uri, doc.uri);
    let record = sb.last_record();
    assert_eq!(
        (record.endpoint, record.outcome, record.status),
        (Endpoint::PullDocument, Outcome::Ok, Some(200))
    );

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

    // The same pull again: it is in the locker now (`uri_exists`), and
    // pull_document_or_existing finds it among the issued documents.
    let (status, code) = upstream_code(
        client
            .pull_document(&access, &doc.orgid, &doc.doctype, &values)
            .await,
    );
    assert_eq!((status, code), (500, ErrorCode::UriExists));
    let found = client
        .pull_document_or_existing(
            &access,
            &doc.orgid,
            Some(&doc.issuerid),
            &doc.doctype,
            &values,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        found,
        PulledDocument {
            uri: uri.clone(),
            already_in_locker: true
        }
    );

    // A returning citizen: a new journey and consent, the same pull.
    let other = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let other = SecretString::from(other.access_token);
    let (status, code) = upstream_code(
        client
            .pull_document(&other, &doc.orgid, &doc.doctype, &values)
            .await,
    );
    assert_eq!((status, code), (500, ErrorCode::UriExists));
    let found = client
        .pull_document_or_existing(
            &other,
            &doc.orgid,
            Some(&doc.issuerid),
            &doc.doctype,
            &values,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.uri, uri);
    assert!(found.already_in_locker);
    client
        .file(&other, &found.uri)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn pulling_a_document_the_citizen_already_holds_finds_it() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    let pan = citizen
        .documents
        .iter()
        .find(|d| d.doctype == "PANCR")
        .unwrap_or_else(|| panic!("no PAN"));
    let number = pan.uri.rsplit('-').next().unwrap_or_default().to_owned();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let access = SecretString::from(token.access_token);
    let params = vec![
        ("panno".to_owned(), number),
        ("PANFullName".to_owned(), citizen.name.clone()),
    ];
    let found = client
        .pull_document_or_existing(&access, &pan.orgid, Some(&pan.issuerid), "PANCR", &params)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        found,
        PulledDocument {
            uri: pan.uri.clone(),
            already_in_locker: true
        }
    );
    // The two calls it took: the pull that said uri_exists, then the listing.
    let records = sb.records.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let tail: Vec<(Endpoint, Outcome)> = records
        .iter()
        .rev()
        .take(2)
        .rev()
        .map(|r| (r.endpoint, r.outcome.clone()))
        .collect();
    assert_eq!(
        tail,
        [
            (
                Endpoint::PullDocument,
                Outcome::Upstream(ErrorCode::UriExists)
            ),
            (Endpoint::IssuedFiles, Outcome::Ok)
        ]
    );
}

#[tokio::test]
async fn pull_scope_and_aadhaar_errors_are_typed() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    let pan_params = vec![
        ("panno".to_owned(), "ZZQPK9876Z".to_owned()),
        ("PANFullName".to_owned(), "Someone".to_owned()),
    ];
    // Nothing shared: pulling a PAN is outside the consent's scope.
    let token = sb.token_for(&citizen, Decision::AllowOnly(vec![])).await;
    let (status, code) = upstream_code(
        client
            .pull_document(
                &SecretString::from(token.access_token),
                sandbox::catalogue::ORGID_INCOME_TAX,
                "PANCR",
                &pan_params,
            )
            .await,
    );
    assert_eq!((status, code), (500, ErrorCode::InvalidDoctype));

    // No Aadhaar linked: the Income Tax Department cannot match the PAN.
    let token = sb
        .token_for(&citizen_without_aadhaar(), Decision::AllowAsOffered)
        .await;
    let result = client
        .pull_document_or_existing(
            &SecretString::from(token.access_token),
            sandbox::catalogue::ORGID_INCOME_TAX,
            Some(sandbox::catalogue::ISSUERID_INCOME_TAX),
            "PANCR",
            &pan_params,
        )
        .await;
    assert_eq!(upstream_code(result), (500, ErrorCode::AadhaarNotLinked));
}

#[tokio::test]
async fn a_slow_issuer_answers_pending_before_it_issues() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    // A passbook EPFO holds for them: EPFO is the sandbox's slow issuer.
    let record = pullable(&citizen, "PRFND");
    assert_eq!(record.orgid, sandbox::catalogue::ORGID_EPFO);
    let access = token_pulling(&sb, &citizen, "PRFND").await;
    let params = record.params.clone();
    let orgid = sandbox::catalogue::ORGID_EPFO;
    for attempt in 1..=2 {
        let error = client
            .pull_document(&access, orgid, "PRFND", &params)
            .await
            .expect_err("the slow issuer is still verifying");
        assert!(error.is_pull_pending(), "attempt {attempt}: {error:?}");
        assert_eq!(error.status(), Some(500));
        assert!(!error.is_retryable(), "not a transport fault: retry later");
    }
    let pulled = client
        .pull_document_or_existing(
            &access,
            orgid,
            Some(sandbox::catalogue::ISSUERID_EPFO),
            "PRFND",
            &params,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!pulled.already_in_locker);
    assert_eq!(pulled.uri, record.uri);
}

#[tokio::test]
async fn a_pull_with_another_citizens_numbers_finds_nothing() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    let access = SecretString::from(
        sb.token_for(&citizen, Decision::AllowAsOffered)
            .await
            .access_token,
    );
    // Another citizen's PAN, with its holder's own name: not this citizen's.
    let other = sandbox::seed::citizens()
        .into_iter()
        .find(|c| {
            c.digilocker_id != citizen.digilocker_id
                && c.documents.iter().any(|d| d.doctype == "PANCR")
        })
        .unwrap_or_else(|| panic!("a second PAN holder"));
    let pan = other
        .documents
        .iter()
        .find(|d| d.doctype == "PANCR")
        .unwrap_or_else(|| panic!("no PAN"));
    let result = client
        .pull_document_or_existing(
            &access,
            &pan.orgid,
            Some(&pan.issuerid),
            "PANCR",
            &pan.params,
        )
        .await;
    assert_eq!(upstream_code(result), (404, ErrorCode::RecordNotFound));
}

/// A doc type that takes parameters, with what is needed to fill them in.
pub struct Pullable {
    pub orgid: String,
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
                    doctype: d.doctype,
                    params,
                };
            }
        }
    }
    panic!("no doc type in the catalogue takes a free-text parameter")
}

#[tokio::test]
async fn doctypes_say_nothing_of_formats_as_digilockers_do() {
    // DigiLocker's `pull/doctype` answer has no `mime`: the formats of a
    // document show only in `files/issued` once it is issued. The client
    // reads the absence as "not said", never as "PDF only".
    let sb = TestSandbox::start_with(|c| c.issuer_faults.clear()).await;
    let client = sb.client();
    let issuers = client
        .pull_issuers()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for issuer in issuers.iter().take(8) {
        let docs = client
            .pull_doctypes(&issuer.orgid)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for doc in docs {
            assert_eq!(doc.mime, None, "{}", doc.doctype);
            assert_eq!(doc.offers_xml(), None, "{}", doc.doctype);
        }
    }
}
