//! MANIFEST.json of a backup bundle: what each file in the bundle was when it was written (size,
//! mode, sha256, or a symlink's target) and what the snapshot held, so that `verified` can
//! tell an intact bundle from one that was altered, truncated or half-copied.

use crate::fsutil::sha256_file;
use serde::{Deserialize, Serialize};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

pub const FILE: &str = "MANIFEST.json";
/// Bundles carrying another format are not ours: retention never touches them.
pub const FORMAT: &str = "etcd-ops-backup/1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: String,
    /// UTC, `YYYY-MM-DD@HH:MM:SS`.
    pub created: String,
    pub created_ms: u64,
    /// Empty in a config-only bundle (`snapshot: false`), like the ids and endpoint below.
    #[serde(default)]
    pub etcd_version: String,
    #[serde(default)]
    pub cluster_id: String,
    #[serde(default)]
    pub member_id: String,
    #[serde(default)]
    pub endpoint: String,
    /// None in a config-only bundle: the hosts other than the one the snapshot came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotEntry>,
    /// The v2 store's export, when the cluster held v2 data (None: it held none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v2: Option<V2Entry>,
    /// Every file, directory and symlink of the bundle but the manifest, sorted by path.
    pub files: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SnapshotEntry {
    /// Relative to the bundle.
    pub file: String,
    /// sha256 of the database bytes (the trailer).
    pub sha256: String,
    pub hash: u32,
    pub revision: i64,
    pub total_key: u64,
    pub total_size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct V2Entry {
    /// Relative to the bundle.
    pub file: String,
    pub sha256: String,
    /// Keys and directories exported.
    pub nodes: usize,
    pub dirs: usize,
    pub ttl_nodes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// Relative to the bundle.
    pub path: String,
    /// `file`, `dir` or `symlink`.
    pub kind: String,
    /// Permission bits, octal (`0600`).
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// One way a bundle differs from its manifest.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Difference {
    pub path: String,
    pub problem: String,
}

/// Describes `rel` as it is now in `bundle`, without following a symlink.
pub fn describe(bundle: &Path, rel: &str) -> Result<Entry, String> {
    let p = bundle.join(rel);
    let md = fs::symlink_metadata(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let mode = format!("{:04o}", md.permissions().mode() & 0o7777);
    let mut e = Entry {
        path: rel.to_string(),
        kind: String::new(),
        mode,
        size: None,
        sha256: None,
        target: None,
    };
    let ft = md.file_type();
    if ft.is_symlink() {
        e.kind = "symlink".into();
        let t = fs::read_link(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        e.target = Some(t.to_string_lossy().into_owned());
    } else if ft.is_dir() {
        e.kind = "dir".into();
    } else if ft.is_file() {
        e.kind = "file".into();
        e.size = Some(md.len());
        e.sha256 = Some(sha256_file(&p)?);
    } else {
        e.kind = "special".into();
    }
    Ok(e)
}

pub fn read(bundle: &Path) -> Result<Manifest, String> {
    let p = bundle.join(FILE);
    let text = fs::read_to_string(&p).map_err(|e| format!("reading {}: {e}", p.display()))?;
    let m: Manifest =
        serde_json::from_str(&text).map_err(|e| format!("{} is not ours: {e}", p.display()))?;
    if m.format != FORMAT {
        return Err(format!(
            "{}: format {:?}, expected {FORMAT:?}",
            p.display(),
            m.format
        ));
    }
    Ok(m)
}

/// Compares every entry with the bundle as it is, and lists files the manifest does not know.
pub fn differences(bundle: &Path, m: &Manifest) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut known = std::collections::BTreeSet::new();
    for want in &m.files {
        known.insert(want.path.clone());
        let diff = |problem: String| Difference {
            path: want.path.clone(),
            problem,
        };
        let have = match describe(bundle, &want.path) {
            Ok(h) => h,
            Err(e) => {
                out.push(diff(format!("missing or unreadable ({e})")));
                continue;
            }
        };
        if have.kind != want.kind {
            out.push(diff(format!("is a {}, was a {}", have.kind, want.kind)));
            continue;
        }
        if have.size != want.size {
            out.push(diff(format!(
                "size {} bytes, manifest says {}",
                have.size.unwrap_or(0),
                want.size.unwrap_or(0)
            )));
        } else if have.sha256 != want.sha256 {
            out.push(diff("content changed (sha256 differs)".into()));
        }
        if have.target != want.target {
            out.push(diff(format!(
                "symlink points to {:?}, manifest says {:?}",
                have.target.unwrap_or_default(),
                want.target.clone().unwrap_or_default()
            )));
        }
        if have.mode != want.mode {
            out.push(diff(format!(
                "mode {}, manifest says {}",
                have.mode, want.mode
            )));
        }
    }
    for extra in walk_relative(bundle) {
        if extra != FILE && !known.contains(&extra) {
            out.push(Difference {
                path: extra,
                problem: "not in the manifest".into(),
            });
        }
    }
    out
}

/// Every path under `bundle`, relative, without following symlinks.
pub fn walk_relative(bundle: &Path) -> Vec<String> {
    walkdir::WalkDir::new(bundle)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.path()
                .strip_prefix(bundle)
                .ok()
                .map(|r| r.to_string_lossy().into_owned())
        })
        .collect()
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use modtest::TempDir;

    /// A manifest of `bundle` as it is now, created at `created_ms`.
    pub fn manifest_of(bundle: &Path, created_ms: u64) -> Manifest {
        let files = walk_relative(bundle)
            .iter()
            .filter(|p| p.as_str() != FILE)
            .map(|p| describe(bundle, p).unwrap())
            .collect();
        Manifest {
            format: FORMAT.into(),
            created: String::new(),
            created_ms,
            etcd_version: String::new(),
            cluster_id: String::new(),
            member_id: String::new(),
            endpoint: String::new(),
            snapshot: None,
            v2: None,
            files,
        }
    }

    fn problems(bundle: &Path, m: &Manifest) -> Vec<(String, String)> {
        differences(bundle, m)
            .into_iter()
            .map(|d| (d.path, d.problem))
            .collect()
    }

    #[test]
    fn an_intact_bundle_has_no_differences_and_each_alteration_is_named() {
        let t = TempDir::new("manifest");
        let b = t.path();
        fs::create_dir(b.join("etc")).unwrap();
        fs::write(b.join("etc/etcd.conf"), "ETCD_NAME=etcd1\n").unwrap();
        fs::write(b.join("etc/peer.key"), "key").unwrap();
        fs::set_permissions(b.join("etc/peer.key"), fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink("etcd.conf", b.join("etc/link")).unwrap();
        let m = manifest_of(b, 1);
        assert!(problems(b, &m).is_empty(), "{:?}", problems(b, &m));

        // Same size, other bytes; a mode opened up; a truncation; a symlink retargeted; a
        // file removed; a file added.
        fs::write(b.join("etc/etcd.conf"), "ETCD_NAME=etcd2\n").unwrap();
        fs::set_permissions(b.join("etc/peer.key"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::remove_file(b.join("etc/link")).unwrap();
        std::os::unix::fs::symlink("peer.key", b.join("etc/link")).unwrap();
        fs::write(b.join("extra"), "").unwrap();
        assert_eq!(
            problems(b, &m),
            [
                (
                    "etc/etcd.conf".into(),
                    "content changed (sha256 differs)".into()
                ),
                (
                    "etc/link".into(),
                    "symlink points to \"peer.key\", manifest says \"etcd.conf\"".into()
                ),
                (
                    "etc/peer.key".into(),
                    "mode 0644, manifest says 0600".into()
                ),
                ("extra".into(), "not in the manifest".into()),
            ]
        );
        fs::write(b.join("etc/etcd.conf"), "X").unwrap();
        fs::remove_file(b.join("etc/peer.key")).unwrap();
        let p = problems(b, &m);
        assert!(p.contains(&(
            "etc/etcd.conf".into(),
            "size 1 bytes, manifest says 16".into()
        )));
        assert!(
            p.iter()
                .any(|(f, why)| f == "etc/peer.key" && why.starts_with("missing or unreadable")),
            "{p:?}"
        );
    }

    #[test]
    fn only_our_format_is_read() {
        let t = TempDir::new("manifest-format");
        let mut m = manifest_of(t.path(), 1);
        m.format = "someone-else/1".into();
        fs::write(t.join(FILE), serde_json::to_string(&m).unwrap()).unwrap();
        assert!(read(t.path())
            .unwrap_err()
            .contains("expected \"etcd-ops-backup/1\""));
        fs::write(t.join(FILE), "{}").unwrap();
        assert!(read(t.path()).unwrap_err().contains("is not ours"));
    }
}
