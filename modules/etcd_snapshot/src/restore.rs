//! State `restored`: a snapshot turned into a member's data dir with the tool of the installed
//! etcd (`etcdutl`, else etcd 3.4's `etcdctl`), restored beside the data dir and renamed into
//! place, so a failed restore never leaves a half-written data dir where etcd would start.

use crate::fsutil;
use crate::manifest;
use crate::verify;
use ansible_module::{Failure, Response};
use confedit::InitialCluster;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Recorded inside the restored data dir (etcd 3.4 only warns about unknown entries there), so
/// that running the same restore again changes nothing.
pub const MARKER: &str = ".etcd-ops-restore.json";

pub struct RestoreArgs {
    pub snapshot: PathBuf,
    pub data_dir: PathBuf,
    pub name: String,
    pub initial_cluster: Value,
    pub token: String,
    pub peer_urls: Vec<String>,
    pub skip_hash_check: bool,
    pub force: bool,
    pub check_mode: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Marker {
    member_id: String,
    cluster_id: String,
    name: String,
    initial_cluster_token: String,
    initial_cluster: String,
    snapshot_sha256: String,
    restored_at: String,
}

/// The member this restore creates, worked out before anything runs.
#[derive(Debug, Clone, Serialize)]
struct Identity {
    member_id: String,
    cluster_id: String,
    initial_cluster: String,
    initial_advertise_peer_urls: Vec<String>,
}

pub fn restore(a: &RestoreArgs) -> Result<Response, Failure> {
    let snapshot = snapshot_file(&a.snapshot)?;
    let id = identity(a)?;
    let sha = fsutil::sha256_file(&snapshot)?;
    let data_dir = &a.data_dir;
    let base = Response::new()
        .merge(&id)
        .set("data_dir", data_dir)
        .set("snapshot", &snapshot)
        .set("snapshot_sha256", &sha);

    if let Some(m) = read_marker(data_dir) {
        if m.member_id == id.member_id
            && m.initial_cluster_token == a.token
            && m.snapshot_sha256 == sha
        {
            return Ok(base.msg(format!(
                "{} already holds this restore (member {}, restored {})",
                data_dir.display(),
                m.member_id,
                m.restored_at
            )));
        }
    }

    let mut warnings = Vec::new();
    if a.skip_hash_check {
        warnings.push("skip_hash_check: the snapshot was not verified before the restore".into());
    } else {
        let status = verify::file(&snapshot)?;
        if !status.has_hash {
            return Err(Failure::new(format!(
                "{} has no sha256 trailer (a raw member/snap/db copy?): its integrity cannot be \
                 proven; set skip_hash_check to restore it anyway",
                snapshot.display()
            )));
        }
    }

    let occupied = occupant(data_dir)?;
    if let Some(what) = &occupied {
        if !a.force {
            return Err(Failure::new(format!(
                "data_dir {} is not empty (it holds {what}): set force to move it aside first",
                data_dir.display()
            )));
        }
    }
    let aside = occupied.as_ref().map(|_| aside_path(data_dir));
    let parent = parent_of(data_dir)?;

    if a.check_mode {
        let mut msg = format!(
            "would restore {} into {} as member {} ({}) of cluster {}",
            snapshot.display(),
            data_dir.display(),
            a.name,
            id.member_id,
            id.cluster_id
        );
        if let Some(p) = &aside {
            msg.push_str(&format!(", moving the current data dir to {}", p.display()));
        }
        return Ok(with_warnings(
            base.changed(true).msg(msg).set("moved_aside", &aside),
            warnings,
        ));
    }

    let tool = Tool::find()?;
    let staging = parent.join(format!(
        ".{}.restoring.{}",
        data_dir
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&staging);
    let result = tool
        .run(&snapshot, &staging, a, &id)
        .and_then(|()| finish_staging(&staging, data_dir, a, &id, &sha));
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    if let Some(p) = &aside {
        fs::rename(data_dir, p).map_err(|e| {
            let _ = fs::remove_dir_all(&staging);
            Failure::new(format!(
                "moving {} aside to {}: {e}",
                data_dir.display(),
                p.display()
            ))
        })?;
    } else if data_dir.exists() {
        fs::remove_dir(data_dir).map_err(|e| {
            let _ = fs::remove_dir_all(&staging);
            Failure::new(format!("replacing empty {}: {e}", data_dir.display()))
        })?;
    }
    fs::rename(&staging, data_dir).map_err(|e| {
        Failure::new(format!(
            "renaming the restored {} to {}: {e} (the restore is complete in {})",
            staging.display(),
            data_dir.display(),
            staging.display()
        ))
    })?;
    fsutil::sync_dir(&parent)?;
    let mut msg = format!(
        "restored {} into {} with {} as member {} ({}) of cluster {}",
        snapshot.display(),
        data_dir.display(),
        tool.name,
        a.name,
        id.member_id,
        id.cluster_id
    );
    if let Some(p) = &aside {
        msg.push_str(&format!("; the previous data dir is at {}", p.display()));
    }
    Ok(with_warnings(
        base.changed(true)
            .msg(msg)
            .set("moved_aside", &aside)
            .set("tool", tool.name),
        warnings,
    ))
}

fn with_warnings(mut r: Response, warnings: Vec<String>) -> Response {
    for w in warnings {
        r.warn(w);
    }
    r
}

/// A bundle directory stands for the snapshot inside it.
fn snapshot_file(path: &Path) -> Result<PathBuf, Failure> {
    if path.is_dir() {
        let m = manifest::read(path).map_err(|e| {
            Failure::new(format!(
                "{} is a directory but not a backup bundle: {e}",
                path.display()
            ))
        })?;
        let entry = m.snapshot.ok_or_else(|| {
            Failure::new(format!(
                "backup bundle {} holds no snapshot (a config-only bundle): restore from the \
                 bundle that has one",
                path.display()
            ))
        })?;
        return Ok(path.join(entry.file));
    }
    if !path.is_file() {
        return Err(Failure::new(format!(
            "snapshot {} does not exist",
            path.display()
        )));
    }
    Ok(path.to_path_buf())
}

/// Checks the member against the initial cluster as etcd would, and computes the ids etcd
/// will derive, so a mismatch is reported before the restore rather than at etcd's start.
fn identity(a: &RestoreArgs) -> Result<Identity, Failure> {
    let text = match &a.initial_cluster {
        Value::String(s) => s.clone(),
        Value::Object(map) => {
            let mut parts = Vec::new();
            for (name, urls) in map {
                match urls {
                    Value::String(u) => parts.push(format!("{name}={u}")),
                    Value::Array(list) => {
                        for u in list {
                            let u = u.as_str().ok_or_else(|| {
                                Failure::new(format!(
                                    "initial_cluster.{name}: URLs must be strings"
                                ))
                            })?;
                            parts.push(format!("{name}={u}"));
                        }
                    }
                    _ => {
                        return Err(Failure::new(format!(
                            "initial_cluster.{name}: give a peer URL or a list of them"
                        )))
                    }
                }
            }
            parts.join(",")
        }
        _ => {
            return Err(Failure::new(
                "initial_cluster must be a string name=url,... or a dict name: url",
            ))
        }
    };
    let cluster =
        InitialCluster::parse(&text).map_err(|e| Failure::new(format!("initial_cluster: {e}")))?;
    let mine: Vec<String> = cluster
        .urls(&a.name)
        .into_iter()
        .map(String::from)
        .collect();
    if mine.is_empty() {
        return Err(Failure::new(format!(
            "name {} is not in initial_cluster ({})",
            a.name,
            cluster.names().join(", ")
        )));
    }
    let peer_urls = if a.peer_urls.is_empty() {
        mine.clone()
    } else {
        a.peer_urls.clone()
    };
    let (mut x, mut y) = (peer_urls.clone(), mine.clone());
    x.sort();
    y.sort();
    if x != y {
        return Err(Failure::new(format!(
            "initial_advertise_peer_urls {} differ from {}'s URLs in initial_cluster ({}); etcd \
             would refuse to start",
            peer_urls.join(","),
            a.name,
            mine.join(",")
        )));
    }
    let refs: Vec<&str> = peer_urls.iter().map(String::as_str).collect();
    let member = etcd_db::member_id(&refs, &a.token);
    let ids: Vec<u64> = cluster
        .names()
        .iter()
        .map(|n| etcd_db::member_id(&cluster.urls(n), &a.token))
        .collect();
    Ok(Identity {
        member_id: etcd_db::id_hex(member),
        cluster_id: etcd_db::id_hex(etcd_db::cluster_id(&ids)),
        initial_cluster: cluster.render(),
        initial_advertise_peer_urls: peer_urls,
    })
}

fn read_marker(data_dir: &Path) -> Option<Marker> {
    let text = fs::read_to_string(data_dir.join(MARKER)).ok()?;
    serde_json::from_str(&text).ok()
}

/// What makes `data_dir` unusable as a restore target, or None when it is missing or empty.
fn occupant(data_dir: &Path) -> Result<Option<String>, Failure> {
    let md = match fs::symlink_metadata(data_dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Failure::new(format!("{}: {e}", data_dir.display()))),
    };
    if !md.is_dir() {
        return Ok(Some("a file, not a directory".into()));
    }
    let mut names: Vec<String> = fs::read_dir(data_dir)
        .map_err(|e| Failure::new(format!("listing {}: {e}", data_dir.display())))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok((!names.is_empty()).then(|| names.join(", ")))
}

fn parent_of(data_dir: &Path) -> Result<PathBuf, Failure> {
    let parent = data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or_else(|| Failure::new(format!("data_dir {} has no parent", data_dir.display())))?;
    if !parent.is_dir() {
        return Err(Failure::new(format!(
            "the directory holding data_dir, {}, does not exist",
            parent.display()
        )));
    }
    Ok(parent.to_path_buf())
}

/// `<data_dir>.<UTC stamp>.bak`, never an existing path: what is moved aside is kept.
fn aside_path(data_dir: &Path) -> PathBuf {
    let stamp = fsutil::file_stamp(SystemTime::now());
    (0..)
        .map(|i| {
            let mut s = data_dir.as_os_str().to_owned();
            if i == 0 {
                s.push(format!(".{stamp}.bak"));
            } else {
                s.push(format!(".{stamp}.{i}.bak"));
            }
            PathBuf::from(s)
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| data_dir.with_extension("bak"))
}

/// Marker, mode 0700 (etcd refuses nothing else quietly: it warns and chmods), and the owner
/// of the data dir being replaced, so an etcd running as `etcd` can open what root restored.
fn finish_staging(
    staging: &Path,
    data_dir: &Path,
    a: &RestoreArgs,
    id: &Identity,
    sha: &str,
) -> Result<(), Failure> {
    let marker = Marker {
        member_id: id.member_id.clone(),
        cluster_id: id.cluster_id.clone(),
        name: a.name.clone(),
        initial_cluster_token: a.token.clone(),
        initial_cluster: id.initial_cluster.clone(),
        snapshot_sha256: sha.to_string(),
        restored_at: confedit::atomic::utc_stamp(SystemTime::now()),
    };
    let text = serde_json::to_string_pretty(&marker)
        .map_err(|e| Failure::new(format!("serializing the restore marker: {e}")))?;
    confedit::write_atomic(&staging.join(MARKER), text.as_bytes())
        .map_err(|e| Failure::new(format!("writing the restore marker: {e}")))?;
    fs::set_permissions(staging, fs::Permissions::from_mode(0o700))
        .map_err(|e| Failure::new(format!("setting mode 0700 on {}: {e}", staging.display())))?;
    let owner = fs::metadata(data_dir)
        .or_else(|_| fs::metadata(data_dir.parent().unwrap_or(Path::new("/"))))
        .ok();
    let mine = fs::metadata(staging).ok();
    if let (Some(o), Some(m)) = (owner, mine) {
        if (o.uid(), o.gid()) != (m.uid(), m.gid()) {
            for e in walkdir::WalkDir::new(staging)
                .into_iter()
                .filter_map(Result::ok)
            {
                std::os::unix::fs::lchown(e.path(), Some(o.uid()), Some(o.gid())).map_err(
                    |err| {
                        Failure::new(format!(
                            "giving {} to {}:{}: {err}",
                            e.path().display(),
                            o.uid(),
                            o.gid()
                        ))
                    },
                )?;
            }
        }
    }
    Ok(())
}

/// The restore tool of the installed etcd.
struct Tool {
    name: &'static str,
    path: PathBuf,
}

impl Tool {
    fn find() -> Result<Tool, Failure> {
        for name in ["etcdutl", "etcdctl"] {
            if let Some(path) = which(name) {
                return Ok(Tool { name, path });
            }
        }
        Err(Failure::new(
            "neither etcdutl nor etcdctl is on PATH: install the etcd package on this host",
        ))
    }

    fn run(
        &self,
        snapshot: &Path,
        out: &Path,
        a: &RestoreArgs,
        id: &Identity,
    ) -> Result<(), Failure> {
        let mut cmd = Command::new(&self.path);
        // etcd 3.4's etcdctl restores only through API v3; etcdutl ignores the variable.
        cmd.env("ETCDCTL_API", "3")
            .arg("snapshot")
            .arg("restore")
            .arg(snapshot)
            .arg(format!("--name={}", a.name))
            .arg(format!("--initial-cluster={}", id.initial_cluster))
            .arg(format!("--initial-cluster-token={}", a.token))
            .arg(format!(
                "--initial-advertise-peer-urls={}",
                id.initial_advertise_peer_urls.join(",")
            ))
            .arg(format!("--data-dir={}", out.display()));
        if a.skip_hash_check {
            cmd.arg("--skip-hash-check");
        }
        let output = cmd
            .output()
            .map_err(|e| Failure::new(format!("running {}: {e}", self.path.display())))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last: Vec<&str> = stderr.lines().rev().take(5).collect();
            return Err(Failure::new(format!(
                "{} snapshot restore failed ({}): {}",
                self.name,
                output.status,
                last.into_iter().rev().collect::<Vec<_>>().join(" | ")
            )));
        }
        Ok(())
    }
}

/// PATH first, then where the etcd packages install: `become` may hand us a minimal PATH.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/bin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| {
            fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}
