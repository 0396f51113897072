//! PDF signatures (`aadhaar::pdfsig`) against PDFs signed by openssl
//! (tests/fixtures/gen-pdf-fixtures.sh): the genuine one verifies; a one-byte change,
//! bytes appended after signing, an untrusted signer and malformed dictionaries or CMS
//! are not verified, each with its reason, and nothing panics.

use crate::support::{anchors, fixture};
use aadhaar::pdfsig::{verify_pdf, PdfSignature, PdfSignatureProblem, PdfSignatureStatus};
use rand::{RngExt as _, SeedableRng as _};
use time::OffsetDateTime;

fn check(pdf: &[u8]) -> PdfSignature {
    verify_pdf(pdf, &anchors(), OffsetDateTime::now_utc())
}

fn signed() -> Vec<u8> {
    fixture("issuer-signed.pdf")
}

/// Where the `/Contents` hex string is (its `<` and just after its `>`), as the fixture's
/// `/ByteRange` says.
fn contents(pdf: &[u8]) -> (usize, usize) {
    let text = String::from_utf8_lossy(pdf);
    let at = text.find("/ByteRange [").unwrap() + "/ByteRange [".len();
    let n: Vec<usize> = text[at..at + text[at..].find(']').unwrap()]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    (n[1], n[2])
}

/// The fixture with its CMS replaced by `f(cms)`, hex-encoded into the same room.
fn with_cms(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut pdf = signed();
    let (from, to) = contents(&pdf);
    let digits = std::str::from_utf8(&pdf[from + 1..to - 1])
        .unwrap()
        .to_owned();
    let room: Vec<u8> = (0..digits.len() / 2)
        .map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    // The CMS is the DER SEQUENCE at the start (two length bytes: 256 bytes to 64 KB).
    assert_eq!(room[..2], [0x30, 0x82]);
    let len = 4 + (usize::from(room[2]) << 8 | usize::from(room[3]));
    let mut cms = room[..len].to_vec();
    f(&mut cms);
    let mut new: Vec<u8> = cms
        .iter()
        .flat_map(|b| format!("{b:02X}").into_bytes())
        .collect();
    assert!(new.len() <= to - from - 2);
    new.resize(to - from - 2, b'0');
    pdf[from + 1..to - 1].copy_from_slice(&new);
    pdf
}

fn assert_problem(report: &PdfSignature, problem: PdfSignatureProblem, says: &str) {
    assert_eq!(report.status, PdfSignatureStatus::Invalid, "{report:?}");
    assert_eq!(report.problem, Some(problem), "{report:?}");
    let reason = report.reason.as_deref().unwrap_or_default();
    assert!(reason.contains(says), "{reason:?} does not say {says:?}");
    assert!(report.chain.is_empty());
}

#[test]
fn an_issuer_signed_pdf_verifies_with_its_signer_chain_and_signing_time() {
    let report = check(&signed());
    assert_eq!(report.status, PdfSignatureStatus::Verified, "{report:?}");
    assert_eq!(report.signatures, 1);
    assert_eq!(report.problem, None);
    assert_eq!(report.reason, None);
    let signer = report.signer.as_deref().unwrap();
    assert!(
        signer.starts_with("CN=DS TEST E-GOVERNANCE DIVISION 1,"),
        "{signer}"
    );
    assert_eq!(report.chain.len(), 3, "{:?}", report.chain);
    assert_eq!(report.chain[0], signer);
    assert!(report.chain[1].contains("Test Document Signer Sub-CA"));
    assert!(report.chain[2].contains("Test CCA India Root"));
    // openssl's signing time, as RFC 3339.
    let at = report.signing_time.as_deref().unwrap();
    let at = OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(at.year() >= 2026 && at < OffsetDateTime::now_utc(), "{at}");
    // What the gateway's JSON says.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["status"], "verified");
    assert!(json.get("problem").is_none() && json.get("reason").is_none());
}

#[test]
fn an_unsigned_pdf_is_unsigned_never_verified() {
    // It even has an (empty) signature field.
    let pdf = fixture("issuer-unsigned.pdf");
    assert!(String::from_utf8_lossy(&pdf).contains("/FT /Sig"));
    let report = check(&pdf);
    assert_eq!(report.status, PdfSignatureStatus::Unsigned, "{report:?}");
    assert_eq!(report.signatures, 0);
    assert!(report.signer.is_none() && report.chain.is_empty());
    assert_eq!(serde_json::to_value(&report).unwrap()["status"], "unsigned");
}

#[test]
fn a_one_byte_change_in_the_signed_range_is_not_verified() {
    let pdf = signed();
    let (from, to) = contents(&pdf);
    // The page's text, before the signature; and the trailer, after it.
    for at in [
        memchr_find(&pdf, b"PAN Verification Record") + 4,
        to + (pdf.len() - to) / 2,
    ] {
        let mut changed = pdf.clone();
        changed[at] ^= 0x01;
        let report = check(&changed);
        assert_problem(
            &report,
            PdfSignatureProblem::DigestMismatch,
            "changed after signing",
        );
        // The signer is named even so: the PDF says who signed what it no longer is.
        assert!(report.signer.is_some());
    }
    assert!(from > 0);
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).unwrap()
}

/// `pdf` with the first `from` replaced by `to` (bytes: the file is not UTF-8).
fn replace(pdf: &[u8], from: &str, to: &str) -> Vec<u8> {
    let at = memchr_find(pdf, from.as_bytes());
    [&pdf[..at], to.as_bytes(), &pdf[at + from.len()..]].concat()
}

#[test]
fn bytes_appended_after_signing_are_not_covered() {
    let mut pdf = signed();
    // An incremental update that would, say, add an annotation over the text.
    pdf.extend_from_slice(b"\n6 0 obj\n<< /Length 0 >>\nstream\n\nendstream\nendobj\n%%EOF\n");
    let report = check(&pdf);
    assert_problem(
        &report,
        PdfSignatureProblem::ByteRange,
        "content was added after signing",
    );
    // A byte range pointing past the end, or leaving more than /Contents out.
    let pdf = signed();
    let (from, to) = contents(&pdf);
    let range = format!("[0 {from} {to} {}]", pdf.len() - to);
    for (shifted, says) in [
        (
            format!("[0 {} {to} {}]", from - 1, pdf.len() - to),
            "exactly the /Contents",
        ),
        (
            format!("[0 {from} {to} {}]", pdf.len() - to + 1),
            "after the end of the file",
        ),
        (
            format!("[1 {from} {to} {}]", pdf.len() - to),
            "beginning of the file",
        ),
    ] {
        let moved = replace(&pdf, &range, &shifted);
        assert_eq!(moved.len(), pdf.len());
        let report = check(&moved);
        assert_problem(&report, PdfSignatureProblem::ByteRange, says);
    }
}

#[test]
fn a_pdf_signed_by_an_untrusted_key_is_not_verified() {
    let report = check(&fixture("issuer-signed-evil.pdf"));
    assert_problem(&report, PdfSignatureProblem::UntrustedChain, "not trusted");
    // The look-alike carries the genuine signer's name: named, but not trusted.
    assert!(report
        .signer
        .as_deref()
        .unwrap()
        .contains("DS TEST E-GOVERNANCE DIVISION 1"));
    // Trusting the look-alike's root instead, it verifies (the check is the chain).
    let evil =
        aadhaar::TrustAnchors::from_pem(&crate::support::fixture_str("evil-root.pem")).unwrap();
    let report = verify_pdf(
        &fixture("issuer-signed-evil.pdf"),
        &evil,
        OffsetDateTime::now_utc(),
    );
    assert_eq!(report.status, PdfSignatureStatus::Verified, "{report:?}");
    // And the genuine PDF is untrusted under that root.
    let report = verify_pdf(&signed(), &evil, OffsetDateTime::now_utc());
    assert_problem(&report, PdfSignatureProblem::UntrustedChain, "not trusted");
}

#[test]
fn a_changed_signature_value_is_a_bad_signature() {
    // No unsigned attributes: the CMS ends with the RSA signature value.
    let pdf = with_cms(|cms| {
        let last = cms.len() - 1;
        cms[last] ^= 0x01;
    });
    assert_problem(
        &check(&pdf),
        PdfSignatureProblem::BadSignature,
        "does not verify",
    );
}

#[test]
fn malformed_dictionaries_and_cms_are_reasons_not_panics() {
    let pdf = signed();
    let (from, to) = contents(&pdf);
    let cases: Vec<(Vec<u8>, PdfSignatureProblem, &str)> = vec![
        // Not DER at all.
        (
            with_cms(|cms| *cms = vec![0x30, 0x80, 0x00, 0x00]),
            PdfSignatureProblem::Malformed,
            "not a DER element",
        ),
        (
            with_cms(|cms| *cms = b"not a CMS".to_vec()),
            PdfSignatureProblem::Malformed,
            "CMS cannot be read",
        ),
        // DER, but no ContentInfo: SEQUENCE { INTEGER 0 }.
        (
            with_cms(|cms| *cms = vec![0x30, 0x03, 0x02, 0x01, 0x00]),
            PdfSignatureProblem::Malformed,
            "CMS cannot be read",
        ),
        // A ContentInfo cut short (zeros where the rest was).
        (
            with_cms(|cms| cms.truncate(cms.len() / 2)),
            PdfSignatureProblem::Malformed,
            "SignedData cannot be read",
        ),
        // Something after the CMS that is not padding.
        (
            {
                let mut p = pdf.clone();
                p[to - 2] = b'7';
                p
            },
            PdfSignatureProblem::Malformed,
            "other than zero padding",
        ),
        // A /SubFilter that is not accepted, and none.
        (
            replace(&pdf, "/adbe.pkcs7.detached", "/adbe.pkcs7.sha1    "),
            PdfSignatureProblem::Unsupported,
            "adbe.pkcs7.sha1",
        ),
        (
            replace(&pdf, "/SubFilter /adbe.pkcs7.detached", &" ".repeat(31)),
            PdfSignatureProblem::Malformed,
            "no /SubFilter",
        ),
        // The dictionary cut off in the middle of /Contents.
        (
            pdf[..from + 100].to_vec(),
            PdfSignatureProblem::Malformed,
            "not in a readable signature dictionary",
        ),
        // /ByteRange not four numbers.
        (
            replace(&pdf, "/ByteRange [0 ", "/ByteRange [0 0 "),
            PdfSignatureProblem::Malformed,
            "exactly four numbers",
        ),
        // Not a PDF.
        (
            b"\x89PNG\r\n\x1a\n".to_vec(),
            PdfSignatureProblem::Malformed,
            "not a PDF",
        ),
    ];
    for (i, (bytes, problem, says)) in cases.iter().enumerate() {
        let report = check(bytes);
        assert_eq!(
            report.status,
            PdfSignatureStatus::Invalid,
            "case {i}: {report:?}"
        );
        assert_problem(&report, *problem, says);
    }
}

/// Random damage anywhere: never a panic, and never verified unless the damage is inside
/// the `/Contents` string's zero padding (which no signature covers, by design).
#[test]
fn random_damage_never_panics_and_never_verifies() {
    let pdf = signed();
    let (from, to) = contents(&pdf);
    let mut rng = rand::rngs::StdRng::seed_from_u64(29);
    for round in 0..400 {
        let mut damaged = pdf.clone();
        let at = rng.random_range(0..damaged.len());
        match round % 4 {
            0 => damaged[at] = rng.random(),
            1 => damaged.truncate(at),
            2 => {
                damaged.insert(at, rng.random());
            }
            _ => {
                damaged.remove(at);
            }
        }
        if damaged == pdf {
            continue;
        }
        let report = check(&damaged);
        if report.status == PdfSignatureStatus::Verified {
            // Only a byte replaced inside /Contents after the CMS can leave it verified.
            assert!(
                round % 4 == 0 && at > from && at < to,
                "round {round}: damage at {at} verified"
            );
        }
    }
}

#[test]
fn the_size_limit_is_a_reason() {
    let mut big = signed();
    big.resize(aadhaar::pdfsig::MAX_PDF_BYTES + 1, b' ');
    assert_problem(&check(&big), PdfSignatureProblem::Malformed, "the limit is");
}
