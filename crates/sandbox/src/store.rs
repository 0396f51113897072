//! The sandbox's in-memory state: registered apps, citizens' accounts,
//! journeys in progress, authorization codes, consent grants and tokens.
//!
//! Everything lives behind one mutex in [`crate::server::Shared`]; no handler
//! holds it across an `.await`.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::seed::{Citizen, IssuedDoc};
use crate::PartnerApp;

/// A fresh unguessable identifier: 256 random bits, URL-safe.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A citizen's account: the seeded data plus what changes at run time.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub citizen: Citizen,
    /// Documents pulled into the locker from issuers after seeding.
    pub pulled: Vec<IssuedDoc>,
    /// Token answers given for this account so far (picks their spelling,
    /// [`crate::spelling`]).
    pub token_answers: u64,
    /// `oauth2/1/user` answers given for this account so far.
    pub user_answers: u64,
}

impl Account {
    /// Every document in the locker: issued at seed time, then pulled.
    pub fn all_documents(&self) -> impl Iterator<Item = &IssuedDoc> {
        self.citizen.documents.iter().chain(self.pulled.iter())
    }

    pub fn document(&self, uri: &str) -> Option<&IssuedDoc> {
        self.all_documents().find(|d| d.uri == uri)
    }
}

/// Where a journey is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Asking for an Aadhaar or mobile number to sign in.
    SignIn,
    /// Asking for an Aadhaar number to sign up.
    SignUp,
    /// Asking for the OTP sent to the citizen's mobile.
    Otp { account: usize, signup: bool },
    /// Asking for the account's security PIN.
    Pin { account: usize },
    /// Asking a new account to choose its PIN.
    SetPin { account: usize },
    /// Asking which documents to share.
    Consent { account: usize, new_account: bool },
}

/// One consent journey in progress, created by `authorize`.
#[derive(Debug, Clone)]
pub(crate) struct Journey {
    pub client_id: String,
    pub app_name: String,
    pub redirect_uri: String,
    pub state: String,
    pub code_challenge: String,
    pub req_doctype: Vec<String>,
    pub purpose: Option<String>,
    pub consent_valid_till: Option<i64>,
    /// `verified_mobile` of a sign-up: the app vouches for it, no OTP needed.
    pub verified_mobile: Option<String>,
    pub step: Step,
    pub otp_failures: u8,
    pub pin_failures: u8,
    pub expires: Instant,
}

/// What a citizen agreed to share with one app, in one journey.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub client_id: String,
    pub account: usize,
    /// URIs of issued documents the citizen ticked.
    pub documents: BTreeSet<String>,
    /// Doc types the citizen agreed may be pulled from issuers later
    /// (`file.partners/...` in the scope).
    pub partners: Vec<String>,
    /// Whether the citizen ticked the e-Aadhaar.
    pub eaadhaar: bool,
    /// Documents pulled with this grant's tokens.
    pub pulled: BTreeSet<String>,
    pub consent_valid_till: i64,
    pub new_account: bool,
    pub reference_key: String,
    /// Set by revoke or by a replayed code: every token of the grant is dead.
    pub revoked: bool,
}

impl Grant {
    /// Whether this consent's tokens may list and fetch `doc`: the citizen
    /// ticked it, it was pulled with this consent, or the citizen agreed to
    /// share its doc type (`file.partners/<DOCTYPE>` in the scope), which
    /// covers a document of that type already in the locker (the answer to a
    /// pull that found it there, `uri_exists`).
    pub fn may_read(&self, doc: &IssuedDoc) -> bool {
        self.documents.contains(&doc.uri)
            || self.pulled.contains(&doc.uri)
            || self.partners.contains(&doc.doctype)
    }

    /// Whether this consent may pull documents of `doctype`: the citizen
    /// agreed to it being pulled (`file.partners/<DOCTYPE>`), or shared an
    /// issued document of that type (`issued/<uri>`).
    pub fn may_pull(&self, account: &Account, doctype: &str) -> bool {
        self.partners.iter().any(|d| d == doctype)
            || account
                .all_documents()
                .any(|d| d.doctype == doctype && self.documents.contains(&d.uri))
    }
}

/// Pull attempts a slow issuer answered with `pull_response_pending`.
#[derive(Debug, Clone)]
pub(crate) struct PendingPull {
    /// Attempts answered pending so far.
    pub answered: u32,
    /// When the first of them came; the count starts again after
    /// [`PENDING_WINDOW`].
    pub first: Instant,
}

/// How long a slow issuer remembers pull attempts.
pub(crate) const PENDING_WINDOW: Duration = Duration::from_secs(10 * 60);

/// An authorization code, waiting for the token call.
#[derive(Debug, Clone)]
pub(crate) struct CodeRecord {
    pub grant: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub expires: Instant,
    pub used: bool,
}

/// An access token.
#[derive(Debug, Clone)]
pub(crate) struct AccessRecord {
    pub grant: String,
    pub expires: Instant,
}

/// Everything, behind one lock.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub apps: HashMap<String, PartnerApp>,
    pub accounts: Vec<Account>,
    pub journeys: HashMap<String, Journey>,
    pub codes: HashMap<String, CodeRecord>,
    pub grants: HashMap<String, Grant>,
    pub access_tokens: HashMap<String, AccessRecord>,
    /// Refresh token -> grant id.
    pub refresh_tokens: HashMap<String, String>,
    /// (account, document URI) -> pending answers of a slow issuer.
    pub pending_pulls: HashMap<(usize, String), PendingPull>,
}

impl Store {
    /// Drop what has expired, so a long-running sandbox does not grow
    /// without bound. Codes are kept a while past expiry so a late replay is
    /// still recognised as one.
    pub fn sweep(&mut self, now: Instant) {
        self.journeys.retain(|_, j| j.expires > now);
        self.codes
            .retain(|_, c| c.expires + Duration::from_secs(600) > now);
        self.access_tokens.retain(|_, t| t.expires > now);
        self.pending_pulls
            .retain(|_, p| p.first + PENDING_WINDOW > now);
    }

    /// Find the account with this Aadhaar number or mobile number.
    pub fn find_account(&self, aadhaar: Option<&str>, mobile: Option<&str>) -> Option<usize> {
        self.accounts.iter().position(|a| {
            (aadhaar.is_some() && a.citizen.aadhaar.as_deref() == aadhaar)
                || (mobile.is_some() && a.citizen.mobile.as_deref() == mobile)
        })
    }
}
