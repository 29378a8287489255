//! `status()` on small hand-built files: the free list, branch bounds and bucket defects that
//! etcd's own files (no stored free list, few branch pages) do not exercise.

use crate::crc32c::Crc32c;
use crate::testdb::*;

/// Root bucket (page 3) holds an inline bucket and bucket "b", whose branch (page 4) has two
/// leaves (5, 6); page 2 is a stored free list naming page 7.
struct Db {
    free: Vec<u64>,
    root: Vec<(u32, &'static [u8], Vec<u8>)>,
    branch: Vec<(&'static [u8], u64)>,
    page6: Vec<u8>,
}

impl Db {
    fn good() -> Self {
        Db {
            free: vec![7],
            root: vec![
                (1, b"a-inline", inline_bucket(&[(0, b"x", b"1")])),
                (1, b"b", bucket(4)),
            ],
            branch: vec![(b"k1", 5), (b"k5", 6)],
            page6: leaf(6, &[(0, b"k5", b"v"), (0, b"k6", b"v")]),
        }
    }

    fn status(&self, tag: &str) -> Result<crate::SnapshotStatus, String> {
        let root: Vec<(u32, &[u8], &[u8])> = self
            .root
            .iter()
            .map(|(f, k, v)| (*f, *k, v.as_slice()))
            .collect();
        let pages = vec![
            meta(0, 3, 2, 8, 1),
            meta(1, 3, 2, 8, 0),
            freelist(2, &self.free),
            leaf(3, &root),
            branch(4, &self.branch),
            leaf(5, &[(0, b"k1", b"v"), (0, b"k2", b"v")]),
            self.page6.clone(),
            vec![0u8; PS],
        ];
        let path = write(tag, &pages);
        let res = crate::status(&path).map_err(|e| e.to_string());
        let _ = std::fs::remove_file(&path);
        res
    }

    fn err(&self, tag: &str) -> String {
        self.status(tag).expect_err(tag)
    }
}

#[test]
fn good_synthetic_db_hashes_in_bucket_then_key_order() {
    let s = Db::good().status("good").unwrap();
    let mut crc = Crc32c::new();
    for part in [
        &b"a-inline"[..],
        b"x",
        b"1",
        b"b",
        b"k1",
        b"v",
        b"k2",
        b"v",
        b"k5",
        b"v",
        b"k6",
        b"v",
    ] {
        crc.update(part);
    }
    assert_eq!(s.hash, crc.sum());
    assert_eq!(
        (s.total_key, s.revision, s.live_keys, s.total_size),
        (5, 0, 0, 8 * PS as u64)
    );
    assert_eq!(s.page_size, PS as u32);
}

#[test]
fn free_list_defects() {
    let mut db = Db::good();
    db.free = vec![];
    assert_eq!(
        db.err("unfreed"),
        "page 7 is neither reachable nor on the freelist"
    );
    db.free = vec![7, 7];
    assert_eq!(db.err("twice"), "page 7 is on the freelist twice");
    db.free = vec![5, 7];
    assert_eq!(
        db.err("reach-freed"),
        "page 5 is reachable but on the freelist"
    );
    db.free = vec![9];
    assert_eq!(
        db.err("beyond"),
        "page 2 (freelist) lists page 9, beyond the high-water mark 8"
    );
}

#[test]
fn tree_defects() {
    let mut db = Db::good();
    db.branch = vec![(b"k1", 5), (b"k5", 5)];
    assert_eq!(db.err("twice"), "page 5 reachable twice");
    db.branch = vec![(b"k1", 5), (b"k2", 6)];
    assert_eq!(
        db.err("bound"),
        "page 5 element 1: key 0x6b32 is not below 0x6b32, the parent's next key"
    );
    db.branch = vec![(b"k5", 5), (b"k6", 6)];
    assert_eq!(
        db.err("below"),
        "page 5 element 0: key 0x6b31 is below 0x6b35, the key its parent has for it"
    );
    db.branch = vec![(b"k1", 5), (b"k5", 60)];
    assert_eq!(
        db.err("hwm"),
        "page 60 is referenced but lies beyond the high-water mark 8"
    );
    let mut db = Db::good();
    db.page6 = freelist(6, &[]);
    assert_eq!(
        db.err("type"),
        "page 6 has type freelist, expected branch or leaf"
    );
    db.page6 = leaf(9, &[(0, b"k5", b"v")]);
    assert_eq!(db.err("id"), "page 6 has id 9 in its header");
    db.page6 = leaf(6, &[(0, b"k6", b"v"), (0, b"k5", b"v")]);
    assert_eq!(
        db.err("order"),
        "page 6 element 1: key 0x6b35 does not rise above the previous key 0x6b36"
    );
}

#[test]
fn bucket_defects() {
    let mut db = Db::good();
    db.root[0].0 = 0;
    assert_eq!(
        db.err("plain"),
        "the root bucket holds key 0x612d696e6c696e65 that is not a bucket (page 3, element 0)"
    );
    let mut db = Db::good();
    db.root[0].2.truncate(10);
    assert_eq!(
        db.err("short"),
        "page 3 element 0: bucket value is 10 bytes, shorter than a bucket header (16)"
    );
    let mut db = Db::good();
    db.root[0].2[16 + 8] = 0x01; // inline page flags: branch
    assert_eq!(
        db.err("inline-type"),
        "page 3 element 0: inline bucket page has type branch, expected leaf"
    );
    let mut db = Db::good();
    db.root[0].2[16 + 16 + 12] = 0x7f; // inline element 0 vsize
    assert_eq!(
        db.err("inline-bounds"),
        "page 3 element 0 (inline bucket): element 0: value at offset 33 (127 bytes) runs \
         past the page end 34"
    );
}
