//! subjectAltName entries in the operator's notation (`IP:10.0.0.4`, `DNS:etcd0`), as the
//! procedure's `SAN="IP:${NEW_ETCD_IP}, DNS:${NEW_ETCD_HOSTNAME}"` writes them.

use crate::error::{Error, Result};
use openssl::x509::X509Ref;
use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum San {
    Ip(IpAddr),
    Dns(String),
    /// Found in an existing certificate (URI, email, ...); never issued.
    Other(String),
}

impl San {
    /// `IP:1.2.3.4`, `DNS:name`, or a bare value taken as an IP when it parses as one.
    pub fn parse(text: &str) -> Result<San> {
        let t = text.trim();
        if let Ok(ip) = t.parse::<IpAddr>() {
            return Ok(San::Ip(ip));
        }
        if let Some((kind, value)) = t.split_once(':') {
            let value = value.trim();
            match kind.trim().to_ascii_lowercase().as_str() {
                // "IP Address" is how `openssl x509 -text` prints it, so pasted lists work too.
                "ip" | "ip address" => {
                    return value.parse().map(San::Ip).map_err(|_| {
                        Error::new(format!(
                            "invalid subject_alt_names entry {t:?}: {value:?} is not an IP address"
                        ))
                    })
                }
                "dns" => return dns(t, value),
                k if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') => {
                    return Err(Error::new(format!(
                        "invalid subject_alt_names entry {t:?}: only IP: and DNS: names are supported"
                    )))
                }
                _ => {}
            }
        }
        dns(t, t)
    }

    /// Case-insensitive for DNS names, as name matching in TLS is.
    fn normalized(&self) -> San {
        match self {
            San::Dns(d) => San::Dns(d.to_ascii_lowercase()),
            other => other.clone(),
        }
    }
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Ip(ip) => write!(f, "IP:{ip}"),
            San::Dns(d) => write!(f, "DNS:{d}"),
            San::Other(o) => f.write_str(o),
        }
    }
}

fn dns(entry: &str, name: &str) -> Result<San> {
    let bad = |why: &str| {
        Err(Error::new(format!(
            "invalid subject_alt_names entry {entry:?}: {why}"
        )))
    };
    if name.is_empty() {
        return bad("empty name");
    }
    if name.len() > 253 {
        return bad("a DNS name is at most 253 characters");
    }
    let labels: Vec<&str> = name.split('.').collect();
    for (i, label) in labels.iter().enumerate() {
        let wildcard = i == 0 && *label == "*" && labels.len() > 1;
        let ok = wildcard
            || (!label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        if !ok {
            return bad(&format!("{name:?} is neither an IP address nor a DNS name"));
        }
    }
    // An all-numeric last label is a mistyped IP (999.1.1.1), never a hostname.
    if labels
        .last()
        .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()))
    {
        return bad(&format!(
            "{name:?} is not a valid IP address (and not a DNS name)"
        ));
    }
    Ok(San::Dns(name.to_string()))
}

/// Parses every entry; duplicates collapse, first occurrence wins the position.
pub fn parse_all<S: AsRef<str>>(items: &[S]) -> Result<Vec<San>> {
    let mut out: Vec<San> = Vec::new();
    for item in items {
        let san = San::parse(item.as_ref())?;
        if !out.iter().any(|s| s.normalized() == san.normalized()) {
            out.push(san);
        }
    }
    Ok(out)
}

/// The certificate's subjectAltName entries, in certificate order.
pub fn of_cert(cert: &X509Ref) -> Vec<San> {
    let Some(names) = cert.subject_alt_names() else {
        return Vec::new();
    };
    names
        .iter()
        .map(|n| {
            if let Some(d) = n.dnsname() {
                San::Dns(d.to_string())
            } else if let Some(ip) = n.ipaddress().and_then(ip_from_bytes) {
                San::Ip(ip)
            } else if let Some(u) = n.uri() {
                San::Other(format!("URI:{u}"))
            } else if let Some(e) = n.email() {
                San::Other(format!("email:{e}"))
            } else {
                San::Other("othername:<unsupported>".into())
            }
        })
        .collect()
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b)
            .ok()
            .map(|a| Ipv4Addr::from(a).into()),
        16 => <[u8; 16]>::try_from(b)
            .ok()
            .map(|a| Ipv6Addr::from(a).into()),
        _ => None,
    }
}

/// `None` when the sets are equal, else "missing IP:10.0.0.4; unexpected DNS:old".
pub fn difference(wanted: &[San], actual: &[San]) -> Option<String> {
    let want: BTreeSet<San> = wanted.iter().map(San::normalized).collect();
    let have: BTreeSet<San> = actual.iter().map(San::normalized).collect();
    let join = |set: Vec<&San>| {
        set.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing: Vec<&San> = want.difference(&have).collect();
    let unexpected: Vec<&San> = have.difference(&want).collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {}", join(missing)));
    }
    if !unexpected.is_empty() {
        parts.push(format!("unexpected {}", join(unexpected)));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        San::parse(s)
            .map(|s| s.to_string())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn typed_and_bare_entries() {
        assert_eq!(p("IP:10.0.0.4"), "IP:10.0.0.4");
        assert_eq!(p(" ip: 10.0.0.4 "), "IP:10.0.0.4");
        assert_eq!(p("IP Address:10.0.0.4"), "IP:10.0.0.4");
        assert_eq!(p("DNS:etcd0.example.com"), "DNS:etcd0.example.com");
        assert_eq!(p("10.0.0.4"), "IP:10.0.0.4");
        assert_eq!(p("fd00::4"), "IP:fd00::4");
        assert_eq!(p("abcd::1"), "IP:abcd::1");
        assert_eq!(p("IP:0:0:0:0:0:0:0:1"), "IP:::1");
        assert_eq!(p("etcd0.example.com"), "DNS:etcd0.example.com");
        assert_eq!(p("localhost"), "DNS:localhost");
        assert_eq!(p("*.etcd.svc"), "DNS:*.etcd.svc");
    }

    #[test]
    fn invalid_entries_say_why() {
        assert!(p("IP:999.1.1.1").contains("\"999.1.1.1\" is not an IP address"));
        assert!(p("999.1.1.1").contains("not a valid IP address"));
        assert!(p("DNS:bad name").contains("neither an IP address nor a DNS name"));
        assert!(p("DNS:-lead.example").contains("neither"));
        assert!(p("DNS:").contains("empty name"));
        assert!(p("URI:https://x").contains("only IP: and DNS:"));
        assert!(p("a..b").contains("neither"));
        assert!(p("*").contains("neither"));
    }

    #[test]
    fn duplicates_collapse_case_insensitively() {
        let all = parse_all(&["DNS:Etcd0", "etcd0", "IP:10.0.0.4", "10.0.0.4"]).unwrap();
        assert_eq!(
            all,
            vec![San::Dns("Etcd0".into()), San::Ip([10, 0, 0, 4].into())]
        );
    }

    #[test]
    fn difference_names_both_sides() {
        let want = parse_all(&["IP:10.0.0.4", "DNS:etcd0"]).unwrap();
        let have = parse_all(&["DNS:ETCD0", "DNS:old"]).unwrap();
        assert_eq!(
            difference(&want, &have).unwrap(),
            "missing IP:10.0.0.4; unexpected DNS:old"
        );
        assert_eq!(difference(&want, &want), None);
    }
}
