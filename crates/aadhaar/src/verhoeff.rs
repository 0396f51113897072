//! The Verhoeff check-digit scheme, which Aadhaar numbers use for their last digit.
//!
//! Verhoeff catches every single-digit error and every swap of two adjacent digits, which
//! is why UIDAI chose it. Use [`is_valid`] on any digit string, [`check_digit`] to compute
//! the digit to append, and [`is_valid_aadhaar_number`] for the full Aadhaar rule (12 digits,
//! not starting with 0 or 1, Verhoeff-valid).
//!
//! ```
//! use aadhaar::verhoeff;
//! assert_eq!(verhoeff::check_digit("236"), Some(3));
//! assert!(verhoeff::is_valid("2363"));
//! assert!(!verhoeff::is_valid("2364"));
//! ```

/// The multiplication table of the dihedral group D5.
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

/// Runs the Verhoeff checksum over `digits` (rightmost first), starting the permutation
/// index at `offset`. Returns `None` if any character is not an ASCII digit or the input
/// is empty.
fn checksum(digits: &str, offset: usize) -> Option<u8> {
    if digits.is_empty() {
        return None;
    }
    let mut c = 0u8;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let digit = usize::from(b - b'0');
        let permuted = P[(i + offset) % 8][digit];
        c = D[usize::from(c)][usize::from(permuted)];
    }
    Some(c)
}

/// True if `number` (ASCII digits only, check digit last) passes the Verhoeff check.
/// Anything that is not a non-empty string of ASCII digits is invalid.
pub fn is_valid(number: &str) -> bool {
    checksum(number, 0) == Some(0)
}

/// The Verhoeff check digit (0-9) to append to `digits`, or `None` if `digits` is empty or
/// contains anything but ASCII digits.
pub fn check_digit(digits: &str) -> Option<u8> {
    checksum(digits, 1).map(|c| INV[usize::from(c)])
}

/// `digits` with its Verhoeff check digit appended, or `None` for input [`check_digit`]
/// refuses.
pub fn append_check_digit(digits: &str) -> Option<String> {
    let d = check_digit(digits)?;
    let mut s = String::with_capacity(digits.len() + 1);
    s.push_str(digits);
    s.push(char::from(b'0' + d));
    Some(s)
}

/// True if `number` is shaped like an Aadhaar number: exactly 12 ASCII digits, the first
/// not 0 or 1 (UIDAI never issues those), and a valid Verhoeff check digit. Spaces and
/// hyphens, as printed on the card (`2345 6789 0123`), are ignored.
pub fn is_valid_aadhaar_number(number: &str) -> bool {
    let digits: String = number.chars().filter(|c| *c != ' ' && *c != '-').collect();
    digits.len() == 12
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with(['0', '1'])
        && is_valid(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Published examples of the scheme.
        assert_eq!(check_digit("236"), Some(3));
        assert_eq!(check_digit("12345"), Some(1));
        assert_eq!(check_digit("142857"), Some(0));
        assert!(is_valid("2363"));
        assert!(is_valid("123451"));
        assert!(is_valid("1428570"));
        assert!(!is_valid("123452"));
    }

    #[test]
    fn refuses_non_digits_and_empty() {
        assert!(!is_valid(""));
        assert!(!is_valid("12a4"));
        assert_eq!(check_digit(""), None);
        assert_eq!(check_digit("१२३"), None); // Devanagari digits are not ASCII digits
    }

    #[test]
    fn catches_every_adjacent_swap_of_a_valid_number() {
        let n = append_check_digit("23456789012").unwrap_or_default();
        assert!(is_valid_aadhaar_number(&n));
        let bytes = n.as_bytes();
        for i in 0..bytes.len() - 1 {
            if bytes[i] == bytes[i + 1] {
                continue;
            }
            let mut swapped = bytes.to_vec();
            swapped.swap(i, i + 1);
            let s = String::from_utf8(swapped).unwrap_or_default();
            assert!(!is_valid(&s), "swap at {i} not caught: {s}");
        }
    }

    #[test]
    fn aadhaar_shape() {
        let n = append_check_digit("23456789012").unwrap_or_default();
        let spaced = format!("{} {} {}", &n[0..4], &n[4..8], &n[8..12]);
        assert!(is_valid_aadhaar_number(&spaced));
        let leading_one = append_check_digit("13456789012").unwrap_or_default();
        assert!(is_valid(&leading_one));
        assert!(!is_valid_aadhaar_number(&leading_one));
        assert!(!is_valid_aadhaar_number("2345678901"));
    }
}
