//! The catalogue, fetching a document, and the user's issued documents.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::caller_request;
use super::model::{
    DocumentsQuery, DocumentsResponse, ErrorBody, FetchDocumentRequest, FileLink, IssuedDocument,
    IssuedResponse, ParameterValue,
};
use crate::auth::Caller;
use crate::catalogue::{Document, Entry, Snapshot};
use crate::domain::{truncate, DocType, OrgId};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::token::{ensure_usable, with_token, with_token_mapped};
use crate::{crypto, files, upstream};

/// Most parameters a fetch may carry.
const MAX_PARAMETERS: usize = 20;

/// The catalogue of documents DigiLocker can fetch.
#[utoipa::path(
    get, path = "/api/digilocker/documents", tag = "documents",
    params(DocumentsQuery, ("If-None-Match" = Option<String>, Header, description = "An earlier `ETag`.")),
    responses(
        (status = 200, body = DocumentsResponse, headers(
            ("ETag" = String),
            ("x-catalogue-complete" = bool, description = "true when every issuer DigiLocker lists answered its last call, else false."),
            ("x-catalogue-issuers" = i64, description = "Issuers DigiLocker lists."),
            ("x-catalogue-failing-issuers" = i64, description = "Issuers whose last call failed; their documents are from their last good answer, or missing until they answer. Retried with backoff."),
            ("x-catalogue-pending-issuers" = i64, description = "Issuers not asked yet (a first build still running)."),
            ("x-catalogue-updated-at" = String, description = "When this version of the catalogue was stored."),
        )),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag."),
        (status = 400, description = "`invalid_payload`: an unreadable query.", body = ErrorBody),
        (status = 401, description = "`vault_secret_error` (a credential header missing), `unauthorized`.", body = ErrorBody),
        (status = 503, description = "`catalogue_not_ready`: no issuer has answered yet (the first seconds of a first start, or DigiLocker's issuer list failing); retry after `Retry-After`.", body = ErrorBody),
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
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let filtered = query.org_id.is_some() || query.doc_type.is_some() || query.q.is_some();
    if filtered {
        let key = format!(
            "{}\u{0}{}\u{0}{}",
            query.org_id.as_deref().unwrap_or_default(),
            query.doc_type.as_deref().unwrap_or_default(),
            query.q.as_deref().unwrap_or_default()
        );
        let etag = format!(
            "W/\"catalogue-v{}-{}\"",
            snapshot.version,
            hex::encode(&crypto::hash_secret(&key)[..8])
        );
        if etag_matches(if_none_match, &etag) {
            return Ok(not_modified(etag));
        }
        let body = snapshot.filtered_json(
            query.org_id.as_deref(),
            query.doc_type.as_deref(),
            query.q.as_deref(),
        );
        let mut response = (
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (header::ETAG, etag),
            ],
            body,
        )
            .into_response();
        completeness_headers(&snapshot, response.headers_mut());
        return Ok(response);
    }
    if etag_matches(if_none_match, &snapshot.etag) {
        return Ok(not_modified(snapshot.etag.clone()));
    }
    // The whole catalogue was serialised and compressed once for this version.
    let encoding = snapshot.negotiate(
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    );
    let mut response = snapshot.body(encoding).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&snapshot.etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(e) = encoding.header() {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(e));
    }
    completeness_headers(&snapshot, h);
    Ok(response)
}

/// How complete the catalogue is, out of band (the body keeps the hosted
/// API's shape): `x-catalogue-complete` `true` or `false`,
/// `x-catalogue-issuers` listed, `x-catalogue-failing-issuers` whose last
/// answer failed (their entries, if any, are from their last good answer),
/// `x-catalogue-pending-issuers` not asked yet, `x-catalogue-updated-at`.
fn completeness_headers(snapshot: &Snapshot, h: &mut HeaderMap) {
    let m = &snapshot.meta;
    let pairs = [
        ("x-catalogue-complete", m.complete().to_string()),
        ("x-catalogue-issuers", m.issuers.to_string()),
        ("x-catalogue-failing-issuers", m.failing.to_string()),
        ("x-catalogue-pending-issuers", m.pending.to_string()),
        ("x-catalogue-updated-at", crate::timefmt::ist(m.built_at)),
    ];
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
}

fn not_modified(etag: String) -> Response {
    (
        StatusCode::NOT_MODIFIED,
        [
            (header::ETAG, etag),
            (header::VARY, "accept-encoding".to_owned()),
        ],
    )
        .into_response()
}

/// `If-None-Match` against our ETag, by weak comparison: `*`, or any listed
/// tag equal once `W/` is set aside.
fn etag_matches(if_none_match: Option<&str>, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    if_none_match.is_some_and(|list| {
        list.split(',')
            .any(|t| t.trim() == "*" || bare(t) == bare(etag))
    })
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
        (status = 401, description = "`vault_secret_error` (a credential header missing), `unauthorized`, `user_not_authenticated`, `user_consent_not_given`, `token_revoked`, `invalid_token`.", body = ErrorBody),
        (status = 403, description = "`invalid_grant`.", body = ErrorBody),
        (status = 404, description = "`request_not_found`, `invalid_uri`, `record_not_found`.", body = ErrorBody),
        (status = 500, description = "`upstream_server_error`.", body = ErrorBody),
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
        let file = document_file(&state, &r, uri).await?;
        let content_type = media_type(&file.content_type);
        let name = format!("{}.{}", sanitize_filename(uri), extension(&content_type));
        let doc_type = uri.split('-').nth(1).unwrap_or_default();
        let org = uri.split('-').next().unwrap_or_default();
        let fetched = files::Fetched::Document {
            doc_type,
            org_id: org,
            format: extension(&content_type),
        };
        return files::store_and_link(&state, &r, &content_type, &name, &file.bytes, fetched)
            .await
            .map(Json);
    }
    let doc_type =
        DocType::parse(required(&body.doc_type, "docType")?).map_err(ApiError::InvalidPayload)?;
    let org_id = body
        .org_id
        .as_deref()
        .filter(|o| !o.is_empty())
        .map(|o| OrgId::parse(o).map_err(ApiError::InvalidPayload))
        .transpose()?;
    let format = required(&body.format, "format")?.to_ascii_lowercase();
    let params = parameters(body.parameters)?;
    ensure_usable(&r)?;
    // The hosted schema requires only docType, format and consent.
    let org_id = match org_id {
        Some(o) => o,
        None => resolve_org_id(&state, &r, doc_type.as_str()).await?,
    };

    // The catalogue helps check the call; it never gates it: a pair it does
    // not (yet) hold, an issuer failing upstream, or a catalogue still being
    // built, and the fetch is tried upstream with the business's parameters.
    let known = state
        .catalogue
        .entry(state.store.as_ref(), org_id.as_str(), doc_type.as_str())
        .await?;
    if known.is_none() && !matches!(format.as_str(), "pdf" | "xml") {
        return Err(ApiError::InvalidPayload(format!(
            "format {:?} is not one DigiLocker serves; use \"pdf\" or \"xml\".",
            truncate(&format)
        )));
    }
    let checked = known.is_some();
    let entry = known.unwrap_or_else(|| Entry {
        document: Document {
            available_formats: vec!["pdf".into(), "xml".into()],
            description: String::new(),
            doc_type: doc_type.as_str().to_owned(),
            org_id: org_id.as_str().to_owned(),
            org_name: String::new(),
            parameters: Vec::new(),
        },
        issuer_id: String::new(),
    });
    let doc = &entry.document;
    if !doc.available_formats.iter().any(|f| f == &format) {
        return Err(ApiError::InvalidPayload(format!(
            "format {:?} is not available for this document; use one of {:?}.",
            truncate(&format),
            doc.available_formats
        )));
    }
    if !checked {
        tracing::info!(
            org_id = org_id.as_str(),
            doc_type = doc_type.as_str(),
            "not in the catalogue (yet); asking DigiLocker directly"
        );
    }
    for p in &doc.parameters {
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
        .filter(|_| checked)
        .find(|(n, _)| !doc.parameters.iter().any(|p| &p.name == n))
    {
        return Err(ApiError::InvalidPayload(format!(
            "parameter {:?} is not one this document takes.",
            truncate(unknown)
        )));
    }
    let uri = pull(&state, &r, &entry, &params).await?;
    let (content_type, bytes) = if format == "xml" {
        let bytes = document_xml(&state, &r, &uri).await?;
        ("application/xml".to_owned(), bytes)
    } else {
        let file = document_file(&state, &r, &uri).await?;
        (media_type(&file.content_type), file.bytes)
    };
    let name = format!(
        "{}-{}.{}",
        doc_type.as_str(),
        sanitize_filename(org_id.as_str()),
        extension(&content_type)
    );
    let fetched = files::Fetched::Document {
        doc_type: doc_type.as_str(),
        org_id: org_id.as_str(),
        format: &format,
    };
    files::store_and_link(&state, &r, &content_type, &name, &bytes, fetched)
        .await
        .map(Json)
}

/// The issuer of `doc_type` when the business sent no `orgId`: the one whose
/// document of that type the user already holds, else the catalogue's only
/// issuer of it; several candidates are named in the error.
async fn resolve_org_id(
    state: &AppState,
    r: &crate::storage::RequestRecord,
    doc_type: &str,
) -> ApiResult<OrgId> {
    let snapshot = state.catalogue.snapshot(state.store.as_ref()).await?;
    let candidates: Vec<Entry> = snapshot
        .as_ref()
        .map(|s| s.with_doc_type(doc_type).into_iter().cloned().collect())
        .unwrap_or_default();
    let pick = |e: &Entry| OrgId::parse(&e.document.org_id).map_err(ApiError::InvalidPayload);
    if candidates.len() > 1 {
        // The user's own document of this type names its issuer.
        let issued = issued_files(state, r).await;
        match issued {
            Ok(items) => {
                let held: std::collections::HashSet<String> = items
                    .into_iter()
                    .filter(|f| f.doctype.as_deref() == Some(doc_type))
                    .filter_map(|f| f.issuerid)
                    .collect();
                let mine: Vec<&Entry> = candidates
                    .iter()
                    .filter(|e| !e.issuer_id.is_empty() && held.contains(&e.issuer_id))
                    .collect();
                if let [one] = mine.as_slice() {
                    return pick(one);
                }
            }
            Err(e) => {
                tracing::info!(error = %e, "issued documents unavailable; orgId from the catalogue only")
            }
        }
    }
    match candidates.as_slice() {
        [one] => pick(one),
        [] => Err(ApiError::InvalidPayload(format!(
            "orgId is required: no issuer of docType {doc_type} is in the catalogue \
             (GET /api/digilocker/documents?docType={doc_type})."
        ))),
        many => {
            const SHOWN: usize = 10;
            let mut names: Vec<String> = many
                .iter()
                .take(SHOWN)
                .map(|e| format!("{} ({})", e.document.org_id, e.document.org_name))
                .collect();
            if many.len() > SHOWN {
                names.push(format!("and {} more", many.len() - SHOWN));
            }
            Err(ApiError::InvalidPayload(format!(
                "orgId is required: docType {doc_type} has {} issuers and the user holds none \
                 of their documents: {}. Send the orgId to fetch from \
                 (GET /api/digilocker/documents?docType={doc_type}).",
                many.len(),
                names.join(", ")
            )))
        }
    }
}

/// Pull the document into the user's locker, or find it there when it
/// already is (a returning customer, or this request asking twice:
/// DigiLocker answers `uri_exists`). A slow issuer (`pull_response_pending`)
/// is asked again with backoff within the upstream timeout.
async fn pull(
    state: &AppState,
    r: &crate::storage::RequestRecord,
    entry: &Entry,
    params: &[(String, String)],
) -> ApiResult<String> {
    let deadline = tokio::time::Instant::now() + state.config.upstream_timeout;
    let mut delay = Duration::from_millis(500);
    loop {
        let attempt = with_token_mapped(
            state,
            r,
            |t| {
                let state = state.clone();
                let doc = &entry.document;
                let issuer = Some(entry.issuer_id.as_str()).filter(|i| !i.is_empty());
                async move {
                    upstream::call(
                        &state.metrics,
                        "pull_document",
                        state.dl.pull_document_or_existing(
                            &t,
                            &doc.org_id,
                            issuer,
                            &doc.doc_type,
                            params,
                        ),
                    )
                    .await
                }
            },
            upstream::to_pull_error,
        )
        .await;
        match attempt {
            Ok(pulled) => {
                if pulled.already_in_locker {
                    tracing::info!(request_id = %r.id, "document already in the locker; serving it");
                }
                return Ok(pulled.uri);
            }
            Err(ApiError::IssuerPending) if tokio::time::Instant::now() + delay < deadline => {
                tracing::info!(request_id = %r.id, wait_ms = delay.as_millis() as u64, "issuer pending; asking again");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
}

pub(super) fn sanitize_filename(s: &str) -> String {
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

/// The type a fetched file is served with: DigiLocker's as it sent it, but
/// `image/jpg` (which its spec lists beside `image/jpeg`) as the registered
/// `image/jpeg`, so clients and browsers know the picture.
pub(super) fn media_type(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("image/jpg") {
        "image/jpeg".to_owned()
    } else {
        content_type.to_owned()
    }
}

pub(super) fn extension(content_type: &str) -> &'static str {
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
        (status = 401, description = "`vault_secret_error` (a credential header missing), `unauthorized`, `user_not_authenticated`, `user_consent_not_given`, `token_revoked`, `invalid_token`.", body = ErrorBody),
        (status = 404, description = "`request_not_found`.", body = ErrorBody),
        (status = 500, description = "`upstream_server_error`.", body = ErrorBody),
    ),
    security(("client" = []))
)]
pub async fn issued(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<IssuedResponse>> {
    let r = caller_request(&state, &caller, &id).await?;
    let items = issued_files(&state, &r).await?;
    let documents = items
        .into_iter()
        .map(|f| IssuedDocument {
            name: f.name,
            doc_type: f.doctype.unwrap_or_default(),
            issuer_id: f.issuerid.unwrap_or_default(),
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

/// One document's file (its PDF, or a scan), from DigiLocker's `file` endpoint.
pub(super) async fn document_file(
    state: &AppState,
    r: &crate::storage::RequestRecord,
    uri: &str,
) -> ApiResult<digilocker::FileDownload> {
    with_token(state, r, |t| {
        let state = state.clone();
        let uri = uri.to_owned();
        async move { upstream::call(&state.metrics, "file", state.dl.file(&t, &uri)).await }
    })
    .await
}

/// One document's certificate data (issuer XML), from DigiLocker's `xml` endpoint.
pub(super) async fn document_xml(
    state: &AppState,
    r: &crate::storage::RequestRecord,
    uri: &str,
) -> ApiResult<axum::body::Bytes> {
    with_token(state, r, |t| {
        let state = state.clone();
        let uri = uri.to_owned();
        async move { upstream::call(&state.metrics, "xml", state.dl.xml(&t, &uri)).await }
    })
    .await
}

/// The user's issued documents, as DigiLocker lists them (`files/issued`).
pub(super) async fn issued_files(
    state: &AppState,
    r: &crate::storage::RequestRecord,
) -> ApiResult<Vec<digilocker::IssuedFile>> {
    with_token(state, r, |t| {
        let state = state.clone();
        async move { upstream::call(&state.metrics, "files_issued", state.dl.issued_files(&t)).await }
    })
    .await
}
