//! Putting a new pair on disk: the old pair backed up first, both files staged and synced,
//! then renamed key first. A crash between the renames leaves a key that does not match
//! its certificate, which the next run detects and repairs.

use ansible_module::{Context, Failure};
use pki::issue::Issued;
use std::path::{Path, PathBuf};

const KEY_MODE: u32 = 0o600;
const CERT_MODE: u32 = 0o644;

pub fn require_parent_dir(what: &str, path: &Path) -> Result<(), Failure> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "{what} {}: directory {} does not exist (create it first, e.g. with ansible.builtin.file)",
            path.display(),
            dir.display()
        )))
    }
}

/// Timestamped copies of whichever of the files exist.
pub fn backup(paths: &[&Path]) -> Result<Vec<PathBuf>, Failure> {
    paths
        .iter()
        .filter(|p| p.exists())
        .map(|p| confedit::backup(p).with_context(|| format!("backing up {}", p.display())))
        .collect()
}

pub fn write_pair(cert_path: &Path, key_path: &Path, pair: &Issued) -> Result<(), Failure> {
    let key_pem = pair.key_pem().context("encoding the new key")?;
    let cert_pem = pair.cert_pem().context("encoding the new certificate")?;
    let key = confedit::stage_atomic_mode(key_path, &key_pem, KEY_MODE)
        .with_context(|| format!("writing key_path {}", key_path.display()))?;
    let cert = confedit::stage_atomic_mode(cert_path, &cert_pem, CERT_MODE)
        .with_context(|| format!("writing cert_path {}", cert_path.display()))?;
    key.commit()
        .with_context(|| format!("replacing key_path {}", key_path.display()))?;
    cert.commit()
        .with_context(|| format!("replacing cert_path {}", cert_path.display()))
}
