//! The signed catalogue calls (`pull/issuers`, `pull/doctype`,
//! `pull/parameters`) and the bearer `pull/pulldocument`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use std::time::Instant;

use super::oauth::now_unix;
use super::{authorize_bearer, secret_eq, ApiError, Shared, SharedState};
use crate::catalogue::{DocTypeDef, Issuer};
use crate::documents::{self, PullError};
use crate::store::{PendingPull, PENDING_WINDOW};

/// How old a signed call's `ts` may be (DigiLocker: 30 minutes). A `ts` in
/// the future is refused, as DigiLocker refuses it.
const MAX_TS_AGE_SECS: i64 = 30 * 60;

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
    if ts > now {
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

/// DigiLocker's own slowness on the catalogue calls
/// ([`crate::SandboxConfig::catalogue_latency`] and its jitter).
async fn catalogue_latency(shared: &Shared) {
    let latency = shared.federation.catalogue_delay();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

/// What DigiLocker says when an issuer's repository fails with `code`.
fn repository_text(code: &str) -> &'static str {
    match code {
        "repository_service_unresponsive" => {
            "The issuer's repository service is not responding. Please try again later."
        }
        "repository_service_inactive" => "The issuer's repository service is inactive.",
        "repository_service_unpublished" => "The issuer's repository service is not published yet.",
        "repository_service_configerror" => {
            "The issuer's repository service is not configured correctly."
        }
        "repository_service_resperror" => {
            "The issuer's repository service sent an invalid response."
        }
        "repository_service_exception" => {
            "The issuer's repository service failed with an exception."
        }
        _ => "The issuer's repository service failed.",
    }
}

/// A call that reaches the issuer's back-end (after DigiLocker's own
/// checks): wait and fail as its fault says ([`crate::federation`]).
/// `doctype` is `None` for `pull/doctype`.
async fn reach_issuer(
    shared: &Shared,
    issuer: &Issuer,
    doctype: Option<&str>,
) -> Result<(), ApiError> {
    let plan = shared.federation.plan(&issuer.orgid, doctype);
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    let Some(fault) = plan.fail else {
        return Ok(());
    };
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let description = format!(
        "{} ({}, org id {})",
        repository_text(&fault.error),
        issuer.name,
        issuer.orgid
    );
    if fault.html {
        return Err(ApiError::proxy_page(status, description));
    }
    Err(ApiError::new(status, &fault.error, description))
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
    catalogue_latency(&shared).await;
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
    catalogue_latency(&shared).await;
    let form = parse_form(&body)?;
    let orgid = field(&form, "orgid").unwrap_or_default().to_owned();
    verify_signed(&shared, &form, &[&orgid])?;
    let issuer = issuer(&shared, &form)?;
    reach_issuer(&shared, issuer, None).await?;
    let documents: Vec<Value> = issuer
        .doctypes
        .iter()
        // Only these two, as DigiLocker answers: the formats a document
        // comes in show only once it is issued (`mime` in `files/issued`).
        .map(|d| json!({"doctype": d.doctype, "description": d.description}))
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
    catalogue_latency(&shared).await;
    let form = parse_form(&body)?;
    let orgid = field(&form, "orgid").unwrap_or_default().to_owned();
    let doctype_name = field(&form, "doctype").unwrap_or_default().to_owned();
    verify_signed(&shared, &form, &[&orgid, &format!("{orgid}{doctype_name}")])?;
    let issuer = issuer(&shared, &form)?;
    let doctype = doctype(issuer, &form)?;
    reach_issuer(&shared, issuer, Some(&doctype.doctype)).await?;
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

fn pull_error(status: StatusCode, error: &str, description: impl Into<String>) -> ApiError {
    ApiError::new(status, error, description)
}

/// Doc types whose issuers match a pull against the citizen's Aadhaar
/// record, so an account without Aadhaar cannot pull them
/// (`500 aadhaar_not_linked`): the identity documents.
const NEEDS_AADHAAR: [&str; 3] = ["PANCR", "DRVLC", "RVCER"];

/// `500 pull_response_pending`, DigiLocker's text.
fn pending() -> ApiError {
    pull_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "pull_response_pending",
        "The details provided above do not exactly match with the details on the certificate. \
         Your request has been forwarded to the Issuer department. The Issuer department will \
         verify the details provided above. If the verification is successful, your certificate \
         will be made available in the Issued Documents section of your DigiLocker.",
    )
}

/// `POST oauth2/1/pull/pulldocument` (Bearer; `orgid`, `doctype`,
/// `consent=Y`, and each issuer parameter by its `paramname`).
///
/// In order: the token; `500 invalid_orgid`, `500 invalid_doctype` (unknown
/// to the catalogue); `400 invalid_parameter` (`consent` not `Y`);
/// `500 invalid_doctype` when the consent covers neither pulling this doc
/// type (`file.partners/<DOCTYPE>`) nor an issued document of it;
/// `500 aadhaar_not_linked` for an identity document and an account without
/// Aadhaar; the issuer's fault, if it has one ([`crate::federation`]);
/// `400 invalid_parameter` (an issuer parameter missing) or
/// `404 record_not_found` (no record of this citizen matches: see
/// [`crate::documents`]) from the issuer; the `pull_pending` fault;
/// `500 uri_exists` when the locker already has a document of that URI
/// (seeded, or pulled by any consent, this one included); a slow issuer's
/// `500 pull_response_pending`; else `{"uri": ...}`.
pub(crate) async fn pull_document(
    State(shared): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let auth = authorize_bearer(&shared, &headers)?;
    let form = parse_form(&body)?;
    let orgid = field(&form, "orgid").ok_or_else(|| {
        pull_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "invalid_orgid",
            "The orgid parameter is missing or invalid.",
        )
    })?;
    let issuer = shared.catalogue.issuer(orgid).ok_or_else(|| {
        pull_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "invalid_orgid",
            format!("The orgid parameter is missing or invalid: no issuer has orgid {orgid:?}."),
        )
    })?;
    let doctype = field(&form, "doctype")
        .and_then(|d| issuer.doctypes.iter().find(|t| t.doctype == d))
        .ok_or_else(|| {
            pull_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "invalid_doctype",
                format!(
                    "The doctype parameter is missing or invalid: the issuer {orgid} does not issue it."
                ),
            )
        })?;
    if field(&form, "consent") != Some("Y") {
        return Err(ApiError::invalid_parameter(
            "Consent parameter is missing or invalid: the user's consent (consent=Y) is required",
        ));
    }
    if !auth.grant.may_pull(&auth.account, &doctype.doctype) {
        return Err(pull_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "invalid_doctype",
            format!(
                "The doctype parameter is missing or invalid: the user's consent does not cover {} \
                 (ask for it with req_doctype; the user must agree to it on the consent page)",
                doctype.doctype
            ),
        ));
    }
    let citizen = &auth.account.citizen;
    if citizen.aadhaar.is_none() && NEEDS_AADHAAR.contains(&doctype.doctype.as_ref()) {
        return Err(pull_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "aadhaar_not_linked",
            "To access issued documents, please link your Aadhaar number to your DigiLocker account.",
        ));
    }
    reach_issuer(&shared, issuer, Some(&doctype.doctype)).await?;
    let params: Vec<(String, String)> = form
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "orgid" | "doctype" | "consent"))
        .map(|(k, v)| (k.clone(), v.trim().to_owned()))
        .collect();
    let doc = documents::pull(citizen, issuer, doctype, &params).map_err(|e| match e {
        PullError::RecordNotFound => pull_error(
            StatusCode::NOT_FOUND,
            "record_not_found",
            "No record found in issuer database for given criteria. Please check the details and try again.",
        ),
        PullError::MissingParameter(name) => {
            ApiError::invalid_parameter(format!("{name} parameter is missing or invalid"))
        }
    })?;
    let pull_pending = shared.faults.get().pull_pending;
    if pull_pending.as_ref().is_some_and(|p| p.attempts.is_none()) {
        return Err(pending());
    }
    let slow_attempts = pull_pending.and_then(|p| p.attempts).or_else(|| {
        shared
            .config
            .slow_issuers
            .iter()
            .find(|s| s.orgid == issuer.orgid && s.doctype == doctype.doctype)
            .map(|s| s.attempts)
    });
    let mut store = shared.store();
    let account = store
        .accounts
        .get(auth.grant.account)
        .ok_or_else(|| ApiError::unexpected("the token's account is gone"))?;
    // The same URI is the same document: issued at seed time, or pulled
    // before by any consent of this account (this one included).
    if account.document(&doc.uri).is_some() {
        return Err(pull_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "uri_exists",
            "This document already exists in your Issued Documents.",
        ));
    }
    if let Some(attempts) = slow_attempts.filter(|a| *a > 0) {
        let now = Instant::now();
        let entry = store
            .pending_pulls
            .entry((auth.grant.account, doc.uri.clone()))
            .or_insert(PendingPull {
                answered: 0,
                first: now,
            });
        if entry.first + PENDING_WINDOW <= now {
            *entry = PendingPull {
                answered: 0,
                first: now,
            };
        }
        if entry.answered < attempts {
            entry.answered += 1;
            return Err(pending());
        }
    }
    store
        .pending_pulls
        .remove(&(auth.grant.account, doc.uri.clone()));
    let uri = doc.uri.clone();
    store
        .accounts
        .get_mut(auth.grant.account)
        .ok_or_else(|| ApiError::unexpected("the token's account is gone"))?
        .pulled
        .push(doc);
    if let Some(grant) = store.grants.get_mut(&auth.grant_id) {
        grant.pulled.insert(uri.clone());
    }
    Ok(Json(json!({ "uri": uri })))
}
