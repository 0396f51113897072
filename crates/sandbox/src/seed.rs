//! Seeded test citizens. Every value a tester needs is listed in the README.
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

/// The OTP the sandbox accepts for every citizen.
pub const OTP: &str = "123456";

/// The security PIN of every seeded citizen.
pub const PIN: &str = "111111";

/// A postal address in DigiLocker's e-Aadhaar attribute names. Empty strings
/// mean "absent" (e-Aadhaar leaves empty attributes out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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

fn s(v: &str) -> String {
    v.to_owned()
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (s(k), s(v))).collect()
}

/// An Aadhaar number from an 11-digit payload, with its check digit.
fn aadhaar(payload: &str) -> Option<String> {
    verhoeff::append_check_digit(payload)
}

fn dl_id(n: u32) -> String {
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

struct Pan<'a> {
    number: &'a str,
    name: &'a str,
    father: &'a str,
    dob: &'a str,
    date: &'a str,
}

fn pan(p: Pan<'_>) -> IssuedDoc {
    IssuedDoc {
        uri: format!("{}-PANCR-{}", catalogue::ISSUERID_INCOME_TAX, p.number),
        doctype: s("PANCR"),
        issuerid: s(catalogue::ISSUERID_INCOME_TAX),
        orgid: s(catalogue::ORGID_INCOME_TAX),
        issuer: s("Income Tax Department"),
        name: s("PAN Verification Record"),
        description: s("PAN Verification Record"),
        date: s(p.date),
        mime: vec![s(PDF), s(XML)],
        fields: fields(&[
            ("Permanent Account Number", p.number),
            ("Name", p.name),
            ("Father's Name", p.father),
            ("Date of Birth", p.dob),
            ("Status", "Active"),
        ]),
        params: fields(&[("panno", p.number), ("PANFullName", p.name)]),
    }
}

struct Licence<'a> {
    state: &'a str,
    number: &'a str,
    name: &'a str,
    relation: &'a str,
    dob: &'a str,
    issued: &'a str,
    valid_till: &'a str,
    classes: &'a str,
    authority: &'a str,
    address: &'a Address,
}

fn driving_licence(l: Licence<'_>) -> IssuedDoc {
    let issuerid = catalogue::transport_issuerid(l.state);
    IssuedDoc {
        uri: format!("{issuerid}-DRVLC-{}", l.number),
        doctype: s("DRVLC"),
        issuerid,
        orgid: catalogue::transport_orgid(l.state).unwrap_or_default(),
        issuer: catalogue::transport_name(l.state).unwrap_or_default(),
        name: s("Driving License"),
        description: s("Driving License"),
        date: s(l.issued),
        mime: vec![s(PDF), s(XML)],
        fields: fields(&[
            ("Licence Number", l.number),
            ("Name", l.name),
            ("Son/Daughter/Wife of", l.relation),
            ("Date of Birth", l.dob),
            ("Date of Issue", l.issued),
            ("Valid Till (Non-Transport)", l.valid_till),
            ("Class of Vehicle", l.classes),
            ("Issuing Authority", l.authority),
            ("Address", &one_line(l.address)),
        ]),
        params: fields(&[("dlno", l.number), ("DOB", l.dob)]),
    }
}

struct Vehicle<'a> {
    state: &'a str,
    number: &'a str,
    owner: &'a str,
    model: &'a str,
    fuel: &'a str,
    registered: &'a str,
    chassis: &'a str,
    engine: &'a str,
    authority: &'a str,
}

fn vehicle_registration(v: Vehicle<'_>) -> IssuedDoc {
    let issuerid = catalogue::transport_issuerid(v.state);
    IssuedDoc {
        uri: format!("{issuerid}-RVCER-{}", v.number),
        doctype: s("RVCER"),
        issuerid,
        orgid: catalogue::transport_orgid(v.state).unwrap_or_default(),
        issuer: catalogue::transport_name(v.state).unwrap_or_default(),
        name: s("Registration of Vehicles"),
        description: s("Registration of Vehicles"),
        date: s(v.registered),
        // Vehicle registrations come as PDF only: a document without
        // certificate data, to exercise `xml` answering `invalid_uri`.
        mime: vec![s(PDF)],
        fields: fields(&[
            ("Registration Number", v.number),
            ("Owner Name", v.owner),
            ("Maker / Model", v.model),
            ("Fuel", v.fuel),
            ("Date of Registration", v.registered),
            ("Chassis Number", v.chassis),
            ("Engine Number", v.engine),
            ("Registering Authority", v.authority),
        ]),
        params: fields(&[
            ("regno", v.number),
            (
                "chasisno",
                v.chassis
                    .get(v.chassis.len().saturating_sub(5)..)
                    .unwrap_or(v.chassis),
            ),
        ]),
    }
}

/// Which board issued a mark sheet: CBSE, or the board of a state.
enum Board<'a> {
    Cbse,
    State(&'a str),
}

struct Marksheet<'a> {
    board: Board<'a>,
    /// `SSCER` (class X) or `HSCER` (class XII).
    doctype: &'a str,
    roll: &'a str,
    year: &'a str,
    name: &'a str,
    mother: &'a str,
    father: &'a str,
    school: &'a str,
    date: &'a str,
    marks: &'a [(&'a str, &'a str)],
}

fn marksheet(m: Marksheet<'_>) -> IssuedDoc {
    let (orgid, issuerid, issuer) = match m.board {
        Board::Cbse => (
            s(catalogue::ORGID_CBSE),
            s(catalogue::ISSUERID_CBSE),
            s("Central Board of Secondary Education"),
        ),
        Board::State(code) => catalogue::school_board(code)
            .map(|(o, i, n)| (o, i, s(n)))
            .unwrap_or_default(),
    };
    let title = match m.doctype {
        "HSCER" => "Class XII Marksheet",
        "MIGCR" => "Migration Certificate",
        _ => "Class X Marksheet",
    };
    let mut f = fields(&[
        ("Roll Number", m.roll),
        ("Year of Passing", m.year),
        ("Candidate Name", m.name),
        ("Mother's Name", m.mother),
        ("Father's Name", m.father),
        ("School", m.school),
    ]);
    f.extend(fields(m.marks));
    f.push((s("Result"), s("PASS")));
    IssuedDoc {
        uri: format!("{issuerid}-{}-{}{}", m.doctype, m.year, m.roll),
        doctype: s(m.doctype),
        issuerid,
        orgid,
        issuer,
        name: s(title),
        description: s(title),
        date: s(m.date),
        mime: vec![s(PDF), s(XML)],
        fields: f,
        params: fields(&[("rroll", m.roll), ("year", m.year)]),
    }
}

/// A CBSE certificate an older year's records hold only as a scan: served
/// as an image, under `mime` (`image/jpeg`, `image/jpg` or `image/png`).
struct Scan<'a> {
    /// `SSCPC`, `HSCPC` or `MIGCR`.
    doctype: &'a str,
    roll: &'a str,
    year: &'a str,
    name: &'a str,
    father: &'a str,
    school: &'a str,
    date: &'a str,
    mime: &'a str,
}

fn scanned_certificate(c: Scan<'_>) -> IssuedDoc {
    let title = match c.doctype {
        "SSCPC" => "Class X Passing Certificate",
        "HSCPC" => "Class XII Passing Certificate",
        _ => "Migration Certificate",
    };
    IssuedDoc {
        uri: format!(
            "{}-{}-{}{}",
            catalogue::ISSUERID_CBSE,
            c.doctype,
            c.year,
            c.roll
        ),
        doctype: s(c.doctype),
        issuerid: s(catalogue::ISSUERID_CBSE),
        orgid: s(catalogue::ORGID_CBSE),
        issuer: s("Central Board of Secondary Education"),
        name: s(title),
        description: s(title),
        date: s(c.date),
        mime: vec![s(c.mime)],
        fields: fields(&[
            ("Roll Number", c.roll),
            ("Year of Passing", c.year),
            ("Candidate Name", c.name),
            ("Father's Name", c.father),
            ("School", c.school),
            ("Result", "PASS"),
        ]),
        params: fields(&[("rroll", c.roll), ("year", c.year)]),
    }
}

struct Passbook<'a> {
    /// EPFO or Accountants General, Tripura.
    ag_tripura: bool,
    account: &'a str,
    member: &'a str,
    establishment: &'a str,
    closing: &'a str,
    date: &'a str,
}

fn pf_passbook(p: Passbook<'_>) -> IssuedDoc {
    let (orgid, issuerid, issuer) = if p.ag_tripura {
        (
            catalogue::ORGID_AG_TRIPURA,
            catalogue::ISSUERID_AG_TRIPURA,
            "Accountants General, Tripura",
        )
    } else {
        (
            catalogue::ORGID_EPFO,
            catalogue::ISSUERID_EPFO,
            "Employees' Provident Fund Organisation",
        )
    };
    IssuedDoc {
        uri: format!("{issuerid}-PRFND-{}", p.account),
        doctype: s("PRFND"),
        issuerid: s(issuerid),
        orgid: s(orgid),
        issuer: s(issuer),
        name: s("Provident Fund Member Passbook"),
        description: s("Provident Fund Member Passbook"),
        date: s(p.date),
        mime: vec![s(PDF)],
        fields: fields(&[
            ("Account No./PPO No.", p.account),
            ("Name of the member", p.member),
            ("Establishment", p.establishment),
            ("Closing Balance (INR) as on 31-03-2025", p.closing),
        ]),
        params: fields(&[("AC_NO", p.account), ("MemberName", p.member)]),
    }
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

#[allow(clippy::too_many_lines)]
fn build() -> Vec<Citizen> {
    let mut out = Vec::new();

    // 1. The happy path.
    let address = india(Address {
        co: s("S/O Suresh Kumar Sharma"),
        house: s("No. 42, 2nd Cross"),
        street: s("Gandhi Nagar Main Road"),
        lm: s("Near Hanuman Temple"),
        loc: s("Gandhi Nagar"),
        vtc: s("Bengaluru"),
        subdist: s("Bengaluru North"),
        dist: s("Bengaluru Urban"),
        state: s("Karnataka"),
        pc: s("560009"),
        po: s("Gandhi Nagar"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000001"),
        mobile: Some(s("9000000001")),
        has_account: true,
        pin: s(PIN),
        digilocker_id: dl_id(1),
        name: s("Ramesh Kumar Sharma"),
        dob: s("15-08-1985"),
        gender: s("M"),
        email: s("ramesh.sharma@example.com"),
        eaadhaar_available: true,
        eaadhaar_signer: EAadhaarSigner::Current,
        local: Some(LocalData {
            lang: s("hi"),
            name: s("रमेश कुमार शर्मा"),
            address: india(Address {
                co: s("पुत्र: सुरेश कुमार शर्मा"),
                house: s("नं. 42, दूसरा क्रॉस"),
                street: s("गांधी नगर मेन रोड"),
                lm: s("हनुमान मंदिर के पास"),
                loc: s("गांधी नगर"),
                vtc: s("बेंगलुरु"),
                subdist: s("बेंगलुरु उत्तर"),
                dist: s("बेंगलुरु शहरी"),
                state: s("कर्नाटक"),
                pc: s("560009"),
                po: s("गांधी नगर"),
                country: s("भारत"),
            }),
        }),
        documents: vec![
            pan(Pan {
                number: "ABCDE1234F",
                name: "RAMESH KUMAR SHARMA",
                father: "SURESH KUMAR SHARMA",
                dob: "15-08-1985",
                date: "12-04-2019",
            }),
            driving_licence(Licence {
                state: "KA",
                number: "KA0120110012345",
                name: "RAMESH KUMAR SHARMA",
                relation: "SURESH KUMAR SHARMA",
                dob: "15-08-1985",
                issued: "03-06-2011",
                valid_till: "14-08-2035",
                classes: "LMV, MCWG",
                authority: "RTO Bengaluru (Central), KA01",
                address: &address,
            }),
            marksheet(Marksheet {
                board: Board::Cbse,
                doctype: "SSCER",
                roll: "4012345",
                year: "2001",
                name: "RAMESH KUMAR SHARMA",
                mother: "KAMALA SHARMA",
                father: "SURESH KUMAR SHARMA",
                school: "Kendriya Vidyalaya No. 1, Bengaluru",
                date: "28-05-2001",
                marks: &[
                    ("English Communicative", "078"),
                    ("Hindi Course-A", "081"),
                    ("Mathematics", "092"),
                    ("Science", "088"),
                    ("Social Science", "084"),
                ],
            }),
        ],
        pullable: vec![
            marksheet(Marksheet {
                board: Board::Cbse,
                doctype: "HSCER",
                roll: "4123456",
                year: "2003",
                name: "RAMESH KUMAR SHARMA",
                mother: "KAMALA SHARMA",
                father: "SURESH KUMAR SHARMA",
                school: "Kendriya Vidyalaya No. 1, Bengaluru",
                date: "26-05-2003",
                marks: &[
                    ("English Core", "074"),
                    ("Physics", "081"),
                    ("Chemistry", "077"),
                    ("Mathematics", "089"),
                    ("Computer Science", "091"),
                ],
            }),
            pf_passbook(Passbook {
                ag_tripura: false,
                account: "KABNG00456780000054321",
                member: "RAMESH KUMAR SHARMA",
                establishment: "Vidhana Soft Systems Pvt. Ltd.",
                closing: "6,54,210.00",
                date: "03-04-2025",
            }),
            pf_passbook(Passbook {
                ag_tripura: false,
                account: "KABNG00123450000012345",
                member: "RAMESH KUMAR SHARMA",
                establishment: "Nandi Engineering Works",
                closing: "1,12,480.00",
                date: "03-04-2025",
            }),
        ],
        purpose: s("Happy path: PAN, driving licence and class X mark sheet; e-Aadhaar available; Hindi local data"),
        address,
    });

    // 2. Tamil local data, a state board mark sheet.
    let address = india(Address {
        co: s("D/O Venkataraman S"),
        house: s("Old No. 12, New No. 27"),
        street: s("Ranganathan Street"),
        lm: s("Opposite Pondy Bazaar Bus Stop"),
        loc: s("T. Nagar"),
        vtc: s("Chennai"),
        subdist: s("Mambalam"),
        dist: s("Chennai"),
        state: s("Tamil Nadu"),
        pc: s("600017"),
        po: s("Thyagaraya Nagar"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000002"),
        mobile: Some(s("9000000002")),
        has_account: true,
        pin: s(PIN),
        digilocker_id: dl_id(2),
        name: s("Priya Venkataraman"),
        dob: s("22-03-1992"),
        gender: s("F"),
        email: s("priya.v@example.com"),
        eaadhaar_available: true,
        eaadhaar_signer: EAadhaarSigner::Previous,
        local: Some(LocalData {
            lang: s("ta"),
            name: s("பிரியா வெங்கடராமன்"),
            address: india(Address {
                co: s("மகள்: வெங்கடராமன் எஸ்"),
                house: s("பழைய எண் 12, புதிய எண் 27"),
                street: s("ரங்கநாதன் தெரு"),
                lm: s("பாண்டி பஜார் பேருந்து நிறுத்தம் எதிரில்"),
                loc: s("தி. நகர்"),
                vtc: s("சென்னை"),
                subdist: s("மாம்பலம்"),
                dist: s("சென்னை"),
                state: s("தமிழ்நாடு"),
                pc: s("600017"),
                po: s("தியாகராய நகர்"),
                country: s("இந்தியா"),
            }),
        }),
        documents: vec![
            pan(Pan {
                number: "BQRPV5678K",
                name: "PRIYA VENKATARAMAN",
                father: "VENKATARAMAN S",
                dob: "22-03-1992",
                date: "07-09-2014",
            }),
            driving_licence(Licence {
                state: "TN",
                number: "TN0920150004567",
                name: "PRIYA VENKATARAMAN",
                relation: "VENKATARAMAN S",
                dob: "22-03-1992",
                issued: "19-01-2015",
                valid_till: "21-03-2032",
                classes: "LMV",
                authority: "RTO Chennai (South West), TN09",
                address: &address,
            }),
            marksheet(Marksheet {
                board: Board::State("TN"),
                doctype: "HSCER",
                roll: "5123456",
                year: "2010",
                name: "PRIYA V",
                mother: "MEENAKSHI V",
                father: "VENKATARAMAN S",
                school: "Lady Andal Venkatasubba Rao Matriculation Hr. Sec. School, Chennai",
                date: "14-05-2010",
                marks: &[
                    ("Tamil", "182"),
                    ("English", "176"),
                    ("Mathematics", "198"),
                    ("Physics", "189"),
                    ("Chemistry", "191"),
                    ("Biology", "186"),
                ],
            }),
        ],
        pullable: Vec::new(),
        purpose: s(
            "Tamil local data; PAN, driving licence, class XII mark sheet from a state board",
        ),
        address,
    });

    // 3. Bengali local data.
    let address = india(Address {
        co: s("D/O Subrata Chatterjee"),
        house: s("14/2B"),
        street: s("Bondel Road"),
        loc: s("Ballygunge"),
        vtc: s("Kolkata"),
        dist: s("Kolkata"),
        state: s("West Bengal"),
        pc: s("700019"),
        po: s("Ballygunge"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000003"),
        mobile: Some(s("9000000003")),
        has_account: true,
        pin: s(PIN),
        digilocker_id: dl_id(3),
        name: s("Ananya Chatterjee"),
        dob: s("05-11-1998"),
        gender: s("F"),
        email: s("ananya.c@example.com"),
        eaadhaar_available: true,
        eaadhaar_signer: EAadhaarSigner::Current,
        local: Some(LocalData {
            lang: s("bn"),
            name: s("অনন্যা চট্টোপাধ্যায়"),
            address: india(Address {
                co: s("পিতা: সুব্রত চট্টোপাধ্যায়"),
                house: s("১৪/২বি"),
                street: s("বন্ডেল রোড"),
                loc: s("বালিগঞ্জ"),
                vtc: s("কলকাতা"),
                dist: s("কলকাতা"),
                state: s("পশ্চিমবঙ্গ"),
                pc: s("700019"),
                po: s("বালিগঞ্জ"),
                country: s("ভারত"),
                ..Address::default()
            }),
        }),
        documents: vec![
            pan(Pan {
                number: "CDKPC4321M",
                name: "ANANYA CHATTERJEE",
                father: "SUBRATA CHATTERJEE",
                dob: "05-11-1998",
                date: "23-02-2017",
            }),
            marksheet(Marksheet {
                board: Board::State("WB"),
                doctype: "SSCER",
                roll: "0412345",
                year: "2014",
                name: "ANANYA CHATTERJEE",
                mother: "SUPRIYA CHATTERJEE",
                father: "SUBRATA CHATTERJEE",
                school: "Ballygunge Siksha Sadan, Kolkata",
                date: "23-05-2014",
                marks: &[
                    ("Bengali", "089"),
                    ("English", "091"),
                    ("Mathematics", "095"),
                    ("Physical Science", "090"),
                    ("Life Science", "093"),
                    ("History", "086"),
                    ("Geography", "088"),
                ],
            }),
        ],
        pullable: vec![driving_licence(Licence {
            state: "WB",
            number: "WB0120190012345",
            name: "ANANYA CHATTERJEE",
            relation: "SUBRATA CHATTERJEE",
            dob: "05-11-1998",
            issued: "14-02-2019",
            valid_till: "04-11-2038",
            classes: "LMV",
            authority: "RTO Kolkata (Beltala), WB01",
            address: &address,
        })],
        purpose: s("Bengali local data; PAN and class X mark sheet from a state board"),
        address,
    });

    // 4. No Aadhaar linked.
    let address = india(Address {
        co: s("S/O Abdul Rashid Khan"),
        house: s("B-17"),
        street: s("Nishatganj Road"),
        loc: s("Nishatganj"),
        vtc: s("Lucknow"),
        dist: s("Lucknow"),
        state: s("Uttar Pradesh"),
        pc: s("226006"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: None,
        mobile: Some(s("9000000004")),
        has_account: true,
        pin: s(PIN),
        digilocker_id: dl_id(4),
        name: s("Mohammed Irfan Khan"),
        dob: s("30-01-1980"),
        gender: s("M"),
        email: s("irfan.khan@example.com"),
        eaadhaar_available: false,
        eaadhaar_signer: EAadhaarSigner::Current,
        local: None,
        documents: vec![
            pan(Pan {
                number: "DHMPK9876Q",
                name: "MOHAMMED IRFAN KHAN",
                father: "ABDUL RASHID KHAN",
                dob: "30-01-1980",
                date: "18-11-2008",
            }),
            driving_licence(Licence {
                state: "UP",
                number: "UP3220050012345",
                name: "MOHAMMED IRFAN KHAN",
                relation: "ABDUL RASHID KHAN",
                dob: "30-01-1980",
                issued: "09-08-2005",
                valid_till: "29-01-2030",
                classes: "LMV, MCWG",
                authority: "RTO Lucknow, UP32",
                address: &address,
            }),
        ],
        pullable: vec![marksheet(Marksheet {
            board: Board::Cbse,
            doctype: "MIGCR",
            roll: "9712345",
            year: "1996",
            name: "MOHAMMED IRFAN KHAN",
            mother: "SHAHEEN KHAN",
            father: "ABDUL RASHID KHAN",
            school: "Colvin Taluqdars' College, Lucknow",
            date: "12-06-1996",
            marks: &[],
        })],
        purpose: s("No Aadhaar linked: signs in by mobile; e-Aadhaar answers aadhaar_not_linked"),
        address,
    });

    // 5. Aadhaar linked, but no e-Aadhaar.
    let address = india(Address {
        co: s("W/O Ram Prasad"),
        house: s("Ward No. 7"),
        loc: s("Kankarbagh"),
        vtc: s("Patna"),
        subdist: s("Patna Rural"),
        dist: s("Patna"),
        state: s("Bihar"),
        pc: s("800020"),
        po: s("Kankarbagh"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000004"),
        mobile: Some(s("9000000005")),
        has_account: true,
        pin: s(PIN),
        digilocker_id: dl_id(5),
        name: s("Sunita Devi"),
        dob: s("01-01-1975"),
        gender: s("F"),
        email: String::new(),
        eaadhaar_available: false,
        eaadhaar_signer: EAadhaarSigner::Current,
        local: Some(LocalData {
            lang: s("hi"),
            name: s("सुनीता देवी"),
            address: india(Address {
                co: s("पत्नी: राम प्रसाद"),
                house: s("वार्ड नं. 7"),
                loc: s("कंकड़बाग"),
                vtc: s("पटना"),
                subdist: s("पटना ग्रामीण"),
                dist: s("पटना"),
                state: s("बिहार"),
                pc: s("800020"),
                po: s("कंकड़बाग"),
                country: s("भारत"),
                ..Address::default()
            }),
        }),
        documents: vec![pf_passbook(Passbook {
            ag_tripura: false,
            account: "BRPAT00123450000012345",
            member: "SUNITA DEVI",
            establishment: "Bihar State Milk Co-operative Federation Ltd.",
            closing: "1,84,302.00",
            date: "02-04-2025",
        })],
        pullable: Vec::new(),
        purpose: s("Aadhaar linked but no e-Aadhaar: answers aadhaar_not_available; EPFO passbook; no email"),
        address,
    });

    // 6. No documents at all.
    let address = india(Address {
        co: s("S/O Venkat Reddy"),
        house: s("Plot 221"),
        street: s("Road No. 10"),
        loc: s("Jubilee Hills"),
        vtc: s("Hyderabad"),
        subdist: s("Shaikpet"),
        dist: s("Hyderabad"),
        state: s("Telangana"),
        pc: s("500033"),
        po: s("Jubilee Hills"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000005"),
        mobile: Some(s("9000000006")),
        has_account: true,
        pin: s(PIN),
        digilocker_id: dl_id(6),
        name: s("Arjun Reddy"),
        dob: s("12-06-2000"),
        gender: s("M"),
        email: s("arjun.reddy@example.com"),
        eaadhaar_available: true,
        eaadhaar_signer: EAadhaarSigner::Current,
        local: Some(LocalData {
            lang: s("te"),
            name: s("అర్జున్ రెడ్డి"),
            address: india(Address {
                co: s("తండ్రి: వెంకట్ రెడ్డి"),
                house: s("ప్లాట్ 221"),
                street: s("రోడ్ నం. 10"),
                loc: s("జూబ్లీ హిల్స్"),
                vtc: s("హైదరాబాద్"),
                subdist: s("షేక్‌పేట్"),
                dist: s("హైదరాబాద్"),
                state: s("తెలంగాణ"),
                pc: s("500033"),
                po: s("జూబ్లీ హిల్స్"),
                country: s("భారతదేశం"),
                ..Address::default()
            }),
        }),
        documents: Vec::new(),
        pullable: vec![
            pan(Pan {
                number: "FGHPR2345J",
                name: "ARJUN REDDY",
                father: "VENKAT REDDY",
                dob: "12-06-2000",
                date: "30-09-2019",
            }),
            driving_licence(Licence {
                state: "TS",
                number: "TS0920180034567",
                name: "ARJUN REDDY",
                relation: "VENKAT REDDY",
                dob: "12-06-2000",
                issued: "20-07-2018",
                valid_till: "11-06-2040",
                classes: "LMV, MCWG",
                authority: "RTA Hyderabad (Khairatabad), TS09",
                address: &address,
            }),
        ],
        purpose: s(
            "No issued documents (empty files/issued); e-Aadhaar available; Telugu local data",
        ),
        address,
    });

    // 7. A very long address.
    let address = india(Address {
        co: s("D/O Sardar Harbhajan Singh Sandhu"),
        house: s("Kothi No. 1187-B, Second Floor, Rear Portion with Separate Entrance"),
        street: s("Street No. 7, Guru Teg Bahadur Nagar Extension, Opposite Government Senior Secondary School (Girls)"),
        lm: s("Behind Gurdwara Sahib Shri Guru Singh Sabha, Near Punjab National Bank ATM and the Old Water Tank"),
        loc: s("Bhai Randhir Singh Nagar, Phase II Extension Colony, Pakhowal Road Side"),
        vtc: s("Ludhiana"),
        subdist: s("Ludhiana (West)"),
        dist: s("Ludhiana"),
        state: s("Punjab"),
        pc: s("141012"),
        po: s("Sarabha Nagar"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000006"),
        mobile: Some(s("9000000007")),
        has_account: true,
        pin: s(PIN),
        digilocker_id: dl_id(7),
        name: s("Gurpreet Kaur Sandhu"),
        dob: s("09-09-1988"),
        gender: s("F"),
        email: s("gurpreet.sandhu@example.com"),
        eaadhaar_available: true,
        eaadhaar_signer: EAadhaarSigner::Previous,
        local: Some(LocalData {
            lang: s("pa"),
            name: s("ਗੁਰਪ੍ਰੀਤ ਕੌਰ ਸੰਧੂ"),
            address: india(Address {
                co: s("ਪੁੱਤਰੀ: ਸਰਦਾਰ ਹਰਭਜਨ ਸਿੰਘ ਸੰਧੂ"),
                house: s("ਕੋਠੀ ਨੰ. 1187-ਬੀ, ਦੂਜੀ ਮੰਜ਼ਿਲ, ਪਿਛਲਾ ਹਿੱਸਾ"),
                street: s("ਗਲੀ ਨੰ. 7, ਗੁਰੂ ਤੇਗ ਬਹਾਦਰ ਨਗਰ ਐਕਸਟੈਂਸ਼ਨ"),
                lm: s("ਗੁਰਦੁਆਰਾ ਸਾਹਿਬ ਸ੍ਰੀ ਗੁਰੂ ਸਿੰਘ ਸਭਾ ਦੇ ਪਿੱਛੇ"),
                loc: s("ਭਾਈ ਰਣਧੀਰ ਸਿੰਘ ਨਗਰ, ਫੇਜ਼ II"),
                vtc: s("ਲੁਧਿਆਣਾ"),
                subdist: s("ਲੁਧਿਆਣਾ (ਪੱਛਮੀ)"),
                dist: s("ਲੁਧਿਆਣਾ"),
                state: s("ਪੰਜਾਬ"),
                pc: s("141012"),
                po: s("ਸਰਾਭਾ ਨਗਰ"),
                country: s("ਭਾਰਤ"),
            }),
        }),
        documents: vec![
            driving_licence(Licence {
                state: "PB",
                number: "PB1020070098765",
                name: "GURPREET KAUR SANDHU",
                relation: "HARBHAJAN SINGH SANDHU",
                dob: "09-09-1988",
                issued: "21-10-2007",
                valid_till: "08-09-2038",
                classes: "LMV, MCWG",
                authority: "RTO Ludhiana, PB10",
                address: &address,
            }),
            vehicle_registration(Vehicle {
                state: "PB",
                number: "PB10GK7777",
                owner: "GURPREET KAUR SANDHU",
                model: "Mahindra / Scorpio-N Z8",
                fuel: "Diesel",
                registered: "11-03-2023",
                chassis: "MA1NE2ZTZP6A12345",
                engine: "ZTP4A123456",
                authority: "RTO Ludhiana, PB10",
            }),
        ],
        pullable: Vec::new(),
        purpose: s("Very long address lines; Punjabi (Gurmukhi) local data; driving licence and vehicle RC (PDF only)"),
        address,
    });

    // 8. A single name and a partly missing address.
    let address = india(Address {
        vtc: s("Hunsur"),
        dist: s("Mysuru"),
        state: s("Karnataka"),
        pc: s("571105"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000007"),
        mobile: Some(s("9000000008")),
        has_account: true,
        pin: s(PIN),
        digilocker_id: dl_id(8),
        name: s("Lakshmi"),
        dob: s("01-01-1960"),
        gender: s("F"),
        email: String::new(),
        eaadhaar_available: true,
        eaadhaar_signer: EAadhaarSigner::Previous,
        local: Some(LocalData {
            lang: s("kn"),
            name: s("ಲಕ್ಷ್ಮಿ"),
            address: india(Address {
                vtc: s("ಹುಣಸೂರು"),
                dist: s("ಮೈಸೂರು"),
                state: s("ಕರ್ನಾಟಕ"),
                pc: s("571105"),
                // One space, as UIDAI sends a local country it does not
                // hold (the real e-Aadhaar shape keeps it: `country=" "`).
                country: s(" "),
                ..Address::default()
            }),
        }),
        documents: vec![pan(Pan {
            number: "EKLPL2468H",
            name: "LAKSHMI",
            father: "",
            dob: "01-01-1960",
            date: "30-06-2016",
        })],
        pullable: Vec::new(),
        purpose: s("Single-word name, partly missing address (only town, district, state, PIN code); Kannada local data"),
        address,
    });

    // 9. No DigiLocker account yet: signs up.
    let address = india(Address {
        co: s("D/O Gopalakrishnan Nair"),
        house: s("Kavyam, TC 45/1123"),
        street: s("Marine Drive"),
        loc: s("Ernakulam"),
        vtc: s("Kochi"),
        subdist: s("Kanayannur"),
        dist: s("Ernakulam"),
        state: s("Kerala"),
        pc: s("682031"),
        po: s("Ernakulam"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000008"),
        mobile: Some(s("9000000009")),
        has_account: false,
        pin: s(PIN),
        digilocker_id: dl_id(9),
        name: s("Kavya Nair"),
        dob: s("14-02-1996"),
        gender: s("F"),
        email: s("kavya.nair@example.com"),
        eaadhaar_available: true,
        eaadhaar_signer: EAadhaarSigner::Current,
        local: Some(LocalData {
            lang: s("ml"),
            name: s("കാവ്യ നായർ"),
            address: india(Address {
                co: s("മകൾ: ഗോപാലകൃഷ്ണൻ നായർ"),
                house: s("കാവ്യം, ടിസി 45/1123"),
                street: s("മറൈൻ ഡ്രൈവ്"),
                loc: s("എറണാകുളം"),
                vtc: s("കൊച്ചി"),
                subdist: s("കണയന്നൂർ"),
                dist: s("എറണാകുളം"),
                state: s("കേരളം"),
                pc: s("682031"),
                po: s("എറണാകുളം"),
                country: s("ഇന്ത്യ"),
                ..Address::default()
            }),
        }),
        documents: Vec::new(),
        pullable: vec![pan(Pan {
            number: "KLMPN6789C",
            name: "KAVYA NAIR",
            father: "GOPALAKRISHNAN NAIR",
            dob: "14-02-1996",
            date: "16-01-2021",
        })],
        purpose: s("No DigiLocker account: signs up with Aadhaar + OTP (dl_flow=signup), then has only e-Aadhaar"),
        address,
    });

    // 10. No account and no mobile linked to the Aadhaar: cannot sign up.
    let address = india(Address {
        co: s("S/O Late Hemanta Bora"),
        house: s("House No. 3"),
        loc: s("Na-Ali"),
        vtc: s("Jorhat"),
        dist: s("Jorhat"),
        state: s("Assam"),
        pc: s("785001"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000009"),
        mobile: None,
        has_account: false,
        pin: s(PIN),
        digilocker_id: dl_id(10),
        name: s("Bhupen Bora"),
        dob: s("08-09-1970"),
        gender: s("M"),
        email: String::new(),
        eaadhaar_available: true,
        eaadhaar_signer: EAadhaarSigner::Current,
        local: Some(LocalData {
            lang: s("as"),
            name: s("ভূপেন বৰা"),
            address: india(Address {
                co: s("পিতা: স্বৰ্গীয় হেমন্ত বৰা"),
                house: s("ঘৰ নং ৩"),
                loc: s("না-আলি"),
                vtc: s("যোৰহাট"),
                dist: s("যোৰহাট"),
                state: s("অসম"),
                pc: s("785001"),
                country: s("ভাৰত"),
                ..Address::default()
            }),
        }),
        documents: Vec::new(),
        pullable: Vec::new(),
        purpose: s("No account and no mobile linked to the Aadhaar: sign-up is refused (no OTP can be sent)"),
        address,
    });

    // 11. Gender T.
    let address = india(Address {
        co: s("C/O Sushila Kamble"),
        house: s("Flat 5, Sai Krupa Apartments"),
        street: s("Karve Road"),
        lm: s("Near Nal Stop"),
        loc: s("Erandwane"),
        vtc: s("Pune"),
        subdist: s("Pune City"),
        dist: s("Pune"),
        state: s("Maharashtra"),
        pc: s("411004"),
        po: s("Deccan Gymkhana"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000010"),
        mobile: Some(s("9000000011")),
        has_account: true,
        pin: s(PIN),
        digilocker_id: dl_id(11),
        name: s("Aruna Kamble"),
        dob: s("17-07-1990"),
        gender: s("T"),
        email: s("aruna.kamble@example.com"),
        eaadhaar_available: true,
        eaadhaar_signer: EAadhaarSigner::Previous,
        local: Some(LocalData {
            lang: s("mr"),
            name: s("अरुणा कांबळे"),
            address: india(Address {
                co: s("द्वारा: सुशीला कांबळे"),
                house: s("फ्लॅट 5, साई कृपा अपार्टमेंट्स"),
                street: s("कर्वे रोड"),
                lm: s("नळ स्टॉप जवळ"),
                loc: s("एरंडवणे"),
                vtc: s("पुणे"),
                subdist: s("पुणे शहर"),
                dist: s("पुणे"),
                state: s("महाराष्ट्र"),
                pc: s("411004"),
                po: s("डेक्कन जिमखाना"),
                country: s("भारत"),
            }),
        }),
        documents: vec![
            pan(Pan {
                number: "FGHPK1357T",
                name: "ARUNA KAMBLE",
                father: "RAMDAS KAMBLE",
                dob: "17-07-1990",
                date: "05-03-2020",
            }),
            scanned_certificate(Scan {
                doctype: "SSCPC",
                roll: "1187654",
                year: "2006",
                name: "ARUNA KAMBLE",
                father: "RAMDAS KAMBLE",
                school: "Kendriya Vidyalaya, Ganeshkhind, Pune",
                date: "29-05-2006",
                mime: "image/jpeg",
            }),
        ],
        pullable: Vec::new(),
        purpose: s(
            "Gender T; Marathi local data; PAN; class X passing certificate as a scan (image/jpeg)",
        ),
        address,
    });

    // 12. Many documents.
    let address = india(Address {
        co: s("S/O Manubhai Patel"),
        house: s("B-402, Shivalik Residency"),
        street: s("Satellite Road"),
        lm: s("Near Jodhpur Cross Roads"),
        loc: s("Satellite"),
        vtc: s("Ahmedabad"),
        subdist: s("Vejalpur"),
        dist: s("Ahmedabad"),
        state: s("Gujarat"),
        pc: s("380015"),
        po: s("Satellite"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000011"),
        mobile: Some(s("9000000012")),
        has_account: true,
        pin: s(PIN),
        digilocker_id: dl_id(12),
        name: s("Rajesh Manubhai Patel"),
        dob: s("25-12-1965"),
        gender: s("M"),
        email: s("rajesh.patel@example.com"),
        eaadhaar_available: true,
        eaadhaar_signer: EAadhaarSigner::Current,
        local: Some(LocalData {
            lang: s("gu"),
            name: s("રાજેશ મનુભાઈ પટેલ"),
            address: india(Address {
                co: s("પુત્ર: મનુભાઈ પટેલ"),
                house: s("બી-402, શિવાલિક રેસિડેન્સી"),
                street: s("સેટેલાઇટ રોડ"),
                lm: s("જોધપુર ચાર રસ્તા પાસે"),
                loc: s("સેટેલાઇટ"),
                vtc: s("અમદાવાદ"),
                subdist: s("વેજલપુર"),
                dist: s("અમદાવાદ"),
                state: s("ગુજરાત"),
                pc: s("380015"),
                po: s("સેટેલાઇટ"),
                country: s("ભારત"),
            }),
        }),
        documents: vec![
            pan(Pan {
                number: "AGKPP8642R",
                name: "RAJESH MANUBHAI PATEL",
                father: "MANUBHAI PATEL",
                dob: "25-12-1965",
                date: "14-08-1998",
            }),
            driving_licence(Licence {
                state: "GJ",
                number: "GJ0119870054321",
                name: "RAJESH MANUBHAI PATEL",
                relation: "MANUBHAI PATEL",
                dob: "25-12-1965",
                issued: "02-02-1987",
                valid_till: "24-12-2030",
                classes: "LMV, MCWG, TRANS",
                authority: "RTO Ahmedabad, GJ01",
                address: &address,
            }),
            vehicle_registration(Vehicle {
                state: "GJ",
                number: "GJ01RP4321",
                owner: "RAJESH MANUBHAI PATEL",
                model: "Maruti Suzuki / Swift VXI",
                fuel: "Petrol",
                registered: "18-10-2018",
                chassis: "MA3EWDE1S00654321",
                engine: "K12MN1234567",
                authority: "RTO Ahmedabad, GJ01",
            }),
            marksheet(Marksheet {
                board: Board::State("GJ"),
                doctype: "SSCER",
                roll: "B123456",
                year: "1981",
                name: "PATEL RAJESH MANUBHAI",
                mother: "SAVITABEN PATEL",
                father: "MANUBHAI PATEL",
                school: "Sheth C. N. Vidyalaya, Ahmedabad",
                date: "10-06-1981",
                marks: &[
                    ("Gujarati", "071"),
                    ("English", "064"),
                    ("Mathematics", "088"),
                    ("Science", "079"),
                    ("Social Science", "070"),
                ],
            }),
            marksheet(Marksheet {
                board: Board::State("GJ"),
                doctype: "HSCER",
                roll: "C654321",
                year: "1983",
                name: "PATEL RAJESH MANUBHAI",
                mother: "SAVITABEN PATEL",
                father: "MANUBHAI PATEL",
                school: "Sheth C. N. Vidyalaya, Ahmedabad",
                date: "15-06-1983",
                marks: &[
                    ("English", "061"),
                    ("Accountancy", "083"),
                    ("Economics", "077"),
                    ("Statistics", "085"),
                    ("Organisation of Commerce", "074"),
                ],
            }),
            pf_passbook(Passbook {
                ag_tripura: false,
                account: "GJAHD00456780000098765",
                member: "RAJESH MANUBHAI PATEL",
                establishment: "Arvind Textiles Ltd.",
                closing: "18,42,915.00",
                date: "01-04-2025",
            }),
        ],
        pullable: Vec::new(),
        purpose: s("Many documents: PAN, driving licence, vehicle RC, class X and XII mark sheets, EPFO passbook; Gujarati local data"),
        address,
    });

    // 13. Characters that must be escaped in XML and HTML.
    let address = india(Address {
        co: s("D/O Anthony D'Souza"),
        house: s("Flat 3 & 4, \"Sea View\" <Annexe>"),
        street: s("Rua de Ourém"),
        lm: s("Opp. St. Sebastian Chapel"),
        loc: s("Fontainhas"),
        vtc: s("Panaji"),
        subdist: s("Tiswadi"),
        dist: s("North Goa"),
        state: s("Goa"),
        pc: s("403001"),
        po: s("Panaji"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000012"),
        mobile: Some(s("9000000013")),
        has_account: true,
        pin: s(PIN),
        digilocker_id: dl_id(13),
        name: s("Maria D'Souza"),
        dob: s("03-12-1987"),
        gender: s("F"),
        email: s("maria.dsouza@example.com"),
        eaadhaar_available: true,
        eaadhaar_signer: EAadhaarSigner::Current,
        local: Some(LocalData {
            lang: s("kok"),
            name: s("मारिया डिसोझा"),
            address: india(Address {
                co: s("धुव: अँथनी डिसोझा"),
                house: s("फ्लॅट 3 आनी 4, \"सी व्ह्यू\""),
                street: s("रुआ द ओरें"),
                loc: s("फोंतेन्हास"),
                vtc: s("पणजी"),
                subdist: s("तिसवाडी"),
                dist: s("उत्तर गोंय"),
                state: s("गोंय"),
                pc: s("403001"),
                po: s("पणजी"),
                country: s("भारत"),
                ..Address::default()
            }),
        }),
        documents: vec![pan(Pan {
            number: "HJKPD9753S",
            name: "MARIA D'SOUZA",
            father: "ANTHONY D'SOUZA",
            dob: "03-12-1987",
            date: "21-07-2011",
        })],
        pullable: Vec::new(),
        purpose: s("Apostrophe, ampersand, quotes and angle brackets in name and address (escaping); Konkani local data"),
        address,
    });

    // 14. The Accountants General, Tripura passbook of CONTRACT.md.
    let address = india(Address {
        co: s("S/O Nirmal Debbarma"),
        house: s("Quarter No. C-12"),
        street: s("Akhaura Road"),
        loc: s("Krishnanagar"),
        vtc: s("Agartala"),
        subdist: s("Sadar"),
        dist: s("West Tripura"),
        state: s("Tripura"),
        pc: s("799001"),
        po: s("Agartala"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000013"),
        mobile: Some(s("9000000014")),
        has_account: true,
        pin: s(PIN),
        digilocker_id: dl_id(14),
        name: s("Debashish Debbarma"),
        dob: s("11-04-1978"),
        gender: s("M"),
        email: s("debashish.debbarma@example.com"),
        eaadhaar_available: true,
        eaadhaar_signer: EAadhaarSigner::Previous,
        local: Some(LocalData {
            lang: s("bn"),
            name: s("দেবাশিস দেববর্মা"),
            address: india(Address {
                co: s("পিতা: নির্মল দেববর্মা"),
                house: s("কোয়ার্টার নং সি-১২"),
                street: s("আখাউড়া রোড"),
                loc: s("কৃষ্ণনগর"),
                vtc: s("আগরতলা"),
                subdist: s("সদর"),
                dist: s("পশ্চিম ত্রিপুরা"),
                state: s("ত্রিপুরা"),
                pc: s("799001"),
                po: s("আগরতলা"),
                country: s("ভারত"),
                ..Address::default()
            }),
        }),
        documents: vec![
            pf_passbook(Passbook {
                ag_tripura: true,
                account: "98432234234",
                member: "DEBASHISH DEBBARMA",
                establishment: "Education (School) Department, Government of Tripura",
                closing: "9,76,540.00",
                date: "05-04-2025",
            }),
            pan(Pan {
                number: "JKLPD2468D",
                name: "DEBASHISH DEBBARMA",
                father: "NIRMAL DEBBARMA",
                dob: "11-04-1978",
                date: "09-01-2006",
            }),
        ],
        pullable: Vec::new(),
        purpose: s("Government employee: GPF passbook (PRFND) from Accountants General, Tripura (org id 002317), AC_NO 98432234234; PAN"),
        address,
    });

    // 15. An e-Aadhaar signed by a certificate that has expired since.
    let address = india(Address {
        co: s("S/O Govind Ballabh Joshi"),
        house: s("House No. 7"),
        street: s("Mall Road"),
        loc: s("Tallital"),
        vtc: s("Nainital"),
        subdist: s("Nainital"),
        dist: s("Nainital"),
        state: s("Uttarakhand"),
        pc: s("263002"),
        po: s("Tallital"),
        ..Address::default()
    });
    out.push(Citizen {
        aadhaar: aadhaar("99990000014"),
        mobile: Some(s("9000000015")),
        has_account: true,
        pin: s(PIN),
        digilocker_id: dl_id(15),
        name: s("Harish Chandra Joshi"),
        dob: s("23-03-1971"),
        gender: s("M"),
        email: s("harish.joshi@example.com"),
        eaadhaar_available: true,
        eaadhaar_signer: EAadhaarSigner::Expired,
        local: Some(LocalData {
            lang: s("hi"),
            name: s("हरीश चन्द्र जोशी"),
            address: india(Address {
                co: s("पुत्र: गोविन्द बल्लभ जोशी"),
                house: s("मकान नं. 7"),
                street: s("माल रोड"),
                loc: s("तल्लीताल"),
                vtc: s("नैनीताल"),
                subdist: s("नैनीताल"),
                dist: s("नैनीताल"),
                state: s("उत्तराखण्ड"),
                pc: s("263002"),
                po: s("तल्लीताल"),
                country: s("भारत"),
                ..Address::default()
            }),
        }),
        documents: vec![
            scanned_certificate(Scan {
                doctype: "HSCPC",
                roll: "2145678",
                year: "1989",
                name: "HARISH CHANDRA JOSHI",
                father: "GOVIND BALLABH JOSHI",
                school: "Birla Vidya Mandir, Nainital",
                date: "30-06-1989",
                mime: "image/png",
            }),
            scanned_certificate(Scan {
                doctype: "MIGCR",
                roll: "2145678",
                year: "1989",
                name: "HARISH CHANDRA JOSHI",
                father: "GOVIND BALLABH JOSHI",
                school: "Birla Vidya Mandir, Nainital",
                date: "30-06-1989",
                mime: "image/jpg",
            }),
        ],
        pullable: Vec::new(),
        purpose: s("e-Aadhaar signed about 700 days ago by a signing certificate that has expired since (EAadhaarSigner::Expired): verifies at its signing time; refused by an age limit under 700 days; class XII passing and migration certificates as scans (image/png, image/jpg)"),
        address,
    });

    out
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
                // In the doc type's formats, but for scanned certificates.
                if !d.mime[0].starts_with("image/") {
                    let formats: Vec<&str> = doctype.map(|t| t.mime.to_vec()).unwrap_or_default();
                    assert_eq!(d.mime, formats, "{}", d.uri);
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
