//! `GET /api/digilocker/{id}/verified`: issued documents read from their issuers' XML,
//! verified against the sandbox root, and compared with the e-Aadhaar.

use serde_json::Value;

use crate::harness::{assert_error, citizen, TestApp};

const LISTED: [(&str, &str); 5] = [
    ("PANCR", "pan"),
    ("DRVLC", "drivingLicence"),
    ("RVCER", "vehicleRegistration"),
    ("SSCER", "marksheet"),
    ("HSCER", "marksheet"),
];

async fn verified(t: &TestApp, id: &str, query: &str) -> Value {
    let (s, v) = t
        .get(&format!("/api/digilocker/{id}/verified{query}"), &t.creds)
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

fn document<'a>(v: &'a Value, doc_type: &str) -> &'a Value {
    v["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["docType"] == doc_type)
        .unwrap_or_else(|| panic!("no {doc_type} in {v}"))
}

/// Rajesh Manubhai Patel holds every listed doc type: each is read into its typed data
/// with `signature: true`, chained to the sandbox root through the issuer's own
/// certificate, and agrees with his e-Aadhaar (his mark sheets put the family name first).
#[tokio::test]
async fn every_listed_doc_type_is_read_verified_and_matches_the_aadhaar() {
    let t = TestApp::spawn().await;
    let rajesh = citizen(|c| c.name == "Rajesh Manubhai Patel");
    let id = t.consented(&rajesh, &[]).await;
    let v = verified(&t, &id, "?docTypes=PANCR,DRVLC,RVCER,SSCER,HSCER").await;
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["aadhaar"]["signature"], true, "{v}");
    assert_eq!(v["aadhaar"]["holder"]["name"], "Rajesh Manubhai Patel");
    assert_eq!(v["aadhaar"]["holder"]["dateOfBirth"], "1965-12-25");
    assert_eq!(v["documents"].as_array().unwrap().len(), 5, "{v}");
    for (doc_type, kind) in LISTED {
        let d = document(&v, doc_type);
        let seeded = rajesh
            .documents
            .iter()
            .find(|s| s.doctype == doc_type)
            .unwrap();
        assert_eq!(d["uri"], seeded.uri.as_str());
        assert_eq!(d["verification"]["signature"], true, "{doc_type}: {d}");
        let chain = d["verification"]["chain"].as_array().unwrap();
        assert_eq!(chain.len(), 4, "{doc_type}: {d}");
        assert!(chain[0].as_str().unwrap().contains("CN=DS SANDBOX"), "{d}");
        assert!(
            chain[3]
                .as_str()
                .unwrap()
                .contains("Sandbox CCA India Root"),
            "{d}"
        );
        assert_eq!(d["reading"]["docType"], doc_type);
        assert_eq!(d["reading"]["details"]["kind"], kind, "{d}");
        assert_eq!(
            d["aadhaarComparison"]["consistent"], true,
            "{doc_type}: {d}"
        );
        assert!(d["reason"].is_null());
        // The file read is the one behind the link.
        let resp = t
            .http
            .get(d["file"]["fileUrl"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.text().await.unwrap().contains("<CertificateData>"));
    }
    let pan = &document(&v, "PANCR")["reading"];
    let seeded_pan = rajesh
        .documents
        .iter()
        .find(|d| d.doctype == "PANCR")
        .unwrap();
    assert_eq!(
        pan["number"],
        sandbox::documents::document_number(seeded_pan).as_str()
    );
    assert_eq!(pan["details"]["pan"], pan["number"]);
    let dl = &document(&v, "DRVLC")["reading"]["details"];
    let classes: Vec<&str> = dl["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(classes, ["LMV", "MCWG", "TRANS"]);
    assert_eq!(dl["validTill"], "2030-12-24");
    let rc = &document(&v, "RVCER")["reading"]["details"];
    assert_eq!(rc["registrationNumber"], "GJ01RP4321");
    assert_eq!(rc["maker"], "Maruti Suzuki");
    let ssc = &document(&v, "SSCER");
    assert_eq!(ssc["reading"]["details"]["year"], "1981");
    assert_eq!(ssc["aadhaarComparison"]["name"]["verdict"], "match");
    assert_eq!(
        ssc["aadhaarComparison"]["name"]["explanation"][0],
        "the same names in another order"
    );
    // Five documents, ten pairs, all consistent.
    assert_eq!(v["comparisons"].as_array().unwrap().len(), 10);
    assert_eq!(v["consistent"], true, "{v}");

    // Without a filter the PDF-only passbook is there too, with its file link and the
    // reason it cannot be read; then the whole is not "consistent".
    let all = verified(&t, &id, "").await;
    let pf = document(&all, "PRFND");
    assert!(pf["file"]["fileUrl"].as_str().unwrap().starts_with("http"));
    assert!(pf["reading"].is_null() && pf["verification"].is_null());
    assert!(pf["reason"]
        .as_str()
        .unwrap()
        .contains("no certificate data"));
    assert_eq!(all["consistent"], false);
}

/// The seed's two citizens who disagree with their Aadhaar on purpose are flagged, with
/// the reason; their other documents still pass.
#[tokio::test]
async fn mismatching_citizens_are_flagged_and_matching_ones_pass() {
    let t = TestApp::spawn().await;
    let ananya = citizen(|c| c.name == "Ananya Chatterjee");
    let id = t.consented(&ananya, &[]).await;
    let v = verified(&t, &id, "").await;
    let pan = document(&v, "PANCR");
    assert_eq!(pan["verification"]["signature"], true);
    let name = &pan["aadhaarComparison"]["name"];
    assert_eq!(name["verdict"], "partial", "{pan}");
    assert!(name["explanation"][0]
        .as_str()
        .unwrap()
        .contains("spelled differently"));
    assert_eq!(pan["aadhaarComparison"]["consistent"], false);
    assert_eq!(pan["aadhaarComparison"]["dateOfBirth"]["verdict"], "match");
    let ssc = document(&v, "SSCER");
    assert_eq!(ssc["aadhaarComparison"]["consistent"], true, "{ssc}");
    assert_eq!(v["consistent"], false);

    let gurpreet = citizen(|c| c.name == "Gurpreet Kaur Sandhu");
    let id = t.consented(&gurpreet, &[]).await;
    let v = verified(&t, &id, "?docTypes=DRVLC,RVCER").await;
    let dl = document(&v, "DRVLC");
    assert_eq!(dl["verification"]["signature"], true);
    let dob = &dl["aadhaarComparison"]["dateOfBirth"];
    assert_eq!(dob["verdict"], "mismatch", "{dl}");
    assert_eq!(dob["explanation"], "another day or month");
    assert_eq!(dl["aadhaarComparison"]["name"]["verdict"], "match");
    // Her vehicle registration is PDF only: a link and a reason.
    let rc = document(&v, "RVCER");
    assert!(rc["reason"]
        .as_str()
        .unwrap()
        .contains("no certificate data"));
    assert!(rc["file"]["fileUrl"].is_string());
    assert_eq!(v["consistent"], false);
}

/// Trusting another root, the same genuine documents are read but not verified, and the
/// e-Aadhaar is not either: nothing is compared.
#[tokio::test]
async fn documents_signed_under_an_untrusted_root_are_not_verified() {
    let other = tempfile::tempdir().unwrap();
    let authority = sandbox::signing::SigningAuthority::load_or_create(other.path()).unwrap();
    let pem = other.path().join("other-root.pem");
    std::fs::write(&pem, authority.root_pem()).unwrap();
    let t = TestApp::spawn_with(|c| c.trust_anchors = Some(pem.clone())).await;
    let ramesh = crate::harness::happy_citizen();
    let id = t.consented(&ramesh, &[]).await;
    let v = verified(&t, &id, "?docTypes=PANCR").await;
    assert_eq!(v["aadhaar"]["signature"], false);
    assert!(v["aadhaar"]["holder"].is_null());
    let pan = document(&v, "PANCR");
    assert_eq!(pan["verification"]["signature"], false);
    assert!(pan["verification"]["reason"]
        .as_str()
        .unwrap()
        .contains("not trusted"));
    assert_eq!(pan["reading"]["docType"], "PANCR");
    assert!(pan["aadhaarComparison"].is_null());
    assert_eq!(v["consistent"], false);
    // Its PDF's signature neither: the same chain, the same verdict.
    let v = verified(&t, &id, "?docTypes=PANCR&pdfSignatures=true").await;
    let pdf = &document(&v, "PANCR")["pdfSignature"];
    assert_eq!(pdf["status"], "invalid", "{pdf}");
    assert_eq!(pdf["problem"], "untrusted_chain");
    assert!(
        pdf["reason"].as_str().unwrap().contains("not trusted"),
        "{pdf}"
    );
    assert!(pdf["chain"].is_null());
}

/// PDF signatures: a document held only as a PDF has its PDF checked (Gurpreet's vehicle
/// registration is signed by its transport department, Rajesh's EPFO passbook is not);
/// one read from its XML has its PDF checked only when asked (`pdfSignatures=true`), and
/// is signed by the very certificate that signs its XML.
#[tokio::test]
async fn signed_pdfs_are_reported_verified_with_the_issuers_subject_and_others_unsigned() {
    let t = TestApp::spawn().await;
    let gurpreet = citizen(|c| c.name == "Gurpreet Kaur Sandhu");
    let id = t.consented(&gurpreet, &[]).await;
    let v = verified(&t, &id, "?docTypes=DRVLC,RVCER").await;
    let rc = document(&v, "RVCER");
    let pdf = &rc["pdfSignature"];
    assert_eq!(pdf["status"], "verified", "{rc}");
    assert_eq!(pdf["signatures"], 1);
    let signer = pdf["signer"].as_str().unwrap();
    assert!(
        signer.starts_with("CN=DS SANDBOX TRANSPORT DEPARTMENT"),
        "{signer}"
    );
    let chain = pdf["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 4, "{pdf}");
    assert_eq!(chain[0], signer);
    assert!(chain[3]
        .as_str()
        .unwrap()
        .contains("Sandbox CCA India Root"));
    assert!(pdf["signingTime"].is_string() && pdf["reason"].is_null());
    // The PDF behind the link is the one checked.
    let resp = t
        .http
        .get(rc["file"]["fileUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert!(resp
        .bytes()
        .await
        .unwrap()
        .windows(10)
        .any(|w| w == b"/ByteRange"));
    // Her licence is read from its XML: its PDF is not fetched unless asked for.
    assert!(document(&v, "DRVLC")["pdfSignature"].is_null());
    let asked = verified(&t, &id, "?docTypes=DRVLC&pdfSignatures=true").await;
    let dl = document(&asked, "DRVLC");
    assert_eq!(dl["pdfSignature"]["status"], "verified", "{dl}");
    assert_eq!(dl["pdfSignature"]["signer"], dl["verification"]["signer"]);
    assert_eq!(dl["pdfSignature"]["chain"], dl["verification"]["chain"]);
    // The XML is still what is read and linked.
    assert_eq!(dl["verification"]["signature"], true);
    assert!(dl["file"]["fileUrl"].is_string());

    let rajesh = citizen(|c| c.name == "Rajesh Manubhai Patel");
    let id = t.consented(&rajesh, &[]).await;
    let v = verified(&t, &id, "?docTypes=PRFND,PANCR,SSCER&pdfSignatures=true").await;
    for doc_type in ["PRFND", "SSCER"] {
        let pdf = &document(&v, doc_type)["pdfSignature"];
        assert_eq!(pdf["status"], "unsigned", "{doc_type}: {pdf}");
        assert!(pdf["signer"].is_null() && pdf["chain"].is_null(), "{pdf}");
    }
    let pan = document(&v, "PANCR");
    assert_eq!(pan["pdfSignature"]["status"], "verified", "{pan}");
    assert!(pan["pdfSignature"]["signer"]
        .as_str()
        .unwrap()
        .starts_with("CN=DS SANDBOX INCOME TAX DEPARTMENT"));
    // An unsigned PDF is not a reason for "consistent" to change: the passbook, which has
    // no XML, already makes it false; without it everything agrees.
    assert_eq!(v["consistent"], false);
    let v = verified(&t, &id, "?docTypes=PANCR,SSCER&pdfSignatures=true").await;
    assert_eq!(v["consistent"], true, "{v}");
}

/// The `/verified` call's logs hold none of the citizen's personal data: not the name,
/// the date of birth, a document number or the Aadhaar number, though every document
/// is read, verified and compared, and PDFs are checked.
#[tokio::test]
async fn the_verified_call_logs_no_personal_data() {
    let logs = crate::harness::LogCapture::start();
    let t = TestApp::spawn().await;
    let ananya = citizen(|c| c.name == "Ananya Chatterjee");
    let id = t.consented(&ananya, &[]).await;
    let v = verified(&t, &id, "?pdfSignatures=true").await;
    // Her PAN misspells her name: the comparison is logged about, and found wanting.
    assert_eq!(v["aadhaar"]["signature"], true, "{v}");
    assert_eq!(v["consistent"], false);
    let out = logs.text();
    assert!(
        out.contains("documents read and verified") && out.contains(&id),
        "the call's own log line was not captured:\n{out}"
    );
    let mut personal: Vec<String> = vec![
        ananya.name.clone(),
        ananya.name.to_uppercase(),
        ananya.aadhaar.clone().unwrap(),
    ];
    for doc in &ananya.documents {
        personal.push(sandbox::documents::document_number(doc));
        personal.push(doc.name.clone());
    }
    let dob = &v["aadhaar"]["holder"]["dateOfBirth"];
    let dob = dob.as_str().unwrap();
    let (y, m, d) = (&dob[..4], &dob[5..7], &dob[8..10]);
    personal.extend([dob.to_owned(), format!("{d}-{m}-{y}"), format!("{d}{m}{y}")]);
    for pan in v["documents"].as_array().unwrap() {
        if let Some(name) = pan["reading"]["holder"]["name"].as_str() {
            personal.push(name.to_owned());
        }
    }
    for value in personal.iter().filter(|p| p.len() >= 4) {
        assert!(
            !out.contains(value.as_str()),
            "the logs hold {value:?}:\n{out}"
        );
    }
}

/// The same rules as every `/api/digilocker/{id}/...` call: an unknown or another
/// client's request is `request_not_found`; a bad filter is `invalid_payload`.
#[tokio::test]
async fn errors_follow_the_contract() {
    let t = TestApp::spawn().await;
    let ramesh = crate::harness::happy_citizen();
    let id = t.consented(&ramesh, &[]).await;
    let (s, b) = t
        .get(
            &format!("/api/digilocker/{id}/verified?docTypes=PAN/../x"),
            &t.creds,
        )
        .await;
    assert_error(s, &b, 400, "invalid_payload");
    let (s, b) = t
        .get(
            &format!("/api/digilocker/{id}/verified?pdfSignatures=maybe"),
            &t.creds,
        )
        .await;
    assert_error(s, &b, 400, "invalid_payload");
    let (s, b) = t
        .get(
            "/api/digilocker/0b8f3c1e-0000-4000-8000-000000000000/verified",
            &t.creds,
        )
        .await;
    assert_error(s, &b, 404, "request_not_found");
    let other = t.new_client("").await;
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/verified"), &other)
        .await;
    assert_error(s, &b, 404, "request_not_found");
    // A request whose consent is revoked answers as the other calls do.
    let (s, _) = t
        .get(&format!("/api/digilocker/{id}/revoke"), &t.creds)
        .await;
    assert_eq!(s, 200);
    let (s, b) = t
        .get(&format!("/api/digilocker/{id}/verified"), &t.creds)
        .await;
    let (s2, b2) = t
        .get(&format!("/api/digilocker/{id}/issued"), &t.creds)
        .await;
    assert_eq!((s, &b["error"]["code"]), (s2, &b2["error"]["code"]), "{b}");
}
