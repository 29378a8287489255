//! `status()` against the numbers real etcd 3.4 printed for the same files.

mod common;

use common::*;
use etcd_db::{status, DbError};

fn assert_matches_etcdctl(name: &str) -> etcd_db::SnapshotStatus {
    let s = status(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = etcdctl_status(name);
    assert_eq!(
        u64::from(s.hash),
        want["hash"].as_u64().unwrap(),
        "{name} hash"
    );
    assert_eq!(
        s.revision,
        want["revision"].as_i64().unwrap(),
        "{name} revision"
    );
    assert_eq!(
        s.total_key,
        want["totalKey"].as_u64().unwrap(),
        "{name} totalKey"
    );
    assert_eq!(
        s.total_size,
        want["totalSize"].as_u64().unwrap(),
        "{name} totalSize"
    );
    assert_eq!(s.live_keys, live_keys(name), "{name} live keys");
    assert_eq!(s.page_size, 4096);
    s
}

#[test]
fn snapshot_matches_etcdctl_and_its_trailer_checks_out() {
    let s = assert_matches_etcdctl("snapshot.db");
    assert!(s.has_hash);
    assert_eq!(s.hash_ok, Some(true));
    assert_eq!(
        s.db_size + 32,
        std::fs::metadata(fixture("snapshot.db")).unwrap().len()
    );
}

#[test]
fn raw_db_matches_etcdctl_and_has_no_trailer() {
    let s = assert_matches_etcdctl("raw.db");
    assert!(!s.has_hash);
    assert_eq!(s.hash_ok, None);
    assert_eq!(
        s.db_size,
        std::fs::metadata(fixture("raw.db")).unwrap().len()
    );
}

#[test]
fn the_two_fixtures_differ() {
    // Guards the tests above against a script that copied one file twice.
    let a = status(&fixture("snapshot.db")).unwrap();
    let b = status(&fixture("raw.db")).unwrap();
    assert_ne!(a.hash, b.hash);
    assert!(b.revision > a.revision);
}

#[test]
fn serialises_with_the_documented_field_names() {
    let s = status(&fixture("snapshot.db")).unwrap();
    let v = serde_json::to_value(&s).unwrap();
    for f in [
        "hash",
        "revision",
        "total_key",
        "total_size",
        "live_keys",
        "has_hash",
        "hash_ok",
        "page_size",
        "db_size",
    ] {
        assert!(v.get(f).is_some(), "missing {f} in {v}");
    }
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let e = status(&fixture("no-such.db")).unwrap_err();
    assert!(matches!(e, DbError::Io { .. }));
    let msg = e.to_string();
    assert!(
        msg.starts_with("open ") && msg.contains("no-such.db"),
        "{msg}"
    );
    assert!(std::error::Error::source(&e).is_some());
}
