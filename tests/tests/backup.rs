//! backup.yml on a real lab through real ansible-playbook: a bundle on every etcd host, one
//! snapshot only, from a healthy member, that verifies and holds the keys; retention; check mode.
//! On machines over SSH, at the real default paths (/var/backup/etcd).

use lab::ansible;
use lab::{Lab, LabOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn bundles(lab: &Lab, host: &str) -> Vec<PathBuf> {
    lab.backup_bundles(host).unwrap()
}

fn manifest(bundle: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(bundle.join("MANIFEST.json")).unwrap()).unwrap()
}

fn snapshot_status(file: &Path, lab: &Lab) -> Value {
    let out = lab
        .etcdctl(["snapshot", "status", "-w", "json", file.to_str().unwrap()])
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn one_snapshot_from_a_healthy_member_and_config_bundles_everywhere() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    lab.put_keys("/backed-up/", 500).unwrap();
    let inv = lab.inventory_path();
    let fetch = lab.dir().join("fetched");

    // Check mode: plans, writes nothing.
    let run = ansible::playbook(&inv, "playbooks/backup.yml", &["--check"]);
    assert!(run.ok(), "{}", run.describe());
    for h in ["etcd1", "etcd2", "etcd3"] {
        assert!(
            bundles(&lab, h).is_empty(),
            "check mode wrote a bundle on {h}"
        );
    }

    // etcd1 is dead: the snapshot must come from a healthy member, and etcd1's host still
    // gets its configuration bundle.
    lab.kill("etcd1").unwrap();
    // etcd1 may have led: let etcd2 and etcd3 elect a leader first.
    lab.wait_healthy(&["etcd2", "etcd3"], std::time::Duration::from_secs(30))
        .unwrap();
    let fetch_arg = format!("etcd_backup_fetch_dir={}", fetch.display());
    let run = ansible::playbook(&inv, "playbooks/backup.yml", &["-e", &fetch_arg]);
    assert!(run.ok(), "{}", run.describe());
    assert!(run.stdout.contains("snapshot from etcd2"), "{}", run.stdout);

    let mut with_snapshot = Vec::new();
    for h in ["etcd1", "etcd2", "etcd3"] {
        let b = bundles(&lab, h);
        assert_eq!(b.len(), 1, "{h}: {b:?}");
        let m = manifest(&b[0]);
        let files: Vec<&str> = m["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert!(
            files.iter().any(|f| f.ends_with("etc/etcd/etcd.conf")),
            "{h}: {files:?}"
        );
        assert!(
            files.iter().any(|f| f.ends_with("etc/etcd/peer.key")),
            "{h}"
        );
        if m.get("snapshot").is_some_and(|s| !s.is_null()) {
            with_snapshot.push((h, b[0].join(m["snapshot"]["file"].as_str().unwrap())));
        }
    }
    assert_eq!(
        with_snapshot.len(),
        1,
        "exactly one snapshot: {with_snapshot:?}"
    );
    let (host, snap) = &with_snapshot[0];
    assert_eq!(*host, "etcd2");
    let status = snapshot_status(snap, &lab);
    assert!(status["totalKey"].as_i64().unwrap() >= 500, "{status}");

    // The fetched copy is byte-identical to the bundle's snapshot.
    let fetched = fetch.join("etcd2").join(snap.file_name().unwrap());
    assert_eq!(
        std::fs::read(&fetched).unwrap(),
        std::fs::read(snap).unwrap()
    );

    // Retention: two more runs with keep 2 leave the two newest on every host.
    lab.start("etcd1").unwrap();
    lab.wait_healthy(&["etcd1"], std::time::Duration::from_secs(30))
        .unwrap();
    let first = bundles(&lab, "etcd3");
    for _ in 0..2 {
        let run = ansible::playbook(&inv, "playbooks/backup.yml", &["-e", "etcd_backup_keep=2"]);
        assert!(run.ok(), "{}", run.describe());
    }
    for h in ["etcd1", "etcd2", "etcd3"] {
        let b = bundles(&lab, h);
        assert_eq!(b.len(), 2, "{h}: {b:?}");
        assert!(
            !b.contains(&first[0]) || h != "etcd3",
            "the oldest bundle was pruned"
        );
    }
    // With every member healthy again, the snapshot comes from the first one.
    let newest = bundles(&lab, "etcd1").pop().unwrap();
    assert!(manifest(&newest)["snapshot"].is_object());
}
