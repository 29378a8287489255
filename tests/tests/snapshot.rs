//! etcd_snapshot against real TLS labs: save and verify against etcdctl's numbers, damaged files,
//! a restore into a fresh cluster that must serve the same keys at the same revision, raw
//! `member/snap/db` copies, backup bundles with retention, and check mode writing nothing.

use lab::ansible::{self, Run};
use lab::{Lab, LabOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn conn_args(lab: &Lab) -> Value {
    lab.conn_args(5)
}

fn with(base: &Value, extra: Value) -> Value {
    let mut v = base.clone();
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

/// Through real Ansible, on the lab's first host.
fn via_ansible(lab: &Lab, args: &Value, extra: &[&str]) -> (Value, Run) {
    ansible::module(&lab.inventory_path(), "etcd1", "etcd_snapshot", args, extra)
}

/// The installed binary run directly, as an operator would with `--args`.
fn direct(args: &Value, extra: &[&str]) -> (Value, i32) {
    ansible::direct("etcd_snapshot", args, extra)
}

fn ok(v: &Value, code: i32) {
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["failed"], json!(false), "{v:#}");
}

fn msg(v: &Value) -> &str {
    v["msg"].as_str().unwrap_or("")
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "etcd-ops-snap-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn etcdctl_json(lab: &Lab, args: &[&str]) -> Value {
    let out = lab.etcdctl(args).unwrap();
    assert!(
        out.status.success(),
        "etcdctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn snapshot_status(file: &Path) -> Value {
    let out = Command::new(lab::etcdctl_bin())
        .env("ETCDCTL_API", "3")
        .args(["snapshot", "status", "-w", "json"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every key with its value and revisions, and the store revision.
fn dump(lab: &Lab) -> (Vec<Value>, i64) {
    let v = etcdctl_json(lab, &["get", "", "--prefix", "-w", "json"]);
    let kvs: Vec<Value> = v["kvs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|kv| {
            json!([
                kv["key"],
                kv["value"],
                kv["create_revision"],
                kv["mod_revision"],
                kv["version"]
            ])
        })
        .collect();
    (kvs, v["header"]["revision"].as_i64().unwrap())
}

fn initial_cluster(lab: &Lab) -> String {
    lab.hosts()
        .iter()
        .map(|h| format!("{}={}", h.name, h.peer_url()))
        .collect::<Vec<_>>()
        .join(",")
}

fn empty_dir(p: &Path) {
    let _ = std::fs::remove_dir_all(p);
    std::fs::create_dir_all(p).unwrap();
}

#[test]
fn save_verify_and_restore_into_a_fresh_cluster() {
    let a = Lab::up(LabOptions::default()).expect("lab up");
    a.put_keys("/snap/", 10_000).unwrap();
    // History beyond plain puts: 100 deletes and overwrites of existing keys.
    let out = a.etcdctl(["del", "--prefix", "/snap/000001"]).unwrap();
    assert!(out.status.success());
    for i in 0..20 {
        let out = a
            .etcdctl([
                "put",
                &format!("/snap/{:08}", 5000 + i),
                &format!("rewritten-{i}"),
            ])
            .unwrap();
        assert!(out.status.success());
    }
    let (before, revision) = dump(&a);
    assert_eq!(before.len(), 9_900);

    // saved, into a directory, through Ansible.
    let out_dir = temp_dir("save");
    let conn = conn_args(&a);
    let (v, run) = via_ansible(&a, &with(&conn, json!({"path": out_dir})), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(true));
    let file = PathBuf::from(v["path"].as_str().unwrap());
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("snapshot_") && name.ends_with(".db") && name.len() == 29,
        "{name}"
    );
    assert_eq!(v["revision"], json!(revision));
    assert_eq!(v["etcd_version"], json!("3.4.23"));
    let members = a.member_list().unwrap();
    assert!(members
        .iter()
        .any(|m| format!("{:x}", m.id) == v["member_id"].as_str().unwrap()));

    // The trailer is the sha256 of everything before it, and the module reported it.
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(bytes.len() as u64, v["size"].as_u64().unwrap());
    let (db, trailer) = bytes.split_at(bytes.len() - 32);
    assert_eq!(openssl::sha::sha256(db), trailer);
    let hex: String = trailer.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v["sha256"], json!(hex));
    drop(bytes);

    // verified equals etcdctl snapshot status, number for number.
    let (ver, run) = via_ansible(&a, &json!({"state": "verified", "path": file}), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(ver["changed"], json!(false));
    let st = snapshot_status(&file);
    assert_eq!(ver["hash"], st["hash"]);
    assert_eq!(ver["revision"], st["revision"]);
    assert_eq!(ver["total_key"], st["totalKey"]);
    assert_eq!(ver["total_size"], st["totalSize"]);
    assert_eq!(ver["has_hash"], json!(true));
    assert_eq!(ver["hash_ok"], json!(true));
    assert_eq!(ver["live_keys"], json!(9_900));
    for k in ["hash", "revision", "total_key", "total_size"] {
        assert_eq!(v[k], ver[k], "saved and verified agree on {k}");
    }

    // A second lab: stop it, restore every member from A's snapshot, start it again.
    let b = Lab::up(LabOptions::default()).expect("second lab up");
    for h in b.member_names() {
        b.stop(h).unwrap();
    }
    let cluster = initial_cluster(&b);
    let restore = |host: &str, extra: Value| {
        let h = b.host(host).unwrap();
        with(
            &json!({
                "state": "restored",
                "path": file,
                "data_dir": h.data_dir(),
                "name": host,
                "initial_cluster": cluster,
                "initial_cluster_token": "etcd-cluster-1",
                "initial_advertise_peer_urls": [h.peer_url()],
            }),
            extra,
        )
    };
    // etcd1 keeps its old data dir: refused without force, moved aside with it.
    let (v, code) = direct(&restore("etcd1", json!({})), &[]);
    assert_eq!(code, 1);
    assert!(
        msg(&v).contains("is not empty") && msg(&v).contains("force"),
        "{v}"
    );
    let (v1, run) = via_ansible(&b, &restore("etcd1", json!({"force": true})), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v1["changed"], json!(true));
    let aside = PathBuf::from(v1["moved_aside"].as_str().expect("moved aside"));
    assert!(aside.join("member").is_dir(), "the old data dir is kept");
    // etcd2 and etcd3 were wiped; check mode first must leave the empty dir as it is.
    let mut expected_ids = vec![v1["member_id"].as_str().unwrap().to_string()];
    for host in ["etcd2", "etcd3"] {
        let dd = b.host(host).unwrap().data_dir();
        empty_dir(&dd);
        let (v, code) = direct(&restore(host, json!({})), &["--check"]);
        ok(&v, code);
        assert_eq!(v["changed"], json!(true));
        assert!(msg(&v).starts_with("would restore"), "{v}");
        assert_eq!(
            std::fs::read_dir(&dd).unwrap().count(),
            0,
            "check mode wrote"
        );
        let (v, code) = direct(&restore(host, json!({})), &[]);
        ok(&v, code);
        assert_eq!(v["cluster_id"], v1["cluster_id"]);
        expected_ids.push(v["member_id"].as_str().unwrap().to_string());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dd).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
    for h in b.member_names() {
        b.start(h).unwrap();
    }
    let names: Vec<&str> = b.member_names().iter().map(String::as_str).collect();
    b.wait_healthy(&names, Duration::from_secs(60)).unwrap();

    let mut ids: Vec<String> = b
        .member_list()
        .unwrap()
        .iter()
        .map(|m| format!("{:x}", m.id))
        .collect();
    ids.sort();
    expected_ids.sort();
    assert_eq!(
        ids, expected_ids,
        "member ids are the ones the module predicted"
    );
    let (after, rev_after) = dump(&b);
    assert_eq!(rev_after, revision, "same revision");
    assert!(after == before, "every key, value and revision is the same");

    // Running the same restore again on the running member changes nothing.
    let (v, run) = via_ansible(&b, &restore("etcd1", json!({"force": true})), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(false), "{v}");
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn damaged_files_fail_clearly() {
    let fixture = ansible::repo_root().join("modules/etcd-db/tests/fixtures/snapshot.db");
    let good = std::fs::read(&fixture).unwrap();
    let dir = temp_dir("damaged");
    let verify = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        let (v, code) = direct(&json!({"state": "verified", "path": p}), &[]);
        assert_eq!(code, 1, "{name}: {v}");
        assert_eq!(v["failed"], json!(true));
        assert!(!msg(&v).contains("panicked"), "{v}");
        msg(&v).to_string()
    };

    let (v, code) = direct(&json!({"state": "verified", "path": fixture}), &[]);
    ok(&v, code);

    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x40;
    assert!(verify("flipped.db", &flipped).contains("sha256 trailer mismatch"));

    let m = verify("truncated.db", &good[..good.len() - 4096 - 32]);
    assert!(m.contains("truncated"), "{m}");

    let mut wrong = good.clone();
    let n = wrong.len();
    wrong[n - 32..].copy_from_slice(&[0xab; 32]);
    let m = verify("wrong-trailer.db", &wrong);
    assert!(
        m.contains("sha256 trailer mismatch") && m.contains("abab"),
        "{m}"
    );

    assert!(verify("empty.db", b"").contains("empty file"));

    let mut random = vec![0u8; 8192];
    openssl::rand::rand_bytes(&mut random).unwrap();
    let m = verify("random.db", &random);
    assert!(m.contains("not a bbolt file"), "{m}");

    let (v, code) = direct(&json!({"state": "verified", "path": dir}), &[]);
    assert_eq!(code, 1);
    assert!(
        msg(&v).contains("is a directory without a MANIFEST.json"),
        "{v}"
    );

    let (v, _) = direct(
        &json!({"state": "verified", "path": dir.join("missing.db")}),
        &[],
    );
    assert!(msg(&v).contains("No such file"), "{v}");

    // Bad input is named before anything is touched.
    let (v, code) = direct(&json!({"state": "saved", "path": dir}), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        msg(&v),
        "state is saved but all of the following are missing: endpoints"
    );
    let (v, _) = direct(&json!({"state": "restored", "path": fixture}), &[]);
    assert!(
        msg(&v).contains("missing: data_dir, name, initial_cluster"),
        "{v}"
    );
    let (v, _) = direct(
        &json!({"state": "restored", "path": fixture, "data_dir": dir.join("d"),
                "name": "x", "initial_cluster": "a=https://10.0.0.1:2380"}),
        &[],
    );
    assert_eq!(msg(&v), "name x is not in initial_cluster (a)");
    let (v, _) = direct(&json!({"state": "shredded", "path": fixture}), &[]);
    assert!(msg(&v).contains("state"), "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn raw_db_copy_verifies_without_hash_and_restores_with_skip_hash_check() {
    let lab = Lab::up(LabOptions {
        members: 1,
        ..Default::default()
    })
    .expect("lab up");
    lab.put_keys("/raw/", 500).unwrap();
    lab.stop("etcd1").unwrap();
    let host = lab.host("etcd1").unwrap().clone();
    let dir = temp_dir("raw");
    let raw = dir.join("db");
    std::fs::copy(host.data_dir().join("member/snap/db"), &raw).unwrap();

    let (v, code) = direct(&json!({"state": "verified", "path": raw}), &[]);
    ok(&v, code);
    assert_eq!(v["has_hash"], json!(false));
    assert_eq!(v["hash_ok"], Value::Null);
    assert_eq!(v["live_keys"], json!(500));
    let st = snapshot_status(&raw);
    assert_eq!(v["hash"], st["hash"]);
    assert_eq!(v["total_key"], st["totalKey"]);

    let args = json!({
        "state": "restored",
        "path": raw,
        "data_dir": host.data_dir(),
        "name": "etcd1",
        "initial_cluster": {"etcd1": host.peer_url()},
        "initial_cluster_token": "etcd-cluster-1",
        "force": true,
    });
    let (v, code) = direct(&args, &[]);
    assert_eq!(code, 1);
    assert!(msg(&v).contains("no sha256 trailer"), "{v}");
    assert!(
        host.data_dir().join("member/snap/db").is_file(),
        "untouched"
    );

    let (v, run) = via_ansible(&lab, &with(&args, json!({"skip_hash_check": true})), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(true));
    lab.start("etcd1").unwrap();
    lab.wait_healthy(&["etcd1"], Duration::from_secs(30))
        .unwrap();
    assert_eq!(lab.count_keys("/raw/").unwrap(), 500);
    assert_eq!(
        lab.get("/raw/00000042").unwrap().as_deref(),
        Some("value-42")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn backup_bundles_verify_detect_changes_and_rotate() {
    let lab = Lab::up(LabOptions {
        members: 1,
        ..Default::default()
    })
    .expect("lab up");
    lab.put_keys("/bk/", 200).unwrap();
    let root = temp_dir("bundles");
    let conf = lab.host("etcd1").unwrap().cert_dir();
    // A symlink among the config files is recorded, not followed.
    std::os::unix::fs::symlink("server.crt", conf.join("current.crt")).unwrap();
    let args = with(
        &conn_args(&lab),
        json!({"state": "backup", "path": root, "config_paths": [conf], "keep": 2}),
    );

    // Check mode: reported, nothing written.
    let (v, run) = via_ansible(&lab, &args, &["--check"]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(true));
    assert!(msg(&v).starts_with("would write bundle"), "{v}");
    let snap_file = root.join("plain.db");
    let (v, code) = direct(
        &with(&conn_args(&lab), json!({"path": snap_file})),
        &["--check"],
    );
    ok(&v, code);
    assert!(msg(&v).starts_with("would save a snapshot of ~"), "{v}");
    assert_eq!(
        std::fs::read_dir(&root).unwrap().count(),
        0,
        "check mode wrote"
    );

    let (first, run) = via_ansible(&lab, &args, &[]);
    assert!(run.ok(), "{}", run.describe());
    let text = first.to_string();
    assert!(!text.contains("PRIVATE KEY"), "key material in the result");
    let bundle = PathBuf::from(first["bundle"].as_str().unwrap());
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("MANIFEST.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    let link = files
        .iter()
        .find(|f| {
            f["path"]
                .as_str()
                .unwrap()
                .ends_with("etc/etcd/current.crt")
        })
        .expect("symlink recorded");
    assert_eq!(link["kind"], json!("symlink"));
    assert_eq!(link["target"], json!("server.crt"));
    let key = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("etc/etcd/server.key"))
        .expect("key copied");
    assert_eq!(key["mode"], json!("0600"));
    assert_eq!(manifest["snapshot"]["revision"], first["revision"]);

    let (v, run) = via_ansible(&lab, &json!({"state": "verified", "path": bundle}), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["differences"], json!([]));
    assert!(!v.to_string().contains("PRIVATE KEY"));

    let (second, code) = direct(&args, &[]);
    ok(&second, code);
    let (third, code) = direct(&args, &[]);
    ok(&third, code);
    assert_eq!(third["removed"], json!([bundle]), "{third}");
    let mut left: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    left.sort();
    let mut newest: Vec<PathBuf> = [&second, &third]
        .iter()
        .map(|v| PathBuf::from(v["bundle"].as_str().unwrap()))
        .collect();
    newest.sort();
    assert_eq!(left, newest);

    // One config file altered in the newest bundle: verified names it.
    let newest_bundle = PathBuf::from(third["bundle"].as_str().unwrap());
    let rel = conf.strip_prefix("/").unwrap().join("etcd.conf");
    let altered = newest_bundle.join("config").join(&rel);
    let mut text = std::fs::read_to_string(&altered).unwrap();
    text = text.replace("ETCD_NAME=etcd1", "ETCD_NAME=etcdX");
    std::fs::write(&altered, text).unwrap();
    let (v, run) = via_ansible(
        &lab,
        &json!({"state": "verified", "path": newest_bundle}),
        &[],
    );
    assert!(!run.ok(), "{}", run.describe());
    assert!(msg(&v).contains("differs from its manifest"), "{v}");
    assert!(msg(&v).contains("etcd.conf: content changed"), "{v}");
    assert_eq!(v["differences"].as_array().unwrap().len(), 1, "{v}");

    // A bundle restores like a snapshot file (it stands for the snapshot inside it).
    let target = root.join("restored-data");
    let (v, code) = direct(
        &json!({"state": "restored", "path": newest_bundle, "data_dir": target,
                "name": "etcd1", "initial_cluster": format!("etcd1={}", lab.host("etcd1").unwrap().peer_url()),
                "initial_cluster_token": "etcd-cluster-1"}),
        &[],
    );
    ok(&v, code);
    assert!(target.join("member/snap/db").is_file());
    let _ = std::fs::remove_dir_all(&root);
}
