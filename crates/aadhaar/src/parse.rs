//! Reading the XML: limits, hostile-input refusal, the expected layout, and the data.

use crate::error::Error;
use crate::limits::{
    MAX_ATTRIBUTE_BYTES, MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_ELEMENTS, MAX_PHOTO_BYTES,
};
use crate::mask::MaskedAadhaar;
use crate::model::{Address, DateOfBirth, EAadhaar, Gender, LocalData};
use base64::Engine as _;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use uppsala::{Document, Element, NodeId, NodeKind};

/// The XML-DSig namespace.
pub(crate) const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Where the parts of an e-Aadhaar are in the parsed document. Found once, checked for
/// uniqueness and position, and then the only way data is read: the verifier and the data
/// reader both work on these nodes of the same [`Document`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub root: NodeId,
    pub kyc_res: NodeId,
    pub uid_data: NodeId,
    pub poi: NodeId,
    pub poa: Option<NodeId>,
    pub ldata: Option<NodeId>,
    pub pht: Option<NodeId>,
    pub signature: Option<NodeId>,
}

/// Checks the raw bytes before any parsing: size, encoding, and DTD constructs.
pub(crate) fn decode(xml: &[u8]) -> Result<&str, Error> {
    if xml.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::hostile(format!(
            "the document is {} bytes; the limit is {MAX_DOCUMENT_BYTES} bytes",
            xml.len()
        )));
    }
    let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let text = std::str::from_utf8(xml).map_err(|e| {
        Error::malformed(format!(
            "the document is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    // `<!` starts a comment, a CDATA section, or a DTD construct. A genuine e-Aadhaar has
    // no DTD; refusing every other `<!` here (rather than relying only on the parser's
    // DOCTYPE switch) also refuses entity declarations however they are dressed up.
    let bytes = text.as_bytes();
    for at in memchr::memmem::find_iter(bytes, b"<!") {
        let rest = &bytes[at..];
        if !(rest.starts_with(b"<!--") || rest.starts_with(b"<![CDATA[")) {
            return Err(Error::hostile(
                "the document contains a DTD declaration (<!DOCTYPE, <!ENTITY, ...); \
                 e-Aadhaar XML never has one, and entity expansion is not allowed",
            ));
        }
    }
    Ok(text)
}

/// Parses the text into a DOM with DTDs forbidden and nesting capped at [`MAX_DEPTH`].
pub(crate) fn parse_dom(text: &str) -> Result<Document<'_>, Error> {
    let doc = uppsala::Parser::new()
        .with_forbid_dtd(true)
        .with_forbid_entities(true)
        .with_max_depth(MAX_DEPTH)
        .parse(text)
        .map_err(|e| {
            let msg = e.to_string();
            // uppsala reports its depth cap as a parse error; this crate's test
            // `deep_nesting_is_hostile` pins the wording so an upgrade cannot silently
            // turn this into a plain `Malformed`.
            if msg.contains("maximum depth") {
                Error::hostile(format!(
                    "elements are nested deeper than {MAX_DEPTH} levels"
                ))
            } else {
                Error::malformed(format!("not well-formed XML: {msg}"))
            }
        })?;
    // The bytes were decoded as UTF-8; a document that declares another encoding would
    // be read differently by other XML tools (xmlsec1 included), so it is refused.
    if let Some(enc) = doc
        .xml_declaration
        .as_ref()
        .and_then(|d| d.encoding.as_deref())
    {
        if !enc.eq_ignore_ascii_case("UTF-8") {
            return Err(Error::malformed(format!(
                "the XML declaration says encoding=\"{enc}\"; only UTF-8 is accepted"
            )));
        }
    }
    Ok(doc)
}

fn is_element(doc: &Document<'_>, id: NodeId, ns: Option<&str>, local: &str) -> bool {
    doc.element(id)
        .is_some_and(|e| e.name.namespace_uri.as_deref() == ns && &*e.name.local_name == local)
}

/// The names in e-Aadhaar's own (namespace-less) vocabulary whose position is checked.
const DATA_NAMES: [&str; 8] = [
    "Certificate",
    "CertificateData",
    "KycRes",
    "UidData",
    "Poi",
    "Poa",
    "LData",
    "Pht",
];

/// Walks the whole document once: enforces the element-count and attribute-size limits,
/// and finds every occurrence of the e-Aadhaar elements and of `ds:Signature`, wherever
/// they are. Then insists each is where DigiLocker puts it and occurs once. Reading the
/// data only from these nodes is what defeats signature wrapping: a copy of `UidData`
/// hidden inside `Signature/Object` or `KeyInfo` makes the document fail here, before any
/// cryptography.
pub(crate) fn locate(doc: &Document<'_>) -> Result<Layout, Error> {
    let mut found: [Vec<NodeId>; 8] = Default::default();
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
            )));
        }
        for a in &el.attributes {
            if a.value.len() > MAX_ATTRIBUTE_BYTES {
                return Err(Error::hostile(format!(
                    "attribute {} of <{}> is {} bytes; the limit is {MAX_ATTRIBUTE_BYTES}",
                    a.name.local_name,
                    el.name.local_name,
                    a.value.len()
                )));
            }
        }
        let local = &*el.name.local_name;
        let ns = el.name.namespace_uri.as_deref();
        if local == "Signature" && ns == Some(DSIG_NS) {
            signatures.push(id);
        } else if let Some(i) = DATA_NAMES.iter().position(|n| *n == local) {
            if ns.is_some() {
                return Err(Error::structure(format!(
                    "<{local}> is in a namespace; e-Aadhaar elements have none"
                )));
            }
            found[i].push(id);
        }
    }

    let one = |i: usize| -> Result<NodeId, Error> {
        match found[i].as_slice() {
            [id] => Ok(*id),
            [] => Err(Error::structure(format!("no <{}> element", DATA_NAMES[i]))),
            _ => Err(Error::structure(format!(
                "<{}> occurs {} times; exactly one is allowed",
                DATA_NAMES[i],
                found[i].len()
            ))),
        }
    };
    let at_most_one = |i: usize| -> Result<Option<NodeId>, Error> {
        match found[i].as_slice() {
            [] => Ok(None),
            [id] => Ok(Some(*id)),
            _ => Err(Error::structure(format!(
                "<{}> occurs {} times; at most one is allowed",
                DATA_NAMES[i],
                found[i].len()
            ))),
        }
    };
    let child_of = |id: NodeId, parent: NodeId, what: &str, of: &str| -> Result<(), Error> {
        if doc.parent(id) == Some(parent) {
            Ok(())
        } else {
            Err(Error::structure(format!(
                "<{what}> is not a direct child of <{of}>"
            )))
        }
    };

    let root = doc
        .document_element()
        .ok_or_else(|| Error::malformed("the document has no root element"))?;
    if !is_element(doc, root, None, "Certificate") {
        return Err(Error::structure("the root element is not <Certificate>"));
    }
    let certificate_data = one(1)?;
    child_of(certificate_data, root, "CertificateData", "Certificate")?;
    let kyc_res = one(2)?;
    child_of(kyc_res, certificate_data, "KycRes", "CertificateData")?;
    let uid_data = one(3)?;
    child_of(uid_data, kyc_res, "UidData", "KycRes")?;
    let poi = one(4)?;
    child_of(poi, uid_data, "Poi", "UidData")?;
    let mut optional = [None; 3];
    for (slot, (i, name)) in optional
        .iter_mut()
        .zip([(5, "Poa"), (6, "LData"), (7, "Pht")])
    {
        *slot = at_most_one(i)?;
        if let Some(id) = *slot {
            child_of(id, uid_data, name, "UidData")?;
        }
    }
    let [poa, ldata, pht] = optional;

    let signature = match signatures.as_slice() {
        [] => None,
        [id] => {
            child_of(*id, root, "Signature", "Certificate")?;
            Some(*id)
        }
        many => {
            return Err(Error::structure(format!(
                "the document has {} <Signature> elements; exactly one is allowed",
                many.len()
            )))
        }
    };

    // The root holds CertificateData and Signature and nothing else; CertificateData holds
    // KycRes and nothing else. Anything more is content the reader would not look at.
    only_children(doc, root, &[certificate_data], signature, "Certificate")?;
    only_children(doc, certificate_data, &[kyc_res], None, "CertificateData")?;

    Ok(Layout {
        root,
        kyc_res,
        uid_data,
        poi,
        poa,
        ldata,
        pht,
        signature,
    })
}

fn only_children(
    doc: &Document<'_>,
    parent: NodeId,
    allowed: &[NodeId],
    also: Option<NodeId>,
    name: &str,
) -> Result<(), Error> {
    for child in doc.children_iter(parent) {
        match doc.node_kind(child) {
            Some(NodeKind::Element(el)) if !allowed.contains(&child) && also != Some(child) => {
                return Err(Error::structure(format!(
                    "unexpected <{}> inside <{name}>",
                    el.name.local_name
                )));
            }
            Some(NodeKind::Text(t)) | Some(NodeKind::CData(t)) if !t.trim().is_empty() => {
                return Err(Error::structure(format!(
                    "unexpected text directly inside <{name}>"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// An attribute in no namespace, or `""` when absent. `Element::get_attribute` ignores
/// namespaces, which would let `foo:name` stand in for `name`.
pub(crate) fn attr<'d>(el: &'d Element<'_>, name: &str) -> &'d str {
    el.attributes
        .iter()
        .find(|a| a.name.namespace_uri.is_none() && &*a.name.local_name == name)
        .map(|a| &*a.value)
        .unwrap_or("")
}

fn element<'d, 'a>(doc: &'d Document<'a>, id: NodeId) -> Result<&'d Element<'a>, Error> {
    doc.element(id)
        .ok_or_else(|| Error::malformed("internal: located node is not an element"))
}

fn address(el: &Element<'_>) -> Address {
    // A blank value (`country=" "` in real files) means "absent"; others are kept as sent.
    let a = |n| {
        let v = attr(el, n);
        if v.trim().is_empty() {
            String::new()
        } else {
            v.to_owned()
        }
    };
    Address {
        care_of: a("co"),
        country: a("country"),
        district: a("dist"),
        house: a("house"),
        landmark: a("lm"),
        locality: a("loc"),
        pin: a("pc"),
        post_office: a("po"),
        state: a("state"),
        street: a("street"),
        sub_district: a("subdist"),
        vtc: a("vtc"),
    }
}

/// Reads `KycRes@ts`: RFC 3339 (`2026-11-25T10:15:30.123+05:30`), or the same without an
/// offset, which is taken as IST (+05:30) because UIDAI and DigiLocker are in India.
pub(crate) fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    let ist = UtcOffset::from_hms(5, 30, 0).ok()?;
    PrimitiveDateTime::parse(s, &fmt)
        .ok()
        .map(|t| t.assume_offset(ist))
}

/// `KycRes@ts`, or `None` when absent or empty; `Malformed` when present but unreadable.
pub(crate) fn generated_at(
    doc: &Document<'_>,
    layout: &Layout,
) -> Result<Option<OffsetDateTime>, Error> {
    let ts = attr(element(doc, layout.kyc_res)?, "ts");
    if ts.trim().is_empty() {
        return Ok(None);
    }
    parse_timestamp(ts)
        .map(Some)
        .ok_or_else(|| Error::malformed("KycRes@ts is not an ISO 8601 date-time"))
}

/// Reads the typed data from the located nodes. Error messages name the field, never its
/// value, so that no personal data reaches a log.
pub(crate) fn extract(doc: &Document<'_>, layout: &Layout) -> Result<EAadhaar, Error> {
    let kyc = element(doc, layout.kyc_res)?;
    let uid = element(doc, layout.uid_data)?;
    let poi = element(doc, layout.poi)?;

    let dob = attr(poi, "dob");
    let date_of_birth = if dob.trim().is_empty() {
        None
    } else {
        Some(DateOfBirth::parse(dob).ok_or_else(|| {
            Error::malformed("Poi@dob is not a date (expected DD-MM-YYYY or YYYY)")
        })?)
    };
    let gender_raw = attr(poi, "gender");
    let gender = if gender_raw.trim().is_empty() {
        None
    } else {
        Some(
            Gender::parse(gender_raw)
                .ok_or_else(|| Error::malformed("Poi@gender is not M, F or T"))?,
        )
    };

    let local = match layout.ldata {
        Some(id) => {
            let el = element(doc, id)?;
            Some(LocalData {
                language: attr(el, "lang").to_owned(),
                name: attr(el, "name").to_owned(),
                address: address(el),
            })
        }
        None => None,
    };

    let photo = match layout.pht {
        // Zero-copy when the photo is one text node, as DigiLocker sends it.
        Some(id) => match doc.children_count(id) {
            0 => Vec::new(),
            1 => decode_photo(doc.element_text(id).unwrap_or(""))?,
            _ => decode_photo(&doc.text_content_deep(id))?,
        },
        None => Vec::new(),
    };

    Ok(EAadhaar {
        name: attr(poi, "name").to_owned(),
        date_of_birth,
        gender,
        // The full number, if a source ever sends one, is dropped right here.
        masked_number: MaskedAadhaar::from_uid(attr(uid, "uid")),
        address: match layout.poa {
            Some(id) => address(element(doc, id)?),
            None => Address::default(),
        },
        local,
        photo,
        generated_at: generated_at(doc, layout)?,
        transaction_id: attr(kyc, "txn").to_owned(),
    })
}

fn decode_photo(text: &str) -> Result<Vec<u8>, Error> {
    let text = text.trim_ascii();
    // Checked before decoding so a huge photo costs no allocation beyond the document.
    let max_encoded = MAX_PHOTO_BYTES.div_ceil(3) * 4;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let too_big = || Error::hostile(format!("the photo is larger than {MAX_PHOTO_BYTES} bytes"));
    let bad = || Error::malformed("Pht is not valid base64");
    // DigiLocker sends the photo on one line: decode it in place. Only wrapped base64
    // (which the fast path refuses at the first whitespace) pays for a cleaned copy.
    let fast = (text.len() <= max_encoded)
        .then(|| engine.decode(text).ok())
        .flatten();
    let decoded = match fast {
        Some(d) => d,
        None => {
            let cleaned: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            if cleaned.len() > max_encoded {
                return Err(too_big());
            }
            engine.decode(&cleaned).map_err(|_| bad())?
        }
    };
    if decoded.len() > MAX_PHOTO_BYTES {
        return Err(too_big());
    }
    Ok(decoded)
}

/// Parses an e-Aadhaar **without checking its signature**, for diagnostics and tests.
///
/// The same limits, hostile-input refusal and layout checks apply as in
/// [`verify_and_parse`](crate::verify_and_parse), but nothing here says the data is
/// genuine: never present the result as verified (pass `false` to
/// [`EAadhaar::to_contract`]). A missing `<Signature>` is allowed.
pub fn parse_unverified(xml: &[u8]) -> Result<EAadhaar, Error> {
    let text = decode(xml)?;
    let doc = parse_dom(text)?;
    let layout = locate(&doc)?;
    extract(&doc, &layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_with_depth(depth: usize) -> String {
        let mut s = String::from("<Certificate><CertificateData><KycRes><UidData><Poi/>");
        for _ in 0..depth {
            s.push_str("<x>");
        }
        for _ in 0..depth {
            s.push_str("</x>");
        }
        s.push_str("</UidData></KycRes></CertificateData></Certificate>");
        s
    }

    #[test]
    fn deep_nesting_is_hostile() {
        let err = parse_unverified(doc_with_depth(100).as_bytes());
        assert!(
            matches!(&err, Err(Error::Hostile { reason }) if reason.contains("nested")),
            "{err:?}"
        );
        // Within the limit the same shape parses.
        assert!(parse_unverified(doc_with_depth(10).as_bytes()).is_ok());
    }

    #[test]
    fn timestamps() {
        let t = parse_timestamp("2026-11-25T10:15:30.123+05:30");
        assert_eq!(t.map(|t| t.unix_timestamp()), Some(1_795_581_930));
        let no_offset = parse_timestamp("2026-11-25T10:15:30.123");
        assert_eq!(no_offset, t);
        assert_eq!(
            parse_timestamp("2026-11-25T04:45:30Z").map(|t| t.unix_timestamp()),
            Some(1_795_581_930)
        );
        assert_eq!(parse_timestamp("25-11-2026"), None);
    }
}
