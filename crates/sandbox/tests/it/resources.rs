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
        if path.starts_with("oauth2/2/") {
            assert!(item["mime"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == "application/pdf"));
            // The file's size in bytes, as a string.
            let size: usize = item["size"].as_str().unwrap().parse().unwrap();
            assert!(size > 10_000, "{item}");
        } else {
            // The first version's schema: mime one string, size blank.
            assert!(item["mime"].as_str().unwrap().contains("application/pdf"));
            assert_eq!(item["size"], "");
        }
        assert_eq!(listing["resource"], "issued");
    }
}

#[tokio::test]
async fn issued_sizes_are_the_files_sizes_and_v1_joins_the_formats() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let token = sb.token_for(&citizen).await;
    let access = token["access_token"].as_str().unwrap();
    let v2: Value = sb
        .get_bearer("oauth2/2/files/issued", access)
        .await
        .json()
        .await
        .unwrap();
    let v1: Value = sb
        .get_bearer("oauth2/1/files/issued", access)
        .await
        .json()
        .await
        .unwrap();
    let (v2, v1) = (
        v2["items"].as_array().unwrap(),
        v1["items"].as_array().unwrap(),
    );
    assert_eq!(v2.len(), v1.len());
    assert!(v2.len() >= 4);
    for (item, old) in v2.iter().zip(v1) {
        let uri = item["uri"].as_str().unwrap();
        assert_eq!(old["uri"], uri);
        let file = sb
            .get_bearer(&format!("oauth2/1/file/{uri}"), access)
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(item["size"], file.len().to_string().as_str(), "{uri}");
        let formats: Vec<&str> = item["mime"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(old["mime"], formats.join(", "), "{uri}");
        assert_eq!(old["size"], "");
    }
}

/// Some issuers deliver a document as an image: a scanned certificate is
/// listed with its image `mime`, served under it, and has no XML.
#[tokio::test]
async fn scanned_documents_are_served_as_images_under_their_mime() {
    let sb = spawn().await;
    let mut seen = std::collections::BTreeSet::new();
    for who in sandbox::seed::citizens()
        .into_iter()
        .filter(|c| c.has_account && c.documents.iter().any(|d| d.mime[0].starts_with("image/")))
    {
        let token = sb.token_for(&who).await;
        let access = token["access_token"].as_str().unwrap();
        let listing: Value = sb
            .get_bearer("oauth2/2/files/issued", access)
            .await
            .json()
            .await
            .unwrap();
        for doc in who
            .documents
            .iter()
            .filter(|d| d.mime[0].starts_with("image/"))
        {
            let mime = doc.mime[0].as_str();
            seen.insert(mime.to_owned());
            let item = listing["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["uri"] == doc.uri.as_str())
                .unwrap();
            assert_eq!(item["mime"], serde_json::json!([mime]));
            let response = sb
                .get_bearer(&format!("oauth2/1/file/{}", doc.uri), access)
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["content-type"], mime, "{}", doc.uri);
            let bytes = response.bytes().await.unwrap();
            assert_eq!(item["size"], bytes.len().to_string().as_str());
            // Small, real images.
            assert!(
                (5_000..150_000).contains(&bytes.len()),
                "{} bytes",
                bytes.len()
            );
            if mime == "image/png" {
                assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
                // The QR code on it reads back as the document's data.
                let text = png_qr_text(&bytes);
                assert!(
                    text.contains(&format!("DigiLocker URI: {}", doc.uri)),
                    "{text}"
                );
                assert!(text.contains(&format!("Name: {}", who.name)), "{text}");
            } else {
                assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF, 0xE0]));
                assert!(bytes.ends_with(&[0xFF, 0xD9]));
                assert_eq!(
                    sandbox::signing::jpeg_markers(&bytes),
                    [0xD8, 0xE0, 0xDB, 0xDB, 0xC0, 0xC4, 0xC4, 0xC4, 0xC4, 0xDA]
                );
            }
            let response = sb
                .get_bearer(&format!("oauth2/1/xml/{}", doc.uri), access)
                .await;
            assert_eq!(
                error_of(response).await,
                (StatusCode::NOT_FOUND, "invalid_uri".into())
            );
        }
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["image/jpeg", "image/jpg", "image/png"]
    );
}

/// The text of the QR code in an RGB PNG the sandbox wrote (one IDAT, "sub"
/// filtered rows).
fn png_qr_text(png: &[u8]) -> String {
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap()) as usize;
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap()) as usize;
    assert_eq!(png[25], 2, "RGB");
    let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
    assert_eq!(&png[37..41], b"IDAT");
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&png[41..41 + idat_len]).unwrap();
    let stride = width * 3;
    let mut grey = Vec::with_capacity(width * height);
    for row in raw.chunks(stride + 1) {
        assert_eq!(row[0], 1);
        let mut rgb: Vec<u8> = Vec::with_capacity(stride);
        for (i, &b) in row[1..].iter().enumerate() {
            let left = if i >= 3 { rgb[i - 3] } else { 0 };
            rgb.push(b.wrapping_add(left));
        }
        grey.extend(
            rgb.chunks(3)
                .map(|p| ((u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3) as u8),
        );
    }
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn the_aadhaar_card_comes_as_pdf_and_as_the_signed_e_aadhaar() {
    let sb = spawn().await;
    let citizen = happy_citizen();
    let token = sb.token_for(&citizen).await;
    let access = token["access_token"].as_str().unwrap();
    let listing: Value = sb
        .get_bearer("oauth2/2/files/issued", access)
        .await
        .json()
        .await
        .unwrap();
    let card = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["doctype"] == "ADHAR")
        .unwrap()
        .clone();
    assert_eq!(
        card["mime"],
        serde_json::json!(["application/pdf", "application/xml"])
    );
    let uri = card["uri"].as_str().unwrap();
    let response = sb.get_bearer(&format!("oauth2/1/xml/{uri}"), access).await;
    assert_eq!(response.status(), StatusCode::OK);
    let xml = response.text().await.unwrap();
    let eaadhaar = sb
        .get_bearer("oauth2/3/xml/eaadhaar", access)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(xml, eaadhaar);
    // A citizen without e-Aadhaar data has a PDF-only card.
    let sunita =
        super::support::citizen(|c| c.has_account && c.aadhaar.is_some() && !c.eaadhaar_available);
    let token = sb.token_for(&sunita).await;
    let listing: Value = sb
        .get_bearer(
            "oauth2/2/files/issued",
            token["access_token"].as_str().unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    let card = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["doctype"] == "ADHAR")
        .unwrap()
        .clone();
    assert_eq!(card["mime"], serde_json::json!(["application/pdf"]));
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
    assert_eq!(eaadhaar_flag(&token), "N");
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
    assert_eq!(eaadhaar_flag(&token), "N");
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
