//! The limits this crate enforces on untrusted e-Aadhaar XML, and the time rule's bounds.
//! How old a document may be is not a limit of this crate but the caller's policy:
//! [`VerifyOptions::max_age`](crate::VerifyOptions::max_age).
//!
//! A genuine DigiLocker e-Aadhaar is 15-18 KB (about half of it the photo, most of the rest
//! the four certificates in `KeyInfo`), about 30 elements, at most 7 levels deep, with
//! short attributes. The limits leave a wide margin above that
//! and stop inputs built to exhaust memory or CPU well before they can.

use time::Duration;

/// Largest accepted document, in bytes (2 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;

/// Largest accepted photo (`Pht`), in decoded bytes (1 MiB).
pub const MAX_PHOTO_BYTES: usize = 1024 * 1024;

/// Deepest accepted element nesting (the signature's deepest element is at level 7).
pub const MAX_DEPTH: u32 = 32;

/// Largest accepted attribute value, in bytes (4 KiB; real values are under 300 bytes).
pub const MAX_ATTRIBUTE_BYTES: usize = 4 * 1024;

/// Most elements accepted in one document (a real one has about 30).
pub const MAX_ELEMENTS: usize = 1000;

/// Most `X509Certificate`s accepted in `KeyInfo` (DigiLocker sends four: the leaf, the
/// root, the CA and the sub-CA).
pub const MAX_CERTIFICATES: usize = 8;

/// How far in the future `KycRes ts` may be, to allow for clock skew between UIDAI,
/// DigiLocker and us.
pub const MAX_FUTURE_SKEW: Duration = Duration::minutes(10);

/// No e-Aadhaar can be older than Aadhaar itself (enrolment began in September 2010); a
/// `ts` before 2010-01-01 is refused as nonsense.
pub const EARLIEST_SIGNING_TIME_UNIX: i64 = 1_262_304_000;
