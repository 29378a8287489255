//! The v2 store beside a snapshot (seed 001 39.1.1.2: "back up all etcd data stores"): an
//! export through the v2 API written into the bundle as `<snapshot>.v2.json`, checked against
//! MANIFEST.json, and state `v2_restored` putting it back into a running cluster.
//!
//! An export rather than an `etcdctl backup` data dir: it restores into the new cluster that
//! restore-snapshot.yml forms from the v3 snapshot (a v2 data-dir backup would be a second,
//! conflicting cluster state), it keeps TTLs and empty directories, and it is checked node by
//! node without an etcd to open it.

use crate::manifest::{self, Manifest, V2Entry};
use ansible_module::{Failure, Response};
use etcd_api::v2::{self, Node, Served};
use etcd_api::ConnOpts;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "etcd-ops-v2/1";

#[derive(Debug, Serialize, Deserialize)]
pub struct Export {
    pub format: String,
    pub endpoint: String,
    pub nodes: Vec<Node>,
}

/// `snapshot-X.db` → `snapshot-X.v2.json`.
pub fn export_name(snapshot_name: &str) -> String {
    let stem = snapshot_name.strip_suffix(".db").unwrap_or(snapshot_name);
    format!("{stem}.v2.json")
}

/// Writes the v2 store of `endpoint` into `dir`, owner-only; None when it serves no v2 API or
/// its v2 store holds no user node (a cluster without v2 data gets no v2 part).
pub fn export(
    conn: &ConnOpts,
    endpoint: &str,
    dir: &Path,
    name: &str,
) -> Result<Option<V2Entry>, Failure> {
    let nodes = match v2::read_tree(conn, endpoint)
        .map_err(|e| Failure::new(format!("exporting the v2 store: {e}")))?
    {
        Served::Off => return Ok(None),
        Served::Yes(n) if n.is_empty() => return Ok(None),
        Served::Yes(n) => n,
    };
    let doc = Export {
        format: FORMAT.into(),
        endpoint: endpoint.into(),
        nodes,
    };
    let text = serde_json::to_string_pretty(&doc)
        .map_err(|e| Failure::new(format!("serializing the v2 export: {e}")))?;
    let path = dir.join(name);
    confedit::atomic::write_atomic_mode(&path, text.as_bytes(), 0o600)
        .map_err(|e| Failure::new(format!("writing {}: {e}", path.display())))?;
    Ok(Some(entry_for(name, &doc, &path)?))
}

fn entry_for(name: &str, doc: &Export, path: &Path) -> Result<V2Entry, Failure> {
    let dirs = doc.nodes.iter().filter(|n| n.dir).count();
    Ok(V2Entry {
        file: name.to_string(),
        sha256: crate::fsutil::sha256_file(path)?,
        nodes: doc.nodes.len(),
        dirs,
        ttl_nodes: doc.nodes.iter().filter(|n| n.ttl.is_some()).count(),
    })
}

/// Reads an export; a file that is not one is an error naming the file.
pub fn read(path: &Path) -> Result<Export, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let doc: Export = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a v2 export: {e}", path.display()))?;
    if doc.format != FORMAT {
        return Err(format!(
            "{}: format {:?}, expected {FORMAT:?}",
            path.display(),
            doc.format
        ));
    }
    for n in &doc.nodes {
        if !n.key.starts_with('/') || n.dir == n.value.is_some() {
            return Err(format!(
                "{}: node {:?} is neither a directory nor a key with a value",
                path.display(),
                n.key
            ));
        }
    }
    Ok(doc)
}

/// Problems of the v2 part of a bundle (beyond the sha256 every manifest file gets).
pub fn check(dir: &Path, e: &V2Entry) -> Option<String> {
    let path = dir.join(&e.file);
    let doc = match read(&path) {
        Ok(d) => d,
        Err(err) => return Some(err),
    };
    let have = entry_for(&e.file, &doc, &path).ok()?;
    if (have.nodes, have.dirs, have.ttl_nodes) != (e.nodes, e.dirs, e.ttl_nodes) {
        return Some(format!(
            "{} nodes ({} directories, {} with a TTL), manifest says {} ({}, {})",
            have.nodes, have.dirs, have.ttl_nodes, e.nodes, e.dirs, e.ttl_nodes
        ));
    }
    if have.sha256 != e.sha256 {
        return Some("content changed (sha256 differs)".into());
    }
    None
}

/// The bundle manifest that lists `snapshot` as its snapshot: the bundle on the host, or the
/// copy backup.yml fetched to the controller (snapshot, v2 export and MANIFEST.json).
pub fn manifest_beside(snapshot: &Path) -> Option<(PathBuf, Manifest)> {
    let dir = snapshot.parent()?;
    let m = manifest::read(dir).ok()?;
    let name = snapshot.file_name()?.to_string_lossy().into_owned();
    (m.snapshot.as_ref()?.file == name).then(|| (dir.to_path_buf(), m))
}

/// State `v2_restored`: every node of the export at `path` present with its value in the
/// cluster's v2 store (through the first endpoint); nodes already there are left alone.
pub fn restore(conn: &ConnOpts, path: &Path, check_mode: bool) -> Result<Response, Failure> {
    let doc = read(path)?;
    let endpoint = conn
        .endpoints
        .first()
        .ok_or_else(|| Failure::new("v2_restored needs endpoints"))?;
    let have = match v2::read_tree(conn, endpoint).map_err(Failure::new)? {
        Served::Yes(n) => n,
        Served::Off => {
            return Err(Failure::new(format!(
                "{endpoint} serves no v2 API: start the members with ETCD_ENABLE_V2=true to \
                 restore the {} v2 nodes of {}",
                doc.nodes.len(),
                path.display()
            )))
        }
    };
    let present: std::collections::HashMap<&str, &Node> =
        have.iter().map(|n| (n.key.as_str(), n)).collect();
    let missing: Vec<&Node> = doc
        .nodes
        .iter()
        .filter(|n| match present.get(n.key.as_str()) {
            Some(h) => h.dir != n.dir || h.value != n.value,
            None => true,
        })
        .collect();
    let keys: Vec<&str> = missing.iter().map(|n| n.key.as_str()).collect();
    if check_mode || missing.is_empty() {
        let verb = if missing.is_empty() {
            "every node already present"
        } else {
            "would write"
        };
        return Ok(Response::new()
            .changed(!missing.is_empty())
            .msg(format!(
                "v2 store from {}: {} nodes, {verb}{}",
                path.display(),
                doc.nodes.len(),
                if missing.is_empty() {
                    String::new()
                } else {
                    format!(" {}", missing.len())
                }
            ))
            .set("nodes", doc.nodes.len())
            .set("written", &keys)
            .set("path", path));
    }
    for n in &missing {
        v2::put(conn, endpoint, n).map_err(|e| {
            Failure::new(format!(
                "restoring the v2 store from {}: {e}",
                path.display()
            ))
        })?;
    }
    Ok(Response::new()
        .changed(true)
        .msg(format!(
            "restored {} of {} v2 nodes from {} through {endpoint}",
            missing.len(),
            doc.nodes.len(),
            path.display()
        ))
        .set("nodes", doc.nodes.len())
        .set("written", &keys)
        .set("path", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_export_after_the_snapshot() {
        assert_eq!(
            export_name("snapshot-2024-01-02_030405.db"),
            "snapshot-2024-01-02_030405.v2.json"
        );
    }

    #[test]
    fn an_altered_export_fails_the_check() {
        let dir = std::env::temp_dir().join(format!("v2store-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let doc = Export {
            format: FORMAT.into(),
            endpoint: "https://a:2379".into(),
            nodes: vec![
                Node {
                    key: "/d".into(),
                    dir: true,
                    value: None,
                    ttl: None,
                },
                Node {
                    key: "/d/k".into(),
                    dir: false,
                    value: Some("v".into()),
                    ttl: Some(60),
                },
            ],
        };
        let p = dir.join("x.v2.json");
        std::fs::write(&p, serde_json::to_string(&doc).unwrap()).unwrap();
        let e = entry_for("x.v2.json", &doc, &p).unwrap();
        assert_eq!((e.nodes, e.dirs, e.ttl_nodes), (2, 1, 1));
        assert_eq!(check(&dir, &e), None);
        let altered = std::fs::read_to_string(&p)
            .unwrap()
            .replace("\"v\"", "\"w\"");
        std::fs::write(&p, altered).unwrap();
        assert!(check(&dir, &e).unwrap().contains("sha256"));
        std::fs::write(&p, "{}").unwrap();
        assert!(check(&dir, &e).unwrap().contains("not a v2 export"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
