//! The JSON shape of `aadhaar` in `GET /api/digilocker/:id/aadhaar` (see CONTRACT.md),
//! which matches the hosted aggregator's offline-eKYC (OKYC) response.

use crate::model::{Address, EAadhaar, LocalData};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

/// The `aadhaar` object of the contract. Field names serialize exactly as CONTRACT.md
/// spells them (camelCase).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContractAadhaar {
    /// The name on the card.
    pub name: String,
    /// `DD-MM-YYYY` (or `YYYY` when UIDAI holds only the year); empty when unknown.
    pub date_of_birth: String,
    /// `M`, `F`, `T`, or empty when unknown.
    pub gender: String,
    /// `xxxx-xxxx-1234`, or empty when the document carries no usable number.
    pub masked_number: String,
    /// Always empty: DigiLocker's e-Aadhaar carries no e-mail (OKYC field kept for shape).
    pub email: String,
    /// Always empty: DigiLocker's e-Aadhaar carries no phone (OKYC field kept for shape).
    pub phone: String,
    /// The photo as standard base64 (a JPEG), empty when absent.
    pub photo: String,
    /// `KycRes@ts` in India time, always with milliseconds and the `+05:30` offset
    /// (`2021-10-26T17:17:36.342+05:30`), empty when absent.
    pub generated_at: String,
    /// The address in English.
    pub address: ContractAddress,
    /// What was verified.
    pub verified: ContractVerified,
    /// Where the raw XML can be downloaded; filled by the gateway.
    pub xml: ContractXml,
}

/// The `address` object of the contract.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContractAddress {
    /// `co`
    pub care_of: String,
    /// `country`
    pub country: String,
    /// `dist`
    pub district: String,
    /// `house`
    pub house: String,
    /// `lm`
    pub landmark: String,
    /// `loc`
    pub locality: String,
    /// `pc`
    pub pin: String,
    /// `po`
    pub post_office: String,
    /// `state`
    pub state: String,
    /// `street`
    pub street: String,
    /// `subdist`
    pub sub_district: String,
    /// `vtc`
    pub vtc: String,
}

/// The `verified` object of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContractVerified {
    /// Always `false`: there is no e-mail to verify.
    pub email: bool,
    /// Always `false`: there is no phone to verify.
    pub phone: bool,
    /// `true` only when the XML signature verified against the configured trust anchors.
    pub signature: bool,
}

/// The `xml` object of the contract.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContractXml {
    /// A download link for the raw XML.
    pub file_url: String,
    /// Always empty: DigiLocker's XML is not a share-code-protected OKYC zip.
    pub share_code: String,
    /// Until when `file_url` works, ISO 8601.
    pub valid_until: String,
}

/// The local-language data (`LData`) in the same style, for callers that want it beside
/// the contract's English fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContractLocalData {
    /// UIDAI's language code, as given.
    pub language: String,
    /// The name in the local script.
    pub name: String,
    /// The address in the local script.
    pub address: ContractAddress,
}

/// India Standard Time, UTC+05:30 (India has no daylight saving).
const IST: UtcOffset = match UtcOffset::from_hms(5, 30, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// `t` in India time as `YYYY-MM-DDTHH:MM:SS.mmm+05:30`: the contract's fixed width,
/// whatever offset or precision the document used (sub-millisecond digits are dropped).
fn ist_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(IST);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+05:30",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

impl From<&Address> for ContractAddress {
    fn from(a: &Address) -> Self {
        Self {
            care_of: a.care_of.clone(),
            country: a.country.clone(),
            district: a.district.clone(),
            house: a.house.clone(),
            landmark: a.landmark.clone(),
            locality: a.locality.clone(),
            pin: a.pin.clone(),
            post_office: a.post_office.clone(),
            state: a.state.clone(),
            street: a.street.clone(),
            sub_district: a.sub_district.clone(),
            vtc: a.vtc.clone(),
        }
    }
}

impl From<&LocalData> for ContractLocalData {
    fn from(l: &LocalData) -> Self {
        Self {
            language: l.language.clone(),
            name: l.name.clone(),
            address: ContractAddress::from(&l.address),
        }
    }
}

impl EAadhaar {
    /// The contract's `aadhaar` object.
    ///
    /// `signature_verified` must be `true` only when this value came from a successful
    /// [`verify_and_parse`](crate::verify_and_parse); `xml_file_url` and `valid_until` are
    /// the gateway's download link for the raw XML and its expiry (ISO 8601).
    pub fn to_contract(
        &self,
        signature_verified: bool,
        xml_file_url: &str,
        valid_until: &str,
    ) -> ContractAadhaar {
        ContractAadhaar {
            name: self.name.clone(),
            date_of_birth: self
                .date_of_birth
                .map(|d| d.to_string())
                .unwrap_or_default(),
            gender: self.gender.map(|g| g.code().to_owned()).unwrap_or_default(),
            masked_number: self
                .masked_number
                .map(|m| m.to_string())
                .unwrap_or_default(),
            email: String::new(),
            phone: String::new(),
            photo: self.photo_base64(),
            generated_at: self.generated_at.map(ist_millis).unwrap_or_default(),
            address: ContractAddress::from(&self.address),
            verified: ContractVerified {
                email: false,
                phone: false,
                signature: signature_verified,
            },
            xml: ContractXml {
                file_url: xml_file_url.to_owned(),
                share_code: String::new(),
                valid_until: valid_until.to_owned(),
            },
        }
    }

    /// The local-language data in contract style, if the document has `LData`.
    pub fn local_to_contract(&self) -> Option<ContractLocalData> {
        self.local.as_ref().map(ContractLocalData::from)
    }

    /// The photo as standard base64 (empty string when there is no photo).
    pub fn photo_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.photo)
    }
}
