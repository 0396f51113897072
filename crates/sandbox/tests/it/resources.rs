//! The bearer resource APIs: user, issued files, file, xml, e-Aadhaar.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Sha256;

use crate::support::*;

#[tokio::test]
async fn user_answers_the_citizens_details() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let token = sb.token_for(&citizen).await;
    let user: Value = sb
        .get_bearer("oauth2/1/user", token["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["digilockerid"], citizen.digilocker_id.as_str());
    assert_eq!(user["name"], citizen.name.as_str());
    assert_eq!(user["dob"], citizen.dob.replace('-', "").as_str());
    assert_eq!(user["gender"], citizen.gender.as_str());
    // DigiLocker's user schema spells it `eaadhar`.
    assert_eq!(user["eaadhar"], "Y");
    assert!(user.get("eaadhaar").is_none(), "{user}");
}

#[tokio::test]
async fn user_spells_eaadhaar_in_full_with_quirks_off() {
    let sb = spawn_with(|c| c.quirks = false).await;
    let citizen = happy_citizen();
    let token = sb.token_for(&citizen).await;
    let user: Value = sb
        .get_bearer("oauth2/1/user", token["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["digilockerid"], citizen.digilocker_id.as_str());
    assert_eq!(user["eaadhaar"], "Y");
    assert!(user.get("eaadhar").is_none(), "{user}");
}

#[tokio::test]
async fn missing_or_unknown_bearer_is_invalid_token() {
    let sb = spawn().await;
    let response = sb
        .browser
        .get(sb.url("oauth2/1/user"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
    let response = sb
        .get_bearer("oauth2/2/files/issued", "made-up-token")
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
}

/// A journey where the citizen unticks their first document.
async fn token_with_first_doc_unticked(sb: &TestSandbox) -> (Value, sandbox::seed::Citizen) {
    let citizen = happy_citizen();
    let flow = sb.new_flow();
    let consent = sb
        .sign_in_to_consent(
            &flow,
            &[],
            citizen.aadhaar.as_deref().unwrap(),
            &citizen.pin,
        )
        .await;
    let withheld = &citizen.documents[0].uri;
    let ticked: Vec<String> = consent
        .doc_checkboxes()
        .into_iter()
        .map(|(value, _)| value)
        .filter(|v| v != withheld)
        .collect();
    let callback = sb.allow(&consent.journey(), &ticked).await;
    let token = sb
        .exchange(callback.get("code").unwrap(), &flow)
        .await
        .json()
        .await
        .unwrap();
    (token, citizen)
}

#[tokio::test]
async fn issued_files_lists_only_what_the_citizen_shared() {
    let sb = spawn().await;
    let (token, citizen) = token_with_first_doc_unticked(&sb).await;
    let access = token["access_token"].as_str().unwrap();
    for path in ["oauth2/2/files/issued", "oauth2/1/files/issued"] {
        let listing: Value = sb.get_bearer(path, access).await.json().await.unwrap();
        let items = listing["items"].as_array().unwrap();
        let uris: Vec<&str> = items.iter().map(|i| i["uri"].as_str().unwrap()).collect();
        assert!(
            !uris.contains(&citizen.documents[0].uri.as_str()),
            "withheld document hidden"
        );
        for doc in &citizen.documents[1..] {
            assert!(uris.contains(&doc.uri.as_str()), "{} listed", doc.uri);
        }
        let item = items
            .iter()
            .find(|i| i["uri"] == citizen.documents[1].uri.as_str())
            .unwrap();
        for field in [
            "name",
            "type",
            "size",
            "date",
            "parent",
            "doctype",
            "description",
            "issuerid",
            "issuer",
        ] {
            assert!(item[field].is_string(), "{field} in {item}");
        }
        assert!(item["mime"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "application/pdf"));
        assert_eq!(listing["resource"], "issued");
    }
}

#[tokio::test]
async fn file_comes_as_pdf_with_the_apps_hmac() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let token = sb.token_for(&citizen).await;
    let access = token["access_token"].as_str().unwrap();
    let uri = &citizen.documents[0].uri;
    let response = sb.get_bearer(&format!("oauth2/1/file/{uri}"), access).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let hmac_header = response.headers()["hmac"].to_str().unwrap().to_owned();
    let body = response.bytes().await.unwrap();
    assert!(body.starts_with(b"%PDF-"), "a real PDF");
    let mut mac = Hmac::<Sha256>::new_from_slice(CLIENT_SECRET.as_bytes()).unwrap();
    mac.update(&body);
    assert_eq!(hmac_header, STANDARD.encode(mac.finalize().into_bytes()));
}

/// The `date` of every listed document, by URI, for a citizen with many.
async fn listed_dates(sb: &TestSandbox) -> (Vec<(String, String)>, sandbox::seed::Citizen) {
    let citizen = citizen(|c| c.has_account && c.documents.len() >= 5);
    let token = sb.token_for(&citizen).await;
    let listing: Value = sb
        .get_bearer(
            "oauth2/2/files/issued",
            token["access_token"].as_str().unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    let dates = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["uri"].as_str().unwrap().to_owned(),
                i["date"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (dates, citizen)
}

#[tokio::test]
async fn issued_dates_come_in_every_format_with_quirks_on() {
    let sb = spawn().await;
    let (dates, citizen) = listed_dates(&sb).await;
    let shapes: std::collections::BTreeSet<&str> = dates
        .iter()
        .map(|(_, d)| {
            let b = d.as_bytes();
            match (b.len(), b.get(2), b.get(4)) {
                (10, Some(b'-'), _) => "DD-MM-YYYY",
                (10, Some(b'/'), _) => "DD/MM/YYYY",
                (10, _, Some(b'-')) => "YYYY-MM-DD",
                (20, _, Some(b'-')) if d.ends_with('Z') && b[10] == b'T' => "date-time",
                _ => panic!("unexpected date {d:?}"),
            }
        })
        .collect();
    assert_eq!(shapes.len(), 4, "{dates:?}");
    // Whatever the format, it is the document's issue date.
    for doc in &citizen.documents {
        let (_, listed) = dates.iter().find(|(u, _)| *u == doc.uri).unwrap();
        let [dd, mm, yyyy] = doc.date.split('-').collect::<Vec<_>>()[..] else {
            panic!("{}", doc.date)
        };
        assert!(
            [
                doc.date.clone(),
                format!("{dd}/{mm}/{yyyy}"),
                format!("{yyyy}-{mm}-{dd}")
            ]
            .iter()
            .any(|f| listed.starts_with(f.as_str())),
            "{listed} for {}",
            doc.date
        );
    }
}

#[tokio::test]
async fn issued_dates_are_dd_mm_yyyy_with_quirks_off() {
    let sb = spawn_with(|c| c.quirks = false).await;
    let (dates, citizen) = listed_dates(&sb).await;
    for doc in &citizen.documents {
        let (_, listed) = dates.iter().find(|(u, _)| *u == doc.uri).unwrap();
        assert_eq!(listed, &doc.date);
    }
}

#[tokio::test]
async fn pdf_only_documents_come_without_hmac_with_quirks_on() {
    for quirks in [true, false] {
        let sb = spawn_with(|c| c.quirks = quirks).await;
        let citizen = citizen(|c| {
            c.has_account
                && c.documents
                    .iter()
                    .any(|d| !d.mime.iter().any(|m| m == "application/xml"))
        });
        let token = sb.token_for(&citizen).await;
        let access = token["access_token"].as_str().unwrap();
        for doc in &citizen.documents {
            let response = sb
                .get_bearer(&format!("oauth2/1/file/{}", doc.uri), access)
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            let has_xml = doc.mime.iter().any(|m| m == "application/xml");
            assert_eq!(
                response.headers().contains_key("hmac"),
                has_xml || !quirks,
                "quirks {quirks}: {} ({:?})",
                doc.uri,
                doc.mime
            );
        }
    }
}

#[tokio::test]
async fn file_errors_unknown_unshared_and_missing_uri() {
    let sb = spawn().await;
    let (token, citizen) = token_with_first_doc_unticked(&sb).await;
    let access = token["access_token"].as_str().unwrap();
    let withheld = &citizen.documents[0].uri;
    let response = sb
        .get_bearer(&format!("oauth2/1/file/{withheld}"), access)
        .await;
    // In the locker but not shared: the same answer as an unknown URI, the
    // only one DigiLocker's spec lists.
    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, "invalid_uri".into())
    );
    let response = sb
        .get_bearer("oauth2/1/file/in.gov.pan-PANCR-NOSUCHDOC0", access)
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, "invalid_uri".into())
    );
    let response = sb.get_bearer("oauth2/1/file/", access).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::BAD_REQUEST, "uri_missing".into())
    );
    let response = sb
        .get_bearer(&format!("oauth2/1/xml/{withheld}"), access)
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, "invalid_uri".into())
    );
}

#[tokio::test]
async fn xml_is_served_where_mime_lists_it_and_404_otherwise() {
    let sb = spawn().await;
    let citizen = citizen(|c| {
        c.has_account
            && c.documents
                .iter()
                .any(|d| d.mime.iter().any(|m| m == "application/xml"))
            && c.documents
                .iter()
                .any(|d| !d.mime.iter().any(|m| m == "application/xml"))
    });
    let token = sb.token_for(&citizen).await;
    let access = token["access_token"].as_str().unwrap();
    let with_xml = citizen
        .documents
        .iter()
        .find(|d| d.mime.iter().any(|m| m == "application/xml"))
        .unwrap();
    let response = sb
        .get_bearer(&format!("oauth2/1/xml/{}", with_xml.uri), access)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/xml");
    let text = response.text().await.unwrap();
    assert!(text.trim_start().starts_with('<'), "{text}");
    let without = citizen
        .documents
        .iter()
        .find(|d| !d.mime.iter().any(|m| m == "application/xml"))
        .unwrap();
    let response = sb
        .get_bearer(&format!("oauth2/1/xml/{}", without.uri), access)
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, "invalid_uri".into())
    );
}

#[tokio::test]
async fn eaadhaar_is_signed_xml_on_both_paths() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let token = sb.token_for(&citizen).await;
    let access = token["access_token"].as_str().unwrap();
    for path in ["oauth2/3/xml/eaadhaar", "oauth2/2/xml/eaadhaar"] {
        let response = sb.get_bearer(path, access).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], "application/xml");
        let xml = response.text().await.unwrap();
        assert!(xml.contains("<Certificate"), "{path}");
        assert!(xml.contains("Signature"), "{path}");
        // The full Aadhaar number never appears, only the last 4 digits.
        let aadhaar = citizen.aadhaar.as_deref().unwrap();
        assert!(!xml.contains(aadhaar));
    }
    let ca = sb.browser.get(sb.url("ca.pem")).send().await.unwrap();
    assert_eq!(ca.status(), StatusCode::OK);
    let pem = ca.text().await.unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    assert_eq!(pem, sb.sandbox.root_ca_pem());
}

#[tokio::test]
async fn eaadhaar_errors_not_linked_not_available_and_not_shared() {
    let sb = spawn().await;
    let no_aadhaar = citizen(|c| c.has_account && c.aadhaar.is_none());
    let token = sb.token_for(&no_aadhaar).await;
    assert_eq!(token["eaadhar"], "N");
    let response = sb
        .get_bearer(
            "oauth2/3/xml/eaadhaar",
            token["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, "aadhaar_not_linked".into())
    );

    let unavailable = citizen(|c| c.has_account && c.aadhaar.is_some() && !c.eaadhaar_available);
    let token = sb.token_for(&unavailable).await;
    assert_eq!(token["eaadhar"], "N");
    let response = sb
        .get_bearer(
            "oauth2/3/xml/eaadhaar",
            token["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, "aadhaar_not_available".into())
    );

    // Aadhaar card unticked on the consent page: no e-Aadhaar for the app.
    let citizen = happy_citizen();
    let flow = sb.new_flow();
    let consent = sb
        .sign_in_to_consent(
            &flow,
            &[],
            citizen.aadhaar.as_deref().unwrap(),
            &citizen.pin,
        )
        .await;
    let ticked: Vec<String> = consent
        .doc_checkboxes()
        .into_iter()
        .map(|(v, _)| v)
        .filter(|v| !v.starts_with("in.gov.uidai-ADHAR-"))
        .collect();
    let callback = sb.allow(&consent.journey(), &ticked).await;
    let token: Value = sb
        .exchange(callback.get("code").unwrap(), &flow)
        .await
        .json()
        .await
        .unwrap();
    let response = sb
        .get_bearer(
            "oauth2/3/xml/eaadhaar",
            token["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, "aadhaar_not_available".into())
    );
}
