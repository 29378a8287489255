//! `<labdir>/lab.json`: what a lab directory holds (slot, members, spares), so that a later
//! process (the CLI's `down`, `kill`, ...) can reopen a lab it did not create.

use crate::error::{Context, Error, Result};
use serde_json::{json, Value};
use std::path::Path;

/// The file name inside the lab dir.
pub const FILE: &str = "lab.json";

/// The recorded shape of a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabState {
    /// The address slot (127.0.<slot>.x).
    pub slot: u8,
    /// Names of the hosts started as the initial cluster.
    pub members: Vec<String>,
    /// Names of the spare hosts (`[new_etcd]`).
    pub spares: Vec<String>,
    /// Whether the hosts are machines (booted systemd hosts) rather than directories.
    pub machines: bool,
    /// The inventory's `etcd_runtime`.
    pub runtime: String,
    /// The legacy etcd build the members run (`build/etcd-<version>`); None: the system's.
    pub etcd_version: Option<String>,
}

impl LabState {
    /// Writes lab.json into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let v = json!({
            "version": 1,
            "slot": self.slot,
            "members": self.members,
            "spares": self.spares,
            "machines": self.machines,
            "runtime": self.runtime,
            "etcd_version": self.etcd_version,
        });
        let path = dir.join(FILE);
        let text = serde_json::to_string_pretty(&v).context("serialising lab state")?;
        std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))
    }

    /// Reads lab.json from `dir`.
    pub fn load(dir: &Path) -> Result<LabState> {
        let path = dir.join(FILE);
        let ctx = || {
            format!(
                "reading lab state {} (is this a lab directory?)",
                path.display()
            )
        };
        let text = std::fs::read_to_string(&path).with_context(ctx)?;
        let v: Value = serde_json::from_str(&text).with_context(ctx)?;
        let slot = v["slot"]
            .as_u64()
            .and_then(|s| u8::try_from(s).ok())
            .with_context(|| format!("{}: missing or invalid \"slot\"", path.display()))?;
        let names = |field: &str| -> Result<Vec<String>> {
            v[field]
                .as_array()
                .with_context(|| format!("{}: missing \"{field}\"", path.display()))?
                .iter()
                .map(|n| {
                    n.as_str().map(str::to_string).ok_or_else(|| {
                        Error::msg(format!("{}: non-string in \"{field}\"", path.display()))
                    })
                })
                .collect()
        };
        Ok(LabState {
            slot,
            members: names("members")?,
            spares: names("spares")?,
            // Labs written before machines existed were process labs.
            machines: v["machines"].as_bool().unwrap_or(false),
            runtime: v["runtime"].as_str().unwrap_or("process").to_string(),
            etcd_version: v["etcd_version"].as_str().map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = std::env::temp_dir().join(format!("lab-state-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = LabState {
            slot: 42,
            members: vec!["etcd1".into(), "etcd2".into()],
            spares: vec!["etcd3".into()],
            machines: true,
            runtime: "systemd".into(),
            etcd_version: Some("3.3.11".into()),
        };
        s.save(&dir).unwrap();
        assert_eq!(LabState::load(&dir).unwrap(), s);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
