//! What a business receives: the event's type and time, and `data` with the
//! request's id and status and, by type, `scope` or `errCode`. Never
//! personal data: the fields are built from the event's ids, doc types and
//! codes only, each checked to look like one.

use serde::Serialize;

use crate::storage::{EventKind, EventRecord};
use crate::timefmt::ist;

/// The user consented; `scope` lists the doc types shared.
pub const AUTHENTICATED: &str = "digilocker.request.authenticated";
/// The user denied, or the journey failed; `errCode` says why.
pub const FAILED: &str = "digilocker.request.failed";
/// Access was revoked (and the request's data erased).
pub const REVOKED: &str = "digilocker.request.revoked";
/// The request reached `validUpto` and everything of it was erased.
pub const EXPIRED: &str = "digilocker.request.expired";
/// DigiLocker's side of a revoke is done (the local erasure was at the
/// revoke itself); `upstream` says how.
pub const REVOKE_CONFIRMED: &str = "digilocker.request.revoke_confirmed";

/// The body of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Payload {
    /// `digilocker.request.authenticated`, `.failed`, `.revoked`,
    /// `.revoke_confirmed` or `.expired`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    /// When it happened: ISO 8601 in +05:30, as the API writes times.
    pub timestamp: String,
    pub data: PayloadData,
}

/// `data` of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayloadData {
    /// The request's id.
    pub id: String,
    /// `authenticated`, `unauthenticated` (failed: the request never got
    /// consent, as `/status` says), `revoked` or `expired`.
    #[schema(value_type = String)]
    pub status: &'static str,
    /// Authenticated: the doc types shared, joined by `+` (as the redirect's `scope`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Failed: the contract's error code (as the redirect's `errCode`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub err_code: Option<String>,
    /// Revoke confirmed: `revoked` (DigiLocker accepted it) or
    /// `token_expired` (the token died before DigiLocker answered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
}

/// Looks like a doc type or an error code: short, letters, digits, `_.-`.
fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl Payload {
    /// The delivery an event makes, or `None` when its kind is not
    /// announced. An erasure is announced as `expired` only when the request
    /// expired: one erased because its client was disabled is not (the
    /// disabled business gets no deliveries at all).
    pub fn from_event(e: &EventRecord) -> Option<Payload> {
        let detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
        let text = |k: &str| detail.get(k).and_then(|v| v.as_str());
        let data = |status| PayloadData {
            id: e.request_id.clone(),
            status,
            scope: None,
            err_code: None,
            upstream: None,
        };
        let (kind, data) = match e.kind.as_str() {
            k if k == EventKind::ConsentGiven.as_str() => {
                let doc_types: Vec<&str> = detail
                    .get("docTypes")
                    .and_then(|v| v.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|d| d.as_str())
                            .filter(|d| is_code(d))
                            .collect()
                    })
                    .unwrap_or_default();
                (
                    AUTHENTICATED,
                    PayloadData {
                        scope: Some(doc_types.join("+")),
                        ..data("authenticated")
                    },
                )
            }
            k if k == EventKind::ConsentDenied.as_str()
                || k == EventKind::JourneyFailed.as_str() =>
            {
                let code = text("errCode")
                    .filter(|c| is_code(c))
                    .unwrap_or("unknown_error");
                (
                    FAILED,
                    PayloadData {
                        err_code: Some(code.to_owned()),
                        ..data("unauthenticated")
                    },
                )
            }
            k if k == EventKind::Revoked.as_str() => (REVOKED, data("revoked")),
            k if k == EventKind::UpstreamRevoked.as_str() => {
                let outcome = text("outcome").filter(|c| is_code(c)).unwrap_or("revoked");
                (
                    REVOKE_CONFIRMED,
                    PayloadData {
                        upstream: Some(outcome.to_owned()),
                        ..data("revoked")
                    },
                )
            }
            k if k == EventKind::Erased.as_str() && text("reason") == Some("expired") => {
                (EXPIRED, data("expired"))
            }
            _ => return None,
        };
        Some(Payload {
            kind,
            timestamp: ist(e.at),
            data,
        })
    }

    /// The exact bytes that are signed and sent.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, detail: serde_json::Value) -> EventRecord {
        EventRecord {
            seq: 1,
            id: "evt_1".into(),
            request_id: "5f0c5d7e-0000-4000-8000-000000000001".into(),
            client_id: "cl_1".into(),
            kind: kind.into(),
            detail: detail.to_string(),
            at: 1_764_077_788,
        }
    }

    fn body(kind: &str, detail: serde_json::Value) -> Option<serde_json::Value> {
        Payload::from_event(&event(kind, detail))
            .map(|p| serde_json::from_slice(&p.to_body()).unwrap())
    }

    #[test]
    fn each_announced_kind_has_its_type_and_fields() {
        let id = "5f0c5d7e-0000-4000-8000-000000000001";
        assert_eq!(
            body("consent_given", json!({"docTypes": ["ADHAR", "PANCR"]})).unwrap(),
            json!({"type": AUTHENTICATED, "timestamp": "2025-11-25T19:06:28+05:30",
                   "data": {"id": id, "status": "authenticated", "scope": "ADHAR+PANCR"}})
        );
        assert_eq!(
            body("consent_given", json!({"docTypes": []})).unwrap()["data"]["scope"],
            ""
        );
        assert_eq!(
            body(
                "consent_denied",
                json!({"errCode": "user_consent_not_given"})
            )
            .unwrap(),
            json!({"type": FAILED, "timestamp": "2025-11-25T19:06:28+05:30",
                   "data": {"id": id, "status": "unauthenticated", "errCode": "user_consent_not_given"}})
        );
        assert_eq!(
            body(
                "journey_failed",
                json!({"errCode": "upstream_server_error"})
            )
            .unwrap()["data"]["errCode"],
            "upstream_server_error"
        );
        assert_eq!(
            body("revoked", json!({})).unwrap(),
            json!({"type": REVOKED, "timestamp": "2025-11-25T19:06:28+05:30",
                   "data": {"id": id, "status": "revoked"}})
        );
        assert_eq!(
            body("erased", json!({"reason": "expired"})).unwrap(),
            json!({"type": EXPIRED, "timestamp": "2025-11-25T19:06:28+05:30",
                   "data": {"id": id, "status": "expired"}})
        );
    }

    #[test]
    fn unannounced_events_make_no_delivery() {
        for (kind, detail) in [
            ("created", json!({"docTypes": []})),
            ("journey_started", json!({})),
            ("document_fetched", json!({"docType": "PANCR"})),
            ("aadhaar_fetched", json!({})),
            ("erased", json!({"reason": "client_disabled"})),
            ("something_new", json!({})),
        ] {
            assert_eq!(body(kind, detail.clone()), None, "{kind} {detail}");
        }
    }

    #[test]
    fn only_code_like_values_pass_from_the_detail() {
        let v = body(
            "consent_given",
            json!({"docTypes": ["PANCR", "a name with spaces", 5, "DRVLC"], "name": "Ramesh"}),
        )
        .unwrap();
        assert_eq!(v["data"]["scope"], "PANCR+DRVLC");
        assert!(!v.to_string().contains("Ramesh"));
        let v = body("journey_failed", json!({"errCode": "<script>"})).unwrap();
        assert_eq!(v["data"]["errCode"], "unknown_error");
    }
}
