//! bbolt's consistency check (`tx_check.go`), done in the same depth-first walk that feeds the
//! snapshot-status numbers, so the file is read once.
//!
//! Memory: one page buffer per tree level (reused for every page at that level), a bitmap of
//! reachable pages, and a bitmap of freed pages when the file has a stored free list.

use std::fmt::Display;

use crate::error::DbError;
use crate::file::DbFile;
use crate::meta::{Meta, NO_FREELIST};
use crate::page::{self, branch_elem, header, leaf_elem, u64_at, BUCKET_LEAF};

/// Trees and nested buckets deeper than this are reported, not followed: a real bbolt tree of
/// 2^64 keys is under 64 levels, and the walk recurses once per level.
const MAX_DEPTH: usize = 128;
/// A bucket value starts with `{root u64, sequence u64}`.
const BUCKET_HEADER: usize = 16;

/// Receives, in key order, what etcd's `snapshot status` hashes and counts.
pub(crate) trait Visitor {
    /// A top-level bucket; its entries follow.
    fn bucket(&mut self, name: &[u8]) -> Result<(), DbError>;
    /// An entry of the current top-level bucket; `value` is None for a sub-bucket.
    fn entry(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), DbError>;
}

/// Checks the whole database reachable from `meta` and reports the top-level buckets' entries
/// to `visitor`. The caller has made sure the file holds `meta.pgid` pages.
pub(crate) fn walk(file: &DbFile, meta: &Meta, visitor: &mut impl Visitor) -> Result<(), DbError> {
    let hwm = meta.pgid;
    if hwm < 2 {
        return Err(DbError::NoValidMeta(format!(
            "the high-water mark {hwm} leaves no room for the two meta pages"
        )));
    }
    let mut w = Walker {
        file,
        page_size: u64::from(meta.page_size),
        hwm,
        reachable: Bitmap::new(hwm),
        freed: None,
        pool: Vec::new(),
        visitor,
    };
    w.reachable.test_and_set(0);
    w.reachable.test_and_set(1);
    if meta.freelist != NO_FREELIST {
        w.load_freelist(meta.freelist)?;
    }
    let mut last = Vec::new();
    w.tree(meta.root, None, None, Level::Root, 0, &mut last)?;
    if let Some(freed) = &w.freed {
        for id in 2..hwm {
            if !w.reachable.get(id) && !freed.get(id) {
                return Err(DbError::page(
                    id,
                    "is neither reachable nor on the freelist",
                ));
            }
        }
    }
    Ok(())
}

struct Bitmap(Vec<u64>);

impl Bitmap {
    fn new(bits: u64) -> Self {
        Bitmap(vec![0; usize::try_from(bits.div_ceil(64)).unwrap_or(0)])
    }

    fn get(&self, i: u64) -> bool {
        let word = usize::try_from(i / 64).ok().and_then(|w| self.0.get(w));
        word.is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Sets bit `i`; returns whether it was already set. Callers keep `i` below the size.
    fn test_and_set(&mut self, i: u64) -> bool {
        let word = usize::try_from(i / 64).ok().and_then(|w| self.0.get_mut(w));
        match word {
            Some(w) => {
                let was = *w & (1 << (i % 64)) != 0;
                *w |= 1 << (i % 64);
                was
            }
            None => false,
        }
    }
}

/// Which bucket a leaf belongs to decides what its entries mean to etcd.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The root bucket: its entries are the top-level buckets.
    Root,
    /// A top-level bucket: its entries are hashed and counted.
    Top,
    /// Deeper: checked only (etcd has none).
    Nested,
}

impl Level {
    fn below(self) -> Level {
        match self {
            Level::Root => Level::Top,
            _ => Level::Nested,
        }
    }
}

/// Where an element lives, for error messages: a page, or an inline bucket inside one.
#[derive(Clone, Copy)]
struct Loc {
    page: u64,
    inline_at: Option<usize>,
}

impl Loc {
    fn err(&self, detail: impl Display) -> DbError {
        match self.inline_at {
            None => DbError::page(self.page, detail.to_string()),
            Some(i) => DbError::page(self.page, format!("element {i} (inline bucket): {detail}")),
        }
    }
}

/// Keys in messages: hex, cut short so a 32 KiB key does not flood the log.
fn show(key: &[u8]) -> String {
    const MAX: usize = 48;
    let hex: String = key.iter().take(MAX).map(|b| format!("{b:02x}")).collect();
    if key.len() > MAX {
        format!("0x{hex}.. ({} bytes)", key.len())
    } else {
        format!("0x{hex}")
    }
}

/// bbolt's `verifyKeyOrder`: the first key may equal the parent's key for it, later keys must
/// rise strictly, and every key stays below the parent's next key.
fn verify_order(
    loc: Loc,
    i: usize,
    key: &[u8],
    prev: Option<&[u8]>,
    hi: Option<&[u8]>,
) -> Result<(), DbError> {
    if let Some(p) = prev {
        if i == 0 && p > key {
            return Err(loc.err(format_args!(
                "element 0: key {} is below {}, the key its parent has for it",
                show(key),
                show(p)
            )));
        }
        if i > 0 && p >= key {
            return Err(loc.err(format_args!(
                "element {i}: key {} does not rise above the previous key {}",
                show(key),
                show(p)
            )));
        }
    }
    if let Some(h) = hi {
        if key >= h {
            return Err(loc.err(format_args!(
                "element {i}: key {} is not below {}, the parent's next key",
                show(key),
                show(h)
            )));
        }
    }
    Ok(())
}

struct Walker<'a, V> {
    file: &'a DbFile,
    page_size: u64,
    hwm: u64,
    reachable: Bitmap,
    freed: Option<Bitmap>,
    /// One buffer per depth, taken while a page at that depth is being walked.
    pool: Vec<Vec<u8>>,
    visitor: &'a mut V,
}

impl<V: Visitor> Walker<'_, V> {
    /// Reads page `id` with its overflow into the buffer of `depth`, marking it reachable.
    /// Returns the buffer and the page's length in it.
    fn load(&mut self, id: u64, depth: usize, want: &[u16]) -> Result<(Vec<u8>, usize), DbError> {
        if id >= self.hwm {
            return Err(DbError::page(
                id,
                format!(
                    "is referenced but lies beyond the high-water mark {}",
                    self.hwm
                ),
            ));
        }
        if self.pool.len() <= depth {
            self.pool.resize_with(depth + 1, Vec::new);
        }
        let mut buf = self
            .pool
            .get_mut(depth)
            .map(std::mem::take)
            .unwrap_or_default();
        let ps = usize::try_from(self.page_size).unwrap_or(usize::MAX);
        if buf.len() < ps {
            buf.resize(ps, 0);
        }
        // id < hwm and hwm * page_size fits the file, so these cannot overflow.
        let offset = id.saturating_mul(self.page_size);
        self.file
            .read_at(offset, buf.get_mut(..ps).unwrap_or_default())?;
        let hdr = header(&buf).ok_or_else(|| DbError::page(id, "is shorter than a page header"))?;
        if hdr.id != id {
            return Err(DbError::page(
                id,
                format!("has id {} in its header", hdr.id),
            ));
        }
        let last = id
            .checked_add(u64::from(hdr.overflow))
            .filter(|&l| l < self.hwm)
            .ok_or_else(|| {
                DbError::page(
                    id,
                    format!(
                        "has {} overflow pages, running past the high-water mark {}",
                        hdr.overflow, self.hwm
                    ),
                )
            })?;
        for p in id..=last {
            if self.reachable.test_and_set(p) {
                return Err(if p == id {
                    DbError::page(p, "reachable twice")
                } else {
                    DbError::page(p, format!("reachable twice (as overflow of page {id})"))
                });
            }
        }
        if self.freed.as_ref().is_some_and(|f| f.get(id)) {
            return Err(DbError::page(id, "is reachable but on the freelist"));
        }
        if !want.contains(&hdr.flags) {
            let want: Vec<String> = want.iter().map(|&f| page::type_name(f)).collect();
            return Err(DbError::page(
                id,
                format!(
                    "has type {}, expected {}",
                    page::type_name(hdr.flags),
                    want.join(" or ")
                ),
            ));
        }
        let len = (u64::from(hdr.overflow) + 1)
            .checked_mul(self.page_size)
            .and_then(|l| usize::try_from(l).ok())
            .ok_or_else(|| DbError::page(id, "spans more bytes than this machine can address"))?;
        if len > ps {
            if buf.len() < len {
                buf.resize(len, 0);
            }
            let rest = buf.get_mut(ps..len).unwrap_or_default();
            self.file
                .read_at(offset.saturating_add(self.page_size), rest)?;
        }
        Ok((buf, len))
    }

    fn put_back(&mut self, depth: usize, buf: Vec<u8>) {
        if let Some(slot) = self.pool.get_mut(depth) {
            *slot = buf;
        }
    }

    fn load_freelist(&mut self, id: u64) -> Result<(), DbError> {
        let (buf, len) = self.load(id, 0, &[page::FREELIST])?;
        let res = self.read_freelist(id, buf.get(..len).unwrap_or_default());
        self.put_back(0, buf);
        res
    }

    fn read_freelist(&mut self, id: u64, p: &[u8]) -> Result<(), DbError> {
        let hdr = header(p).ok_or_else(|| DbError::page(id, "is shorter than a page header"))?;
        // A count of 0xFFFF means the real count is the first u64 of the body.
        let (count, start) = if hdr.count == 0xFFFF {
            let c = u64_at(p, page::HEADER_SIZE)
                .ok_or_else(|| DbError::page(id, "(freelist) ends before its count"))?;
            (c, page::HEADER_SIZE + 8)
        } else {
            (u64::from(hdr.count), page::HEADER_SIZE)
        };
        let room = (p.len().saturating_sub(start) / 8) as u64;
        if count > room {
            return Err(DbError::page(
                id,
                format!("(freelist) lists {count} pages but has room for {room}"),
            ));
        }
        let mut freed = Bitmap::new(self.hwm);
        for k in 0..count as usize {
            let fid = u64_at(p, start + 8 * k).unwrap_or(0);
            if fid >= self.hwm {
                return Err(DbError::page(
                    id,
                    format!(
                        "(freelist) lists page {fid}, beyond the high-water mark {}",
                        self.hwm
                    ),
                ));
            }
            if freed.test_and_set(fid) {
                return Err(DbError::page(fid, "is on the freelist twice"));
            }
        }
        self.freed = Some(freed);
        Ok(())
    }

    /// Walks the tree under page `id`, whose keys must lie in `[lo, hi)`. Leaves the largest key
    /// of the subtree in `last` and returns whether there was one.
    fn tree(
        &mut self,
        id: u64,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
        level: Level,
        depth: usize,
        last: &mut Vec<u8>,
    ) -> Result<bool, DbError> {
        if depth > MAX_DEPTH {
            return Err(DbError::page(
                id,
                format!("is nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let (buf, len) = self.load(id, depth, &[page::BRANCH, page::LEAF])?;
        let p = buf.get(..len).unwrap_or_default();
        let loc = Loc {
            page: id,
            inline_at: None,
        };
        let res = match header(p).map(|h| h.flags) {
            Some(page::BRANCH) => self.branch(p, id, lo, hi, level, depth, last),
            _ => self.leaf(p, loc, lo, hi, level, depth, last),
        };
        self.put_back(depth, buf);
        res
    }

    #[allow(clippy::too_many_arguments)]
    fn branch(
        &mut self,
        p: &[u8],
        id: u64,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
        level: Level,
        depth: usize,
        last: &mut Vec<u8>,
    ) -> Result<bool, DbError> {
        let loc = Loc {
            page: id,
            inline_at: None,
        };
        let n = usize::from(header(p).map_or(0, |h| h.count));
        let mut have = false;
        for i in 0..n {
            let (key, child) = branch_elem(p, i).map_err(|d| loc.err(d))?;
            let prev = if i == 0 {
                lo
            } else if have {
                Some(last.as_slice())
            } else {
                None
            };
            verify_order(loc, i, key, prev, hi)?;
            let next_hi = if i + 1 < n {
                Some(branch_elem(p, i + 1).map_err(|d| loc.err(d))?.0)
            } else {
                hi
            };
            have = self.tree(child, Some(key), next_hi, level, depth + 1, last)?;
        }
        Ok(have)
    }

    #[allow(clippy::too_many_arguments)]
    fn leaf(
        &mut self,
        p: &[u8],
        loc: Loc,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
        level: Level,
        depth: usize,
        last: &mut Vec<u8>,
    ) -> Result<bool, DbError> {
        let n = usize::from(header(p).map_or(0, |h| h.count));
        let mut prev = lo;
        for i in 0..n {
            let e = leaf_elem(p, i).map_err(|d| loc.err(d))?;
            verify_order(loc, i, e.key, prev, hi)?;
            let is_bucket = e.flags & BUCKET_LEAF != 0;
            match level {
                Level::Root if !is_bucket => {
                    return Err(DbError::Content(format!(
                        "the root bucket holds key {} that is not a bucket (page {}, element {i})",
                        show(e.key),
                        loc.page
                    )))
                }
                Level::Root => self.visitor.bucket(e.key)?,
                Level::Top => self
                    .visitor
                    .entry(e.key, if is_bucket { None } else { Some(e.value) })?,
                Level::Nested => {}
            }
            if is_bucket {
                self.sub_bucket(e.value, level.below(), depth, loc, i)?;
            }
            prev = Some(e.key);
        }
        match prev {
            Some(k) if n > 0 => {
                last.clear();
                last.extend_from_slice(k);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// A bucket value: its own tree, or an inline leaf page right after the bucket header.
    fn sub_bucket(
        &mut self,
        value: &[u8],
        level: Level,
        depth: usize,
        loc: Loc,
        i: usize,
    ) -> Result<(), DbError> {
        let root = u64_at(value, 0)
            .filter(|_| value.len() >= BUCKET_HEADER)
            .ok_or_else(|| {
                loc.err(format_args!(
                    "element {i}: bucket value is {} bytes, shorter than a bucket header ({BUCKET_HEADER})",
                    value.len()
                ))
            })?;
        let mut last = Vec::new();
        if root != 0 {
            self.tree(root, None, None, level, depth + 1, &mut last)?;
            return Ok(());
        }
        if depth + 1 > MAX_DEPTH {
            return Err(loc.err(format_args!(
                "element {i}: buckets nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let inline = value.get(BUCKET_HEADER..).unwrap_or_default();
        let hdr = header(inline).ok_or_else(|| {
            loc.err(format_args!(
                "element {i}: inline bucket of {} bytes has no page header",
                value.len()
            ))
        })?;
        if hdr.flags != page::LEAF {
            return Err(loc.err(format_args!(
                "element {i}: inline bucket page has type {}, expected leaf",
                page::type_name(hdr.flags)
            )));
        }
        let inner = Loc {
            page: loc.page,
            inline_at: Some(i),
        };
        self.leaf(inline, inner, None, None, level, depth + 1, &mut last)?;
        Ok(())
    }
}
