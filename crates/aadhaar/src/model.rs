//! The typed contents of an e-Aadhaar.

use crate::mask::MaskedAadhaar;
use std::fmt;
use time::{Date, OffsetDateTime};

/// The identity data of one e-Aadhaar, read from `KycRes/UidData`.
///
/// Empty or missing attributes are normal in DigiLocker's XML (UIDAI leaves out empty
/// address parts); they are empty strings or `None` here, never errors.
#[derive(Clone, PartialEq, Eq)]
pub struct EAadhaar {
    /// `Poi@name`, the name as printed on the card.
    pub name: String,
    /// `Poi@dob`. `None` when absent or empty.
    pub date_of_birth: Option<DateOfBirth>,
    /// `Poi@gender`. `None` when absent or empty.
    pub gender: Option<Gender>,
    /// `UidData@uid`, masked to its last four digits on parse. `None` when absent or not
    /// shaped like an Aadhaar number.
    pub masked_number: Option<MaskedAadhaar>,
    /// `Poa`: the address in English.
    pub address: Address,
    /// `LData`: the name and address in the holder's local language, if present.
    pub local: Option<LocalData>,
    /// `Pht`: the photo (a JPEG as DigiLocker sends it), decoded from base64. Empty when
    /// absent.
    pub photo: Vec<u8>,
    /// `KycRes@ts`: when UIDAI generated this response. `None` when absent or empty
    /// (`verify_and_parse` refuses such a document; `parse_unverified` allows it).
    pub generated_at: Option<OffsetDateTime>,
    /// `KycRes@txn`: UIDAI's transaction id, useful to correlate with DigiLocker support.
    pub transaction_id: String,
}

// Hand-written so that a stray `{:?}` in a log does not print a whole identity and photo.
impl fmt::Debug for EAadhaar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EAadhaar")
            .field("masked_number", &self.masked_number)
            .field("generated_at", &self.generated_at)
            .field("photo_bytes", &self.photo.len())
            .finish_non_exhaustive()
    }
}

/// The address parts of `Poa` (or of `LData`), named as in the contract. Each is the raw
/// attribute value, or an empty string when the attribute is absent or blank (UIDAI sends
/// a local country it does not hold as `country=" "`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// `co`: "care of" (S/O, D/O, W/O, C/O ...).
    pub care_of: String,
    /// `country`.
    pub country: String,
    /// `dist`: district.
    pub district: String,
    /// `house`: house number / name.
    pub house: String,
    /// `lm`: landmark.
    pub landmark: String,
    /// `loc`: locality.
    pub locality: String,
    /// `pc`: PIN code.
    pub pin: String,
    /// `po`: post office.
    pub post_office: String,
    /// `state`.
    pub state: String,
    /// `street`.
    pub street: String,
    /// `subdist`: sub-district (tehsil / taluk).
    pub sub_district: String,
    /// `vtc`: village / town / city.
    pub vtc: String,
}

/// The local-language copy of the name and address (`LData`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalData {
    /// `lang`: UIDAI's language code (for example `06` for Hindi), as given.
    pub language: String,
    /// `name` in the local script.
    pub name: String,
    /// The address parts in the local script.
    pub address: Address,
}

/// Gender as UIDAI records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    /// `M`
    Male,
    /// `F`
    Female,
    /// `T`
    Transgender,
}

impl Gender {
    /// The one-letter code used by UIDAI and by the contract: `M`, `F` or `T`.
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "M",
            Gender::Female => "F",
            Gender::Transgender => "T",
        }
    }

    /// Reads `M`/`F`/`T` or the spelled-out words (any case). `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "M" | "MALE" => Some(Gender::Male),
            "F" | "FEMALE" => Some(Gender::Female),
            "T" | "TRANSGENDER" => Some(Gender::Transgender),
            _ => None,
        }
    }
}

/// A date of birth. UIDAI records only the year for some residents, so a full date is not
/// guaranteed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateOfBirth {
    /// A full date.
    Date(Date),
    /// Only the year is on record.
    Year(i32),
}

impl DateOfBirth {
    /// Reads `DD-MM-YYYY` (DigiLocker's form), `DD/MM/YYYY`, `YYYY-MM-DD` or a bare `YYYY`.
    /// `None` for anything else, including impossible dates such as 31-02-1990.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let num = |p: &str| -> Option<u32> {
            if !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()) {
                p.parse().ok()
            } else {
                None
            }
        };
        if s.len() == 4 {
            let y = num(s)?;
            return (1800..=9999)
                .contains(&y)
                .then_some(DateOfBirth::Year(y as i32));
        }
        let parts: Vec<&str> = s.split(['-', '/']).collect();
        let [a, b, c] = parts.as_slice() else {
            return None;
        };
        let (d, m, y) = if a.len() == 4 {
            (num(c)?, num(b)?, num(a)?)
        } else if c.len() == 4 {
            (num(a)?, num(b)?, num(c)?)
        } else {
            return None;
        };
        let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
        let date = Date::from_calendar_date(y as i32, month, u8::try_from(d).ok()?).ok()?;
        Some(DateOfBirth::Date(date))
    }
}

impl fmt::Display for DateOfBirth {
    /// `DD-MM-YYYY` for a full date (the contract's form), `YYYY` for a year only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateOfBirth::Date(d) => write!(
                f,
                "{:02}-{:02}-{:04}",
                d.day(),
                u8::from(d.month()),
                d.year()
            ),
            DateOfBirth::Year(y) => write!(f, "{y:04}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dob_forms() {
        let want = "15-08-1990";
        for s in ["15-08-1990", "15/08/1990", "1990-08-15", " 15-8-1990 "] {
            assert_eq!(
                DateOfBirth::parse(s).map(|d| d.to_string()).as_deref(),
                Some(want),
                "{s}"
            );
        }
        assert_eq!(DateOfBirth::parse("1990"), Some(DateOfBirth::Year(1990)));
        for bad in [
            "31-02-1990",
            "15-13-1990",
            "",
            "90",
            "15-08-90",
            "abcd",
            "1-2-3-4",
        ] {
            assert_eq!(DateOfBirth::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn gender_codes() {
        assert_eq!(Gender::parse("m"), Some(Gender::Male));
        assert_eq!(Gender::parse("FEMALE"), Some(Gender::Female));
        assert_eq!(Gender::parse("T").map(Gender::code), Some("T"));
        assert_eq!(Gender::parse("X"), None);
    }
}
