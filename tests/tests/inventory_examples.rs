//! inventory-examples/ stays usable: real Ansible parses each example, the groups the playbooks
//! target hold the hosts they should, every playbook resolves its plays' hosts against it, and
//! every etcd-ops variable it sets is one the playbooks read (a renamed variable breaks this).

use lab::ansible::{self, repo_root, venv_bin};
use lab::playbook_source::{code_of, playbooks, reads, role_defaults};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn examples() -> Vec<PathBuf> {
    let dir = repo_root().join("inventory-examples");
    let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ini"))
        .collect();
    all.sort();
    assert!(all.len() >= 2, "inventory-examples/ has {all:?}");
    all
}

fn parsed(example: &PathBuf) -> Value {
    let out = Command::new(venv_bin("ansible-inventory"))
        .arg("-i")
        .arg(example)
        .arg("--list")
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .output()
        .expect("running ansible-inventory");
    assert!(
        out.status.success(),
        "{}: {}",
        example.display(),
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

/// Variables etcd-ops owns by name; anything else (openshift_node_group_name, ...) belongs to
/// the operator's wider OpenShift inventory and is left alone.
fn is_ours(var: &str) -> bool {
    [
        "etcd_",
        "new_etcd_",
        "masters_group",
        "nodes_group",
        "flanneld_",
        "master_config",
        "static_pod_",
    ]
    .iter()
    .any(|p| var.starts_with(p))
        || var.starts_with("openshift_master_") && var.ends_with("_commands")
}

#[test]
fn every_example_parses_with_the_groups_the_playbooks_target() {
    for example in examples() {
        let inv = parsed(&example);
        let name = example.display();
        for group in ["etcd", "masters", "nodes"] {
            assert!(
                !hosts_of(&inv, group).is_empty(),
                "{name}: [{group}] is empty"
            );
        }
        let children = inv["OSEv3"]["children"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            children.iter().any(|c| c == "new_etcd"),
            "{name}: [new_etcd] is not in OSEv3"
        );
        let members = hosts_of(&inv, "etcd");
        assert_eq!(members.len() % 2, 1, "{name}: an even etcd member count");
        // Either every etcd host's address is given, or none is (read from its etcd.conf).
        let given: Vec<bool> = members
            .iter()
            .map(|host| {
                let vars = &inv["_meta"]["hostvars"][host];
                if vars.get("etcd_ip").is_some() {
                    assert!(
                        vars["etcd_ip"]
                            .as_str()
                            .is_some_and(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok()),
                        "{name}: {host}'s etcd_ip is not an address"
                    );
                }
                vars.get("etcd_ip").is_some()
            })
            .collect();
        assert!(
            given.iter().all(|g| *g) || given.iter().all(|g| !*g),
            "{name}: etcd_ip on some etcd hosts only: {members:?} {given:?}"
        );
    }
}

/// openshift-ansible's own hosts.example shape: host ranges, and not one variable naming an
/// etcd member's address, name or URLs; the playbooks find them on the hosts.
#[test]
fn the_hosts_example_names_no_etcd_url_and_uses_ranges() {
    let example = repo_root().join("inventory-examples/openshift-3.11-hosts-example.ini");
    let text = std::fs::read_to_string(&example).unwrap();
    assert!(text.contains("ose3-master[1:3].example.com"), "{text}");
    let inv = parsed(&example);
    assert_eq!(
        hosts_of(&inv, "etcd"),
        [
            "ose3-master1.example.com",
            "ose3-master2.example.com",
            "ose3-master3.example.com"
        ]
    );
    let hostvars = inv["_meta"]["hostvars"].as_object().cloned().unwrap();
    const NAMING: [&str; 5] = [
        "etcd_ip",
        "openshift_ip",
        "etcd_hostname",
        "openshift_hostname",
        "etcd_name",
    ];
    for (host, vars) in hostvars {
        for var in vars.as_object().unwrap().keys() {
            let names_a_member =
                NAMING.contains(&var.as_str()) || var.starts_with("etcd_") && var.ends_with("_url");
            assert!(!names_a_member, "{host} sets {var}");
        }
    }
}

#[test]
fn every_etcd_ops_variable_an_example_sets_is_read_by_the_playbooks() {
    let defaults = role_defaults();
    let code: String = playbooks().iter().map(|p| code_of(p)).collect();
    for example in examples() {
        let inv = parsed(&example);
        let hostvars = inv["_meta"]["hostvars"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(
            !hostvars.is_empty(),
            "{}: no host variables",
            example.display()
        );
        for vars in hostvars.values() {
            for var in vars.as_object().unwrap().keys().filter(|v| is_ours(v)) {
                assert!(
                    defaults.contains(var) || reads(&code, var),
                    "{}: {var} is read by no playbook",
                    example.display()
                );
            }
        }
    }
}

/// `--list-hosts` templates every play's host pattern against the example: the groups and
/// group-name variables agree with what the playbooks ask for.
#[test]
fn every_playbook_resolves_its_hosts_against_every_example() {
    for example in examples() {
        let inv = parsed(&example);
        for playbook in playbooks() {
            let run = ansible::playbook(
                &example,
                &format!("playbooks/{playbook}"),
                &["--list-hosts"],
            );
            assert!(
                run.ok(),
                "{} {playbook}: {}",
                example.display(),
                run.describe()
            );
            if playbook == "health.yml" {
                for host in hosts_of(&inv, "etcd") {
                    assert!(
                        run.stdout.contains(&host),
                        "{playbook} does not target {host}"
                    );
                }
            }
        }
    }
}
