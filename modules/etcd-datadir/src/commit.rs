//! Records as committed, in a stopped member's WAL, the entries its backend already applied.
//!
//! etcd applies only committed entries, so a backend's `consistent_index` proves that every
//! entry up to it was committed. The WAL's HardState can say less: etcd writes a HardState whose
//! only change is the commit index without syncing it, and a killed member loses what sat in the
//! WAL's write buffer. `--force-new-cluster` then keeps the log only up to that stale commit, and
//! the acknowledged writes after it reach no member re-added from the survivor (they linger in
//! its own database alone). Appending one HardState record, `commit = min(consistent_index, last
//! entry)`, at the log's clean end, CRC-chained as etcd's encoder chains it, makes
//! force-new-cluster keep them. A log that ends in a torn write is first cut back to its last
//! whole record exactly as etcd's own `wal.Repair` does at its next start (the file copied to
//! `<file>.broken`, then truncated where the torn frame begins): that loses nothing etcd would
//! keep, and the record is then appended at a clean end. A damaged log is never written.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::encode::Encoder;
use crate::wal::{self, HardState};

/// What [`sync_commit`] found and did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommitSync {
    /// The WAL's HardState commit before.
    pub before: u64,
    /// The commit the WAL holds now (or would, in a dry run).
    pub after: u64,
    /// A record was (or would be) appended.
    pub changed: bool,
    /// The WAL file and offset of the new record.
    pub file: Option<PathBuf>,
    pub offset: Option<u64>,
    /// The torn tail that was (or would be) cut off first, as etcd's repair cuts it; its
    /// bytes are kept in `<file>.broken`.
    pub repaired: Option<wal::Torn>,
}

/// Why the commit cannot be recorded; nothing was written.
#[derive(Debug, PartialEq, Eq)]
pub enum CommitError {
    /// The WAL could not be read, or is damaged.
    Wal(String),
    /// The log still ends in a torn write after the repair (it changed underneath).
    TornTail {
        file: String,
        offset: u64,
    },
    /// No HardState yet (a member that never ran).
    NoHardState,
    /// The WAL changed between reading and writing, or the write did not read back.
    Verify(String),
    Io {
        path: PathBuf,
        what: String,
    },
}

impl std::fmt::Display for CommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommitError::Wal(e) => write!(f, "reading the WAL: {e}"),
            CommitError::TornTail { file, offset } => write!(
                f,
                "the WAL still ends in a torn write ({file} at offset {offset}) after cutting it \
                 off; is etcd running on it? Nothing more was written"
            ),
            CommitError::NoHardState => write!(f, "the WAL holds no HardState: nothing to record"),
            CommitError::Verify(e) => write!(f, "after writing: {e}"),
            CommitError::Io { path, what } => write!(f, "{}: {what}", path.display()),
        }
    }
}

impl std::error::Error for CommitError {}

/// The commit a log can be brought to: what the backend applied, never past the log's end.
pub fn target(hs: HardState, consistent_index: Option<u64>, last_index: Option<u64>) -> u64 {
    let applied = consistent_index.unwrap_or(0).min(last_index.unwrap_or(0));
    hs.commit.max(applied)
}

/// Brings the WAL's HardState commit in `wal_dir` up to `min(consistent_index, last entry)`.
/// With `dry_run`, only says what it would do. etcd must not run on the data dir.
pub fn sync_commit(
    wal_dir: &Path,
    consistent_index: Option<u64>,
    dry_run: bool,
) -> Result<CommitSync, CommitError> {
    let mut log = wal::read_dir(wal_dir).map_err(|e| CommitError::Wal(e.to_string()))?;
    let repaired = log.torn.clone();
    if let (Some(t), false) = (&repaired, dry_run) {
        repair(wal_dir, t)?;
        log = wal::read_dir(wal_dir).map_err(|e| CommitError::Verify(e.to_string()))?;
        if let Some(t) = &log.torn {
            return Err(CommitError::TornTail {
                file: t.file.clone(),
                offset: t.offset,
            });
        }
    }
    let hs = log.hardstate.ok_or(CommitError::NoHardState)?;
    let want = target(hs, consistent_index, log.last_entry.map(|e| e.index));
    let mut out = CommitSync {
        before: hs.commit,
        after: want,
        changed: want > hs.commit || repaired.is_some(),
        file: None,
        offset: None,
        repaired,
    };
    if want <= hs.commit {
        return Ok(out);
    }
    // A dry run on a torn log has not cut it: the record would go where the torn frame begins.
    let end = match (&log.end, &out.repaired) {
        (Some(end), _) => end.clone(),
        (None, Some(t)) if dry_run => wal::WalEnd {
            file: t.file.clone(),
            offset: t.offset,
            crc: 0,
        },
        _ => {
            return Err(CommitError::Wal(
                "the log has no clean end to append to".into(),
            ))
        }
    };
    let path = wal_dir.join(&end.file);
    out.file = Some(path.clone());
    out.offset = Some(end.offset);
    if dry_run {
        return Ok(out);
    }
    // A record continuing the chain: the encoder's leading CRC record is not written.
    let mut enc = Encoder::new(end.crc);
    let start = enc.out.len();
    enc.state(hs.term, hs.vote, want);
    let record = enc.out.get(start..).unwrap_or_default().to_vec();
    let io = |what: String| CommitError::Io {
        path: path.clone(),
        what,
    };
    let mut f = OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| io(format!("opening for the commit record: {e}")))?;
    f.seek(SeekFrom::Start(end.offset))
        .map_err(|e| io(format!("seeking to {}: {e}", end.offset)))?;
    f.write_all(&record)
        .map_err(|e| io(format!("writing the commit record: {e}")))?;
    f.sync_all().map_err(|e| io(format!("fsync: {e}")))?;
    drop(f);
    let again = wal::read_dir(wal_dir).map_err(|e| CommitError::Verify(e.to_string()))?;
    match again.hardstate {
        Some(h) if h.commit == want && again.torn.is_none() => Ok(out),
        other => Err(CommitError::Verify(format!(
            "the WAL reads back {other:?}, not commit {want}"
        ))),
    }
}

/// etcd's `wal.Repair` (3.4): the last file copied whole to `<file>.broken`, then truncated
/// where the torn frame begins, and synced.
fn repair(wal_dir: &Path, torn: &wal::Torn) -> Result<(), CommitError> {
    let path = wal_dir.join(&torn.file);
    let broken = wal_dir.join(format!("{}.broken", torn.file));
    let io = |p: &Path, what: String| CommitError::Io {
        path: p.to_path_buf(),
        what,
    };
    std::fs::copy(&path, &broken).map_err(|e| {
        io(
            &broken,
            format!("keeping the torn file before cutting it: {e}"),
        )
    })?;
    std::fs::File::open(&broken)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(&broken, format!("fsync: {e}")))?;
    let f = OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| io(&path, format!("opening to cut the torn tail: {e}")))?;
    f.set_len(torn.offset)
        .map_err(|e| io(&path, format!("truncating at {}: {e}", torn.offset)))?;
    f.sync_all().map_err(|e| io(&path, format!("fsync: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::Encoder;

    fn wal_dir(bytes: &[u8]) -> tempdir::Dir {
        let d = tempdir::Dir::new();
        std::fs::write(
            d.path().join("0000000000000000-0000000000000000.wal"),
            bytes,
        )
        .unwrap();
        d
    }

    mod tempdir {
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "etcd-datadir-commit-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    /// A follower's log: entries to 13, HardState commit 9 (the commit-only updates after it
    /// never reached the file), preallocated zeros after.
    fn follower_log() -> Vec<u8> {
        let mut e = Encoder::new(0);
        e.metadata(7, 9);
        e.state(2, 1, 0);
        for i in 1..=9 {
            e.entry(2, i, b"x");
        }
        e.state(2, 1, 9);
        for i in 10..=13 {
            e.entry(2, i, b"y");
        }
        e.zeros(4096);
        e.out
    }

    #[test]
    fn the_applied_entries_are_recorded_committed() {
        let d = wal_dir(&follower_log());
        let r = sync_commit(d.path(), Some(13), false).unwrap();
        assert_eq!((r.before, r.after, r.changed), (9, 13, true));
        let log = wal::read_dir(d.path()).unwrap();
        assert_eq!(
            log.hardstate,
            Some(HardState {
                term: 2,
                vote: 1,
                commit: 13
            })
        );
        assert_eq!(log.last_entry.map(|e| e.index), Some(13));
        assert!(log.torn.is_none());
        // Once is enough: the second run finds nothing to do and writes nothing.
        let bytes = std::fs::read(d.path().join("0000000000000000-0000000000000000.wal")).unwrap();
        let r = sync_commit(d.path(), Some(13), false).unwrap();
        assert!(!r.changed);
        assert_eq!(
            std::fs::read(d.path().join("0000000000000000-0000000000000000.wal")).unwrap(),
            bytes
        );
    }

    #[test]
    fn never_past_the_end_of_the_log_and_dry_run_writes_nothing() {
        let d = wal_dir(&follower_log());
        let before = std::fs::read(d.path().join("0000000000000000-0000000000000000.wal")).unwrap();
        let r = sync_commit(d.path(), Some(40), true).unwrap();
        assert_eq!((r.before, r.after, r.changed), (9, 13, true));
        assert_eq!(
            std::fs::read(d.path().join("0000000000000000-0000000000000000.wal")).unwrap(),
            before
        );
    }

    #[test]
    fn a_backend_behind_the_commit_changes_nothing() {
        let d = wal_dir(&follower_log());
        let r = sync_commit(d.path(), Some(5), false).unwrap();
        assert_eq!((r.before, r.after, r.changed), (9, 9, false));
    }

    /// The follower log with a frame whose record never reached the disk: a length, then
    /// zeroed sectors (etcd's decoder calls that a torn write).
    fn torn_log() -> (Vec<u8>, usize) {
        let mut bytes = follower_log();
        let end = bytes.len() - 4096;
        bytes.truncate(end);
        bytes.extend_from_slice(&600u64.to_le_bytes());
        bytes.resize(end + 4096, 0);
        (bytes, end)
    }

    const NAME: &str = "0000000000000000-0000000000000000.wal";

    #[test]
    fn a_torn_tail_is_cut_off_as_etcd_does_then_the_commit_recorded() {
        let (bytes, end) = torn_log();
        let d = wal_dir(&bytes);
        // A dry run says so and writes nothing.
        let r = sync_commit(d.path(), Some(13), true).unwrap();
        assert_eq!((r.before, r.after, r.changed), (9, 13, true));
        assert_eq!(r.repaired.as_ref().map(|t| t.offset), Some(end as u64));
        assert_eq!(std::fs::read(d.path().join(NAME)).unwrap(), bytes);
        assert!(!d.path().join(format!("{NAME}.broken")).exists());

        let r = sync_commit(d.path(), Some(13), false).unwrap();
        assert_eq!((r.before, r.after, r.changed), (9, 13, true));
        assert_eq!(r.offset, Some(end as u64));
        // The torn bytes are kept, as etcd keeps them.
        assert_eq!(
            std::fs::read(d.path().join(format!("{NAME}.broken"))).unwrap(),
            bytes
        );
        let log = wal::read_dir(d.path()).unwrap();
        assert!(log.torn.is_none());
        assert_eq!(log.hardstate.map(|h| h.commit), Some(13));
        assert_eq!(log.last_entry.map(|e| e.index), Some(13));
        // The whole records before the torn one are what they were.
        let now = std::fs::read(d.path().join(NAME)).unwrap();
        assert_eq!(now[..end], bytes[..end]);
    }

    #[test]
    fn a_torn_tail_with_nothing_to_record_is_still_cut_off() {
        let (bytes, end) = torn_log();
        let d = wal_dir(&bytes);
        let r = sync_commit(d.path(), Some(5), false).unwrap();
        assert_eq!((r.before, r.after, r.changed), (9, 9, true));
        assert_eq!(std::fs::read(d.path().join(NAME)).unwrap(), bytes[..end]);
        // Once cut, a second run finds a clean log and changes nothing.
        let r = sync_commit(d.path(), Some(5), false).unwrap();
        assert!(!r.changed && r.repaired.is_none());
    }

    #[test]
    fn damage_mid_log_is_refused_with_nothing_written() {
        let mut bytes = follower_log();
        // A byte flipped inside the first entry's record: damage, no torn write.
        let mut head = Encoder::new(0);
        head.metadata(7, 9);
        head.state(2, 1, 0);
        let at = head.out.len() + 8 + 3;
        bytes[at] ^= 0xff;
        let d = wal_dir(&bytes);
        assert!(matches!(
            sync_commit(d.path(), Some(13), false),
            Err(CommitError::Wal(_))
        ));
        assert_eq!(std::fs::read(d.path().join(NAME)).unwrap(), bytes);
    }

    #[test]
    fn target_takes_the_smaller_of_applied_and_logged() {
        let hs = HardState {
            term: 3,
            vote: 1,
            commit: 10,
        };
        assert_eq!(target(hs, Some(20), Some(15)), 15);
        assert_eq!(target(hs, Some(12), Some(15)), 12);
        assert_eq!(target(hs, None, Some(15)), 10);
        assert_eq!(target(hs, Some(8), Some(15)), 10);
    }
}
