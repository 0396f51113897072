//! What the documents look like over HTTP: the catalogue's formats, the rich
//! PDFs, and issuer XML signed by the sandbox's issuer key.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::*;

const PDF: &str = "application/pdf";
const XML: &str = "application/xml";

async fn doctypes(sb: &TestSandbox, orgid: &str) -> Vec<Value> {
    let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let hmac = hex::encode(Sha256::digest(
        format!("{CLIENT_SECRET}{CLIENT_ID}{ts}").as_bytes(),
    ));
    let response = sb
        .browser
        .post(sb.url("oauth2/1/pull/doctype"))
        .form(&[
            ("clientid", CLIENT_ID),
            ("ts", &ts),
            ("hmac", &hmac),
            ("orgid", orgid),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["documents"].as_array().unwrap().clone()
}

#[tokio::test]
async fn doctype_answers_carry_only_doctype_and_description_as_digilockers_do() {
    // DigiLocker's `pull/doctype` says nothing of formats: they show only
    // once a document is issued, in `files/issued`'s `mime`.
    let sb = spawn().await;
    for orgid in [
        sandbox::catalogue::ORGID_INCOME_TAX.to_owned(),
        sandbox::catalogue::ORGID_CBSE.to_owned(),
        sandbox::catalogue::ORGID_AG_TRIPURA.to_owned(),
        sandbox::catalogue::transport_orgid("KA").unwrap(),
    ] {
        let docs = doctypes(&sb, &orgid).await;
        assert!(!docs.is_empty());
        for doc in docs {
            let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["description", "doctype"], "{doc}");
        }
    }
}

/// `xmlsec1 --verify` against one trusted certificate (the sandbox root).
fn verifies(trusted_pem: &str, xml: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("trusted.pem");
    let file = dir.path().join("certificate.xml");
    std::fs::write(&cert, trusted_pem).unwrap();
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("/usr/bin/xmlsec1")
        .arg("--verify")
        .arg("--trusted-pem")
        .arg(&cert)
        .arg(&file)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn served_pdfs_are_rich_and_served_xml_is_signed_by_the_issuer_key() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let token = sb.token_for(&citizen).await;
    let access = token["access_token"].as_str().unwrap();
    let pan = citizen
        .documents
        .iter()
        .find(|d| d.doctype == "PANCR")
        .unwrap();

    let response = sb
        .get_bearer(&format!("oauth2/1/file/{}", pan.uri), access)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let pdf = response.bytes().await.unwrap();
    assert!(
        (50_000..=300_000).contains(&pdf.len()),
        "{} bytes",
        pdf.len()
    );
    assert_eq!(
        pdf.windows(b"/Subtype /Image".len())
            .filter(|w| *w == b"/Subtype /Image")
            .count(),
        3,
        "background, photo and QR code"
    );

    let response = sb
        .get_bearer(&format!("oauth2/1/xml/{}", pan.uri), access)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], XML);
    let xml = response.text().await.unwrap();
    assert!(xml.contains("<CertificateData>"), "{xml}");
    assert!(xml.contains(&format!(
        "<PAN num=\"{}\"",
        sandbox::documents::document_number(pan)
    )));
    // Signed by the Income Tax Department's own certificate, under the same
    // root as the e-Aadhaar: the root alone verifies it.
    assert!(xml.contains("<X509SubjectName>CN=DS SANDBOX INCOME TAX DEPARTMENT,"));
    let root_pem = sb.sandbox.root_ca_pem();
    let (ok, stderr) = verifies(&root_pem, &xml);
    assert!(ok, "{stderr}");
    let tampered = xml.replacen("status=\"Active\"", "status=\"Deleted\"", 1);
    assert_ne!(tampered, xml);
    assert!(!verifies(&root_pem, &tampered).0);

    // Another sandbox on the same data directory has the same root, and the
    // issuer's XML it serves verifies against it.
    let other = spawn().await;
    assert_eq!(other.sandbox.root_ca_pem(), root_pem);
    let access = other.token_for(&citizen).await;
    let access = access["access_token"].as_str().unwrap();
    let again = other
        .get_bearer(&format!("oauth2/1/xml/{}", pan.uri), access)
        .await
        .text()
        .await
        .unwrap();
    assert!(verifies(&root_pem, &again).0);
}

#[tokio::test]
async fn a_pulled_document_comes_in_the_formats_its_doc_type_lists() {
    // No slow issuer: EPFO answers at once here.
    let sb = spawn_with(|c| c.slow_issuers.clear()).await;
    let who = happy_citizen();
    // Pulls need the doc type in the user's consent: ask for both, tick all.
    let access = token_ticking(&sb, &who, &[("req_doctype", "HSCER,PRFND")], |_, _| true).await;
    let access = access.as_str();
    let pull = |record: &sandbox::seed::IssuedDoc| {
        let sb = &sb;
        let mut fields: Vec<(String, String)> = vec![
            ("orgid".into(), record.orgid.clone()),
            ("doctype".into(), record.doctype.clone()),
            ("consent".into(), "Y".to_owned()),
        ];
        fields.extend(record.params.iter().cloned());
        async move {
            let response = sb
                .browser
                .post(sb.url("oauth2/1/pull/pulldocument"))
                .bearer_auth(access)
                .form(&fields)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert_eq!(status, StatusCode::OK, "{body}");
            body["uri"].as_str().unwrap().to_owned()
        }
    };
    let record = |doctype: &str| who.pullable.iter().find(|d| d.doctype == doctype).unwrap();
    let marksheet = pull(record("HSCER")).await;
    let passbook = pull(record("PRFND")).await;

    let issued: Value = sb
        .get_bearer("oauth2/2/files/issued", access)
        .await
        .json()
        .await
        .unwrap();
    let item = |uri: &str| {
        issued["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["uri"] == uri)
            .cloned()
            .unwrap_or_else(|| panic!("{uri} not listed"))
    };
    assert_eq!(item(&marksheet)["mime"], serde_json::json!([PDF, XML]));
    assert_eq!(item(&passbook)["mime"], serde_json::json!([PDF]));

    let response = sb
        .get_bearer(&format!("oauth2/1/xml/{marksheet}"), access)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let xml = response.text().await.unwrap();
    assert!(xml.contains("rollNumber=\"4123456\""), "{xml}");
    assert!(xml.contains("<Subject "), "{xml}");
    assert!(verifies(&sb.sandbox.root_ca_pem(), &xml).0);

    let response = sb
        .get_bearer(&format!("oauth2/1/xml/{passbook}"), access)
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, "invalid_uri".into())
    );
}
