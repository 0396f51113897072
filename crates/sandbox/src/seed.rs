//! Seeded test citizens. Every value a tester needs is listed in the README.
//!
//! The citizens are data, `seed/citizens.toml` (its header describes the
//! format), built into the binary and read once; this module derives what
//! each entry implies (URIs, issuers, formats, printed fields, pull
//! parameters, DigiLocker ids) and refuses a seed that does not hold,
//! naming the citizen and entry.
//!
//! OWNER: content helper. Interface below is fixed (other modules use it);
//! fields may be added, none removed or renamed without telling the team.
//!
//! Every Aadhaar number starts with `9999` and carries a valid Verhoeff check
//! digit; mobiles are `90000000NN`. Neither belongs to a real person. Every
//! citizen's PIN is [`PIN`] and the OTP is always [`OTP`].

use std::sync::OnceLock;

use crate::catalogue;
use aadhaar::verhoeff;
use serde::Deserialize;

/// The OTP the sandbox accepts for every citizen.
pub const OTP: &str = "123456";

/// The security PIN of every seeded citizen.
pub const PIN: &str = "111111";

/// A postal address in DigiLocker's e-Aadhaar attribute names. Empty strings
/// mean "absent" (e-Aadhaar leaves empty attributes out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Address {
    /// Care of: `S/O`, `D/O`, `W/O` or `C/O` and a name.
    pub co: String,
    /// House, flat or plot.
    pub house: String,
    /// Street or road.
    pub street: String,
    /// Landmark.
    pub lm: String,
    /// Locality.
    pub loc: String,
    /// Village, town or city.
    pub vtc: String,
    /// Sub-district (tehsil, taluk, mandal).
    pub subdist: String,
    /// District.
    pub dist: String,
    /// State or union territory.
    pub state: String,
    /// Country (`India`).
    pub country: String,
    /// PIN code (6 digits).
    pub pc: String,
    /// Post office.
    pub po: String,
}

/// Name and address in a local language (`LData` in e-Aadhaar).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalData {
    /// ISO 639 language code: 639-1 where one exists (`hi`, `ta`, `bn`),
    /// else 639-2 (`kok`). The e-Aadhaar carries UIDAI's numeric code instead
    /// (`06` for Hindi); [`crate::signing`] converts.
    pub lang: String,
    /// The name in the local script.
    pub name: String,
    /// The address in the local script.
    pub address: Address,
}

/// A document already issued into the citizen's DigiLocker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedDoc {
    /// DigiLocker URI, e.g. `in.gov.pan-PANCR-ABCDE1234F`.
    pub uri: String,
    /// Doc type code, e.g. `PANCR`.
    pub doctype: String,
    /// Issuer id as in `files/issued` (`issuerid`), e.g. `in.gov.pan`.
    pub issuerid: String,
    /// Issuer org id as in the catalogue (`orgid`).
    pub orgid: String,
    /// Issuer's display name, e.g. `Income Tax Department`.
    pub issuer: String,
    /// Human name of the document, e.g. `PAN Verification Record`.
    pub name: String,
    /// Description as in `files/issued`.
    pub description: String,
    /// Issue date, DD-MM-YYYY.
    pub date: String,
    /// Formats the document is available in: `application/pdf` always,
    /// `application/xml` where certificate data exists.
    pub mime: Vec<String>,
    /// The document's data (label, value), printed on the PDF and in the XML.
    pub fields: Vec<(String, String)>,
    /// What finds this document at its issuer: each parameter of its doc
    /// type in the catalogue (`paramname`, value), e.g. `panno` and
    /// `PANFullName`. A pull matches these, whatever their case, spacing
    /// and punctuation (`15/08/1985` is `15-08-1985`); empty for documents
    /// no pull reaches (the Aadhaar card).
    pub params: Vec<(String, String)>,
}

/// Which certificate signs a citizen's e-Aadhaar (see [`crate::signing`]):
/// DigiLocker keeps an e-Aadhaar as signed at its eKYC, so older ones carry
/// a leaf that has been rotated out, or that has expired since.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum EAadhaarSigner {
    /// The sandbox's document signer since the latest rotation
    /// ([`crate::signing::SIGNER_CN`]); the eKYC (`KycRes ts`) was 3 days to
    /// [`crate::signing::ROTATED_DAYS_AGO`] days before the download.
    #[default]
    Current,
    /// The signer before the latest rotation
    /// ([`crate::signing::PREVIOUS_SIGNER_CN`], another key), still valid;
    /// the eKYC was between [`crate::signing::ROTATED_DAYS_AGO`] and 180 days
    /// before the download, before the current signer's validity began.
    Previous,
    /// A document signer that has expired since: valid from about 30 to 12
    /// months before the sandbox started, and the eKYC was
    /// [`crate::signing::EXPIRED_SIGNER_EKYC_AGE_DAYS`] days before the
    /// download, inside that validity. Like a genuine e-Aadhaar downloaded
    /// after DigiLocker rotated its signing certificate: it verifies at its
    /// signing time, and is older than a strict freshness policy allows.
    Expired,
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
    /// Full name in Latin script, as on the Aadhaar.
    pub name: String,
    /// DD-MM-YYYY.
    pub dob: String,
    /// `M`, `F` or `T`.
    pub gender: String,
    /// E-mail address; empty when none is registered.
    pub email: String,
    /// Whether an e-Aadhaar can be produced for this citizen.
    pub eaadhaar_available: bool,
    /// Which certificate signs the e-Aadhaar, and so how old it is.
    pub eaadhaar_signer: EAadhaarSigner,
    /// Address as on the Aadhaar (empty fields are absent).
    pub address: Address,
    /// Name and address in a local language, when the Aadhaar has them.
    pub local: Option<LocalData>,
    /// Documents already issued into the citizen's DigiLocker.
    pub documents: Vec<IssuedDoc>,
    /// Records the issuers hold for the citizen that are not in the locker
    /// yet: a pull with one's [`IssuedDoc::params`] brings it in. A pull
    /// finds only the citizen's own records (these and `documents`), so no
    /// two citizens can hold the same document.
    pub pullable: Vec<IssuedDoc>,
    /// One line saying what this citizen is for, shown in the README.
    pub purpose: String,
}

/// Every seeded citizen, in a fixed order.
pub fn citizens() -> Vec<Citizen> {
    all().to_vec()
}

/// The seeded citizens, built once and shared.
pub fn all() -> &'static [Citizen] {
    static ALL: OnceLock<Vec<Citizen>> = OnceLock::new();
    ALL.get_or_init(build)
}

/// The citizen with this Aadhaar number. Spaces and hyphens are ignored
/// (`9999 0000 0016` and `9999-0000-0016` both match).
pub fn find_by_aadhaar(aadhaar: &str) -> Option<Citizen> {
    let wanted: String = aadhaar
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    all()
        .iter()
        .find(|c| c.aadhaar.as_deref() == Some(wanted.as_str()))
        .cloned()
}

/// The citizen with this mobile number. Spaces, hyphens and a leading `+91`
/// or `0` are ignored.
pub fn find_by_mobile(mobile: &str) -> Option<Citizen> {
    let digits: String = mobile.chars().filter(|c| c.is_ascii_digit()).collect();
    let wanted = match digits.len() {
        12 if digits.starts_with("91") => &digits[2..],
        11 if digits.starts_with('0') => &digits[1..],
        _ => digits.as_str(),
    };
    all()
        .iter()
        .find(|c| c.mobile.as_deref() == Some(wanted))
        .cloned()
}

/// The citizen with this DigiLocker id.
pub fn find_by_digilocker_id(id: &str) -> Option<Citizen> {
    all().iter().find(|c| c.digilocker_id == id).cloned()
}

const PDF: &str = "application/pdf";
const XML: &str = "application/xml";

/// The seeded citizens as data (see its header for the format), built into
/// the binary: nothing is read from disk at run time.
const CITIZENS_TOML: &str = include_str!("../seed/citizens.toml");

fn build() -> Vec<Citizen> {
    // The file is fixed at build time and the tests load it, so a seed that
    // does not load never ships; if one did, say why rather than serve none.
    parse(CITIZENS_TOML).unwrap_or_else(|e| panic!("seed/citizens.toml: {e}"))
}

/// The citizens in `text`, in its order, with every derived value filled
/// in; the first thing wrong, naming the citizen and entry, if any.
fn parse(text: &str) -> Result<Vec<Citizen>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        citizen: Vec<toml::Table>,
    }
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut out: Vec<Citizen> = Vec::with_capacity(file.citizen.len());
    for (i, table) in file.citizen.into_iter().enumerate() {
        let label = match table.get("name").and_then(toml::Value::as_str) {
            Some(name) => format!("citizen {} ({name})", i + 1),
            None => format!("citizen {}", i + 1),
        };
        let entry: CitizenEntry = toml::Value::Table(table)
            .try_into()
            .map_err(|e| format!("{label}: {}", e.message().trim_end()))?;
        let citizen = entry.citizen().map_err(|e| format!("{label}: {e}"))?;
        if let Some(other) = out.iter().find_map(|c| repeats(c, &citizen)) {
            return Err(format!("{label}: {other}"));
        }
        out.push(citizen);
    }
    Ok(out)
}

/// What `new` repeats of `earlier`, which no two citizens may share: the
/// Aadhaar number, mobile, DigiLocker id, or a document.
fn repeats(earlier: &Citizen, new: &Citizen) -> Option<String> {
    let who = &earlier.name;
    if new.aadhaar.is_some() && new.aadhaar == earlier.aadhaar {
        return Some(format!(
            "Aadhaar {} is {who}'s",
            earlier.aadhaar.as_deref()?
        ));
    }
    if new.mobile.is_some() && new.mobile == earlier.mobile {
        return Some(format!("mobile {} is {who}'s", earlier.mobile.as_deref()?));
    }
    if new.digilocker_id == earlier.digilocker_id {
        return Some(format!(
            "DigiLocker id {} is {who}'s",
            earlier.digilocker_id
        ));
    }
    let held = |d: &IssuedDoc| (d.doctype.clone(), d.params.first().map(|p| p.1.clone()));
    let theirs: Vec<_> = earlier
        .documents
        .iter()
        .chain(&earlier.pullable)
        .map(held)
        .collect();
    new.documents
        .iter()
        .chain(&new.pullable)
        .find(|d| theirs.contains(&held(d)))
        .map(|d| format!("{who} already holds the {} {}", d.doctype, d.uri))
}

/// A citizen as the seed file writes one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CitizenEntry {
    name: String,
    purpose: String,
    aadhaar: Option<String>,
    mobile: Option<String>,
    #[serde(default = "yes")]
    has_account: bool,
    digilocker_id: u64,
    dob: String,
    gender: String,
    #[serde(default)]
    email: String,
    eaadhaar: EAadhaarEntry,
    address: Address,
    local: Option<LocalData>,
    #[serde(default)]
    documents: Vec<toml::Table>,
    #[serde(default)]
    pullable: Vec<toml::Table>,
}

fn yes() -> bool {
    true
}

/// Whether an e-Aadhaar exists, and which certificate signed it.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum EAadhaarEntry {
    Current,
    Previous,
    Expired,
    None,
}

impl CitizenEntry {
    fn citizen(self) -> Result<Citizen, String> {
        if let Some(a) = &self.aadhaar {
            if !(a.len() == 12 && verhoeff::is_valid_aadhaar_number(a)) {
                return Err(format!(
                    "Aadhaar {a} is not 12 digits with a valid Verhoeff check digit"
                ));
            }
            if !a.starts_with("9999") {
                return Err(format!(
                    "Aadhaar {a} does not start with 9999 (seeded numbers must be clearly fake)"
                ));
            }
        }
        if let Some(m) = &self.mobile {
            if !(m.len() == 10 && m.bytes().all(|b| b.is_ascii_digit())) {
                return Err(format!("mobile {m} is not 10 digits"));
            }
        }
        if !["M", "F", "T"].contains(&self.gender.as_str()) {
            return Err(format!("gender {:?} is not M, F or T", self.gender));
        }
        if self.digilocker_id > 999_999_999_999 {
            return Err(format!(
                "digilocker_id {} has more than 12 digits",
                self.digilocker_id
            ));
        }
        let address = india(self.address);
        let docs = |list: Vec<toml::Table>, what: &str| -> Result<Vec<IssuedDoc>, String> {
            list.into_iter()
                .enumerate()
                .map(|(i, table)| {
                    let entry: DocEntry = toml::Value::Table(table)
                        .try_into()
                        .map_err(|e| format!("{what} {}: {}", i + 1, e.message().trim_end()))?;
                    entry
                        .issued(&address)
                        .map_err(|e| format!("{what} {}: {e}", i + 1))
                })
                .collect()
        };
        let documents = docs(self.documents, "document")?;
        let pullable = docs(self.pullable, "pullable record")?;
        let all: Vec<&IssuedDoc> = documents.iter().chain(&pullable).collect();
        for (i, d) in all.iter().enumerate() {
            if all[..i]
                .iter()
                .any(|e| e.doctype == d.doctype && e.params.first() == d.params.first())
            {
                return Err(format!("holds the {} {} twice", d.doctype, d.uri));
            }
        }
        let (eaadhaar_available, eaadhaar_signer) = match self.eaadhaar {
            EAadhaarEntry::Current => (true, EAadhaarSigner::Current),
            EAadhaarEntry::Previous => (true, EAadhaarSigner::Previous),
            EAadhaarEntry::Expired => (true, EAadhaarSigner::Expired),
            EAadhaarEntry::None => (false, EAadhaarSigner::Current),
        };
        Ok(Citizen {
            aadhaar: self.aadhaar,
            mobile: self.mobile,
            has_account: self.has_account,
            pin: s(PIN),
            digilocker_id: dl_id(self.digilocker_id),
            name: self.name,
            dob: self.dob,
            gender: self.gender,
            email: self.email,
            eaadhaar_available,
            eaadhaar_signer,
            address,
            local: self.local.map(|l| LocalData {
                address: india(l.address),
                ..l
            }),
            documents,
            pullable,
            purpose: self.purpose,
        })
    }
}

/// A document as the seed file writes one: its kind and the facts of it.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum DocEntry {
    Pan(Pan),
    DrivingLicence(Licence),
    VehicleRegistration(Vehicle),
    Marksheet(Marksheet),
    ScannedCertificate(Scan),
    PfPassbook(Passbook),
}

impl DocEntry {
    /// The document, with what its kind implies; `address` is its holder's.
    fn issued(self, address: &Address) -> Result<IssuedDoc, String> {
        match self {
            DocEntry::Pan(p) => Ok(pan(p)),
            DocEntry::DrivingLicence(l) => driving_licence(l, address),
            DocEntry::VehicleRegistration(v) => vehicle_registration(v),
            DocEntry::Marksheet(m) => marksheet(m),
            DocEntry::ScannedCertificate(c) => scanned_certificate(c),
            DocEntry::PfPassbook(p) => Ok(pf_passbook(p)),
        }
    }
}

fn s(v: &str) -> String {
    v.to_owned()
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (s(k), s(v))).collect()
}

fn dl_id(n: u64) -> String {
    format!("d1a9f0c2-5b7e-4c31-9a40-{n:012}")
}

/// One line of an address, as printed on a licence.
fn one_line(a: &Address) -> String {
    [
        &a.house, &a.street, &a.lm, &a.loc, &a.vtc, &a.dist, &a.state, &a.pc,
    ]
    .iter()
    .filter(|v| !v.is_empty())
    .map(|v| v.as_str())
    .collect::<Vec<_>>()
    .join(", ")
}

/// `a` with the country set to India where the seed leaves it out. A country
/// the seed gives (a local script's name for India, or UIDAI's one space)
/// is kept.
fn india(a: Address) -> Address {
    if a.country.is_empty() {
        Address {
            country: s("India"),
            ..a
        }
    } else {
        a
    }
}

/// The transport department of `state`: issuer id, org id and name.
fn transport(state: &str) -> Result<(String, String, String), String> {
    match (
        catalogue::transport_orgid(state),
        catalogue::transport_name(state),
    ) {
        (Some(orgid), Some(name)) => Ok((catalogue::transport_issuerid(state), orgid, name)),
        _ => Err(format!(
            "state {state:?} is no state or union territory code the catalogue knows"
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pan {
    number: String,
    name: String,
    father: String,
    dob: String,
    date: String,
}

fn pan(p: Pan) -> IssuedDoc {
    IssuedDoc {
        uri: format!("{}-PANCR-{}", catalogue::ISSUERID_INCOME_TAX, p.number),
        doctype: s("PANCR"),
        issuerid: s(catalogue::ISSUERID_INCOME_TAX),
        orgid: s(catalogue::ORGID_INCOME_TAX),
        issuer: s("Income Tax Department"),
        name: s("PAN Verification Record"),
        description: s("PAN Verification Record"),
        date: p.date,
        mime: vec![s(PDF), s(XML)],
        fields: fields(&[
            ("Permanent Account Number", &p.number),
            ("Name", &p.name),
            ("Father's Name", &p.father),
            ("Date of Birth", &p.dob),
            ("Status", "Active"),
        ]),
        params: fields(&[("panno", &p.number), ("PANFullName", &p.name)]),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Licence {
    state: String,
    number: String,
    name: String,
    relation: String,
    dob: String,
    issued: String,
    valid_till: String,
    classes: String,
    authority: String,
}

fn driving_licence(l: Licence, address: &Address) -> Result<IssuedDoc, String> {
    let (issuerid, orgid, issuer) = transport(&l.state)?;
    Ok(IssuedDoc {
        uri: format!("{issuerid}-DRVLC-{}", l.number),
        doctype: s("DRVLC"),
        issuerid,
        orgid,
        issuer,
        name: s("Driving License"),
        description: s("Driving License"),
        date: l.issued.clone(),
        mime: vec![s(PDF), s(XML)],
        fields: fields(&[
            ("Licence Number", &l.number),
            ("Name", &l.name),
            ("Son/Daughter/Wife of", &l.relation),
            ("Date of Birth", &l.dob),
            ("Date of Issue", &l.issued),
            ("Valid Till (Non-Transport)", &l.valid_till),
            ("Class of Vehicle", &l.classes),
            ("Issuing Authority", &l.authority),
            ("Address", &one_line(address)),
        ]),
        params: fields(&[("dlno", &l.number), ("DOB", &l.dob)]),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vehicle {
    state: String,
    number: String,
    owner: String,
    model: String,
    fuel: String,
    registered: String,
    chassis: String,
    engine: String,
    authority: String,
    /// Whether the transport department also gives the certificate data
    /// (XML); PDF only when left out.
    #[serde(default)]
    xml: bool,
}

fn vehicle_registration(v: Vehicle) -> Result<IssuedDoc, String> {
    let (issuerid, orgid, issuer) = transport(&v.state)?;
    Ok(IssuedDoc {
        uri: format!("{issuerid}-RVCER-{}", v.number),
        doctype: s("RVCER"),
        issuerid,
        orgid,
        issuer,
        name: s("Registration of Vehicles"),
        description: s("Registration of Vehicles"),
        date: v.registered.clone(),
        // Some vehicle registrations come as PDF only (a document without
        // certificate data, to exercise `xml` answering `invalid_uri`),
        // others with certificate data too.
        mime: if v.xml {
            vec![s(PDF), s(XML)]
        } else {
            vec![s(PDF)]
        },
        fields: fields(&[
            ("Registration Number", &v.number),
            ("Owner Name", &v.owner),
            ("Maker / Model", &v.model),
            ("Fuel", &v.fuel),
            ("Date of Registration", &v.registered),
            ("Chassis Number", &v.chassis),
            ("Engine Number", &v.engine),
            ("Registering Authority", &v.authority),
        ]),
        params: fields(&[
            ("regno", &v.number),
            (
                "chasisno",
                v.chassis
                    .get(v.chassis.len().saturating_sub(5)..)
                    .unwrap_or(&v.chassis),
            ),
        ]),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Marksheet {
    /// `CBSE`, or the code of a state whose board issued it.
    board: String,
    /// `SSCER` (class X), `HSCER` (class XII) or `MIGCR`.
    doctype: String,
    roll: String,
    year: String,
    name: String,
    mother: String,
    father: String,
    school: String,
    date: String,
    #[serde(default)]
    marks: Vec<(String, String)>,
}

fn marksheet(m: Marksheet) -> Result<IssuedDoc, String> {
    let (orgid, issuerid, issuer) = if m.board == "CBSE" {
        (
            s(catalogue::ORGID_CBSE),
            s(catalogue::ISSUERID_CBSE),
            s("Central Board of Secondary Education"),
        )
    } else {
        catalogue::school_board(&m.board)
            .map(|(o, i, n)| (o, i, s(n)))
            .ok_or_else(|| {
                format!(
                    "board {:?} is neither CBSE nor a state whose board the catalogue knows",
                    m.board
                )
            })?
    };
    let title = match m.doctype.as_str() {
        "SSCER" => "Class X Marksheet",
        "HSCER" => "Class XII Marksheet",
        "MIGCR" => "Migration Certificate",
        other => {
            return Err(format!(
                "a mark sheet's doctype is SSCER, HSCER or MIGCR, not {other:?}"
            ))
        }
    };
    let mut f = fields(&[
        ("Roll Number", &m.roll),
        ("Year of Passing", &m.year),
        ("Candidate Name", &m.name),
        ("Mother's Name", &m.mother),
        ("Father's Name", &m.father),
        ("School", &m.school),
    ]);
    f.extend(m.marks);
    f.push((s("Result"), s("PASS")));
    Ok(IssuedDoc {
        uri: format!("{issuerid}-{}-{}{}", m.doctype, m.year, m.roll),
        doctype: m.doctype,
        issuerid,
        orgid,
        issuer,
        name: s(title),
        description: s(title),
        date: m.date,
        mime: vec![s(PDF), s(XML)],
        fields: f,
        params: fields(&[("rroll", &m.roll), ("year", &m.year)]),
    })
}

/// A CBSE certificate an older year's records hold only as a scan: served
/// as an image, under `mime` (`image/jpeg`, `image/jpg` or `image/png`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scan {
    /// `SSCPC`, `HSCPC` or `MIGCR`.
    doctype: String,
    roll: String,
    year: String,
    name: String,
    father: String,
    school: String,
    date: String,
    mime: String,
}

fn scanned_certificate(c: Scan) -> Result<IssuedDoc, String> {
    let title = match c.doctype.as_str() {
        "SSCPC" => "Class X Passing Certificate",
        "HSCPC" => "Class XII Passing Certificate",
        "MIGCR" => "Migration Certificate",
        other => {
            return Err(format!(
                "a scanned certificate's doctype is SSCPC, HSCPC or MIGCR, not {other:?}"
            ))
        }
    };
    if !["image/jpeg", "image/jpg", "image/png"].contains(&c.mime.as_str()) {
        return Err(format!(
            "a scan's mime is image/jpeg, image/jpg or image/png, not {:?}",
            c.mime
        ));
    }
    Ok(IssuedDoc {
        uri: format!(
            "{}-{}-{}{}",
            catalogue::ISSUERID_CBSE,
            c.doctype,
            c.year,
            c.roll
        ),
        issuerid: s(catalogue::ISSUERID_CBSE),
        orgid: s(catalogue::ORGID_CBSE),
        issuer: s("Central Board of Secondary Education"),
        name: s(title),
        description: s(title),
        date: c.date,
        mime: vec![c.mime],
        fields: fields(&[
            ("Roll Number", &c.roll),
            ("Year of Passing", &c.year),
            ("Candidate Name", &c.name),
            ("Father's Name", &c.father),
            ("School", &c.school),
            ("Result", "PASS"),
        ]),
        params: fields(&[("rroll", &c.roll), ("year", &c.year)]),
        doctype: c.doctype,
    })
}

/// Which fund keeps a provident fund passbook.
#[derive(Deserialize)]
enum Fund {
    #[serde(rename = "EPFO")]
    Epfo,
    #[serde(rename = "AG Tripura")]
    AgTripura,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Passbook {
    issuer: Fund,
    account: String,
    member: String,
    establishment: String,
    closing: String,
    date: String,
}

fn pf_passbook(p: Passbook) -> IssuedDoc {
    let (orgid, issuerid, issuer) = match p.issuer {
        Fund::AgTripura => (
            catalogue::ORGID_AG_TRIPURA,
            catalogue::ISSUERID_AG_TRIPURA,
            "Accountants General, Tripura",
        ),
        Fund::Epfo => (
            catalogue::ORGID_EPFO,
            catalogue::ISSUERID_EPFO,
            "Employees' Provident Fund Organisation",
        ),
    };
    IssuedDoc {
        uri: format!("{issuerid}-PRFND-{}", p.account),
        doctype: s("PRFND"),
        issuerid: s(issuerid),
        orgid: s(orgid),
        issuer: s(issuer),
        name: s("Provident Fund Member Passbook"),
        description: s("Provident Fund Member Passbook"),
        date: p.date,
        mime: vec![s(PDF)],
        fields: fields(&[
            ("Account No./PPO No.", &p.account),
            ("Name of the member", &p.member),
            ("Establishment", &p.establishment),
            ("Closing Balance (INR) as on 31-03-2025", &p.closing),
        ]),
        params: fields(&[("AC_NO", &p.account), ("MemberName", &p.member)]),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_aadhaar_is_verhoeff_valid_fake_and_unique() {
        let mut seen = HashSet::new();
        for c in all() {
            if let Some(a) = &c.aadhaar {
                assert!(
                    verhoeff::is_valid_aadhaar_number(a),
                    "{} has a bad Aadhaar",
                    c.name
                );
                assert!(a.starts_with("9999"), "{} is not clearly fake", c.name);
                assert!(seen.insert(a.clone()), "{} repeats an Aadhaar", c.name);
            }
        }
        assert!(seen.len() >= 12);
    }

    /// The citizens, as `{:#?}` prints them, are exactly as the committed
    /// snapshot has them: the snapshot was taken before the seed moved from
    /// Rust literals to data files, and guards every derived value since.
    /// After a deliberate change, write it again with
    /// `SEED_SNAPSHOT=write cargo test -p sandbox --lib seed::` and review
    /// the diff.
    #[test]
    fn citizens_are_exactly_as_the_snapshot_has_them() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/seed/citizens.debug.txt");
        let got = format!("{:#?}\n", citizens());
        if std::env::var("SEED_SNAPSHOT").as_deref() == Ok("write") {
            std::fs::write(path, &got).unwrap();
        }
        let want = std::fs::read_to_string(path).unwrap();
        if got != want {
            let line = got
                .lines()
                .zip(want.lines())
                .position(|(g, w)| g != w)
                .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
            let actual = std::env::temp_dir().join("citizens.debug.txt");
            std::fs::write(&actual, &got).unwrap();
            panic!(
                "the citizens differ from {path} from line {}: {:?} where it has {:?} \
                 (all of them written to {})",
                line + 1,
                got.lines().nth(line),
                want.lines().nth(line),
                actual.display()
            );
        }
    }

    #[test]
    fn the_built_in_seed_loads() {
        let cs = parse(CITIZENS_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cs, all());
    }

    /// One citizen as small as the seed file allows.
    const ONE: &str = r#"
[[citizen]]
name = "Test One"
purpose = "a test"
aadhaar = "999900000016"
digilocker_id = 90
dob = "01-01-1960"
gender = "F"
eaadhaar = "none"

[citizen.address]
vtc = "Hunsur"
"#;

    /// A second citizen, whose block ends with its first document.
    const TWO: &str = r#"
[[citizen]]
name = "Test Two"
purpose = "another test"
aadhaar = "999900000028"
mobile = "9000000092"
has_account = false
digilocker_id = 91
dob = "02-02-1970"
gender = "M"
email = "two@example.com"
eaadhaar = "expired"

[citizen.address]
state = "Karnataka"

[[citizen.documents]]
kind = "driving_licence"
state = "KA"
number = "KA0119990000001"
name = "TEST TWO"
relation = "TEST ONE"
dob = "02-02-1970"
issued = "01-01-1999"
valid_till = "01-02-2030"
classes = "LMV"
authority = "RTO Bengaluru, KA01"
"#;

    fn refusal(text: &str) -> String {
        match parse(text) {
            Ok(cs) => panic!("accepted {} citizens", cs.len()),
            Err(e) => e,
        }
    }

    #[test]
    fn an_entry_holds_facts_and_the_rest_is_derived() {
        let cs = parse(&format!("{ONE}{TWO}")).unwrap_or_else(|e| panic!("{e}"));
        let (one, two) = (&cs[0], &cs[1]);
        assert_eq!(one.digilocker_id, "d1a9f0c2-5b7e-4c31-9a40-000000000090");
        assert_eq!((one.pin.as_str(), one.email.as_str()), (PIN, ""));
        assert_eq!(one.address.country, "India");
        assert!(one.has_account && one.mobile.is_none() && one.local.is_none());
        assert!(!one.eaadhaar_available);
        assert!(!two.has_account && two.eaadhaar_available);
        assert_eq!(two.eaadhaar_signer, EAadhaarSigner::Expired);
        let dl = &two.documents[0];
        assert_eq!(dl.uri, "in.gov.ka.transport-DRVLC-KA0119990000001");
        assert_eq!(dl.date, "01-01-1999");
        assert_eq!(dl.fields[8], (s("Address"), s("Karnataka")));
        assert!(two.pullable.is_empty());
    }

    #[test]
    fn a_bad_aadhaar_check_digit_is_refused_naming_the_citizen() {
        let e = refusal(&ONE.replace("999900000016", "999900000017"));
        assert!(e.starts_with("citizen 1 (Test One): "), "{e}");
        assert!(e.contains("999900000017") && e.contains("Verhoeff"), "{e}");
        // 11 digits (a payload without its check digit) is refused too.
        let e = refusal(&ONE.replace("999900000016", "99990000001"));
        assert!(e.contains("99990000001 is not 12 digits"), "{e}");
        // Valid, but not clearly fake.
        let e = refusal(&ONE.replace("999900000016", "234567890124"));
        assert!(e.contains("does not start with 9999"), "{e}");
    }

    #[test]
    fn a_repeated_aadhaar_mobile_id_or_document_is_refused_naming_both() {
        let e = refusal(&format!(
            "{ONE}{}",
            TWO.replace("999900000028", "999900000016")
        ));
        assert_eq!(
            e,
            "citizen 2 (Test Two): Aadhaar 999900000016 is Test One's"
        );
        let e = refusal(&format!("{ONE}{}", TWO.replace("= 91", "= 90")));
        assert!(e.starts_with("citizen 2 (Test Two): DigiLocker id"), "{e}");
        let e = refusal(&format!("{TWO}{}", TWO.replace("Test Two", "Test Three")));
        assert!(e.starts_with("citizen 2 (Test Three): Aadhaar"), "{e}");
        let three = TWO
            .replace("Test Two", "Test Three")
            .replace("999900000028", "999900000037")
            .replace("9000000092", "9000000093")
            .replace("= 91", "= 93");
        let e = refusal(&format!("{TWO}{three}"));
        assert_eq!(
            e,
            "citizen 2 (Test Three): Test Two already holds the DRVLC \
             in.gov.ka.transport-DRVLC-KA0119990000001"
        );
    }

    #[test]
    fn an_unknown_kind_field_or_value_is_refused_naming_the_entry() {
        let e = refusal(&format!(
            "{ONE}{}",
            TWO.replace("kind = \"driving_licence\"", "kind = \"passport\"")
        ));
        assert!(e.starts_with("citizen 2 (Test Two): document 1: "), "{e}");
        assert!(e.contains("unknown variant `passport`"), "{e}");
        let e = refusal(
            &TWO.replace("[[citizen.documents]]", "[[citizen.pullable]]")
                .replace("dob = \"02-02-1970\"\nissued", "issued"),
        );
        assert_eq!(
            e,
            "citizen 1 (Test Two): pullable record 1: missing field `dob`"
        );
        let e = refusal(&TWO.replace("state = \"KA\"", "state = \"XX\""));
        assert!(
            e.starts_with("citizen 1 (Test Two): document 1: state \"XX\""),
            "{e}"
        );
        let e = refusal(&TWO.replace("classes = ", "class = "));
        assert!(e.starts_with("citizen 1 (Test Two): document 1: "), "{e}");
        assert!(e.contains("unknown field `class`"), "{e}");
        let e = refusal(&ONE.replace("eaadhaar = \"none\"", "eaadhaar = \"old\""));
        assert!(
            e.starts_with("citizen 1 (Test One): unknown variant `old`"),
            "{e}"
        );
        let e = refusal(&ONE.replace("gender = \"F\"", "gender = \"female\""));
        assert_eq!(
            e,
            "citizen 1 (Test One): gender \"female\" is not M, F or T"
        );
        let e = refusal(&ONE.replace("vtc = ", "town = "));
        assert!(
            e.starts_with("citizen 1 (Test One): unknown field `town`"),
            "{e}"
        );
        let e = refusal(&ONE.replace("purpose = \"a test\"\n", ""));
        assert!(
            e.starts_with("citizen 1 (Test One): missing field `purpose`"),
            "{e}"
        );
    }

    #[test]
    fn covers_every_scenario_testers_need() {
        let cs = citizens();
        assert!(cs.len() >= 12);
        assert!(cs.iter().any(|c| c.aadhaar.is_none() && c.has_account));
        assert!(cs
            .iter()
            .any(|c| c.aadhaar.is_some() && !c.eaadhaar_available));
        assert!(cs.iter().any(|c| c.documents.is_empty() && c.has_account));
        assert!(cs.iter().any(|c| !c.has_account && c.mobile.is_some()));
        assert!(cs.iter().any(|c| !c.has_account && c.mobile.is_none()));
        assert!(cs.iter().any(|c| c.gender == "T"));
        for lang in ["hi", "ta", "bn"] {
            assert!(cs
                .iter()
                .any(|c| c.local.as_ref().is_some_and(|l| l.lang == lang)));
        }
        let happy = &cs[0];
        let types: Vec<&str> = happy.documents.iter().map(|d| d.doctype.as_str()).collect();
        assert_eq!(types, ["PANCR", "DRVLC", "SSCER"]);
        assert_eq!(happy.documents[0].uri, "in.gov.pan-PANCR-ABCDE1234F");
        assert!(happy.eaadhaar_available);
    }

    #[test]
    fn one_citizen_has_an_e_aadhaar_from_a_signer_that_has_expired() {
        let expired: Vec<&Citizen> = all()
            .iter()
            .filter(|c| c.eaadhaar_signer == EAadhaarSigner::Expired)
            .collect();
        assert_eq!(expired.len(), 1);
        let c = expired[0];
        assert!(c.has_account && c.aadhaar.is_some() && c.eaadhaar_available);
        assert_eq!(all()[0].eaadhaar_signer, EAadhaarSigner::Current);
    }

    #[test]
    fn ids_mobiles_and_uris_are_unique_and_well_formed() {
        let cs = all();
        let ids: HashSet<&str> = cs.iter().map(|c| c.digilocker_id.as_str()).collect();
        assert_eq!(ids.len(), cs.len());
        let mobiles: Vec<&str> = cs.iter().filter_map(|c| c.mobile.as_deref()).collect();
        let unique: HashSet<&&str> = mobiles.iter().collect();
        assert_eq!(unique.len(), mobiles.len());
        let mut uris = HashSet::new();
        let mut numbers = HashSet::new();
        for c in cs {
            // No two citizens hold the same document, pulled or not.
            for d in c.documents.iter().chain(&c.pullable) {
                if let Some((_, number)) = d.params.first() {
                    assert!(
                        numbers.insert((d.doctype.clone(), number.clone())),
                        "{} {number} held twice",
                        d.doctype
                    );
                }
            }
            for d in &c.pullable {
                assert!(uris.insert(d.uri.clone()), "{} repeated", d.uri);
            }
            assert_eq!(c.pin.len(), 6);
            assert!(!c.purpose.is_empty());
            assert!(["M", "F", "T"].contains(&c.gender.as_str()));
            if let Some(m) = &c.mobile {
                assert!(m.len() == 10 && m.starts_with("90000000"), "{m}");
            }
            for d in &c.documents {
                assert!(uris.insert(d.uri.clone()), "{} repeated", d.uri);
                assert!(d.uri.starts_with(&format!("{}-{}-", d.issuerid, d.doctype)));
                assert!(
                    d.mime.iter().any(|m| m == "application/pdf")
                        || d.mime.len() == 1 && d.mime[0].starts_with("image/"),
                    "{}: {:?}",
                    d.uri,
                    d.mime
                );
                assert!(!d.orgid.is_empty() && !d.issuer.is_empty(), "{}", d.uri);
            }
        }
    }

    #[test]
    fn seeded_documents_point_at_catalogue_entries() {
        let cat = catalogue::Catalogue::default_size();
        for c in all() {
            for d in c.documents.iter().chain(&c.pullable) {
                let issuer = cat.issuer(&d.orgid);
                assert_eq!(
                    issuer.map(|i| i.issuerid.as_str()),
                    Some(d.issuerid.as_str())
                );
                assert_eq!(issuer.map(|i| i.name.as_str()), Some(d.issuer.as_str()));
                let doctype = cat.doctype(&d.orgid, &d.doctype);
                assert!(doctype.is_some(), "{}", d.uri);
                // In the doc type's formats, but for scanned certificates;
                // a document may lack the certificate data (XML) its doc
                // type can have (a PDF-only vehicle registration).
                if !d.mime[0].starts_with("image/") {
                    let formats: Vec<&str> = doctype.map(|t| t.mime.to_vec()).unwrap_or_default();
                    let pdf_only = d.mime == ["application/pdf"];
                    assert!(
                        d.mime == formats || (pdf_only && formats.contains(&"application/pdf")),
                        "{}: {:?} where the doc type has {formats:?}",
                        d.uri,
                        d.mime
                    );
                }
            }
        }
    }

    #[test]
    fn lookups_normalise_their_input() {
        let first = &all()[0];
        let a = first.aadhaar.clone().unwrap_or_default();
        let spaced = format!("{} {} {}", &a[..4], &a[4..8], &a[8..]);
        assert_eq!(find_by_aadhaar(&spaced).as_ref(), Some(first));
        assert_eq!(find_by_mobile("+91 90000 00001").as_ref(), Some(first));
        assert_eq!(find_by_mobile("09000000001").as_ref(), Some(first));
        assert_eq!(
            find_by_digilocker_id(&first.digilocker_id).as_ref(),
            Some(first)
        );
        assert!(find_by_aadhaar("999900000017").is_none());
        assert!(find_by_mobile("9000000099").is_none());
    }
}
