//! etcd_conf through its real binary, on copies of real etcd.conf files.

use modtest::{replace_once, run, snapshot, TempDir};
use serde_json::{json, Value};
use std::fs;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_etcd_conf");

fn args(path: &Path, mut extra: Value) -> Value {
    extra["path"] = json!(path);
    extra
}

/// The recovery step: drop the dead member, add its replacement, join as existing.
fn recovery() -> Value {
    json!({
        "initial_cluster_remove": ["master-2.example.com"],
        "initial_cluster_add": {"master-3.example.com": "https://10.0.0.4:2380"},
        "settings": {"ETCD_INITIAL_CLUSTER_STATE": "existing"},
    })
}

fn recovery_golden(before: &str) -> String {
    let after = replace_once(
        before,
        "master-2.example.com=https://10.0.0.3:2380\n",
        "master-3.example.com=https://10.0.0.4:2380\n",
    );
    replace_once(
        &after,
        "ETCD_INITIAL_CLUSTER_STATE=new\n",
        "ETCD_INITIAL_CLUSTER_STATE=existing\n",
    )
}

#[test]
fn recovery_edit_is_golden_and_idempotent() {
    let dir = TempDir::new("ec-golden");
    let p = dir.fixture("etcd-ocp311.conf", "etcd.conf");
    let before = fs::read_to_string(&p).unwrap();
    let out = run(BIN, &args(&p, recovery())).ok();
    assert!(out.changed());
    assert_eq!(fs::read_to_string(&p).unwrap(), recovery_golden(&before));
    assert_eq!(
        out.msg(),
        "set ETCD_INITIAL_CLUSTER, ETCD_INITIAL_CLUSTER_STATE"
    );
    assert_eq!(
        out.json["initial_cluster"],
        json!([
            {"name": "master-0.example.com", "peer_urls": ["https://10.0.0.1:2380"]},
            {"name": "master-1.example.com", "peer_urls": ["https://10.0.0.2:2380"]},
            {"name": "master-3.example.com", "peer_urls": ["https://10.0.0.4:2380"]},
        ])
    );
    assert_eq!(
        out.json["settings"]["ETCD_INITIAL_CLUSTER_STATE"],
        "existing"
    );
    assert_eq!(out.json["settings"]["ETCD_NAME"], "master-0.example.com");
    assert_eq!(out.json["settings"].as_object().unwrap().len(), 21);
    assert!(out.json.get("diff").is_none(), "diff only in diff mode");

    let (bytes, mtime) = snapshot(&p);
    let again = run(BIN, &args(&p, recovery())).ok();
    assert!(!again.changed(), "{}", again.json);
    assert_eq!(again.msg(), "already as requested");
    assert_eq!(
        snapshot(&p),
        (bytes, mtime),
        "an unchanged file is not rewritten"
    );
}

#[test]
fn new_keys_go_under_their_commented_defaults_and_removal_keeps_the_comment() {
    let dir = TempDir::new("ec-rpm");
    let p = dir.fixture("etcd-rpm.conf", "etcd.conf");
    let before = fs::read_to_string(&p).unwrap();
    run(
        BIN,
        &args(
            &p,
            json!({
                "initial_cluster_add": ["etcd-0=https://10.0.0.1:2380", "etcd-1=https://10.0.0.2:2380"],
                "settings": {"ETCD_NAME": "etcd-0", "ETCD_INITIAL_CLUSTER_STATE": "new",
                             "ETCD_ADVERTISE_CLIENT_URLS": null, "ETCD_SNAPSHOT_COUNT": 10000},
                "force_new_cluster": true,
            }),
        ),
    )
    .ok();
    let expected = replace_once(&before, "\nETCD_NAME=default\n", "\nETCD_NAME=etcd-0\n");
    let expected = replace_once(
        &expected,
        "#ETCD_SNAPSHOT_COUNT=\"100000\"\n",
        "#ETCD_SNAPSHOT_COUNT=\"100000\"\nETCD_SNAPSHOT_COUNT=\"10000\"\n",
    );
    let expected = replace_once(
        &expected,
        "ETCD_ADVERTISE_CLIENT_URLS=\"http://localhost:2379\"\n",
        "",
    );
    let expected = replace_once(
        &expected,
        "#ETCD_INITIAL_CLUSTER=\"default=http://localhost:2380\"\n",
        "#ETCD_INITIAL_CLUSTER=\"default=http://localhost:2380\"\n\
         ETCD_INITIAL_CLUSTER=\"etcd-0=https://10.0.0.1:2380,etcd-1=https://10.0.0.2:2380\"\n",
    );
    let expected = replace_once(
        &expected,
        "#ETCD_INITIAL_CLUSTER_STATE=\"new\"\n",
        "#ETCD_INITIAL_CLUSTER_STATE=\"new\"\nETCD_INITIAL_CLUSTER_STATE=\"new\"\n",
    );
    let with_force = replace_once(
        &expected,
        "#ETCD_FORCE_NEW_CLUSTER=\"false\"\n",
        "#ETCD_FORCE_NEW_CLUSTER=\"false\"\nETCD_FORCE_NEW_CLUSTER=\"true\"\n",
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), with_force);

    // After the restart: the line goes, the commented default stays.
    let out = run(BIN, &args(&p, json!({"force_new_cluster": false}))).ok();
    assert_eq!(out.msg(), "removed ETCD_FORCE_NEW_CLUSTER");
    assert_eq!(fs::read_to_string(&p).unwrap(), expected);
    // Unset leaves it alone; by peer URL removes one member.
    run(
        BIN,
        &args(
            &p,
            json!({"initial_cluster_remove": ["https://10.0.0.2:2380/"]}),
        ),
    )
    .ok();
    let expected = replace_once(&expected, ",etcd-1=https://10.0.0.2:2380\"", "\"");
    assert_eq!(fs::read_to_string(&p).unwrap(), expected);
}

#[test]
fn check_mode_writes_nothing_and_diff_mode_shows_the_change() {
    let dir = TempDir::new("ec-check");
    let p = dir.fixture("etcd-ocp311.conf", "etcd.conf");
    let before = snapshot(&p);
    let mut a = args(&p, recovery());
    a["_ansible_check_mode"] = json!(true);
    a["_ansible_diff"] = json!(true);
    a["backup"] = json!(true);
    let out = run(BIN, &a).ok();
    assert!(out.changed());
    assert!(out.msg().starts_with("would have: set "), "{}", out.msg());
    assert_eq!(snapshot(&p), before);
    assert!(out.json.get("backup_file").is_none());
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no backup, no temp file"
    );
    let text = String::from_utf8(before.0).unwrap();
    let header = p.display().to_string();
    assert_eq!(
        out.json["diff"],
        json!({"before": text, "after": recovery_golden(&text),
               "before_header": header, "after_header": header})
    );
}

#[test]
fn backup_keeps_the_old_content() {
    let dir = TempDir::new("ec-backup");
    let p = dir.fixture("etcd-ocp311.conf", "etcd.conf");
    let before = fs::read_to_string(&p).unwrap();
    let mut a = args(&p, recovery());
    a["backup"] = json!(true);
    let out = run(BIN, &a).ok();
    let backup = out.json["backup_file"].as_str().expect("backup_file");
    assert!(backup.starts_with(&format!("{}.", p.display())) && backup.ends_with('~'));
    assert_eq!(fs::read_to_string(backup).unwrap(), before);
    let again = run(BIN, &a).ok();
    assert!(
        again.json.get("backup_file").is_none(),
        "no backup when unchanged"
    );
}

#[test]
fn mode_owner_and_symlink_are_kept() {
    let dir = TempDir::new("ec-meta");
    let real = dir.fixture("etcd-ocp311.conf", "real.conf");
    let link = dir.join("etcd.conf");
    let case = modtest::contract::ThroughSymlink {
        real: &real,
        link: &link,
        link_target: Path::new("real.conf"),
        mode: 0o640,
        ids: (997, 996),
        args: args(&link, recovery()),
    };
    modtest::contract::mode_owner_and_symlink_kept(BIN, case, recovery_golden);
}

#[test]
fn create_makes_a_new_file_only_when_asked() {
    let dir = TempDir::new("ec-create");
    let p = dir.join("etcd.conf");
    let a = args(&p, json!({"settings": {"ETCD_NAME": "etcd-0"}}));
    let msg = run(BIN, &a).err();
    assert_eq!(
        msg,
        format!(
            "{} does not exist (set create: true to create it)",
            p.display()
        )
    );
    assert!(!p.exists());
    let mut a = a;
    a["create"] = json!(true);
    assert!(run(BIN, &a).ok().changed());
    assert_eq!(fs::read_to_string(&p).unwrap(), "ETCD_NAME=etcd-0\n");
}

/// Each bad file or bad option: a clear failure naming what is wrong, the file untouched.
#[test]
fn bad_input_fails_clearly_and_leaves_the_file_alone() {
    let dir = TempDir::new("ec-bad");
    let ocp = modtest::fixture("etcd-ocp311.conf");
    let cases: Vec<(&str, Vec<u8>, Value, String)> = vec![
        (
            "binary garbage",
            b"ETCD_NAME=a\n\x7fELF\x02\x01\x01\x00\xff\xfe".to_vec(),
            recovery(),
            "reading {p}: line 2: invalid UTF-8: this is not a text file".into(),
        ),
        (
            "unterminated quote",
            format!("{ocp}ETCD_LOG_OUTPUT=\"default\n").into_bytes(),
            recovery(),
            "reading {p}: line 58: unterminated double quote".into(),
        ),
        (
            "duplicate key",
            format!("{ocp}ETCD_NAME=master-9.example.com\n").into_bytes(),
            recovery(),
            "reading {p}: ETCD_NAME set twice: lines 1 and 58".into(),
        ),
        (
            "bad initial cluster in the file",
            ocp.replace("master-1.example.com=https://10.0.0.2:2380", "master-1.example.com=10.0.0.2:2380")
                .into_bytes(),
            json!({"initial_cluster_add": {"m9": "https://10.0.0.9:2380"}}),
            "reading {p}: line 15: ETCD_INITIAL_CLUSTER: initial cluster entry 2 (master-1.example.com): \
             invalid URL `10.0.0.2:2380`: expected http:// or https://"
                .into(),
        ),
        (
            "file's state is neither new nor existing",
            ocp.replace("ETCD_INITIAL_CLUSTER_STATE=new", "ETCD_INITIAL_CLUSTER_STATE=old").into_bytes(),
            json!({"settings": {"ETCD_NAME": "x"}}),
            "refusing to write {p}: the edited text does not parse: line 16: \
             ETCD_INITIAL_CLUSTER_STATE: `old` is not new or existing"
                .into(),
        ),
        (
            "bad state value",
            ocp.clone().into_bytes(),
            json!({"settings": {"ETCD_INITIAL_CLUSTER_STATE": "exsting"}}),
            "settings.ETCD_INITIAL_CLUSTER_STATE: `exsting` is not new or existing".into(),
        ),
        (
            "peer URL without port",
            ocp.clone().into_bytes(),
            json!({"initial_cluster_add": {"m3": "https://10.0.0.4"}}),
            "{p}: initial_cluster_add: invalid URL `https://10.0.0.4`: missing port".into(),
        ),
        (
            "removing every member",
            ocp.clone().into_bytes(),
            json!({"initial_cluster_remove": ["master-0.example.com", "master-1.example.com", "master-2.example.com"]}),
            "{p}: initial_cluster_remove would leave ETCD_INITIAL_CLUSTER empty; refusing".into(),
        ),
        (
            "both ways of setting the initial cluster",
            ocp.clone().into_bytes(),
            json!({"settings": {"ETCD_INITIAL_CLUSTER": "a=https://a:2380"}, "initial_cluster_remove": ["x"]}),
            "settings.ETCD_INITIAL_CLUSTER and initial_cluster_add/initial_cluster_remove are mutually exclusive".into(),
        ),
        (
            "nothing asked",
            ocp.clone().into_bytes(),
            json!({"backup": true}),
            "nothing to do: give settings, initial_cluster_add, initial_cluster_remove or force_new_cluster".into(),
        ),
        (
            "bad variable name",
            ocp.clone().into_bytes(),
            json!({"settings": {"ETCD NAME": "x"}}),
            "{p}: settings.ETCD NAME: `ETCD NAME` is not a valid variable name".into(),
        ),
        (
            "list value",
            ocp.clone().into_bytes(),
            json!({"settings": {"ETCD_NAME": ["a"]}}),
            "settings.ETCD_NAME: a value of type list cannot be written to an env file (give a string, number, bool or null)".into(),
        ),
        (
            "initial_cluster_add of the wrong shape",
            ocp.clone().into_bytes(),
            json!({"initial_cluster_add": ["m3"]}),
            "initial_cluster_add: `m3` is not name=url; expected a dict of name: peer URL or a list of name=url".into(),
        ),
        (
            "wrong option type",
            ocp.clone().into_bytes(),
            json!({"force_new_cluster": "perhaps"}),
            "argument 'force_new_cluster' is of type str and we were unable to convert to bool".into(),
        ),
        (
            "unknown option",
            ocp.clone().into_bytes(),
            json!({"setting": {"A": "1"}}),
            "Unsupported parameters for (etcd_conf) module: setting.".into(),
        ),
    ];
    modtest::contract::bad_input_leaves_the_file_alone(BIN, &dir, "etcd.conf", cases, args);
}

#[test]
fn unwritable_target_fails_with_the_path() {
    // /proc takes no new files, even from root.
    let out = run(
        BIN,
        &json!({"path": "/proc/etcd-ops-test/etcd.conf", "create": true, "settings": {"ETCD_NAME": "x"}}),
    );
    let msg = out.err();
    assert!(msg.contains("/proc/etcd-ops-test"), "{msg}");
    let out = run(
        BIN,
        &json!({"path": "/proc/etcd-ops-test.conf", "create": true, "settings": {"ETCD_NAME": "x"}}),
    );
    let msg = out.err();
    assert!(msg.starts_with("creating temp file in /proc: "), "{msg}");
}
