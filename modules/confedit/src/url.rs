//! The URLs etcd, flanneld and the OpenShift master are pointed at: `http(s)://host:port`.
//!
//! Strict on purpose: a URL without a port or with a typo in the scheme is accepted by some
//! of these daemons and then silently dialled on a default port, which is how a cluster ends up
//! half-configured.

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdUrl {
    /// "http" or "https".
    pub scheme: String,
    /// A DNS name, an IPv4 address, or an IPv6 address without its brackets.
    pub host: String,
    pub port: u16,
}

pub fn validate_url(s: &str) -> Result<EtcdUrl> {
    let bad = |why: &str| Error::invalid(format!("invalid URL `{s}`: {why}"));
    let (scheme, rest) = s
        .split_once("://")
        .ok_or_else(|| bad("expected http:// or https://"))?;
    if scheme != "http" && scheme != "https" {
        return Err(bad("expected http:// or https://"));
    }
    // A single trailing slash is harmless; any other path, a query or credentials are not
    // something these daemons use and usually mean a pasted wrong value.
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#', '@']) {
        return Err(bad(
            "only scheme://host:port is allowed (no path, query or user)",
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("unterminated [ in IPv6 address"))?;
        let port = after.strip_prefix(':').ok_or_else(|| bad("missing port"))?;
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(bad("invalid IPv6 address"));
        }
        (host, port)
    } else {
        let (host, port) = authority
            .rsplit_once(':')
            .ok_or_else(|| bad("missing port"))?;
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        {
            return Err(bad("invalid host"));
        }
        (host, port)
    };
    if port.is_empty() {
        return Err(bad("missing port"));
    }
    if !port.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad("port is not a number"));
    }
    let port: u16 = match port.parse() {
        Ok(p) if p > 0 => p,
        _ => return Err(bad("port out of range 1-65535")),
    };
    Ok(EtcdUrl {
        scheme: scheme.to_string(),
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_etcd_urls() {
        let u = validate_url("https://10.0.0.1:2379").unwrap();
        assert_eq!(
            (u.scheme.as_str(), u.host.as_str(), u.port),
            ("https", "10.0.0.1", 2379)
        );
        assert!(validate_url("http://master-0.example.com:2380/").is_ok());
        assert_eq!(
            validate_url("https://[fd00::1]:2379").unwrap().host,
            "fd00::1"
        );
    }

    #[test]
    fn rejects_with_reason() {
        for (s, why) in [
            ("10.0.0.1:2379", "expected http:// or https://"),
            ("ftp://a:1", "expected http:// or https://"),
            ("https://a", "missing port"),
            ("https://:2379", "missing host"),
            ("https://a:", "missing port"),
            ("https://a:x1", "port is not a number"),
            ("https://a:70000", "out of range"),
            ("https://a:0", "out of range"),
            ("https://a:1/v2", "no path"),
            ("https://a b:1", "invalid host"),
            ("https://[::1:1", "unterminated"),
        ] {
            let e = validate_url(s).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(s), "{s}: {e}");
        }
    }
}
