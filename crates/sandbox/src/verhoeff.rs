//! The Verhoeff check digit, as carried by the last digit of every Aadhaar
//! number. The sandbox uses it to mint fake but well-formed Aadhaar numbers
//! for its seeded citizens, and to reject mistyped ones at sign-up the way
//! UIDAI-backed forms do.

/// The dihedral group D5 multiplication table.
const D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

/// The position-dependent permutation table.
const P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// The inverse of each element of D5.
const INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

/// Digits of `s` as numbers, or `None` when `s` is empty or holds anything
/// but ASCII digits.
fn digits(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() {
        return None;
    }
    s.bytes()
        .map(|b| b.is_ascii_digit().then(|| b - b'0'))
        .collect()
}

/// The check digit to append to `payload` (ASCII digits), or `None` when
/// `payload` is empty or not all digits.
pub fn check_digit(payload: &str) -> Option<u8> {
    let ds = digits(payload)?;
    let c = ds.iter().rev().enumerate().fold(0u8, |c, (i, &d)| {
        D[usize::from(c)][usize::from(P[(i + 1) % 8][usize::from(d)])]
    });
    Some(INV[usize::from(c)])
}

/// `payload` followed by its check digit, or `None` when `payload` is empty
/// or not all digits.
pub fn generate(payload: &str) -> Option<String> {
    check_digit(payload).map(|c| format!("{payload}{c}"))
}

/// Whether `number` (ASCII digits, check digit last) carries a correct
/// Verhoeff check digit. Anything that is not all digits is invalid.
pub fn validate(number: &str) -> bool {
    let Some(ds) = digits(number) else {
        return false;
    };
    let c = ds.iter().rev().enumerate().fold(0u8, |c, (i, &d)| {
        D[usize::from(c)][usize::from(P[i % 8][usize::from(d)])]
    });
    c == 0
}

/// Whether `number` looks like an Aadhaar number: 12 digits, not starting
/// with 0 or 1 (UIDAI never issues those), with a valid check digit.
pub fn is_valid_aadhaar(number: &str) -> bool {
    number.len() == 12 && !number.starts_with(['0', '1']) && validate(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_check_digits() {
        // Published worked examples of the algorithm.
        assert_eq!(check_digit("236"), Some(3));
        assert_eq!(check_digit("12345"), Some(1));
        assert_eq!(check_digit("142857"), Some(0));
        assert!(validate("2363"));
        assert!(validate("123451"));
        assert!(validate("1428570"));
    }

    #[test]
    fn generated_numbers_validate_and_single_digit_errors_are_caught() {
        for payload in ["99990000001", "23456789012", "50000000000"] {
            let full = generate(payload).unwrap_or_default();
            assert!(validate(&full), "{full} should validate");
            // Every single-digit substitution must be detected.
            for pos in 0..full.len() {
                for d in b'0'..=b'9' {
                    let mut bytes = full.clone().into_bytes();
                    if bytes[pos] == d {
                        continue;
                    }
                    bytes[pos] = d;
                    let typo = String::from_utf8(bytes).unwrap_or_default();
                    assert!(!validate(&typo), "{typo} should not validate");
                }
            }
            // And every adjacent transposition of different digits.
            for pos in 0..full.len() - 1 {
                let mut bytes = full.clone().into_bytes();
                if bytes[pos] == bytes[pos + 1] {
                    continue;
                }
                bytes.swap(pos, pos + 1);
                let typo = String::from_utf8(bytes).unwrap_or_default();
                assert!(!validate(&typo), "{typo} should not validate");
            }
        }
    }

    #[test]
    fn rejects_non_digits_and_malformed_aadhaar() {
        assert!(!validate(""));
        assert!(!validate("12a4"));
        assert_eq!(generate("9x"), None);
        assert!(!is_valid_aadhaar("2363"));
        // Right length and checksum, but UIDAI never starts a number with 1.
        let starts_with_one = generate("12345678901").unwrap_or_default();
        assert!(validate(&starts_with_one));
        assert!(!is_valid_aadhaar(&starts_with_one));
    }
}
