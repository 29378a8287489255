//! Damaged files: each defect is a precise error, and nothing panics.

mod common;

use common::*;
use etcd_db::{status, DbError};

fn err_of(dir: &TempDir, name: &str, bytes: &[u8]) -> String {
    let p = dir.write(name, bytes);
    match status(&p) {
        Ok(s) => panic!("{name}: expected an error, got {s:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn flipped_byte_in_a_snapshot_leaf_breaks_the_trailer() {
    let dir = TempDir::new("leaf-flip");
    let mut snap = read_fixture("snapshot.db");
    let leaf = *leaf_pages(&snap, 1).first().expect("a leaf page");
    snap[leaf * PAGE + PAGE - 1] ^= 0x01;
    let msg = err_of(&dir, "snap", &snap);
    assert!(
        msg.starts_with("sha256 trailer mismatch: file says "),
        "{msg}"
    );
    assert!(msg.contains(", content hashes to "), "{msg}");
}

#[test]
fn flipped_byte_in_the_trailer_is_a_mismatch() {
    let dir = TempDir::new("trailer-flip");
    let mut snap = read_fixture("snapshot.db");
    let last = snap.len() - 1;
    let stored: String = snap[last - 31..]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    snap[last] ^= 0x80;
    let p = dir.write("snap", &snap);
    match status(&p).unwrap_err() {
        DbError::TrailerMismatch {
            stored: s,
            computed,
        } => {
            assert_ne!(s, computed);
            let e = status(&p).unwrap_err().to_string();
            assert!(e.contains(&format!("content hashes to {stored}")), "{e}");
        }
        other => panic!("expected a trailer mismatch, got {other}"),
    }
}

#[test]
fn flipped_key_size_in_a_raw_leaf_is_named_by_page_and_element() {
    let dir = TempDir::new("ksize-flip");
    let raw = read_fixture("raw.db");
    let mut hits = 0;
    for id in leaf_pages(&raw, 1) {
        let mut db = raw.clone();
        // High byte of element 0's ksize: the key now runs far past the page.
        db[id * PAGE + 16 + 11] ^= 0x40;
        let p = dir.write("raw", &db);
        // Stale pages that are free are not read: those stay Ok.
        if let Err(e) = status(&p) {
            let msg = e.to_string();
            let want = format!("page {id} element 0: key at offset ");
            assert!(msg.starts_with(&want), "{msg}");
            assert!(msg.contains("bytes) runs past the page end "), "{msg}");
            hits += 1;
        }
    }
    assert!(hits > 0, "no reachable leaf page found");
}

#[test]
fn keys_out_of_order_in_a_raw_leaf_are_reported() {
    let dir = TempDir::new("order");
    let raw = read_fixture("raw.db");
    let mut hits = 0;
    for id in leaf_pages(&raw, 2) {
        let mut db = raw.clone();
        let base = id * PAGE;
        // Point element 1 at element 0's key: equal keys, which bbolt never writes.
        let pos0 = u32_at(&db, base + 16 + 4);
        let ksize0 = u32_at(&db, base + 16 + 8);
        db[base + 32 + 4..base + 32 + 8].copy_from_slice(&(pos0 - 16).to_le_bytes());
        db[base + 32 + 8..base + 32 + 12].copy_from_slice(&ksize0.to_le_bytes());
        let p = dir.write("raw", &db);
        if let Err(e) = status(&p) {
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!("page {id} element 1: key 0x")),
                "{msg}"
            );
            assert!(
                msg.contains("does not rise above the previous key"),
                "{msg}"
            );
            hits += 1;
        }
    }
    assert!(hits > 0, "no reachable leaf page found");
}

#[test]
fn truncated_files_say_how_long_they_are_and_should_be() {
    let dir = TempDir::new("truncated");
    let raw = read_fixture("raw.db");
    let need = etcdctl_status("raw.db")["totalSize"].as_u64().unwrap();
    for len in [
        100,
        4096,
        8192,
        4096 * 5,
        need as usize - 4096,
        need as usize - 1,
    ] {
        let msg = err_of(&dir, "raw", &raw[..len]);
        assert_eq!(
            msg,
            format!("truncated: file is {len} bytes, meta says {need}")
        );
    }
    let msg = err_of(&dir, "raw", &raw[..50]);
    assert_eq!(
        msg,
        "not a bbolt file: 50 bytes is too short for a meta page (80)"
    );

    // A snapshot cut inside its trailer is no longer a snapshot, nor whole pages.
    let snap = read_fixture("snapshot.db");
    let len = snap.len() - 1;
    let msg = err_of(&dir, "snap", &snap[..len]);
    assert_eq!(
        msg,
        format!(
            "truncated or padded: file is {len} bytes, neither whole 4096-byte pages nor those \
             plus a 32-byte sha256 trailer"
        )
    );
}

#[test]
fn empty_file_random_bytes_and_a_directory() {
    let dir = TempDir::new("garbage");
    assert_eq!(err_of(&dir, "empty", &[]), "empty file");

    let mut x = 0x2545_f491_4f6c_dd1du64;
    let random: Vec<u8> = (0..(1 << 20) + 32)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    for len in [random.len(), 1 << 20, 4096, 81] {
        let msg = err_of(&dir, "random", &random[..len]);
        assert!(
            msg.starts_with("not a bbolt file: bad magic at page 0 (0x"),
            "{msg}"
        );
    }

    let sub = dir.join("a-dir");
    std::fs::create_dir(&sub).unwrap();
    assert_eq!(status(&sub).unwrap_err().to_string(), "is a directory");
}

#[test]
fn bad_checksums_on_both_metas() {
    let dir = TempDir::new("metas");
    let mut db = read_fixture("raw.db");
    // Flip a byte of the txid in each meta: the stored checksum no longer matches.
    db[16 + 48] ^= 0x01;
    db[PAGE + 16 + 48] ^= 0x01;
    let msg = err_of(&dir, "raw", &db);
    assert!(
        msg.starts_with("no valid meta page: page 0: checksum mismatch: stored 0x"),
        "{msg}"
    );
    assert!(
        msg.contains("; page 1: checksum mismatch: stored 0x"),
        "{msg}"
    );
}

#[test]
fn one_bad_meta_falls_back_to_the_other() {
    let dir = TempDir::new("one-meta");
    let raw = read_fixture("raw.db");
    for page in [0, 1] {
        let mut db = raw.clone();
        db[page * PAGE + 16 + 48] ^= 0x01;
        // The older meta may point at pages reused since: any outcome but a panic will do.
        let p = dir.write("raw", &db);
        let _ = status(&p);
    }
}

#[test]
fn every_single_byte_flip_returns_and_snapshot_flips_are_all_caught() {
    use std::os::unix::fs::FileExt;
    let dir = TempDir::new("flips");
    for (name, must_fail) in [("raw.db", false), ("snapshot.db", true)] {
        let orig = read_fixture(name);
        let p = dir.write(name, &orig);
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        let (mut failures, mut tried) = (0, 0);
        // Every 29th byte walks all page headers, elements, keys and values at varying
        // offsets; each flip is undone in place before the next.
        for off in (0..orig.len()).step_by(29) {
            let flipped = orig[off] ^ (1 << (off % 8));
            f.write_all_at(&[flipped], off as u64).unwrap();
            let res = status(&p);
            f.write_all_at(&orig[off..=off], off as u64).unwrap();
            tried += 1;
            match res {
                Err(_) => failures += 1,
                Ok(_) if must_fail => panic!("{name}: flip at offset {off} went unnoticed"),
                Ok(_) => {}
            }
        }
        assert!(
            failures > 0 && tried > 1000,
            "{name}: {failures} of {tried}"
        );
    }
}
