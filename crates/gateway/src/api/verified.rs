//! Ours, opt-in: `GET /api/digilocker/{id}/verified`. The user's issued documents read
//! from their issuers' XML and verified (signature and chain against the configured trust
//! anchors, the same as the e-Aadhaar's), and each holder compared with the verified
//! e-Aadhaar and with the other documents. Stateless: nothing is kept but the file links,
//! as a fetch keeps them. Nothing read from a document is logged.
//!
//! PDF signatures ([`aadhaar::pdfsig`]): a document DigiLocker holds only as a PDF has its
//! PDF fetched anyway (it is the file linked), so its signature is always checked. For a
//! document read from its XML the PDF is one more DigiLocker call, made only when the
//! client asks (`pdfSignatures=true`): the call's time stays what it was for clients that
//! do not need the PDF's signature.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller_request;
use super::model::{ErrorBody, FileLink};
use crate::auth::Caller;
use crate::domain::DocType;
use crate::error::{ApiError, ApiResult};
use crate::files;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::token::ensure_usable;
use aadhaar::compare::{compare_holders, HolderComparison, HolderFacts};
use aadhaar::issuer::{IssuerDocument, Verification};
use aadhaar::pdfsig::{PdfSignature, PdfSignatureStatus};

/// Most doc types a `docTypes` filter may list.
const MAX_DOC_TYPES: usize = 20;
const XML: &str = "application/xml";
const PDF: &str = "application/pdf";

/// The filter of `GET /api/digilocker/{id}/verified`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifiedQuery {
    /// Only these doc types, comma-separated (e.g. `PANCR,DRVLC`); all issued documents
    /// without it.
    #[serde(rename = "docTypes")]
    #[param(rename = "docTypes")]
    pub doc_types: Option<String>,
    /// Also fetch the PDF of each document read from its XML and check its digital
    /// signature (`pdfSignature`): one more DigiLocker call per such document. Documents
    /// DigiLocker holds only as a PDF always have their PDF checked.
    #[serde(rename = "pdfSignatures")]
    #[param(rename = "pdfSignatures")]
    pub pdf_signatures: Option<bool>,
}

/// `GET /api/digilocker/{id}/verified`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedResponse {
    #[schema(format = Uuid)]
    pub id: String,
    /// The e-Aadhaar the documents are compared with.
    pub aadhaar: VerifiedAadhaar,
    /// One entry per issued document (of the asked doc types), in DigiLocker's order.
    pub documents: Vec<VerifiedDocument>,
    /// The readable documents' holders compared two by two.
    pub comparisons: Vec<DocumentPair>,
    /// True when the e-Aadhaar verified, every document was read with `signature: true`,
    /// no PDF checked has an invalid signature, and every comparison is consistent (no
    /// mismatch or partial match).
    pub consistent: bool,
}

/// The e-Aadhaar's holder, when it verified.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedAadhaar {
    /// True when the e-Aadhaar's signature verified (as `GET .../aadhaar` verifies it).
    pub signature: bool,
    /// Why it is not available or did not verify; absent when it verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Name, date of birth (`YYYY-MM-DD`, or `YYYY`) and gender; only when verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<HolderSummary>,
}

/// Who a document is about.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HolderSummary {
    pub name: String,
    pub date_of_birth: Option<String>,
    pub gender: Option<String>,
}

/// One issued document: its file link, and its reading and verification, or the reason
/// it could not be read.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedDocument {
    /// DigiLocker's URI of the document.
    pub uri: String,
    pub doc_type: String,
    /// The link to the file read (the issuer XML), or to the PDF when the document has
    /// no XML; as a fetch gives it.
    pub file: FileLink,
    /// What the issuer XML says. Trust it only when `verification.signature` is true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reading: Option<IssuerDocument>,
    /// The signature check of the issuer XML.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// Why the document could not be read (no XML, or an XML refused as unreadable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The digital signature of the document's PDF: `verified` (with the signer and the
    /// chain), `unsigned`, or `invalid` (with the `problem` and the `reason`). Present for
    /// a document held only as a PDF, and for one read from its XML when
    /// `pdfSignatures=true` was asked; absent when no PDF was fetched (or the file is not a
    /// PDF, such as a scan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf_signature: Option<PdfSignature>,
    /// The holder compared with the verified e-Aadhaar's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aadhaar_comparison: Option<HolderComparison>,
}

/// Two documents' holders compared.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentPair {
    pub first: String,
    pub second: String,
    pub comparison: HolderComparison,
}

fn facts(h: &HolderSummary) -> HolderFacts<'_> {
    HolderFacts {
        name: &h.name,
        date_of_birth: h.date_of_birth.as_deref(),
        gender: h.gender.as_deref(),
    }
}

/// The doc types asked for, or `None` for all.
fn doc_type_filter(raw: Option<&str>) -> ApiResult<Option<Vec<String>>> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(None);
    };
    let types: Vec<String> = raw
        .split(',')
        .map(|t| {
            DocType::parse(t.trim())
                .map(|d| d.as_str().to_owned())
                .map_err(ApiError::InvalidPayload)
        })
        .collect::<ApiResult<_>>()?;
    if types.len() > MAX_DOC_TYPES {
        return Err(ApiError::InvalidPayload(format!(
            "docTypes lists at most {MAX_DOC_TYPES} doc types."
        )));
    }
    Ok(Some(types))
}

/// The user's issued documents, read, verified and compared.
#[utoipa::path(
    get, path = "/api/digilocker/{id}/verified", tag = "documents",
    params(("id" = String, Path, description = "The request id."), VerifiedQuery),
    responses(
        (status = 200, body = VerifiedResponse),
        (status = 400, description = "`invalid_payload` (a bad `docTypes` or `pdfSignatures`).", body = ErrorBody),
        (status = 401, description = "`vault_secret_error` (a credential header missing), `unauthorized`, `user_not_authenticated`, `user_consent_not_given`, `token_revoked`, `invalid_token`.", body = ErrorBody),
        (status = 403, description = "`invalid_grant`.", body = ErrorBody),
        (status = 404, description = "`request_not_found`.", body = ErrorBody),
        (status = 500, description = "`upstream_server_error`.", body = ErrorBody),
    ),
    security(("client" = []))
)]
pub async fn verified(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<VerifiedQuery>,
) -> ApiResult<Json<VerifiedResponse>> {
    let r = caller_request(&state, &caller, &id).await?;
    let filter = doc_type_filter(query.doc_types.as_deref())?;
    ensure_usable(&r)?;
    let now = time::OffsetDateTime::from_unix_timestamp(state.now())
        .map_err(|e| ApiError::Internal(e.into()))?;

    let aadhaar = verified_aadhaar(&state, &r).await?;
    let items = super::documents::issued_files(&state, &r).await?;

    let mut documents = Vec::new();
    for item in items {
        let doc_type = item.doctype.clone().unwrap_or_default();
        if filter.as_ref().is_some_and(|f| !f.contains(&doc_type)) {
            continue;
        }
        let asked = Asked {
            uri: item.uri,
            doc_type,
            check_pdf: query.pdf_signatures == Some(true),
        };
        documents.push(read_document(&state, &r, asked, &item.mime, now).await?);
    }
    if let Some(holder) = &aadhaar.holder {
        for d in &mut documents {
            if let Some(reading) = &d.reading {
                d.aadhaar_comparison =
                    Some(compare_holders(facts(holder), facts(&summary(reading))));
            }
        }
    }
    let mut comparisons = Vec::new();
    let readable: Vec<&VerifiedDocument> =
        documents.iter().filter(|d| d.reading.is_some()).collect();
    for (i, first) in readable.iter().enumerate() {
        for second in &readable[i + 1..] {
            if let (Some(a), Some(b)) = (&first.reading, &second.reading) {
                comparisons.push(DocumentPair {
                    first: first.uri.clone(),
                    second: second.uri.clone(),
                    comparison: compare_holders(facts(&summary(a)), facts(&summary(b))),
                });
            }
        }
    }
    let consistent = aadhaar.signature
        && documents.iter().all(|d| {
            d.verification.as_ref().is_some_and(|v| v.signature)
                && d.aadhaar_comparison.as_ref().is_some_and(|c| c.consistent)
        })
        && comparisons.iter().all(|c| c.comparison.consistent)
        && documents.iter().all(|d| {
            d.pdf_signature
                .as_ref()
                .is_none_or(|p| p.status != PdfSignatureStatus::Invalid)
        });
    tracing::info!(
        request_id = %r.id,
        documents = documents.len(),
        verified = documents
            .iter()
            .filter(|d| d.verification.as_ref().is_some_and(|v| v.signature))
            .count(),
        pdf_verified = documents
            .iter()
            .filter(|d| {
                d.pdf_signature
                    .as_ref()
                    .is_some_and(|p| p.status == PdfSignatureStatus::Verified)
            })
            .count(),
        consistent,
        "documents read and verified"
    );
    Ok(Json(VerifiedResponse {
        id: r.id,
        aadhaar,
        documents,
        comparisons,
        consistent,
    }))
}

fn summary(d: &IssuerDocument) -> HolderSummary {
    HolderSummary {
        name: d.holder.name.clone(),
        date_of_birth: d.holder.date_of_birth.clone(),
        gender: d.holder.gender.clone(),
    }
}

/// The e-Aadhaar, verified as `GET .../aadhaar` verifies it; not being able to have one
/// is a reason here, not an error of the whole call.
async fn verified_aadhaar(
    state: &AppState,
    r: &crate::storage::RequestRecord,
) -> ApiResult<VerifiedAadhaar> {
    let verified = match super::aadhaar::fetch_and_verify(state, r).await {
        Ok((_, verified)) => verified,
        Err(e @ (ApiError::AadhaarNotLinked | ApiError::AadhaarNotAvailable)) => {
            let reason = if matches!(e, ApiError::AadhaarNotLinked) {
                "aadhaar_not_linked: the user's DigiLocker account has no Aadhaar linked."
            } else {
                "aadhaar_not_available: DigiLocker has no e-Aadhaar for this user."
            };
            return Ok(VerifiedAadhaar {
                signature: false,
                reason: Some(reason.into()),
                holder: None,
            });
        }
        Err(e) => return Err(e),
    };
    Ok(match verified {
        Ok(v) => VerifiedAadhaar {
            signature: true,
            reason: None,
            holder: Some(HolderSummary {
                name: v.aadhaar.name.clone(),
                date_of_birth: v.aadhaar.date_of_birth.map(|d| match d {
                    aadhaar::DateOfBirth::Date(d) => {
                        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
                    }
                    aadhaar::DateOfBirth::Year(y) => format!("{y:04}"),
                }),
                gender: v.aadhaar.gender.map(|g| g.code().to_owned()),
            }),
        },
        Err(e) => {
            // The error names what failed, never the data.
            tracing::warn!(request_id = %r.id, error = %e, "e-Aadhaar did not verify");
            VerifiedAadhaar {
                signature: false,
                reason: Some(e.to_string()),
                holder: None,
            }
        }
    })
}

/// Which document, and whether its PDF is to be checked even when it has XML.
struct Asked {
    uri: String,
    doc_type: String,
    check_pdf: bool,
}

/// The PDF's digital signature, when the file is a PDF; off the async workers (hashing
/// and RSA are CPU work). Logs the problem's kind only.
async fn check_pdf_signature(
    state: &AppState,
    r: &crate::storage::RequestRecord,
    doc_type: &str,
    file: digilocker::FileDownload,
    now: time::OffsetDateTime,
) -> ApiResult<Option<PdfSignature>> {
    if super::documents::media_type(&file.content_type) != PDF {
        return Ok(None);
    }
    let anchors = state.trust_anchors.clone();
    let checked = tokio::task::spawn_blocking(move || {
        aadhaar::pdfsig::verify_pdf(&file.bytes, &anchors, now)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    if let Some(problem) = checked.problem {
        tracing::warn!(request_id = %r.id, doc_type = %doc_type, ?problem, "PDF signature did not verify");
    }
    Ok(Some(checked))
}

/// One issued document: its XML read and verified when it has one, its PDF's link when
/// it has not; the PDF's signature checked when the PDF is fetched.
async fn read_document(
    state: &AppState,
    r: &crate::storage::RequestRecord,
    asked: Asked,
    mime: &[String],
    now: time::OffsetDateTime,
) -> ApiResult<VerifiedDocument> {
    let Asked {
        uri,
        doc_type,
        check_pdf,
    } = asked;
    let org = uri.split('-').next().unwrap_or_default().to_owned();
    let has_xml = mime.iter().any(|m| m == XML);
    let fetched = |format| files::Fetched::Document {
        doc_type: &doc_type,
        org_id: &org,
        format,
    };
    let name = |ext: &str| format!("{}.{ext}", super::documents::sanitize_filename(&uri));
    if !has_xml {
        let file = super::documents::document_file(state, r, &uri).await?;
        let content_type = super::documents::media_type(&file.content_type);
        let ext = super::documents::extension(&content_type);
        let link = files::store_and_link(
            state,
            r,
            &content_type,
            &name(ext),
            &file.bytes,
            fetched(ext),
        )
        .await?;
        let pdf_signature = check_pdf_signature(state, r, &doc_type, file, now).await?;
        return Ok(VerifiedDocument {
            uri,
            doc_type,
            file: link,
            reading: None,
            verification: None,
            pdf_signature,
            reason: Some(
                "DigiLocker has no certificate data (XML) for this document, only its file; \
                 it cannot be read or verified."
                    .into(),
            ),
            aadhaar_comparison: None,
        });
    }
    let xml = super::documents::document_xml(state, r, &uri).await?;
    let link = files::store_and_link(state, r, XML, &name("xml"), &xml, fetched("xml")).await?;
    let pdf_signature = if check_pdf {
        let file = super::documents::document_file(state, r, &uri).await?;
        check_pdf_signature(state, r, &doc_type, file, now).await?
    } else {
        None
    };
    let anchors = state.trust_anchors.clone();
    let read =
        tokio::task::spawn_blocking(move || aadhaar::issuer::read_and_verify(&xml, &anchors, now))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(match read {
        Ok(read) => {
            if let Some(reason) = &read.verification.reason {
                tracing::warn!(request_id = %r.id, doc_type = %doc_type, %reason, "issuer XML did not verify");
            }
            VerifiedDocument {
                uri,
                doc_type,
                file: link,
                reading: Some(read.document),
                verification: Some(read.verification),
                pdf_signature,
                reason: None,
                aadhaar_comparison: None,
            }
        }
        Err(e) => {
            tracing::warn!(request_id = %r.id, doc_type = %doc_type, error = %e, "issuer XML unreadable");
            VerifiedDocument {
                uri,
                doc_type,
                file: link,
                reading: None,
                verification: None,
                pdf_signature,
                reason: Some(e.to_string()),
                aadhaar_comparison: None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_doc_type_filter() {
        assert!(matches!(doc_type_filter(None), Ok(None)));
        assert!(matches!(doc_type_filter(Some(" ")), Ok(None)));
        assert_eq!(
            doc_type_filter(Some("PANCR, DRVLC")).ok().flatten(),
            Some(vec!["PANCR".to_owned(), "DRVLC".to_owned()])
        );
        assert!(doc_type_filter(Some("PANCR,../x")).is_err());
        assert!(doc_type_filter(Some(&"PANCR,".repeat(21))).is_err());
    }
}
