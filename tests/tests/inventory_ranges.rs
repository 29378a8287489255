//! Host ranges as real Ansible reads them: for openshift-ansible's example inventories and for
//! padded, letter, stride and multi-range patterns, confedit's Inventory (the code behind
//! inventory_group) lists the hosts ansible-inventory lists, and after removing or adding one
//! member Ansible sees exactly the edit: that host gone from (or kept in) the group, every
//! other host still there, in order, with the same variables.

use lab::ansible::{repo_root, venv_bin};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> String {
    let p = repo_root()
        .join("modules/confedit/tests/fixtures")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("etcd-ops-ranges-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `ansible-inventory --list` of the text, failing the test if Ansible cannot parse it.
fn ansible(dir: &Path, name: &str, text: &str) -> Value {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    let out = Command::new(venv_bin("ansible-inventory"))
        .arg("-i")
        .arg(&p)
        .arg("--list")
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .env("ANSIBLE_INVENTORY_ENABLED", "ini")
        .output()
        .expect("running ansible-inventory");
    assert!(
        out.status.success(),
        "{name}: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ansible-inventory --list prints JSON")
}

fn hosts_of(inv: &Value, group: &str) -> Vec<String> {
    inv[group]["hosts"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| h.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn vars_of<'a>(inv: &'a Value, host: &str) -> &'a Value {
    &inv["_meta"]["hostvars"][host]
}

/// Our expansion of every group is Ansible's.
fn same_hosts(inv: &Value, ours: &confedit::Inventory, what: &str) {
    for group in ours.groups_with_hosts() {
        assert_eq!(
            ours.hosts(&group),
            hosts_of(inv, &group),
            "{what}: [{group}]"
        );
    }
}

const SYNTHETIC: &str = "\
[etcd]
etcd[01:05].example.com etcd_ip=10.0.0.9 # padded
etcd-[a:e].example.com
[nodes]
node[1:11:2].example.com openshift_schedulable=true
rack[1:2]-n[a:c] zone=x
node[08:12]:2222 ansible_user=core
";

#[test]
fn expansion_matches_ansible_inventory() {
    let dir = Scratch::new("expand");
    for (name, text) in [
        ("hosts.example", fixture("openshift-ansible-hosts.example")),
        ("byo", fixture("openshift-ansible-byo-hosts.ose.example")),
        ("synthetic", SYNTHETIC.to_string()),
    ] {
        let inv = ansible(&dir.0, name, &text);
        let ours = confedit::Inventory::parse(&text).unwrap();
        same_hosts(&inv, &ours, name);
    }
}

#[test]
fn removing_and_adding_a_ranged_member_is_exactly_that_edit_for_ansible() {
    let dir = Scratch::new("edit");
    let cases = [
        (
            "hosts.example",
            fixture("openshift-ansible-hosts.example"),
            "etcd",
            "ose3-master2.test.example.com",
        ),
        (
            "hosts.example",
            fixture("openshift-ansible-hosts.example"),
            "nodes",
            "ose3-master1.test.example.com",
        ),
        (
            "byo",
            fixture("openshift-ansible-byo-hosts.ose.example"),
            "etcd",
            "ose3-etcd3-ansible.test.example.com",
        ),
        (
            "byo",
            fixture("openshift-ansible-byo-hosts.ose.example"),
            "nodes",
            "ose3-node1-ansible.test.example.com",
        ),
        (
            "synthetic",
            SYNTHETIC.to_string(),
            "etcd",
            "etcd03.example.com",
        ),
        (
            "synthetic",
            SYNTHETIC.to_string(),
            "etcd",
            "etcd-e.example.com",
        ),
        (
            "synthetic",
            SYNTHETIC.to_string(),
            "nodes",
            "node5.example.com",
        ),
        ("synthetic", SYNTHETIC.to_string(), "nodes", "rack2-nb"),
        ("synthetic", SYNTHETIC.to_string(), "nodes", "node10"),
    ];
    for (name, text, group, host) in cases {
        let what = format!("{name} [{group}] {host}");
        let before = ansible(&dir.0, "before", &text);
        let mut ours = confedit::Inventory::parse(&text).unwrap();
        // Present on a host the range holds: no change at all.
        assert!(!ours.add_host(group, host).unwrap(), "{what}");
        assert_eq!(ours.render(), text, "{what}");

        assert!(ours.remove_host(group, host), "{what}");
        let edited = ours.render();
        let after = ansible(&dir.0, "after", &edited);
        same_hosts(&after, &confedit::Inventory::parse(&edited).unwrap(), &what);
        let mut want = hosts_of(&before, group);
        assert!(want.contains(&host.to_string()), "{what}");
        want.retain(|h| h != host);
        assert_eq!(hosts_of(&after, group), want, "{what}\n{edited}");
        for h in &want {
            assert_eq!(
                vars_of(&after, h),
                vars_of(&before, h),
                "{what}: {h}\n{edited}"
            );
        }
        // Other groups are untouched.
        for g in ours.groups_with_hosts().iter().filter(|g| *g != group) {
            assert_eq!(hosts_of(&after, g), hosts_of(&before, g), "{what}: [{g}]");
        }

        // And back: present appends it, Ansible sees the group it had (host last). Listed in
        // another group it takes that line's variables again; listed nowhere else, it went
        // with its variables, as a plain host line does.
        let elsewhere = ours
            .groups_with_hosts()
            .iter()
            .any(|g| ours.hosts(g).iter().any(|h| h == host));
        assert!(ours.add_host(group, host).unwrap(), "{what}");
        let readded = ansible(&dir.0, "readded", &ours.render());
        want.push(host.to_string());
        assert_eq!(hosts_of(&readded, group), want, "{what}");
        if elsewhere {
            assert_eq!(vars_of(&readded, host), vars_of(&before, host), "{what}");
        }
    }
}
