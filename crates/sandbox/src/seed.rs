//! Seeded test citizens. Every value a tester needs is listed in the README.
//!
//! OWNER: content helper. Interface below is fixed (other modules use it);
//! fields may be added, none removed or renamed without telling the team.

/// The OTP the sandbox accepts for every citizen.
pub const OTP: &str = "123456";

/// A postal address in DigiLocker's e-Aadhaar attribute names. Empty strings
/// mean "absent" (e-Aadhaar leaves empty attributes out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub co: String,
    pub house: String,
    pub street: String,
    pub lm: String,
    pub loc: String,
    pub vtc: String,
    pub subdist: String,
    pub dist: String,
    pub state: String,
    pub country: String,
    pub pc: String,
    pub po: String,
}

/// Name and address in a local language (`LData` in e-Aadhaar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalData {
    /// ISO 639-1 language code, e.g. `hi`, `ta`, `bn`.
    pub lang: String,
    pub name: String,
    pub address: Address,
}

/// A document already issued into the citizen's DigiLocker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedDoc {
    /// DigiLocker URI, e.g. `in.gov.pan-PANCR-ABCDE1234F`.
    pub uri: String,
    pub doctype: String,
    /// Issuer id as in `files/issued` (`issuerid`), e.g. `in.gov.pan`.
    pub issuerid: String,
    /// Issuer org id as in the catalogue (`orgid`).
    pub orgid: String,
    pub issuer: String,
    /// Human name of the document, e.g. `PAN Verification Record`.
    pub name: String,
    pub description: String,
    /// Issue date, DD-MM-YYYY.
    pub date: String,
    /// Formats the document is available in: `application/pdf` always,
    /// `application/xml` where certificate data exists.
    pub mime: Vec<String>,
    /// The document's data (label, value), printed on the PDF and in the XML.
    pub fields: Vec<(String, String)>,
}

/// A seeded citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citizen {
    /// 12 digits, Verhoeff-valid, clearly fake (starts with 9999 or similar).
    /// `None` for an account with no Aadhaar linked.
    pub aadhaar: Option<String>,
    /// 10-digit mobile; `None` when the Aadhaar has no linked mobile.
    pub mobile: Option<String>,
    /// Whether the citizen already has a DigiLocker account (else must sign up).
    pub has_account: bool,
    /// 6-digit security PIN.
    pub pin: String,
    /// DigiLocker id (a UUID string).
    pub digilocker_id: String,
    pub name: String,
    /// DD-MM-YYYY.
    pub dob: String,
    /// `M`, `F` or `T`.
    pub gender: String,
    pub email: String,
    /// Whether an e-Aadhaar can be produced for this citizen.
    pub eaadhaar_available: bool,
    pub address: Address,
    pub local: Option<LocalData>,
    pub documents: Vec<IssuedDoc>,
    /// One line saying what this citizen is for, shown in the README.
    pub purpose: String,
}

/// Every seeded citizen, in a fixed order.
pub fn citizens() -> Vec<Citizen> {
    Vec::new()
}
