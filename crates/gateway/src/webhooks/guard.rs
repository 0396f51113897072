//! The SSRF guard: a webhook URL is a business's, but the request to it is
//! made from inside our network. Outside sandbox mode only https is
//! allowed, and only to public addresses: never loopback, private,
//! link-local, shared (CGNAT), documentation, multicast or otherwise
//! internal ones, unless the operator allows private targets. The check is
//! made on the address actually connected to, resolved at delivery time
//! (DNS can change after the URL was checked): the HTTP client resolves
//! names only through [`GuardedResolver`], and IP literals are checked
//! before sending. Sandbox mode also allows loopback (and plain http to
//! it), so the demo and tests can receive events.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

use crate::config::Config;

/// Longest accepted webhook URL.
const MAX_URL_LEN: usize = 2048;

/// Which targets deliveries may go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    /// Sandbox mode: loopback allowed, and plain http to loopback.
    pub sandbox: bool,
    /// The operator allows internal addresses (not http, outside sandbox mode).
    pub allow_private: bool,
}

/// Why a URL or address is refused; the text speaks to the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl Targets {
    /// The policy the configuration asks for.
    pub fn from_config(config: &Config) -> Targets {
        Targets {
            sandbox: config.sandbox_mode(),
            allow_private: config.webhooks.allow_private_targets,
        }
    }

    /// May a delivery connect to `ip`?
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if ip.is_unspecified() || ip.is_multicast() || ip == IpAddr::V4(Ipv4Addr::BROADCAST) {
            return false;
        }
        if self.allow_private || (self.sandbox && ip.is_loopback()) {
            return true;
        }
        !is_internal(ip)
    }

    /// Check a webhook URL as written: absolute https (http only to
    /// loopback in sandbox mode), a host, no user name or password, no
    /// fragment, and an IP literal only when [`Targets::allows`] it. A
    /// name is checked again at each delivery, on what it resolves to.
    pub fn check_url(&self, text: &str) -> Result<Url, Refused> {
        let text = text.trim();
        if text.len() > MAX_URL_LEN {
            return Err(Refused(format!(
                "the webhook URL is longer than {MAX_URL_LEN} characters"
            )));
        }
        let url = Url::parse(text).map_err(|e| {
            Refused(format!(
                "the webhook URL is not an absolute URL ({e}); write it like https://example.com/hooks/kyc"
            ))
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused(
                "the webhook URL must not carry a user name or password; deliveries are signed instead".into(),
            ));
        }
        if url.fragment().is_some() {
            return Err(Refused("the webhook URL must not have a #fragment".into()));
        }
        let host = url
            .host()
            .ok_or_else(|| Refused("the webhook URL has no host".into()))?;
        let loopback_host = match &host {
            Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
            Host::Ipv4(ip) => ip.is_loopback(),
            Host::Ipv6(ip) => ip.is_loopback(),
        };
        match url.scheme() {
            "https" => {}
            "http" if self.sandbox && loopback_host => {}
            "http" if self.sandbox => return Err(Refused(
                "the webhook URL must be https (plain http only to this machine, in sandbox mode)"
                    .into(),
            )),
            _ => return Err(Refused("the webhook URL must be https".into())),
        }
        let literal = match host {
            Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            Host::Domain(_) => None,
        };
        if let Some(ip) = literal {
            self.check_ip(ip)?;
        }
        Ok(url)
    }

    /// [`Targets::allows`], as an error that names the address.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refused> {
        if self.allows(ip) {
            Ok(())
        } else {
            Err(Refused(format!(
                "{ip} is a loopback, private, link-local or otherwise internal address; \
                 webhooks go to public addresses only (an operator can allow internal ones \
                 with webhooks.allow_private_targets)"
            )))
        }
    }

    /// Resolve `host` now and check every address it has; `Ok(None)` when
    /// it does not resolve at the moment.
    pub async fn check_resolved(&self, host: &str, port: u16) -> Result<Option<()>, Refused> {
        let Ok(addrs) = tokio::net::lookup_host((host, port)).await else {
            return Ok(None);
        };
        for addr in addrs {
            self.check_ip(addr.ip())
                .map_err(|e| Refused(format!("{host} resolves to {}: {e}", addr.ip())))?;
        }
        Ok(Some(()))
    }
}

/// Is `ip` anything but a public unicast address?
pub fn is_internal(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0                                   // "this network"
        || a == 10                           // private
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || a == 127                          // loopback
        || (a == 169 && b == 254)            // link-local (cloud metadata)
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)    // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)    // documentation
        || (a == 192 && b == 88 && c == 99)  // 6to4 relay anycast
        || (a == 192 && b == 168)            // private
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113)  // documentation
        || a >= 224 // multicast, reserved, broadcast
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // NAT64 (64:ff9b::/96) reaches the IPv4 address it embeds.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_internal_v4(embedded_v4(s[6], s[7]));
    }
    // 6to4 (2002::/16) likewise.
    if s[0] == 0x2002 {
        return is_internal_v4(embedded_v4(s[1], s[2]));
    }
    // Only global unicast (2000::/3) is public; within it, these are not.
    if s[0] & 0xe000 != 0x2000 {
        return true; // ::, ::1, IPv4-compatible, 64:ff9b:1::/48, 100::/64, fc00::/7, fe80::/10, ff00::/8, …
    }
    let ietf = s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8); // protocol assignments (Teredo, ORCHID…), documentation
    let documentation = s[0] == 0x3fff && s[1] < 0x1000; // 3fff::/20
    ietf || documentation
}

/// The HTTP client's resolver: it returns only addresses that
/// [`Targets::allows`], so a connection can only be made to a checked one.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub targets: Targets,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let targets = self.targets;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|a| targets.allows(a.ip()))
                .collect();
            if allowed.is_empty() {
                let refused = match resolved.first() {
                    Some(a) => targets
                        .check_ip(a.ip())
                        .err()
                        .unwrap_or_else(|| Refused(format!("{host} has no usable address"))),
                    None => Refused(format!("{host} has no address")),
                };
                return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCTION: Targets = Targets {
        sandbox: false,
        allow_private: false,
    };
    const SANDBOX: Targets = Targets {
        sandbox: true,
        allow_private: false,
    };

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_allowed() {
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "192.0.2.10",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "fec0::1",
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2001::1",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(is_internal(ip(internal)), "{internal} counted as public");
            assert!(!PRODUCTION.allows(ip(internal)), "{internal} allowed");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.1.1",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_internal(ip(public)), "{public} counted as internal");
            assert!(PRODUCTION.allows(ip(public)), "{public} refused");
        }
    }

    #[test]
    fn sandbox_mode_allows_loopback_and_the_operator_can_allow_private() {
        assert!(SANDBOX.allows(ip("127.0.0.1")));
        assert!(SANDBOX.allows(ip("::1")));
        assert!(!SANDBOX.allows(ip("10.0.0.1")), "only loopback in sandbox");
        assert!(!SANDBOX.allows(ip("169.254.169.254")));
        let private = Targets {
            sandbox: false,
            allow_private: true,
        };
        assert!(private.allows(ip("10.0.0.1")));
        assert!(private.allows(ip("127.0.0.1")));
        // Never a broadcast, multicast or unspecified target.
        for never in ["0.0.0.0", "255.255.255.255", "224.0.0.1", "::", "ff02::1"] {
            assert!(!private.allows(ip(never)), "{never}");
        }
    }

    #[test]
    fn urls_are_checked_as_written() {
        assert!(PRODUCTION
            .check_url("https://hooks.example.com/kyc?x=1")
            .is_ok());
        for (bad, why) in [
            ("http://hooks.example.com/kyc", "https"),
            ("ftp://hooks.example.com/kyc", "https"),
            ("https://user:pw@hooks.example.com/", "user name"),
            ("https://hooks.example.com/#frag", "fragment"),
            ("https://127.0.0.1/", "internal"),
            ("https://[::1]:8443/", "internal"),
            ("https://10.0.0.5/", "internal"),
            ("https://2130706433/", "internal"), // 127.0.0.1 written as a number
            ("https://0x7f.1/", "internal"),
            ("https://169.254.169.254/latest/meta-data", "internal"),
            ("/relative", "absolute"),
            ("http://localhost:8080/", "https"),
        ] {
            let e = PRODUCTION.check_url(bad).unwrap_err();
            assert!(e.0.contains(why), "{bad}: {e}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(PRODUCTION.check_url(&long).is_err());
        // Sandbox mode: plain http to this machine only.
        assert!(SANDBOX.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(SANDBOX.check_url("http://localhost:9000/hook").is_ok());
        assert!(SANDBOX.check_url("http://[::1]:9000/hook").is_ok());
        assert!(SANDBOX.check_url("http://example.com/hook").is_err());
        assert!(SANDBOX.check_url("https://10.0.0.5/hook").is_err());
    }

    #[tokio::test]
    async fn the_resolver_never_hands_out_a_refused_address() {
        use reqwest::dns::Resolve;
        let refused = GuardedResolver {
            targets: PRODUCTION,
        }
        .resolve("localhost".parse().unwrap())
        .await;
        let e = refused
            .err()
            .expect("localhost must be refused in production");
        assert!(e.to_string().contains("internal"), "{e}");
        let allowed: Vec<SocketAddr> = GuardedResolver { targets: SANDBOX }
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(!allowed.is_empty());
        assert!(allowed.iter().all(|a| a.ip().is_loopback()), "{allowed:?}");
    }
}
