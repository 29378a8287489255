//! inventory_group through its real binary, on copies of a real OpenShift INI inventory.

use modtest::{replace_once, run, snapshot, TempDir};
use serde_json::{json, Value};
use std::fs;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_inventory_group");
const M3: &str =
    "master-3.example.com openshift_node_group_name='node-config-master' openshift_ip=10.0.0.4\n";

fn args(path: &Path, mut extra: Value) -> Value {
    extra["path"] = json!(path);
    extra
}

/// The fixture after to_new_etcd(): m3 listed under [new_etcd].
fn to_new_etcd_golden(before: &str) -> String {
    replace_once(before, "[new_etcd]\n", &format!("[new_etcd]\n{M3}"))
}

fn to_new_etcd() -> Value {
    json!({"host": "master-3.example.com", "group": "new_etcd"})
}

/// Scaleup: into [new_etcd] with the variables it has in [nodes], then moved to [etcd].
#[test]
fn move_a_host_from_new_etcd_to_etcd() {
    let dir = TempDir::new("ig-move");
    let p = dir.fixture("osev3-inventory", "hosts");
    let before = fs::read_to_string(&p).unwrap();
    let out = run(BIN, &args(&p, to_new_etcd())).ok();
    assert!(out.changed());
    assert_eq!(out.json["hosts"], json!(["master-3.example.com"]));
    let with_new = to_new_etcd_golden(&before);
    assert_eq!(fs::read_to_string(&p).unwrap(), with_new);
    let snap = snapshot(&p);
    assert!(!run(BIN, &args(&p, to_new_etcd())).ok().changed());
    assert_eq!(snapshot(&p), snap);

    let etcd_line = "master-3.example.com etcd_ip=10.0.0.4 openshift_ip=10.0.0.4";
    run(BIN, &args(&p, json!({"host": etcd_line, "group": "etcd"}))).ok();
    let out = run(
        BIN,
        &args(
            &p,
            json!({"host": "master-3.example.com", "group": "new_etcd", "state": "absent"}),
        ),
    )
    .ok();
    assert_eq!(out.json["hosts"], json!([]));
    let expected = replace_once(
        &before,
        "  # replaced 2019-04 after disk failure\n",
        &format!("  # replaced 2019-04 after disk failure\n{etcd_line}\n"),
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), expected);
}

#[test]
fn removing_a_member_keeps_comments_and_other_groups() {
    let dir = TempDir::new("ig-rm");
    let p = dir.fixture("osev3-inventory", "hosts");
    let before = fs::read_to_string(&p).unwrap();
    let a = args(
        &p,
        json!({"host": "master-2.example.com", "group": "etcd", "state": "absent"}),
    );
    let out = run(BIN, &a).ok();
    assert_eq!(
        out.json["hosts"],
        json!(["master-0.example.com", "master-1.example.com"])
    );
    let expected = replace_once(
        &before,
        "master-2.example.com etcd_ip=10.0.0.3 openshift_ip=10.0.0.3  # replaced 2019-04 after disk failure\n",
        "",
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), expected);
    assert!(!run(BIN, &a).ok().changed());
}

#[test]
fn check_mode_diff_and_backup() {
    let dir = TempDir::new("ig-check");
    let p = dir.fixture("osev3-inventory", "hosts");
    let before = std::fs::read_to_string(&p).unwrap();
    modtest::contract::check_diff_and_backup(
        BIN,
        &dir,
        &p,
        &args(&p, to_new_etcd()),
        &to_new_etcd_golden(&before),
    );
}

#[test]
fn mode_owner_and_symlink_are_kept() {
    let dir = TempDir::new("ig-meta");
    let real = dir.fixture("osev3-inventory", "hosts.real");
    let link = dir.join("hosts");
    let case = modtest::contract::ThroughSymlink {
        real: &real,
        link: &link,
        link_target: Path::new("hosts.real"),
        mode: 0o640,
        ids: (991, 990),
        args: args(&link, to_new_etcd()),
    };
    modtest::contract::mode_owner_and_symlink_kept(BIN, case, to_new_etcd_golden);
}

#[test]
fn create_starts_an_inventory() {
    let dir = TempDir::new("ig-create");
    let p = dir.join("hosts");
    let msg = run(BIN, &args(&p, to_new_etcd())).err();
    assert_eq!(
        msg,
        format!(
            "{} does not exist (set create: true to create it)",
            p.display()
        )
    );
    let mut a = args(&p, to_new_etcd());
    a["create"] = json!(true);
    run(BIN, &a).ok();
    assert_eq!(
        fs::read_to_string(&p).unwrap(),
        "[new_etcd]\nmaster-3.example.com\n"
    );
}

#[test]
fn bad_input_fails_clearly_and_leaves_the_file_alone() {
    let dir = TempDir::new("ig-bad");
    let inv = modtest::fixture("osev3-inventory");
    let cases: Vec<(&str, Vec<u8>, Value, &str)> = vec![
        (
            "binary garbage",
            b"[etcd]\nm0\n\0\x01".to_vec(),
            to_new_etcd(),
            "reading {p}: line 3: NUL byte: this is not a text file",
        ),
        (
            "unterminated quote",
            inv.replace("'node-config-infra'", "'node-config-infra")
                .into_bytes(),
            to_new_etcd(),
            "reading {p}: line 40: unterminated single quote",
        ),
        (
            "broken header",
            inv.replace("[nodes]", "[nodes").into_bytes(),
            to_new_etcd(),
            "reading {p}: line 36: invalid section header `[nodes`",
        ),
        (
            "bad host line",
            inv.clone().into_bytes(),
            json!({"host": "m9 novalue", "group": "etcd"}),
            "{p}: host `m9 novalue`: expected key=value host variable, got `novalue`",
        ),
        (
            "bad group",
            inv.clone().into_bytes(),
            json!({"host": "m9", "group": "etcd:vars"}),
            "{p}: invalid group name `etcd:vars`",
        ),
        (
            "absent with a host line",
            inv.clone().into_bytes(),
            json!({"host": "m9 a=1", "group": "etcd", "state": "absent"}),
            "state=absent takes a host name, not `m9 a=1`",
        ),
        (
            "bad state",
            inv.clone().into_bytes(),
            json!({"host": "m9", "group": "etcd", "state": "gone"}),
            "value of state must be one of: present, absent, got: gone",
        ),
        (
            "missing required",
            inv.clone().into_bytes(),
            json!({"host": "m9"}),
            "missing required arguments: group",
        ),
        (
            "host not a string",
            inv.clone().into_bytes(),
            json!({"host": ["m9"], "group": "etcd"}),
            "argument 'host' is of type list and we were unable to convert to str",
        ),
    ];
    modtest::contract::bad_input_leaves_the_file_alone(BIN, &dir, "hosts", cases, args);
}

#[test]
fn unwritable_target_fails_with_the_path() {
    let msg = run(
        BIN,
        &json!({"path": "/proc/etcd-ops-hosts", "create": true, "host": "m0", "group": "etcd"}),
    )
    .err();
    assert!(msg.starts_with("creating temp file in /proc: "), "{msg}");
}

/// openshift-ansible's inventory/hosts.example lists [etcd] as `ose3-master[1:3]...`: removing
/// a member the range holds must take it out of the range, and adding one it holds must not
/// append a duplicate.
#[test]
fn ranges_in_openshift_ansibles_hosts_example() {
    let dir = TempDir::new("ig-range");
    let p = dir.fixture("openshift-ansible-hosts.example", "hosts");
    let before = fs::read_to_string(&p).unwrap();
    let member2 = json!({"host": "ose3-master2.test.example.com", "group": "etcd"});
    let out = run(BIN, &args(&p, member2.clone())).ok();
    assert!(!out.changed());
    assert_eq!(fs::read_to_string(&p).unwrap(), before);
    assert_eq!(
        out.json["hosts"],
        json!([
            "ose3-master1.test.example.com",
            "ose3-master2.test.example.com",
            "ose3-master3.test.example.com"
        ])
    );

    let mut absent = member2.clone();
    absent["state"] = json!("absent");
    let out = run(BIN, &args(&p, absent.clone())).ok();
    assert!(out.changed());
    assert_eq!(
        out.json["hosts"],
        json!([
            "ose3-master1.test.example.com",
            "ose3-master3.test.example.com"
        ])
    );
    let expected = replace_once(
        &before,
        "[etcd]\nose3-master[1:3].test.example.com\n",
        "[etcd]\nose3-master1.test.example.com\nose3-master3.test.example.com\n",
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), expected);
    assert!(!run(BIN, &args(&p, absent)).ok().changed());
    // Back in: appended after the group's last host.
    let out = run(BIN, &args(&p, member2)).ok();
    assert!(out.changed());
    let expected = replace_once(
        &before,
        "[etcd]\nose3-master[1:3].test.example.com\n",
        "[etcd]\nose3-master1.test.example.com\nose3-master3.test.example.com\nose3-master2.test.example.com\n",
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), expected);
}

/// The byo example's [nodes] range carries host variables; each piece keeps them, and a host
/// added to another group from it takes them along.
#[test]
fn ranges_with_variables_in_the_byo_example() {
    let dir = TempDir::new("ig-range-vars");
    let p = dir.fixture("openshift-ansible-byo-hosts.ose.example", "hosts");
    let before = fs::read_to_string(&p).unwrap();
    let vars = "openshift_node_labels=\"{'region': 'primary', 'zone': 'default'}\"";
    let out = run(
        BIN,
        &args(
            &p,
            json!({"host": "ose3-node1-ansible.test.example.com", "group": "nodes", "state": "absent"}),
        ),
    )
    .ok();
    assert!(out.changed());
    let expected = replace_once(
        &before,
        &format!("ose3-node[1:2]-ansible.test.example.com {vars}\n"),
        &format!("ose3-node2-ansible.test.example.com {vars}\n"),
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), expected);
    run(
        BIN,
        &args(
            &p,
            json!({"host": "ose3-node2-ansible.test.example.com", "group": "new_etcd", "create": false}),
        ),
    )
    .ok();
    let after = fs::read_to_string(&p).unwrap();
    assert!(
        after.ends_with(&format!(
            "\n[new_etcd]\nose3-node2-ansible.test.example.com {vars}\n"
        )),
        "{after}"
    );
}
