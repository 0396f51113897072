//! Property tests: escaping round-trips (blank address parts read as absent), masking never reveals more than four digits,
//! Verhoeff generation and validation agree.

use aadhaar::mask::mask_aadhaar;
use aadhaar::{parse_unverified, verhoeff};
use proptest::prelude::*;

/// Characters XML 1.0 allows in a document.
fn xml_char() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("XML 1.0 Char", |c| {
        matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(xml_char(), 0..40).prop_map(|v| v.into_iter().collect()),
        // Hindi and the characters that need escaping, more often than chance gives them.
        "[अ-ह ा-ौ्0-9&<>\"' \t\n]{0,30}",
    ]
}

/// Escapes an attribute value the way a correct XML writer does. Tab, newline and carriage
/// return become character references, because a parser normalizes the literal ones to
/// spaces.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

const POA: [&str; 12] = [
    "co", "country", "dist", "house", "lm", "loc", "pc", "po", "state", "street", "subdist", "vtc",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn attribute_values_round_trip(name in value(), local_name in value(), parts in proptest::array::uniform12(value())) {
        let poa: String = POA
            .iter()
            .zip(&parts)
            .map(|(k, v)| format!(" {k}=\"{}\"", escape(v)))
            .collect();
        let xml = format!(
            "<Certificate><CertificateData><KycRes><UidData><Poi name=\"{}\"/><Poa{poa}/><LData name=\"{}\"{poa}/></UidData></KycRes></CertificateData></Certificate>",
            escape(&name),
            escape(&local_name),
        );
        let a = parse_unverified(xml.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&a.name, &name);
        let local = a.local.clone().unwrap_or_default();
        prop_assert_eq!(&local.name, &local_name);
        let c = a.to_contract(false, "", "");
        let got = [
            &c.address.care_of, &c.address.country, &c.address.district, &c.address.house,
            &c.address.landmark, &c.address.locality, &c.address.pin, &c.address.post_office,
            &c.address.state, &c.address.street, &c.address.sub_district, &c.address.vtc,
        ];
        // Address parts come back as sent, except that a blank one means "absent".
        let expected = |v: &String| if v.trim().is_empty() { String::new() } else { v.clone() };
        for (g, want) in got.iter().zip(&parts) {
            prop_assert_eq!(*g, &expected(want));
        }
        prop_assert_eq!(&local.address.street, &expected(&parts[9]));
    }

    #[test]
    fn masking_never_reveals_more_than_four_digits(s in "\\PC{0,20}|[0-9 xX*-]{8,16}") {
        if let Some(m) = mask_aadhaar(&s) {
            prop_assert_eq!(m.chars().filter(char::is_ascii_digit).count(), 4);
            prop_assert!(m.starts_with("xxxx-xxxx-"));
            prop_assert_eq!(m.len(), 14);
        }
    }

    #[test]
    fn a_full_number_in_the_xml_never_reaches_the_output(n in "[2-9][0-9]{11}") {
        let xml = format!(
            "<Certificate><CertificateData><KycRes><UidData uid=\"{n}\"><Poi name=\"A\"/></UidData></KycRes></CertificateData></Certificate>"
        );
        let a = parse_unverified(xml.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let json = serde_json::to_string(&a.to_contract(false, "", "")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want = format!("xxxx-xxxx-{}", &n[8..]);
        prop_assert!(json.contains(&want));
        prop_assert!(!json.contains(&n[..8]));
        let debug = format!("{a:?}");
        prop_assert!(!debug.contains(&n[..8]));
    }

    #[test]
    fn verhoeff_generated_numbers_validate(digits in "[0-9]{1,40}") {
        let full = verhoeff::append_check_digit(&digits).ok_or_else(|| TestCaseError::fail("digits refused"))?;
        prop_assert!(verhoeff::is_valid(&full));
    }

    #[test]
    fn verhoeff_catches_single_substitutions(digits in "[0-9]{1,20}", pos in any::<prop::sample::Index>(), delta in 1u8..10) {
        let full = verhoeff::append_check_digit(&digits).ok_or_else(|| TestCaseError::fail("digits refused"))?;
        let mut bytes = full.into_bytes();
        let i = pos.index(bytes.len());
        bytes[i] = b'0' + (bytes[i] - b'0' + delta) % 10;
        let changed = String::from_utf8(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(!verhoeff::is_valid(&changed));
    }

    #[test]
    fn verhoeff_catches_adjacent_transpositions(digits in "[0-9]{2,20}", pos in any::<prop::sample::Index>()) {
        let full = verhoeff::append_check_digit(&digits).ok_or_else(|| TestCaseError::fail("digits refused"))?;
        let mut bytes = full.into_bytes();
        let i = pos.index(bytes.len() - 1);
        prop_assume!(bytes[i] != bytes[i + 1]);
        bytes.swap(i, i + 1);
        let changed = String::from_utf8(bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(!verhoeff::is_valid(&changed));
    }
}
