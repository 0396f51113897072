//! Who may use the console: the operator's password (compared in constant
//! time), a lockout after repeated wrong ones, sessions held in this
//! instance's memory behind an `HttpOnly`, `SameSite=Strict` cookie
//! (`Secure` when the console is reached over https), and the CSRF token
//! every form carries.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{header, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::crypto;

/// The session cookie.
pub const SESSION_COOKIE: &str = "console_session";
/// The login form's own CSRF cookie (a double-submitted token: there is no
/// session yet to hold one).
pub const LOGIN_COOKIE: &str = "console_login";
/// Wrong passwords in a row that lock the console.
pub const MAX_FAILURES: u32 = 5;
/// How long the lockout lasts.
pub const LOCKOUT_SECONDS: i64 = 15 * 60;
/// A session ends this long after sign-in, whatever happens.
const SESSION_LIFETIME: i64 = 12 * 3600;
/// A session ends after this long unused.
const SESSION_IDLE: i64 = 30 * 60;
/// Sessions held at once (the oldest go first).
const MAX_SESSIONS: usize = 64;

/// A signed-in operator.
#[derive(Debug, Clone)]
pub struct Session {
    /// Public: shown on the pages and recorded in audit events. Never the
    /// cookie's value.
    pub id: String,
    /// The token every form of this session carries.
    pub csrf: String,
    started_at: i64,
    last_seen: i64,
}

/// What a sign-in attempt came to.
#[derive(Debug)]
pub enum SignIn {
    /// The cookie's value for the new session, and the session.
    Ok(String, Session),
    Wrong,
    /// Locked out until then (Unix seconds); the password was not checked.
    Locked(i64),
}

#[derive(Debug, Default)]
struct Lockout {
    failures: u32,
    locked_until: i64,
}

/// The console's credential and sessions (one per admin listener).
#[derive(Debug)]
pub struct Guard {
    password_hash: [u8; 32],
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    lockout: Mutex<Lockout>,
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Whether two tokens are equal, in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    bool::from(digest(a).ct_eq(&digest(b)))
}

impl Guard {
    pub fn new(password: &SecretString) -> Guard {
        Guard {
            password_hash: digest(password.expose_secret()),
            sessions: Mutex::default(),
            lockout: Mutex::default(),
        }
    }

    /// Check a password (unless locked out); a session when it is right.
    pub fn sign_in(&self, password: &str, now: i64) -> SignIn {
        let mut lockout = self.lockout.lock().unwrap_or_else(|e| e.into_inner());
        if lockout.locked_until > now {
            return SignIn::Locked(lockout.locked_until);
        }
        // Hashed first: the comparison takes the same time whatever the length.
        if !bool::from(digest(password).ct_eq(&self.password_hash)) {
            lockout.failures += 1;
            if lockout.failures >= MAX_FAILURES {
                lockout.failures = 0;
                lockout.locked_until = now + LOCKOUT_SECONDS;
                tracing::warn!(
                    locked_for_seconds = LOCKOUT_SECONDS,
                    "operator console: {MAX_FAILURES} wrong passwords in a row; sign-in locked"
                );
                return SignIn::Locked(lockout.locked_until);
            }
            tracing::warn!(
                failures = lockout.failures,
                "operator console: wrong password"
            );
            return SignIn::Wrong;
        }
        *lockout = Lockout::default();
        drop(lockout);
        let cookie = crypto::random_token();
        let session = Session {
            id: format!("ses_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            csrf: crypto::random_token(),
            started_at: now,
            last_seen: now,
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, s| s.live(now));
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| *k)
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(digest(&cookie), session.clone());
        tracing::info!(session = %session.id, "operator console: signed in");
        SignIn::Ok(cookie, session)
    }

    /// The live session of the request's cookie, marked as used now.
    pub fn session(&self, headers: &HeaderMap, now: i64) -> Option<Session> {
        let cookie = cookie(headers, SESSION_COOKIE)?;
        let key = digest(&cookie);
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match sessions.get_mut(&key) {
            Some(s) if s.live(now) => {
                s.last_seen = now;
                Some(s.clone())
            }
            Some(_) => {
                sessions.remove(&key);
                None
            }
            None => None,
        }
    }

    /// End the request's session.
    pub fn sign_out(&self, headers: &HeaderMap) {
        if let Some(cookie) = cookie(headers, SESSION_COOKIE) {
            let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = sessions.remove(&digest(&cookie)) {
                tracing::info!(session = %s.id, "operator console: signed out");
            }
        }
    }
}

impl Session {
    fn live(&self, now: i64) -> bool {
        now < self.started_at + SESSION_LIFETIME && now < self.last_seen + SESSION_IDLE
    }
}

/// A cookie's value, if the browser sent it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (n, value) = pair.trim().split_once('=')?;
            (n == name && !value.is_empty()).then(|| value.to_owned())
        })
}

/// Whether the browser reached the console over https (through a
/// TLS-terminating proxy that says so): its cookies are then `Secure`.
/// Trusting the header can only make a cookie stricter.
pub fn over_https(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("proto=https"));
    forwarded_proto || forwarded
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure`
/// over https; `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// How long a session cookie is kept by the browser.
pub const SESSION_COOKIE_MAX_AGE: i64 = SESSION_LIFETIME;
