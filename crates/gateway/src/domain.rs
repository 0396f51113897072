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

    /// The URL with query parameters appended, keeping the business's own.
    pub fn with_params(&self, params: &[(&str, &str)]) -> Url {
        let mut url = self.0.clone();
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

/// A request id: a UUID, in its canonical lowercase form.
pub fn parse_request_id(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw).ok().map(|u| u.to_string())
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
        let u = RedirectUrl::parse("https://example.com/kyc?sessionId=XYZ", false, "").unwrap();
        assert_eq!(
            u.with_params(&[("success", "True"), ("id", "1")]).as_str(),
            "https://example.com/kyc?sessionId=XYZ&success=True&id=1"
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
    }
}
