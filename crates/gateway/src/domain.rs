//! Parse, don't validate: values a handler can trust because their
//! constructor is the only way in.

use std::net::IpAddr;

use url::{Host, Url};

/// A business's `redirectUrl`: absolute http(s) with a host, no credentials,
/// no fragment; https unless it is loopback in sandbox mode; within the
/// client's allowed origins when it has any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUrl(Url);

impl RedirectUrl {
    /// Parse and check; the error says what is wrong.
    pub fn parse(raw: &str, sandbox: bool, allowed_origins: &str) -> Result<RedirectUrl, String> {
        if raw.len() > 2048 {
            return Err("it is longer than 2048 characters".into());
        }
        let url = Url::parse(raw.trim()).map_err(|_| "it is not an absolute URL".to_owned())?;
        let host = url.host().ok_or_else(|| "it has no host".to_owned())?;
        if let Host::Domain(domain) = &host {
            check_domain(domain, sandbox)?;
        }
        match url.scheme() {
            "https" => {}
            "http" if sandbox && is_loopback(&host) => {}
            "http" => {
                return Err(
                    "it must use https (http is accepted only for loopback hosts in sandbox mode)"
                        .into(),
                )
            }
            _ => return Err("it must be an http(s) URL".into()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("it must not contain credentials".into());
        }
        if url.fragment().is_some() {
            return Err("it must not contain a #fragment".into());
        }
        let origins: Vec<&str> = allowed_origins.split_whitespace().collect();
        if !origins.is_empty() {
            let origin = url.origin().ascii_serialization();
            if !origins.iter().any(|o| o.trim_end_matches('/') == origin) {
                return Err("its origin is not allowed for this client".into());
            }
        }
        Ok(RedirectUrl(url))
    }

    /// The URL with query parameters appended, keeping the business's own;
    /// a parameter of the business's with the name of one of ours is
    /// dropped, so each of ours is there exactly once and says what we mean.
    pub fn with_params(&self, params: &[(&str, &str)]) -> Url {
        let mut url = self.0.clone();
        let ours = |k: &str| params.iter().any(|(name, _)| *name == k);
        if url.query_pairs().any(|(k, _)| ours(&k)) {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| !ours(k))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.set_query(None);
            if !kept.is_empty() {
                url.query_pairs_mut().extend_pairs(kept);
            }
        }
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        url
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A host name a browser can really be sent to: dot-separated labels of
/// letters, digits and inner hyphens, each 1-63 characters, a top-level
/// label that is not all digits, and at least two labels (`localhost` alone
/// only in sandbox mode). `https://.co` and `https://example..com` fail.
fn check_domain(domain: &str, sandbox: bool) -> Result<(), String> {
    let bad = || "its host is not a valid domain name".to_owned();
    // One trailing dot is an absolute name and fine.
    let name = domain.strip_suffix('.').unwrap_or(domain);
    if name.is_empty() || name.len() > 253 {
        return Err(bad());
    }
    let labels: Vec<&str> = name.split('.').collect();
    for label in &labels {
        let ok = (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(bad());
        }
    }
    let tld = labels.last().copied().unwrap_or_default();
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if labels.len() < 2 && !(sandbox && name.eq_ignore_ascii_case("localhost")) {
        return Err("its host must be a full domain name such as example.com".into());
    }
    Ok(())
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

/// A DigiLocker doc type code such as `PANCR` or `DRVLC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocType(String);

impl DocType {
    pub fn parse(raw: &str) -> Result<DocType, String> {
        let ok = (2..=16).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric());
        if ok {
            Ok(DocType(raw.to_owned()))
        } else {
            Err(format!(
                "docType must be 2-16 letters or digits, e.g. \"DRVLC\"; got {:?}",
                truncate(raw)
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An issuer's org id, e.g. `002317` or `in.gov.pan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgId(String);

impl OrgId {
    pub fn parse(raw: &str) -> Result<OrgId, String> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
        if ok {
            Ok(OrgId(raw.to_owned()))
        } else {
            Err(format!(
                "orgId must be 1-64 letters, digits, '.', '-' or '_'; got {:?}",
                truncate(raw)
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A request id: a UUID, in its canonical lowercase hyphenated form.
pub fn parse_request_id(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// Where a request is in its life. Stored as its contract name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    /// Created; the user has not consented (yet).
    Unauthenticated,
    /// The user consented; documents can be fetched.
    Authenticated,
    /// Access was revoked; nothing of the user's is kept.
    Revoked,
}

impl RequestStatus {
    /// The contract (and stored) name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Unauthenticated => "unauthenticated",
            RequestStatus::Authenticated => "authenticated",
            RequestStatus::Revoked => "revoked",
        }
    }

    /// From the stored name; `None` for anything else.
    pub fn parse(stored: &str) -> Option<RequestStatus> {
        match stored {
            "unauthenticated" => Some(RequestStatus::Unauthenticated),
            "authenticated" => Some(RequestStatus::Authenticated),
            "revoked" => Some(RequestStatus::Revoked),
            _ => None,
        }
    }
}

/// The doc types a user agreed to share, read from DigiLocker's token
/// scope (`issued/in.gov.pan-PANCR-...` for issued documents,
/// `file.partners/DRVLC` or `file.partners/in.gov.transport-DRVLC` for doc
/// types agreed to be pulled), in the order the hosted API writes them:
/// `ADHAR` first when the Aadhaar card was shared, then the rest in scope
/// order, each once.
pub fn consented_doc_types(scope: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in scope.split_whitespace() {
        let Some((kind, rest)) = item.split_once('/') else {
            continue;
        };
        let doc = match kind {
            "issued" => rest.split('-').nth(1),
            "file.partners" => match rest.split('-').nth(1) {
                Some(d) => Some(d),
                None => Some(rest),
            },
            _ => None,
        };
        if let Some(doc) = doc {
            if (2..=16).contains(&doc.len())
                && doc.bytes().all(|b| b.is_ascii_alphanumeric())
                && !out.iter().any(|d| d == doc)
            {
                out.push(doc.to_owned());
            }
        }
    }
    if let Some(i) = out.iter().position(|d| d == "ADHAR") {
        let adhar = out.remove(i);
        out.insert(0, adhar);
    }
    out
}

/// The redirect's `scope` value: doc types joined by a literal `+`
/// (percent-encoded as `%2B` on the wire).
pub fn scope_param(doc_types: &[String]) -> String {
    doc_types.join("+")
}

/// For echoing untrusted input in an error detail.
pub fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_rules() {
        assert!(RedirectUrl::parse("https://example.com/kyc?sessionId=XYZ", false, "").is_ok());
        assert!(RedirectUrl::parse("http://example.com/", false, "").is_err());
        assert!(RedirectUrl::parse("http://example.com/", true, "").is_err());
        assert!(RedirectUrl::parse("http://127.0.0.1:9/done", true, "").is_ok());
        assert!(RedirectUrl::parse("http://127.0.0.1:9/done", false, "").is_err());
        assert!(RedirectUrl::parse("javascript:alert(1)", true, "").is_err());
        assert!(RedirectUrl::parse("/relative", true, "").is_err());
        assert!(RedirectUrl::parse("https://u:p@example.com/", false, "").is_err());
        assert!(RedirectUrl::parse("https://example.com/#x", false, "").is_err());
        assert!(RedirectUrl::parse("https://example.com/a", false, "https://example.com").is_ok());
        assert!(RedirectUrl::parse("https://evil.com/a", false, "https://example.com").is_err());
        // The hosted API's own example of an invalid URL, and friends.
        for bad in [
            "https://.co",
            "https://example..com/",
            "https://-bad.example/",
            "https://example.123/",
            "https://co/",
            "https://exa_mple.com/",
        ] {
            assert!(RedirectUrl::parse(bad, false, "").is_err(), "{bad}");
        }
        assert!(RedirectUrl::parse("https://example.com./x", false, "").is_ok());
        assert!(RedirectUrl::parse("https://xn--80ak6aa92e.com/", false, "").is_ok());
        assert!(RedirectUrl::parse("https://10.0.0.1/x", false, "").is_ok());
        assert!(RedirectUrl::parse("http://localhost:8080/x", true, "").is_ok());
        let u = RedirectUrl::parse("https://example.com/kyc?sessionId=XYZ", false, "").unwrap();
        assert_eq!(
            u.with_params(&[("success", "True"), ("id", "1")]).as_str(),
            "https://example.com/kyc?sessionId=XYZ&success=True&id=1"
        );
        // The business's own `id`, `success`, `scope` give way to ours:
        // each of ours exactly once, the rest of theirs kept in order.
        let u = RedirectUrl::parse(
            "https://example.com/kyc?id=mine&sessionId=XYZ&scope=a&success=yes&x=1",
            false,
            "",
        )
        .unwrap();
        assert_eq!(
            u.with_params(&[("success", "True"), ("id", "1"), ("scope", "PANCR")])
                .as_str(),
            "https://example.com/kyc?sessionId=XYZ&x=1&success=True&id=1&scope=PANCR"
        );
    }

    #[test]
    fn codes() {
        assert!(DocType::parse("PANCR").is_ok());
        assert!(DocType::parse("PAN CR").is_err());
        assert!(OrgId::parse("002317").is_ok());
        assert!(OrgId::parse("in.gov.pan").is_ok());
        assert!(OrgId::parse("../x/y").is_err());
        assert!(parse_request_id("not-a-uuid").is_none());
        assert_eq!(
            parse_request_id("6F9619FF8B86D011B42D00C04FC964FF").as_deref(),
            Some("6f9619ff-8b86-d011-b42d-00c04fc964ff")
        );
    }

    #[test]
    fn scope_lists_shared_and_pulled_doc_types_aadhaar_first() {
        let s = "files.issueddocs issued/in.gov.transport-DRVLC-MH1234 userdetails picture \
                 issued/in.gov.pan-PANCR-ABCDE1234F file.partners/in.gov.cbse-SSCER \
                 issued/in.gov.uidai-ADHAR-1234 file.partners/PRFND issued/in.gov.pan-PANCR-X";
        let docs = consented_doc_types(s);
        assert_eq!(docs, vec!["ADHAR", "DRVLC", "PANCR", "SSCER", "PRFND"]);
        assert_eq!(scope_param(&docs), "ADHAR+DRVLC+PANCR+SSCER+PRFND");
        assert!(consented_doc_types("files.issueddocs userdetails").is_empty());
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            RequestStatus::Unauthenticated,
            RequestStatus::Authenticated,
            RequestStatus::Revoked,
        ] {
            assert_eq!(RequestStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RequestStatus::parse("complete"), None);
    }
}
