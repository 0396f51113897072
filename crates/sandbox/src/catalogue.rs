//! The catalogue of issuers, doc types and their parameters, generated
//! deterministically.
//!
//! Real DigiLocker lists a few thousand issuers and about ten thousand
//! (issuer, doc type) pairs, which is what makes crawling it slow. The sandbox
//! generates a catalogue of that size from fixed word lists with a seeded
//! pseudo-random generator, so the same sizes always give byte-for-byte the
//! same catalogue, and testers can rely on orgids and doc types across runs.
//!
//! A set of recognisable issuers is always present, with fixed org ids
//! (see the `ORGID_*` constants): the Income Tax Department (`PANCR`), a
//! transport department per state and union territory (`DRVLC`, `RVCER`),
//! CBSE and the state school boards (`SSCER`, `HSCER`), EPFO and
//! "Accountants General, Tripura" (`PRFND`, org id `002317`).

use std::borrow::Cow;
use std::collections::HashSet;

/// One parameter an issuer needs to pull a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamDef {
    /// Form field name sent to `pull/pulldocument`, e.g. `AC_NO`.
    pub paramname: Cow<'static, str>,
    /// Human label, e.g. `Account No./PPO No.`.
    pub label: Cow<'static, str>,
    /// An example value, shown as a placeholder.
    pub example: Cow<'static, str>,
    /// Allowed values, empty when free text. Static: the same few lists
    /// serve every one of the catalogue's thousands of parameters (as owned
    /// strings they were a third of an idle gateway's heap in sandbox mode).
    pub valuelist: &'static [&'static str],
}

/// A doc type issued by one issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocTypeDef {
    /// Five upper-case letters, e.g. `DRVLC`; unique within one issuer only.
    /// Borrowed, like the parameters' names and labels, from the static
    /// templates every catalogue is made of: owned, the thousands of copies
    /// were a few MiB of an embedded sandbox's heap.
    pub doctype: Cow<'static, str>,
    /// Human name, e.g. `Driving License`.
    pub description: Cow<'static, str>,
    /// What the issuer needs to find the record (1 to 3 parameters).
    pub params: Vec<ParamDef>,
    /// The formats the issuer delivers this doc type in, as the `mime` of
    /// `files/issued` spells them: always [`MIME_PDF`], plus [`MIME_XML`]
    /// where the issuer also sends signed certificate data (served on
    /// `oauth2/1/xml/{uri}`). The seeded documents of this doc type carry
    /// this list (but for a few scanned certificates, delivered as images).
    /// Not sent in `pull/doctype`: DigiLocker's answer has no formats.
    pub mime: &'static [&'static str],
}

/// An issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// Six-digit org id, unique in the catalogue, e.g. `002317`.
    pub orgid: String,
    /// Issuer id as it appears in document URIs, e.g. `in.gov.pan`; unique.
    pub issuerid: String,
    /// Display name, e.g. `Income Tax Department`.
    pub name: String,
    /// One line on what the issuer issues.
    pub description: String,
    /// Category as DigiLocker shows it, e.g. `Central Government`.
    pub categories: String,
    /// Doc types this issuer issues (at least one).
    pub doctypes: Vec<DocTypeDef>,
}

/// The whole catalogue.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// Every issuer: the recognisable ones first, then the generated ones.
    pub issuers: Vec<Issuer>,
}

/// The PDF format, as `files/issued` and `pull/doctype` spell it.
pub const MIME_PDF: &str = "application/pdf";
/// The XML certificate data format.
pub const MIME_XML: &str = "application/xml";

/// Issuers in the default catalogue (about what DigiLocker lists).
pub const DEFAULT_ISSUERS: usize = 2000;
/// (issuer, doc type) pairs in the default catalogue.
pub const DEFAULT_PAIRS: usize = 10_000;

/// Org id of the Income Tax Department (`in.gov.pan`, issues `PANCR`).
pub const ORGID_INCOME_TAX: &str = "000004";
/// Issuer id of the Income Tax Department.
pub const ISSUERID_INCOME_TAX: &str = "in.gov.pan";
/// Org id of the Central Board of Secondary Education (`in.cbse`).
pub const ORGID_CBSE: &str = "000026";
/// Issuer id of CBSE.
pub const ISSUERID_CBSE: &str = "in.cbse";
/// Org id of the Employees' Provident Fund Organisation (`PRFND`).
pub const ORGID_EPFO: &str = "000171";
/// Issuer id of EPFO.
pub const ISSUERID_EPFO: &str = "in.gov.epfindia";
/// Org id of "Accountants General, Tripura" (`PRFND`), as in CONTRACT.md.
pub const ORGID_AG_TRIPURA: &str = "002317";
/// Issuer id of "Accountants General, Tripura".
pub const ISSUERID_AG_TRIPURA: &str = "in.gov.agtripura";

/// States and union territories: vehicle registration code, name, and a few
/// cities (the first is the capital or largest). Codes double as the
/// lower-case part of issuer ids, e.g. `in.gov.ka.transport`.
const STATES: &[(&str, &str, &[&str])] = &[
    ("AN", "Andaman and Nicobar Islands", &["Port Blair"]),
    (
        "AP",
        "Andhra Pradesh",
        &[
            "Amaravati",
            "Visakhapatnam",
            "Vijayawada",
            "Guntur",
            "Tirupati",
        ],
    ),
    ("AR", "Arunachal Pradesh", &["Itanagar", "Pasighat"]),
    (
        "AS",
        "Assam",
        &["Guwahati", "Dibrugarh", "Silchar", "Jorhat"],
    ),
    (
        "BR",
        "Bihar",
        &["Patna", "Gaya", "Bhagalpur", "Muzaffarpur", "Darbhanga"],
    ),
    ("CH", "Chandigarh", &["Chandigarh"]),
    ("CG", "Chhattisgarh", &["Raipur", "Bilaspur", "Durg"]),
    (
        "DD",
        "Dadra and Nagar Haveli and Daman and Diu",
        &["Daman", "Silvassa"],
    ),
    ("DL", "Delhi", &["New Delhi", "Dwarka", "Rohini"]),
    ("GA", "Goa", &["Panaji", "Margao"]),
    (
        "GJ",
        "Gujarat",
        &["Gandhinagar", "Ahmedabad", "Surat", "Vadodara", "Rajkot"],
    ),
    (
        "HR",
        "Haryana",
        &["Gurugram", "Faridabad", "Panipat", "Hisar"],
    ),
    (
        "HP",
        "Himachal Pradesh",
        &["Shimla", "Dharamshala", "Mandi"],
    ),
    (
        "JK",
        "Jammu and Kashmir",
        &["Srinagar", "Jammu", "Anantnag"],
    ),
    ("JH", "Jharkhand", &["Ranchi", "Jamshedpur", "Dhanbad"]),
    (
        "KA",
        "Karnataka",
        &["Bengaluru", "Mysuru", "Hubballi", "Mangaluru", "Belagavi"],
    ),
    (
        "KL",
        "Kerala",
        &["Thiruvananthapuram", "Kochi", "Kozhikode", "Thrissur"],
    ),
    ("LA", "Ladakh", &["Leh", "Kargil"]),
    ("LD", "Lakshadweep", &["Kavaratti"]),
    (
        "MP",
        "Madhya Pradesh",
        &["Bhopal", "Indore", "Jabalpur", "Gwalior", "Ujjain"],
    ),
    (
        "MH",
        "Maharashtra",
        &[
            "Mumbai",
            "Pune",
            "Nagpur",
            "Nashik",
            "Aurangabad",
            "Kolhapur",
        ],
    ),
    ("MN", "Manipur", &["Imphal"]),
    ("ML", "Meghalaya", &["Shillong", "Tura"]),
    ("MZ", "Mizoram", &["Aizawl", "Lunglei"]),
    ("NL", "Nagaland", &["Kohima", "Dimapur"]),
    (
        "OD",
        "Odisha",
        &["Bhubaneswar", "Cuttack", "Rourkela", "Berhampur"],
    ),
    ("PY", "Puducherry", &["Puducherry", "Karaikal"]),
    (
        "PB",
        "Punjab",
        &["Mohali", "Ludhiana", "Amritsar", "Jalandhar", "Patiala"],
    ),
    (
        "RJ",
        "Rajasthan",
        &["Jaipur", "Jodhpur", "Udaipur", "Kota", "Ajmer", "Bikaner"],
    ),
    ("SK", "Sikkim", &["Gangtok", "Namchi"]),
    (
        "TN",
        "Tamil Nadu",
        &[
            "Chennai",
            "Coimbatore",
            "Madurai",
            "Tiruchirappalli",
            "Salem",
            "Tirunelveli",
        ],
    ),
    (
        "TS",
        "Telangana",
        &["Hyderabad", "Warangal", "Karimnagar", "Nizamabad"],
    ),
    ("TR", "Tripura", &["Agartala", "Udaipur (Tripura)"]),
    (
        "UP",
        "Uttar Pradesh",
        &[
            "Lucknow",
            "Kanpur",
            "Varanasi",
            "Agra",
            "Prayagraj",
            "Meerut",
            "Gorakhpur",
        ],
    ),
    ("UK", "Uttarakhand", &["Dehradun", "Haridwar", "Haldwani"]),
    (
        "WB",
        "West Bengal",
        &["Kolkata", "Howrah", "Durgapur", "Siliguri", "Asansol"],
    ),
];

/// Org id of the transport department of the state or union territory with
/// vehicle code `state_code` (e.g. `KA`), `None` for an unknown code.
pub fn transport_orgid(state_code: &str) -> Option<String> {
    STATES
        .iter()
        .position(|(code, _, _)| code.eq_ignore_ascii_case(state_code))
        .map(|i| format!("{:06}", 1101 + i))
}

/// Issuer id of a state transport department, e.g. `in.gov.ka.transport`.
pub fn transport_issuerid(state_code: &str) -> String {
    format!("in.gov.{}.transport", state_code.to_ascii_lowercase())
}

/// Org id of the state school board at `index` in `BOARDS`.
fn board_orgid(index: usize) -> String {
    format!("{:06}", 1201 + index)
}

/// The state school board of `state_code` (e.g. `TN`): org id, issuer id
/// and name. `None` for states whose schools are covered by CBSE alone.
pub fn school_board(state_code: &str) -> Option<(String, String, &'static str)> {
    let i = BOARDS
        .iter()
        .position(|(code, _)| code.eq_ignore_ascii_case(state_code))?;
    Some((board_orgid(i), board_issuerid(BOARDS[i].0), BOARDS[i].1))
}

fn board_issuerid(state_code: &str) -> String {
    format!("in.gov.{}.board", state_code.to_ascii_lowercase())
}

/// Name of the transport department of `state_code`, e.g.
/// `Transport Department, Government of Karnataka`.
pub fn transport_name(state_code: &str) -> Option<String> {
    STATES
        .iter()
        .find(|(code, _, _)| code.eq_ignore_ascii_case(state_code))
        .map(|(_, state, _)| format!("Transport Department, Government of {state}"))
}

/// A parameter template: name, label, example; `{ST}` in the example is
/// replaced with the state code.
struct P {
    name: &'static str,
    label: &'static str,
    example: &'static str,
    values: Values,
}

/// Allowed values of a parameter template.
#[derive(Clone, Copy)]
enum Values {
    Free,
    Years,
    Genders,
    Semesters,
}

const fn p(name: &'static str, label: &'static str, example: &'static str) -> P {
    P {
        name,
        label,
        example,
        values: Values::Free,
    }
}

const fn pv(name: &'static str, label: &'static str, example: &'static str, values: Values) -> P {
    P {
        name,
        label,
        example,
        values,
    }
}

/// A doc type template.
struct D {
    code: &'static str,
    description: &'static str,
    params: &'static [P],
    /// Whether the issuer sends XML certificate data besides the PDF.
    xml: bool,
}

/// A doc type delivered as PDF only.
const fn d(code: &'static str, description: &'static str, params: &'static [P]) -> D {
    D {
        code,
        description,
        params,
        xml: false,
    }
}

/// A doc type delivered as PDF and as signed XML certificate data: the
/// documents DigiLocker's issuers publish in machine-readable form (PAN,
/// driving licences, board and university results, e-District
/// certificates, civil registration).
const fn dx(code: &'static str, description: &'static str, params: &'static [P]) -> D {
    D {
        code,
        description,
        params,
        xml: true,
    }
}

const PAN: &[P] = &[
    p("panno", "PAN", "ABCDE1234F"),
    p("PANFullName", "Full Name as per PAN", "Ramesh Kumar Sharma"),
];
const DL: &[P] = &[
    p("dlno", "Driving Licence Number", "{ST}0120110012345"),
    p("DOB", "Date of Birth (DD-MM-YYYY)", "15-08-1990"),
];
const RC: &[P] = &[
    p("regno", "Vehicle Registration Number", "{ST}01AB1234"),
    p("chasisno", "Last 5 characters of Chassis Number", "45678"),
];
const ROLL_YEAR: &[P] = &[
    p("rroll", "Roll Number", "12345678"),
    pv("year", "Year of Passing", "2019", Values::Years),
];
const PF: &[P] = &[
    p("AC_NO", "Account No./PPO No.", "98432234234"),
    p("MemberName", "Name of the member", "Ramesh"),
];
const CERT_NO: &[P] = &[
    p("certno", "Certificate Number", "{ST}/2023/0045127"),
    p("applicantname", "Name of the Applicant", "Ramesh Kumar"),
];
const CERT_NO_ONLY: &[P] = &[p("certno", "Certificate Number", "{ST}/2022/0012873")];
const RATION: &[P] = &[p("rcno", "Ration Card Number", "{ST}0123456789")];
const JOB_CARD: &[P] = &[
    p("jobcardno", "Job Card Number", "{ST}-01-002-003-001/123"),
    p("headname", "Name of the Head of Household", "Sita Devi"),
];
const BIRTH: &[P] = &[
    p("regno", "Registration Number", "B-2019-0012345"),
    p("dob", "Date of Birth (DD-MM-YYYY)", "01-01-2019"),
    pv("gender", "Gender", "Female", Values::Genders),
];
const DEATH: &[P] = &[
    p("regno", "Registration Number", "D-2021-0004567"),
    p("dod", "Date of Death (DD-MM-YYYY)", "12-03-2021"),
];
const PROPERTY: &[P] = &[
    p("propertyid", "Property ID", "W12-0345-0067"),
    p("ownername", "Name of the Owner", "Ramesh Kumar"),
];
const LICENCE: &[P] = &[p("licenceno", "Licence Number", "TL/2022/004512")];
const UNI_ROLL: &[P] = &[
    p("rollno", "Roll Number", "19BCS1234"),
    pv("year", "Year of Passing", "2022", Values::Years),
];
const UNI_SEM: &[P] = &[
    p("enrolno", "Enrolment Number", "EN2019004512"),
    pv("semester", "Semester", "VI", Values::Semesters),
    pv("year", "Year of Examination", "2022", Values::Years),
];
const BANK: &[P] = &[
    p("acno", "Account Number", "50100012345678"),
    p("dob", "Date of Birth (DD-MM-YYYY)", "15-08-1990"),
];
const BANK_FY: &[P] = &[
    p("acno", "Account Number", "50100012345678"),
    pv("fy", "Financial Year", "2023", Values::Years),
];
const POLICY: &[P] = &[
    p("policyno", "Policy Number", "2345678901"),
    p(
        "dob",
        "Date of Birth of the Policy Holder (DD-MM-YYYY)",
        "15-08-1990",
    ),
];
const MEMBER_REG: &[P] = &[
    p("regno", "Registration Number", "{ST}/MED/2015/12345"),
    p("name", "Name of the Member", "Dr. Anita Rao"),
];
const ITI: &[P] = &[
    p("rollno", "Roll Number", "R190345001234"),
    pv("year", "Year of Passing", "2021", Values::Years),
];
const POLICE: &[P] = &[
    p("appno", "Application Number", "PCC{ST}2023004512"),
    p("dob", "Date of Birth (DD-MM-YYYY)", "15-08-1990"),
];

const DOC_PAN: &[D] = &[dx("PANCR", "PAN Verification Record", PAN)];
const DOC_TRANSPORT: &[D] = &[
    dx("DRVLC", "Driving License", DL),
    dx("RVCER", "Registration of Vehicles", RC),
];
const DOC_BOARD: &[D] = &[
    dx("SSCER", "Class X Marksheet", ROLL_YEAR),
    dx("HSCER", "Class XII Marksheet", ROLL_YEAR),
    dx("SSCPC", "Class X Passing Certificate", ROLL_YEAR),
    dx("HSCPC", "Class XII Passing Certificate", ROLL_YEAR),
    dx("MIGCR", "Migration Certificate", ROLL_YEAR),
];
const DOC_PF: &[D] = &[d("PRFND", "Provident Fund Member Passbook", PF)];

/// A kind of generated issuer: how its name and issuer id are formed, and
/// which doc types it may issue.
struct Kind {
    /// Name pattern: `{STATE}`, `{CITY}`, `{PERSON}` are filled in.
    name: &'static str,
    /// Issuer id pattern: `{st}` (state code, lower case) and `{slug}` (of
    /// the city or person) are filled in.
    id: &'static str,
    description: &'static str,
    category: &'static str,
    /// Whether the pattern mentions a city (else one per state).
    per_city: bool,
    /// Names filling `{PERSON}` (colleges named after someone, insurers'
    /// brand names); empty when the pattern has none.
    persons: &'static [&'static str],
    doctypes: &'static [D],
}

const REVENUE_DOCS: &[D] = &[
    dx("INCER", "Income Certificate", CERT_NO),
    dx("CASCT", "Caste Certificate", CERT_NO),
    dx("DOMCR", "Domicile Certificate", CERT_NO),
    d("RESCR", "Residence Certificate", CERT_NO),
    dx("OBCER", "OBC Certificate", CERT_NO),
    dx("EWSCR", "EWS Certificate", CERT_NO),
    d("SOLCR", "Solvency Certificate", CERT_NO),
    d("LNDRC", "Record of Rights (Land Record)", CERT_NO_ONLY),
    d("MRCER", "Marriage Certificate", CERT_NO),
    d("SRCTZ", "Senior Citizen Certificate", CERT_NO),
];
const SOCIAL_DOCS: &[D] = &[
    d("DISCT", "Disability Certificate", CERT_NO),
    d("WIDPN", "Widow Pension Sanction Order", CERT_NO_ONLY),
    d("OAPEN", "Old Age Pension Sanction Order", CERT_NO_ONLY),
    d("SCHSN", "Post-Matric Scholarship Sanction Letter", CERT_NO),
    d("SCSTC", "SC/ST Certificate", CERT_NO),
];
const FOOD_DOCS: &[D] = &[
    d("RATCR", "Ration Card", RATION),
    d("AAYCR", "Antyodaya Anna Yojana Card", RATION),
    d("BPLCR", "BPL Card", RATION),
];
const LABOUR_DOCS: &[D] = &[
    d("LBRCR", "Construction Worker Registration Card", CERT_NO),
    d("SHPEC", "Shops and Establishment Registration", LICENCE),
    d("UNEMP", "Employment Exchange Registration Card", CERT_NO),
];
const RURAL_DOCS: &[D] = &[
    d("JOBCD", "MGNREGA Job Card", JOB_CARD),
    d("PMAYS", "PMAY-G House Sanction Letter", CERT_NO_ONLY),
];
const POLICE_DOCS: &[D] = &[
    d("PCCER", "Police Clearance Certificate", POLICE),
    d("CHRCR", "Character Certificate", POLICE),
    d("FIRCP", "Copy of FIR", CERT_NO_ONLY),
];
const REGISTRATION_DOCS: &[D] = &[
    d("SALDE", "Registered Sale Deed", CERT_NO_ONLY),
    d("ENCMB", "Encumbrance Certificate", CERT_NO_ONLY),
    d("MRREG", "Marriage Registration Certificate", CERT_NO),
    d("RGLSE", "Registered Lease Deed", CERT_NO_ONLY),
];
const MUNICIPAL_DOCS: &[D] = &[
    dx("BRTCR", "Birth Certificate", BIRTH),
    dx("DTHCR", "Death Certificate", DEATH),
    d("PRTAX", "Property Tax Receipt", PROPERTY),
    d("TRLIC", "Trade Licence", LICENCE),
    d("WTCON", "Water Connection Certificate", PROPERTY),
    d("BLDPM", "Building Plan Approval", LICENCE),
    d("OCCCR", "Occupancy Certificate", LICENCE),
];
const UNIVERSITY_DOCS: &[D] = &[
    dx("DGCER", "Degree Certificate", UNI_ROLL),
    dx("PVCER", "Provisional Certificate", UNI_ROLL),
    d("MRKST", "Semester Marksheet", UNI_SEM),
    dx("CMKST", "Consolidated Marksheet", UNI_ROLL),
    d("MIGCR", "Migration Certificate", UNI_ROLL),
    d("TRCER", "Transcript", UNI_ROLL),
    dx("DPCER", "Diploma Certificate", UNI_ROLL),
    d("PGDCR", "Post Graduate Degree Certificate", UNI_ROLL),
    d("PHDCR", "Doctorate Degree Certificate", UNI_ROLL),
    d("BONCR", "Bonafide Certificate", UNI_ROLL),
];
const COLLEGE_DOCS: &[D] = &[
    d("MRKST", "Semester Marksheet", UNI_SEM),
    dx("CMKST", "Consolidated Marksheet", UNI_ROLL),
    d("TCCER", "Transfer Certificate", UNI_ROLL),
    d("BONCR", "Bonafide Certificate", UNI_ROLL),
    d("CONDC", "Conduct Certificate", UNI_ROLL),
    dx("PVCER", "Provisional Certificate", UNI_ROLL),
];
const TECH_BOARD_DOCS: &[D] = &[
    dx("DPCER", "Diploma Certificate", UNI_ROLL),
    dx("DPMRK", "Diploma Marksheet", UNI_SEM),
    d("MIGCR", "Migration Certificate", UNI_ROLL),
];
const ITI_DOCS: &[D] = &[
    dx("NTCCR", "National Trade Certificate", ITI),
    d("ITIMK", "ITI Marksheet", ITI),
    d("APPCR", "Apprenticeship Certificate", ITI),
];
const BANK_DOCS: &[D] = &[
    d("ACSTM", "Account Statement", BANK),
    d("FDRCT", "Fixed Deposit Receipt", BANK),
    d("INTCR", "Interest Certificate", BANK_FY),
    d("BLNCR", "Balance Certificate", BANK),
    d("LNSTM", "Loan Account Statement", BANK),
    d("NOCLN", "Loan Closure NOC", BANK),
    d("KCCRD", "Kisan Credit Card Statement", BANK),
];
const LIFE_DOCS: &[D] = &[
    d("LIPOL", "Life Insurance Policy", POLICY),
    d("PRMRC", "Premium Paid Certificate", POLICY),
    d("ULPST", "Unit Linked Policy Statement", POLICY),
    d("PNPOL", "Pension Plan Policy", POLICY),
];
const GENERAL_DOCS: &[D] = &[
    d("MOTPL", "Motor Insurance Policy", POLICY),
    d("HLTPL", "Health Insurance Policy", POLICY),
    d("TRVPL", "Travel Insurance Policy", POLICY),
    d("HMEPL", "Home Insurance Policy", POLICY),
    d("PAIPL", "Personal Accident Insurance Policy", POLICY),
    d("CRPPL", "Crop Insurance Policy", POLICY),
];
const COUNCIL_DOCS: &[D] = &[
    d("REGCR", "Registration Certificate", MEMBER_REG),
    d("RENCR", "Renewal of Registration", MEMBER_REG),
    d("GDSTD", "Good Standing Certificate", MEMBER_REG),
];
const HEALTH_DOCS: &[D] = &[
    d("DISCH", "Discharge Summary", CERT_NO),
    d("VACCR", "Vaccination Certificate", CERT_NO),
    d("MDFIT", "Medical Fitness Certificate", CERT_NO),
    d("DISCT", "Disability Certificate", CERT_NO),
];

const KINDS: &[Kind] = &[
    Kind {
        name: "Revenue Department, Government of {STATE}",
        id: "in.gov.{st}.revenue",
        description: "Certificates issued by tehsil and district revenue offices",
        category: "State Government",
        per_city: false,
        persons: &[],
        doctypes: REVENUE_DOCS,
    },
    Kind {
        name: "Social Justice and Empowerment Department, {STATE}",
        id: "in.gov.{st}.socialjustice",
        description: "Welfare certificates and sanction orders",
        category: "State Government",
        per_city: false,
        persons: &[],
        doctypes: SOCIAL_DOCS,
    },
    Kind {
        name: "Food, Civil Supplies and Consumer Affairs Department, {STATE}",
        id: "in.gov.{st}.food",
        description: "Ration cards under the National Food Security Act",
        category: "State Government",
        per_city: false,
        persons: &[],
        doctypes: FOOD_DOCS,
    },
    Kind {
        name: "Labour Department, Government of {STATE}",
        id: "in.gov.{st}.labour",
        description: "Worker registrations and establishment licences",
        category: "State Government",
        per_city: false,
        persons: &[],
        doctypes: LABOUR_DOCS,
    },
    Kind {
        name: "Rural Development Department, {STATE}",
        id: "in.gov.{st}.rural",
        description: "Rural employment and housing scheme documents",
        category: "State Government",
        per_city: false,
        persons: &[],
        doctypes: RURAL_DOCS,
    },
    Kind {
        name: "{STATE} Police",
        id: "in.gov.{st}.police",
        description: "Police verification and clearance certificates",
        category: "State Government",
        per_city: false,
        persons: &[],
        doctypes: POLICE_DOCS,
    },
    Kind {
        name: "Registration and Stamps Department, {STATE}",
        id: "in.gov.{st}.igrs",
        description: "Registered deeds and encumbrance certificates",
        category: "State Government",
        per_city: false,
        persons: &[],
        doctypes: REGISTRATION_DOCS,
    },
    Kind {
        name: "State Board of Technical Education, {STATE}",
        id: "in.gov.{st}.sbte",
        description: "Polytechnic diplomas and marksheets",
        category: "Education",
        per_city: false,
        persons: &[],
        doctypes: TECH_BOARD_DOCS,
    },
    Kind {
        name: "{STATE} Medical Council",
        id: "in.org.{st}.medicalcouncil",
        description: "Registration of medical practitioners",
        category: "Professional Council",
        per_city: false,
        persons: &[],
        doctypes: COUNCIL_DOCS,
    },
    Kind {
        name: "Bar Council of {STATE}",
        id: "in.org.{st}.barcouncil",
        description: "Enrolment of advocates",
        category: "Professional Council",
        per_city: false,
        persons: &[],
        doctypes: COUNCIL_DOCS,
    },
    Kind {
        name: "{STATE} Nursing Council",
        id: "in.org.{st}.nursingcouncil",
        description: "Registration of nurses and midwives",
        category: "Professional Council",
        per_city: false,
        persons: &[],
        doctypes: COUNCIL_DOCS,
    },
    Kind {
        name: "{STATE} State Pharmacy Council",
        id: "in.org.{st}.pharmacycouncil",
        description: "Registration of pharmacists",
        category: "Professional Council",
        per_city: false,
        persons: &[],
        doctypes: COUNCIL_DOCS,
    },
    Kind {
        name: "{STATE} Gramin Bank",
        id: "in.co.{st}grb",
        description: "Regional rural bank",
        category: "Banking",
        per_city: false,
        persons: &[],
        doctypes: BANK_DOCS,
    },
    Kind {
        name: "{CITY} Municipal Corporation",
        id: "in.gov.{st}.{slug}.mc",
        description: "Civil registration and municipal services",
        category: "Municipal",
        per_city: true,
        persons: &[],
        doctypes: MUNICIPAL_DOCS,
    },
    Kind {
        name: "University of {CITY}",
        id: "in.ac.uo{slug}",
        description: "State university",
        category: "Education",
        per_city: true,
        persons: &[],
        doctypes: UNIVERSITY_DOCS,
    },
    Kind {
        name: "Government College of Engineering, {CITY}",
        id: "in.ac.gce{slug}",
        description: "Government engineering college",
        category: "Education",
        per_city: true,
        persons: &[],
        doctypes: COLLEGE_DOCS,
    },
    Kind {
        name: "Government Arts and Science College, {CITY}",
        id: "in.ac.gasc{slug}",
        description: "Government degree college",
        category: "Education",
        per_city: true,
        persons: &[],
        doctypes: COLLEGE_DOCS,
    },
    Kind {
        name: "Government Medical College, {CITY}",
        id: "in.ac.gmc{slug}",
        description: "Government medical college",
        category: "Education",
        per_city: true,
        persons: &[],
        doctypes: COLLEGE_DOCS,
    },
    Kind {
        name: "Industrial Training Institute, {CITY}",
        id: "in.gov.{st}.iti{slug}",
        description: "Craftsmen training under the NCVT",
        category: "Skill Development",
        per_city: true,
        persons: &[],
        doctypes: ITI_DOCS,
    },
    Kind {
        name: "District Hospital, {CITY}",
        id: "in.gov.{st}.dh{slug}",
        description: "District hospital records",
        category: "Health",
        per_city: true,
        persons: &[],
        doctypes: HEALTH_DOCS,
    },
    Kind {
        name: "{CITY} District Central Co-operative Bank Ltd.",
        id: "in.co.{slug}dccb",
        description: "District central co-operative bank",
        category: "Banking",
        per_city: true,
        persons: &[],
        doctypes: BANK_DOCS,
    },
    Kind {
        name: "{CITY} Urban Co-operative Bank Ltd.",
        id: "in.co.{slug}ucb",
        description: "Urban co-operative bank",
        category: "Banking",
        per_city: true,
        persons: &[],
        doctypes: BANK_DOCS,
    },
    Kind {
        name: "{PERSON} College, {CITY}",
        id: "in.ac.{pslug}{slug}",
        description: "Affiliated degree college",
        category: "Education",
        per_city: true,
        persons: PERSONS,
        doctypes: COLLEGE_DOCS,
    },
    Kind {
        name: "{PERSON} Institute of Technology, {CITY}",
        id: "in.ac.{pslug}it{slug}",
        description: "Private engineering institute",
        category: "Education",
        per_city: true,
        persons: PERSONS,
        doctypes: COLLEGE_DOCS,
    },
    Kind {
        name: "{PERSON} Life Insurance Co. Ltd.",
        id: "in.co.{pslug}life",
        description: "Life insurer registered with IRDAI",
        category: "Insurance",
        per_city: false,
        persons: INSURERS,
        doctypes: LIFE_DOCS,
    },
    Kind {
        name: "{PERSON} General Insurance Co. Ltd.",
        id: "in.co.{pslug}general",
        description: "General insurer registered with IRDAI",
        category: "Insurance",
        per_city: false,
        persons: INSURERS,
        doctypes: GENERAL_DOCS,
    },
];

/// Names colleges and insurers are named after.
const PERSONS: &[&str] = &[
    "Sardar Patel",
    "Rajiv Gandhi",
    "Swami Vivekananda",
    "Dr. B. R. Ambedkar",
    "Rabindranath Tagore",
    "Maharani Lakshmibai",
    "Sir C. V. Raman",
    "Savitribai Phule",
    "Netaji Subhas",
    "Maulana Azad",
    "Rani Chennamma",
    "Sri Aurobindo",
    "Bhagat Singh",
    "Sarojini Naidu",
    "Kamaraj",
    "Chhatrapati Shivaji",
    "Guru Nanak",
    "Mahatma Jyotiba Phule",
    "Pandit Deendayal",
    "Lal Bahadur Shastri",
    "Sant Kabir",
    "Acharya Narendra Dev",
    "Visvesvaraya",
    "Homi Bhabha",
    "Kalpana Chawla",
    "Ishwar Chandra Vidyasagar",
    "Periyar",
    "Basaveshwara",
    "Sankardev",
    "Birsa Munda",
];

/// Brand names of the generated insurers.
const INSURERS: &[&str] = &[
    "Bharat Suraksha",
    "Navjeevan",
    "Sahyog",
    "Kalpataru",
    "Jeevan Jyoti",
    "Raksha Kavach",
    "Abhaya",
    "Sanjeevani",
    "Ujjwal",
    "Sarvodaya",
    "Dhruv",
    "Prakash",
    "Sagarmala",
    "Himalaya",
    "Vishwas",
    "Nirbhay",
    "Arogya Mitra",
    "Samriddhi",
];

/// State school boards, by state code (CBSE covers the rest).
const BOARDS: &[(&str, &str)] = &[
    ("AP", "Board of Secondary Education, Andhra Pradesh"),
    ("AS", "Board of Secondary Education, Assam"),
    ("BR", "Bihar School Examination Board"),
    ("CG", "Chhattisgarh Board of Secondary Education"),
    (
        "GA",
        "Goa Board of Secondary and Higher Secondary Education",
    ),
    (
        "GJ",
        "Gujarat Secondary and Higher Secondary Education Board",
    ),
    ("HR", "Board of School Education Haryana"),
    ("HP", "Himachal Pradesh Board of School Education"),
    ("JK", "Jammu and Kashmir Board of School Education"),
    ("JH", "Jharkhand Academic Council"),
    ("KA", "Karnataka School Examination and Assessment Board"),
    ("KL", "Kerala Board of Public Examinations"),
    ("MP", "Board of Secondary Education, Madhya Pradesh"),
    (
        "MH",
        "Maharashtra State Board of Secondary and Higher Secondary Education",
    ),
    ("MN", "Board of Secondary Education, Manipur"),
    ("ML", "Meghalaya Board of School Education"),
    ("MZ", "Mizoram Board of School Education"),
    ("NL", "Nagaland Board of School Education"),
    ("OD", "Board of Secondary Education, Odisha"),
    ("PB", "Punjab School Education Board"),
    ("RJ", "Board of Secondary Education, Rajasthan"),
    ("TN", "Directorate of Government Examinations, Tamil Nadu"),
    ("TS", "Board of Secondary Education, Telangana"),
    ("TR", "Tripura Board of Secondary Education"),
    (
        "UP",
        "Board of High School and Intermediate Education, Uttar Pradesh",
    ),
    ("UK", "Uttarakhand Board of School Education"),
    ("WB", "West Bengal Board of Secondary Education"),
];

/// SplitMix64: tiny, fast, and fully determined by its seed, which is all a
/// reproducible catalogue needs (this is not for anything secret).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`); the tiny modulo bias is irrelevant here.
    fn below(&mut self, n: usize) -> usize {
        // u64 -> usize: on 64-bit targets lossless; on 32-bit the remainder
        // is below `n` anyway.
        (self.next_u64() % n as u64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Passing years, newest first, back far enough for the seeded citizens'
/// oldest certificates (1981).
const YEARS: [&str; 51] = [
    "2025", "2024", "2023", "2022", "2021", "2020", "2019", "2018", "2017", "2016", "2015", "2014",
    "2013", "2012", "2011", "2010", "2009", "2008", "2007", "2006", "2005", "2004", "2003", "2002",
    "2001", "2000", "1999", "1998", "1997", "1996", "1995", "1994", "1993", "1992", "1991", "1990",
    "1989", "1988", "1987", "1986", "1985", "1984", "1983", "1982", "1981", "1980", "1979", "1978",
    "1977", "1976", "1975",
];
const GENDERS: [&str; 3] = ["Male", "Female", "Transgender"];
const SEMESTERS: [&str; 8] = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII"];

fn params(templates: &[P], state_code: &str) -> Vec<ParamDef> {
    templates
        .iter()
        .map(|t| ParamDef {
            paramname: Cow::Borrowed(t.name),
            label: Cow::Borrowed(t.label),
            example: if t.example.contains("{ST}") {
                Cow::Owned(t.example.replace("{ST}", state_code))
            } else {
                Cow::Borrowed(t.example)
            },
            valuelist: match t.values {
                Values::Free => &[],
                Values::Years => &YEARS,
                Values::Genders => &GENDERS,
                Values::Semesters => &SEMESTERS,
            },
        })
        .collect()
}

fn doctypes(templates: &[D], state_code: &str) -> Vec<DocTypeDef> {
    templates
        .iter()
        .map(|t| DocTypeDef {
            doctype: Cow::Borrowed(t.code),
            description: Cow::Borrowed(t.description),
            params: params(t.params, state_code),
            mime: if t.xml {
                &[MIME_PDF, MIME_XML]
            } else {
                &[MIME_PDF]
            },
        })
        .collect()
}

/// The issuers every catalogue has, whatever its size.
fn recognisable() -> Vec<Issuer> {
    let mut out = vec![
        Issuer {
            orgid: ORGID_INCOME_TAX.into(),
            issuerid: ISSUERID_INCOME_TAX.into(),
            name: "Income Tax Department".into(),
            description: "Permanent Account Number (PAN) records".into(),
            categories: "Central Government".into(),
            doctypes: doctypes(DOC_PAN, "DL"),
        },
        Issuer {
            orgid: ORGID_CBSE.into(),
            issuerid: ISSUERID_CBSE.into(),
            name: "Central Board of Secondary Education".into(),
            description: "Class X and XII marksheets and certificates".into(),
            categories: "Education".into(),
            doctypes: doctypes(DOC_BOARD, "DL"),
        },
        Issuer {
            orgid: ORGID_EPFO.into(),
            issuerid: ISSUERID_EPFO.into(),
            name: "Employees' Provident Fund Organisation".into(),
            description: "Provident fund member passbooks".into(),
            categories: "Central Government".into(),
            doctypes: doctypes(DOC_PF, "DL"),
        },
        Issuer {
            orgid: ORGID_AG_TRIPURA.into(),
            issuerid: ISSUERID_AG_TRIPURA.into(),
            name: "Accountants General, Tripura".into(),
            description: "GPF passbooks of Tripura government employees".into(),
            categories: "State Government".into(),
            doctypes: doctypes(DOC_PF, "TR"),
        },
    ];
    for (i, (code, state, _)) in STATES.iter().enumerate() {
        out.push(Issuer {
            orgid: format!("{:06}", 1101 + i),
            issuerid: transport_issuerid(code),
            name: format!("Transport Department, Government of {state}"),
            description: "Driving licences and vehicle registration certificates".into(),
            categories: "State Government".into(),
            doctypes: doctypes(DOC_TRANSPORT, code),
        });
    }
    for (i, (code, name)) in BOARDS.iter().enumerate() {
        out.push(Issuer {
            orgid: board_orgid(i),
            issuerid: board_issuerid(code),
            name: (*name).to_owned(),
            description: "Secondary and higher secondary examination results".into(),
            categories: "Education".into(),
            doctypes: doctypes(&DOC_BOARD[..2], code),
        });
    }
    out
}

/// One possible generated issuer before it is chosen: kind, state, city, person.
#[derive(Clone, Copy)]
struct Candidate {
    kind: usize,
    state: usize,
    city: usize,
    person: usize,
}

/// Every issuer the word lists can name, in two groups: issuers of a state,
/// city or brand first, then colleges named after a person in every city.
/// The second group is much larger, so it only tops up the first: otherwise
/// colleges would crowd out the departments, banks and insurers.
fn candidates() -> (Vec<Candidate>, Vec<Candidate>) {
    let mut plain = Vec::new();
    let mut colleges = Vec::new();
    for (k, kind) in KINDS.iter().enumerate() {
        let persons = kind.persons.len().max(1);
        for person in 0..persons {
            if !kind.persons.is_empty() && !kind.per_city {
                // Insurers are national: one per brand.
                plain.push(Candidate {
                    kind: k,
                    state: 0,
                    city: 0,
                    person,
                });
                continue;
            }
            let group = if kind.persons.is_empty() {
                &mut plain
            } else {
                &mut colleges
            };
            for (s, (_, _, cities)) in STATES.iter().enumerate() {
                let cities = if kind.per_city { cities.len() } else { 1 };
                for city in 0..cities {
                    group.push(Candidate {
                        kind: k,
                        state: s,
                        city,
                        person,
                    });
                }
            }
        }
    }
    (plain, colleges)
}

fn build(c: Candidate, orgid: String) -> Issuer {
    let kind = &KINDS[c.kind];
    let (code, state, cities) = STATES[c.state];
    let city = cities.get(c.city).copied().unwrap_or(state);
    let person = kind.persons.get(c.person).copied().unwrap_or_default();
    let name = kind
        .name
        .replace("{STATE}", state)
        .replace("{CITY}", city)
        .replace("{PERSON}", person);
    let issuerid = kind
        .id
        .replace("{st}", &code.to_ascii_lowercase())
        .replace("{slug}", &slug(city))
        .replace("{pslug}", &slug(person));
    Issuer {
        orgid,
        issuerid,
        name,
        description: kind.description.to_owned(),
        categories: kind.category.to_owned(),
        doctypes: doctypes(kind.doctypes, code),
    }
}

impl Catalogue {
    /// Generate about `issuers` issuers and `pairs` (issuer, doctype) pairs,
    /// deterministically, always including the recognisable ones.
    ///
    /// The result has exactly `issuers` issuers and `pairs` pairs whenever
    /// that is possible: at least the recognisable issuers (about 70, with
    /// about 140 pairs), at least one doc type per issuer, and no more
    /// issuers or doc types than the word lists can name (a few thousand
    /// issuers, about six doc types each). Outside those bounds the nearest
    /// possible size is produced. Same arguments, same catalogue.
    pub fn generate(issuers: usize, pairs: usize) -> Catalogue {
        let mut out = recognisable();
        let anchor_pairs: usize = out.iter().map(|i| i.doctypes.len()).sum();
        let extra_issuers = issuers.saturating_sub(out.len());
        let extra_pairs = pairs.saturating_sub(anchor_pairs);
        if extra_issuers == 0 {
            return Catalogue { issuers: out };
        }

        let seed = (issuers as u64).wrapping_mul(0x0100_0000_01B3) ^ (pairs as u64);
        let mut rng = SplitMix64(seed ^ 0xD161_70C4_E125_A4D0);

        let (mut pool, mut colleges) = candidates();
        rng.shuffle(&mut pool);
        rng.shuffle(&mut colleges);
        pool.extend(colleges);
        pool.truncate(extra_issuers);

        let mut used_orgids: HashSet<String> = out.iter().map(|i| i.orgid.clone()).collect();
        let mut used_ids: HashSet<String> = out.iter().map(|i| i.issuerid.clone()).collect();
        let mut generated = Vec::with_capacity(pool.len());
        for c in pool {
            // Org ids look like DigiLocker's: six digits, no visible pattern.
            let orgid = loop {
                let candidate = format!("{:06}", 3000 + rng.below(997_000));
                if used_orgids.insert(candidate.clone()) {
                    break candidate;
                }
            };
            let mut issuer = build(c, orgid);
            // Two cities can share a slug only across states, and the kinds'
            // id patterns keep the state in them, but stay safe regardless.
            let base = issuer.issuerid.clone();
            let mut n = 2;
            while !used_ids.insert(issuer.issuerid.clone()) {
                issuer.issuerid = format!("{base}{n}");
                n += 1;
            }
            generated.push(issuer);
        }

        // How many doc types each generated issuer keeps: an even share,
        // then shuffled around by moving one doc type at a time between two
        // issuers, which keeps the total exact while giving realistic variety.
        let caps: Vec<usize> = generated.iter().map(|i| i.doctypes.len()).collect();
        let total_cap: usize = caps.iter().sum();
        let want = extra_pairs.clamp(generated.len(), total_cap);
        let mut counts = vec![1usize; generated.len()];
        let mut remaining = want - generated.len();
        // Fill round-robin up to each cap.
        while remaining > 0 {
            let mut progressed = false;
            for (count, cap) in counts.iter_mut().zip(&caps) {
                if remaining == 0 {
                    break;
                }
                if *count < *cap {
                    *count += 1;
                    remaining -= 1;
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        for _ in 0..counts.len() * 2 {
            let from = rng.below(counts.len());
            let to = rng.below(counts.len());
            if from != to && counts[from] > 1 && counts[to] < caps[to] {
                counts[from] -= 1;
                counts[to] += 1;
            }
        }
        for (issuer, count) in generated.iter_mut().zip(counts) {
            // Keep a random subset, in the template's order.
            let mut idx: Vec<usize> = (0..issuer.doctypes.len()).collect();
            rng.shuffle(&mut idx);
            idx.truncate(count);
            idx.sort_unstable();
            let all = std::mem::take(&mut issuer.doctypes);
            issuer.doctypes = all
                .into_iter()
                .enumerate()
                .filter(|(i, _)| idx.binary_search(i).is_ok())
                .map(|(_, d)| d)
                .collect();
        }
        out.extend(generated);
        Catalogue { issuers: out }
    }

    /// The default-size catalogue (`DEFAULT_ISSUERS`, `DEFAULT_PAIRS`).
    pub fn default_size() -> Catalogue {
        Catalogue::generate(DEFAULT_ISSUERS, DEFAULT_PAIRS)
    }

    /// Number of (issuer, doc type) pairs.
    pub fn pair_count(&self) -> usize {
        self.issuers.iter().map(|i| i.doctypes.len()).sum()
    }

    /// Look up an issuer by org id.
    pub fn issuer(&self, orgid: &str) -> Option<&Issuer> {
        self.issuers.iter().find(|i| i.orgid == orgid)
    }

    /// Look up an issuer by issuer id (the prefix of document URIs).
    pub fn issuer_by_issuerid(&self, issuerid: &str) -> Option<&Issuer> {
        self.issuers.iter().find(|i| i.issuerid == issuerid)
    }

    /// Look up a doc type of an issuer.
    pub fn doctype(&self, orgid: &str, doctype: &str) -> Option<&DocTypeDef> {
        self.issuer(orgid)?
            .doctypes
            .iter()
            .find(|d| d.doctype == doctype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn fingerprint(c: &Catalogue) -> Vec<String> {
        c.issuers
            .iter()
            .map(|i| {
                let docs: Vec<&str> = i.doctypes.iter().map(|d| d.doctype.as_ref()).collect();
                format!("{}|{}|{}|{}", i.orgid, i.issuerid, i.name, docs.join(","))
            })
            .collect()
    }

    #[test]
    fn passing_years_run_from_this_year_back_to_1975() {
        let want: Vec<String> = (1975..=2025).rev().map(|y: u32| y.to_string()).collect();
        assert_eq!(YEARS.to_vec(), want);
    }

    #[test]
    fn default_size_is_exact_fast_and_deterministic() {
        let start = Instant::now();
        let a = Catalogue::default_size();
        let elapsed = start.elapsed();
        assert_eq!(a.issuers.len(), DEFAULT_ISSUERS);
        assert_eq!(a.pair_count(), DEFAULT_PAIRS);
        // Debug builds are several times slower than release; a second
        // leaves room for a loaded CI machine.
        assert!(
            elapsed < Duration::from_secs(1),
            "generation took {elapsed:?}"
        );
        let b = Catalogue::generate(DEFAULT_ISSUERS, DEFAULT_PAIRS);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        // Parameters too, not just names.
        assert_eq!(
            a.issuers.last().map(|i| i.doctypes.clone()),
            b.issuers.last().map(|i| i.doctypes.clone())
        );
    }

    #[test]
    fn other_sizes_are_honoured() {
        let c = Catalogue::generate(300, 1200);
        assert_eq!(c.issuers.len(), 300);
        assert_eq!(c.pair_count(), 1200);
        // Too small: only the recognisable issuers.
        let tiny = Catalogue::generate(0, 0);
        assert_eq!(tiny.issuers.len(), recognisable().len());
        assert!(tiny.issuer(ORGID_AG_TRIPURA).is_some());
    }

    #[test]
    fn ids_are_unique_and_every_doctype_has_one_to_three_params() {
        let c = Catalogue::default_size();
        let orgids: HashSet<&str> = c.issuers.iter().map(|i| i.orgid.as_str()).collect();
        assert_eq!(orgids.len(), c.issuers.len());
        let ids: HashSet<&str> = c.issuers.iter().map(|i| i.issuerid.as_str()).collect();
        assert_eq!(ids.len(), c.issuers.len());
        let names: HashSet<&str> = c.issuers.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names.len(), c.issuers.len());
        for i in &c.issuers {
            assert_eq!(i.orgid.len(), 6, "{}", i.orgid);
            assert!(i.orgid.bytes().all(|b| b.is_ascii_digit()));
            assert!(!i.doctypes.is_empty(), "{} has no doc types", i.name);
            let codes: HashSet<&str> = i.doctypes.iter().map(|d| d.doctype.as_ref()).collect();
            assert_eq!(
                codes.len(),
                i.doctypes.len(),
                "{} repeats a doc type",
                i.name
            );
            for d in &i.doctypes {
                assert_eq!(d.doctype.len(), 5);
                assert!(d.doctype.bytes().all(|b| b.is_ascii_uppercase()));
                assert!((1..=3).contains(&d.params.len()), "{}", d.doctype);
                for p in &d.params {
                    assert!(!p.label.is_empty() && !p.example.is_empty());
                    assert!(p.valuelist.is_empty() || p.valuelist.contains(&p.example.as_ref()));
                }
            }
        }
    }

    #[test]
    fn recognisable_issuers_are_present() {
        let c = Catalogue::default_size();
        let pan = c.doctype(ORGID_INCOME_TAX, "PANCR");
        assert!(pan.is_some());
        assert_eq!(
            c.issuer(ORGID_INCOME_TAX).map(|i| i.issuerid.as_str()),
            Some("in.gov.pan")
        );

        let ag = c.issuer(ORGID_AG_TRIPURA);
        assert_eq!(
            ag.map(|i| i.name.as_str()),
            Some("Accountants General, Tripura")
        );
        let prfnd = c.doctype(ORGID_AG_TRIPURA, "PRFND");
        let params: Vec<(&str, &str)> = prfnd
            .map(|d| {
                d.params
                    .iter()
                    .map(|p| (p.paramname.as_ref(), p.label.as_ref()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            params,
            vec![
                ("AC_NO", "Account No./PPO No."),
                ("MemberName", "Name of the member")
            ]
        );
        assert_eq!(
            prfnd.map(|d| d.description.as_ref()),
            Some("Provident Fund Member Passbook")
        );
        assert!(c.doctype(ORGID_EPFO, "PRFND").is_some());
        assert!(c.doctype(ORGID_CBSE, "SSCER").is_some());
        assert!(c.doctype(ORGID_CBSE, "HSCER").is_some());

        // Every state and UT has a transport department issuing DRVLC and RVCER.
        let issuing_dl = c
            .issuers
            .iter()
            .filter(|i| i.doctypes.iter().any(|d| d.doctype == "DRVLC"))
            .count();
        assert_eq!(issuing_dl, STATES.len());
        let ka = transport_orgid("KA").unwrap_or_default();
        assert!(c.doctype(&ka, "DRVLC").is_some());
        assert!(c.doctype(&ka, "RVCER").is_some());
        assert_eq!(
            c.issuer(&ka).map(|i| i.issuerid.as_str()),
            Some("in.gov.ka.transport")
        );
        assert_eq!(
            c.issuer(&ka).map(|i| i.name.as_str()),
            Some("Transport Department, Government of Karnataka")
        );
    }

    #[test]
    fn formats_say_which_doc_types_come_as_xml_and_match_the_seeded_documents() {
        let c = Catalogue::default_size();
        let mime = |orgid: &str, doctype: &str| {
            c.doctype(orgid, doctype)
                .map(|d| d.mime.iter().map(|m| m.to_string()).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let both = vec![MIME_PDF.to_owned(), MIME_XML.to_owned()];
        let pdf = vec![MIME_PDF.to_owned()];
        assert_eq!(mime(ORGID_INCOME_TAX, "PANCR"), both);
        assert_eq!(mime(ORGID_CBSE, "SSCER"), both);
        assert_eq!(mime(ORGID_CBSE, "HSCER"), both);
        let (tn_board, _, _) = school_board("TN").unwrap_or_default();
        assert_eq!(mime(&tn_board, "HSCER"), both);
        let ka = transport_orgid("KA").unwrap_or_default();
        assert_eq!(mime(&ka, "DRVLC"), both);
        assert_eq!(mime(&ka, "RVCER"), both);
        assert_eq!(mime(ORGID_AG_TRIPURA, "PRFND"), pdf);

        // Every doc type comes as PDF; some, not all, also as XML.
        let all: Vec<&DocTypeDef> = c.issuers.iter().flat_map(|i| &i.doctypes).collect();
        assert!(all
            .iter()
            .all(|d| d.mime.first().copied() == Some(MIME_PDF)));
        let with_xml = all.iter().filter(|d| d.mime.len() == 2).count();
        assert!(
            with_xml > all.len() / 10 && with_xml < all.len(),
            "{with_xml} of {}",
            all.len()
        );

        // A seeded document comes in exactly the formats its issuer offers,
        // but for a few scans, served as images, and a vehicle registration
        // without certificate data (PDF only).
        for citizen in crate::seed::all() {
            for doc in citizen
                .documents
                .iter()
                .chain(&citizen.pullable)
                .filter(|d| !d.mime[0].starts_with("image/"))
                .filter(|d| !(d.doctype == "RVCER" && d.mime == [MIME_PDF]))
            {
                assert_eq!(
                    doc.mime,
                    mime(&doc.orgid, &doc.doctype),
                    "{} of {}",
                    doc.uri,
                    citizen.name
                );
            }
        }
    }
}
