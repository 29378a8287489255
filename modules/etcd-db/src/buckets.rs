//! Reading a few small top-level buckets (`meta`, `members`) without walking the whole file:
//! a data-dir inspection wants etcd's `consistent_index` from a database that may be gigabytes,
//! most of it the `key` bucket, which this never reads.
//!
//! The file is read with positioned reads and no lock: bbolt's flock is advisory, and taking it
//! would block (or be blocked by) a running etcd. A file written concurrently can show a torn
//! page; that is an error here, never a wrong answer taken for a right one, because bbolt's
//! meta pages are checksummed and pages are only reused after the meta that freed them is old.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::DbError;
use crate::file::DbFile;
use crate::page::{self, branch_elem, header, leaf_elem, u64_at, BUCKET_LEAF};
use crate::status::read_meta;

/// Deeper than any real bbolt tree; a cycle in a damaged file stops here.
const MAX_DEPTH: usize = 64;
const BUCKET_HEADER: usize = 16;

/// The key/value pairs of each requested top-level bucket that exists, in key order.
/// Nested buckets inside them are listed with an empty value (etcd has none in these).
pub type Buckets = BTreeMap<Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>>;

/// Reads the named top-level buckets of a bbolt file; a missing bucket is simply absent.
pub fn read_buckets(path: &Path, names: &[&[u8]]) -> Result<Buckets, DbError> {
    let file = DbFile::open(path)?;
    let meta = read_meta(&file)?;
    let r = Reader {
        file: &file,
        page_size: u64::from(meta.page_size),
        hwm: meta.pgid,
    };
    let mut root = Vec::new();
    r.tree(meta.root, 0, &mut root)?;
    let mut out = Buckets::new();
    for (name, value, is_bucket) in root {
        if !is_bucket || !names.contains(&name.as_slice()) {
            continue;
        }
        let mut entries = Vec::new();
        r.bucket(&value, 1, &mut entries)?;
        out.insert(
            name,
            entries
                .into_iter()
                .map(|(k, v, sub)| (k, if sub { Vec::new() } else { v }))
                .collect(),
        );
    }
    Ok(out)
}

struct Reader<'a> {
    file: &'a DbFile,
    page_size: u64,
    hwm: u64,
}

type Entry = (Vec<u8>, Vec<u8>, bool);

impl Reader<'_> {
    fn page(&self, id: u64) -> Result<Vec<u8>, DbError> {
        if id < 2 || id >= self.hwm {
            return Err(DbError::page(
                id,
                format!(
                    "is referenced but is a meta page or lies beyond the high-water mark {}",
                    self.hwm
                ),
            ));
        }
        let ps = usize::try_from(self.page_size).unwrap_or(usize::MAX);
        let mut buf = vec![0u8; ps];
        self.file
            .read_at(id.saturating_mul(self.page_size), &mut buf)?;
        let hdr = header(&buf).ok_or_else(|| DbError::page(id, "is shorter than a header"))?;
        if hdr.id != id {
            return Err(DbError::page(
                id,
                format!("has id {} in its header", hdr.id),
            ));
        }
        if hdr.overflow > 0 {
            let last = id
                .checked_add(u64::from(hdr.overflow))
                .filter(|&l| l < self.hwm);
            let len = last
                .and_then(|_| (u64::from(hdr.overflow) + 1).checked_mul(self.page_size))
                .and_then(|l| usize::try_from(l).ok())
                .ok_or_else(|| {
                    DbError::page(id, format!("has {} overflow pages, too many", hdr.overflow))
                })?;
            buf.resize(len, 0);
            let rest = buf.get_mut(ps..).unwrap_or_default();
            self.file
                .read_at(id.saturating_mul(self.page_size) + self.page_size, rest)?;
        }
        Ok(buf)
    }

    /// Every element of the tree under `id`, leaves in order.
    fn tree(&self, id: u64, depth: usize, out: &mut Vec<Entry>) -> Result<(), DbError> {
        if depth > MAX_DEPTH {
            return Err(DbError::page(
                id,
                format!("is nested deeper than {MAX_DEPTH}"),
            ));
        }
        let p = self.page(id)?;
        match header(&p).map(|h| h.flags) {
            Some(page::BRANCH) => {
                let n = usize::from(header(&p).map_or(0, |h| h.count));
                for i in 0..n {
                    let (_, child) = branch_elem(&p, i).map_err(|d| DbError::page(id, d))?;
                    self.tree(child, depth + 1, out)?;
                }
                Ok(())
            }
            Some(page::LEAF) => read_leaf(&p, out).map_err(|d| DbError::page(id, d)),
            Some(f) => Err(DbError::page(
                id,
                format!("has type {}, expected branch or leaf", page::type_name(f)),
            )),
            None => Err(DbError::page(id, "is shorter than a header")),
        }
    }

    /// A bucket value: its own tree, or an inline leaf right after the bucket header.
    fn bucket(&self, value: &[u8], depth: usize, out: &mut Vec<Entry>) -> Result<(), DbError> {
        let root = u64_at(value, 0)
            .filter(|_| value.len() >= BUCKET_HEADER)
            .ok_or_else(|| {
                DbError::Content(format!(
                    "a bucket value of {} bytes is shorter than a bucket header",
                    value.len()
                ))
            })?;
        if root != 0 {
            return self.tree(root, depth, out);
        }
        let inline = value.get(BUCKET_HEADER..).unwrap_or_default();
        read_leaf(inline, out).map_err(|d| DbError::Content(format!("inline bucket: {d}")))
    }
}

fn read_leaf(p: &[u8], out: &mut Vec<Entry>) -> Result<(), String> {
    let n = usize::from(header(p).map_or(0, |h| h.count));
    for i in 0..n {
        let e = leaf_elem(p, i)?;
        out.push((e.key.to_vec(), e.value.to_vec(), e.flags & BUCKET_LEAF != 0));
    }
    Ok(())
}

/// etcd's `meta`/`consistent_index`: the last raft index applied to the backend, big-endian.
/// None when the key is absent (a database etcd never committed to); an error when it is
/// not 8 bytes.
pub fn consistent_index(buckets: &Buckets) -> Result<Option<u64>, DbError> {
    let Some(meta) = buckets.get(b"meta".as_slice()) else {
        return Ok(None);
    };
    let Some((_, v)) = meta.iter().find(|(k, _)| k == b"consistent_index") else {
        return Ok(None);
    };
    let b: [u8; 8] = v.as_slice().try_into().map_err(|_| {
        DbError::Content(format!(
            "meta/consistent_index is {} bytes, not an 8-byte big-endian index",
            v.len()
        ))
    })?;
    Ok(Some(u64::from_be_bytes(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdb::*;

    #[test]
    fn reads_only_the_named_buckets_inline_and_paged() {
        let ci = 42u64.to_be_bytes();
        let meta_bucket = inline_bucket(&[(0, b"consistent_index", &ci)]);
        let root = leaf(
            3,
            &[
                (BUCKET_LEAF, b"key", &bucket(9)), // page 9 does not exist: must not be read
                (BUCKET_LEAF, b"members", &bucket(4)),
                (BUCKET_LEAF, b"meta", &meta_bucket),
            ],
        );
        let members = leaf(4, &[(0, b"8e9e05c52164694d", b"{}")]);
        let path = write(
            "buckets",
            &[
                meta(0, 3, u64::MAX, 5, 1),
                meta(1, 3, u64::MAX, 5, 0),
                vec![0; PS],
                root,
                members,
            ],
        );
        let b = read_buckets(&path, &[b"meta", b"members", b"absent"]).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(consistent_index(&b).unwrap(), Some(42));
        assert_eq!(
            b[b"members".as_slice()],
            [(b"8e9e05c52164694d".to_vec(), b"{}".to_vec())]
        );
        assert!(!b.contains_key(b"key".as_slice()));
        assert!(!b.contains_key(b"absent".as_slice()));
    }

    #[test]
    fn bad_consistent_index_and_bad_pages_are_errors() {
        let meta_bucket = inline_bucket(&[(0, b"consistent_index", b"\x01\x02")]);
        let root = leaf(3, &[(BUCKET_LEAF, b"meta", &meta_bucket)]);
        let path = write(
            "buckets-bad",
            &[
                meta(0, 3, u64::MAX, 4, 1),
                meta(1, 3, u64::MAX, 4, 0),
                vec![0; PS],
                root,
            ],
        );
        let b = read_buckets(&path, &[b"meta"]).unwrap();
        assert!(consistent_index(&b)
            .unwrap_err()
            .to_string()
            .contains("2 bytes"));
        // A root past the high-water mark.
        let path2 = write(
            "buckets-hwm",
            &[
                meta(0, 7, u64::MAX, 4, 1),
                meta(1, 7, u64::MAX, 4, 0),
                vec![0; PS],
                vec![0; PS],
            ],
        );
        let e = read_buckets(&path2, &[b"meta"]).unwrap_err();
        let _ = (std::fs::remove_file(&path), std::fs::remove_file(&path2));
        assert!(matches!(e, DbError::Page { id: 7, .. }), "{e}");
    }
}
