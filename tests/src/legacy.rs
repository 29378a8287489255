//! Which etcd build a lab runs: the system's (Debian's 3.4) or a legacy one that
//! `make legacy-etcd` built from source into `build/etcd-<version>/` (what OpenShift 3.x ran).

use crate::error::{Context, Error, Result};
use std::os::unix::fs::PermissionsExt;
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

/// The RHEL 7 etcd RPM's unit (3.2 and 3.3 alike), word for word: before 3.4 etcd accepted a
/// flag that repeats an ETCD_* variable of etcd.conf, and the RPM passed these three as flags.
/// (3.4 refuses that, which is why the machine tree's own unit has none; restore-quorum.yml's
/// force-new-cluster drop-in repeats whichever ExecStart the host has.)
pub const RPM_UNIT: &str = r#"[Unit]
Description=Etcd Server
After=network.target
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
WorkingDirectory=/var/lib/etcd/
EnvironmentFile=-/etc/etcd/etcd.conf
User=etcd
# set GOMAXPROCS to number of processors
ExecStart=/bin/bash -c "GOMAXPROCS=$(nproc) /usr/bin/etcd --name=\"${ETCD_NAME}\" --data-dir=\"${ETCD_DATA_DIR}\" --listen-client-urls=\"${ETCD_LISTEN_CLIENT_URLS}\""
Restart=on-failure
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
"#;

/// Makes a machine's disk (`root`, its overlay's merged view) an RPM install of the legacy
/// `build`: its etcd and etcdctl at /usr/bin, where the package puts them (and where the
/// kubelet stand-in's pod and an operator's shell find them), and the RPM's unit. The shared
/// tree below is not touched: only this machine's layer changes.
pub fn install_on_machine(build: &EtcdBuild, root: &Path) -> Result<()> {
    let Some(version) = &build.version else {
        return Ok(());
    };
    let ctx = || {
        format!(
            "installing etcd {version} on the machine at {}",
            root.display()
        )
    };
    for (src, dest) in [
        (&build.etcd, "usr/bin/etcd"),
        (&build.etcdctl, "usr/bin/etcdctl"),
    ] {
        let dest = root.join(dest);
        // Removed first, so overlayfs does not copy the tree's 3.4 binary up only to overwrite it.
        let _ = std::fs::remove_file(&dest);
        std::fs::copy(src, &dest)
            .with_context(|| format!("copying {} to {}", src.display(), dest.display()))
            .with_context(ctx)?;
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("chmod 0755 {}", dest.display()))
            .with_context(ctx)?;
    }
    let unit = root.join("usr/lib/systemd/system/etcd.service");
    std::fs::write(&unit, RPM_UNIT)
        .with_context(|| format!("writing {}", unit.display()))
        .with_context(ctx)
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
