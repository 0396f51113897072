//! Real documents: PDFs showing the document's data, XML certificate data,
//! and documents pulled from issuers by parameters.
//!
//! OWNER: content helper. Interface below is fixed.
//!
//! # Pulling documents: the rule testers can rely on
//!
//! [`pull`] imitates an issuer's database with a fixed rule, so every outcome
//! can be produced on purpose:
//!
//! 1. Every parameter the doc type defines must be sent, non-empty after
//!    trimming, and, where the parameter has a value list, one of those values.
//!    Otherwise: [`PullError::MissingParameter`] with the first offending
//!    parameter's name (in the doc type's order). Extra parameters are ignored.
//! 2. If any parameter's value is made only of zeros (`0`, `000000`, ...) or
//!    is the word `NOTFOUND` (any case): [`PullError::RecordNotFound`].
//! 3. Otherwise the issuer "finds" the record: a new document whose URI is
//!    `{issuerid}-{doctype}-{H}`, where `H` is the first 10 hex digits (upper
//!    case) of SHA-256 over `orgid`, `doctype` and each `paramname=value` in the
//!    doc type's order, joined by newlines. Same parameters, same URI. Its
//!    fields are the holder's name followed by each parameter (label, value).
//!
//! Example: PAN (`orgid` `000004`, `PANCR`) with `panno=ABCDE1234F` and
//! `PANFullName=Ramesh Kumar Sharma` is found; `panno=NOTFOUND` is
//! `record_not_found`; leaving `panno` out is `MissingParameter("panno")`.

use pdf_writer::{Content, Finish as _, Name, Pdf, Rect, Ref, Str, TextStr};
use quick_xml::events::{BytesDecl, Event};
use quick_xml::Writer;
use sha2::{Digest as _, Sha256};

use crate::catalogue::{DocTypeDef, Issuer};
use crate::seed::{Address, Citizen, IssuedDoc};

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

const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

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

/// Render a valid PDF (renders with `pdftoppm`) showing the document's data.
///
/// A4 pages with the issuer, the document's title, the holder and every
/// field, then the URI and issue date; long values wrap and long documents
/// continue on further pages. The text uses the standard Helvetica fonts
/// (nothing embedded), so characters outside Windows-1252 (Devanagari, Tamil,
/// ...) are shown as `?`. The output is deterministic: the same document
/// gives the same bytes.
pub fn render_pdf(citizen: &Citizen, doc: &IssuedDoc) -> Vec<u8> {
    let pages = layout(citizen, doc);
    write_pdf(doc, &pages)
}

/// Lay out the document as pages of lines.
fn layout(citizen: &Citizen, doc: &IssuedDoc) -> Vec<Vec<Line>> {
    const INK: (f32, f32, f32) = (0.1, 0.1, 0.12);
    const GREY: (f32, f32, f32) = (0.35, 0.35, 0.4);
    const WHITE: (f32, f32, f32) = (1.0, 1.0, 1.0);
    const RED: (f32, f32, f32) = (0.75, 0.1, 0.1);

    let mut pages: Vec<Vec<Line>> = vec![Vec::new()];
    let mut y = PAGE_H - 40.0;
    let push = |pages: &mut Vec<Vec<Line>>, line: Line| {
        if let Some(page) = pages.last_mut() {
            page.push(line);
        }
    };

    // Header band (drawn in `write_pdf`): issuer and "issued via DigiLocker".
    for (i, text) in wrap(&doc.issuer, 16.0, true, PAGE_W - 2.0 * MARGIN)
        .into_iter()
        .take(2)
        .enumerate()
    {
        push(
            &mut pages,
            Line {
                x: MARGIN,
                y: y - 4.0 - 19.0 * i as f32,
                size: 16.0,
                bold: true,
                rgb: WHITE,
                text,
            },
        );
    }
    push(
        &mut pages,
        Line {
            x: MARGIN,
            y: PAGE_H - 92.0,
            size: 9.0,
            bold: false,
            rgb: WHITE,
            text: encode(&format!(
                "Issuer ID {}  |  Org ID {}  |  Issued via DigiLocker",
                doc.issuerid, doc.orgid
            )),
        },
    );
    y = PAGE_H - 140.0;

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
    y -= 28.0;

    let mut rows: Vec<(&str, &str)> = vec![("Issued to", citizen.name.as_str())];
    rows.extend(doc.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
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
    pages
}

fn write_pdf(doc: &IssuedDoc, pages: &[Vec<Line>]) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let regular_id = Ref::new(3);
    let bold_id = Ref::new(4);
    let info_id = Ref::new(5);
    // Then a (page, content) pair of ids per page.
    let first = 6;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(first + 2 * i32::try_from(i).unwrap_or(0)))
        .collect();

    pdf.catalog(catalog_id).pages(tree_id);
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

    for (i, (lines, page_id)) in pages.iter().zip(&page_ids).enumerate() {
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree_id)
            .contents(content_id);
        page.resources()
            .fonts()
            .pair(REGULAR, regular_id)
            .pair(BOLD, bold_id);
        page.finish();

        let mut content = Content::new();
        if i == 0 {
            // Header band in DigiLocker's blue, and a rule under the title area.
            content.save_state();
            content.set_fill_rgb(0.11, 0.25, 0.55);
            content.rect(0.0, PAGE_H - 105.0, PAGE_W, 105.0);
            content.fill_nonzero();
            content.restore_state();
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

/// The certificate data as XML, where the document's `mime` lists `application/xml`.
///
/// DigiLocker's certificate format: a `<Certificate>` with the document's
/// name, type and number, `<IssuedBy><Organization>`, `<IssuedTo><Person>`
/// (with the holder's address) and `<CertificateData>` holding every field as
/// `<Field name=".." value=".."/>`. Every value is escaped by quick-xml.
/// `None` when the document has no XML form.
pub fn render_xml(citizen: &Citizen, doc: &IssuedDoc) -> Option<String> {
    if !doc.mime.iter().any(|m| m == "application/xml") {
        return None;
    }
    certificate_xml(citizen, doc).ok()
}

fn certificate_xml(citizen: &Citizen, doc: &IssuedDoc) -> std::io::Result<String> {
    let number = doc
        .uri
        .strip_prefix(&format!("{}-{}-", doc.issuerid, doc.doctype))
        .unwrap_or(&doc.uri);
    let mut w = Writer::new(Vec::new());
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
            ("number", number),
            ("prevNumber", ""),
            ("expiryDate", ""),
            ("validFromDate", doc.date.as_str()),
            ("issuedAt", ""),
            ("issueDate", doc.date.as_str()),
            ("status", "A"),
        ])
        .write_inner_content(|w| {
            w.create_element("IssuedBy").write_inner_content(|w| {
                w.create_element("Organization")
                    .with_attributes([
                        ("name", doc.issuer.as_str()),
                        ("code", doc.orgid.as_str()),
                        ("tin", ""),
                        ("uid", doc.issuerid.as_str()),
                        ("type", ""),
                    ])
                    .write_empty()?;
                Ok(())
            })?;
            w.create_element("IssuedTo").write_inner_content(|w| {
                w.create_element("Person")
                    .with_attributes([
                        ("uid", ""),
                        ("title", ""),
                        ("name", citizen.name.as_str()),
                        ("dob", citizen.dob.as_str()),
                        ("gender", citizen.gender.as_str()),
                        ("phone", ""),
                        ("email", ""),
                    ])
                    .write_inner_content(|w| {
                        let address = person_address(&citizen.address);
                        w.create_element("Address")
                            .with_attributes(address.iter().map(|(k, v)| (*k, v.as_str())))
                            .write_empty()?;
                        Ok(())
                    })?;
                Ok(())
            })?;
            w.create_element("CertificateData")
                .write_inner_content(|w| {
                    for (name, value) in &doc.fields {
                        w.create_element("Field")
                            .with_attributes([("name", name.as_str()), ("value", value.as_str())])
                            .write_empty()?;
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    // quick-xml only writes UTF-8 text; a failure here would be a bug.
    String::from_utf8(w.into_inner()).map_err(std::io::Error::other)
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

/// Pull a document from an issuer for a citizen with the given parameters.
///
/// Follows the rule in the module documentation: missing, empty or
/// out-of-list parameters → `MissingParameter(name)`; an all-zeros value or
/// `NOTFOUND` → `RecordNotFound`; otherwise a new document with URI
/// `{issuerid}-{doctype}-{first 10 hex digits of SHA-256 of the parameters}`.
pub fn pull(
    citizen: &Citizen,
    issuer: &Issuer,
    doctype: &DocTypeDef,
    params: &[(String, String)],
) -> Result<IssuedDoc, PullError> {
    let mut found: Vec<(&str, &str, &str)> = Vec::with_capacity(doctype.params.len());
    for def in &doctype.params {
        let value = params
            .iter()
            .find(|(name, _)| *name == def.paramname)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .filter(|v| def.valuelist.is_empty() || def.valuelist.iter().any(|a| a == v))
            .ok_or_else(|| PullError::MissingParameter(def.paramname.clone()))?;
        found.push((&def.paramname, &def.label, value));
    }
    if found
        .iter()
        .any(|(_, _, v)| v.eq_ignore_ascii_case("NOTFOUND") || v.bytes().all(|b| b == b'0'))
    {
        return Err(PullError::RecordNotFound);
    }

    let mut hasher = Sha256::new();
    hasher.update(issuer.orgid.as_bytes());
    hasher.update(b"\n");
    hasher.update(doctype.doctype.as_bytes());
    for (name, _, value) in &found {
        hasher.update(b"\n");
        hasher.update(name.as_bytes());
        hasher.update(b"=");
        hasher.update(value.as_bytes());
    }
    let hash = hex::encode_upper(hasher.finalize());
    let uri = format!("{}-{}-{}", issuer.issuerid, doctype.doctype, &hash[..10]);

    let mut fields = vec![("Name".to_owned(), citizen.name.clone())];
    fields.extend(
        found
            .iter()
            .map(|(_, label, value)| ((*label).to_owned(), (*value).to_owned())),
    );
    Ok(IssuedDoc {
        uri,
        doctype: doctype.doctype.clone(),
        issuerid: issuer.issuerid.clone(),
        orgid: issuer.orgid.clone(),
        issuer: issuer.name.clone(),
        name: doctype.description.clone(),
        description: doctype.description.clone(),
        date: today_ist(),
        mime: vec!["application/pdf".to_owned(), "application/xml".to_owned()],
        fields,
    })
}

/// Today's date in India, DD-MM-YYYY, as DigiLocker dates documents.
fn today_ist() -> String {
    let ist = time::UtcOffset::from_hms(5, 30, 0).unwrap_or(time::UtcOffset::UTC);
    let d = time::OffsetDateTime::now_utc().to_offset(ist);
    format!("{:02}-{:02}-{:04}", d.day(), u8::from(d.month()), d.year())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::catalogue::{self, Catalogue};
    use crate::seed;
    use std::process::Command;

    fn citizen(name: &str) -> Citizen {
        seed::all()
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .unwrap()
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

    #[test]
    fn pdf_renders_and_shows_title_issuer_holder_and_every_field() {
        let ramesh = citizen("Ramesh Kumar Sharma");
        for doc in &ramesh.documents {
            let pdf = render_pdf(&ramesh, doc);
            assert!(pdf.starts_with(b"%PDF-"));
            let (pages, text) = check_pdf(&pdf);
            assert_eq!(pages, 1, "{}", doc.uri);
            let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
            for needle in [&doc.name, &doc.issuer, &ramesh.name, &doc.uri] {
                assert!(
                    flat.contains(needle.as_str()),
                    "{needle:?} missing from {}",
                    doc.uri
                );
            }
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

    #[test]
    fn xml_is_escaped_well_formed_and_only_where_the_mime_says() {
        let maria = citizen("Maria D'Souza");
        let pan = &maria.documents[0];
        let xml = render_xml(&maria, pan).unwrap();
        assert!(xml.contains("<Certificate language=\"99\" name=\"PAN Verification Record\" type=\"PANCR\" number=\"HJKPD9753S\""));
        assert!(xml.contains("name=\"Maria D&apos;Souza\""));
        assert!(xml.contains("house=\"Flat 3 &amp; 4, &quot;Sea View&quot; &lt;Annexe&gt;\""));
        assert!(xml.contains("<Field name=\"Permanent Account Number\" value=\"HJKPD9753S\"/>"));
        // xmllint-free well-formedness check: quick-xml's reader accepts it
        // and sees every field.
        let mut reader = quick_xml::Reader::from_str(&xml);
        let mut fields = 0;
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Empty(e) if e.name().as_ref() == b"Field" => fields += 1,
                _ => {}
            }
        }
        assert_eq!(fields, pan.fields.len());

        let gurpreet = citizen("Gurpreet Kaur Sandhu");
        let rc = gurpreet
            .documents
            .iter()
            .find(|d| d.doctype == "RVCER")
            .unwrap();
        assert!(render_xml(&gurpreet, rc).is_none());
    }

    #[test]
    fn pull_follows_the_documented_rule() {
        let cat = Catalogue::generate(0, 0);
        let issuer = cat.issuer(catalogue::ORGID_AG_TRIPURA).unwrap();
        let prfnd = cat.doctype(catalogue::ORGID_AG_TRIPURA, "PRFND").unwrap();
        let who = citizen("Debashish Debbarma");
        let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };

        let ok = pull(
            &who,
            issuer,
            prfnd,
            &p(&[
                ("AC_NO", "98432234234"),
                ("MemberName", "Ramesh"),
                ("extra", "x"),
            ]),
        )
        .unwrap();
        assert!(ok.uri.starts_with("in.gov.agtripura-PRFND-"));
        assert_eq!(ok.uri.len(), "in.gov.agtripura-PRFND-".len() + 10);
        assert_eq!(ok.orgid, "002317");
        assert_eq!(ok.issuer, "Accountants General, Tripura");
        assert_eq!(ok.name, "Provident Fund Member Passbook");
        assert_eq!(
            ok.fields,
            vec![
                ("Name".to_owned(), who.name.clone()),
                ("Account No./PPO No.".to_owned(), "98432234234".to_owned()),
                ("Name of the member".to_owned(), "Ramesh".to_owned()),
            ]
        );
        // Same parameters (after trimming), same URI; different, different.
        let again = pull(
            &who,
            issuer,
            prfnd,
            &p(&[("MemberName", " Ramesh "), ("AC_NO", "98432234234")]),
        )
        .unwrap();
        assert_eq!(again.uri, ok.uri);
        let other = pull(
            &who,
            issuer,
            prfnd,
            &p(&[("AC_NO", "98432234235"), ("MemberName", "Ramesh")]),
        )
        .unwrap();
        assert_ne!(other.uri, ok.uri);
        // The pulled document renders like any other.
        let (pages, text) = check_pdf(&render_pdf(&who, &ok));
        assert_eq!(pages, 1);
        assert!(text.contains("98432234234"));
        assert!(render_xml(&who, &ok).is_some());

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
        assert_eq!(
            pull(
                &who,
                issuer,
                prfnd,
                &p(&[("AC_NO", "000000"), ("MemberName", "Ramesh")])
            ),
            Err(PullError::RecordNotFound)
        );
        assert_eq!(
            pull(
                &who,
                issuer,
                prfnd,
                &p(&[("AC_NO", "98432234234"), ("MemberName", "notfound")])
            ),
            Err(PullError::RecordNotFound)
        );

        // A value outside a parameter's value list is refused by name.
        let cbse = cat.issuer(catalogue::ORGID_CBSE).unwrap();
        let sscer = cat.doctype(catalogue::ORGID_CBSE, "SSCER").unwrap();
        assert_eq!(
            pull(
                &who,
                cbse,
                sscer,
                &p(&[("rroll", "4012345"), ("year", "1890")])
            ),
            Err(PullError::MissingParameter("year".into()))
        );
        assert!(pull(
            &who,
            cbse,
            sscer,
            &p(&[("rroll", "4012345"), ("year", "2001")])
        )
        .is_ok());
    }
}
