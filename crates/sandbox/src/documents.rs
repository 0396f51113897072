//! Real documents: PDFs showing the document's data, XML certificate data,
//! and documents pulled from issuers by parameters.
//!
//! OWNER: content helper. Interface below is fixed.

use crate::catalogue::{DocTypeDef, Issuer};
use crate::seed::{Citizen, IssuedDoc};

/// Why a pull did not produce a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullError {
    /// No record matches the parameters (`404 record_not_found`).
    RecordNotFound,
    /// A required parameter is missing or empty (`400 invalid_parameter`... the
    /// sandbox answers as DigiLocker does; see UPSTREAM.md).
    MissingParameter(String),
}

/// Render a valid PDF (renders with `pdftoppm`) showing the document's data.
pub fn render_pdf(_citizen: &Citizen, _doc: &IssuedDoc) -> Vec<u8> {
    Vec::new()
}

/// The certificate data as XML, where the document's `mime` lists `application/xml`.
pub fn render_xml(_citizen: &Citizen, _doc: &IssuedDoc) -> Option<String> {
    None
}

/// Pull a document from an issuer for a citizen with the given parameters.
pub fn pull(
    _citizen: &Citizen,
    _issuer: &Issuer,
    _doctype: &DocTypeDef,
    _params: &[(String, String)],
) -> Result<IssuedDoc, PullError> {
    Err(PullError::RecordNotFound)
}
