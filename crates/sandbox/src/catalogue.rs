//! The catalogue of issuers, doc types and their parameters, generated
//! deterministically.
//!
//! OWNER: content helper. Interface below is fixed.

/// One parameter an issuer needs to pull a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamDef {
    pub paramname: String,
    pub label: String,
    pub example: String,
    /// Allowed values, empty when free text.
    pub valuelist: Vec<String>,
}

/// A doc type issued by one issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocTypeDef {
    pub doctype: String,
    pub description: String,
    pub params: Vec<ParamDef>,
}

/// An issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    pub orgid: String,
    pub issuerid: String,
    pub name: String,
    pub description: String,
    pub categories: String,
    pub doctypes: Vec<DocTypeDef>,
}

/// The whole catalogue.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub issuers: Vec<Issuer>,
}

impl Catalogue {
    /// Generate about `issuers` issuers and `pairs` (issuer, doctype) pairs,
    /// deterministically, always including the recognisable ones.
    pub fn generate(_issuers: usize, _pairs: usize) -> Catalogue {
        Catalogue::default()
    }

    /// Look up an issuer by org id.
    pub fn issuer(&self, orgid: &str) -> Option<&Issuer> {
        self.issuers.iter().find(|i| i.orgid == orgid)
    }

    /// Look up a doc type of an issuer.
    pub fn doctype(&self, orgid: &str, doctype: &str) -> Option<&DocTypeDef> {
        self.issuer(orgid)?
            .doctypes
            .iter()
            .find(|d| d.doctype == doctype)
    }
}
