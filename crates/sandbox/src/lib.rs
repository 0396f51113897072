//! A DigiLocker look-alike speaking the partner API wire protocol of
//! `spec/UPSTREAM.md`: OAuth 2.0 with PKCE, consent pages, resource APIs,
//! the signed catalogue calls and pull, seeded citizens and documents, an
//! e-Aadhaar XML signed by a sandbox CA, and fault switches.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod catalogue;
pub mod documents;
pub mod seed;
pub mod signing;
pub mod verhoeff;
