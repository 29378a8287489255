//! The machine lab itself: hosts that are booted systemd machines reached over SSH, each with
//! its own identity, that die as hosts die (Ansible finds them UNREACHABLE) and come back with
//! their files, and a lab that leaves no machine, mount or cgroup behind, failing test or not.

use lab::machine::{self, Machine};
use lab::{ansible, Lab, LabOptions, Runtime};
use std::path::PathBuf;
use std::time::Duration;

const HEALTHY: Duration = Duration::from_secs(30);

/// What a lab could leave behind: mounts under its dir, cgroups, live nspawn processes.
fn leftovers(dir: &std::path::Path, machines: &[Machine]) -> Vec<String> {
    let mut left: Vec<String> = machine::mounts_under(dir)
        .unwrap()
        .into_iter()
        .map(|m| format!("mount {m}"))
        .collect();
    for m in machines {
        left.extend(
            machine::leftover_cgroups(&m.name)
                .into_iter()
                .map(|c| format!("cgroup {}", c.display())),
        );
        if m.is_up() {
            left.push(format!("machine {} still running", m.host));
        }
    }
    left
}

fn machines_of(lab: &Lab) -> Vec<Machine> {
    lab.hosts()
        .iter()
        .map(|h| lab.machine(&h.name).unwrap().clone())
        .collect()
}

#[test]
fn a_dead_machine_is_unreachable_and_comes_back_with_its_data() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    let inv = lab.inventory_path();
    lab.put_keys("/kept/", 200).unwrap();

    // Every host answers over SSH as root, with Python, at its own address.
    let ping = ansible::adhoc(&inv, "etcd", "ping", None);
    assert!(ping.ok(), "{}", ping.describe());
    assert_eq!(ping.stdout.matches("SUCCESS").count(), 3, "{}", ping.stdout);

    let e1 = lab.host("etcd1").unwrap().clone();
    let id_before = std::fs::read_to_string(e1.root.join("etc/machine-id")).unwrap();
    let wal_before = std::fs::read_dir(e1.data_dir().join("member/wal"))
        .unwrap()
        .count();
    lab.kill_host("etcd1").unwrap();
    assert!(!lab.machine("etcd1").unwrap().is_up());
    assert!(!lab.is_running("etcd1").unwrap());

    // The whole host is gone: UNREACHABLE, not a failed task; the others still answer.
    let ping = ansible::adhoc(&inv, "etcd", "ping", None);
    assert!(!ping.ok());
    assert!(
        ping.stdout.contains("etcd1 | UNREACHABLE!"),
        "{}",
        ping.describe()
    );
    assert_eq!(ping.stdout.matches("SUCCESS").count(), 2, "{}", ping.stdout);
    // Its disk is still there to be read, as an operator would after pulling it.
    assert!(e1.data_dir().join("member/snap/db").is_file());

    lab.revive_host("etcd1").unwrap();
    // etcd is enabled on an etcd host: it starts at boot and rejoins with its own data.
    lab.wait_healthy(&["etcd1"], HEALTHY).expect("etcd1 back");
    let ping = ansible::adhoc(&inv, "etcd1", "ping", None);
    assert!(ping.ok(), "{}", ping.describe());
    assert_eq!(
        std::fs::read_to_string(e1.root.join("etc/machine-id")).unwrap(),
        id_before,
        "the same machine came back"
    );
    assert!(
        std::fs::read_dir(e1.data_dir().join("member/wal"))
            .unwrap()
            .count()
            >= wal_before
    );
    assert_eq!(lab.count_keys("/kept/").unwrap(), 200);
    let members = lab.member_list().unwrap();
    assert_eq!(members.len(), 3);
    assert!(members.iter().all(|m| m.is_started()));
}

#[test]
fn machines_are_hosts_of_their_own() {
    let lab = Lab::up(LabOptions {
        spares: 1,
        ..LabOptions::machines()
    })
    .expect("lab up");
    let mut ids = Vec::new();
    let mut keys = Vec::new();
    for h in lab.hosts() {
        let m = lab.machine(&h.name).unwrap();
        let name = m.exec_ok(&["hostname"]).unwrap();
        assert_eq!(name.trim(), h.fqdn);
        ids.push(std::fs::read_to_string(h.root.join("etc/machine-id")).unwrap());
        keys.push(std::fs::read(h.root.join("etc/ssh/ssh_host_ed25519_key.pub")).unwrap());
        // sshd listens on the machine's own address only, never on every address.
        let listening = m.exec_ok(&["ss", "-Hltn"]).unwrap();
        assert!(listening.contains(&format!("{}:22", h.ip)), "{listening}");
        assert!(
            !listening.contains("0.0.0.0:22") && !listening.contains("*:22"),
            "{listening}"
        );
        // The RPM's unit reads /etc/etcd/etcd.conf and runs etcd as etcd.
        let unit = m.exec_ok(&["systemctl", "cat", "etcd"]).unwrap();
        assert!(
            unit.contains("EnvironmentFile=-/etc/etcd/etcd.conf"),
            "{unit}"
        );
        assert!(unit.contains("User=etcd"), "{unit}");
        let member = lab.member_names().contains(&h.name);
        if member {
            let pid = lab.pid(&h.name).unwrap().expect("etcd runs");
            let user = m
                .exec_ok(&["ps", "-o", "user=", "-p", &pid.to_string()])
                .unwrap();
            assert_eq!(user.trim(), "etcd");
        } else {
            assert!(!lab.is_running(&h.name).unwrap(), "a spare runs no etcd");
        }
    }
    ids.sort();
    ids.dedup();
    keys.sort();
    keys.dedup();
    assert_eq!(ids.len(), 4, "every machine-id differs");
    assert_eq!(keys.len(), 4, "every host key differs");
    // The inventory is a real one: SSH, no path variables.
    let inv = std::fs::read_to_string(lab.inventory_path()).unwrap();
    assert!(inv.contains("ansible_connection=ssh"));
    assert!(!inv.contains("etcd_conf_file") && !inv.contains("etcd_data_dir"));
}

#[test]
fn down_leaves_no_machine_mount_or_cgroup() {
    let lab = Lab::up(LabOptions {
        spares: 1,
        runtime: Runtime::StaticPod,
        ..LabOptions::machines()
    })
    .expect("lab up");
    let dir = lab.dir().to_path_buf();
    let machines = machines_of(&lab);
    // A dead machine among them: its disk is still mounted until down.
    lab.kill_host("etcd2").unwrap();
    assert!(!leftovers(&dir, &machines).is_empty());
    lab.down().expect("down");
    assert_eq!(leftovers(&dir, &machines), Vec::<String>::new());
    assert!(!dir.exists(), "the lab's own temp dir is removed");
}

#[test]
fn a_failing_test_leaves_nothing_running() {
    let (tx, rx) = std::sync::mpsc::channel::<(PathBuf, Vec<Machine>)>();
    let failed = std::thread::spawn(move || {
        let lab = Lab::up(LabOptions::machines()).expect("lab up");
        tx.send((lab.dir().to_path_buf(), machines_of(&lab)))
            .unwrap();
        panic!("a test fails with its lab up");
    })
    .join();
    assert!(failed.is_err());
    let (dir, machines) = rx.recv().unwrap();
    assert_eq!(leftovers(&dir, &machines), Vec::<String>::new());
    // The files stay for the post-mortem: each machine's own layer, with etcd's journal.
    assert!(dir
        .join("machines/etcd1/upper/etc/etcd/etcd.conf")
        .is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_process_lab_refuses_the_systemd_runtime() {
    let err = Lab::up(LabOptions {
        runtime: Runtime::Systemd,
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("needs machines"), "{err}");
}
