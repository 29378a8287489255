//! Whether an existing pair can be kept. The field notes' pitfall 7 (docs/procedures.md): tools
//! reuse a certificate because the file exists, though its SANs or expiry are wrong. Here every
//! property the play asks for is compared, and each mismatch becomes a reason an operator reads in
//! the task result.

use crate::ca::{signed_by, Ca};
use crate::error::Result;
use crate::keytype::{self, KeyType};
use crate::load;
use crate::san::{self, San};
use crate::time;
use crate::usage::Usage;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::{X509Ref, X509};
use std::path::Path;

pub struct Wanted<'a> {
    pub common_name: &'a str,
    pub sans: &'a [San],
    pub usage: Usage,
    pub key_type: KeyType,
    pub renew_before_days: u32,
}

/// Whatever is at cert_path and key_path. Missing or unparsable files are reasons to issue,
/// not errors; unreadable ones (permissions) are errors, since they cannot be backed up.
pub struct Existing {
    pub cert: Option<X509>,
    key: Option<PKey<Private>>,
    /// Why the files themselves cannot be used (missing, not PEM).
    pub problems: Vec<String>,
    /// Whether anything is on disk that a re-issue would replace.
    pub cert_exists: bool,
    pub key_exists: bool,
}

impl Existing {
    pub fn read(cert_path: &Path, key_path: &Path) -> Result<Existing> {
        let mut problems = Vec::new();
        let cert_pem = load::read_optional("cert_path", cert_path)?;
        let key_pem = load::read_optional("key_path", key_path)?;
        let cert = match &cert_pem {
            None => {
                problems.push(format!("{} does not exist", cert_path.display()));
                None
            }
            Some(pem) => load::cert_from_pem("cert_path", cert_path, pem)
                .map_err(|e| problems.push(e.to_string()))
                .ok(),
        };
        let key = match &key_pem {
            None => {
                problems.push(format!("{} does not exist", key_path.display()));
                None
            }
            Some(pem) => load::key_from_pem("key_path", key_path, pem)
                .map_err(|e| problems.push(e.to_string()))
                .ok(),
        };
        Ok(Existing {
            cert,
            key,
            problems,
            cert_exists: cert_pem.is_some(),
            key_exists: key_pem.is_some(),
        })
    }
}

/// Every reason the existing pair cannot be kept; empty means keep it.
pub fn reasons(ca: &Ca, existing: &Existing, wanted: &Wanted, now: i64) -> Result<Vec<String>> {
    let mut out = existing.problems.clone();
    let Some(cert) = &existing.cert else {
        return Ok(out);
    };
    if !signed_by(cert, ca.cert()) {
        out.push(format!("not signed by {}", ca.path().display()));
    }
    if let Some(key) = &existing.key {
        let matches = cert
            .public_key()
            .map(|pk| pk.public_eq(key))
            .unwrap_or(false);
        if !matches {
            out.push("key does not match certificate".into());
        }
    }
    if let Some(diff) = san::difference(wanted.sans, &san::of_cert(cert)) {
        out.push(format!("SANs differ: {diff}"));
    }
    // Compared by extended key usage, not by name: a server certificate with serverAuth and
    // clientAuth (openshift-ansible's, or one issued as peer) is kept for usage server.
    if !wanted.usage.fits(cert) {
        let usage = Usage::of_cert(cert);
        out.push(if usage == Usage::Server && wanted.usage == Usage::Server {
            "usage differs: certificate is server with serverAuth only, wanted server with \
             serverAuth and clientAuth (etcd's gRPC gateway dials the member with it)"
                .to_string()
        } else {
            format!(
                "usage differs: certificate is {}, wanted {}",
                usage.name(),
                wanted.usage.name()
            )
        });
    }
    let cn = common_name(cert);
    if cn.as_deref() != Some(wanted.common_name) {
        out.push(format!(
            "common name differs: certificate has {}, wanted {}",
            cn.as_deref().unwrap_or("none"),
            wanted.common_name
        ));
    }
    let key_type = cert
        .public_key()
        .map(|k| keytype::describe(&k))
        .unwrap_or_else(|_| "unknown".into());
    if key_type != wanted.key_type.name() {
        out.push(format!(
            "key type differs: certificate has {key_type}, wanted {}",
            wanted.key_type.name()
        ));
    }
    out.extend(validity(cert, wanted.renew_before_days, now)?);
    Ok(out)
}

fn validity(cert: &X509Ref, renew_before_days: u32, now: i64) -> Result<Option<String>> {
    let not_before = time::unix_seconds(cert.not_before())?;
    let not_after = time::unix_seconds(cert.not_after())?;
    let days = time::whole_days(now, not_after);
    Ok(if not_after <= now {
        Some(format!("expired on {}", time::iso8601(not_after)))
    } else if not_after - now < i64::from(renew_before_days) * time::DAY {
        Some(format!(
            "expires in {days} days (renew_before_days {renew_before_days})"
        ))
    } else if not_before > now {
        Some(format!(
            "not valid before {}: check the clock of the host that issued it",
            time::iso8601(not_before)
        ))
    } else {
        None
    })
}

fn common_name(cert: &X509Ref) -> Option<String> {
    cert.subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .next()
        .and_then(|e| e.data().to_string().ok())
}
