//! Reading certificates and keys from PEM files. Every message names the option and path,
//! and a passphrase-protected key is refused up front: OpenSSL's default would be to prompt
//! on the terminal, which under Ansible hangs or fails obscurely.

use crate::error::{Error, Result};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use std::io;
use std::path::Path;

/// The file's bytes, or `None` when it does not exist (the caller decides if that is fine).
pub fn read_optional(what: &str, path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::new(format!(
            "reading {what} {}: {e}",
            path.display()
        ))),
    }
}

pub fn read(what: &str, path: &Path) -> Result<Vec<u8>> {
    read_optional(what, path)?.ok_or_else(|| {
        Error::new(format!(
            "reading {what} {}: no such file or directory",
            path.display()
        ))
    })
}

pub fn cert_from_pem(what: &str, path: &Path, pem: &[u8]) -> Result<X509> {
    X509::from_pem(pem).map_err(|_| {
        Error::new(format!(
            "{what} {} is not a PEM certificate",
            path.display()
        ))
    })
}

pub fn key_from_pem(what: &str, path: &Path, pem: &[u8]) -> Result<PKey<Private>> {
    if is_encrypted(pem) {
        return Err(Error::new(format!(
            "{what} {} is encrypted with a passphrase: etcd_cert needs an unencrypted key",
            path.display()
        )));
    }
    // An empty passphrase from the callback keeps OpenSSL from prompting on a terminal.
    PKey::private_key_from_pem_callback(pem, |_| Ok(0)).map_err(|_| {
        Error::new(format!(
            "{what} {} is not a PEM private key",
            path.display()
        ))
    })
}

fn is_encrypted(pem: &[u8]) -> bool {
    let text = String::from_utf8_lossy(pem);
    text.contains("BEGIN ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED")
}

pub fn cert(what: &str, path: &Path) -> Result<X509> {
    cert_from_pem(what, path, &read(what, path)?)
}

pub fn key(what: &str, path: &Path) -> Result<PKey<Private>> {
    key_from_pem(what, path, &read(what, path)?)
}
