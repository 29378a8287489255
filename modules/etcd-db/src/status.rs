//! `status()`: what `etcdctl snapshot status` reports, plus the trailer check it skips.

use std::path::Path;

use serde::Serialize;

use crate::check;
use crate::error::DbError;
use crate::file::DbFile;
use crate::meta::{self, Meta, MetaError, MAX_PAGE_SIZE, META_PAGE_BYTES, MIN_PAGE_SIZE};
use crate::stats::Stats;

/// The result of a successful verification.
///
/// `hash`, `revision`, `total_key` and `total_size` are the numbers `etcdctl snapshot status`
/// (3.4/3.5) prints as `hash`, `revision`, `totalKey` and `totalSize`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotStatus {
    /// CRC-32C over every top-level bucket name and its keys and values, in key order.
    pub hash: u32,
    /// The main revision of the last key in bucket `key` (0 if it is empty).
    pub revision: i64,
    /// etcd 3.4/3.5 `totalKey`: entries in all top-level buckets, `meta` and history included.
    pub total_key: u64,
    /// High-water mark times page size: the bytes the database spans.
    pub total_size: u64,
    /// etcd 3.6 `totalKey`: user keys live at `revision` (tombstoned keys are not counted).
    pub live_keys: u64,
    /// Whether the file ends with the 32-byte sha256 trailer of `etcdctl snapshot save`.
    pub has_hash: bool,
    /// Whether the trailer matched; None without one. A mismatch is an error, so when
    /// `status` succeeds this is never `Some(false)`.
    pub hash_ok: Option<bool>,
    /// The bbolt page size.
    pub page_size: u32,
    /// Bytes of database in the file (its length less the trailer); a raw `member/snap/db`
    /// can be larger than `total_size`, as bbolt grows files ahead of use.
    pub db_size: u64,
}

/// Verifies an etcd database or snapshot file and reports its status.
///
/// The file is only read, page by page; memory stays at one page buffer per tree level, two
/// bitmaps of one bit per page, and 16 bytes per live key. When the file has a sha256 trailer it
/// is checked on a second thread while the tree is walked.
pub fn status(path: &Path) -> Result<SnapshotStatus, DbError> {
    let file = DbFile::open(path)?;
    let meta = read_meta(&file)?;
    let total_size = meta
        .pgid
        .checked_mul(u64::from(meta.page_size))
        .filter(|&t| t <= file.db_len)
        .ok_or(DbError::Truncated {
            file_len: file.db_len,
            needed: u128::from(meta.pgid)
                .saturating_mul(u128::from(meta.page_size))
                .try_into()
                .unwrap_or(u64::MAX),
            trailer: file.has_trailer,
        })?;
    if file.db_len % u64::from(meta.page_size) != 0 {
        return Err(DbError::Length {
            len: file.len,
            page_size: meta.page_size,
        });
    }

    let mut stats = Stats::new();
    let (walked, trailer) = std::thread::scope(|s| {
        let sha = file.has_trailer.then(|| s.spawn(|| file.trailer_check()));
        let walked = check::walk(&file, &meta, &mut stats);
        let trailer = sha.map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(DbError::Content("the sha256 thread panicked".into())))
        });
        (walked, trailer)
    });
    // The trailer verdict comes first: when it fails, the bytes are not the ones etcd sent,
    // whatever the walk made of them.
    let hash_ok = match trailer {
        None => None,
        Some(Err(e)) => return Err(e),
        Some(Ok((stored, computed))) if stored != computed => {
            return Err(DbError::TrailerMismatch { stored, computed })
        }
        Some(Ok(_)) => Some(true),
    };
    walked?;
    Ok(SnapshotStatus {
        hash: stats.hash(),
        revision: stats.revision,
        total_key: stats.total_key,
        total_size,
        live_keys: stats.live_keys(),
        has_hash: file.has_trailer,
        hash_ok,
        page_size: meta.page_size,
        db_size: file.db_len,
    })
}

fn read_meta_page(file: &DbFile, id: u64, page_size: u32) -> Result<Meta, MetaError> {
    let mut buf = [0u8; META_PAGE_BYTES];
    let n = id
        .checked_mul(u64::from(page_size))
        .and_then(|off| file.read_prefix_at(off, &mut buf).ok())
        .unwrap_or(0);
    meta::parse(buf.get(..n).unwrap_or_default(), id)
}

/// Page 0 gives the page size; if it is damaged, page 1 is looked for at each possible page
/// size, the machine's usual 4096 first (bbolt itself tries only the OS page size).
pub(crate) fn read_meta(file: &DbFile) -> Result<Meta, DbError> {
    let m0 = read_meta_page(file, 0, MIN_PAGE_SIZE);
    let m1 = match &m0 {
        Ok(m) => read_meta_page(file, 1, m.page_size),
        Err(_) => {
            let mut sizes = vec![4096u32];
            sizes.extend(
                (9..=MAX_PAGE_SIZE.trailing_zeros())
                    .map(|s| 1u32 << s)
                    .filter(|&s| s != 4096),
            );
            let first = read_meta_page(file, 1, 4096);
            sizes
                .into_iter()
                .map(|s| read_meta_page(file, 1, s))
                .find(Result::is_ok)
                .unwrap_or(first)
        }
    };
    if let (Err(MetaError::BadMagic(m)), Err(MetaError::BadMagic(_) | MetaError::Short(_))) =
        (&m0, &m1)
    {
        return Err(DbError::NotBbolt(format!(
            "bad magic at page 0 (0x{m:08x})"
        )));
    }
    if let (Err(MetaError::Short(n)), Err(_)) = (&m0, &m1) {
        return Err(DbError::NotBbolt(format!(
            "{n} bytes is too short for a meta page ({META_PAGE_BYTES})"
        )));
    }
    meta::choose(m0, m1).map_err(DbError::NoValidMeta)
}
