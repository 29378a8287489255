//! The operator's CA, checked before anything is signed with it: a certificate that is not a
//! CA, a key from another CA or an expired CA would produce certificates etcd rejects later,
//! on restart, when the failure is far harder to trace back here.

use crate::error::{Error, Result};
use crate::load;
use crate::time;
use foreign_types::ForeignTypeRef;
use openssl::pkey::{PKey, PKeyRef, Private};
use openssl::x509::{X509Ref, X509VerifyResult, X509};
use std::path::{Path, PathBuf};

/// A CA certificate and its key. Deliberately not `Debug`: the key must never be printed.
pub struct Ca {
    cert: X509,
    key: PKey<Private>,
    path: PathBuf,
}

impl Ca {
    pub fn load(cert_path: &Path, key_path: &Path, now: i64) -> Result<Ca> {
        let cert = load_cert(cert_path)?;
        let key = load::key("ca_key", key_path)?;
        let matches = cert
            .public_key()
            .map(|pk| pk.public_eq(&key))
            .unwrap_or(false);
        if !matches {
            return Err(Error::new(format!(
                "ca_key {} does not match ca_cert {}",
                key_path.display(),
                cert_path.display()
            )));
        }
        let not_after = time::unix_seconds(cert.not_after())?;
        if not_after <= now {
            return Err(Error::new(format!(
                "ca_cert {} expired on {}: renew the CA before issuing member certificates",
                cert_path.display(),
                time::iso8601(not_after)
            )));
        }
        Ok(Ca {
            cert,
            key,
            path: cert_path.to_path_buf(),
        })
    }

    pub fn cert(&self) -> &X509Ref {
        &self.cert
    }

    pub(crate) fn key(&self) -> &PKeyRef<Private> {
        &self.key
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A CA certificate without its key (enough to check signatures), refused when it is not a CA.
pub fn load_cert(path: &Path) -> Result<X509> {
    let cert = load::cert("ca_cert", path)?;
    if !is_ca(&cert) {
        return Err(Error::new(format!(
            "ca_cert {} is not a CA certificate (no basicConstraints CA:TRUE)",
            path.display()
        )));
    }
    Ok(cert)
}

/// basicConstraints present with CA:TRUE. Stricter than OpenSSL's X509_check_ca, which also
/// accepts v1 self-signed certificates that Go (and so etcd) would refuse as a CA.
pub fn is_ca(cert: &X509Ref) -> bool {
    // SAFETY: `cert` is a valid X509 for the duration of the call; the function only reads
    // (and caches) the parsed extension flags.
    let flags = unsafe { openssl_sys::X509_get_extension_flags(cert.as_ptr()) };
    flags & openssl_sys::EXFLAG_BCONS != 0 && flags & openssl_sys::EXFLAG_CA != 0
}

/// Whether `ca` issued `cert`: names (and key identifiers) chain, and the signature verifies.
pub fn signed_by(cert: &X509Ref, ca: &X509Ref) -> bool {
    ca.issued(cert) == X509VerifyResult::OK
        && ca
            .public_key()
            .and_then(|k| cert.verify(&k))
            .unwrap_or(false)
}
