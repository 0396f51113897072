//! The signed catalogue calls (`pull/issuers`, `pull/doctype`,
//! `pull/parameters`) and the bearer `pull/pulldocument`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::oauth::now_unix;
use super::{authorize_bearer, secret_eq, ApiError, Shared, SharedState};
use crate::catalogue::{DocTypeDef, Issuer};
use crate::documents::{self, PullError};

/// How old a signed call's `ts` may be (DigiLocker: 30 minutes).
const MAX_TS_AGE_SECS: i64 = 30 * 60;
/// How far into the future a `ts` may be, for clock skew.
const MAX_TS_SKEW_SECS: i64 = 5 * 60;

fn parse_form(body: &Bytes) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).map_err(|e| {
        ApiError::invalid_parameter(format!(
            "the body must be application/x-www-form-urlencoded: {e}"
        ))
    })
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Check `clientid`, `ts` and `hmac = hex(sha256(secret + clientid + ts))`.
/// `also_accept` lists extra strings some clients put before `ts` (e.g. the
/// orgid of a `doctype` call); the spec's form is always accepted.
fn verify_signed(
    shared: &Shared,
    form: &[(String, String)],
    also_accept: &[&str],
) -> Result<(), ApiError> {
    let invalid_client = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client_id",
            "The client_id parameter is invalid",
        )
    };
    let client_id = field(form, "clientid").ok_or_else(invalid_client)?;
    let secret = {
        let store = shared.store();
        store
            .apps
            .get(client_id)
            .map(|a| a.client_secret.clone())
            .ok_or_else(invalid_client)?
    };
    let ts_text = field(form, "ts")
        .ok_or_else(|| ApiError::invalid_parameter("Timestamp parameter is missing or invalid"))?;
    let ts: i64 = ts_text
        .parse()
        .map_err(|_| ApiError::invalid_parameter("Timestamp parameter is missing or invalid"))?;
    let now = now_unix();
    if ts < now - MAX_TS_AGE_SECS {
        return Err(ApiError::invalid_parameter(
            "Timestamp parameter is missing or invalid: it is more than 30 minutes old",
        ));
    }
    if ts > now + MAX_TS_SKEW_SECS {
        return Err(ApiError::invalid_parameter(
            "Timestamp parameter is missing or invalid: it is in the future",
        ));
    }
    let presented = field(form, "hmac")
        .ok_or_else(|| ApiError::invalid_parameter("HMAC parameter is missing or invalid"))?
        .to_ascii_lowercase();
    let mut candidates = vec![sha256_hex(&format!("{secret}{client_id}{ts_text}"))];
    candidates.extend(
        also_accept
            .iter()
            .map(|extra| sha256_hex(&format!("{secret}{client_id}{extra}{ts_text}"))),
    );
    if candidates.iter().any(|c| secret_eq(c, &presented)) {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter(
            "HMAC parameter is missing or invalid",
        ))
    }
}

fn issuer<'a>(shared: &'a Shared, form: &[(String, String)]) -> Result<&'a Issuer, ApiError> {
    field(form, "orgid")
        .and_then(|orgid| shared.catalogue.issuer(orgid))
        .ok_or_else(|| ApiError::invalid_parameter("Orgid parameter is missing or invalid"))
}

/// `POST oauth2/1/pull/issuers`.
pub(crate) async fn issuers(
    State(shared): State<SharedState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = parse_form(&body)?;
    verify_signed(&shared, &form, &[])?;
    let issuers: Vec<Value> = shared
        .catalogue
        .issuers
        .iter()
        .map(|i| {
            json!({
                "name": i.name,
                "description": i.description,
                "categories": i.categories,
                "issuerid": i.issuerid,
                "orgid": i.orgid,
            })
        })
        .collect();
    Ok(Json(json!({ "issuers": issuers })))
}

/// `POST oauth2/1/pull/doctype` (`orgid`).
pub(crate) async fn doctypes(
    State(shared): State<SharedState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = parse_form(&body)?;
    let orgid = field(&form, "orgid").unwrap_or_default().to_owned();
    verify_signed(&shared, &form, &[&orgid])?;
    let issuer = issuer(&shared, &form)?;
    let documents: Vec<Value> = issuer
        .doctypes
        .iter()
        // `mime`: a sandbox-only hint (DigiLocker's answer has no formats),
        // the same list `files/issued` gives once the document is pulled.
        .map(|d| json!({"doctype": d.doctype, "description": d.description, "mime": d.mime}))
        .collect();
    Ok(Json(json!({ "documents": documents })))
}

fn doctype<'a>(issuer: &'a Issuer, form: &[(String, String)]) -> Result<&'a DocTypeDef, ApiError> {
    field(form, "doctype")
        .and_then(|doctype| issuer.doctypes.iter().find(|d| d.doctype == doctype))
        .ok_or_else(|| ApiError::invalid_parameter("Doctype parameter is missing or invalid"))
}

/// `POST oauth2/1/pull/parameters` (`orgid`, `doctype`).
pub(crate) async fn parameters(
    State(shared): State<SharedState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = parse_form(&body)?;
    let orgid = field(&form, "orgid").unwrap_or_default().to_owned();
    let doctype_name = field(&form, "doctype").unwrap_or_default().to_owned();
    verify_signed(&shared, &form, &[&orgid, &format!("{orgid}{doctype_name}")])?;
    let issuer = issuer(&shared, &form)?;
    let doctype = doctype(issuer, &form)?;
    let params: Vec<Value> = doctype
        .params
        .iter()
        .map(|p| {
            json!({
                "label": p.label,
                "paramname": p.paramname,
                "example": p.example,
                "valuelist": p.valuelist,
            })
        })
        .collect();
    Ok(Json(Value::Array(params)))
}

/// `POST oauth2/1/pull/pulldocument` (Bearer; `orgid`, `doctype`,
/// `consent=Y`, and each issuer parameter by its `paramname`).
pub(crate) async fn pull_document(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let auth = authorize_bearer(&shared, &headers)?;
    let form = parse_form(&body)?;
    let orgid = field(&form, "orgid").ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "invalid_orgid",
            "Orgid parameter is missing or invalid",
        )
    })?;
    let issuer = shared.catalogue.issuer(orgid).ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "invalid_orgid",
            format!("No issuer with orgid {orgid:?}"),
        )
    })?;
    let doctype = field(&form, "doctype")
        .and_then(|d| issuer.doctypes.iter().find(|t| t.doctype == d))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "invalid_doctype",
                format!("The issuer {orgid} does not issue this doctype"),
            )
        })?;
    if field(&form, "consent") != Some("Y") {
        return Err(ApiError::invalid_parameter(
            "Consent parameter is missing or invalid: the user's consent (consent=Y) is required",
        ));
    }
    let params: Vec<(String, String)> = form
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "orgid" | "doctype" | "consent"))
        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
        .collect();
    let doc = documents::pull(&auth.account.citizen, issuer, doctype, &params).map_err(|e| match e {
        PullError::RecordNotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "record_not_found",
            "No record found in issuer database for given criteria. Please check the details and try again.",
        ),
        PullError::MissingParameter(name) => {
            ApiError::invalid_parameter(format!("{name} parameter is missing or invalid"))
        }
    })?;
    let mut store = shared.store();
    let account = store
        .accounts
        .get_mut(auth.grant.account)
        .ok_or_else(|| ApiError::unexpected("the token's account is gone"))?;
    // A retry of a pull this grant already made answers the same URI.
    if auth.grant.pulled.contains(&doc.uri) {
        return Ok(Json(json!({ "uri": doc.uri })));
    }
    if account.document(&doc.uri).is_some() {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "uri_exists",
            format!(
                "This document is already in the user's DigiLocker (uri {}); fetch it by that URI if the user shared it",
                doc.uri
            ),
        ));
    }
    let uri = doc.uri.clone();
    account.pulled.push(doc);
    if let Some(grant) = store.grants.get_mut(&auth.grant_id) {
        grant.pulled.insert(uri.clone());
    }
    Ok(Json(json!({ "uri": uri })))
}
