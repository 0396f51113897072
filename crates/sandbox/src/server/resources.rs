//! The bearer-token resource APIs: user, issued files, file, xml, e-Aadhaar.

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::oauth::{eaadhaar_available, yes_no};
use super::{authorize_bearer, ApiError, Authorized, Shared, SharedState};
use crate::documents;
use crate::seed::IssuedDoc;
use crate::spelling::Spelling;

/// The Aadhaar card's doc type.
const AADHAAR_CARD: &str = "ADHAR";

/// `GET oauth2/1/user`.
pub(crate) async fn user(
    State(shared): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let auth = authorize_bearer(&shared, &headers)?;
    let citizen = &auth.account.citizen;
    let spelling = {
        let mut store = shared.store();
        let account = store
            .accounts
            .get_mut(auth.grant.account)
            .ok_or_else(|| ApiError::unexpected("the token's account is gone"))?;
        let n = account.user_answers;
        account.user_answers += 1;
        if shared.config.quirks {
            Spelling::of_user_answer(auth.grant.account, n)
        } else {
            Spelling::SERVICE
        }
    };
    let mut answer = json!({
        "digilockerid": citizen.digilocker_id,
        "name": citizen.name,
        "dob": citizen.dob.replace('-', ""),
        "gender": citizen.gender,
    });
    // DigiLocker's user schema lists the flag as `eaadhar` and requires it
    // as `eaadhaar`: both are answered, in turns (crate::spelling).
    answer[spelling.eaadhaar_field()] = json!(yes_no(eaadhaar_available(citizen)));
    if let Some(mobile) = &citizen.mobile {
        answer["mobile"] = json!(mobile);
    }
    if !citizen.email.is_empty() {
        answer["email"] = json!(citizen.email);
    }
    Ok(Json(answer))
}

/// The documents this token may see ([`crate::store::Grant::may_read`]),
/// each with its place in the locker (which picks its date format).
fn shared_documents(auth: &Authorized) -> Vec<(usize, &IssuedDoc)> {
    auth.account
        .all_documents()
        .enumerate()
        .filter(|(_, d)| auth.grant.may_read(d))
        .collect()
}

/// An issue date (`DD-MM-YYYY`) the way `files/issued` shows it. With the
/// quirks on, the format depends on the document's place in the locker, so
/// one listing shows every format seen from DigiLocker: `DD-MM-YYYY`,
/// `DD/MM/YYYY`, ISO 8601 `YYYY-MM-DD`, and an ISO 8601 date-time in UTC
/// (the spec's `2015-05-12T15:50:38Z`).
pub(crate) fn listed_date(date: &str, place: usize, quirks: bool) -> String {
    let parts: Vec<&str> = date.split('-').collect();
    let [day, month, year] = parts[..] else {
        return date.to_owned();
    };
    if !quirks {
        return date.to_owned();
    }
    match place % 4 {
        0 => date.to_owned(),
        1 => format!("{day}/{month}/{year}"),
        2 => format!("{year}-{month}-{day}"),
        _ => format!("{year}-{month}-{day}T04:20:{:02}Z", place % 60),
    }
}

/// Whether a file download carries the `hmac` header. With the quirks on,
/// documents without XML data (PDF only: the Aadhaar card, vehicle
/// registrations, provident fund passbooks) come without it.
pub(crate) fn sends_hmac(doc: &IssuedDoc, quirks: bool) -> bool {
    !quirks || doc.mime.iter().any(|m| m == "application/xml")
}

/// `GET oauth2/2/files/issued`: `mime` a list, `size` the file's size in
/// bytes (a string, as DigiLocker's schema types it).
pub(crate) async fn issued(
    State(shared): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    issued_as(&shared, &headers, 2)
}

/// `GET oauth2/1/files/issued`: the first version's answer, as its schema
/// has it: `mime` one string (`application/pdf`, or the formats joined by
/// `, `), `size` and `parent` blank.
pub(crate) async fn issued_v1(
    State(shared): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    issued_as(&shared, &headers, 1)
}

fn issued_as(shared: &Shared, headers: &HeaderMap, version: u8) -> Result<Json<Value>, ApiError> {
    let auth = authorize_bearer(shared, headers)?;
    let quirks = shared.config.quirks;
    let items: Vec<Value> = shared_documents(&auth)
        .into_iter()
        .map(|(place, doc)| {
            let (mime, size) = if version == 1 {
                (json!(doc.mime.join(", ")), String::new())
            } else {
                let size = shared.size_of(&auth.account.citizen, doc);
                (json!(doc.mime), size.to_string())
            };
            json!({
                "name": doc.name,
                "type": "file",
                "size": size,
                "date": listed_date(&doc.date, place, quirks),
                "parent": "",
                "mime": mime,
                "uri": doc.uri,
                "doctype": doc.doctype,
                "description": doc.description,
                "issuerid": doc.issuerid,
                "issuer": doc.issuer,
            })
        })
        .collect();
    Ok(Json(json!({"items": items, "resource": "issued"})))
}

/// `GET oauth2/1/file/` and `oauth2/1/xml/` without a URI.
pub(crate) async fn uri_missing() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "uri_missing",
        "URI parameter missing",
    )
}

/// Find a document the token may read. Unknown to the citizen's locker and
/// in the locker but not shared with this consent are alike `404
/// invalid_uri` "No file found for given URI": DigiLocker's spec lists no
/// other answer for these endpoints, and an app learns nothing about
/// documents the citizen did not share.
fn find_document<'a>(auth: &'a Authorized, uri: &str) -> Result<&'a IssuedDoc, ApiError> {
    let uri = uri.trim();
    if uri.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "uri_missing",
            "URI parameter missing",
        ));
    }
    auth.account
        .document(uri)
        .filter(|doc| auth.grant.may_read(doc))
        .ok_or_else(|| ApiError::invalid_uri("No file found for given URI"))
}

/// `base64(HMAC-SHA256(client_secret, body))`.
pub(crate) fn body_hmac(secret: &str, body: &[u8]) -> Result<String, ApiError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| ApiError::unexpected(format!("hmac key: {e}")))?;
    mac.update(body);
    Ok(STANDARD.encode(mac.finalize().into_bytes()))
}

/// `GET oauth2/1/file/{uri}`: the PDF, or the image for a document whose
/// `mime` names one, under that content type, with the `hmac` header.
pub(crate) async fn file(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    Path(uri): Path<String>,
) -> Result<Response, ApiError> {
    let auth = authorize_bearer(&shared, &headers)?;
    let doc = find_document(&auth, &uri)?;
    let file = shared.file_of(&auth.account.citizen, doc);
    let hmac = sends_hmac(doc, shared.config.quirks)
        .then(|| body_hmac(&auth.app.client_secret, &file.bytes))
        .transpose()?;
    let content_type = HeaderValue::from_str(&file.content_type).map_err(ApiError::unexpected)?;
    let mut response = ([(CONTENT_TYPE, content_type)], file.bytes.clone()).into_response();
    if let Some(hmac) = hmac {
        let hmac = HeaderValue::from_str(&hmac).map_err(ApiError::unexpected)?;
        response.headers_mut().insert("hmac", hmac);
    }
    Ok(response)
}

/// `GET oauth2/1/xml/{uri}`: the certificate data, where the document has it.
pub(crate) async fn xml(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    Path(uri): Path<String>,
) -> Result<Response, ApiError> {
    let auth = authorize_bearer(&shared, &headers)?;
    let doc = find_document(&auth, &uri)?;
    if doc.doctype == AADHAAR_CARD && doc.mime.iter().any(|m| m == "application/xml") {
        // The Aadhaar card's XML is the signed e-Aadhaar.
        let xml = shared
            .signing
            .sign_eaadhaar(&auth.account.citizen)
            .map_err(|e| ApiError::unexpected(format!("signing the e-Aadhaar: {e:#}")))?;
        return Ok(([(CONTENT_TYPE, "application/xml")], xml).into_response());
    }
    let xml = documents::signed_xml(
        &auth.account.citizen,
        doc,
        &shared.signing,
        &shared.issuer_signing,
    )
    .ok_or_else(|| {
        ApiError::invalid_uri(
            "No XML data is available for this document (its mime lists only application/pdf)",
        )
    })?
    .map_err(|e| ApiError::unexpected(format!("signing the certificate XML: {e:#}")))?;
    Ok(([(CONTENT_TYPE, "application/xml")], xml).into_response())
}

/// `GET oauth2/3/xml/eaadhaar`: [`eaadhaar`], unless the `eaadhaar_v2_only`
/// switch makes this a path the server does not have: a plain `404` page, as
/// a web server answers one, before any token is looked at.
pub(crate) async fn eaadhaar_v3(
    State(shared): State<SharedState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if shared.faults.get().eaadhaar_v2_only {
        return Ok((
            StatusCode::NOT_FOUND,
            [(CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>\
             <h1>Not Found</h1><p>The requested URL was not found on this server.</p>\
             </body></html>\n",
        )
            .into_response());
    }
    eaadhaar(State(shared), headers).await
}

/// `GET oauth2/{2,3}/xml/eaadhaar`: the signed e-Aadhaar (with the
/// `eaadhaar_html` switch, a `200` HTML page instead).
pub(crate) async fn eaadhaar(
    State(shared): State<SharedState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if shared.faults.get().eaadhaar_html {
        return Ok((
            [(CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!DOCTYPE html>\n<html><head><title>DigiLocker</title></head><body>\
             <h1>DigiLocker</h1><p>We are upgrading our services. Please try again after \
             some time.</p></body></html>\n",
        )
            .into_response());
    }
    let auth = authorize_bearer(&shared, &headers)?;
    let citizen = &auth.account.citizen;
    if citizen.aadhaar.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "aadhaar_not_linked",
            "Aadhaar is not linked to the account",
        ));
    }
    if !auth.grant.eaadhaar {
        // DigiLocker's spec lists only 404 aadhaar_not_linked and
        // aadhaar_not_available here: for this consent the data is not
        // available (the token's scope shows why: no `issued/...-ADHAR-...`).
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "aadhaar_not_available",
            "Aadhaar data is not available: the user did not share their Aadhaar with your application in this consent",
        ));
    }
    if !citizen.eaadhaar_available {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "aadhaar_not_available",
            "Aadhaar data is not available for this user. Please perform Aadhaar eKYC again.",
        ));
    }
    let xml = shared
        .signing
        .sign_eaadhaar(citizen)
        .map_err(|e| ApiError::unexpected(format!("signing the e-Aadhaar: {e:#}")))?;
    Ok(([(CONTENT_TYPE, "application/xml")], xml).into_response())
}
