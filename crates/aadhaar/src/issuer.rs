//! Issuers' XML certificates (PAN, driving licence, vehicle registration, mark sheets,
//! and any other doc type): read them into typed data and verify their signature, with
//! the same hardening and trust anchors as the e-Aadhaar.
//!
//! DigiLocker's issuers publish documents in one standard format: a root
//! `<Certificate name type number expiryDate validFromDate issueDate status>` holding
//! `<IssuedBy><Organization/></IssuedBy>`, `<IssuedTo><Person><Address/><Photo/>
//! </Person></IssuedTo>` and `<CertificateData>`, whose content depends on the doc type,
//! and an enveloped XMLDSig `<Signature>` by the issuer's document-signer certificate.
//!
//! ```no_run
//! # fn demo(xml: &[u8]) -> Result<(), aadhaar::issuer::Unreadable> {
//! let anchors = aadhaar::TrustAnchors::india_production().expect("built in");
//! let read = aadhaar::issuer::read_and_verify(xml, &anchors, time::OffsetDateTime::now_utc())?;
//! if read.verification.signature {
//!     println!("{}", read.document.number);
//! }
//! # Ok(()) }
//! ```
//!
//! # What is read, and what is trusted
//!
//! [`read_and_verify`] refuses ([`Unreadable`]) what cannot be read safely: the
//! e-Aadhaar's input limits ([`limits`](crate::limits): size, UTF-8, no DTD or entity,
//! depth, element count, attribute size), and any layout but the standard one:
//!
//! - the root is `<Certificate>`; `IssuedBy`, `IssuedTo` and `CertificateData` occur
//!   exactly once each, as direct children of the root; `Organization` once, in
//!   `IssuedBy`; `Person` once, in `IssuedTo`; at most one `Address` and `Photo`, in
//!   `Person`; at most one `ds:Signature`, the root's direct child;
//! - outside the signature every element is in no namespace, and inside it every element
//!   is in the XML-DSig namespace. So the data read (always from the nodes found here) is
//!   never inside the `<Signature>`, and the signature's one whole-document reference
//!   (`Reference URI=""`, enveloped-signature) covers exactly what is read: there is no
//!   room for signature wrapping.
//!
//! A document that is read is then verified, and [`Verification`] says how that went:
//! `signature: true` only when the signature has the accepted shape (as for the
//! e-Aadhaar: one `Reference URI=""`, SHA-256/384/512 digest, RSA-SHA1 or RSA-SHA256,
//! certificates in `KeyInfo`), its digest and value verify, the chain from the `KeyInfo`
//! leaf reaches a configured trust anchor, valid at `now`, and the leaf may sign.
//! Otherwise `signature: false` with the reason, and the data is still given, marked
//! unverified: nothing in it may be trusted. Issuer XML carries no signing time, so the
//! chain is judged at `now` (unlike the e-Aadhaar's time rule).
//!
//! No reason names a value read from the document: reasons name elements, attributes,
//! limits, algorithms and certificate subjects.

use crate::error::Error;
use crate::limits::{MAX_ATTRIBUTE_BYTES, MAX_ELEMENTS};
use crate::parse::{self, attr, DSIG_NS};
use crate::verify::{self, TrustAnchors};
use serde::Serialize;
use time::OffsetDateTime;
use uppsala::{Document, NodeId, NodeKind};
use x509_cert::Certificate;

/// A document read from an issuer's XML, and how its verification went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadDocument {
    /// What the document says. Trust it only when `verification.signature` is true.
    pub document: IssuerDocument,
    /// The signature check.
    pub verification: Verification,
}

/// How the signature check went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// True only when the signature and its certificate chain verified against the
    /// configured trust anchors: then, and only then, is the data the issuer's.
    pub signature: bool,
    /// The signing certificate's subject (RFC 4514), when `KeyInfo` carried a readable one.
    pub signer: Option<String>,
    /// The chain's subjects from the signer up to the root, as far as it could be built
    /// from `KeyInfo` and the configured certificates.
    pub chain: Vec<String>,
    /// Why the signature is not verified; absent when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The common part of DigiLocker's issuer format, and the doc type's own data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct IssuerDocument {
    /// `Certificate@type`, e.g. `PANCR`.
    pub doc_type: String,
    /// `Certificate@name`, e.g. `PAN Verification Record`.
    pub title: String,
    /// The document number (`Certificate@number`).
    pub number: String,
    /// `Certificate@issueDate`, as `YYYY-MM-DD`.
    pub issue_date: Option<String>,
    /// `Certificate@validFromDate`, as `YYYY-MM-DD`.
    pub valid_from: Option<String>,
    /// `Certificate@expiryDate`, as `YYYY-MM-DD`.
    pub expiry_date: Option<String>,
    /// `Certificate@status` as the issuer writes it (`A` is active).
    pub status: String,
    /// Who issued it.
    pub issuer: DocumentIssuer,
    /// To whom.
    pub holder: Holder,
    /// The doc type's own data, from `CertificateData`.
    pub details: Details,
}

/// `IssuedBy/Organization`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DocumentIssuer {
    /// The organisation's name.
    pub name: String,
    /// Its code (DigiLocker's org id).
    pub code: String,
    /// Its issuer id, e.g. `in.gov.pan`.
    pub id: String,
}

/// `IssuedTo/Person`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    /// The holder's name as the issuer has it.
    pub name: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// `M`, `F` or `T`.
    pub gender: Option<String>,
    /// Son/daughter/wife of (`Person@swd`).
    pub relation: String,
    /// The address, when the issuer gives one.
    pub address: Option<HolderAddress>,
    /// Whether a photo is attached (it is not returned).
    pub has_photo: bool,
}

/// `Person/Address`; absent parts are empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HolderAddress {
    /// First line.
    pub line1: String,
    /// Second line.
    pub line2: String,
    /// House.
    pub house: String,
    /// Landmark.
    pub landmark: String,
    /// Locality.
    pub locality: String,
    /// Village, town or city.
    pub vtc: String,
    /// District.
    pub district: String,
    /// PIN code.
    pub pin: String,
    /// State.
    pub state: String,
    /// Country.
    pub country: String,
}

/// The doc type's own data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Details {
    /// `PANCR`: `<PAN num name fatherName dob status/>`.
    #[serde(rename_all = "camelCase")]
    Pan {
        /// The PAN.
        pan: String,
        /// Name as per PAN.
        name: String,
        /// Father's name.
        father_name: String,
        /// Date of birth, `YYYY-MM-DD`.
        date_of_birth: Option<String>,
        /// The PAN's status, e.g. `Active`.
        status: String,
    },
    /// `DRVLC`: `<DrivingLicense ...><Categories><Category/>...`.
    #[serde(rename_all = "camelCase")]
    DrivingLicence {
        /// The licence number.
        number: String,
        /// Its status, e.g. `Active`.
        status: String,
        /// First issued, `YYYY-MM-DD`.
        issue_date: Option<String>,
        /// Valid from, `YYYY-MM-DD`.
        valid_from: Option<String>,
        /// Valid until, `YYYY-MM-DD`.
        valid_till: Option<String>,
        /// The licensing authority.
        issuing_authority: String,
        /// The classes of vehicle it covers.
        classes: Vec<VehicleClass>,
    },
    /// `RVCER`: `<VehicleRegistration .../>`.
    #[serde(rename_all = "camelCase")]
    VehicleRegistration {
        /// Registration number.
        registration_number: String,
        /// Date of registration, `YYYY-MM-DD`.
        registration_date: Option<String>,
        /// The registered owner.
        owner_name: String,
        /// Maker.
        maker: String,
        /// Model.
        model: String,
        /// Fuel.
        fuel_type: String,
        /// Chassis number.
        chassis_number: String,
        /// Engine number.
        engine_number: String,
        /// Registering authority.
        registering_authority: String,
        /// Status, e.g. `Active`.
        status: String,
    },
    /// `SSCER`, `HSCER`: `<Marksheet ...><Marks><Subject/>...`.
    #[serde(rename_all = "camelCase")]
    Marksheet {
        /// The board (the issuing organisation).
        board: String,
        /// The examination.
        examination: String,
        /// Roll number.
        roll_number: String,
        /// Year of the examination.
        year: String,
        /// School.
        school: String,
        /// Result, e.g. `PASS`.
        result: String,
        /// Total marks obtained, when given.
        marks_obtained: Option<u32>,
        /// Maximum total marks, when given.
        marks_maximum: Option<u32>,
        /// Percentage as written, when given.
        percentage: String,
        /// Marks per subject.
        subjects: Vec<SubjectMarks>,
    },
    /// Any other doc type: the `CertificateData` elements' attributes, flattened.
    Generic {
        /// (`element` or `element.attribute` or `Field@name`, value) in document order.
        fields: Vec<GenericField>,
    },
}

/// A class of vehicle on a licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct VehicleClass {
    /// Its code, e.g. `LMV`.
    pub code: String,
    /// Its description, e.g. `Light Motor Vehicle`.
    pub description: String,
    /// Since when, `YYYY-MM-DD`.
    pub issue_date: Option<String>,
}

/// One subject's marks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SubjectMarks {
    /// The subject.
    pub name: String,
    /// Marks obtained.
    pub obtained: Option<u32>,
    /// Out of.
    pub maximum: Option<u32>,
}

/// One field of a generic reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenericField {
    /// The field's name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// Why an issuer XML could not be read at all (it is then neither data nor verified).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the issuer XML cannot be read: {reason}")]
pub struct Unreadable {
    /// What was wrong; names elements and limits, never values.
    pub reason: String,
}

impl From<Error> for Unreadable {
    fn from(e: Error) -> Self {
        Unreadable {
            reason: reason_of(&e),
        }
    }
}

/// The reason inside an [`Error`], without the e-Aadhaar wording of its message.
pub(crate) fn reason_of(e: &Error) -> String {
    match e {
        Error::Malformed { reason } => format!("malformed: {reason}"),
        Error::Hostile { reason } => format!("refused as hostile: {reason}"),
        Error::UnexpectedStructure { reason } => format!("unexpected structure: {reason}"),
        Error::SignatureMissing => "the document is not signed (no <Signature>)".into(),
        Error::UnsupportedAlgorithm { algorithm } => {
            format!("the signature uses an algorithm that is not accepted: {algorithm}")
        }
        Error::SignatureInvalid { reason } => format!("the signature does not verify: {reason}"),
        Error::UntrustedChain { reason } => {
            format!("the signing certificate is not trusted: {reason}")
        }
        other => other.to_string(),
    }
}

fn refuse(reason: impl Into<String>) -> Unreadable {
    Unreadable {
        reason: format!("unexpected structure: {}", reason.into()),
    }
}

/// Where the parts of an issuer certificate are, found once and the only way data is read.
struct Layout {
    root: NodeId,
    organization: NodeId,
    person: NodeId,
    address: Option<NodeId>,
    photo: Option<NodeId>,
    certificate_data: NodeId,
    signature: Option<NodeId>,
}

/// Walks the document once: limits, namespaces (none outside the signature, XML-DSig
/// inside it), and the standard layout.
fn locate(doc: &Document<'_>) -> Result<Layout, Unreadable> {
    let root = doc
        .document_element()
        .ok_or_else(|| refuse("the document has no root element"))?;
    let is = |id: NodeId, name: &str| {
        doc.element(id)
            .is_some_and(|e| e.name.namespace_uri.is_none() && &*e.name.local_name == name)
    };
    if !is(root, "Certificate") {
        return Err(refuse("the root element is not <Certificate>"));
    }
    let mut signatures = Vec::new();
    let mut elements = 0usize;
    for id in doc.descendants(doc.root()) {
        let Some(el) = doc.element(id) else {
            continue;
        };
        elements += 1;
        if elements > MAX_ELEMENTS {
            return Err(Error::hostile(format!(
                "the document has more than {MAX_ELEMENTS} elements"
            ))
            .into());
        }
        if let Some(a) = el
            .attributes
            .iter()
            .find(|a| a.value.len() > MAX_ATTRIBUTE_BYTES)
        {
            return Err(Error::hostile(format!(
                "attribute {} of <{}> is {} bytes; the limit is {MAX_ATTRIBUTE_BYTES}",
                a.name.local_name,
                el.name.local_name,
                a.value.len()
            ))
            .into());
        }
        let in_dsig = el.name.namespace_uri.as_deref() == Some(DSIG_NS);
        let inside_signature = signatures
            .iter()
            .any(|s| *s == id || doc.ancestors(id).contains(s));
        if in_dsig && &*el.name.local_name == "Signature" && !inside_signature {
            signatures.push(id);
        } else if inside_signature != in_dsig {
            return Err(refuse(format!(
                "<{}> is {} the <Signature> and {} the XML-DSig namespace",
                el.name.local_name,
                if inside_signature {
                    "inside"
                } else {
                    "outside"
                },
                if in_dsig { "in" } else { "not in" },
            )));
        }
    }
    let signature = match signatures.as_slice() {
        [] => None,
        [s] if doc.parent(*s) == Some(root) => Some(*s),
        [_] => return Err(refuse("<Signature> is not a direct child of <Certificate>")),
        many => {
            return Err(refuse(format!(
                "the document has {} <Signature> elements; at most one is allowed",
                many.len()
            )))
        }
    };
    // Elements outside the signature are in no namespace, so names suffice.
    let all = |name: &str| -> Vec<NodeId> {
        doc.descendants(root)
            .into_iter()
            .filter(|id| is(*id, name))
            .collect::<Vec<_>>()
    };
    let one_under = |name: &str, parent: NodeId, of: &str| -> Result<NodeId, Unreadable> {
        match all(name).as_slice() {
            [id] if doc.parent(*id) == Some(parent) => Ok(*id),
            [_] => Err(refuse(format!("<{name}> is not a direct child of <{of}>"))),
            [] => Err(refuse(format!("no <{name}> element"))),
            many => Err(refuse(format!(
                "<{name}> occurs {} times; exactly one is allowed",
                many.len()
            ))),
        }
    };
    let at_most_one_under =
        |name: &str, parent: NodeId, of: &str| -> Result<Option<NodeId>, Unreadable> {
            if all(name).is_empty() {
                Ok(None)
            } else {
                one_under(name, parent, of).map(Some)
            }
        };
    let issued_by = one_under("IssuedBy", root, "Certificate")?;
    let organization = one_under("Organization", issued_by, "IssuedBy")?;
    let issued_to = one_under("IssuedTo", root, "Certificate")?;
    let person = one_under("Person", issued_to, "IssuedTo")?;
    let address = at_most_one_under("Address", person, "Person")?;
    let photo = at_most_one_under("Photo", person, "Person")?;
    let certificate_data = one_under("CertificateData", root, "Certificate")?;
    for child in doc.children_iter(root) {
        match doc.node_kind(child) {
            Some(NodeKind::Element(el))
                if ![issued_by, issued_to, certificate_data].contains(&child)
                    && signature != Some(child) =>
            {
                return Err(refuse(format!(
                    "unexpected <{}> inside <Certificate>",
                    el.name.local_name
                )));
            }
            Some(NodeKind::Text(t)) | Some(NodeKind::CData(t)) if !t.trim().is_empty() => {
                return Err(refuse("unexpected text directly inside <Certificate>"));
            }
            _ => {}
        }
    }
    Ok(Layout {
        root,
        organization,
        person,
        address,
        photo,
        certificate_data,
        signature,
    })
}

/// `DD-MM-YYYY`, `DD/MM/YYYY` or `YYYY-MM-DD` as `YYYY-MM-DD`; `None` when blank or
/// not a date.
pub fn iso_date(s: &str) -> Option<String> {
    let s = s.trim();
    let parts: Vec<&str> = s.split(['-', '/']).collect();
    let (y, m, d) = match parts.as_slice() {
        [d, m, y] if y.len() == 4 => (*y, *m, *d),
        [y, m, d] if y.len() == 4 => (*y, *m, *d),
        _ => return None,
    };
    let year: i32 = y.parse().ok()?;
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, d.parse().ok()?).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    ))
}

fn number(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

/// The element children of `id` named `name` (no namespace).
fn children<'d>(doc: &'d Document<'_>, id: NodeId, name: &'d str) -> Vec<NodeId> {
    doc.children_iter(id)
        .filter(|c| {
            doc.element(*c)
                .is_some_and(|e| e.name.namespace_uri.is_none() && &*e.name.local_name == name)
        })
        .collect()
}

/// The one element child of `id` named `name`, or an error naming both.
fn only_child(doc: &Document<'_>, id: NodeId, name: &str, of: &str) -> Result<NodeId, Unreadable> {
    match children(doc, id, name).as_slice() {
        [c] => Ok(*c),
        [] => Err(refuse(format!("<{of}> has no <{name}>"))),
        many => Err(refuse(format!(
            "<{of}> has {} <{name}> elements; one is expected",
            many.len()
        ))),
    }
}

/// Reads the typed data from the located nodes.
fn extract(doc: &Document<'_>, layout: &Layout) -> Result<IssuerDocument, Unreadable> {
    let el = |id: NodeId| {
        doc.element(id)
            .ok_or_else(|| refuse("internal: a located node is not an element"))
    };
    let a = |id: NodeId, name: &str| -> Result<String, Unreadable> {
        Ok(attr(el(id)?, name).trim().to_owned())
    };
    let root = layout.root;
    let doc_type = a(root, "type")?;
    let org = layout.organization;
    let person = layout.person;
    let gender = a(person, "gender")?.to_ascii_uppercase();
    let address = match layout.address {
        Some(id) => Some(HolderAddress {
            line1: a(id, "line1")?,
            line2: a(id, "line2")?,
            house: a(id, "house")?,
            landmark: a(id, "landmark")?,
            locality: a(id, "locality")?,
            vtc: a(id, "vtc")?,
            district: a(id, "district")?,
            pin: a(id, "pin")?,
            state: a(id, "state")?,
            country: a(id, "country")?,
        }),
        None => None,
    };
    let data = layout.certificate_data;
    let details = match doc_type.as_str() {
        "PANCR" => {
            let p = only_child(doc, data, "PAN", "CertificateData")?;
            Details::Pan {
                pan: a(p, "num")?,
                name: a(p, "name")?,
                father_name: a(p, "fatherName")?,
                date_of_birth: iso_date(&a(p, "dob")?),
                status: a(p, "status")?,
            }
        }
        "DRVLC" => {
            let l = only_child(doc, data, "DrivingLicense", "CertificateData")?;
            let mut classes = Vec::new();
            for categories in children(doc, l, "Categories") {
                for c in children(doc, categories, "Category") {
                    classes.push(VehicleClass {
                        code: a(c, "abbreviation")?,
                        description: a(c, "description")?,
                        issue_date: iso_date(&a(c, "issueDate")?),
                    });
                }
            }
            Details::DrivingLicence {
                number: a(l, "number")?,
                status: a(l, "status")?,
                issue_date: iso_date(&a(l, "issueDate")?),
                valid_from: iso_date(&a(l, "validFrom")?),
                valid_till: iso_date(&a(l, "validTill")?),
                issuing_authority: a(l, "issuingAuthority")?,
                classes,
            }
        }
        "RVCER" => {
            let v = only_child(doc, data, "VehicleRegistration", "CertificateData")?;
            Details::VehicleRegistration {
                registration_number: a(v, "registrationNumber")?,
                registration_date: iso_date(&a(v, "registrationDate")?),
                owner_name: a(v, "ownerName")?,
                maker: a(v, "maker")?,
                model: a(v, "model")?,
                fuel_type: a(v, "fuelType")?,
                chassis_number: a(v, "chassisNumber")?,
                engine_number: a(v, "engineNumber")?,
                registering_authority: a(v, "registeringAuthority")?,
                status: a(v, "status")?,
            }
        }
        "SSCER" | "HSCER" => {
            let m = only_child(doc, data, "Marksheet", "CertificateData")?;
            let marks = children(doc, m, "Marks");
            let mut subjects = Vec::new();
            for total in &marks {
                for s in children(doc, *total, "Subject") {
                    subjects.push(SubjectMarks {
                        name: a(s, "name")?,
                        obtained: number(&a(s, "obtained")?),
                        maximum: number(&a(s, "maximum")?),
                    });
                }
            }
            let total = match marks.as_slice() {
                [] => None,
                [t] => Some(*t),
                _ => return Err(refuse("<Marksheet> has more than one <Marks>")),
            };
            let total_attr = |name: &str| -> Result<String, Unreadable> {
                total
                    .map(|t| a(t, name))
                    .unwrap_or_else(|| Ok(String::new()))
            };
            Details::Marksheet {
                board: a(org, "name")?,
                examination: a(m, "examination")?,
                roll_number: a(m, "rollNumber")?,
                year: a(m, "year")?,
                school: a(m, "school")?,
                result: a(m, "result")?,
                marks_obtained: number(&total_attr("obtained")?),
                marks_maximum: number(&total_attr("maximum")?),
                percentage: total_attr("percentage")?,
                subjects,
            }
        }
        _ => {
            let mut fields = Vec::new();
            for id in doc.descendants(data).into_iter().filter(|id| *id != data) {
                let Some(e) = doc.element(id) else {
                    continue;
                };
                let local = &*e.name.local_name;
                if local == "Field" {
                    fields.push(GenericField {
                        name: attr(e, "name").to_owned(),
                        value: attr(e, "value").to_owned(),
                    });
                    continue;
                }
                for at in e
                    .attributes
                    .iter()
                    .filter(|at| at.name.namespace_uri.is_none())
                {
                    fields.push(GenericField {
                        name: format!("{local}.{}", at.name.local_name),
                        value: at.value.to_string(),
                    });
                }
            }
            Details::Generic { fields }
        }
    };
    Ok(IssuerDocument {
        doc_type,
        title: a(root, "name")?,
        number: a(root, "number")?,
        issue_date: iso_date(&a(root, "issueDate")?),
        valid_from: iso_date(&a(root, "validFromDate")?),
        expiry_date: iso_date(&a(root, "expiryDate")?),
        status: a(root, "status")?,
        issuer: DocumentIssuer {
            name: a(org, "name")?,
            code: a(org, "code")?,
            id: a(org, "uid")?,
        },
        holder: Holder {
            name: a(person, "name")?,
            date_of_birth: iso_date(&a(person, "dob")?),
            gender: matches!(gender.as_str(), "M" | "F" | "T").then_some(gender),
            relation: a(person, "swd")?,
            address,
            has_photo: layout.photo.is_some(),
        },
        details,
    })
}

/// The chain's subjects from `leaf` up, built from `KeyInfo`'s certificates and the
/// configured ones (bounded: a chain is a few certificates long).
pub(crate) fn chain_subjects(
    leaf: &Certificate,
    key_info: &[Certificate],
    anchors: &TrustAnchors,
) -> Vec<String> {
    let mut chain = vec![leaf.tbs_certificate.subject.to_string()];
    let mut current = leaf;
    for _ in 0..crate::limits::MAX_CERTIFICATES {
        if current.tbs_certificate.issuer == current.tbs_certificate.subject {
            break;
        }
        let Some(issuer) = anchors
            .certificates()
            .iter()
            .chain(key_info)
            .find(|c| c.tbs_certificate.subject == current.tbs_certificate.issuer)
        else {
            break;
        };
        chain.push(issuer.tbs_certificate.subject.to_string());
        current = issuer;
    }
    chain
}

/// The signature check of a located document: `Ok` with the signer and chain, or the
/// reason it does not verify (with the `KeyInfo` leaf's subject when it could be read).
fn verify_signature(
    doc: &Document<'_>,
    layout: &Layout,
    anchors: &TrustAnchors,
    now: OffsetDateTime,
) -> Verification {
    let failed = |reason: String, signer: Option<String>| Verification {
        signature: false,
        signer,
        chain: Vec::new(),
        reason: Some(reason),
    };
    let Some(sig) = layout.signature else {
        return failed(reason_of(&Error::SignatureMissing), None);
    };
    let shape = match verify::check_signature_shape(doc, sig) {
        Ok(shape) => shape,
        Err(e) => return failed(reason_of(&e), None),
    };
    match verify::verify_enveloped(doc, sig, layout.root, anchors, now) {
        Ok(leaf) => Verification {
            signature: true,
            signer: Some(leaf.tbs_certificate.subject.to_string()),
            chain: chain_subjects(&leaf, &shape.key_info_certs, anchors),
            reason: None,
        },
        Err(e) => {
            // The leaf: the KeyInfo certificate that issued none of the others.
            let leaf = shape.key_info_certs.iter().find(|c| {
                !shape
                    .key_info_certs
                    .iter()
                    .any(|o| o.tbs_certificate.issuer == c.tbs_certificate.subject && o != *c)
            });
            failed(
                reason_of(&e),
                leaf.map(|c| c.tbs_certificate.subject.to_string()),
            )
        }
    }
}

/// Reads an issuer's XML certificate and verifies its signature against `anchors`, with
/// the chain judged at `now`. See the module docs for what is refused and what
/// `signature: true` means.
pub fn read_and_verify(
    xml: &[u8],
    anchors: &TrustAnchors,
    now: OffsetDateTime,
) -> Result<ReadDocument, Unreadable> {
    let text = parse::decode(xml)?;
    let doc = parse::parse_dom(text)?;
    let layout = locate(&doc)?;
    let document = extract(&doc, &layout)?;
    let verification = verify_signature(&doc, &layout, anchors, now);
    Ok(ReadDocument {
        document,
        verification,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso_date("15-08-1985").as_deref(), Some("1985-08-15"));
        assert_eq!(iso_date("15/08/1985").as_deref(), Some("1985-08-15"));
        assert_eq!(iso_date("1985-08-15").as_deref(), Some("1985-08-15"));
        assert_eq!(iso_date(" "), None);
        assert_eq!(iso_date("31-02-1985"), None);
        assert_eq!(iso_date("1985"), None);
    }
}
