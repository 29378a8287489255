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

fn empty(dir: &Path, wal: Option<&Path>, check: bool) -> modtest::Run {
    let mut a = json!({"state": "emptied", "data_dir": dir, "label": "before-restore-T1",
                       "_ansible_check_mode": check});
    if let Some(w) = wal {
        a["wal_dir"] = json!(w);
    }
    run(BIN, &a)
}

#[test]
fn emptied_sets_the_data_and_a_separate_wal_aside_once_and_check_mode_moves_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = TempDir::new("etcd-data-emptied");
    let dir = data_dir(&tmp, "etcd", 0x8e9e05c52164694d, 7, false);
    let wal = tmp.join("etcd-wal");
    fs::create_dir_all(&wal).unwrap();
    fs::write(
        wal.join("0000000000000000-0000000000000000.wal"),
        b"wal bytes",
    )
    .unwrap();
    let db = fs::read(dir.join("member/snap/db")).unwrap();

    let r = empty(&dir, Some(&wal), true).ok();
    assert!(
        r.changed() && r.msg().starts_with("would set aside"),
        "{}",
        r.json
    );
    assert_eq!(
        r.json["moved_aside"][0]["to"],
        json!(tmp.join("etcd.before-restore-T1"))
    );
    assert!(dir.join("member/snap/db").exists() && !tmp.join("etcd.before-restore-T1").exists());

    let r = empty(&dir, Some(&wal), false).ok();
    assert!(r.changed(), "{}", r.json);
    assert_eq!(
        fs::read(tmp.join("etcd.before-restore-T1/member/snap/db")).unwrap(),
        db
    );
    assert_eq!(
        fs::read(tmp.join("etcd-wal.before-restore-T1/0000000000000000-0000000000000000.wal"))
            .unwrap(),
        b"wal bytes"
    );
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    assert_eq!(
        fs::metadata(&dir).unwrap().permissions().mode() & 0o7777,
        0o700
    );
    assert!(!wal.exists(), "etcd makes the WAL dir itself");
    // A re-run after a cut: nothing left to move, nothing changed, the aside untouched.
    let r = empty(&dir, Some(&wal), false).ok();
    assert!(!r.changed(), "{}", r.json);
    assert_eq!(
        fs::read(tmp.join("etcd.before-restore-T1/member/snap/db")).unwrap(),
        db
    );
    // A data dir a cut left missing is made.
    fs::remove_dir(&dir).unwrap();
    assert!(empty(&dir, None, false).ok().changed());
    assert!(dir.is_dir());
}

#[test]
fn emptied_refuses_an_open_wal_a_bad_label_and_an_unknown_owner_moving_nothing() {
    let tmp = TempDir::new("etcd-data-emptied-refused");
    let dir = data_dir(&tmp, "etcd", 0x8e9e05c52164694d, 7, false);
    let wal = dir.join("member/wal/0000000000000000-0000000000000000.wal");
    let f = modtest::hold_lock(&wal);
    let e = empty(&dir, None, false).err();
    assert!(
        e.contains("an etcd still runs on") && e.contains("stop it first"),
        "{e}"
    );
    assert!(wal.exists());
    drop(f);

    let e = run(
        BIN,
        &json!({"state": "emptied", "data_dir": dir, "label": "a/b"}),
    )
    .err();
    assert!(e.contains("label"), "{e}");
    let e = run(BIN, &json!({"state": "emptied", "data_dir": dir})).err();
    assert!(e.contains("label"), "{e}");
    let e = run(
        BIN,
        &json!({"state": "emptied", "data_dir": dir, "label": "x", "owner": "no-such-user-here"}),
    )
    .err();
    assert!(e.contains("no such user"), "{e}");
    assert!(wal.exists() && !tmp.join("etcd.x").exists());
}

/// A dedicated disk at the data dir (here a tmpfs, which needs root): the mount point cannot be
/// renamed, so its entries move into a directory on the same filesystem and it stays mounted.
#[test]
fn emptied_keeps_a_mount_point_in_place() {
    if !modtest::running_as_root() {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let tmp = TempDir::new("etcd-data-emptied-mount");
    let dir = tmp.join("etcd");
    fs::create_dir_all(&dir).unwrap();
    let mount = |args: &[&str]| {
        let s = std::process::Command::new(args[0])
            .args(&args[1..])
            .status()
            .unwrap();
        assert!(s.success(), "{args:?}");
    };
    mount(&[
        "mount",
        "-t",
        "tmpfs",
        "-o",
        "size=16m",
        "etcd-data-test",
        dir.to_str().unwrap(),
    ]);
    struct Umount(PathBuf);
    impl Drop for Umount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Umount(dir.clone());
    fs::create_dir_all(dir.join("member/wal")).unwrap();
    fs::create_dir_all(dir.join("lost+found")).unwrap();
    fs::write(dir.join("member/wal/0.wal"), b"on the disk").unwrap();

    let r = empty(&dir, None, false).ok();
    assert!(
        r.msg().contains("a mount point, kept in place"),
        "{}",
        r.json
    );
    let inside = dir.join("etcd-ops-aside.before-restore-T1");
    assert_eq!(
        fs::read(inside.join("member/wal/0.wal")).unwrap(),
        b"on the disk"
    );
    assert!(!dir.join("member").exists() && dir.join("lost+found").is_dir());
    assert!(!tmp.join("etcd.before-restore-T1").exists());
    assert!(etcd_datadir::aside::is_mount_point(&dir));
    assert!(!empty(&dir, None, false).ok().changed());

    // The same disk as a WAL dir: etcd would delete what is set aside there, so it is refused.
    let data = tmp.join("data");
    fs::create_dir_all(data.join("member/snap")).unwrap();
    fs::write(dir.join("1.wal"), b"wal").unwrap();
    let e = empty(&data, Some(&dir), false).err();
    assert!(e.contains("is a mount point: etcd cannot start"), "{e}");
    assert!(dir.join("1.wal").exists() && data.join("member/snap").is_dir());
}

fn copy(dir: &Path, wal: Option<&Path>, config: &Path, backup: &Path, check: bool) -> modtest::Run {
    let mut a = json!({"state": "copied", "data_dir": dir, "config_dir": config,
                       "backup_dir": backup, "label": "before-restore-T1",
                       "_ansible_check_mode": check});
    if let Some(w) = wal {
        a["wal_dir"] = json!(w);
    }
    run(BIN, &a)
}

#[test]
fn copied_backs_up_data_wal_and_config_once_and_redoes_a_cut_copy() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = TempDir::new("etcd-data-copied");
    let dir = data_dir(&tmp, "etcd", 0x8e9e05c52164694d, 7, false);
    let wal = tmp.join("etcd-wal");
    fs::create_dir_all(&wal).unwrap();
    fs::write(
        wal.join("0000000000000001-0000000000000008.wal"),
        b"wal bytes",
    )
    .unwrap();
    let config = tmp.join("etc-etcd");
    fs::create_dir_all(&config).unwrap();
    fs::write(config.join("etcd.conf"), "ETCD_NAME=etcd1\n").unwrap();
    let backup = tmp.join("backup/etcd");
    let db = fs::read(dir.join("member/snap/db")).unwrap();

    let r = copy(&dir, Some(&wal), &config, &backup, true).ok();
    assert!(
        r.changed() && r.msg().starts_with("would copy"),
        "{}",
        r.json
    );
    assert_eq!(r.json["copied"].as_array().unwrap().len(), 3);
    assert!(!backup.exists(), "check mode makes nothing");

    // A copy a cut left behind half done is not taken for a backup.
    let cut = backup.join("data-before-restore-T1.partial");
    fs::create_dir_all(cut.join("member")).unwrap();
    // Nor are those of runs cut under other labels kept (nothing would finish them); their
    // finished copies are.
    let older = backup.join("config-before-restore-T0.partial");
    fs::create_dir_all(&older).unwrap();
    let finished = backup.join("data-before-restore-T0");
    fs::create_dir_all(&finished).unwrap();
    let r = copy(&dir, Some(&wal), &config, &backup, true).ok();
    assert!(
        r.msg()
            .contains("would remove the unfinished copies earlier runs left")
            && older.exists()
            && cut.exists(),
        "{}",
        r.json
    );
    let r = copy(&dir, Some(&wal), &config, &backup, false).ok();
    assert!(r.changed(), "{}", r.json);
    assert_eq!(
        r.json["removed_unfinished"],
        json!([cut, older]),
        "{}",
        r.json
    );
    assert!(!older.exists() && finished.exists());
    assert_eq!(
        fs::read(backup.join("data-before-restore-T1/member/snap/db")).unwrap(),
        db
    );
    assert_eq!(
        fs::read(backup.join("wal-before-restore-T1/0000000000000001-0000000000000008.wal"))
            .unwrap(),
        b"wal bytes"
    );
    assert_eq!(
        fs::read_to_string(backup.join("config-before-restore-T1/etcd.conf")).unwrap(),
        "ETCD_NAME=etcd1\n"
    );
    assert!(!cut.exists());
    let r = copy(&dir, Some(&wal), &config, &backup, false).ok();
    assert!(!r.changed(), "a re-run copies nothing again: {}", r.json);
    let fresh = tmp.join("fresh/etcd");
    assert!(copy(&dir, None, &config, &fresh, false).ok().changed());
    assert_eq!(
        fs::metadata(&fresh).unwrap().permissions().mode() & 0o7777,
        0o700
    );

    // A running member's data is no consistent copy: refused, nothing copied.
    let f = modtest::hold_lock(&dir.join("member/wal/0000000000000000-0000000000000000.wal"));
    let other = tmp.join("other");
    let e = copy(&dir, None, &config, &other, false).err();
    assert!(
        e.contains("an etcd still runs on") && e.contains("nothing was copied"),
        "{e}"
    );
    assert!(!other.exists());
    drop(f);
    let e = copy(&tmp.join("no-such-dir"), None, &config, &other, false).err();
    assert!(
        e.starts_with("reading ") && e.contains("nothing was copied"),
        "{e}"
    );
    assert!(!other.exists());
    let e = run(
        BIN,
        &json!({"state": "copied", "data_dir": dir, "label": "x"}),
    )
    .err();
    assert!(e.contains("backup_dir"), "{e}");
    let inside = config.join("backup");
    let e = copy(&dir, None, &config, &inside, false).err();
    assert!(
        e.contains("is inside") && e.contains("nothing was copied"),
        "{e}"
    );
    assert!(!inside.exists());
}
