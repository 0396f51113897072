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
use super::{authorize_bearer, ApiError, Authorized, SharedState};
use crate::documents;
use crate::seed::IssuedDoc;

/// `GET oauth2/1/user`.
pub(crate) async fn user(
    State(shared): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let auth = authorize_bearer(&shared, &headers)?;
    let citizen = &auth.account.citizen;
    let mut answer = json!({
        "digilockerid": citizen.digilocker_id,
        "name": citizen.name,
        "dob": citizen.dob.replace('-', ""),
        "gender": citizen.gender,
        "eaadhaar": yes_no(eaadhaar_available(citizen)),
    });
    if let Some(mobile) = &citizen.mobile {
        answer["mobile"] = json!(mobile);
    }
    if !citizen.email.is_empty() {
        answer["email"] = json!(citizen.email);
    }
    Ok(Json(answer))
}

/// The documents this token may see: those the citizen ticked, and those
/// pulled with this grant.
fn shared_documents(auth: &Authorized) -> Vec<&IssuedDoc> {
    auth.account
        .all_documents()
        .filter(|d| auth.grant.documents.contains(&d.uri) || auth.grant.pulled.contains(&d.uri))
        .collect()
}

/// `GET oauth2/{1,2}/files/issued`.
pub(crate) async fn issued(
    State(shared): State<SharedState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let auth = authorize_bearer(&shared, &headers)?;
    let items: Vec<Value> = shared_documents(&auth)
        .into_iter()
        .map(|doc| {
            json!({
                "name": doc.name,
                "type": "file",
                "size": "",
                "date": doc.date,
                "parent": "",
                "mime": doc.mime,
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

/// Find a document the token may read: unknown to the citizen's locker is
/// `404 invalid_uri`; in the locker but not shared is `403 invalid_grant`.
fn find_document<'a>(auth: &'a Authorized, uri: &str) -> Result<&'a IssuedDoc, ApiError> {
    let uri = uri.trim();
    if uri.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "uri_missing",
            "URI parameter missing",
        ));
    }
    let doc = auth
        .account
        .document(uri)
        .ok_or_else(|| ApiError::invalid_uri("No file found for given URI"))?;
    if !auth.grant.documents.contains(uri) && !auth.grant.pulled.contains(uri) {
        return Err(ApiError::not_consented(
            "The user did not grant your application access to this document",
        ));
    }
    Ok(doc)
}

/// `base64(HMAC-SHA256(client_secret, body))`.
pub(crate) fn body_hmac(secret: &str, body: &[u8]) -> Result<String, ApiError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| ApiError::unexpected(format!("hmac key: {e}")))?;
    mac.update(body);
    Ok(STANDARD.encode(mac.finalize().into_bytes()))
}

/// `GET oauth2/1/file/{uri}`: the PDF, with the `hmac` header.
pub(crate) async fn file(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    Path(uri): Path<String>,
) -> Result<Response, ApiError> {
    let auth = authorize_bearer(&shared, &headers)?;
    let doc = find_document(&auth, &uri)?;
    let pdf = documents::render_pdf(&auth.account.citizen, doc);
    let hmac = body_hmac(&auth.app.client_secret, &pdf)?;
    let mut response = ([(CONTENT_TYPE, "application/pdf")], pdf).into_response();
    let hmac = HeaderValue::from_str(&hmac).map_err(ApiError::unexpected)?;
    response.headers_mut().insert("hmac", hmac);
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
    let xml = documents::signed_xml(&auth.account.citizen, doc, &shared.issuer_signing)
        .ok_or_else(|| {
            ApiError::invalid_uri(
                "No XML data is available for this document (its mime lists only application/pdf)",
            )
        })?
        .map_err(|e| ApiError::unexpected(format!("signing the certificate XML: {e:#}")))?;
    Ok(([(CONTENT_TYPE, "application/xml")], xml).into_response())
}

/// `GET oauth2/{2,3}/xml/eaadhaar`: the signed e-Aadhaar.
pub(crate) async fn eaadhaar(
    State(shared): State<SharedState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
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
        return Err(ApiError::not_consented(
            "The user did not grant your application access to their Aadhaar",
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
