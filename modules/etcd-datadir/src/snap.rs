//! Raft snapshot files, `member/snap/<term>-<index>.snap` (`etcdserver/api/snap`): a
//! `snappb.Snapshot { crc = 1; data = 2 }` whose data (CRC-32C checked) is a
//! `raftpb.Snapshot { data = 1; metadata = 2 { conf_state = 1; index = 2; term = 3 } }`
//! whose data is the v2 store as JSON.

use std::path::{Path, PathBuf};

use etcd_db::proto::{self, Value};
use etcd_db::Crc32c;
use serde::Serialize;

use crate::error::SnapError;
use crate::v2::{self, StoreSummary};
use crate::wal::LogId;

/// `%016x-%016x.snap` (term, index), as etcd names them.
pub fn parse_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".snap")?;
    let (term, index) = stem.split_once('-')?;
    let hex16 = |s: &str| {
        (s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u64::from_str_radix(s, 16).ok())
            .flatten()
    };
    Some((hex16(term)?, hex16(index)?))
}

/// The `.snap` names in `dir`, newest first, as etcd orders them (by name, descending).
/// A missing dir has none.
pub fn list(dir: &Path) -> Result<Vec<String>, SnapError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(SnapError::Io {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut names = Vec::new();
    for e in rd {
        let e = e.map_err(|source| SnapError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        if let Some(n) = e.file_name().to_str() {
            if n.ends_with(".snap") {
                names.push(n.to_string());
            }
        }
    }
    names.sort_unstable_by(|a, b| b.cmp(a));
    Ok(names)
}

/// One loaded snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Snap {
    pub file: String,
    pub index: u64,
    pub term: u64,
    /// The v2 store it carries, summarised.
    pub store: StoreSummary,
}

impl Snap {
    pub fn id(&self) -> LogId {
        LogId {
            index: self.index,
            term: self.term,
        }
    }
}

fn malformed(path: &Path, why: impl Into<String>) -> SnapError {
    SnapError::Malformed {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// Decodes a `.snap` file's bytes as etcd's `snap.Read` does, then summarises its v2 store.
pub fn decode(path: &Path, b: &[u8]) -> Result<Snap, SnapError> {
    let empty = || SnapError::Empty {
        path: path.to_path_buf(),
    };
    if b.is_empty() {
        return Err(empty());
    }
    let (mut crc, mut data) = (0u32, &[][..]);
    for f in proto::fields(b) {
        match f.map_err(|e| malformed(path, format!("snappb.Snapshot: {e}")))? {
            (1, Value::Varint(v)) => crc = v as u32,
            (2, Value::Bytes(d)) => data = d,
            _ => {}
        }
    }
    if data.is_empty() || crc == 0 {
        return Err(empty());
    }
    let mut c = Crc32c::new();
    c.update(data);
    if c.sum() != crc {
        return Err(SnapError::CrcMismatch {
            path: path.to_path_buf(),
            stored: crc,
            computed: c.sum(),
        });
    }
    let (mut store, mut meta) = (&[][..], &[][..]);
    for f in proto::fields(data) {
        match f.map_err(|e| malformed(path, format!("raftpb.Snapshot: {e}")))? {
            (1, Value::Bytes(d)) => store = d,
            (2, Value::Bytes(m)) => meta = m,
            _ => {}
        }
    }
    let (mut index, mut term) = (0, 0);
    for f in proto::fields(meta) {
        match f.map_err(|e| malformed(path, format!("raftpb.SnapshotMetadata: {e}")))? {
            (2, Value::Varint(v)) => index = v,
            (3, Value::Varint(v)) => term = v,
            _ => {}
        }
    }
    let store = v2::summarize_store(store).map_err(|why| malformed(path, why))?;
    Ok(Snap {
        file: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        index,
        term,
        store,
    })
}

/// Loads `dir/name`.
pub fn load(dir: &Path, name: &str) -> Result<Snap, SnapError> {
    let path: PathBuf = dir.join(name);
    let b = std::fs::read(&path).map_err(|source| SnapError::Io {
        path: path.clone(),
        source,
    })?;
    decode(&path, &b)
}
