//! What `openssl x509 -noout -text -fingerprint -sha256` tells an operator, as data a play
//! can act on (renew when `days_remaining` is low, refuse a cert with the wrong SANs).

use crate::ca::signed_by;
use crate::error::{Error, Result};
use crate::keytype;
use crate::san;
use crate::time;
use crate::usage::Usage;
use openssl::hash::MessageDigest;
use openssl::x509::{X509NameRef, X509Ref};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub subject: String,
    pub issuer: String,
    pub subject_alt_names: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    pub days_remaining: i64,
    pub serial: String,
    pub sha256_fingerprint: String,
    pub expired: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_by_ca: Option<bool>,
    pub usage: String,
    /// `serverAuth` and/or `clientAuth`, as the certificate carries them.
    pub extended_key_usage: Vec<String>,
    pub key_type: String,
}

pub fn summarize(cert: &X509Ref, ca: Option<&X509Ref>, now: i64) -> Result<Summary> {
    let not_before = time::unix_seconds(cert.not_before())?;
    let not_after = time::unix_seconds(cert.not_after())?;
    let serial = cert
        .serial_number()
        .to_bn()
        .and_then(|bn| bn.to_hex_str().map(|s| s.to_string()))
        .map_err(|e| Error::openssl("reading the serial number", e))?;
    let fingerprint = cert
        .digest(MessageDigest::sha256())
        .map_err(|e| Error::openssl("computing the SHA-256 fingerprint", e))?;
    let key_type = cert
        .public_key()
        .map(|k| keytype::describe(&k))
        .unwrap_or_else(|_| "unknown".into());
    Ok(Summary {
        subject: name_text(cert.subject_name()),
        issuer: name_text(cert.issuer_name()),
        subject_alt_names: san::of_cert(cert).iter().map(ToString::to_string).collect(),
        not_before: time::iso8601(not_before),
        not_after: time::iso8601(not_after),
        days_remaining: time::whole_days(now, not_after),
        serial,
        sha256_fingerprint: colon_hex(&fingerprint),
        expired: not_after <= now,
        signed_by_ca: ca.map(|ca| signed_by(cert, ca)),
        usage: Usage::of_cert(cert).name().to_string(),
        extended_key_usage: crate::usage::extended_key_usage(cert),
        key_type,
    })
}

/// `CN=etcd0.example.com, O=Example` in certificate order, like `openssl x509 -subject
/// -nameopt oneline` without the spaces around `=`.
pub fn name_text(name: &X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let field = e.object().nid().short_name().unwrap_or("?");
            let value = e
                .data()
                .to_string()
                .unwrap_or_else(|_| "<undecodable>".into());
            format!("{field}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `AB:CD:...`, as openssl prints fingerprints.
pub fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// One `field: value` line per field, so Ansible's diff of two summaries shows exactly which
/// properties of the certificate change.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: &str| out.push_str(&format!("{k}: {v}\n"));
    line("subject", &s.subject);
    line("issuer", &s.issuer);
    line("subject_alt_names", &s.subject_alt_names.join(", "));
    line("usage", &s.usage);
    line("extended_key_usage", &s.extended_key_usage.join(", "));
    line("key_type", &s.key_type);
    line("not_before", &s.not_before);
    line("not_after", &s.not_after);
    line("days_remaining", &s.days_remaining.to_string());
    line("expired", &s.expired.to_string());
    if let Some(signed) = s.signed_by_ca {
        line("signed_by_ca", &signed.to_string());
    }
    line("serial", &s.serial);
    line("sha256_fingerprint", &s.sha256_fingerprint);
    out
}
