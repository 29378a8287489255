//! State `verified`: a snapshot file, a raw `member/snap/db` copy, or a whole backup bundle,
//! checked with the native reader. Read-only.

use crate::manifest::{self, Difference};
use crate::v2store;
use ansible_module::{Failure, Response};
use etcd_db::SnapshotStatus;
use std::path::Path;

/// `etcdctl snapshot status` plus the trailer check; any defect is a failure naming it.
pub fn file(path: &Path) -> Result<SnapshotStatus, Failure> {
    etcd_db::status(path).map_err(|e| {
        Failure::new(format!(
            "{} is not a sound etcd snapshot: {e}",
            path.display()
        ))
    })
}

pub fn verify(path: &Path) -> Result<Response, Failure> {
    if path.is_dir() {
        return bundle(path);
    }
    let status = file(path)?;
    // The snapshot of a bundle (or of backup.yml's copy on the controller, which brings the
    // manifest along) answers for the bundle's v2 part too: restore-snapshot.yml restores it.
    let beside = v2store::manifest_beside(path);
    let v2 = beside
        .as_ref()
        .and_then(|(d, m)| m.v2.as_ref().map(|e| (d, e)));
    if let Some((dir, e)) = v2 {
        if let Some(problem) = v2store::check(dir, e) {
            return Err(Failure::new(format!(
                "the v2 part {} of {}'s bundle differs from its manifest: {problem}",
                dir.join(&e.file).display(),
                path.display()
            ))
            .with("bundle", dir));
        }
    }
    let kind = if status.has_hash {
        "snapshot with a matching sha256 trailer"
    } else {
        "database without a sha256 trailer (a raw member/snap/db copy)"
    };
    Ok(Response::new()
        .msg(format!(
            "{} is a sound {kind}: revision {}, {} keys, hash {}",
            path.display(),
            status.revision,
            status.total_key,
            status.hash
        ))
        .set("path", path)
        .merge(&status)
        .set("in_bundle", beside.is_some())
        .set("v2_export", v2.map(|(d, e)| d.join(&e.file)))
        .set("v2_nodes", v2.map(|(_, e)| e.nodes).unwrap_or(0)))
}

/// A bundle is sound when every file matches its manifest entry and the snapshot inside
/// verifies with the numbers the manifest recorded.
fn bundle(dir: &Path) -> Result<Response, Failure> {
    if !dir.join(manifest::FILE).exists() {
        return Err(Failure::new(format!(
            "{} is a directory without a {}: give a snapshot file or a backup bundle",
            dir.display(),
            manifest::FILE
        )));
    }
    let m = manifest::read(dir)?;
    let mut diffs = manifest::differences(dir, &m);
    let status = match &m.snapshot {
        None => None,
        Some(entry) => match etcd_db::status(&dir.join(&entry.file)) {
            Ok(s) => Some((entry, s)),
            Err(e) => {
                diffs.push(Difference {
                    path: entry.file.clone(),
                    problem: format!("not a sound etcd snapshot: {e}"),
                });
                None
            }
        },
    };
    if let Some((entry, s)) = &status {
        let recorded = (
            entry.hash,
            entry.revision,
            entry.total_key,
            entry.total_size,
        );
        if (s.hash, s.revision, s.total_key, s.total_size) != recorded {
            diffs.push(Difference {
                path: entry.file.clone(),
                problem: format!(
                    "status (hash {}, revision {}, {} keys, {} bytes) differs from the manifest's \
                     (hash {}, revision {}, {} keys, {} bytes)",
                    s.hash,
                    s.revision,
                    s.total_key,
                    s.total_size,
                    recorded.0,
                    recorded.1,
                    recorded.2,
                    recorded.3
                ),
            });
        }
    }
    if let Some(e) = &m.v2 {
        if let Some(problem) = v2store::check(dir, e) {
            diffs.push(Difference {
                path: e.file.clone(),
                problem,
            });
        }
    }
    if !diffs.is_empty() {
        let list: Vec<String> = diffs
            .iter()
            .map(|d| format!("{}: {}", d.path, d.problem))
            .collect();
        return Err(Failure::new(format!(
            "backup bundle {} differs from its manifest: {}",
            dir.display(),
            list.join("; ")
        ))
        .with("differences", &diffs)
        .with("bundle", dir));
    }
    let mut resp = Response::new()
        .msg(format!(
            "backup bundle {} is intact: {} entries match the manifest, {}",
            dir.display(),
            m.files.len(),
            match &m.snapshot {
                Some(entry) => format!("snapshot at revision {}", entry.revision),
                None => "no snapshot (config only)".to_string(),
            } + &match &m.v2 {
                Some(e) => format!(", v2 store of {} nodes", e.nodes),
                None => String::new(),
            }
        ))
        .set("path", dir)
        .set("bundle", dir)
        .set("differences", Vec::<Difference>::new())
        .set("files_checked", m.files.len())
        .set("created", &m.created)
        .set("cluster_id", &m.cluster_id)
        .set("member_id", &m.member_id)
        .set("etcd_version", &m.etcd_version)
        .set("v2_export", m.v2.as_ref().map(|e| dir.join(&e.file)))
        .set("v2_nodes", m.v2.as_ref().map(|e| e.nodes).unwrap_or(0));
    if let Some((_, s)) = status {
        resp = resp.merge(&s);
    }
    Ok(resp)
}
