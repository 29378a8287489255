//! One data dir inspected: the WAL, the raft snapshots and the bbolt backend, each read
//! without writing and without bbolt's lock. A damaged part is reported and the others still
//! read, so an operator sees everything the dir tells.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use etcd_db::id_hex;
use serde::Serialize;

use crate::error::{DataDirError, WalError};
use crate::snap::{self, Snap};
use crate::wal::{self, HardState, LogId, Torn, Wal};

/// A member as the backend's `members` bucket records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DbMember {
    pub id: String,
    pub name: String,
    pub peer_urls: Vec<String>,
    pub is_learner: bool,
}

/// The newest usable raft snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    pub index: u64,
    pub term: u64,
    pub file: String,
}

/// Everything the dir tells, as the `etcd_data` module returns it.
#[derive(Debug, Serialize)]
pub struct DataDir {
    pub data_dir: PathBuf,
    pub wal_dir: PathBuf,
    /// As etcd prints ids: lowercase hex, no padding.
    pub member_id: Option<String>,
    pub cluster_id: Option<String>,
    pub hardstate: Option<HardState>,
    pub last_entry: Option<LogId>,
    /// The raft snapshot etcd would load: the newest `.snap` that decodes and that a WAL
    /// snapshot record at or below the commit index names.
    pub snapshot: Option<SnapshotInfo>,
    /// The backend's `meta`/`consistent_index`: the last entry applied to the v3 store.
    pub consistent_index: Option<u64>,
    /// What a `--force-new-cluster` from this dir keeps: the larger of the HardState commit
    /// and `consistent_index` (the backend can be ahead of a WAL commit not yet synced).
    pub kept_index: Option<u64>,
    /// v2 data beyond etcd's own `/0`: in the snapshot's store or written by WAL entries after
    /// it (up to the commit). None when a part needed to tell could not be read.
    pub has_v2_data: Option<bool>,
    pub v2_store_keys: Option<u64>,
    pub v2_wal_writes: Option<u64>,
    pub wal_files: Vec<String>,
    pub wal_entries: u64,
    pub entries_overwritten: u64,
    pub torn_tail: bool,
    pub torn_at: Option<Torn>,
    /// From the backend's `members` bucket; `is_learner` is this member's own flag there.
    pub members: Vec<DbMember>,
    pub is_learner: Option<bool>,
    /// Damage that would stop etcd from starting on this dir (a corrupt WAL, an unreadable
    /// backend): such a member cannot be the survivor.
    pub errors: Vec<String>,
    /// Things etcd works around (a broken newest `.snap`, a torn tail) or that could not be told.
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub wal_error: Option<WalError>,
}

fn io_err(path: &Path, e: std::io::Error) -> DataDirError {
    match e.kind() {
        ErrorKind::NotFound => DataDirError::Missing {
            path: path.to_path_buf(),
        },
        _ => DataDirError::Unreadable {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

/// Refuses what is not a readable etcd data dir, naming the path and what is wrong.
fn check_dir(data_dir: &Path) -> Result<(), DataDirError> {
    let md = std::fs::metadata(data_dir).map_err(|e| io_err(data_dir, e))?;
    if !md.is_dir() {
        return Err(DataDirError::NotDataDir {
            path: data_dir.to_path_buf(),
            why: "not a directory".into(),
        });
    }
    let mut entries = std::fs::read_dir(data_dir).map_err(|e| io_err(data_dir, e))?;
    if entries.next().is_none() {
        return Err(DataDirError::Empty {
            path: data_dir.to_path_buf(),
        });
    }
    let member = data_dir.join("member");
    match std::fs::metadata(&member) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(DataDirError::NotDataDir {
                path: data_dir.to_path_buf(),
                why: "member is not a directory".into(),
            })
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(DataDirError::NotDataDir {
                path: data_dir.to_path_buf(),
                why: "it has no member/ directory".into(),
            })
        }
        Err(e) => return Err(io_err(&member, e)),
    }
    // Listing member/ proves it is readable; its parts are read (and reported) one by one.
    std::fs::read_dir(&member).map_err(|e| io_err(&member, e))?;
    Ok(())
}

/// Inspects `data_dir` (and its WAL in `wal_dir`, default `<data_dir>/member/wal`).
pub fn inspect(data_dir: &Path, wal_dir: Option<&Path>) -> Result<DataDir, DataDirError> {
    check_dir(data_dir)?;
    let member = data_dir.join("member");
    let wal_dir = wal_dir.map_or_else(|| member.join("wal"), Path::to_path_buf);
    let snap_dir = member.join("snap");
    let mut d = DataDir {
        data_dir: data_dir.to_path_buf(),
        wal_dir: wal_dir.clone(),
        member_id: None,
        cluster_id: None,
        hardstate: None,
        last_entry: None,
        snapshot: None,
        consistent_index: None,
        kept_index: None,
        has_v2_data: None,
        v2_store_keys: None,
        v2_wal_writes: None,
        wal_files: Vec::new(),
        wal_entries: 0,
        entries_overwritten: 0,
        torn_tail: false,
        torn_at: None,
        members: Vec::new(),
        is_learner: None,
        errors: Vec::new(),
        warnings: Vec::new(),
        wal_error: None,
    };

    let wal = match wal::read_dir(&wal_dir) {
        Ok(w) => Some(w),
        Err(e) => {
            d.errors.push(format!("WAL: {e}"));
            if let Ok(names) = wal::list(&wal_dir) {
                d.wal_files = names;
            }
            d.wal_error = Some(e);
            None
        }
    };
    if let Some(w) = &wal {
        fill_from_wal(&mut d, w);
    }
    let snap = newest_snap(&mut d, &snap_dir, wal.as_ref());
    if let Some(s) = &snap {
        d.snapshot = Some(SnapshotInfo {
            index: s.index,
            term: s.term,
            file: s.file.clone(),
        });
    }
    v2_facts(&mut d, snap.as_ref(), wal.as_ref());
    backend(&mut d, &snap_dir.join("db"));
    // What force-new-cluster keeps on every member it is re-grown to, once the applied entries
    // are recorded committed (see rank.rs, commit.rs).
    d.kept_index = match (d.hardstate, d.consistent_index) {
        (None, None) => None,
        (hs, ci) => Some(crate::commit::target(
            hs.unwrap_or_default(),
            ci,
            d.last_entry.map(|e| e.index),
        )),
    };
    Ok(d)
}

fn fill_from_wal(d: &mut DataDir, w: &Wal) {
    d.member_id = w.member_id.map(id_hex);
    d.cluster_id = w.cluster_id.map(id_hex);
    d.hardstate = w.hardstate;
    d.last_entry = w.last_entry;
    d.wal_files = w.files.clone();
    d.wal_entries = w.entries;
    d.entries_overwritten = w.overwritten;
    d.torn_tail = w.torn.is_some();
    d.torn_at = w.torn.clone();
    if let Some(t) = &w.torn {
        d.warnings.push(format!(
            "WAL {} ends in a torn write at byte {}: etcd truncates it there on start",
            t.file, t.offset
        ));
    }
    if w.hardstate.is_none() {
        d.warnings
            .push("the WAL has no HardState: the member never persisted a commit".into());
    }
}

/// etcd's `LoadNewestAvailable`: the newest `.snap` that decodes and matches a WAL snapshot
/// record at or below the commit. Without a readable WAL, the newest that decodes.
fn newest_snap(d: &mut DataDir, dir: &Path, wal: Option<&Wal>) -> Option<Snap> {
    let names = match snap::list(dir) {
        Ok(n) => n,
        Err(e) => {
            d.warnings.push(format!("snapshots: {e}"));
            return None;
        }
    };
    let commit = wal.and_then(|w| w.hardstate).map_or(0, |h| h.commit);
    for name in names {
        match snap::load(dir, &name) {
            Ok(s) => {
                let named = wal.is_none_or(|w| {
                    w.snapshots
                        .iter()
                        .any(|r| r.index == s.index && r.term == s.term && r.index <= commit)
                });
                if named {
                    return Some(s);
                }
                d.warnings.push(format!(
                    "snapshot {name} is not named by the WAL at or below the commit; etcd skips it"
                ));
            }
            Err(e) => d.warnings.push(format!(
                "snapshot {e}: etcd sets it aside and uses an older one"
            )),
        }
    }
    None
}

fn v2_facts(d: &mut DataDir, snap: Option<&Snap>, wal: Option<&Wal>) {
    let store = snap.map_or(0, |s| s.store.keys + s.store.dirs + s.store.auth_nodes);
    let store_has = snap.is_some_and(|s| s.store.has_user_data());
    d.v2_store_keys = Some(store);
    if let Some(s) = snap {
        if !s.store.other_top_level.is_empty() {
            d.warnings.push(format!(
                "the v2 store has top-level entries etcd does not write: {}",
                s.store.other_top_level.join(", ")
            ));
        }
    }
    let Some(w) = wal else {
        d.has_v2_data = store_has.then_some(true);
        return;
    };
    let from = snap.map_or(0, |s| s.index);
    let commit = w.hardstate.map_or(0, |h| h.commit);
    let writes = w
        .v2_writes
        .iter()
        .filter(|&&i| i > from && i <= commit)
        .count() as u64;
    d.v2_wal_writes = Some(writes);
    d.has_v2_data = Some(store_has || writes > 0);
}

#[derive(serde::Deserialize)]
struct MemberJson {
    #[serde(default)]
    name: String,
    #[serde(rename = "peerURLs", default)]
    peer_urls: Vec<String>,
    #[serde(rename = "isLearner", default)]
    is_learner: bool,
}

fn backend(d: &mut DataDir, db: &Path) {
    let buckets = match etcd_db::read_buckets(db, &[b"meta", b"members"]) {
        Ok(b) => b,
        Err(e) => {
            d.errors.push(format!("backend {}: {e}", db.display()));
            return;
        }
    };
    match etcd_db::consistent_index(&buckets) {
        Ok(ci) => d.consistent_index = ci,
        Err(e) => d.errors.push(format!("backend {}: {e}", db.display())),
    }
    for (k, v) in buckets.get(b"members".as_slice()).into_iter().flatten() {
        let id = String::from_utf8_lossy(k).into_owned();
        match serde_json::from_slice::<MemberJson>(v) {
            Ok(m) => d.members.push(DbMember {
                id,
                name: m.name,
                peer_urls: m.peer_urls,
                is_learner: m.is_learner,
            }),
            Err(e) => d
                .warnings
                .push(format!("backend member {id}: not etcd's member JSON: {e}")),
        }
    }
    if let Some(me) = &d.member_id {
        d.is_learner = d.members.iter().find(|m| &m.id == me).map(|m| m.is_learner);
    }
}
