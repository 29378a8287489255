//! etcd_data through its real binary: inspections of data dirs built record by record (with a
//! real etcd backend file), refusals, and the survivor choice over the inspections.

use etcd_datadir::encode::{snap_file, v2_request, v3_put, Encoder};
use modtest::{run, TempDir};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};

const BIN: &str = env!("CARGO_BIN_EXE_etcd_data");
const CLUSTER: u64 = 0xcdf8_1819_4e3a_8c32;

/// A data dir whose WAL commits `commit` entries (term 2), with a snapshot at 2 holding a v2
/// key when `v2` is set, and etcd-db's raw backend fixture as its `member/snap/db`.
fn data_dir(tmp: &TempDir, name: &str, member: u64, commit: u64, v2: bool) -> PathBuf {
    let dir = tmp.join(name);
    let (wal, snap) = (dir.join("member/wal"), dir.join("member/snap"));
    fs::create_dir_all(&wal).unwrap();
    fs::create_dir_all(&snap).unwrap();
    let mut e = Encoder::new(0);
    e.metadata(member, CLUSTER);
    for i in 1..=commit {
        e.entry(2, i, &v3_put(i, b"k", b"v"));
        if i == 2 {
            e.snapshot(2, 2);
        }
    }
    e.entry(2, commit + 1, &v2_request(9, "PUT", "/1/not-committed"));
    e.state(2, member, commit).zeros(1024);
    fs::write(wal.join("0000000000000000-0000000000000000.wal"), &e.out).unwrap();
    fs::write(wal.join("0.tmp"), vec![0u8; 4096]).unwrap();
    let store = if v2 {
        r#"{"Root":{"Children":{"0":{"Children":{}},"1":{"Children":{"openshift.com":{"Children":{"network":{"Children":{"config":{"Value":"{}"}}}}}}}}}}"#
    } else {
        r#"{"Root":{"Children":{"0":{"Children":{}},"1":{"Children":{}}}}}"#
    };
    fs::write(
        snap.join("0000000000000002-0000000000000002.snap"),
        snap_file(2, 2, store.as_bytes()),
    )
    .unwrap();
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../etcd-db/tests/fixtures/raw.db"),
        snap.join("db"),
    )
    .unwrap();
    dir
}

fn inspect(dir: &Path) -> Value {
    run(BIN, &json!({"data_dir": dir})).ok().json
}

#[test]
fn inspected_reports_the_numbers_and_changes_nothing() {
    let tmp = TempDir::new("etcd-data");
    let dir = data_dir(&tmp, "m1", 0x8e9e05c52164694d, 7, true);
    let wal = dir.join("member/wal/0000000000000000-0000000000000000.wal");
    let before = modtest::snapshot(&wal);
    let r = inspect(&dir);
    assert_eq!(r["changed"], false);
    assert_eq!(r["member_id"], "8e9e05c52164694d");
    assert_eq!(r["cluster_id"], "cdf818194e3a8c32");
    assert_eq!(
        r["hardstate"],
        json!({"term": 2, "vote": 0x8e9e05c52164694du64, "commit": 7})
    );
    assert_eq!(r["last_entry"], json!({"index": 8, "term": 2}));
    assert_eq!(r["snapshot"]["index"], 2);
    assert_eq!(
        r["has_v2_data"], true,
        "the v2 key under /1 in the snapshot"
    );
    assert_eq!(
        r["v2_wal_writes"], 0,
        "the v2 write past the commit does not count"
    );
    assert_eq!(
        r["wal_files"],
        json!(["0000000000000000-0000000000000000.wal"])
    );
    assert_eq!(r["torn_tail"], false);
    assert!(r["consistent_index"].as_u64().is_some(), "{r}");
    assert_eq!(r["errors"], json!([]));
    assert!(r["msg"].as_str().unwrap().contains("WAL commit 7"), "{r}");
    // Check mode: the same read, the same answer, still nothing written.
    let c = run(BIN, &json!({"data_dir": dir, "_ansible_check_mode": true}))
        .ok()
        .json;
    assert_eq!(c["hardstate"], r["hardstate"]);
    assert_eq!(modtest::snapshot(&wal), before);

    let plain = data_dir(&tmp, "m2", 2, 5, false);
    assert_eq!(inspect(&plain)["has_v2_data"], false);
}

#[test]
fn damage_is_reported_and_refusals_name_the_path() {
    let tmp = TempDir::new("etcd-data-bad");
    let dir = data_dir(&tmp, "m1", 1, 5, false);
    let wal = dir.join("member/wal/0000000000000000-0000000000000000.wal");
    let mut b = fs::read(&wal).unwrap();
    b[40] ^= 0xff; // inside the metadata record, early in the log
    fs::write(&wal, &b).unwrap();
    let r = inspect(&dir);
    let errs = r["errors"].as_array().unwrap();
    assert!(
        errs.iter().any(|e| e.as_str().unwrap().contains("WAL")),
        "{r}"
    );
    assert!(r["msg"].as_str().unwrap().contains("damaged"));

    let missing = tmp.join("nope");
    let f = run(BIN, &json!({"data_dir": missing}));
    assert_eq!(f.json["error_kind"], "missing");
    assert!(f.err().contains("nope"));
    fs::create_dir_all(tmp.join("empty")).unwrap();
    let f = run(BIN, &json!({"data_dir": tmp.join("empty")}));
    assert_eq!(f.json["error_kind"], "empty");
    fs::create_dir_all(tmp.join("other/x")).unwrap();
    let f = run(BIN, &json!({"data_dir": tmp.join("other")}));
    assert_eq!(f.json["error_kind"], "not_data_dir");
    assert!(f.err().contains("member/"));
    let f = run(BIN, &json!({"state": "inspected"}));
    assert!(f.err().contains("data_dir"));
}

#[test]
fn ranked_picks_the_most_committed_and_honours_an_override() {
    let tmp = TempDir::new("etcd-data-rank");
    // Above the backend fixture's consistent_index (476), so the WAL commits decide.
    let a = inspect(&data_dir(&tmp, "a", 0xa, 500, false));
    let b = inspect(&data_dir(&tmp, "b", 0xb, 900, false));
    let c = inspect(&data_dir(&tmp, "c", 0xc, 700, false));
    let failed = run(BIN, &json!({"data_dir": tmp.join("gone")})).json;
    let cands = json!({"a": a, "b": b, "c": c, "d": failed});
    let r = run(BIN, &json!({"state": "ranked", "candidates": cands}))
        .ok()
        .json;
    assert_eq!(r["changed"], false);
    assert_eq!(r["survivor"], "b");
    assert_eq!(r["survivor_member_id"], "b");
    let order: Vec<&str> = r["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["host"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["b", "c", "a", "d"]);
    assert_eq!(r["excluded"][0]["host"], "d");
    assert!(r["excluded"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
    assert_eq!(r["tie"], false);
    assert_eq!(r["msg"], r["reason"]);

    let o = run(
        BIN,
        &json!({"state": "ranked", "candidates": cands, "survivor": "a"}),
    )
    .ok()
    .json;
    assert_eq!(o["survivor"], "a");
    assert_eq!(o["behind"], 400);
    assert_eq!(o["overridden"], true);
    assert!(
        o["reason"]
            .as_str()
            .unwrap()
            .contains("400 entries behind b"),
        "{o}"
    );

    let f = run(
        BIN,
        &json!({"state": "ranked", "candidates": cands, "survivor": "d"}),
    );
    assert_eq!(f.json["survivor"], "d");
    assert!(f.err().contains("force"));
    let f = run(
        BIN,
        &json!({"state": "ranked", "candidates": cands, "cluster_id": "xyz"}),
    );
    assert!(f.err().contains("cluster_id"));
    let f = run(
        BIN,
        &json!({"state": "ranked", "candidates": cands, "cluster_id": "1"}),
    );
    assert!(
        f.err().contains("no candidate"),
        "all belong to another cluster"
    );
    let f = run(BIN, &json!({"state": "ranked"}));
    assert!(f.err().contains("candidates"));
}
