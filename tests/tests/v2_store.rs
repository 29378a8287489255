//! The v2 store (issue 14, seed 001 39.1.1.2 in docs/procedures.md) on machines with the v2 API on:
//! flannel's tree, an empty directory and a TTL key beside 1,000 v3 keys. backup.yml exports it
//! into the bundle (fetched owner-only); restore-snapshot.yml brings both stores back after every
//! data dir is wiped, and refuses a v2-less bundle while the cluster holds v2 data; an altered v2
//! part fails verification; restore-quorum.yml keeps both stores on every member, re-added ones
//! included.

use lab::ansible;
use lab::{Lab, LabOptions};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const V3_KEYS: usize = 1000;
const NETWORK: &str = r#"{"Network":"10.128.0.0/14","SubnetLen":9,"Backend":{"Type":"host-gw"}}"#;

fn v2_lab() -> Lab {
    Lab::up(LabOptions {
        enable_v2: true,
        ..LabOptions::machines()
    })
    .expect("lab up")
}

/// One v2 API call through curl with the lab's client certificate; the JSON answer.
fn v2(lab: &Lab, endpoint: &str, method: &str, path: &str, form: &[&str]) -> Value {
    let tls = lab.client_tls();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-X", method, "--cacert"])
        .arg(&tls.ca)
        .arg("--cert")
        .arg(&tls.cert)
        .arg("--key")
        .arg(&tls.key)
        .arg(format!("{endpoint}{path}"));
    for f in form {
        cmd.args(["--data-urlencode", f]);
    }
    let out = cmd.output().expect("curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// flannel's config and subnets (openshift-ansible writes them with the v2 API), an old empty
/// directory, and a key with a TTL.
fn seed_v2(lab: &Lab) {
    let e = &lab.endpoints()[0];
    let put = |path: &str, form: &[&str]| {
        let v = v2(lab, e, "PUT", path, form);
        assert!(v.get("errorCode").is_none(), "{path}: {v}");
    };
    put(
        "/v2/keys/openshift.com/network/config",
        &[&format!("value={NETWORK}")],
    );
    for i in 0..5 {
        put(
            &format!("/v2/keys/openshift.com/network/subnets/10.128.{i}.0-23"),
            &[&format!(r#"value={{"PublicIP":"10.0.0.{i}"}}"#)],
        );
    }
    put("/v2/keys/old/empty", &["dir=true"]);
    put("/v2/keys/lease/node1", &["value=alive & well", "ttl=3600"]);
}

/// Every v2 node a member holds (its own view: `quorum=false` reads that member's store):
/// key → (is a dir, value, ttl).
fn v2_tree(lab: &Lab, endpoint: &str) -> BTreeMap<String, (bool, Option<String>, Option<i64>)> {
    fn walk(v: &Value, out: &mut BTreeMap<String, (bool, Option<String>, Option<i64>)>) {
        for n in v["nodes"].as_array().into_iter().flatten() {
            out.insert(
                n["key"].as_str().unwrap().to_string(),
                (
                    n["dir"].as_bool().unwrap_or(false),
                    n["value"].as_str().map(String::from),
                    n["ttl"].as_i64(),
                ),
            );
            walk(n, out);
        }
    }
    let v = v2(
        lab,
        endpoint,
        "GET",
        "/v2/keys/?recursive=true&quorum=false",
        &[],
    );
    let mut out = BTreeMap::new();
    walk(&v["node"], &mut out);
    out
}

/// Both stores whole on every member: every seeded v2 node with its value (the TTL key still
/// with a TTL) and every v3 key.
fn assert_both_stores_whole(lab: &Lab) {
    for e in lab.endpoints() {
        let t = v2_tree(lab, &e);
        assert_eq!(
            t["/openshift.com/network/config"].1.as_deref(),
            Some(NETWORK),
            "{e}: {t:?}"
        );
        for i in 0..5 {
            let k = format!("/openshift.com/network/subnets/10.128.{i}.0-23");
            let want = format!(r#"{{"PublicIP":"10.0.0.{i}"}}"#);
            assert_eq!(t[&k].1.as_deref(), Some(want.as_str()), "{e}: {k}");
        }
        assert!(
            t["/openshift.com"].0 && t["/openshift.com/network/subnets"].0,
            "{e}"
        );
        assert_eq!(
            t["/old/empty"],
            (true, None, None),
            "{e}: the empty directory"
        );
        let lease = &t["/lease/node1"];
        assert_eq!(lease.1.as_deref(), Some("alive & well"), "{e}");
        assert!(
            lease.2.is_some_and(|ttl| ttl > 0 && ttl <= 3600),
            "{e}: the TTL key lost its TTL: {lease:?}"
        );
        assert_eq!(t.len(), 13, "{e}: {t:?}");
    }
    assert_eq!(lab.count_keys("/v3/").unwrap(), V3_KEYS as u64);
    for i in (0..V3_KEYS).step_by(111) {
        let k = lab::key_name("/v3/", i);
        assert_eq!(lab.get(&k).unwrap(), Some(lab::value_for(i)), "{k}");
    }
}

fn backup(lab: &Lab, fetch: &Path) -> PathBuf {
    let run = ansible::playbook(
        &lab.inventory_path(),
        "playbooks/backup.yml",
        &["-e", &format!("etcd_backup_fetch_dir={}", fetch.display())],
    );
    assert!(run.ok(), "{}", run.describe());
    let host_dir = std::fs::read_dir(fetch)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .next()
        .expect("a host directory in the fetch dir");
    for d in [fetch, host_dir.as_path()] {
        let mode = std::fs::metadata(d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
    for f in std::fs::read_dir(&host_dir).unwrap().filter_map(|e| e.ok()) {
        let mode = f.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", f.path().display());
    }
    std::fs::read_dir(&host_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "db"))
        .expect("backup.yml fetched a snapshot")
}

fn verified(path: &Path) -> Value {
    ansible::direct(
        "etcd_snapshot",
        &json!({"state": "verified", "path": path}),
        &[],
    )
    .0
}

fn restore(lab: &Lab, snap: &Path, extra: &[&str]) -> lab::ansible::Run {
    let file = format!("etcd_snapshot_file={}", snap.display());
    let mut args = vec!["-e", file.as_str()];
    args.extend_from_slice(extra);
    ansible::playbook(
        &lab.inventory_path(),
        "playbooks/restore-snapshot.yml",
        &args,
    )
}

#[test]
fn backup_wipe_restore_brings_back_both_stores_and_a_v2_less_bundle_is_refused() {
    let lab = v2_lab();
    lab.put_keys("/v3/", V3_KEYS).unwrap();

    // Before any v2 data: the bundle gets no v2 part.
    let plain = backup(&lab, &lab.dir().join("fetched-v3-only"));
    let v = verified(&plain);
    assert_eq!(v["failed"], json!(false), "{v}");
    assert_eq!(
        (&v["in_bundle"], &v["v2_export"]),
        (&json!(true), &Value::Null),
        "{v}"
    );

    seed_v2(&lab);
    let health = ansible::direct(
        "etcd_health",
        &json!({"endpoints": lab.endpoints(), "ca_cert": lab.client_tls().ca,
                "client_cert": lab.client_tls().cert, "client_key": lab.client_tls().key}),
        &[],
    )
    .0;
    assert_eq!(
        (&health["v2_api"], &health["v2_data"]),
        (&json!(true), &json!(true)),
        "{health}"
    );
    assert_eq!(health["v2_nodes"], json!(13), "{health}");
    for e in health["endpoints"].as_array().unwrap() {
        assert_eq!(
            (&e["v2_api"], &e["v2_data"]),
            (&json!(true), &json!(true)),
            "{e}"
        );
    }

    let snap = backup(&lab, &lab.dir().join("fetched"));
    let v = verified(&snap);
    assert_eq!(v["failed"], json!(false), "{v}");
    assert_eq!(v["v2_nodes"], json!(13), "{v}");
    let export = PathBuf::from(v["v2_export"].as_str().expect("a v2 export"));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(snap.with_file_name("MANIFEST.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["v2"]["nodes"], json!(13), "{manifest}");

    // The bundle on the host verifies; a copy whose v2 part was altered does not.
    let host = snap
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let bundle = lab.backup_bundles(&host).unwrap().pop().unwrap();
    let v = verified(&bundle);
    assert_eq!(v["failed"], json!(false), "{v}");
    assert_eq!(v["v2_nodes"], json!(13), "{v}");
    let altered = lab.dir().join("altered");
    assert!(Command::new("cp")
        .arg("-a")
        .arg(&bundle)
        .arg(&altered)
        .status()
        .unwrap()
        .success());
    let v2_file = altered.join(export.file_name().unwrap());
    let text = std::fs::read_to_string(&v2_file).unwrap();
    std::fs::write(&v2_file, text.replace("10.128.0.0/14", "10.129.0.0/14")).unwrap();
    let v = verified(&altered);
    assert_eq!(v["failed"], json!(true), "{v}");
    assert!(v["msg"].as_str().unwrap().contains(".v2.json"), "{v}");

    // The v2-less bundle onto a cluster with v2 data: refused, naming what would be lost,
    // and nothing touched.
    let run = restore(&lab, &plain, &[]);
    assert!(!run.ok(), "{}", run.describe());
    assert!(
        run.stdout.contains("/openshift.com") && run.stdout.contains("etcd_restore_without_v2"),
        "{}",
        run.stdout
    );
    assert_both_stores_whole(&lab);

    // The cluster is lost: every member down, every data dir gone.
    for h in ["etcd1", "etcd2", "etcd3"] {
        lab.kill(h).unwrap();
        std::fs::remove_dir_all(lab.host(h).unwrap().data_dir()).unwrap();
    }
    let run = restore(&lab, &snap, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_both_stores_whole(&lab);
}

#[test]
fn restore_quorum_keeps_both_stores_on_every_member() {
    let lab = v2_lab();
    lab.put_keys("/v3/", V3_KEYS).unwrap();
    seed_v2(&lab);
    lab.kill("etcd2").unwrap();
    lab.kill("etcd3").unwrap();
    let run = ansible::playbook(&lab.inventory_path(), "playbooks/restore-quorum.yml", &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(lab.member_list().unwrap().len(), 3);
    // etcd2 and etcd3 were re-added and got both stores from the survivor.
    assert_both_stores_whole(&lab);
}
