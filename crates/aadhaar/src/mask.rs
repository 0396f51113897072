//! Masking of Aadhaar numbers.
//!
//! UIDAI's rule is that only the last four digits of an Aadhaar number may be stored or
//! shown, as `xxxx-xxxx-1234`. [`MaskedAadhaar`] is the only form in which this crate keeps
//! an Aadhaar number: it holds four digits and nothing else, so a full number cannot leak
//! through `Debug`, `Display`, serialization or logs.
//!
//! ```
//! use aadhaar::mask::{mask_aadhaar, MaskedAadhaar};
//! assert_eq!(mask_aadhaar("2345 6789 0124").as_deref(), Some("xxxx-xxxx-0124"));
//! let m = MaskedAadhaar::from_uid("xxxxxxxx4412").unwrap();
//! assert_eq!(m.to_string(), "xxxx-xxxx-4412");
//! assert_eq!(m.last_four(), "4412");
//! ```

use std::fmt;

/// An Aadhaar number reduced to its last four digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaskedAadhaar {
    /// Four ASCII digits.
    last4: [u8; 4],
}

impl MaskedAadhaar {
    /// Masks an Aadhaar number in any of the forms it appears in: a full 12-digit number
    /// (with or without spaces/hyphens) or an already-masked one (`xxxxxxxx1234`,
    /// `XXXX XXXX 1234`, `xxxx-xxxx-1234`, `********1234`). The first eight characters must
    /// be all digits or all mask characters; the last four must be digits. Returns `None`
    /// for anything else rather than guessing.
    ///
    /// A full number is not checked against Verhoeff here: it is dropped either way, and
    /// DigiLocker's own data is what it is. Use [`crate::verhoeff`] to validate user input.
    pub fn from_uid(uid: &str) -> Option<Self> {
        let mut chars = [0u8; 12];
        let mut n = 0usize;
        for c in uid.trim().chars() {
            if c == ' ' || c == '-' {
                continue;
            }
            if n == 12 || !c.is_ascii() {
                return None;
            }
            chars[n] = c as u8;
            n += 1;
        }
        if n != 12 {
            return None;
        }
        let (head, tail) = chars.split_at(8);
        let head_digits = head.iter().all(u8::is_ascii_digit);
        let head_masked = head.iter().all(|b| matches!(b, b'x' | b'X' | b'*'));
        if !(head_digits || head_masked) || !tail.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut last4 = [0u8; 4];
        last4.copy_from_slice(tail);
        Some(Self { last4 })
    }

    /// The last four digits.
    pub fn last_four(&self) -> &str {
        // Only ASCII digits are ever stored, so this cannot fail; fall back to "" rather
        // than panic if that invariant were ever broken.
        std::str::from_utf8(&self.last4).unwrap_or("")
    }
}

impl fmt::Display for MaskedAadhaar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "xxxx-xxxx-{}", self.last_four())
    }
}

impl fmt::Debug for MaskedAadhaar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MaskedAadhaar({self})")
    }
}

impl serde::Serialize for MaskedAadhaar {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Masks an Aadhaar number (full or already masked) to `xxxx-xxxx-1234`; `None` if the
/// input is not one. See [`MaskedAadhaar::from_uid`] for the accepted forms.
pub fn mask_aadhaar(input: &str) -> Option<String> {
    MaskedAadhaar::from_uid(input).map(|m| m.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_full_and_masked_forms() {
        for input in [
            "234567890124",
            "2345 6789 0124",
            "2345-6789-0124",
            "xxxxxxxx0124",
            "XXXXXXXX0124",
            "xxxx-xxxx-0124",
            "********0124",
        ] {
            assert_eq!(
                mask_aadhaar(input).as_deref(),
                Some("xxxx-xxxx-0124"),
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_other_shapes() {
        for input in [
            "",
            "1234",
            "xxxxxxxx012",
            "2345678901245",
            "xxxx5678abcd",
            "xx34xxxx0124",
            "२३४५६७८९०१२४",
        ] {
            assert_eq!(mask_aadhaar(input), None, "{input}");
        }
    }

    #[test]
    fn debug_never_shows_more_than_four_digits() {
        let m = MaskedAadhaar::from_uid("234567890124");
        assert_eq!(format!("{m:?}"), "Some(MaskedAadhaar(xxxx-xxxx-0124))");
    }
}
