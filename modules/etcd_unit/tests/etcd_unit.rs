//! etcd_unit through its real binary on files in a temp dir (systemd is not asked to reload:
//! `daemon_reload: false`; the lab's restore-quorum tests run it against real systemd).

use modtest::{run, TempDir};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;

const BIN: &str = env!("CARGO_BIN_EXE_etcd_unit");

const UNIT: &str = "[Unit]\nDescription=Etcd Server\n\n[Service]\nType=notify\n\
    EnvironmentFile=-/etc/etcd/etcd.conf\n\
    ExecStart=/bin/bash -c \"GOMAXPROCS=$(nproc) /usr/bin/etcd\"\nRestart=on-failure\n";

fn args(dir: &TempDir, force: bool, extra: Value) -> Value {
    let mut a = json!({
        "force_new_cluster": force,
        "unit_file": dir.join("etcd.service"),
        "dropin": dir.join("etcd.service.d/temp.conf"),
        "daemon_reload": false,
    });
    for (k, v) in extra.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

#[test]
fn the_dropin_comes_and_goes_once_each() {
    let dir = TempDir::new("etcd-unit");
    fs::write(dir.join("etcd.service"), UNIT).unwrap();
    let dropin = dir.join("etcd.service.d/temp.conf");

    // Check mode: says it would, writes nothing.
    let r = run(BIN, &args(&dir, true, json!({"_ansible_check_mode": true})));
    assert_eq!(r.json["changed"], true, "{}", r.json);
    assert!(!dropin.exists());

    let r = run(BIN, &args(&dir, true, json!({"_ansible_diff": true})));
    assert_eq!(r.json["changed"], true, "{}", r.json);
    let text = fs::read_to_string(&dropin).unwrap();
    assert!(
        text.ends_with(
            "[Service]\nExecStart=\nExecStart=/bin/bash -c \"GOMAXPROCS=$(nproc) /usr/bin/etcd --force-new-cluster\"\n"
        ),
        "{text}"
    );
    assert_eq!(
        fs::metadata(&dropin).unwrap().permissions().mode() & 0o777,
        0o644
    );
    assert_eq!(
        fs::metadata(dropin.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );
    assert_eq!(r.json["diff"]["after"], text.as_str(), "{}", r.json);

    // Again: nothing to do.
    let r = run(BIN, &args(&dir, true, json!({})));
    assert_eq!(r.json["changed"], false, "{}", r.json);

    // Taken away; then nothing to do either.
    let r = run(
        BIN,
        &args(&dir, false, json!({"_ansible_check_mode": true})),
    );
    assert_eq!(r.json["changed"], true, "{}", r.json);
    assert!(dropin.exists(), "check mode removed it");
    let r = run(BIN, &args(&dir, false, json!({})));
    assert_eq!(r.json["changed"], true, "{}", r.json);
    assert!(!dropin.exists());
    let r = run(BIN, &args(&dir, false, json!({})));
    assert_eq!(r.json["changed"], false, "{}", r.json);
}

#[test]
fn a_unit_it_cannot_rewrite_is_refused_and_the_dropin_left_alone() {
    let dir = TempDir::new("etcd-unit");
    fs::create_dir_all(dir.join("etcd.service.d")).unwrap();
    let dropin = dir.join("etcd.service.d/temp.conf");
    fs::write(&dropin, "# an operator's own\n").unwrap();

    fs::write(dir.join("etcd.service"), "[Service]\nType=notify\n").unwrap();
    let r = run(BIN, &args(&dir, true, json!({})));
    assert_eq!(r.json["failed"], true, "{}", r.json);
    let msg = r.json["msg"].as_str().unwrap();
    assert!(
        msg.contains("etcd.service: the unit has no ExecStart= line"),
        "{msg}"
    );
    assert_eq!(
        fs::read_to_string(&dropin).unwrap(),
        "# an operator's own\n"
    );

    fs::remove_file(dir.join("etcd.service")).unwrap();
    let r = run(BIN, &args(&dir, true, json!({})));
    assert_eq!(r.json["failed"], true, "{}", r.json);
    assert!(
        r.json["msg"].as_str().unwrap().starts_with("reading "),
        "{}",
        r.json
    );
    assert_eq!(
        fs::read_to_string(&dropin).unwrap(),
        "# an operator's own\n"
    );
}

#[test]
fn starting_and_stopping_take_checked_arguments() {
    for (a, want) in [
        (
            json!({"state": "started", "timeout": 0}),
            "timeout must be 1..=3600 seconds, got 0",
        ),
        (
            json!({"state": "started", "listen_port": 70000}),
            "listen_port must be 1..=65535, got 70000",
        ),
        (json!({"state": "running"}), "state"),
    ] {
        let r = run(BIN, &a);
        assert_eq!(r.json["failed"], true, "{a}: {}", r.json);
        let msg = r.json["msg"].as_str().unwrap();
        assert!(msg.contains(want), "{a}: {msg}");
    }
}
