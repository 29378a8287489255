//! Shared by the integration tests: the fixtures and throwaway directories.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("read fixture {name}: {e}"))
}

/// The `etcdctl snapshot status -w json` output recorded next to a fixture.
pub fn etcdctl_status(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(&format!("{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The live user key count the fixture script recorded for `name`.
pub fn live_keys(name: &str) -> u64 {
    let text = std::fs::read_to_string(fixture("live-keys.txt")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no live key count for {name}"))
}

#[allow(unused_imports)] // not every test binary that includes this uses it
pub use modtest::TempDir;

pub const PAGE: usize = 4096;

pub fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

pub fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

/// Ids of pages whose header says leaf with at least `min_count` elements (reachable or not).
pub fn leaf_pages(db: &[u8], min_count: u16) -> Vec<usize> {
    (2..db.len() / PAGE)
        .filter(|&id| {
            let p = &db[id * PAGE..];
            u64::from_le_bytes(p[..8].try_into().unwrap()) == id as u64
                && u16_at(p, 8) == 0x02
                && u16_at(p, 10) >= min_count
        })
        .collect()
}
