//! Issuer certificate data as XML, in DigiLocker's certificate format.
//!
//! The generic part follows DigiLocker's published XML certificate format:
//! `<Certificate language name type number prevNumber expiryDate
//! validFromDate issuedAt issueDate status>` holding `<IssuedBy><Organization>`,
//! `<IssuedTo><Person>` (with `<Address>` and `<Photo>`) and
//! `<CertificateData>`. What `<CertificateData>` holds depends on the doc type:
//!
//! - `PANCR`: `<PAN num name fatherName dob status/>`;
//! - `DRVLC`: `<DrivingLicense number status issueDate validFrom validTill
//!   issuingAuthority>` with `<Categories><Category abbreviation description
//!   issueDate/>...`;
//! - `RVCER`: `<VehicleRegistration registrationNumber registrationDate
//!   ownerName maker model fuelType chassisNumber engineNumber
//!   registeringAuthority status/>`;
//! - `SSCER`, `HSCER`: `<Marksheet examination rollNumber year school
//!   result>` with `<Marks obtained maximum percentage>` and one
//!   `<Subject name obtained maximum/>` per subject;
//! - any other doc type: one `<Field name value/>` per field of the document.
//!
//! `IssuedTo/Person`'s name and date of birth are the issuer's own: the
//! document's printed name and date of birth where it has them (which the
//! seed may spell differently from the Aadhaar on purpose), the citizen's
//! otherwise.
//!
//! Every value is escaped by quick-xml. The result is unsigned; the server
//! signs it with [`crate::issuer_signing::IssuerSigner`].

use base64::Engine as _;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

use super::{document_number, field};
use crate::catalogue;
use crate::seed::{Address, Citizen, IssuedDoc};

type W = Writer<Vec<u8>>;

pub(super) fn certificate(
    citizen: &Citizen,
    doc: &IssuedDoc,
    photo: Option<&[u8]>,
) -> std::io::Result<String> {
    let number = document_number(doc);
    let expiry = match doc.doctype.as_str() {
        "DRVLC" => field(doc, &["Valid Till (Non-Transport)", "Valid Till"]).unwrap_or_default(),
        _ => "",
    };
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new(
        "1.0",
        Some("UTF-8"),
        Some("yes"),
    )))?;
    w.create_element("Certificate")
        .with_attributes([
            ("language", "99"),
            ("name", doc.name.as_str()),
            ("type", doc.doctype.as_str()),
            ("number", number.as_str()),
            ("prevNumber", ""),
            ("expiryDate", expiry),
            ("validFromDate", doc.date.as_str()),
            ("issuedAt", ""),
            ("issueDate", doc.date.as_str()),
            ("status", "A"),
        ])
        .write_inner_content(|w| {
            issued_by(w, doc)?;
            issued_to(w, citizen, doc, photo)?;
            w.create_element("CertificateData")
                .write_inner_content(|w| match doc.doctype.as_str() {
                    "PANCR" => pan(w, citizen, doc, &number),
                    "DRVLC" => driving_licence(w, doc, &number),
                    "RVCER" => vehicle_registration(w, doc, &number),
                    "SSCER" | "HSCER" => marksheet(w, doc),
                    _ => generic(w, doc),
                })?;
            Ok(())
        })?;
    // quick-xml only writes UTF-8 text; a failure here would be a bug.
    String::from_utf8(w.into_inner()).map_err(std::io::Error::other)
}

/// `CG` (central government), `SG` (state government) or blank, as
/// DigiLocker's format types issuing organisations; known for the
/// recognisable issuers only.
fn organisation_type(doc: &IssuedDoc) -> &'static str {
    let id = doc.issuerid.as_str();
    if id.ends_with(".transport") || id.ends_with(".board") || id == catalogue::ISSUERID_AG_TRIPURA
    {
        "SG"
    } else if [
        catalogue::ISSUERID_INCOME_TAX,
        catalogue::ISSUERID_CBSE,
        catalogue::ISSUERID_EPFO,
    ]
    .contains(&id)
    {
        "CG"
    } else {
        ""
    }
}

fn issued_by(w: &mut W, doc: &IssuedDoc) -> std::io::Result<()> {
    w.create_element("IssuedBy").write_inner_content(|w| {
        w.create_element("Organization")
            .with_attributes([
                ("name", doc.issuer.as_str()),
                ("code", doc.orgid.as_str()),
                ("tin", ""),
                ("uid", doc.issuerid.as_str()),
                ("type", organisation_type(doc)),
            ])
            .write_empty()?;
        Ok(())
    })?;
    Ok(())
}

fn issued_to(
    w: &mut W,
    citizen: &Citizen,
    doc: &IssuedDoc,
    photo: Option<&[u8]>,
) -> std::io::Result<()> {
    let relation = field(
        doc,
        &["Son/Daughter/Wife of", "Father's Name", "Father Name"],
    )
    .unwrap_or_default();
    w.create_element("IssuedTo").write_inner_content(|w| {
        w.create_element("Person")
            .with_attributes([
                // Never an Aadhaar number: issuers leave it out of shared data.
                ("uid", ""),
                ("title", ""),
                ("name", holder_name(citizen, doc)),
                (
                    "dob",
                    field(doc, &["Date of Birth"]).unwrap_or(&citizen.dob),
                ),
                ("swd", relation),
                ("swdIndicator", ""),
                ("gender", citizen.gender.as_str()),
                ("maritalStatus", ""),
                ("religion", ""),
                ("phone", ""),
                ("email", ""),
            ])
            .write_inner_content(|w| {
                let address = person_address(&citizen.address);
                w.create_element("Address")
                    .with_attributes(address.iter().map(|(k, v)| (*k, v.as_str())))
                    .write_empty()?;
                if let Some(photo) = photo {
                    let b64 = base64::engine::general_purpose::STANDARD.encode(photo);
                    w.create_element("Photo")
                        .with_attribute(("format", "JPEG"))
                        .write_text_content(BytesText::new(&b64))?;
                }
                Ok(())
            })?;
        Ok(())
    })?;
    Ok(())
}

/// The holder's name as the issuer has it: the document's printed name, or
/// the citizen's when it prints none.
pub(super) fn holder_name<'a>(citizen: &'a Citizen, doc: &'a IssuedDoc) -> &'a str {
    field(
        doc,
        &[
            "Full Name as per PAN",
            "Name",
            "Candidate Name",
            "Owner Name",
            "Member Name",
        ],
    )
    .unwrap_or(&citizen.name)
}

/// The holder's address in DigiLocker's certificate attribute names.
fn person_address(a: &Address) -> Vec<(&'static str, String)> {
    let join = |parts: &[&String]| {
        parts
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    vec![
        ("type", "permanent".to_owned()),
        ("line1", join(&[&a.house, &a.street])),
        ("line2", join(&[&a.lm, &a.loc])),
        ("house", a.house.clone()),
        ("landmark", a.lm.clone()),
        ("locality", a.loc.clone()),
        ("vtc", a.vtc.clone()),
        ("district", a.dist.clone()),
        ("pin", a.pc.clone()),
        ("state", a.state.clone()),
        ("country", a.country.clone()),
    ]
}

fn pan(w: &mut W, citizen: &Citizen, doc: &IssuedDoc, number: &str) -> std::io::Result<()> {
    w.create_element("PAN")
        .with_attributes([
            ("num", number),
            (
                "name",
                field(doc, &["Full Name as per PAN", "Name"]).unwrap_or(&citizen.name),
            ),
            (
                "fatherName",
                field(doc, &["Father's Name"]).unwrap_or_default(),
            ),
            (
                "dob",
                field(doc, &["Date of Birth"]).unwrap_or(&citizen.dob),
            ),
            ("status", field(doc, &["Status"]).unwrap_or("Active")),
        ])
        .write_empty()?;
    Ok(())
}

/// The long name of a class of vehicle (Central Motor Vehicles Rules).
fn vehicle_class(code: &str) -> &'static str {
    match code.trim().to_ascii_uppercase().as_str() {
        "MCWOG" => "Motor Cycle without Gear",
        "MCWG" => "Motor Cycle with Gear",
        "LMV" | "LMV-NT" => "Light Motor Vehicle",
        "LMV-TR" => "Light Motor Vehicle (Transport)",
        "TRANS" => "Transport Vehicle",
        "HMV" | "HGMV" => "Heavy Goods Motor Vehicle",
        "HPMV" => "Heavy Passenger Motor Vehicle",
        "TRCTOR" | "TRACTOR" => "Tractor",
        "INVCRG" => "Invalid Carriage",
        _ => "",
    }
}

fn driving_licence(w: &mut W, doc: &IssuedDoc, number: &str) -> std::io::Result<()> {
    let issued = field(doc, &["Date of Issue"]).unwrap_or(&doc.date);
    let valid_till = field(doc, &["Valid Till (Non-Transport)", "Valid Till"]).unwrap_or_default();
    let classes = field(doc, &["Class of Vehicle", "Classes of Vehicle"]).unwrap_or_default();
    w.create_element("DrivingLicense")
        .with_attributes([
            ("number", number),
            ("status", "Active"),
            ("issueDate", issued),
            ("validFrom", issued),
            ("validTill", valid_till),
            (
                "issuingAuthority",
                field(doc, &["Issuing Authority"]).unwrap_or(&doc.issuer),
            ),
        ])
        .write_inner_content(|w| {
            w.create_element("Categories").write_inner_content(|w| {
                for class in classes.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                    w.create_element("Category")
                        .with_attributes([
                            ("abbreviation", class),
                            ("description", vehicle_class(class)),
                            ("issueDate", issued),
                        ])
                        .write_empty()?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
    Ok(())
}

fn vehicle_registration(w: &mut W, doc: &IssuedDoc, number: &str) -> std::io::Result<()> {
    let model = field(doc, &["Maker / Model"]).unwrap_or_default();
    let (maker, model) = model.split_once(" / ").unwrap_or(("", model));
    w.create_element("VehicleRegistration")
        .with_attributes([
            ("registrationNumber", number),
            (
                "registrationDate",
                field(doc, &["Date of Registration"]).unwrap_or(&doc.date),
            ),
            ("ownerName", field(doc, &["Owner Name"]).unwrap_or_default()),
            ("maker", maker),
            ("model", model),
            ("fuelType", field(doc, &["Fuel"]).unwrap_or_default()),
            (
                "chassisNumber",
                field(doc, &["Chassis Number"]).unwrap_or_default(),
            ),
            (
                "engineNumber",
                field(doc, &["Engine Number"]).unwrap_or_default(),
            ),
            (
                "registeringAuthority",
                field(doc, &["Registering Authority"]).unwrap_or(&doc.issuer),
            ),
            ("status", "Active"),
        ])
        .write_empty()?;
    Ok(())
}

/// Labels of a mark sheet's fields that are not subjects.
const NOT_SUBJECTS: &[&str] = &["Roll Number", "Year of Passing", "Name"];

/// The subjects of a mark sheet, `(name, marks obtained)`: every field with
/// a whole number of marks that is not a roll number or year.
pub(super) fn subjects(doc: &IssuedDoc) -> Vec<(&str, u32)> {
    doc.fields
        .iter()
        .filter(|(label, _)| !NOT_SUBJECTS.iter().any(|n| n.eq_ignore_ascii_case(label)))
        .filter_map(|(label, value)| Some((label.as_str(), value.trim().parse::<u32>().ok()?)))
        .collect()
}

fn marksheet(w: &mut W, doc: &IssuedDoc) -> std::io::Result<()> {
    let subjects = subjects(doc);
    // Boards mark out of 100 a subject, some (Tamil Nadu's higher
    // secondary) out of 200.
    let per_subject: u32 = if subjects.iter().any(|(_, m)| *m > 100) {
        200
    } else {
        100
    };
    let obtained: u32 = subjects.iter().map(|(_, m)| m).sum();
    let maximum = per_subject * u32::try_from(subjects.len()).unwrap_or(u32::MAX / 200);
    let percentage = if maximum == 0 {
        String::new()
    } else {
        let hundredths = u64::from(obtained) * 10_000 / u64::from(maximum);
        format!("{}.{:02}", hundredths / 100, hundredths % 100)
    };
    let examination = if doc.doctype == "HSCER" {
        "Senior School Certificate Examination (Class XII)"
    } else {
        "Secondary School Examination (Class X)"
    };
    let (obtained, maximum, per_subject) = (
        obtained.to_string(),
        maximum.to_string(),
        per_subject.to_string(),
    );
    w.create_element("Marksheet")
        .with_attributes([
            ("examination", examination),
            (
                "rollNumber",
                field(doc, &["Roll Number"]).unwrap_or_default(),
            ),
            ("year", field(doc, &["Year of Passing"]).unwrap_or_default()),
            ("school", field(doc, &["School"]).unwrap_or_default()),
            ("result", field(doc, &["Result"]).unwrap_or_default()),
        ])
        .write_inner_content(|w| {
            w.create_element("Marks")
                .with_attributes([
                    ("obtained", obtained.as_str()),
                    ("maximum", maximum.as_str()),
                    ("percentage", percentage.as_str()),
                ])
                .write_inner_content(|w| {
                    for (name, marks) in &subjects {
                        let marks = marks.to_string();
                        w.create_element("Subject")
                            .with_attributes([
                                ("name", *name),
                                ("obtained", marks.as_str()),
                                ("maximum", per_subject.as_str()),
                            ])
                            .write_empty()?;
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(())
}

fn generic(w: &mut W, doc: &IssuedDoc) -> std::io::Result<()> {
    for (name, value) in &doc.fields {
        w.create_element("Field")
            .with_attributes([("name", name.as_str()), ("value", value.as_str())])
            .write_empty()?;
    }
    Ok(())
}
