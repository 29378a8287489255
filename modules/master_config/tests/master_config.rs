//! master_config through its real binary, on copies of real master-config.yaml files.

use modtest::{replace_once, run, snapshot, TempDir};
use serde_json::{json, Value};
use std::fs;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_master_config");

fn args(path: &Path, mut extra: Value) -> Value {
    extra["path"] = json!(path);
    extra
}

fn replace_member() -> Value {
    json!({"remove": ["https://master-2.example.com:2379"], "add": ["https://master-3.example.com:2379"]})
}

fn golden(before: &str) -> String {
    replace_once(
        before,
        "  - https://master-2.example.com:2379\n",
        "  - https://master-3.example.com:2379\n",
    )
}

#[test]
fn only_the_sequence_lines_change_and_a_rerun_does_nothing() {
    let dir = TempDir::new("mc-golden");
    let p = dir.fixture("master-config.yaml", "master-config.yaml");
    let before = fs::read_to_string(&p).unwrap();
    let out = run(BIN, &args(&p, replace_member())).ok();
    assert!(out.changed());
    assert_eq!(fs::read_to_string(&p).unwrap(), golden(&before));
    assert_eq!(
        out.json["urls"],
        json!([
            "https://master-0.example.com:2379",
            "https://master-1.example.com:2379",
            "https://master-3.example.com:2379"
        ])
    );
    let snap = snapshot(&p);
    assert!(!run(BIN, &args(&p, replace_member())).ok().changed());
    assert_eq!(snapshot(&p), snap);
}

#[test]
fn the_files_own_style_is_kept() {
    let dir = TempDir::new("mc-style");
    // Deeper indentation and double quotes.
    let p = dir.fixture("master-config-indented.yaml", "indented.yaml");
    let before = fs::read_to_string(&p).unwrap();
    run(
        BIN,
        &args(&p, json!({"urls": ["https://10.0.0.1:2379", "https://10.0.0.2:2379", "https://10.0.0.4:2379"]})),
    )
    .ok();
    let expected = replace_once(
        &before,
        "        - \"https://10.0.0.3:2379\"\n",
        "        - \"https://10.0.0.4:2379\"\n",
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), expected);
    // Flow style, with a trailing comment; another key through `key`.
    let p = dir.fixture("master-config-flow.yaml", "flow.yaml");
    let before = fs::read_to_string(&p).unwrap();
    let out = run(
        BIN,
        &args(
            &p,
            json!({"key": "kubernetesMasterConfig.apiServerArguments.etcd-servers",
                   "add": ["https://master-1.example.com:2379"]}),
        ),
    )
    .ok();
    assert_eq!(out.json["urls"].as_array().unwrap().len(), 2);
    let expected = replace_once(
        &before,
        "etcd-servers: [https://master-0.example.com:2379]",
        "etcd-servers: [https://master-0.example.com:2379, https://master-1.example.com:2379]",
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), expected);
    run(
        BIN,
        &args(&p, json!({"remove": ["https://master-2.example.com:2379"]})),
    )
    .ok();
    let expected = replace_once(
        &expected,
        ", https://master-2.example.com:2379]  # members",
        "]  # members",
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), expected);
}

#[test]
fn check_mode_diff_and_backup() {
    let dir = TempDir::new("mc-check");
    let p = dir.fixture("master-config.yaml", "master-config.yaml");
    let before = std::fs::read_to_string(&p).unwrap();
    modtest::contract::check_diff_and_backup(
        BIN,
        &dir,
        &p,
        &args(&p, replace_member()),
        &golden(&before),
    );
}

#[test]
fn mode_owner_and_symlink_are_kept() {
    let dir = TempDir::new("mc-meta");
    let real = dir.fixture("master-config.yaml", "real.yaml");
    let link = dir.join("master-config.yaml");
    let case = modtest::contract::ThroughSymlink {
        real: &real,
        link: &link,
        link_target: Path::new("real.yaml"),
        mode: 0o600,
        ids: (993, 992),
        args: args(&link, replace_member()),
    };
    modtest::contract::mode_owner_and_symlink_kept(BIN, case, golden);
}

#[test]
fn bad_input_fails_clearly_and_leaves_the_file_alone() {
    let dir = TempDir::new("mc-bad");
    let cfg = modtest::fixture("master-config.yaml");
    let cases: Vec<(&str, Vec<u8>, Value, &str)> = vec![
        ("binary garbage", b"kind: x\n\xff\xfe\x00".to_vec(), replace_member(),
         "reading {p}: line 2: invalid UTF-8: this is not a text file"),
        ("unterminated quote", cfg.replace("controllers: '*'", "controllers: '*").into_bytes(), replace_member(),
         "reading {p}: line 128: invalid YAML: found unexpected end of stream"),
        ("duplicate keys", format!("{cfg}kind: MasterConfig\n").into_bytes(), replace_member(),
         "reading {p}: line 128: invalid YAML: duplicate entry with key \"kind\""),
        ("urls that is not a list", cfg.replace("  urls:\n  - https://master-0.example.com:2379\n  - https://master-1.example.com:2379\n  - https://master-2.example.com:2379\n", "  urls: https://master-0.example.com:2379\n").into_bytes(),
         replace_member(), "{p}: etcdClientInfo.urls is a string, not a list"),
        ("YAML that is not a mapping", b"- https://master-0.example.com:2379\n".to_vec(), replace_member(),
         "{p}: the document is a list, not a mapping"),
        ("missing key", cfg.clone().into_bytes(), json!({"key": "etcdClientInfo.endpoints", "add": ["https://a:1"]}),
         "{p}: etcdClientInfo.endpoints is missing"),
        ("URL without port", cfg.clone().into_bytes(), json!({"add": ["https://master-3.example.com"]}),
         "{p}: invalid URL `https://master-3.example.com`: missing port"),
        ("urls with remove", cfg.clone().into_bytes(), json!({"urls": ["https://a:1"], "remove": ["https://b:1"]}),
         "parameters are mutually exclusive: urls|remove"),
        ("option urls not a list", cfg.clone().into_bytes(), json!({"urls": {"a": 1}}),
         "argument 'urls' is of type dict and we were unable to convert to list"),
        ("nothing asked", cfg.clone().into_bytes(), json!({}),
         "nothing to do: give urls, or add and/or remove"),
        ("unknown option", cfg.clone().into_bytes(), json!({"create": true, "add": ["https://a:1"]}),
         "Unsupported parameters for (master_config) module: create."),
    ];
    modtest::contract::bad_input_leaves_the_file_alone(
        BIN,
        &dir,
        "master-config.yaml",
        cases,
        args,
    );
    let p = dir.join("missing.yaml");
    assert_eq!(
        run(BIN, &args(&p, replace_member())).err(),
        format!("{} does not exist", p.display())
    );
}

/// A directory that refuses new files even to root (immutable attribute), so the temp file
/// of the atomic write cannot be created.
#[test]
fn unwritable_directory_fails_with_the_path_and_keeps_the_file() {
    let dir = TempDir::new("mc-ro");
    let sub = dir.join("origin");
    fs::create_dir(&sub).unwrap();
    let p = sub.join("master-config.yaml");
    fs::write(&p, modtest::fixture("master-config.yaml")).unwrap();
    let chattr = |flag: &str| Command::new("chattr").arg(flag).arg(&sub).status();
    match chattr("+i") {
        Ok(s) if s.success() => {}
        other => panic!(
            "this test needs chattr +i on {} (root, ext4): {other:?}",
            sub.display()
        ),
    }
    let before = snapshot(&p);
    let out = run(BIN, &args(&p, replace_member()));
    chattr("-i").unwrap();
    let msg = out.err();
    assert!(
        msg.starts_with(&format!("creating temp file in {}: ", sub.display())),
        "{msg}"
    );
    assert_eq!(snapshot(&p), before);
}

fn warnings(out: &modtest::Run) -> Vec<String> {
    out.json["warnings"]
        .as_array()
        .map(|a| a.iter().map(|w| w.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// etcd's member list reports 10.0.0.3 for the member master-config.yaml lists as
/// master-2.example.com (openshift-ansible writes host names).
fn aliases() -> Value {
    json!([
        ["https://10.0.0.3:2379", "https://master-2.example.com:2379"],
        ["https://10.0.0.4:2379", "https://master-3.example.com:2379"],
    ])
}

#[test]
fn a_member_removed_by_its_ip_url_goes_by_its_host_name() {
    let dir = TempDir::new("mc-alias");
    let p = dir.fixture("master-config.yaml", "master-config.yaml");
    let before = fs::read_to_string(&p).unwrap();
    // Without aliases: nothing matches, nothing changes, and the result says so.
    let by_ip = json!({"remove": ["https://10.0.0.3:2379"], "add": ["https://10.0.0.4:2379"]});
    let mut only_remove = by_ip.clone();
    only_remove["add"] = json!([]);
    let out = run(BIN, &args(&p, only_remove)).ok();
    assert!(!out.changed());
    assert_eq!(
        warnings(&out),
        ["remove: https://10.0.0.3:2379 matches nothing in etcdClientInfo.urls: not removed (if \
          the file names this member another way, e.g. by host name, give its URLs in \
          url_aliases)"]
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), before);

    // With them: the host name entry goes, the new member is written by host name.
    let mut a = by_ip.clone();
    a["url_aliases"] = aliases();
    let out = run(BIN, &args(&p, a.clone())).ok();
    assert!(out.changed());
    assert!(warnings(&out).is_empty());
    assert_eq!(fs::read_to_string(&p).unwrap(), golden(&before));
    let snap = snapshot(&p);
    let out = run(BIN, &args(&p, a)).ok();
    assert!(!out.changed());
    assert_eq!(
        warnings(&out),
        [
            "remove: https://10.0.0.3:2379 / https://master-2.example.com:2379 matches nothing in \
          etcdClientInfo.urls: not removed"
        ]
    );
    assert_eq!(snapshot(&p), snap);

    // An exact list given by IPs names the same members: the file stays as it is.
    let exact = json!({
        "urls": ["https://master-0.example.com:2379", "https://master-1.example.com:2379", "https://10.0.0.4:2379"],
        "url_aliases": aliases(),
    });
    assert!(!run(BIN, &args(&p, exact)).ok().changed());
    assert_eq!(snapshot(&p), snap);
}
