//! Where webhooks may go (SSRF). Checked when an endpoint is created or
//! changed, and again on every attempt on the address actually connected to:
//! the HTTP client resolves names through [`GuardedResolver`], which drops
//! refused addresses, so a name that resolves elsewhere by the time of an
//! attempt (DNS rebinding) gets "blocked address", not a connection.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

use crate::error::AppError;

/// The rules for one server (DESIGN.md, outbound webhooks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Production: `https` only.
    pub https_only: bool,
    /// Loopback, private, link-local, shared, multicast and unspecified
    /// addresses allowed (`WEBHOOK_ALLOW_PRIVATE_TARGETS`).
    pub allow_private: bool,
}

/// The message a blocked attempt leaves in `lastError`.
pub const BLOCKED: &str = "blocked address";

/// True for every address a webhook must not reach from production:
/// loopback, RFC 1918 and unique-local (fc00::/7) private ranges,
/// link-local (169.254/16, fe80::/10), shared (100.64/10), multicast,
/// unspecified, broadcast and "this network" (0/8), including IPv4 written
/// as IPv6 (`::ffff:10.0.0.1`).
pub fn is_blocked(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => blocked_v4(v4),
            None => blocked_v6(v6),
        },
    }
}

fn blocked_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
}

fn blocked_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let first = s[0];
    // IPv4 inside IPv6 by NAT64 (64:ff9b::/96) or the old IPv4-compatible
    // form (::a.b.c.d): the IPv4 address decides.
    let embedded = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    let compatible = s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified();
    if nat64 || compatible {
        return blocked_v4(embedded);
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
}

/// Parses and checks an endpoint URL: absolute `http(s)` (https only in
/// production), with a host, no user info, at most 2048 characters; a host
/// written as an address must be allowed. Names are resolved by
/// [`check_resolved`].
pub fn parse_url(raw: &str, policy: TargetPolicy) -> Result<Url, AppError> {
    let bad = |why: &str| AppError::bad_input(format!("url {why}"));
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().count() > 2048 || raw.chars().any(char::is_control) {
        return Err(bad(
            "must be 1 to 2048 characters without control characters",
        ));
    }
    let url = Url::parse(raw).map_err(|_| bad("is not an absolute URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if !policy.https_only => {}
        "http" => return Err(bad("must use https in production")),
        _ => return Err(bad("must be http or https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not hold credentials"));
    }
    match url.host() {
        None => return Err(bad("has no host")),
        Some(Host::Ipv4(ip)) if !policy.allow_private && is_blocked(IpAddr::V4(ip)) => {
            return Err(bad("points to a blocked address"))
        }
        Some(Host::Ipv6(ip)) if !policy.allow_private && is_blocked(IpAddr::V6(ip)) => {
            return Err(bad("points to a blocked address"))
        }
        _ => {}
    }
    Ok(url)
}

/// Resolves the URL's host now and refuses it when every address it has is
/// blocked (or it does not resolve). Only when private targets are refused.
pub async fn check_resolved(url: &Url, policy: TargetPolicy) -> Result<(), AppError> {
    if policy.allow_private {
        return Ok(());
    }
    let Some(Host::Domain(name)) = url.host() else {
        return Ok(()); // an address, checked by `parse_url`
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let allowed = resolve_allowed(name, port)
        .await
        .map_err(|_| AppError::bad_input("url: the host does not resolve"))?;
    if allowed.is_empty() {
        return Err(AppError::bad_input("url points to a blocked address"));
    }
    Ok(())
}

/// The addresses `name` resolves to that are not blocked.
async fn resolve_allowed(name: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    Ok(tokio::net::lookup_host((name, port))
        .await?
        .filter(|a| !is_blocked(a.ip()))
        .collect())
}

/// Resolves names for the webhook client, keeping only allowed addresses.
#[derive(Clone, Copy, Debug)]
pub struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let allowed = resolve_allowed(name.as_str(), 0).await?;
            if allowed.is_empty() {
                return Err(BLOCKED.into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The address of a URL whose host is written as one, when it is blocked.
pub fn blocked_literal(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => is_blocked(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => is_blocked(IpAddr::V6(ip)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_range_is_blocked_and_public_addresses_are_not() {
        let blocked = [
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "::10.0.0.1",
            "::127.0.0.1",
        ];
        for ip in blocked {
            assert!(is_blocked(ip.parse().unwrap()), "{ip}");
        }
        let public = [
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
            "64:ff9b::808:808",
        ];
        for ip in public {
            assert!(!is_blocked(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_are_http_or_https_and_production_wants_https_and_public_hosts() {
        let dev = TargetPolicy {
            https_only: false,
            allow_private: true,
        };
        let prod = TargetPolicy {
            https_only: true,
            allow_private: false,
        };
        assert!(parse_url("http://127.0.0.1:8080/hook", dev).is_ok());
        for bad in [
            "ftp://x.example/h",
            "javascript:alert(1)",
            "/relative",
            "https://",
            "http://u:p@x.example/",
            "file:///etc/passwd",
            "",
        ] {
            assert!(parse_url(bad, dev).is_err(), "{bad}");
        }
        assert!(parse_url("https://hooks.example.com/in", prod).is_ok());
        for bad in [
            "http://hooks.example.com/in",
            "https://127.0.0.1/",
            "https://[::1]/",
            "https://10.0.0.8/",
            "https://169.254.169.254/latest",
            "https://[::ffff:192.168.0.1]/",
        ] {
            assert!(parse_url(bad, prod).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn names_resolving_to_blocked_addresses_are_refused() {
        let strict = TargetPolicy {
            https_only: false,
            allow_private: false,
        };
        let url = Url::parse("http://localhost:9/").unwrap();
        assert!(check_resolved(&url, strict).await.is_err());
        let lax = TargetPolicy {
            https_only: false,
            allow_private: true,
        };
        assert!(check_resolved(&url, lax).await.is_ok());
    }
}
