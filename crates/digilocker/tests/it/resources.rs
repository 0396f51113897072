//! The bearer resource APIs: user, issued files, file, xml, e-Aadhaar.

use digilocker::{Endpoint, Error, ErrorCode, Outcome};
use secrecy::SecretString;

use crate::journey::Decision;
use crate::support::{
    citizen_without_aadhaar, citizen_without_eaadhaar, regular_citizen, TestSandbox,
};

const DD_MM_YYYY: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[day]-[month]-[year]");

fn upstream_code<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, ErrorCode) {
    match result {
        Err(Error::Upstream { status, code, .. }) => (status, code),
        other => panic!("expected an upstream error, got {other:?}"),
    }
}

#[tokio::test]
async fn user_details_match_the_account() {
    let sb = TestSandbox::start().await;
    let citizen = regular_citizen();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let user = sb
        .client()
        .user(&SecretString::from(token.access_token))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        user.digilockerid.as_deref(),
        Some(citizen.digilocker_id.as_str())
    );
    assert_eq!(user.name.as_deref(), Some(citizen.name.as_str()));
    assert_eq!(user.dob, Some(citizen.dob.replace('-', "")));
    assert_eq!(user.gender.as_deref(), Some(citizen.gender.as_str()));
    assert_eq!(user.eaadhaar.as_deref(), Some("Y"));
}

#[tokio::test]
async fn issued_files_lists_exactly_the_consented_documents() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();

    let all = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let files = client
        .issued_files(&SecretString::from(all.access_token))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for doc in &citizen.documents {
        let file = files
            .iter()
            .find(|f| f.uri == doc.uri)
            .unwrap_or_else(|| panic!("{} not listed", doc.uri));
        assert_eq!(file.doctype.as_deref(), Some(doc.doctype.as_str()));
        assert_eq!(file.issuerid.as_deref(), Some(doc.issuerid.as_str()));
        assert_eq!(file.mime, doc.mime);
        assert_eq!(file.name, doc.name);
        // Whatever format the listing used, the parsed date is the issue date.
        assert_eq!(
            file.date_parsed()
                .map(|d| d.format(&DD_MM_YYYY).unwrap_or_default()),
            Some(doc.date.clone()),
            "{:?}",
            file.date
        );
    }
    // The sandbox (like DigiLocker) writes the dates in several formats.
    let shapes: std::collections::BTreeSet<(usize, Option<u8>)> = files
        .iter()
        .filter_map(|f| f.date.as_deref())
        .map(|d| (d.len(), d.as_bytes().get(2).copied()))
        .collect();
    assert!(
        shapes.len() >= 3,
        "{:?}",
        files.iter().map(|f| &f.date).collect::<Vec<_>>()
    );
    assert_eq!(sb.last_record().endpoint, Endpoint::IssuedFiles);

    let one = citizen.documents[0].uri.clone();
    let token = sb
        .token_for(&citizen, Decision::AllowOnly(vec![one.clone()]))
        .await;
    let files = client
        .issued_files(&SecretString::from(token.access_token))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let uris: Vec<&str> = files.iter().map(|f| f.uri.as_str()).collect();
    assert_eq!(uris, [one.as_str()]);
}

#[tokio::test]
async fn file_is_a_pdf_with_a_verified_hmac() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let access = SecretString::from(token.access_token);
    for doc in &citizen.documents {
        let file = client
            .file(&access, &doc.uri)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", doc.uri));
        assert!(file.bytes.starts_with(b"%PDF-"), "{} is not a PDF", doc.uri);
        assert_eq!(file.content_type, "application/pdf");
        let has_xml = doc.mime.iter().any(|m| m == "application/xml");
        assert_eq!(file.hmac_verified, has_xml.then_some(true), "{}", doc.uri);
    }
    // A document without XML data (a vehicle registration, a passbook):
    // DigiLocker (the sandbox with its quirks on) sends it without an hmac
    // header, and that is accepted.
    let holder = sandbox::seed::citizens()
        .into_iter()
        .find(|c| c.has_account && c.documents.iter().any(|d| d.mime == ["application/pdf"]))
        .unwrap_or_else(|| panic!("no holder of a PDF-only document"));
    let token = sb.token_for(&holder, Decision::AllowAsOffered).await;
    let access = SecretString::from(token.access_token);
    let files = client
        .issued_files(&access)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pdf_only = files
        .iter()
        .find(|f| !f.has_xml())
        .unwrap_or_else(|| panic!("no PDF-only document listed"));
    let file = client
        .file(&access, &pdf_only.uri)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", pdf_only.uri));
    assert!(file.bytes.starts_with(b"%PDF-"));
    assert_eq!(file.hmac_verified, None, "no header, nothing verified");
    let record = sb.last_record();
    assert_eq!(
        (record.endpoint, record.outcome, record.status),
        (Endpoint::File, Outcome::Ok, Some(200))
    );
}

#[tokio::test]
async fn xml_where_the_document_has_it() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let access = SecretString::from(token.access_token);
    let with_xml = citizen
        .documents
        .iter()
        .find(|d| d.mime.iter().any(|m| m == "application/xml"))
        .unwrap_or_else(|| panic!("no XML document"));
    let xml = client
        .xml(&access, &with_xml.uri)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(xml.trim_ascii_start().starts_with(b"<"));
    assert_eq!(sb.last_record().endpoint, Endpoint::Xml);

    if let Some(pdf_only) = citizen
        .documents
        .iter()
        .find(|d| !d.mime.iter().any(|m| m == "application/xml"))
    {
        let (status, code) = upstream_code(client.xml(&access, &pdf_only.uri).await);
        assert_eq!((status, code), (404, ErrorCode::InvalidUri));
    }
}

#[tokio::test]
async fn unknown_unconsented_and_hostile_uris() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let citizen = regular_citizen();
    let first = citizen.documents[0].uri.clone();
    let token = sb
        .token_for(&citizen, Decision::AllowOnly(vec![first.clone()]))
        .await;
    let access = SecretString::from(token.access_token);

    let (status, code) = upstream_code(client.file(&access, "in.gov.pan-PANCR-ZZZZZ9999Z").await);
    assert_eq!((status, code), (404, ErrorCode::InvalidUri));

    if let Some(other) = citizen.documents.get(1) {
        // In the locker, but the user did not tick it: as unknown, the only
        // answer DigiLocker's spec lists.
        let (status, code) = upstream_code(client.file(&access, &other.uri).await);
        assert_eq!((status, code), (404, ErrorCode::InvalidUri));
        let (status, code) = upstream_code(client.xml(&access, &other.uri).await);
        assert_eq!((status, code), (404, ErrorCode::InvalidUri));
    }

    // A URI with path navigation stays one segment: DigiLocker (here the
    // sandbox) sees it as an unknown URI, never as another endpoint.
    for hostile in ["../user", "../../2/files/issued", "a/b", "x?y=1#z"] {
        let (status, code) = upstream_code(client.file(&access, hostile).await);
        assert_eq!((status, code), (404, ErrorCode::InvalidUri), "{hostile}");
    }
    for refused in ["", "..", "."] {
        let result = client.file(&access, refused).await;
        assert!(
            matches!(result, Err(Error::InvalidArgument(_))),
            "{refused:?}: {result:?}"
        );
        let record = sb.last_record();
        assert_eq!(
            (record.outcome, record.status),
            (Outcome::InvalidArgument, None)
        );
    }
}

#[tokio::test]
async fn eaadhaar_xml_and_its_errors() {
    let sb = TestSandbox::start().await;
    let client = sb.client();

    let citizen = regular_citizen();
    let token = sb.token_for(&citizen, Decision::AllowAsOffered).await;
    let xml = client
        .eaadhaar(&SecretString::from(token.access_token))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&xml);
    assert!(
        text.contains("<Certificate") && text.contains("<KycRes"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(text.contains("<Signature"), "signed");
    assert_eq!(sb.last_record().endpoint, Endpoint::Eaadhaar);

    // Not ticked on the consent page: no Aadhaar.
    let not_adhar: Vec<String> = citizen
        .documents
        .iter()
        .filter(|d| d.doctype != "ADHAR")
        .map(|d| d.uri.clone())
        .collect();
    let token = sb.token_for(&citizen, Decision::AllowOnly(not_adhar)).await;
    let (status, code) = upstream_code(
        client
            .eaadhaar(&SecretString::from(token.access_token))
            .await,
    );
    assert_eq!((status, code), (404, ErrorCode::AadhaarNotAvailable));

    let token = sb
        .token_for(&citizen_without_aadhaar(), Decision::AllowAsOffered)
        .await;
    let (status, code) = upstream_code(
        client
            .eaadhaar(&SecretString::from(token.access_token))
            .await,
    );
    assert_eq!((status, code), (404, ErrorCode::AadhaarNotLinked));

    let token = sb
        .token_for(&citizen_without_eaadhaar(), Decision::AllowAsOffered)
        .await;
    assert_eq!(token.eaadhaar.as_deref(), Some("N"));
    let (status, code) = upstream_code(
        client
            .eaadhaar(&SecretString::from(token.access_token))
            .await,
    );
    assert_eq!((status, code), (404, ErrorCode::AadhaarNotAvailable));
}

#[tokio::test]
async fn every_bearer_call_rejects_an_unknown_token() {
    let sb = TestSandbox::start().await;
    let client = sb.client();
    let token = SecretString::from("not-a-token");
    let uri = regular_citizen().documents[0].uri.clone();
    let results = [
        (Endpoint::User, client.user(&token).await.map(|_| ())),
        (
            Endpoint::IssuedFiles,
            client.issued_files(&token).await.map(|_| ()),
        ),
        (Endpoint::File, client.file(&token, &uri).await.map(|_| ())),
        (Endpoint::Xml, client.xml(&token, &uri).await.map(|_| ())),
        (
            Endpoint::Eaadhaar,
            client.eaadhaar(&token).await.map(|_| ()),
        ),
        (
            Endpoint::PullDocument,
            client
                .pull_document(&token, "x", "y", &[])
                .await
                .map(|_| ()),
        ),
    ];
    for (endpoint, result) in results {
        let error = result
            .err()
            .unwrap_or_else(|| panic!("{endpoint:?} accepted a bogus token"));
        assert_eq!(
            error.code(),
            Some(&ErrorCode::InvalidToken),
            "{endpoint:?}: {error}"
        );
        assert_eq!(error.status(), Some(401));
        assert!(!error.is_retryable());
    }
    let records = sb.records.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let endpoints: Vec<Endpoint> = records.iter().map(|r| r.endpoint).collect();
    assert_eq!(
        endpoints,
        [
            Endpoint::User,
            Endpoint::IssuedFiles,
            Endpoint::File,
            Endpoint::Xml,
            Endpoint::Eaadhaar,
            Endpoint::PullDocument
        ]
    );
    assert!(records
        .iter()
        .all(|r| r.outcome == Outcome::Upstream(ErrorCode::InvalidToken) && r.status == Some(401)));
}
