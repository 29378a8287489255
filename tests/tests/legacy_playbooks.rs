//! The playbooks on the etcd OpenShift 3.x ran, on machines installed as the RHEL 7 RPM installs
//! it (RHEL 7's 3.3.11, openshift-ansible 3.11's 3.2.32, both behind the RPM's unit): one lab
//! per version running the core scenarios in sequence, each asserting what etcd and the disks
//! say afterwards. The playbooks decide by the version the members report: no learner steps,
//! a voting add only while every voting member is healthy, the survivor ranked from the data on
//! disk (no raftAppliedIndex before 3.4), the snapshot restored with the host's own etcdctl.
//! A missing build fails the test with the command to run; nothing here passes by running 3.4.

use lab::ansible::{self, Run};
use lab::{voters, Lab, LabOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(30);

fn legacy_machines(version: &str, spares: usize) -> Lab {
    let opts = LabOptions::legacy_machines(version).unwrap_or_else(|e| panic!("{e}"));
    Lab::up(LabOptions { spares, ..opts })
        .unwrap_or_else(|e| panic!("machine lab on etcd {version}: {e}"))
}

fn play(lab: &Lab, playbook: &str, extra: &[&str]) -> Run {
    ansible::playbook(
        &lab.inventory_path(),
        &format!("playbooks/{playbook}"),
        extra,
    )
}

fn play_ok(lab: &Lab, playbook: &str, extra: &[&str]) -> Run {
    let run = play(lab, playbook, extra);
    assert!(run.ok(), "{playbook}: {}", run.describe());
    run
}

/// Every machine runs the legacy build from /usr/bin, behind the RPM's unit with its flags,
/// and the running etcd reports that version itself.
fn assert_machines_run(lab: &Lab, version: &str) {
    for h in lab.hosts() {
        let m = lab.machine(&h.name).unwrap();
        for bin in ["etcd", "etcdctl"] {
            let out = m.exec_ok(&[bin, "--version"]).unwrap();
            assert!(
                out.contains(&format!("ersion: {version}")),
                "{}: {bin} --version: {out}",
                h.name
            );
        }
        let unit =
            std::fs::read_to_string(m.root().join("usr/lib/systemd/system/etcd.service")).unwrap();
        assert!(unit.contains(r#"--name=\"${ETCD_NAME}\""#), "{unit}");
        // So etcd_snapshot's restore can only have used the host's own etcdctl.
        let etcdutl = m.exec(&["sh", "-c", "command -v etcdutl"]).unwrap();
        assert!(
            !etcdutl.status.success(),
            "{}: etcdutl is installed",
            h.name
        );
    }
    let out = lab.etcdctl(["endpoint", "status", "-w", "json"]).unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.contains(&format!("\"version\":\"{version}\"")),
        "{status}"
    );
}

fn health_says(lab: &Lab, line: &str) -> Run {
    let run = play_ok(lab, "health.yml", &[]);
    assert!(run.stdout.contains(line), "wanted {line:?}: {}", run.stdout);
    run
}

/// Writes keys so that `last` ends up the most advanced member: `first` dies and misses the
/// second half, then `second` dies. Quorum is lost; a survivor taken by inventory order loses keys.
fn lose_quorum(lab: &Lab, first: &str, second: &str, last: &str, keys: usize) {
    lab.put_keys("/restore/", keys / 2).unwrap();
    lab.kill(first).unwrap();
    lab.wait_healthy(&[second, last], SETTLE).unwrap();
    health_says(
        lab,
        "quorum ok: 2 of 3 voting members healthy, quorum needs 2",
    );
    lab.put_keys("/late/", keys / 2).unwrap();
    lab.kill(second).unwrap();
    assert!(!lab.is_healthy(last).unwrap(), "quorum should be lost");
    let run = health_says(lab, "QUORUM LOST: 0 of 3 voting members healthy");
    assert!(run.stdout.contains("UNHEALTHY"), "{}", run.stdout);
}

/// restore-quorum.yml re-forms the cluster from `survivor`, ranked by its data on disk, and
/// re-adds the others as voting members; every key written before the loss reads back.
fn restore_quorum(lab: &Lab, survivor: &str, members: &[&str], keys: usize) {
    let run = play_ok(lab, "restore-quorum.yml", &[]);
    assert!(
        run.stdout
            .contains(&format!("Survivor: {survivor} (most data on disk)")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("the learner and promote steps are skipped"),
        "{}",
        run.stdout
    );
    assert_eq!(lab.member_states(), voters(members));
    for name in members {
        assert!(lab.is_healthy(name).unwrap(), "{name} not healthy");
    }
    assert_eq!(lab.count_keys("/restore/").unwrap(), (keys / 2) as u64);
    assert_eq!(lab.count_keys("/late/").unwrap(), (keys / 2) as u64);
    let last = lab::key_name("/late/", keys / 2 - 1);
    assert_eq!(lab.get(&last).unwrap(), Some(lab::value_for(keys / 2 - 1)));
}

/// scaleup.yml joins `new` as a voting member, saying the learner steps are skipped.
fn scaleup(lab: &Lab, new: &str, after: &[&str]) {
    let run = play_ok(lab, "scaleup.yml", &["--check"]);
    assert!(
        run.stdout
            .contains("has no learners: each host joins as a voting member"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("add {new} ("))
            && run
                .stdout
                .contains("as a voting member (no learners before etcd 3.4)"),
        "{}",
        run.stdout
    );
    assert!(!lab.is_running(new).unwrap(), "check mode started {new}");
    play_ok(lab, "scaleup.yml", &["-e", "etcd_update_inventory=true"]);
    assert_eq!(lab.member_states(), voters(after));
    assert!(
        lab.is_healthy(new).unwrap(),
        "{new} healthy over mutual TLS"
    );
    let again = play_ok(lab, "scaleup.yml", &[]);
    assert_eq!(again.total("changed"), 0, "{}", again.stdout);
}

/// backup.yml's fetched snapshot of the first host.
fn backup(lab: &Lab) -> PathBuf {
    let fetch = lab.dir().join("fetched");
    play_ok(
        lab,
        "backup.yml",
        &["-e", &format!("etcd_backup_fetch_dir={}", fetch.display())],
    );
    std::fs::read_dir(fetch.join("etcd1"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "db"))
        .expect("backup.yml fetched a snapshot")
}

fn restore_snapshot(lab: &Lab, snap: &Path, members: &[&str]) {
    let file_arg = format!("etcd_snapshot_file={}", snap.display());
    // No etcdutl before 3.5 (assert_machines_run): the host's own etcdctl restores.
    play_ok(lab, "restore-snapshot.yml", &["-e", &file_arg]);
    assert_eq!(lab.member_states(), voters(members));
    for name in members {
        assert!(lab.is_healthy(name).unwrap(), "{name} not healthy");
    }
}

#[test]
fn playbooks_on_3_3_11_machines() {
    let lab = legacy_machines("3.3.11", 1);
    assert_machines_run(&lab, "3.3.11");

    // Health, all up; a backup of 500 keys.
    let run = health_says(&lab, "quorum ok: 3 of 3 voting members healthy");
    assert!(run.stdout.contains("3.3.11"), "{}", run.stdout);
    lab.put_keys("/kept/", 500).unwrap();
    let snap = backup(&lab);

    // etcd3 dies. Health says so; scaleup refuses (etcd3 would still vote, so adding etcd4
    // makes 4 voters needing 3 with 2 healthy) and changes nothing.
    lab.kill("etcd3").unwrap();
    lab.wait_healthy(&["etcd1", "etcd2"], SETTLE).unwrap();
    health_says(
        &lab,
        "quorum ok: 2 of 3 voting members healthy, quorum needs 2",
    );
    let run = play(&lab, "scaleup.yml", &[]);
    assert!(!run.ok(), "{}", run.describe());
    assert!(
        run.stdout
            .contains("Refusing to add members: voting member etcd3"),
        "{}",
        run.stdout
    );
    assert_eq!(lab.member_states().len(), 3);
    assert!(!lab.is_running("etcd4").unwrap());

    // The dead member removed first, then etcd4 joins as a voting member.
    play_ok(
        &lab,
        "remove-member.yml",
        &[
            "-e",
            "etcd_remove_host=etcd3",
            "-e",
            "etcd_update_inventory=true",
        ],
    );
    assert_eq!(lab.member_states(), voters(&["etcd1", "etcd2"]));
    scaleup(&lab, "etcd4", &["etcd1", "etcd2", "etcd4"]);

    // Two of three lost: etcd4 holds the most; restore-quorum re-forms from it.
    lose_quorum(&lab, "etcd1", "etcd2", "etcd4", 400);
    restore_quorum(&lab, "etcd4", &["etcd1", "etcd2", "etcd4"], 400);

    // Back to the backup: its 500 keys, nothing written since.
    restore_snapshot(&lab, &snap, &["etcd1", "etcd2", "etcd4"]);
    assert_eq!(lab.count_keys("/kept/").unwrap(), 500);
    assert_eq!(lab.count_keys("/restore/").unwrap(), 0);
    assert_eq!(lab.count_keys("/late/").unwrap(), 0);
    assert_eq!(
        lab.get(&lab::key_name("/kept/", 499)).unwrap(),
        Some(lab::value_for(499))
    );
}

#[test]
fn playbooks_on_3_2_32_machines() {
    let lab = legacy_machines("3.2.32", 1);
    assert_machines_run(&lab, "3.2.32");
    let run = health_says(&lab, "quorum ok: 3 of 3 voting members healthy");
    assert!(run.stdout.contains("3.2.32"), "{}", run.stdout);

    // Health through one and two losses, then restore-quorum from the most advanced.
    lose_quorum(&lab, "etcd1", "etcd2", "etcd3", 400);
    restore_quorum(&lab, "etcd3", &["etcd1", "etcd2", "etcd3"], 400);

    // And the spare joins the restored cluster as a voting member.
    scaleup(&lab, "etcd4", &["etcd1", "etcd2", "etcd3", "etcd4"]);
}
