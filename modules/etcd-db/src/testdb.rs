//! Builds small bbolt files page by page for tests of paths etcd's own files never take
//! (a stored free list, branch pages with chosen keys, deliberate structural damage).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::page::{BRANCH, FREELIST, LEAF, META};

pub(crate) const PS: usize = 512;

fn header(id: u64, flags: u16, count: u16) -> Vec<u8> {
    let mut p = vec![0u8; PS];
    p[0..8].copy_from_slice(&id.to_le_bytes());
    p[8..10].copy_from_slice(&flags.to_le_bytes());
    p[10..12].copy_from_slice(&count.to_le_bytes());
    p
}

pub(crate) fn meta(id: u64, root: u64, freelist: u64, pgid: u64, txid: u64) -> Vec<u8> {
    let mut p = header(id, META, 0);
    let m = &mut p[16..80];
    m[0..4].copy_from_slice(&0xED0C_DAEDu32.to_le_bytes());
    m[4..8].copy_from_slice(&2u32.to_le_bytes());
    m[8..12].copy_from_slice(&(PS as u32).to_le_bytes());
    m[16..24].copy_from_slice(&root.to_le_bytes());
    m[32..40].copy_from_slice(&freelist.to_le_bytes());
    m[40..48].copy_from_slice(&pgid.to_le_bytes());
    m[48..56].copy_from_slice(&txid.to_le_bytes());
    let sum = m[..56].iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    m[56..64].copy_from_slice(&sum.to_le_bytes());
    p
}

/// A leaf page body (header included) with `(flags, key, value)` elements, for a page or an
/// inline bucket.
pub(crate) fn leaf(id: u64, elems: &[(u32, &[u8], &[u8])]) -> Vec<u8> {
    let mut p = header(id, LEAF, elems.len() as u16);
    let mut data = 16 + 16 * elems.len();
    for (i, (flags, k, v)) in elems.iter().enumerate() {
        let off = 16 + 16 * i;
        p[off..off + 4].copy_from_slice(&flags.to_le_bytes());
        p[off + 4..off + 8].copy_from_slice(&((data - off) as u32).to_le_bytes());
        p[off + 8..off + 12].copy_from_slice(&(k.len() as u32).to_le_bytes());
        p[off + 12..off + 16].copy_from_slice(&(v.len() as u32).to_le_bytes());
        p[data..data + k.len()].copy_from_slice(k);
        p[data + k.len()..data + k.len() + v.len()].copy_from_slice(v);
        data += k.len() + v.len();
    }
    p
}

pub(crate) fn branch(id: u64, elems: &[(&[u8], u64)]) -> Vec<u8> {
    let mut p = header(id, BRANCH, elems.len() as u16);
    let mut data = 16 + 16 * elems.len();
    for (i, (k, child)) in elems.iter().enumerate() {
        let off = 16 + 16 * i;
        p[off..off + 4].copy_from_slice(&((data - off) as u32).to_le_bytes());
        p[off + 4..off + 8].copy_from_slice(&(k.len() as u32).to_le_bytes());
        p[off + 8..off + 16].copy_from_slice(&child.to_le_bytes());
        p[data..data + k.len()].copy_from_slice(k);
        data += k.len();
    }
    p
}

pub(crate) fn freelist(id: u64, ids: &[u64]) -> Vec<u8> {
    let mut p = header(id, FREELIST, ids.len() as u16);
    for (i, f) in ids.iter().enumerate() {
        p[16 + 8 * i..24 + 8 * i].copy_from_slice(&f.to_le_bytes());
    }
    p
}

/// A bucket value pointing at page `root`.
pub(crate) fn bucket(root: u64) -> Vec<u8> {
    let mut v = root.to_le_bytes().to_vec();
    v.extend_from_slice(&0u64.to_le_bytes());
    v
}

/// An inline bucket value: the bucket header with root 0, then the leaf page, trimmed.
pub(crate) fn inline_bucket(elems: &[(u32, &[u8], &[u8])]) -> Vec<u8> {
    let mut v = bucket(0);
    let page = leaf(0, elems);
    let used = 16
        + elems
            .iter()
            .map(|(_, k, v)| 16 + k.len() + v.len())
            .sum::<usize>();
    v.extend_from_slice(&page[..used]);
    v
}

/// Writes the pages to a file under the temp dir, unique per call (tests run in parallel).
pub(crate) fn write(tag: &str, pages: &[Vec<u8>]) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let name = format!("etcd-db-unit-{}-{n}-{tag}.db", std::process::id());
    let path = std::env::temp_dir().join(name);
    std::fs::write(&path, pages.concat()).unwrap();
    path
}
