//! Thousands of randomly corrupted signed documents: none may panic, and none may verify
//! unless the corruption left the signed data unchanged.

use crate::support::*;
use aadhaar::{parse_unverified, verify_and_parse, verify_and_parse_with};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const MUTANTS: usize = 5_000;

/// Snippets that poke at the parser's corners.
const INSERTS: [&str; 12] = [
    "<",
    ">",
    "&",
    "&amp;",
    "\"",
    "<x>",
    "</x>",
    "<!--c-->",
    "<![CDATA[z]]>",
    "\u{0}",
    "é",
    "<Poi name=\"M\"/>",
];

fn mutate(rng: &mut StdRng, original: &[u8]) -> Vec<u8> {
    let mut m = original.to_vec();
    // One to three corruptions per mutant.
    for _ in 0..rng.random_range(1..=3) {
        if m.is_empty() {
            break;
        }
        let at = rng.random_range(0..m.len());
        match rng.random_range(0..6) {
            0 => m[at] ^= 1 << rng.random_range(0..8),
            1 => m[at] = rng.random(),
            2 => m.truncate(at),
            3 => {
                let s = INSERTS[rng.random_range(0..INSERTS.len())];
                m.splice(at..at, s.bytes());
            }
            4 => {
                let end = (at + rng.random_range(1..64)).min(m.len());
                m.drain(at..end);
            }
            _ => {
                let end = (at + rng.random_range(1..64)).min(m.len());
                let chunk = m[at..end].to_vec();
                m.splice(at..at, chunk);
            }
        }
    }
    m
}

#[test]
fn corrupted_documents_never_panic_and_never_verify_with_changed_data() {
    // A small-photo document keeps 5,000 debug-build verifications quick; the mutations
    // still land in every part (data, SignedInfo, SignatureValue, certificates).
    let original = sign(&unsigned_small(&ts_now()), Signer::Leaf);
    let anchors = anchors();
    let genuine = verify_and_parse(&original, &anchors)
        .expect("the original verifies")
        .aadhaar;
    let mut rng = StdRng::seed_from_u64(0x0AAD_4AA5);
    let mut accepted = 0usize;
    for i in 0..MUTANTS {
        let mutant = mutate(&mut rng, &original);
        let _ = parse_unverified(&mutant);
        if let Ok(v) = verify_and_parse(&mutant, &anchors) {
            // Only a corruption of bytes the signature does not cover and the reader does
            // not read may pass (an inserted comment: C14N drops comments and so does the
            // reader; the XML declaration), and then the data must be the genuine data.
            assert_eq!(
                v.aadhaar, genuine,
                "mutant {i} verified with different data"
            );
            accepted += 1;
        }
    }
    // The no-op-like mutations are rare; if many verify, the corruption is not reaching
    // the verifier.
    assert!(
        accepted < MUTANTS / 50,
        "{accepted} of {MUTANTS} mutants verified"
    );
}

/// The same on DigiLocker's real shape (pretty-printed, whitespace signed, four
/// certificates in KeyInfo), at the real size: no panic, and nothing verifies with data
/// other than the genuine data. Mutants that touch only KeyInfo (not covered by the
/// signature; an extra or damaged certificate there is no help to an attacker) may verify;
/// the bound on accepted mutants counts only those that touched something else.
#[test]
fn corrupted_real_shaped_documents_never_panic_and_never_verify_with_changed_data() {
    const REAL_MUTANTS: usize = 2_000;
    let ts = ts_at(REAL_NOW - time::Duration::days(40));
    let original = sign_real(
        &real_unsigned(&ts),
        RealSigner::Current,
        &RealSigner::Current.digilocker_order(),
    );
    let anchors = india_anchors();
    let options = at(REAL_NOW);
    let genuine = verify_and_parse_with(&original, &anchors, &options)
        .expect("the original verifies")
        .aadhaar;
    let text = std::str::from_utf8(&original).expect("UTF-8");
    let key_info_start = text.find("<KeyInfo>").expect("KeyInfo");
    let key_info_end = text.find("</KeyInfo>").expect("/KeyInfo") + "</KeyInfo>".len();
    let (before, after) = (&original[..key_info_start], &original[key_info_end..]);
    let mut rng = StdRng::seed_from_u64(0x4EA1_54A9);
    let mut accepted_elsewhere = 0usize;
    for i in 0..REAL_MUTANTS {
        let mutant = mutate(&mut rng, &original);
        let _ = parse_unverified(&mutant);
        if let Ok(v) = verify_and_parse_with(&mutant, &anchors, &options) {
            assert_eq!(
                v.aadhaar, genuine,
                "real-shape mutant {i} verified with different data"
            );
            let only_key_info = mutant.starts_with(before) && mutant.ends_with(after);
            if !only_key_info {
                accepted_elsewhere += 1;
            }
        }
    }
    assert!(
        accepted_elsewhere < REAL_MUTANTS / 50,
        "{accepted_elsewhere} of {REAL_MUTANTS} mutants outside KeyInfo verified"
    );
}

/// Changes the signature does not cover and the reader does not read are accepted by both
/// implementations; the same change inside signed data is refused by both.
#[test]
fn benign_changes_pass_in_both_and_the_same_change_in_signed_data_fails_in_both() {
    let original = sign(&unsigned_small(&ts_now()), Signer::Leaf);
    let anchors = anchors();
    let benign = [
        replace_once(&original, "<KycRes ", "<!-- a comment --><KycRes "),
        replace_once(&original, "</SignatureValue>", "\n</SignatureValue>"),
    ];
    for (i, xml) in benign.iter().enumerate() {
        assert!(verify_and_parse(xml, &anchors).is_ok(), "benign change {i}");
        assert!(xmlsec_verifies(xml), "benign change {i} in xmlsec1");
    }
    let signed_change = replace_once(&original, "<KycRes ", "<KycRes foo=\"a\" ");
    assert!(verify_and_parse(&signed_change, &anchors).is_err());
    assert!(!xmlsec_verifies(&signed_change));
}
