//! State `restored`: a snapshot turned into a member's data dir with the tool of the installed
//! etcd (`etcdutl` from 3.5, else the host's own `etcdctl`: 3.4, 3.3, 3.2), restored beside the
//! data dir and renamed into place, so a failed restore never leaves a half-written data dir
//! where etcd would start.

use crate::fsutil;
use crate::manifest;
use crate::verify;
use ansible_module::{Failure, Response};
use confedit::InitialCluster;
use etcd_datadir::aside;
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

impl Marker {
    /// Whether the data dir already holds this very restore: same member, token and snapshot.
    fn holds(&self, id: &Identity, token: &str, sha: &str) -> bool {
        self.member_id == id.member_id
            && self.initial_cluster_token == token
            && self.snapshot_sha256 == sha
    }
}

/// The member this restore creates, worked out before anything runs.
#[derive(Debug, Clone, Serialize)]
struct Identity {
    member_id: String,
    cluster_id: String,
    initial_cluster: String,
    initial_advertise_peer_urls: Vec<String>,
}

/// As etcd's own `snapshot restore` reads: verify the snapshot, check the data dir, stage the
/// restore beside it, rename it into place. Each step is a function below; this only orders
/// them and says what happened.
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

    if let Some(m) = read_marker(data_dir).filter(|m| m.holds(&id, &a.token, &sha)) {
        return Ok(base.msg(format!(
            "{} already holds this restore (member {}, restored {})",
            data_dir.display(),
            m.member_id,
            m.restored_at
        )));
    }

    let warnings = verify_snapshot(&snapshot, a.skip_hash_check)?;
    let target = check_data_dir(data_dir, a.force)?;
    if a.check_mode {
        let mut msg = format!(
            "would restore {} into {} as member {} ({}) of cluster {}",
            snapshot.display(),
            data_dir.display(),
            a.name,
            id.member_id,
            id.cluster_id
        );
        if let Some(p) = &target.aside {
            msg.push_str(&format!(", moving the current data dir to {}", p.display()));
        }
        return Ok(with_warnings(
            base.changed(true)
                .msg(msg)
                .set("moved_aside", &target.aside),
            warnings,
        ));
    }

    let tool = Tool::find()?;
    let staging = stage(&tool, &snapshot, a, &id, &sha, &target)?;
    rename_into_place(&staging, data_dir, &target)?;
    let mut msg = format!(
        "restored {} into {} with {} as member {} ({}) of cluster {}",
        snapshot.display(),
        data_dir.display(),
        tool.name,
        a.name,
        id.member_id,
        id.cluster_id
    );
    if let Some(p) = &target.aside {
        msg.push_str(&format!("; the previous data dir is at {}", p.display()));
    }
    Ok(with_warnings(
        base.changed(true)
            .msg(msg)
            .set("moved_aside", &target.aside)
            .set("tool", tool.name),
        warnings,
    ))
}

/// Step 1, verify: a snapshot without its sha256 trailer cannot be proven intact, and is
/// restored only when the task says so (with a warning).
fn verify_snapshot(snapshot: &Path, skip_hash_check: bool) -> Result<Vec<String>, Failure> {
    if skip_hash_check {
        return Ok(vec![
            "skip_hash_check: the snapshot was not verified before the restore".into(),
        ]);
    }
    let status = verify::file(snapshot)?;
    if !status.has_hash {
        return Err(Failure::new(format!(
            "{} has no sha256 trailer (a raw member/snap/db copy?): its integrity cannot be \
             proven; set skip_hash_check to restore it anyway",
            snapshot.display()
        )));
    }
    Ok(Vec::new())
}

/// Where a restore goes: beside the data dir, and where its present content is moved.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    /// The directory holding the data dir: staging happens here, so the rename is atomic. For
    /// a mount point, the data dir itself: beside it is another filesystem.
    parent: PathBuf,
    /// Where a non-empty data dir is moved (kept, never deleted); None when it is missing or empty.
    aside: Option<PathBuf>,
    /// The data dir is a mount point (a dedicated disk): it cannot be renamed, so its entries
    /// are set aside inside it and the restore's entries moved in (etcd_datadir::aside).
    mount_point: bool,
}

/// Step 2, check the data dir: missing or empty is fine; anything else only with `force`,
/// and then it is moved aside, not deleted.
fn check_data_dir(data_dir: &Path, force: bool) -> Result<Target, Failure> {
    check_data_dir_on(data_dir, force, aside::is_mount_point(data_dir))
}

fn check_data_dir_on(data_dir: &Path, force: bool, mount_point: bool) -> Result<Target, Failure> {
    let occupant = occupant(data_dir)?;
    if let Some(what) = &occupant {
        if !force {
            return Err(Failure::new(format!(
                "data_dir {} is not empty (it holds {what}): set force to move it aside first",
                data_dir.display()
            )));
        }
    }
    let occupied = occupant.is_some();
    if mount_point {
        let label = format!("{}.bak", fsutil::file_stamp(SystemTime::now()));
        let aside =
            match aside::plan(data_dir, &label, true).map_err(|e| Failure::new(e.to_string()))? {
                aside::Plan::Inside { to, .. } => Some(to),
                _ => None,
            };
        return Ok(Target {
            parent: data_dir.to_path_buf(),
            aside: aside.filter(|_| occupied),
            mount_point,
        });
    }
    Ok(Target {
        parent: parent_of(data_dir)?,
        aside: occupied.then(|| aside_path(data_dir)),
        mount_point,
    })
}

/// Step 3, stage: the tool restores into a hidden directory beside the data dir, which then
/// gets the marker, mode and owner etcd needs. A failure removes the staging dir, so the data
/// dir is untouched.
fn stage(
    tool: &Tool,
    snapshot: &Path,
    a: &RestoreArgs,
    id: &Identity,
    sha: &str,
    target: &Target,
) -> Result<PathBuf, Failure> {
    let staging = staging_path(target, &a.data_dir, std::process::id());
    let _ = fs::remove_dir_all(&staging);
    let result = tool
        .run(snapshot, &staging, a, id)
        .and_then(|()| finish_staging(&staging, &a.data_dir, a, id, sha));
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    Ok(staging)
}

/// `<parent>/.<data dir name>.restoring.<pid>`: hidden, and on the data dir's filesystem;
/// inside a mount point, named so that it is not taken for data.
fn staging_path(target: &Target, data_dir: &Path, pid: u32) -> PathBuf {
    if target.mount_point {
        return target
            .parent
            .join(format!("{}restoring.{pid}", aside::INSIDE_PREFIX));
    }
    let name = data_dir
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    target.parent.join(format!(".{name}.restoring.{pid}"))
}

/// Step 4, rename: the old data dir aside (or an empty one removed), the staged one into its
/// place, the parent synced. Only the last rename makes the restore visible to etcd.
fn rename_into_place(staging: &Path, data_dir: &Path, target: &Target) -> Result<(), Failure> {
    if target.mount_point {
        return move_into_mount_point(staging, data_dir, target);
    }
    if let Some(p) = &target.aside {
        fs::rename(data_dir, p).map_err(|e| {
            let _ = fs::remove_dir_all(staging);
            Failure::new(format!(
                "moving {} aside to {}: {e}",
                data_dir.display(),
                p.display()
            ))
        })?;
    } else if data_dir.exists() {
        fs::remove_dir(data_dir).map_err(|e| {
            let _ = fs::remove_dir_all(staging);
            Failure::new(format!("replacing empty {}: {e}", data_dir.display()))
        })?;
    }
    fs::rename(staging, data_dir).map_err(|e| {
        Failure::new(format!(
            "renaming the restored {} to {}: {e} (the restore is complete in {})",
            staging.display(),
            data_dir.display(),
            staging.display()
        ))
    })?;
    Ok(fsutil::sync_dir(&target.parent)?)
}

/// The mount point's entries set aside inside it, then the staged entries moved in, each a
/// rename on the same disk; the staging dir's mode and owner given to the mount point.
fn move_into_mount_point(staging: &Path, data_dir: &Path, target: &Target) -> Result<(), Failure> {
    let fail = |e: String| {
        Failure::new(format!(
            "{e} (the restore is complete in {}; {} is a mount point)",
            staging.display(),
            data_dir.display()
        ))
    };
    if let Some(to) = &target.aside {
        let entries = aside::data_entries(data_dir).map_err(|e| fail(e.to_string()))?;
        let plan = aside::Plan::Inside {
            to: to.clone(),
            entries,
        };
        aside::apply(data_dir, "", plan).map_err(|e| fail(e.to_string()))?;
    }
    let staged =
        fs::read_dir(staging).map_err(|e| fail(format!("listing {}: {e}", staging.display())))?;
    for e in staged {
        let e = e.map_err(|e| fail(format!("listing {}: {e}", staging.display())))?;
        let to = data_dir.join(e.file_name());
        fs::rename(e.path(), &to).map_err(|err| {
            fail(format!(
                "moving {} to {}: {err}",
                e.path().display(),
                to.display()
            ))
        })?;
    }
    let md = fs::metadata(staging).map_err(|e| fail(format!("{}: {e}", staging.display())))?;
    fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| fail(format!("setting mode 0700 on {}: {e}", data_dir.display())))?;
    std::os::unix::fs::chown(data_dir, Some(md.uid()), Some(md.gid())).map_err(|e| {
        fail(format!(
            "giving {} to {}:{}: {e}",
            data_dir.display(),
            md.uid(),
            md.gid()
        ))
    })?;
    fs::remove_dir(staging).map_err(|e| fail(format!("removing {}: {e}", staging.display())))?;
    Ok(fsutil::sync_dir(data_dir)?)
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
    // The shapes every module takes for an initial cluster (etcd_conf's, say), parsed once.
    let text = confedit::module::initial_cluster_members("initial_cluster", &a.initial_cluster)?
        .iter()
        .flat_map(|(name, urls)| urls.iter().map(move |u| format!("{name}={u}")))
        .collect::<Vec<_>>()
        .join(",");
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
    // A disk's `lost+found` and data set aside in it are not data.
    let names = aside::data_entries(data_dir).map_err(|e| Failure::new(e.to_string()))?;
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

    /// `snapshot restore` of this tool. etcdctl before 3.4 (3.3, 3.2: no etcdutl there) speaks
    /// API v2 unless told otherwise, and 3.4's restores only through v3: ETCDCTL_API=3 always,
    /// which etcdutl ignores.
    fn command(&self, snapshot: &Path, out: &Path, a: &RestoreArgs, id: &Identity) -> Command {
        let mut cmd = Command::new(&self.path);
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
        cmd
    }

    fn run(
        &self,
        snapshot: &Path,
        out: &Path,
        a: &RestoreArgs,
        id: &Identity,
    ) -> Result<(), Failure> {
        let output = self
            .command(snapshot, out, a, id)
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

#[cfg(test)]
mod tests {
    use super::*;
    use modtest::TempDir;
    use serde_json::json;

    fn args(initial_cluster: Value, name: &str, token: &str) -> RestoreArgs {
        RestoreArgs {
            snapshot: PathBuf::from("/nonexistent/snapshot.db"),
            data_dir: PathBuf::from("/var/lib/etcd"),
            name: name.into(),
            initial_cluster,
            token: token.into(),
            peer_urls: Vec::new(),
            skip_hash_check: false,
            force: false,
            check_mode: false,
        }
    }

    #[test]
    fn ids_are_the_ones_etcd_derives() {
        // etcd's defaults: `etcd` alone logs "added member 8e9e05c52164694d
        // [http://localhost:2380] to cluster cdf818194e3a8c32".
        let id = identity(&args(
            json!("default=http://localhost:2380"),
            "default",
            "etcd-cluster",
        ))
        .unwrap();
        assert_eq!(id.member_id, "8e9e05c52164694d");
        assert_eq!(id.cluster_id, "cdf818194e3a8c32");
        assert_eq!(id.initial_advertise_peer_urls, ["http://localhost:2380"]);
    }

    #[test]
    fn a_dict_and_a_string_name_the_same_cluster() {
        let text = "etcd1=https://10.0.0.1:2380,etcd2=https://10.0.0.2:2380";
        let from_text = identity(&args(json!(text), "etcd2", "t")).unwrap();
        let from_dict = identity(&args(
            json!({"etcd1": "https://10.0.0.1:2380", "etcd2": ["https://10.0.0.2:2380"]}),
            "etcd2",
            "t",
        ))
        .unwrap();
        assert_eq!(from_text.member_id, from_dict.member_id);
        assert_eq!(from_text.cluster_id, from_dict.cluster_id);
        // A list, as etcd_conf takes it too.
        let list: Vec<&str> = text.split(',').collect();
        let from_list = identity(&args(json!(list), "etcd2", "t")).unwrap();
        assert_eq!(from_list.cluster_id, from_text.cluster_id);
        // The token is part of every id: another token, another cluster.
        let other = identity(&args(json!(text), "etcd2", "u")).unwrap();
        assert_ne!(other.member_id, from_text.member_id);
        assert_ne!(other.cluster_id, from_text.cluster_id);
    }

    #[test]
    fn a_member_etcd_would_refuse_is_refused_before_the_restore() {
        let text = json!("etcd1=https://10.0.0.1:2380");
        let e = identity(&args(text.clone(), "etcd9", "t")).unwrap_err();
        assert!(
            e.to_string()
                .contains("etcd9 is not in initial_cluster (etcd1)"),
            "{e}"
        );
        let mut a = args(text, "etcd1", "t");
        a.peer_urls = vec!["https://10.0.0.9:2380".into()];
        let e = identity(&a).unwrap_err();
        assert!(e.to_string().contains("etcd would refuse to start"), "{e}");
        let e = identity(&args(json!(3), "etcd1", "t")).unwrap_err();
        assert!(
            e.to_string()
                .contains("initial_cluster: got a value of type"),
            "{e}"
        );
    }

    #[test]
    fn the_marker_matches_only_the_same_restore() {
        let id = identity(&args(json!("a=https://h:2380"), "a", "tok")).unwrap();
        let m = Marker {
            member_id: id.member_id.clone(),
            cluster_id: id.cluster_id.clone(),
            name: "a".into(),
            initial_cluster_token: "tok".into(),
            initial_cluster: id.initial_cluster.clone(),
            snapshot_sha256: "abc".into(),
            restored_at: "2026-01-01T00:00:00Z".into(),
        };
        assert!(m.holds(&id, "tok", "abc"));
        assert!(!m.holds(&id, "tok", "abd"), "another snapshot");
        assert!(!m.holds(&id, "other", "abc"), "another token");
        // The id comes from the peer URLs and the token, not the name.
        let other = identity(&args(json!("a=https://g:2380"), "a", "tok")).unwrap();
        assert!(!m.holds(&other, "tok", "abc"), "another member");
    }

    #[test]
    fn the_data_dir_is_checked_and_a_full_one_kept_aside() {
        let t = TempDir::new("restore-target");
        let data = t.join("etcd");
        // Missing, then empty: restored straight in.
        let target = check_data_dir(&data, false).unwrap();
        assert_eq!(target.parent, t.path());
        assert_eq!(target.aside, None);
        fs::create_dir(&data).unwrap();
        assert_eq!(check_data_dir(&data, false).unwrap().aside, None);
        // Not empty: refused without force, naming what it holds; moved aside with it.
        fs::create_dir(data.join("member")).unwrap();
        let e = check_data_dir(&data, false).unwrap_err().to_string();
        assert!(e.contains("is not empty (it holds member)"), "{e}");
        let aside = check_data_dir(&data, true).unwrap().aside.unwrap();
        let name = aside.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("etcd.") && name.ends_with(".bak"),
            "{name}"
        );
        assert!(!aside.exists());
        // A data dir whose parent is missing cannot be staged beside.
        let e = check_data_dir(&t.join("no/such/etcd"), false).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
    }

    #[test]
    fn staging_is_hidden_beside_the_data_dir() {
        let mut target = Target {
            parent: PathBuf::from("/var/lib"),
            aside: None,
            mount_point: false,
        };
        assert_eq!(
            staging_path(&target, Path::new("/var/lib/etcd"), 42),
            PathBuf::from("/var/lib/.etcd.restoring.42")
        );
        target.parent = PathBuf::from("/var/lib/etcd");
        target.mount_point = true;
        let inside = staging_path(&target, Path::new("/var/lib/etcd"), 42);
        assert_eq!(
            inside,
            PathBuf::from("/var/lib/etcd/etcd-ops-aside.restoring.42")
        );
        assert!(!aside::is_data_entry(
            &inside.file_name().unwrap().to_string_lossy()
        ));
    }

    #[test]
    fn the_rename_keeps_the_old_data_and_puts_the_restore_in_place() {
        let t = TempDir::new("restore-rename");
        let data = t.join("etcd");
        fs::create_dir_all(data.join("member")).unwrap();
        fs::write(data.join("member/old"), "old").unwrap();
        let target = check_data_dir(&data, true).unwrap();
        let staging = staging_path(&target, &data, 1);
        fs::create_dir_all(staging.join("member")).unwrap();
        fs::write(staging.join("member/new"), "new").unwrap();
        rename_into_place(&staging, &data, &target).unwrap();
        assert_eq!(fs::read_to_string(data.join("member/new")).unwrap(), "new");
        assert!(!data.join("member/old").exists());
        let aside = target.aside.unwrap();
        assert_eq!(fs::read_to_string(aside.join("member/old")).unwrap(), "old");
        assert!(!staging.exists());
    }

    /// A mount point (told as such: mounting needs root): staged inside it, its data set aside
    /// inside it, its `lost+found` left, and the directory itself never renamed.
    #[test]
    fn a_mount_point_is_restored_into_in_place() {
        use std::os::unix::fs::MetadataExt;
        let t = TempDir::new("restore-mount");
        let data = t.join("etcd");
        fs::create_dir_all(data.join("member")).unwrap();
        fs::create_dir_all(data.join("lost+found")).unwrap();
        fs::write(data.join("member/old"), "old").unwrap();
        let ino = fs::metadata(&data).unwrap().ino();
        let e = check_data_dir_on(&data, false, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("(it holds member)"), "{e}");
        let target = check_data_dir_on(&data, true, true).unwrap();
        assert_eq!(target.parent, data);
        let staging = staging_path(&target, &data, 1);
        fs::create_dir_all(staging.join("member")).unwrap();
        fs::write(staging.join("member/new"), "new").unwrap();
        fs::write(staging.join(MARKER), "{}").unwrap();
        rename_into_place(&staging, &data, &target).unwrap();
        assert_eq!(
            fs::metadata(&data).unwrap().ino(),
            ino,
            "the mount point was replaced"
        );
        assert_eq!(fs::read_to_string(data.join("member/new")).unwrap(), "new");
        assert!(data.join(MARKER).exists() && data.join("lost+found").is_dir());
        let aside = target.aside.unwrap();
        assert!(aside.starts_with(&data), "{}", aside.display());
        assert_eq!(fs::read_to_string(aside.join("member/old")).unwrap(), "old");
        assert!(!staging.exists());
        assert_eq!(fs::metadata(&data).unwrap().mode() & 0o7777, 0o700);
        // Only lost+found and the aside: empty as far as a restore is concerned.
        fs::remove_dir_all(data.join("member")).unwrap();
        fs::remove_file(data.join(MARKER)).unwrap();
        assert_eq!(check_data_dir_on(&data, false, true).unwrap().aside, None);
    }

    #[test]
    fn etcdctl_is_told_api_v3_and_given_the_member() {
        let a = args(
            json!("etcd1=https://10.0.0.1:2380,etcd2=https://10.0.0.2:2380"),
            "etcd1",
            "tok",
        );
        let id = identity(&a).unwrap();
        let tool = Tool {
            name: "etcdctl",
            path: PathBuf::from("/usr/bin/etcdctl"),
        };
        let cmd = tool.command(
            Path::new("/s.db"),
            Path::new("/v/.etcd.restoring.1"),
            &a,
            &id,
        );
        let envs: Vec<_> = cmd.get_envs().collect();
        assert_eq!(
            envs,
            [(
                std::ffi::OsStr::new("ETCDCTL_API"),
                Some(std::ffi::OsStr::new("3"))
            )],
            "etcdctl 3.2/3.3 default to API v2, which has no snapshot restore"
        );
        let argv: Vec<String> = cmd
            .get_args()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            argv,
            [
                "snapshot",
                "restore",
                "/s.db",
                "--name=etcd1",
                "--initial-cluster=etcd1=https://10.0.0.1:2380,etcd2=https://10.0.0.2:2380",
                "--initial-cluster-token=tok",
                "--initial-advertise-peer-urls=https://10.0.0.1:2380",
                "--data-dir=/v/.etcd.restoring.1",
            ]
        );
    }
}
