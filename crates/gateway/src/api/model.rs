//! The contract's request and response bodies, as types. The OpenAPI
//! document (`/openapi.json`) is generated from them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::RequestStatus;

/// `POST /api/digilocker`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateRequest {
    /// Where the user is sent back after the journey, with `success`, `id`
    /// and `scope` (or `errCode`, `errMessage`) added to its query. Absolute
    /// https (http only for loopback in sandbox mode), no credentials, no
    /// fragment; within the client's allowed origins when it has any.
    #[schema(value_type = String, format = Uri, required = true,
             example = "https://example.com/kyc/done?sessionId=XYZ")]
    #[serde(default)]
    pub redirect_url: Option<Value>,
    /// Doc types DigiLocker offers on its consent screen (e.g. `DRVLC`, or
    /// `["PANCR", "DRVLC"]`, or `"PANCR,DRVLC"`); at most 20.
    #[serde(default)]
    pub doc_type: Option<DocTypes>,
}

/// One doc type, a comma-separated list, or an array of them.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum DocTypes {
    One(String),
    Many(Vec<String>),
}

/// A request as `POST /api/digilocker` answers it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
    /// The request id.
    #[schema(format = Uuid)]
    pub id: String,
    pub status: RequestStatus,
    /// Where to send the user to sign in (or sign up) and consent.
    #[schema(format = Uri)]
    pub url: String,
    /// ISO 8601 in +05:30, whole seconds. After it the request and
    /// everything fetched for it is erased, and its id answers `404`.
    #[schema(example = "2026-11-25T19:06:28+05:30")]
    pub valid_upto: String,
}

/// `GET /api/digilocker/{id}/status`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    #[schema(format = Uuid)]
    pub id: String,
    pub status: RequestStatus,
    #[schema(format = Uri)]
    pub url: String,
    #[schema(example = "2026-11-25T19:06:28+05:30")]
    pub valid_upto: String,
    /// `{}` until the user consents, and again after revoke.
    pub digilocker_user_details: UserDetailsView,
    /// Ours: when the journey ended without consent, the code the business
    /// was redirected with (`user_consent_not_given`, `upstream_server_error`…);
    /// absent otherwise. `status` stays `unauthenticated` then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub err_code: Option<String>,
    /// Ours: the message that came with `errCode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub err_message: Option<String>,
    /// The id of this call, as in `x-request-id`.
    pub trace_id: String,
}

/// The user's DigiLocker details; every field absent until consent.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDetailsView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digilocker_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// Filters of `GET /api/digilocker/documents` (ours; without them the
/// whole catalogue is answered).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentsQuery {
    /// Only this issuer.
    #[serde(rename = "orgId")]
    #[param(rename = "orgId")]
    pub org_id: Option<String>,
    /// Only this doc type.
    #[serde(rename = "docType")]
    #[param(rename = "docType")]
    pub doc_type: Option<String>,
    /// Case-insensitive text in the description or the issuer's name.
    pub q: Option<String>,
}

/// `GET /api/digilocker/documents`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DocumentsResponse {
    pub documents: Vec<crate::catalogue::Document>,
}

/// `POST /api/digilocker/{id}/document`: a document from the catalogue
/// (`docType`, `orgId`, `format`, `parameters`), or one of the user's
/// issued documents by `uri` (ours).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FetchDocumentRequest {
    #[schema(example = "PRFND", pattern = "^[A-Za-z0-9]{2,16}$")]
    pub doc_type: Option<String>,
    /// The issuer's `orgId` from the catalogue. Optional, as in the hosted
    /// API: without it the gateway takes the issuer of the user's own
    /// document of this `docType`, else the catalogue's only issuer of it;
    /// when several could be meant, `400 invalid_payload` names them.
    #[schema(example = "002317", pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub org_id: Option<String>,
    /// `pdf`, or `xml` where the catalogue's `availableFormats` has it.
    #[schema(example = "pdf")]
    pub format: Option<String>,
    /// Must be `"Y"`.
    #[schema(value_type = String, required = true, example = "Y", pattern = "^Y$")]
    #[serde(default)]
    pub consent: Option<Value>,
    /// Each parameter the catalogue lists for the document, with its value.
    #[schema(max_items = 20)]
    #[serde(default)]
    pub parameters: Option<Vec<ParameterValue>>,
    /// Ours: the URI of one of the user's issued documents
    /// (`GET /api/digilocker/{id}/issued`), instead of the fields above.
    #[schema(min_length = 1, max_length = 256, pattern = "^[^/]*$")]
    pub uri: Option<String>,
}

/// A parameter's name (from the catalogue) and value.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ParameterValue {
    #[schema(example = "AC_NO", max_length = 64)]
    pub name: String,
    #[schema(example = "98432234234", max_length = 256)]
    pub value: String,
}

/// A download link.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileLink {
    /// Works until `validUpto`, then never again.
    #[schema(format = Uri)]
    pub file_url: String,
    #[schema(example = "2026-11-25T18:16:28+05:30")]
    pub valid_upto: String,
}

/// `GET /api/digilocker/{id}/aadhaar`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AadhaarResponse {
    #[schema(format = Uuid)]
    pub id: String,
    /// Always `complete`.
    #[schema(example = "complete")]
    pub status: String,
    pub aadhaar: aadhaar::ContractAadhaar,
}

/// `GET /api/digilocker/{id}/issued` (ours).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IssuedResponse {
    #[schema(format = Uuid)]
    pub id: String,
    pub documents: Vec<IssuedDocument>,
}

/// One of the user's issued documents.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedDocument {
    pub name: String,
    pub doc_type: String,
    /// The issuer's id as DigiLocker writes it in URIs (`in.gov.pan`); not
    /// the catalogue's `orgId`.
    pub issuer_id: String,
    pub issuer: String,
    /// Fetch it with `POST .../document {"uri": ..., "consent": "Y"}`.
    pub uri: String,
    pub mime: Vec<String>,
    /// As DigiLocker sends it (`DD-MM-YYYY`, `DD/MM/YYYY` or ISO 8601).
    pub date: String,
    pub description: String,
}

/// `GET /api/digilocker/{id}/revoke`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevokeResponse {
    /// Always `true`.
    pub success: bool,
}

/// Every error, on every endpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// Stable, machine-readable: `invalid_redirect_url`, `request_not_found`…
    #[schema(example = "request_not_found")]
    pub code: String,
    /// For the developer reading it.
    #[schema(example = "The request id is invalid/expired.")]
    pub detail: String,
    /// The id of this call, as in `x-request-id` and the gateway's logs.
    pub trace_id: String,
}
