//! Real documents: PDFs showing the document's data, XML certificate data,
//! and documents pulled from issuers by parameters.
//!
//! OWNER: content helper. Interface below is fixed.
//!
//! # What a sandbox PDF holds
//!
//! [`render_pdf`] draws an A4 certificate the way issuers' PDFs look: a
//! security-paper background (pale guilloche line work, an embedded JPEG),
//! a header band with the issuer block (a logo-like emblem, the issuer's
//! name, the document number, the date of issue, issuer and org ids), the
//! document's title, a holder panel with the holder's photo (the same
//! deterministic picture as the e-Aadhaar's, [`crate::signing::photo_jpeg`])
//! and a QR code, then every field, and a footer with the DigiLocker URI. The
//! QR code holds the URI, the document number, the holder's name, the date
//! of issue and the issuer id ([`qr_text`]). A one-page document weighs
//! 100-200 KB, mostly the background and the photo, like real ones.
//!
//! # Pulling documents: an issuer finds only its own records
//!
//! [`pull`] imitates an issuer's database. An issuer holds the records of
//! the seeded citizens: what is in each locker ([`Citizen::documents`]) and
//! what is still to be pulled ([`Citizen::pullable`]), each found by its
//! [`IssuedDoc::params`]. So:
//!
//! 1. Every parameter the doc type defines must be sent, non-empty after
//!    trimming, and, where the parameter has a value list, one of those values.
//!    Otherwise: [`PullError::MissingParameter`] with the first offending
//!    parameter's name (in the doc type's order). Extra parameters are ignored.
//! 2. The issuer looks for a record of this citizen, with this issuer and doc
//!    type, whose every parameter matches what was sent, compared without
//!    regard to case, spaces and punctuation (`abcde 1234f` finds
//!    `ABCDE1234F`, `15/08/1985` finds `15-08-1985`). A wrong number, a wrong
//!    name or date of birth, another citizen's document: none is found,
//!    [`PullError::RecordNotFound`].
//! 3. The record found is the document: the same URI, fields and formats
//!    every time. Pulling a document already in the locker finds it too
//!    (the server then answers `uri_exists`).
//!
//! Example: PAN (`orgid` `000004`, `PANCR`) with `panno=ABCDE1234F` and
//! `PANFullName=Ramesh Kumar Sharma` finds Ramesh Kumar Sharma's PAN (for
//! him; for anyone else it is `record_not_found`); `panno=ABCDE1234G` is
//! `record_not_found`; leaving `panno` out is `MissingParameter("panno")`.

mod card;
mod images;
mod xml;

pub use card::ImageFormat;

use pdf_writer::types::{FieldType, SigFlags};
use pdf_writer::{Content, Date, Filter, Finish as _, Name, Pdf, Rect, Ref, Str, TextStr};
use time::OffsetDateTime;

use crate::catalogue::{DocTypeDef, Issuer, MIME_XML};
use crate::issuer_signing::IssuerSigner;
use crate::seed::{Citizen, IssuedDoc};
use crate::signing::SigningAuthority;
use images::Picture;

/// Why a pull did not produce a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullError {
    /// No record matches the parameters (`404 record_not_found`).
    RecordNotFound,
    /// A required parameter is missing or empty (`400 invalid_parameter`... the
    /// sandbox answers as DigiLocker does; see UPSTREAM.md).
    MissingParameter(String),
}

/// A4 in PDF points.
const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;
/// Where field values start, and how wide they may run.
const VALUE_X: f32 = 230.0;
const VALUE_W: f32 = PAGE_W - MARGIN - VALUE_X;
const LABEL_W: f32 = VALUE_X - MARGIN - 10.0;
const BODY_SIZE: f32 = 10.5;
const LINE: f32 = 15.0;
/// Lowest baseline for body text before a new page starts (footer below).
const BOTTOM: f32 = 110.0;
/// The header band on the first page, and the emblem box in it.
const HEADER_H: f32 = 105.0;
const LOGO: f32 = 66.0;
const LOGO_Y: f32 = PAGE_H - HEADER_H + (HEADER_H - LOGO) / 2.0;
const HEADER_TEXT_X: f32 = MARGIN + LOGO + 16.0;
/// The holder panel: photo on the left, QR code on the right.
const PHOTO_W: f32 = 84.0;
const PHOTO_H: f32 = 105.0;
const QR_SIZE: f32 = 100.0;
const QR_X: f32 = PAGE_W - MARGIN - QR_SIZE;
const PANEL_H: f32 = 122.0;
const HOLDER_X: f32 = MARGIN + PHOTO_W + 18.0;

const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
const BACKGROUND: Name<'static> = Name(b"Bg");
const PHOTO: Name<'static> = Name(b"Ph");
const QR: Name<'static> = Name(b"Qr");

/// One line of text to place on a page.
struct Line {
    x: f32,
    y: f32,
    size: f32,
    bold: bool,
    /// Fill colour (RGB, 0..1).
    rgb: (f32, f32, f32),
    text: Vec<u8>,
}

/// The pages' text, and where the first page's holder panel starts.
struct Layout {
    pages: Vec<Vec<Line>>,
    /// Top edge of the holder panel (photo and QR code) on page one.
    panel_top: f32,
}

/// The pictures a PDF embeds, each optional: a picture that cannot be made
/// is left out rather than failing the whole document.
struct Pictures {
    background: Option<&'static Picture>,
    photo: Option<Picture>,
    qr: Option<Picture>,
}

/// Render a valid PDF (renders with `pdftoppm`) showing the document's data.
///
/// A4 pages as the module documentation describes: background, issuer
/// block, title, holder panel with photo and QR code, every field (long
/// values wrap, long documents continue on further pages), the URI and issue
/// date. The text uses the standard Helvetica fonts (nothing embedded), so
/// characters outside Windows-1252 (Devanagari, Tamil, ...) are shown as
/// `?`. The output is deterministic: the same document gives the same bytes.
pub fn render_pdf(citizen: &Citizen, doc: &IssuedDoc) -> Vec<u8> {
    write_pdf(doc, &layout(citizen, doc), &pictures(citizen, doc), None)
}

fn pictures(citizen: &Citizen, doc: &IssuedDoc) -> Pictures {
    Pictures {
        background: images::background(),
        photo: crate::signing::photo_jpeg(&citizen.digilocker_id)
            .ok()
            .and_then(images::jpeg),
        qr: images::qr(&qr_text(citizen, doc)),
    }
}

/// The doc types whose PDFs their issuers sign digitally (PAN, driving
/// licence, vehicle registration: the Income Tax Department's and the
/// transport departments' documents), as [`signed_pdf`] signs them. Every
/// other PDF is unsigned.
pub const SIGNED_PDF_DOCTYPES: [&str; 3] = ["PANCR", "DRVLC", "RVCER"];

/// Bytes reserved for the CMS in a signature's `/Contents` (written as
/// twice as many hex digits); the sandbox's is about 4 KB.
const SIGNATURE_BYTES: usize = 8192;
/// What `/ByteRange` holds until the offsets are known: ten digits each,
/// room for any offset, overwritten in place (padded with spaces).
const BYTE_RANGE_PLACEHOLDER: i32 = 1_111_111_111;

/// The signature a PDF is written with a place for.
struct SignatureSlot<'a> {
    /// The issuer's name (`/Name`).
    issuer: &'a str,
    /// The signing time (`/M`, and the CMS signing-time).
    at: OffsetDateTime,
}

/// [`render_pdf`] with a digital signature by the document's issuer, the
/// way DigiLocker issuers sign their PDFs, for the doc types in
/// [`SIGNED_PDF_DOCTYPES`]; `None` for the others.
///
/// The PDF has one invisible signature field (`/FT /Sig` on page one,
/// `/AcroForm` with `/SigFlags 3`) whose value is a signature dictionary
/// (`/Filter /Adobe.PPKLite`, `/SubFilter /adbe.pkcs7.detached`) with a
/// `/ByteRange` covering the whole file but the `/Contents` hex string, and
/// `/Contents` the DER CMS from [`IssuerSigner::sign_detached`]: the same
/// per-issuer certificate that signs the issuer's XML, chained root → CA →
/// sub-CA → issuer. Signed now: the bytes differ from one call to the next
/// by the signing time only, and the size not at all.
pub fn signed_pdf(
    citizen: &Citizen,
    doc: &IssuedDoc,
    authority: &SigningAuthority,
    signer: &IssuerSigner,
) -> Option<anyhow::Result<Vec<u8>>> {
    SIGNED_PDF_DOCTYPES
        .contains(&doc.doctype.as_str())
        .then(|| sign_pdf(citizen, doc, authority, signer))
}

/// The size in bytes of [`signed_pdf`]'s PDF, without signing it (signing
/// fills the placeholders in place); `None` for the doc types not signed.
/// What `files/issued` lists, at the cost of rendering only.
pub fn signed_pdf_size(citizen: &Citizen, doc: &IssuedDoc) -> Option<usize> {
    SIGNED_PDF_DOCTYPES
        .contains(&doc.doctype.as_str())
        .then(|| {
            let slot = SignatureSlot {
                issuer: &doc.issuer,
                at: OffsetDateTime::now_utc(),
            };
            write_pdf(
                doc,
                &layout(citizen, doc),
                &pictures(citizen, doc),
                Some(&slot),
            )
            .len()
        })
}

fn sign_pdf(
    citizen: &Citizen,
    doc: &IssuedDoc,
    authority: &SigningAuthority,
    signer: &IssuerSigner,
) -> anyhow::Result<Vec<u8>> {
    let at = OffsetDateTime::now_utc();
    let slot = SignatureSlot {
        issuer: &doc.issuer,
        at,
    };
    let mut pdf = write_pdf(
        doc,
        &layout(citizen, doc),
        &pictures(citizen, doc),
        Some(&slot),
    );
    let placeholder =
        format!("[0 {BYTE_RANGE_PLACEHOLDER} {BYTE_RANGE_PLACEHOLDER} {BYTE_RANGE_PLACEHOLDER}]");
    // The signature dictionary is written right after the catalog, so both
    // are found within the first kilobyte.
    let find = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).position(|w| w == needle);
    let range_at = find(&pdf, placeholder.as_bytes()).ok_or_else(|| {
        anyhow::anyhow!("internal error: the signature's /ByteRange placeholder is missing")
    })?;
    let from = find(&pdf[range_at..], b"/Contents <")
        .map(|i| range_at + i + "/Contents ".len())
        .ok_or_else(|| anyhow::anyhow!("internal error: the signature has no /Contents"))?;
    let to = from + 2 * SIGNATURE_BYTES + 2;
    anyhow::ensure!(
        pdf.get(to - 1) == Some(&b'>'),
        "internal error: the signature's /Contents is not {SIGNATURE_BYTES} bytes of hex"
    );
    let byte_range = format!("[0 {from} {to} {}]", pdf.len() - to);
    anyhow::ensure!(
        byte_range.len() <= placeholder.len(),
        "internal error: the PDF is too large for its /ByteRange placeholder"
    );
    pdf[range_at..range_at + placeholder.len()]
        .copy_from_slice(format!("{byte_range:<width$}", width = placeholder.len()).as_bytes());
    let cms = signer.sign_detached(
        authority,
        &doc.issuerid,
        &doc.issuer,
        &[&pdf[..from], &pdf[to..]],
        at,
    )?;
    anyhow::ensure!(
        cms.len() <= SIGNATURE_BYTES,
        "internal error: the signature is {} bytes, more than the {SIGNATURE_BYTES} reserved",
        cms.len()
    );
    let mut hex = hex::encode_upper(&cms).into_bytes();
    hex.resize(2 * SIGNATURE_BYTES, b'0');
    pdf[from + 1..to - 1].copy_from_slice(&hex);
    Ok(pdf)
}

/// The file `oauth2/1/file/{uri}` serves for a document, and its content
/// type: the PDF ([`render_pdf`], `application/pdf`), or for a document whose
/// `mime` names an image (`image/jpeg`, `image/jpg`, `image/png`: a scanned
/// certificate) that image, a card with the holder's photo and the same QR
/// code as the PDF, served under that very `mime`.
pub fn render_file(citizen: &Citizen, doc: &IssuedDoc) -> (String, Vec<u8>) {
    scanned_image(citizen, doc)
        .unwrap_or_else(|| ("application/pdf".to_owned(), render_pdf(citizen, doc)))
}

/// [`render_file`] as the issuer hands it out: the PDF of a doc type in
/// [`SIGNED_PDF_DOCTYPES`] digitally signed ([`signed_pdf`]). An error only
/// when signing fails.
pub fn render_issued_file(
    citizen: &Citizen,
    doc: &IssuedDoc,
    authority: &SigningAuthority,
    signer: &IssuerSigner,
) -> anyhow::Result<(String, Vec<u8>)> {
    if let Some(image) = scanned_image(citizen, doc) {
        return Ok(image);
    }
    let pdf = match signed_pdf(citizen, doc, authority, signer) {
        Some(signed) => signed?,
        None => render_pdf(citizen, doc),
    };
    Ok(("application/pdf".to_owned(), pdf))
}

/// The image and its `mime` of a document held as a scan.
fn scanned_image(citizen: &Citizen, doc: &IssuedDoc) -> Option<(String, Vec<u8>)> {
    doc.mime
        .first()
        .and_then(|m| Some((m, ImageFormat::of_mime(m)?)))
        .and_then(|(mime, format)| {
            let bytes = card::render(citizen, doc, &qr_text(citizen, doc), format)?;
            Some((mime.clone(), bytes))
        })
}

/// What the QR code on a document's PDF says: one `key: value` per line,
/// `DigiLocker URI`, `Document No.`, `Name`, `Issued`, `Issuer`.
pub fn qr_text(citizen: &Citizen, doc: &IssuedDoc) -> String {
    format!(
        "DigiLocker URI: {}\nDocument No.: {}\nName: {}\nIssued: {}\nIssuer: {}",
        doc.uri,
        document_number(doc),
        citizen.name,
        doc.date,
        doc.issuerid
    )
}

/// The value of the first of `labels` the document has as a field (labels
/// compared without regard to case), if not blank.
fn field<'a>(doc: &'a IssuedDoc, labels: &[&str]) -> Option<&'a str> {
    labels.iter().find_map(|label| {
        doc.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(label))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    })
}

/// The document's own number, as the issuer prints it: the PAN, the licence
/// or registration number, the roll number, the account number... For a
/// document without one of the usual number fields, the last part of its
/// URI (after `{issuerid}-{doctype}-`).
pub fn document_number(doc: &IssuedDoc) -> String {
    const NUMBER_LABELS: &[&str] = &[
        "Permanent Account Number",
        "PAN",
        "Licence Number",
        "Driving Licence Number",
        "Registration Number",
        "Vehicle Registration Number",
        "Roll Number",
        "Account No./PPO No.",
        "Certificate Number",
    ];
    field(doc, NUMBER_LABELS).map_or_else(
        || {
            doc.uri
                .strip_prefix(&format!("{}-{}-", doc.issuerid, doc.doctype))
                .unwrap_or(&doc.uri)
                .to_owned()
        },
        str::to_owned,
    )
}

/// DigiLocker's gender code in words.
fn gender_word(code: &str) -> &str {
    match code {
        "M" => "Male",
        "F" => "Female",
        "T" => "Transgender",
        other => other,
    }
}

/// Lay out the document as pages of lines.
fn layout(citizen: &Citizen, doc: &IssuedDoc) -> Layout {
    const INK: (f32, f32, f32) = (0.1, 0.1, 0.12);
    const GREY: (f32, f32, f32) = (0.35, 0.35, 0.4);
    const WHITE: (f32, f32, f32) = (1.0, 1.0, 1.0);
    const PALE: (f32, f32, f32) = (0.85, 0.89, 0.97);
    const RED: (f32, f32, f32) = (0.75, 0.1, 0.1);

    let mut pages: Vec<Vec<Line>> = vec![Vec::new()];
    let push = |pages: &mut Vec<Vec<Line>>, line: Line| {
        if let Some(page) = pages.last_mut() {
            page.push(line);
        }
    };
    let header_w = PAGE_W - MARGIN - HEADER_TEXT_X;
    let one_line = |text: &str, size: f32, bold: bool, max: f32| {
        wrap(text, size, bold, max)
            .into_iter()
            .next()
            .unwrap_or_default()
    };

    // The issuer block, in the header band (drawn in `write_pdf`) right of
    // the emblem: issuer name, document number and date, issuer ids.
    for (i, text) in wrap(&doc.issuer, 15.0, true, header_w)
        .into_iter()
        .take(2)
        .enumerate()
    {
        push(
            &mut pages,
            Line {
                x: HEADER_TEXT_X,
                y: PAGE_H - 34.0 - 18.0 * i as f32,
                size: 15.0,
                bold: true,
                rgb: WHITE,
                text,
            },
        );
    }
    for (y, size, text) in [
        (
            PAGE_H - 74.0,
            9.5,
            format!(
                "Document No. {}   |   Date of issue {}",
                document_number(doc),
                doc.date
            ),
        ),
        (
            PAGE_H - 90.0,
            8.5,
            format!(
                "Issuer ID {}  |  Org ID {}  |  Issued via DigiLocker",
                doc.issuerid, doc.orgid
            ),
        ),
    ] {
        push(
            &mut pages,
            Line {
                x: HEADER_TEXT_X,
                y,
                size,
                bold: false,
                rgb: if size > 9.0 { WHITE } else { PALE },
                text: one_line(&text, size, false, header_w),
            },
        );
    }

    let mut y = PAGE_H - 140.0;
    for text in wrap(&doc.name, 20.0, true, PAGE_W - 2.0 * MARGIN) {
        push(
            &mut pages,
            Line {
                x: MARGIN,
                y,
                size: 20.0,
                bold: true,
                rgb: INK,
                text,
            },
        );
        y -= 24.0;
    }
    push(
        &mut pages,
        Line {
            x: MARGIN,
            y,
            size: 9.0,
            bold: true,
            rgb: RED,
            text: encode("SANDBOX DOCUMENT - FOR TESTING ONLY - NOT VALID FOR ANY PURPOSE"),
        },
    );
    y -= 16.0;

    // The holder panel: photo (drawn in `write_pdf`), who the document is
    // issued to, and the QR code with its caption.
    let panel_top = y;
    let holder_w = QR_X - 16.0 - HOLDER_X;
    let mut hy = panel_top - 12.0;
    push(
        &mut pages,
        Line {
            x: HOLDER_X,
            y: hy,
            size: 9.0,
            bold: true,
            rgb: GREY,
            text: encode("ISSUED TO"),
        },
    );
    hy -= 18.0;
    for text in wrap(&citizen.name, 14.0, true, holder_w)
        .into_iter()
        .take(2)
    {
        push(
            &mut pages,
            Line {
                x: HOLDER_X,
                y: hy,
                size: 14.0,
                bold: true,
                rgb: INK,
                text,
            },
        );
        hy -= 17.0;
    }
    hy -= 4.0;
    for (label, value) in [
        ("Date of birth", citizen.dob.as_str()),
        ("Gender", gender_word(&citizen.gender)),
        ("DigiLocker ID", citizen.digilocker_id.as_str()),
    ] {
        push(
            &mut pages,
            Line {
                x: HOLDER_X,
                y: hy,
                size: 9.5,
                bold: false,
                rgb: INK,
                text: one_line(&format!("{label}: {value}"), 9.5, false, holder_w),
            },
        );
        hy -= 14.0;
    }
    push(
        &mut pages,
        Line {
            x: QR_X + 14.0,
            y: panel_top - QR_SIZE - 12.0,
            size: 7.5,
            bold: false,
            rgb: GREY,
            text: encode("Scan to verify"),
        },
    );
    y = panel_top - PANEL_H - 14.0;

    let mut rows: Vec<(&str, &str)> = doc
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (label, value) in [
        ("Document type", &doc.doctype),
        ("Date of issue", &doc.date),
    ] {
        // Licences already carry their own "Date of Issue" field.
        if !doc
            .fields
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(label))
        {
            rows.push((label, value.as_str()));
        }
    }

    for (label, value) in rows {
        let labels = wrap(label, BODY_SIZE, true, LABEL_W);
        let values = wrap(
            if value.is_empty() { "-" } else { value },
            BODY_SIZE,
            false,
            VALUE_W,
        );
        let height = LINE * labels.len().max(values.len()) as f32;
        if y - height < BOTTOM {
            pages.push(Vec::new());
            y = PAGE_H - MARGIN;
        }
        for (i, text) in labels.into_iter().enumerate() {
            push(
                &mut pages,
                Line {
                    x: MARGIN,
                    y: y - LINE * i as f32,
                    size: BODY_SIZE,
                    bold: true,
                    rgb: GREY,
                    text,
                },
            );
        }
        for (i, text) in values.into_iter().enumerate() {
            push(
                &mut pages,
                Line {
                    x: VALUE_X,
                    y: y - LINE * i as f32,
                    size: BODY_SIZE,
                    bold: false,
                    rgb: INK,
                    text,
                },
            );
        }
        y -= height + 5.0;
    }

    // Footer on every page.
    let count = pages.len();
    for (n, page) in pages.iter_mut().enumerate() {
        let footer = [
            format!("DigiLocker URI: {}", doc.uri),
            "This document was generated by the DigiLocker sandbox for software testing. It is not \
             issued by any government authority."
                .to_owned(),
            format!("Page {} of {count}", n + 1),
        ];
        let mut fy = 70.0;
        for text in footer {
            for text in wrap(&text, 8.0, false, PAGE_W - 2.0 * MARGIN) {
                page.push(Line {
                    x: MARGIN,
                    y: fy,
                    size: 8.0,
                    bold: false,
                    rgb: GREY,
                    text,
                });
                fy -= 11.0;
            }
        }
    }
    Layout { pages, panel_top }
}

/// Embed `picture` as image XObject `id`.
fn image(pdf: &mut Pdf, id: Ref, picture: &Picture) {
    let mut image = pdf.image_xobject(id, &picture.data);
    if picture.jpeg {
        image.filter(Filter::DctDecode);
    }
    image.width(i32::try_from(picture.width).unwrap_or(1));
    image.height(i32::try_from(picture.height).unwrap_or(1));
    if picture.rgb {
        image.color_space().device_rgb();
    } else {
        image.color_space().device_gray();
    }
    image.bits_per_component(8);
    // The QR code's modules must stay crisp squares when scaled up.
    image.interpolate(picture.jpeg);
    image.finish();
}

/// A circle as four Bézier arcs (the current path; fill or stroke it).
fn circle(content: &mut Content, cx: f32, cy: f32, r: f32) {
    const K: f32 = 0.552_284_8;
    let k = K * r;
    content.move_to(cx + r, cy);
    content.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
    content.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
    content.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
    content.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
    content.close_path();
}

/// The issuer's emblem: a white tile with a 24-spoke wheel in navy, the way
/// Indian government documents carry the national emblem or the
/// department's seal.
fn emblem(content: &mut Content) {
    let (x, y) = (MARGIN, LOGO_Y);
    let (cx, cy) = (x + LOGO / 2.0, y + LOGO / 2.0);
    content.save_state();
    content.set_fill_rgb(1.0, 1.0, 1.0);
    content.rect(x, y, LOGO, LOGO);
    content.fill_nonzero();
    content.set_stroke_rgb(0.07, 0.16, 0.45);
    content.set_fill_rgb(0.07, 0.16, 0.45);
    content.set_line_width(2.2);
    circle(content, cx, cy, 25.0);
    content.stroke();
    content.set_line_width(0.8);
    circle(content, cx, cy, 21.0);
    content.stroke();
    for i in 0..24 {
        let a = i as f32 * std::f32::consts::PI / 12.0;
        content.move_to(cx + 5.0 * a.cos(), cy + 5.0 * a.sin());
        content.line_to(cx + 21.0 * a.cos(), cy + 21.0 * a.sin());
    }
    content.stroke();
    circle(content, cx, cy, 4.5);
    content.fill_nonzero();
    // A saffron and a green rule under the wheel.
    content.set_fill_rgb(0.96, 0.55, 0.13);
    content.rect(x + 8.0, y + 4.0, LOGO / 2.0 - 8.0, 2.5);
    content.fill_nonzero();
    content.set_fill_rgb(0.07, 0.53, 0.22);
    content.rect(x + LOGO / 2.0, y + 4.0, LOGO / 2.0 - 8.0, 2.5);
    content.fill_nonzero();
    content.restore_state();
}

/// Draw the XObject `name` into the box (x, y, w, h).
fn place(content: &mut Content, name: Name, x: f32, y: f32, w: f32, h: f32) {
    content.save_state();
    content.transform([w, 0.0, 0.0, h, x, y]);
    content.x_object(name);
    content.restore_state();
}

fn write_pdf(
    doc: &IssuedDoc,
    layout: &Layout,
    pictures: &Pictures,
    signature: Option<&SignatureSlot<'_>>,
) -> Vec<u8> {
    let pages = &layout.pages;
    let mut pdf = Pdf::new();
    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let regular_id = Ref::new(3);
    let bold_id = Ref::new(4);
    let info_id = Ref::new(5);
    let background_id = Ref::new(6);
    let photo_id = Ref::new(7);
    let qr_id = Ref::new(8);
    // Then a (page, content) pair of ids per page.
    let first = 9;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(first + 2 * i32::try_from(i).unwrap_or(0)))
        .collect();

    // The signature field and its value come after the pages.
    let after_pages = first + 2 * i32::try_from(pages.len()).unwrap_or(0);
    let field_id = Ref::new(after_pages);
    let signature_id = Ref::new(after_pages + 1);
    {
        let mut catalog = pdf.catalog(catalog_id);
        catalog.pages(tree_id);
        if signature.is_some() {
            catalog
                .form()
                .fields([field_id])
                .sig_flags(SigFlags::SIGNATURES_EXIST | SigFlags::APPEND_ONLY);
        }
    }
    if let Some(slot) = signature {
        write_signature(&mut pdf, slot, field_id, signature_id, page_ids[0]);
    }
    pdf.pages(tree_id)
        .kids(page_ids.iter().copied())
        .count(i32::try_from(pages.len()).unwrap_or(1));
    pdf.type1_font(regular_id)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold_id)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info_id)
        .title(TextStr(&doc.name))
        .author(TextStr(&doc.issuer))
        .subject(TextStr(&doc.uri))
        .producer(TextStr("DigiLocker Sandbox"));
    let embedded = [
        (BACKGROUND, background_id, pictures.background),
        (PHOTO, photo_id, pictures.photo.as_ref()),
        (QR, qr_id, pictures.qr.as_ref()),
    ];
    for (_, id, picture) in &embedded {
        if let Some(picture) = picture {
            image(&mut pdf, *id, picture);
        }
    }

    for (i, (lines, page_id)) in pages.iter().zip(&page_ids).enumerate() {
        let first_page = i == 0;
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree_id)
            .contents(content_id);
        if first_page && signature.is_some() {
            page.annotations([field_id]);
        }
        let mut resources = page.resources();
        resources
            .fonts()
            .pair(REGULAR, regular_id)
            .pair(BOLD, bold_id);
        {
            let mut x_objects = resources.x_objects();
            for (name, id, picture) in &embedded {
                // The background is on every page, the rest on the first.
                if picture.is_some() && (first_page || *name == BACKGROUND) {
                    x_objects.pair(*name, *id);
                }
            }
        }
        resources.finish();
        page.finish();

        let mut content = Content::new();
        if pictures.background.is_some() {
            place(&mut content, BACKGROUND, 0.0, 0.0, PAGE_W, PAGE_H);
        }
        if first_page {
            // Header band in DigiLocker's blue, with the emblem.
            content.save_state();
            content.set_fill_rgb(0.11, 0.25, 0.55);
            content.rect(0.0, PAGE_H - HEADER_H, PAGE_W, HEADER_H);
            content.fill_nonzero();
            content.restore_state();
            emblem(&mut content);

            // The holder panel: a framed photo, and the QR code on white.
            let top = layout.panel_top;
            content.save_state();
            content.set_fill_rgb(1.0, 1.0, 1.0);
            content.rect(
                QR_X - 3.0,
                top - QR_SIZE - 3.0,
                QR_SIZE + 6.0,
                QR_SIZE + 6.0,
            );
            content.fill_nonzero();
            content.set_stroke_rgb(0.55, 0.55, 0.6);
            content.set_line_width(0.8);
            content.rect(
                MARGIN - 2.0,
                top - PHOTO_H - 2.0,
                PHOTO_W + 4.0,
                PHOTO_H + 4.0,
            );
            content.stroke();
            content.restore_state();
            if pictures.photo.is_some() {
                place(&mut content, PHOTO, MARGIN, top - PHOTO_H, PHOTO_W, PHOTO_H);
            }
            if pictures.qr.is_some() {
                place(&mut content, QR, QR_X, top - QR_SIZE, QR_SIZE, QR_SIZE);
            }
        }
        content.save_state();
        content.set_stroke_rgb(0.7, 0.7, 0.75);
        content.set_line_width(0.6);
        content.move_to(MARGIN, 95.0);
        content.line_to(PAGE_W - MARGIN, 95.0);
        content.stroke();
        content.restore_state();
        for line in lines {
            content.begin_text();
            content.set_fill_rgb(line.rgb.0, line.rgb.1, line.rgb.2);
            content.set_font(if line.bold { BOLD } else { REGULAR }, line.size);
            content.next_line(line.x, line.y);
            content.show(Str(&line.text));
            content.end_text();
        }
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

/// The invisible signature field on page one (a field merged with its
/// widget) and its signature dictionary, with placeholders for `/ByteRange`
/// and `/Contents` that [`sign_pdf`] fills in.
fn write_signature(
    pdf: &mut Pdf,
    slot: &SignatureSlot<'_>,
    field_id: Ref,
    signature_id: Ref,
    page_id: Ref,
) {
    let mut field = pdf.form_field(field_id);
    field
        .field_type(FieldType::Signature)
        .partial_name(TextStr("IssuerSignature"));
    field.pair(Name(b"V"), signature_id);
    field.pair(Name(b"Type"), Name(b"Annot"));
    field.pair(Name(b"Subtype"), Name(b"Widget"));
    field.pair(Name(b"Rect"), Rect::new(0.0, 0.0, 0.0, 0.0));
    field.pair(Name(b"P"), page_id);
    // Print, locked.
    field.pair(Name(b"F"), 132);
    field.finish();
    let ist = slot
        .at
        .to_offset(time::UtcOffset::from_hms(5, 30, 0).unwrap_or(time::UtcOffset::UTC));
    let date = Date::new(u16::try_from(ist.year()).unwrap_or(2000))
        .month(u8::from(ist.month()))
        .day(ist.day())
        .hour(ist.hour())
        .minute(ist.minute())
        .second(ist.second())
        .utc_offset_hour(5)
        .utc_offset_minute(30);
    let mut sig = pdf.indirect(signature_id).dict();
    sig.pair(Name(b"Type"), Name(b"Sig"));
    sig.pair(Name(b"Filter"), Name(b"Adobe.PPKLite"));
    sig.pair(Name(b"SubFilter"), Name(b"adbe.pkcs7.detached"));
    sig.pair(Name(b"Name"), TextStr(slot.issuer));
    sig.pair(Name(b"Reason"), TextStr("Digitally signed by the issuer"));
    sig.pair(Name(b"Location"), TextStr("India"));
    sig.pair(Name(b"M"), date);
    sig.insert(Name(b"ByteRange")).array().items([
        0,
        BYTE_RANGE_PLACEHOLDER,
        BYTE_RANGE_PLACEHOLDER,
        BYTE_RANGE_PLACEHOLDER,
    ]);
    // Non-ASCII bytes, so pdf-writer writes a hex string.
    sig.pair(Name(b"Contents"), Str(&[0xFF; SIGNATURE_BYTES]));
    sig.finish();
}

/// `c` in Windows-1252 (the WinAnsiEncoding of the standard PDF fonts), or
/// `None` when it has no code there.
fn win_ansi(c: char) -> Option<u8> {
    let code = u32::from(c);
    match code {
        0x20..=0x7E | 0xA0..=0xFF => u8::try_from(code).ok(),
        _ => match c {
            '€' => Some(0x80),
            '‚' => Some(0x82),
            '„' => Some(0x84),
            '…' => Some(0x85),
            '‘' => Some(0x91),
            '’' => Some(0x92),
            '“' => Some(0x93),
            '”' => Some(0x94),
            '•' => Some(0x95),
            '–' => Some(0x96),
            '—' => Some(0x97),
            '™' => Some(0x99),
            '\t' | '\n' | '\r' => Some(b' '),
            _ => None,
        },
    }
}

/// Encode `text` for the standard fonts: each run of characters they cannot
/// show (Indic scripts, emoji, ...) becomes one `?`.
fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut in_run = false;
    for c in text.chars() {
        match win_ansi(c) {
            Some(b) => {
                out.push(b);
                in_run = false;
            }
            None if !in_run => {
                out.push(b'?');
                in_run = true;
            }
            None => {}
        }
    }
    out
}

/// Approximate advance width of a Windows-1252 byte in Helvetica, in
/// thousandths of the font size (AFM metrics, grouped).
fn advance(b: u8, bold: bool) -> f32 {
    let w: f32 = match b {
        b' ' | b'i' | b'j' | b'l' | b'.' | b',' | b':' | b';' | b'\'' | b'!' | b'|' | b'I' => 278.0,
        b'f' | b't' | b'r' | b'(' | b')' | b'-' | b'/' | b'[' | b']' => 333.0,
        b'm' | b'M' => 833.0,
        b'w' | b'W' => 800.0,
        b'A'..=b'Z' => 700.0,
        b'0'..=b'9' | b'a'..=b'z' => 556.0,
        _ => 600.0,
    };
    if bold {
        w * 1.06
    } else {
        w
    }
}

fn width(text: &[u8], size: f32, bold: bool) -> f32 {
    text.iter().map(|b| advance(*b, bold)).sum::<f32>() * size / 1000.0
}

/// Wrap `text` into encoded lines no wider than `max` points, breaking at
/// spaces, or inside a word longer than a whole line.
fn wrap(text: &str, size: f32, bold: bool, max: f32) -> Vec<Vec<u8>> {
    let encoded = encode(text);
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    for word in encoded.split(|b| *b == b' ').filter(|w| !w.is_empty()) {
        let mut candidate = line.clone();
        if !candidate.is_empty() {
            candidate.push(b' ');
        }
        candidate.extend_from_slice(word);
        if width(&candidate, size, bold) <= max {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // A word too long for a line is cut where it must be.
        for &b in word {
            line.push(b);
            if width(&line, size, bold) > max && line.len() > 1 {
                let last = line.pop().unwrap_or(b' ');
                lines.push(std::mem::take(&mut line));
                line.push(last);
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The certificate data as XML, unsigned, where the document's `mime` lists
/// `application/xml`; `None` when the document has no XML form.
///
/// DigiLocker's certificate format: a `<Certificate>` with the document's
/// name, type and number, `<IssuedBy><Organization>`, `<IssuedTo><Person>`
/// (with the holder's address and photo) and `<CertificateData>` with the
/// doc type's own element: `<PAN num=..>` for `PANCR`, `<DrivingLicense>`
/// with its vehicle classes and validity for `DRVLC`, `<Marksheet>` with
/// the marks for `SSCER`/`HSCER`, and `<Field name=".." value=".."/>` per
/// field for other doc types. Every value is escaped by quick-xml.
/// [`signed_xml`] is what `oauth2/1/xml/{uri}` serves.
pub fn render_xml(citizen: &Citizen, doc: &IssuedDoc) -> Option<String> {
    if !doc.mime.iter().any(|m| m == MIME_XML) {
        return None;
    }
    let photo = crate::signing::photo_jpeg(&citizen.digilocker_id).ok();
    xml::certificate(citizen, doc, photo.as_deref()).ok()
}

/// [`render_xml`] with an enveloped XMLDSig `<Signature>` by `signer`, as
/// issuers' XML reaches DigiLocker's partners. `None` when the document has
/// no XML form; an error only when signing fails.
pub fn signed_xml(
    citizen: &Citizen,
    doc: &IssuedDoc,
    authority: &SigningAuthority,
    signer: &IssuerSigner,
) -> Option<anyhow::Result<String>> {
    render_xml(citizen, doc).map(|xml| signer.sign(authority, &doc.issuerid, &doc.issuer, &xml))
}

/// Pull a document from an issuer for a citizen with the given parameters.
///
/// Follows the rule in the module documentation: missing, empty or
/// out-of-list parameters → `MissingParameter(name)`; no record of this
/// citizen with this issuer and doc type matches every parameter →
/// `RecordNotFound`; otherwise the record, as the document it is.
pub fn pull(
    citizen: &Citizen,
    issuer: &Issuer,
    doctype: &DocTypeDef,
    params: &[(String, String)],
) -> Result<IssuedDoc, PullError> {
    let mut sent: Vec<(&str, &str)> = Vec::with_capacity(doctype.params.len());
    for def in &doctype.params {
        let value = params
            .iter()
            .find(|(name, _)| *name == def.paramname)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .filter(|v| def.valuelist.is_empty() || def.valuelist.iter().any(|a| a == v))
            .ok_or_else(|| PullError::MissingParameter(def.paramname.to_string()))?;
        sent.push((&def.paramname, value));
    }
    citizen
        .documents
        .iter()
        .chain(&citizen.pullable)
        .filter(|record| record.orgid == issuer.orgid && record.doctype == doctype.doctype)
        .find(|record| {
            !record.params.is_empty()
                && record.params.iter().all(|(name, want)| {
                    sent.iter()
                        .any(|(sent_name, value)| sent_name == name && same_value(value, want))
                })
        })
        .cloned()
        .ok_or(PullError::RecordNotFound)
}

/// Whether a value sent in a pull is the record's: the same letters and
/// digits, whatever the case, spaces and punctuation around them.
pub fn same_value(sent: &str, record: &str) -> bool {
    let key = |v: &str| -> Vec<char> {
        v.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_uppercase)
            .collect()
    };
    let sent = key(sent);
    !sent.is_empty() && sent == key(record)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::catalogue::{self, Catalogue};
    use crate::seed;
    use base64::Engine as _;
    use std::process::Command;
    use std::sync::OnceLock;

    fn citizen(name: &str) -> Citizen {
        seed::all()
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .unwrap()
    }

    fn doc<'a>(citizen: &'a Citizen, doctype: &str) -> &'a IssuedDoc {
        citizen
            .documents
            .iter()
            .find(|d| d.doctype == doctype)
            .unwrap()
    }

    /// One sandbox PKI and issuer signer for the whole test binary (RSA
    /// key generation).
    fn pki() -> &'static (tempfile::TempDir, SigningAuthority, IssuerSigner) {
        static PKI: OnceLock<(tempfile::TempDir, SigningAuthority, IssuerSigner)> = OnceLock::new();
        PKI.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let ca = SigningAuthority::load_or_create(dir.path()).unwrap();
            let signer = IssuerSigner::new(dir.path()).unwrap();
            (dir, ca, signer)
        })
    }

    fn signed(citizen: &Citizen, doc: &IssuedDoc) -> Option<anyhow::Result<String>> {
        let (_, ca, signer) = pki();
        signed_xml(citizen, doc, ca, signer)
    }

    /// Render with pdftoppm (must succeed and produce a PNG per page) and
    /// return the text pdftotext extracts.
    fn check_pdf(pdf: &[u8]) -> (usize, String) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("doc.pdf");
        std::fs::write(&file, pdf).unwrap();
        let out = Command::new("/usr/bin/pdftoppm")
            .args(["-png", "-r", "40"])
            .arg(&file)
            .arg(dir.path().join("page"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pdftoppm failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "pdftoppm complained: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pngs: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
            .collect();
        for png in &pngs {
            let bytes = std::fs::read(png.path()).unwrap();
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        }
        let text = Command::new("pdftotext")
            .args(["-layout"])
            .arg(&file)
            .arg("-")
            .output()
            .unwrap();
        assert!(text.status.success());
        (
            pngs.len(),
            String::from_utf8_lossy(&text.stdout).into_owned(),
        )
    }

    /// The images `pdfimages -list` finds: (page, width, height, colour, encoding).
    fn pdf_images(pdf: &[u8]) -> Vec<(u32, u32, u32, String, String)> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("doc.pdf");
        std::fs::write(&file, pdf).unwrap();
        let out = Command::new("pdfimages")
            .arg("-list")
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(2)
            .map(|l| {
                let c: Vec<&str> = l.split_whitespace().collect();
                (
                    c[0].parse().unwrap(),
                    c[3].parse().unwrap(),
                    c[4].parse().unwrap(),
                    c[5].to_owned(),
                    c[8].to_owned(),
                )
            })
            .collect()
    }

    /// Page one rendered in grey at `dpi`: (width, height, pixels).
    fn page_one_grey(pdf: &[u8], dpi: u32) -> (usize, usize, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("doc.pdf");
        std::fs::write(&file, pdf).unwrap();
        let out = Command::new("/usr/bin/pdftoppm")
            .args(["-gray", "-singlefile", "-f", "1", "-l", "1", "-r"])
            .arg(dpi.to_string())
            .arg(&file)
            .arg(dir.path().join("page"))
            .output()
            .unwrap();
        assert!(out.status.success());
        let pgm = std::fs::read(dir.path().join("page.pgm")).unwrap();
        // "P5\n<w> <h>\n255\n" then one byte per pixel.
        let mut header = Vec::new();
        let mut newlines = 0;
        let mut at = 0;
        while newlines < 3 {
            if pgm[at] == b'\n' {
                newlines += 1;
            }
            header.push(pgm[at]);
            at += 1;
        }
        let header = String::from_utf8(header).unwrap();
        let numbers: Vec<usize> = header
            .split_whitespace()
            .skip(1)
            .map(|n| n.parse().unwrap())
            .collect();
        let (w, h) = (numbers[0], numbers[1]);
        assert_eq!(pgm.len() - at, w * h);
        (w, h, pgm[at..].to_vec())
    }

    #[test]
    fn pdf_renders_and_shows_title_issuer_holder_and_every_field() {
        let ramesh = citizen("Ramesh Kumar Sharma");
        for doc in &ramesh.documents {
            let pdf = render_pdf(&ramesh, doc);
            assert!(pdf.starts_with(b"%PDF-"));
            let (pages, text) = check_pdf(&pdf);
            assert_eq!(pages, 1, "{}", doc.uri);
            let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let number = document_number(doc);
            for needle in [&doc.name, &doc.issuer, &ramesh.name, &doc.uri, &number] {
                assert!(
                    flat.contains(needle.as_str()),
                    "{needle:?} missing from {}",
                    doc.uri
                );
            }
            assert!(flat.contains(&format!("Date of issue {}", doc.date)));
            for (label, value) in &doc.fields {
                let label = label.split_whitespace().collect::<Vec<_>>().join(" ");
                assert!(flat.contains(&label), "label {label:?} missing");
                // Long values wrap; every word must still be there.
                for word in value.split_whitespace() {
                    assert!(flat.contains(word), "{word:?} of {label} missing");
                }
            }
            // Deterministic bytes.
            assert_eq!(pdf, render_pdf(&ramesh, doc));
        }
    }

    #[test]
    fn pdf_carries_background_photo_and_qr_and_weighs_like_a_real_one() {
        let ramesh = citizen("Ramesh Kumar Sharma");
        let pan = doc(&ramesh, "PANCR");
        let pdf = render_pdf(&ramesh, pan);
        assert!(
            (50_000..=300_000).contains(&pdf.len()),
            "{} bytes",
            pdf.len()
        );

        let mut images = pdf_images(&pdf);
        images.sort_by_key(|i| (i.1, i.2));
        let summary: Vec<String> = images
            .iter()
            .map(|(p, w, h, c, e)| format!("p{p} {w}x{h} {c} {e}"))
            .collect();
        assert_eq!(images.len(), 3, "{summary:?}");
        let qr = &images[0];
        assert!(qr.1 == qr.2 && qr.3 == "gray", "QR code: {summary:?}");
        assert_eq!(
            (
                images[1].1,
                images[1].2,
                images[1].3.as_str(),
                images[1].4.as_str()
            ),
            (160, 200, "rgb", "jpeg"),
            "photo: {summary:?}"
        );
        assert_eq!(
            (images[2].1, images[2].2, images[2].4.as_str()),
            (744, 1052, "jpeg"),
            "background: {summary:?}"
        );
        // The photo is the holder's own (the e-Aadhaar's picture).
        let photo = crate::signing::photo_jpeg(&ramesh.digilocker_id).unwrap();
        assert!(pdf.windows(photo.len()).any(|w| w == photo.as_slice()));

        // The page is printed, not blank: the security background covers
        // it, and there is dark ink (header band, text, photo, QR code).
        let (w, h, pixels) = page_one_grey(&pdf, 200);
        let share = |f: &dyn Fn(u8) -> bool| {
            pixels.iter().filter(|p| f(**p)).count() as f64 / pixels.len() as f64
        };
        let not_white = share(&|p| p < 250);
        let dark = share(&|p| p < 100);
        assert!(not_white > 0.9, "background missing: {not_white}");
        assert!((0.03..0.5).contains(&dark), "ink: {dark}");

        // The QR code decodes back to the document's URI and number.
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code on the page");
        let (_, decoded) = grids[0].decode().unwrap();
        assert_eq!(decoded, qr_text(&ramesh, pan));
        assert!(decoded.contains("DigiLocker URI: in.gov.pan-PANCR-"));
        assert!(decoded.contains(&format!("Document No.: {}", document_number(pan))));
    }

    #[test]
    fn pdf_survives_special_characters_non_latin_text_and_long_documents() {
        let maria = citizen("Maria D'Souza");
        let mut doc = maria.documents[0].clone();
        doc.fields.push((
            "Remarks (see \\ note)".into(),
            "Flat 3 & 4, \"Sea View\" <Annexe>".into(),
        ));
        doc.fields.push(("नाम".into(), "मारिया डिसोझा".into()));
        doc.fields.push(("Street".into(), "Rua de Ourém".into()));
        for i in 0..80 {
            doc.fields.push((format!("Entry {i}"), "x".repeat(200)));
        }
        let pdf = render_pdf(&maria, &doc);
        let (pages, text) = check_pdf(&pdf);
        assert!(pages > 1, "a long document continues on more pages");
        assert!(text.contains("Remarks (see \\ note)"));
        assert!(text.contains("Flat 3 & 4, \"Sea View\" <Annexe>"));
        assert!(text.contains("Rua de Ourém"));
        assert!(text.contains("Entry 79"));
        assert!(text.contains(&format!("Page {pages} of {pages}")));
        // The background is drawn on every page, embedded once; the photo
        // and QR code only on the first.
        let images = pdf_images(&pdf);
        assert_eq!(images.iter().filter(|i| i.0 == 1).count(), 3);
        assert!(images.iter().filter(|i| i.0 > 1).all(|i| i.1 == 744));
        assert_eq!(
            images.iter().filter(|i| i.0 > 1).count(),
            pages - 1,
            "{images:?}"
        );
    }

    #[test]
    fn wrapping_keeps_every_character_and_respects_the_width() {
        let text = "Behind Gurdwara Sahib Shri Guru Singh Sabha, Near Punjab National Bank ATM \
                    and the Old Water Tank AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let lines = wrap(text, BODY_SIZE, false, VALUE_W);
        assert!(lines.len() > 2);
        for l in &lines {
            assert!(
                width(l, BODY_SIZE, false) <= VALUE_W,
                "{:?}",
                String::from_utf8_lossy(l)
            );
        }
        let joined: String = lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(joined.replace(' ', ""), text.replace(' ', ""));
        assert_eq!(encode("ab\u{0915}\u{093F}c€"), b"ab?c\x80".to_vec());
    }

    /// Every element (name, attributes) of `xml`, in document order; panics
    /// unless quick-xml reads the whole document as well-formed.
    fn elements(xml: &str) -> Vec<(String, Vec<(String, String)>)> {
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut out = Vec::new();
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                    let attrs = e
                        .attributes()
                        .map(|a| {
                            let a = a.unwrap();
                            (
                                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                                a.unescape_value().unwrap().into_owned(),
                            )
                        })
                        .collect();
                    out.push((
                        String::from_utf8(e.name().as_ref().to_vec()).unwrap(),
                        attrs,
                    ));
                }
                _ => {}
            }
        }
        out
    }

    fn attr<'a>(els: &'a [(String, Vec<(String, String)>)], el: &str, name: &str) -> &'a str {
        els.iter()
            .find(|(n, _)| n == el)
            .and_then(|(_, a)| a.iter().find(|(k, _)| k == name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {el}@{name}"))
    }

    #[test]
    fn xml_is_escaped_well_formed_and_only_where_the_mime_says() {
        let maria = citizen("Maria D'Souza");
        let pan = &maria.documents[0];
        let xml = render_xml(&maria, pan).unwrap();
        assert!(xml.contains("<Certificate language=\"99\" name=\"PAN Verification Record\" type=\"PANCR\" number=\"HJKPD9753S\""));
        assert!(xml.contains("name=\"MARIA D&apos;SOUZA\""));
        assert!(xml.contains("house=\"Flat 3 &amp; 4, &quot;Sea View&quot; &lt;Annexe&gt;\""));
        let els = elements(&xml);
        assert_eq!(attr(&els, "PAN", "num"), "HJKPD9753S");
        // The issuer's spelling of the name: the PAN's.
        assert_eq!(attr(&els, "Person", "name"), "MARIA D'SOUZA");
        assert_eq!(attr(&els, "Organization", "name"), "Income Tax Department");
        assert_eq!(attr(&els, "Organization", "type"), "CG");
        // The holder's photo, the same as on the PDF.
        let photo = base64::engine::general_purpose::STANDARD
            .encode(crate::signing::photo_jpeg(&maria.digilocker_id).unwrap());
        assert!(xml.contains(&format!("<Photo format=\"JPEG\">{photo}</Photo>")));
        // No generic fields where the doc type has its own element.
        assert!(!els.iter().any(|(n, _)| n == "Field"));

        let gurpreet = citizen("Gurpreet Kaur Sandhu");
        let rc = doc(&gurpreet, "RVCER");
        assert!(render_xml(&gurpreet, rc).is_none());
        assert!(signed(&gurpreet, rc).is_none());
    }

    #[test]
    fn doc_type_elements_carry_pan_licence_and_marks() {
        let ramesh = citizen("Ramesh Kumar Sharma");
        let pan = elements(&render_xml(&ramesh, doc(&ramesh, "PANCR")).unwrap());
        assert_eq!(
            attr(&pan, "PAN", "num"),
            document_number(doc(&ramesh, "PANCR"))
        );
        assert_eq!(attr(&pan, "PAN", "status"), "Active");
        assert_eq!(attr(&pan, "PAN", "dob"), ramesh.dob);
        assert!(!attr(&pan, "PAN", "fatherName").is_empty());

        let dl = doc(&ramesh, "DRVLC");
        let licence = elements(&render_xml(&ramesh, dl).unwrap());
        assert_eq!(
            attr(&licence, "DrivingLicense", "number"),
            document_number(dl)
        );
        assert_eq!(attr(&licence, "Certificate", "number"), document_number(dl));
        assert_eq!(attr(&licence, "DrivingLicense", "validTill"), "14-08-2035");
        assert_eq!(attr(&licence, "Certificate", "expiryDate"), "14-08-2035");
        assert_eq!(attr(&licence, "DrivingLicense", "issueDate"), "03-06-2011");
        assert_eq!(attr(&licence, "Organization", "type"), "SG");
        let classes: Vec<(&str, &str)> = licence
            .iter()
            .filter(|(n, _)| n == "Category")
            .map(|(_, a)| (a[0].1.as_str(), a[1].1.as_str()))
            .collect();
        assert_eq!(
            classes,
            vec![
                ("LMV", "Light Motor Vehicle"),
                ("MCWG", "Motor Cycle with Gear")
            ]
        );

        let marks = elements(&render_xml(&ramesh, doc(&ramesh, "SSCER")).unwrap());
        let subjects: Vec<(&str, &str, &str)> = marks
            .iter()
            .filter(|(n, _)| n == "Subject")
            .map(|(_, a)| (a[0].1.as_str(), a[1].1.as_str(), a[2].1.as_str()))
            .collect();
        assert_eq!(subjects.len(), 5, "{subjects:?}");
        assert_eq!(subjects[2], ("Mathematics", "92", "100"));
        assert_eq!(attr(&marks, "Marks", "obtained"), "423");
        assert_eq!(attr(&marks, "Marks", "maximum"), "500");
        assert_eq!(attr(&marks, "Marks", "percentage"), "84.60");
        assert_eq!(attr(&marks, "Marksheet", "result"), "PASS");
        assert_eq!(attr(&marks, "Certificate", "type"), "SSCER");

        // Tamil Nadu's higher secondary marks are out of 200 a subject.
        let priya = citizen("Priya Venkataraman");
        let hsc = elements(&render_xml(&priya, doc(&priya, "HSCER")).unwrap());
        assert_eq!(attr(&hsc, "Marks", "maximum"), "1200");
        assert!(attr(&hsc, "Marksheet", "examination").contains("XII"));
    }

    /// (`[0 b c d]` of the PDF's `/ByteRange`, the signed bytes, the CMS).
    fn signed_parts(pdf: &[u8]) -> ([usize; 4], Vec<u8>, Vec<u8>) {
        let text = String::from_utf8_lossy(pdf);
        let at = text.find("/ByteRange [").unwrap() + "/ByteRange [".len();
        let numbers: Vec<usize> = text[at..at + text[at..].find(']').unwrap()]
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        let [a, b, c, d] = numbers[..] else {
            panic!("{numbers:?}")
        };
        let signed = [&pdf[a..b], &pdf[c..c + d]].concat();
        let room = hex::decode(&pdf[b + 1..c - 1]).unwrap();
        // The CMS is the DER SEQUENCE at the start (two length bytes), zeros after it.
        assert_eq!(room[..2], [0x30, 0x82]);
        let len = 4 + (usize::from(room[2]) << 8 | usize::from(room[3]));
        assert!(room[len..].iter().all(|b| *b == 0));
        let cms = room[..len].to_vec();
        ([a, b, c, d], signed, cms)
    }

    /// `openssl cms -verify` of a PDF's detached signature over its byte
    /// range, against the sandbox root alone: (success, stderr).
    fn openssl_verify(pdf: &[u8]) -> (bool, String) {
        let (_, signed, cms) = signed_parts(pdf);
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root.pem");
        std::fs::write(&root, pki().1.root_pem()).unwrap();
        std::fs::write(dir.path().join("signed.bin"), &signed).unwrap();
        std::fs::write(dir.path().join("sig.der"), &cms).unwrap();
        let out = Command::new("/usr/bin/openssl")
            .args([
                "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any",
            ])
            .arg("-in")
            .arg(dir.path().join("sig.der"))
            .arg("-content")
            .arg(dir.path().join("signed.bin"))
            .arg("-CAfile")
            .arg(&root)
            .args(["-out", "/dev/null"])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn pan_licence_and_rc_pdfs_carry_their_issuers_signature_and_others_none() {
        let (_, ca, signer) = pki();
        let anchors = aadhaar::TrustAnchors::from_pem(&ca.root_pem()).unwrap();
        let now = OffsetDateTime::now_utc();
        let rajesh = citizen("Rajesh Manubhai Patel");
        for doctype in SIGNED_PDF_DOCTYPES {
            let d = doc(&rajesh, doctype);
            let pdf = signed_pdf(&rajesh, d, ca, signer).unwrap().unwrap();
            // Still the same document to look at, one page.
            let (pages, text) = check_pdf(&pdf);
            assert_eq!(pages, 1, "{doctype}");
            assert!(text.contains(&document_number(d)), "{doctype}: {text}");
            // The byte range is the whole file but the /Contents hex string.
            let ([a, b, c, d_len], _, cms) = signed_parts(&pdf);
            assert_eq!((a, c + d_len), (0, pdf.len()), "{doctype}");
            assert_eq!((pdf[b], pdf[c - 1]), (b'<', b'>'));
            assert!(
                cms.len() > 3000 && cms.len() <= SIGNATURE_BYTES,
                "{}",
                cms.len()
            );
            let text = String::from_utf8_lossy(&pdf);
            for key in [
                "/Type /Sig",
                "/Filter /Adobe.PPKLite",
                "/SubFilter /adbe.pkcs7.detached",
                "/FT /Sig",
                "/SigFlags 3",
            ] {
                assert!(text.contains(key), "{doctype}: no {key}");
            }
            // openssl verifies the CMS over the byte range up to the sandbox root.
            let (ok, stderr) = openssl_verify(&pdf);
            assert!(ok, "{doctype}: openssl refused the signature: {stderr}");
            // poppler's pdfsig finds the signature and its signer, and checks it
            // (the sandbox root is not in its trust store: it says so, and no more).
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("signed.pdf"), &pdf).unwrap();
            let out = Command::new("/usr/bin/pdfsig")
                .arg(dir.path().join("signed.pdf"))
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&out.stdout);
            assert!(said.contains("Signature is Valid."), "{doctype}: {said}");
            assert!(said.contains("adbe.pkcs7.detached"), "{said}");
            assert!(said.contains("Total document signed"), "{said}");
            // And so does the gateway's verifier, naming the issuer's own signer: the
            // certificate that signs its XML.
            let report = aadhaar::pdfsig::verify_pdf(&pdf, &anchors, now);
            assert_eq!(
                report.status,
                aadhaar::pdfsig::PdfSignatureStatus::Verified,
                "{doctype}: {report:?}"
            );
            let xml = signed_xml(&rajesh, d, ca, signer).unwrap().unwrap();
            let xml_signer = aadhaar::issuer::read_and_verify(xml.as_bytes(), &anchors, now)
                .unwrap()
                .verification;
            assert!(xml_signer.signature);
            assert_eq!(report.signer, xml_signer.signer, "{doctype}");
            assert_eq!(report.chain, xml_signer.chain, "{doctype}");
            assert!(report.chain[0].starts_with(&format!(
                "CN={}",
                crate::issuer_signing::signer_cn(&d.issuer).replace(',', "\\,")
            )));
            assert_eq!(report.chain.len(), 4);

            // A byte changed in the signed range: openssl refuses it too.
            let mut tampered = pdf.clone();
            let at = b / 2;
            tampered[at] ^= 0x01;
            assert!(!openssl_verify(&tampered).0, "{doctype}");
        }
        // Mark sheets and the EPFO passbook stay unsigned, in their served form too.
        for doctype in ["SSCER", "HSCER", "PRFND"] {
            let d = doc(&rajesh, doctype);
            assert!(signed_pdf(&rajesh, d, ca, signer).is_none(), "{doctype}");
            let (mime, pdf) = render_issued_file(&rajesh, d, ca, signer).unwrap();
            assert_eq!(mime, "application/pdf");
            assert_eq!(pdf, render_pdf(&rajesh, d), "{doctype}");
            assert!(!String::from_utf8_lossy(&pdf).contains("/ByteRange"));
        }
        // `files/issued` lists a signed PDF's size without signing it.
        for doctype in SIGNED_PDF_DOCTYPES {
            let d = doc(&rajesh, doctype);
            let (_, served) = render_issued_file(&rajesh, d, ca, signer).unwrap();
            assert_eq!(signed_pdf_size(&rajesh, d), Some(served.len()), "{doctype}");
        }
        assert_eq!(signed_pdf_size(&rajesh, doc(&rajesh, "SSCER")), None);
        // The served PAN is the signed one; a scan stays the image it is.
        let (_, pan) = render_issued_file(&rajesh, doc(&rajesh, "PANCR"), ca, signer).unwrap();
        assert!(String::from_utf8_lossy(&pan).contains("/adbe.pkcs7.detached"));
        let aruna = citizen("Aruna Kamble");
        let scan = doc(&aruna, "SSCPC");
        assert_eq!(
            render_issued_file(&aruna, scan, ca, signer).unwrap(),
            render_file(&aruna, scan)
        );
    }

    /// `xmlsec1 --verify` of `xml` against the sandbox root alone.
    fn xmlsec_verify(xml: &str) -> (bool, String) {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("root.pem");
        let file = dir.path().join("certificate.xml");
        std::fs::write(&cert, pki().1.root_pem()).unwrap();
        std::fs::write(&file, xml).unwrap();
        let out = Command::new("/usr/bin/xmlsec1")
            .arg("--verify")
            .arg("--trusted-pem")
            .arg(&cert)
            .arg(&file)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn signed_xml_verifies_with_xmlsec1_and_tampering_breaks_it() {
        let maria = citizen("Maria D'Souza");
        let pan = &maria.documents[0];
        let xml = signed(&maria, pan).unwrap().unwrap();
        let els = elements(&xml);
        // An enveloped signature, the root's last child, in DigiLocker's shape.
        assert!(xml.trim_end().ends_with("</Signature></Certificate>"));
        assert_eq!(
            attr(&els, "SignatureMethod", "Algorithm"),
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
        );
        assert_eq!(attr(&els, "Reference", "URI"), "");
        assert!(xml.contains("<X509SubjectName>CN=DS SANDBOX INCOME TAX DEPARTMENT,"));
        let (ok, stderr) = xmlsec_verify(&xml);
        assert!(
            ok,
            "xmlsec1 rejected the signed certificate: {stderr}\n{xml}"
        );

        let tampered = xml.replacen("num=\"HJKPD9753S\"", "num=\"HJKPD9753T\"", 1);
        assert_ne!(tampered, xml);
        let (ok, _) = xmlsec_verify(&tampered);
        assert!(!ok, "xmlsec1 accepted a tampered certificate");

        // Licences and mark sheets verify too.
        let ramesh = citizen("Ramesh Kumar Sharma");
        for doctype in ["DRVLC", "SSCER"] {
            let xml = signed(&ramesh, doc(&ramesh, doctype)).unwrap().unwrap();
            let (ok, stderr) = xmlsec_verify(&xml);
            assert!(ok, "{doctype}: {stderr}");
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn pull_follows_the_documented_rule() {
        let cat = Catalogue::generate(0, 0);
        let issuer = cat.issuer(catalogue::ORGID_AG_TRIPURA).unwrap();
        let prfnd = cat.doctype(catalogue::ORGID_AG_TRIPURA, "PRFND").unwrap();
        let who = citizen("Debashish Debbarma");
        let record = who.documents.iter().find(|d| d.doctype == "PRFND").unwrap();
        let p = params;

        // The citizen's own record, found by its parameters; extra ones are
        // ignored, case, spaces and punctuation too.
        let ok = pull(
            &who,
            issuer,
            prfnd,
            &p(&[
                ("AC_NO", "98432234234"),
                ("MemberName", "Debashish Debbarma"),
                ("extra", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(&ok, record);
        assert_eq!(ok.uri, "in.gov.agtripura-PRFND-98432234234");
        let again = pull(
            &who,
            issuer,
            prfnd,
            &p(&[
                ("MemberName", " debashish  debbarma. "),
                ("AC_NO", "984-322-342-34"),
            ]),
        )
        .unwrap();
        assert_eq!(again.uri, ok.uri);
        // A wrong number or a wrong name finds nothing, as do the values
        // that used to be the only misses.
        for (account, name) in [
            ("98432234235", "Debashish Debbarma"),
            ("98432234234", "Ramesh"),
            ("000000", "Debashish Debbarma"),
            ("98432234234", "notfound"),
        ] {
            assert_eq!(
                pull(
                    &who,
                    issuer,
                    prfnd,
                    &p(&[("AC_NO", account), ("MemberName", name)])
                ),
                Err(PullError::RecordNotFound),
                "{account} {name}"
            );
        }
        // Another citizen's record is not found for this one.
        let ramesh = citizen("Ramesh Kumar Sharma");
        assert_eq!(
            pull(
                &ramesh,
                issuer,
                prfnd,
                &p(&[
                    ("AC_NO", "98432234234"),
                    ("MemberName", "Debashish Debbarma")
                ])
            ),
            Err(PullError::RecordNotFound)
        );
        // The document renders like any other, in its formats: a passbook is
        // PDF only.
        let (pages, text) = check_pdf(&render_pdf(&who, &ok));
        assert_eq!(pages, 1);
        assert!(text.contains("98432234234"));
        assert_eq!(ok.mime, vec![catalogue::MIME_PDF.to_owned()]);
        assert!(render_xml(&who, &ok).is_none());

        assert_eq!(
            pull(&who, issuer, prfnd, &p(&[("AC_NO", "98432234234")])),
            Err(PullError::MissingParameter("MemberName".into()))
        );
        assert_eq!(
            pull(
                &who,
                issuer,
                prfnd,
                &p(&[("AC_NO", "  "), ("MemberName", "Ramesh")])
            ),
            Err(PullError::MissingParameter("AC_NO".into()))
        );

        // A value outside a parameter's value list is refused by name.
        let cbse = cat.issuer(catalogue::ORGID_CBSE).unwrap();
        let sscer = cat.doctype(catalogue::ORGID_CBSE, "SSCER").unwrap();
        assert_eq!(
            pull(
                &ramesh,
                cbse,
                sscer,
                &p(&[("rroll", "4012345"), ("year", "1890")])
            ),
            Err(PullError::MissingParameter("year".into()))
        );
        assert_eq!(
            pull(
                &ramesh,
                cbse,
                sscer,
                &p(&[("rroll", "4012345"), ("year", "2001")])
            )
            .unwrap()
            .uri,
            "in.cbse-SSCER-20014012345"
        );
        assert_eq!(
            pull(
                &ramesh,
                cbse,
                sscer,
                &p(&[("rroll", "4012345"), ("year", "2002")])
            ),
            Err(PullError::RecordNotFound)
        );
    }

    #[test]
    fn scanned_documents_render_as_small_images_of_their_mime() {
        let mut seen = Vec::new();
        for c in seed::all() {
            for d in c
                .documents
                .iter()
                .filter(|d| d.mime[0].starts_with("image/"))
            {
                let (mime, bytes) = render_file(c, d);
                assert_eq!(mime, d.mime[0]);
                match ImageFormat::of_mime(&mime).unwrap() {
                    ImageFormat::Png => assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n")),
                    ImageFormat::Jpeg => assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF, 0xE0])),
                }
                assert!(
                    (10_000..=120_000).contains(&bytes.len()),
                    "{}: {} bytes",
                    d.uri,
                    bytes.len()
                );
                // The same document, the same bytes.
                assert_eq!(render_file(c, d).1, bytes);
                seen.push(mime);
            }
        }
        seen.sort();
        assert_eq!(seen, ["image/jpeg", "image/jpg", "image/png"]);
        // Everything else is a PDF.
        let ramesh = citizen("Ramesh Kumar Sharma");
        let (mime, bytes) = render_file(&ramesh, &ramesh.documents[0]);
        assert_eq!(mime, "application/pdf");
        assert!(bytes.starts_with(b"%PDF-"));
    }

    #[test]
    fn every_record_is_found_by_its_own_parameters_for_its_own_citizen_only() {
        let cat = Catalogue::generate(0, 0);
        let all = seed::all();
        let mut pullable = 0;
        for c in all {
            for record in c.documents.iter().chain(&c.pullable) {
                let (Some(issuer), Some(doctype)) = (
                    cat.issuer(&record.orgid),
                    cat.doctype(&record.orgid, &record.doctype),
                ) else {
                    continue; // the Aadhaar card is in no catalogue
                };
                let names: Vec<&str> = doctype
                    .params
                    .iter()
                    .map(|p| p.paramname.as_ref())
                    .collect();
                let given: Vec<&str> = record.params.iter().map(|(n, _)| n.as_str()).collect();
                assert_eq!(given, names, "{}", record.uri);
                let found = pull(c, issuer, doctype, &record.params).unwrap();
                assert_eq!(&found, record);
                for other in all.iter().filter(|o| o.digilocker_id != c.digilocker_id) {
                    assert_eq!(
                        pull(other, issuer, doctype, &record.params),
                        Err(PullError::RecordNotFound),
                        "{} found {}'s {}",
                        other.name,
                        c.name,
                        record.uri
                    );
                }
            }
            pullable += c.pullable.len();
        }
        assert!(pullable >= 5);
    }

    #[test]
    fn pulled_licences_and_mark_sheets_are_whole_records_with_signed_xml() {
        let cat = Catalogue::generate(0, 0);
        let who = citizen("Arjun Reddy");
        let ts = catalogue::transport_orgid("TS").unwrap();
        let licence = pull(
            &who,
            cat.issuer(&ts).unwrap(),
            cat.doctype(&ts, "DRVLC").unwrap(),
            &params(&[("dlno", "TS09 2018 0034567"), ("DOB", "12/06/2000")]),
        )
        .unwrap();
        assert_eq!(licence.mime, cat.doctype(&ts, "DRVLC").unwrap().mime);
        assert_eq!(document_number(&licence), "TS0920180034567");
        assert_eq!(licence.uri, "in.gov.ts.transport-DRVLC-TS0920180034567");
        let labels: Vec<&str> = licence.fields.iter().map(|(k, _)| k.as_str()).collect();
        for label in [
            "Date of Issue",
            "Valid Till (Non-Transport)",
            "Class of Vehicle",
            "Issuing Authority",
        ] {
            assert!(labels.contains(&label), "{labels:?}");
        }
        let xml = signed(&who, &licence).unwrap().unwrap();
        let els = elements(&xml);
        assert_eq!(attr(&els, "DrivingLicense", "number"), "TS0920180034567");
        assert!(els.iter().any(|(n, _)| n == "Category"));
        let issued: u32 = attr(&els, "DrivingLicense", "issueDate")[6..]
            .parse()
            .unwrap();
        let till: u32 = attr(&els, "DrivingLicense", "validTill")[6..]
            .parse()
            .unwrap();
        assert_eq!(till, issued + 22);
        assert!(xmlsec_verify(&xml).0);

        let ramesh = citizen("Ramesh Kumar Sharma");
        let hsc = pull(
            &ramesh,
            cat.issuer(catalogue::ORGID_CBSE).unwrap(),
            cat.doctype(catalogue::ORGID_CBSE, "HSCER").unwrap(),
            &params(&[("rroll", "4123456"), ("year", "2003")]),
        )
        .unwrap();
        let els = elements(&render_xml(&ramesh, &hsc).unwrap());
        assert_eq!(els.iter().filter(|(n, _)| n == "Subject").count(), 5);
        assert_eq!(attr(&els, "Marksheet", "rollNumber"), "4123456");
        assert_eq!(attr(&els, "Marksheet", "year"), "2003");
        assert_eq!(attr(&els, "Marks", "maximum"), "500");

        let pan = pull(
            &who,
            cat.issuer(catalogue::ORGID_INCOME_TAX).unwrap(),
            cat.doctype(catalogue::ORGID_INCOME_TAX, "PANCR").unwrap(),
            &params(&[("panno", "FGHPR2345J"), ("PANFullName", "Arjun Reddy")]),
        )
        .unwrap();
        let els = elements(&render_xml(&who, &pan).unwrap());
        assert_eq!(attr(&els, "PAN", "num"), "FGHPR2345J");
        assert_eq!(attr(&els, "PAN", "name"), "ARJUN REDDY");
        assert_eq!(attr(&els, "Certificate", "number"), "FGHPR2345J");
    }
}
