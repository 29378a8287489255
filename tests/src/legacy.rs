//! Which etcd build a lab runs: the system's (Debian's 3.4) or a legacy one that
//! `make legacy-etcd` built from source into `build/etcd-<version>/` (what OpenShift 3.x ran).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The legacy versions `make legacy-etcd` builds (`LEGACY_ETCD_VERSIONS` in the Makefile).
pub const VERSIONS: [&str; 2] = ["3.3.11", "3.2.32"];

/// An etcd server and its etcdctl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdBuild {
    /// The server binary.
    pub etcd: PathBuf,
    /// The etcdctl of the same version.
    pub etcdctl: PathBuf,
    /// The version of a legacy build; None for the system's etcd.
    pub version: Option<String>,
}

impl Default for EtcdBuild {
    /// The system's etcd: `$LAB_ETCD_BIN`/`$LAB_ETCDCTL_BIN`, else /usr/bin's.
    fn default() -> Self {
        EtcdBuild {
            etcd: crate::process::etcd_bin(),
            etcdctl: crate::lab::etcdctl_bin(),
            version: None,
        }
    }
}

impl EtcdBuild {
    /// The legacy build of `version` in `build/etcd-<version>/`. Fails, saying to run
    /// `make legacy-etcd`, when it has not been built: a test on that version must not pass by
    /// running something else.
    pub fn legacy(version: &str) -> Result<EtcdBuild> {
        let dir = build_dir(version);
        let b = EtcdBuild {
            etcd: dir.join("etcd"),
            etcdctl: dir.join("etcdctl"),
            version: Some(version.to_string()),
        };
        for bin in [&b.etcd, &b.etcdctl] {
            if !bin.is_file() {
                return Err(Error::msg(format!(
                    "etcd {version} is not built ({} is missing): run `make legacy-etcd` \
                     (it needs etcd-v{version}.tar.gz in ETCD_SRC, default ../shared/etcd-src)",
                    bin.display()
                )));
            }
        }
        Ok(b)
    }
}

/// `<repo>/build/etcd-<version>`.
pub fn build_dir(version: &str) -> PathBuf {
    repo_root().join("build").join(format!("etcd-{version}"))
}

/// Shorthand for [`EtcdBuild::legacy`]: the built binaries of `version`.
pub fn bin(version: &str) -> Result<EtcdBuild> {
    EtcdBuild::legacy(version)
}

fn repo_root() -> PathBuf {
    // The lab crate lives in <repo>/tests.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
