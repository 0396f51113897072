//! The catalogue, fetching a document, and the user's issued documents.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::caller_request;
use super::model::{
    DocumentsQuery, DocumentsResponse, ErrorBody, FetchDocumentRequest, FileLink, IssuedDocument,
    IssuedResponse, ParameterValue,
};
use crate::auth::Caller;
use crate::domain::{truncate, DocType, OrgId};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::token::{ensure_usable, with_token};
use crate::{crypto, files, upstream};

/// Most parameters a fetch may carry.
const MAX_PARAMETERS: usize = 20;

/// The catalogue of documents DigiLocker can fetch.
#[utoipa::path(
    get, path = "/api/digilocker/documents", tag = "documents",
    params(DocumentsQuery, ("If-None-Match" = Option<String>, Header, description = "An earlier `ETag`.")),
    responses(
        (status = 200, body = DocumentsResponse, headers(("ETag" = String))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag."),
        (status = 400, description = "`invalid_payload`: an unreadable query.", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 503, description = "`catalogue_not_ready`: the first build is still running; retry after `Retry-After`.", body = ErrorBody),
    ),
    security(("client" = []))
)]
pub async fn catalogue(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<DocumentsQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Some(snapshot) = state.catalogue.snapshot(state.store.as_ref()).await? else {
        return Err(ApiError::CatalogueNotReady);
    };
    let filtered = query.org_id.is_some() || query.doc_type.is_some() || query.q.is_some();
    let (body, etag) = if filtered {
        let body = snapshot.filtered_json(
            query.org_id.as_deref(),
            query.doc_type.as_deref(),
            query.q.as_deref(),
        );
        let etag = format!(
            "\"{}\"",
            hex::encode(&crypto::hash_secret(&String::from_utf8_lossy(&body))[..12])
        );
        (body, etag)
    } else {
        (snapshot.json.clone(), snapshot.etag.clone())
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::ETAG, etag),
        ],
        body,
    )
        .into_response())
}

fn required<'a>(value: &'a Option<String>, name: &str) -> ApiResult<&'a str> {
    value
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::InvalidPayload(format!("{name} is required.")))
}

fn parameters(given: Option<Vec<ParameterValue>>) -> ApiResult<Vec<(String, String)>> {
    let given = given.unwrap_or_default();
    if given.len() > MAX_PARAMETERS {
        return Err(ApiError::InvalidPayload(format!(
            "parameters has more than {MAX_PARAMETERS} entries."
        )));
    }
    given
        .into_iter()
        .map(|p| {
            if p.name.len() > 64 || p.value.len() > 256 {
                return Err(ApiError::InvalidPayload(
                    "a parameter's name or value is too long.".into(),
                ));
            }
            Ok((p.name, p.value))
        })
        .collect()
}

/// Fetch a document into a download link.
#[utoipa::path(
    post, path = "/api/digilocker/{id}/document", tag = "documents",
    params(("id" = String, Path, description = "The request id.")),
    request_body = FetchDocumentRequest,
    responses(
        (status = 200, body = FileLink),
        (status = 400, description = "`invalid_payload`, `consent_not_given`, `bad_request`, `aadhaar_not_linked`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`, `user_not_authenticated`, `token_revoked`, `invalid_token`.", body = ErrorBody),
        (status = 403, description = "`invalid_grant`, `user_consent_not_given`.", body = ErrorBody),
        (status = 404, description = "`request_not_found`, `invalid_uri`, `record_not_found`.", body = ErrorBody),
        (status = 502, description = "`upstream_server_error`.", body = ErrorBody),
        (status = 503, description = "`catalogue_not_ready`.", body = ErrorBody),
    ),
    security(("client" = []))
)]
pub async fn fetch(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<FetchDocumentRequest>,
) -> ApiResult<Json<FileLink>> {
    let r = caller_request(&state, &caller, &id).await?;
    if !matches!(&body.consent, Some(serde_json::Value::String(c)) if c == "Y") {
        return Err(ApiError::ConsentNotGiven);
    }
    // Ours: fetch an issued document by its URI.
    if let Some(uri) = body.uri.as_deref() {
        if uri.is_empty() || uri.len() > 256 || uri.contains('/') || uri.contains("..") {
            return Err(ApiError::InvalidPayload(
                "uri must be a DigiLocker document URI.".into(),
            ));
        }
        ensure_usable(&r)?;
        let file = with_token(&state, &r, |t| {
            let state = state.clone();
            let uri = uri.to_owned();
            async move { upstream::call(&state, "file", state.dl.file(&t, &uri)).await }
        })
        .await?;
        let name = format!(
            "{}.{}",
            sanitize_filename(uri),
            extension(&file.content_type)
        );
        return files::store_and_link(&state, &r, &file.content_type, &name, &file.bytes)
            .await
            .map(Json);
    }
    let doc_type =
        DocType::parse(required(&body.doc_type, "docType")?).map_err(ApiError::InvalidPayload)?;
    let org_id =
        OrgId::parse(required(&body.org_id, "orgId")?).map_err(ApiError::InvalidPayload)?;
    let format = required(&body.format, "format")?.to_ascii_lowercase();
    let params = parameters(body.parameters)?;
    ensure_usable(&r)?;

    let entry = state
        .catalogue
        .entry(state.store.as_ref(), org_id.as_str(), doc_type.as_str())
        .await?
        .ok_or_else(|| {
            ApiError::InvalidPayload(format!(
                "No document with docType {} and orgId {} in the catalogue (GET /api/digilocker/documents).",
                doc_type.as_str(),
                org_id.as_str()
            ))
        })?;
    if !entry.available_formats.iter().any(|f| f == &format) {
        return Err(ApiError::InvalidPayload(format!(
            "format {:?} is not available for this document; use one of {:?}.",
            truncate(&format),
            entry.available_formats
        )));
    }
    for p in &entry.parameters {
        match params.iter().find(|(n, _)| n == &p.name) {
            Some((_, v)) if !v.trim().is_empty() => {}
            _ => {
                return Err(ApiError::InvalidPayload(format!(
                    "parameter {} ({}) is required.",
                    p.name, p.description
                )))
            }
        }
    }
    if let Some((unknown, _)) = params
        .iter()
        .find(|(n, _)| !entry.parameters.iter().any(|p| &p.name == n))
    {
        return Err(ApiError::InvalidPayload(format!(
            "parameter {:?} is not one this document takes.",
            truncate(unknown)
        )));
    }

    let uri = with_token(&state, &r, |t| {
        let state = state.clone();
        let (org, doc, params) = (
            org_id.as_str().to_owned(),
            doc_type.as_str().to_owned(),
            params.clone(),
        );
        async move {
            upstream::call(
                &state,
                "pull_document",
                state.dl.pull_document(&t, &org, &doc, &params),
            )
            .await
        }
    })
    .await?;
    let (content_type, bytes) = if format == "xml" {
        let bytes = with_token(&state, &r, |t| {
            let state = state.clone();
            let uri = uri.clone();
            async move { upstream::call(&state, "xml", state.dl.xml(&t, &uri)).await }
        })
        .await?;
        ("application/xml".to_owned(), bytes)
    } else {
        let file = with_token(&state, &r, |t| {
            let state = state.clone();
            let uri = uri.clone();
            async move { upstream::call(&state, "file", state.dl.file(&t, &uri)).await }
        })
        .await?;
        (file.content_type, file.bytes)
    };
    let name = format!(
        "{}-{}.{}",
        doc_type.as_str(),
        sanitize_filename(org_id.as_str()),
        extension(&content_type)
    );
    files::store_and_link(&state, &r, &content_type, &name, &bytes)
        .await
        .map(Json)
}

fn sanitize_filename(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}

fn extension(content_type: &str) -> &'static str {
    match content_type.split(';').next().unwrap_or("").trim() {
        "application/pdf" => "pdf",
        "application/xml" | "text/xml" => "xml",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/png" => "png",
        _ => "bin",
    }
}

/// Ours: the user's issued documents.
#[utoipa::path(
    get, path = "/api/digilocker/{id}/issued", tag = "documents",
    params(("id" = String, Path, description = "The request id.")),
    responses(
        (status = 200, body = IssuedResponse),
        (status = 401, description = "`unauthorized`, `user_not_authenticated`, `token_revoked`, `invalid_token`.", body = ErrorBody),
        (status = 403, description = "`user_consent_not_given`.", body = ErrorBody),
        (status = 404, description = "`request_not_found`.", body = ErrorBody),
        (status = 502, description = "`upstream_server_error`.", body = ErrorBody),
    ),
    security(("client" = []))
)]
pub async fn issued(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<IssuedResponse>> {
    let r = caller_request(&state, &caller, &id).await?;
    let items = with_token(&state, &r, |t| {
        let state = state.clone();
        async move { upstream::call(&state, "files_issued", state.dl.issued_files(&t)).await }
    })
    .await?;
    let documents = items
        .into_iter()
        .map(|f| IssuedDocument {
            name: f.name,
            doc_type: f.doctype.unwrap_or_default(),
            org_id: f.issuerid.unwrap_or_default(),
            issuer: f.issuer.unwrap_or_default(),
            uri: f.uri,
            mime: f.mime,
            date: f.date.unwrap_or_default(),
            description: f.description.unwrap_or_default(),
        })
        .collect();
    Ok(Json(IssuedResponse {
        id: r.id,
        documents,
    }))
}
