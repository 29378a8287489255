//! restore-quorum.yml against real TLS labs through real ansible-playbook: 2 of 3 members
//! killed after 1,000 keys were written, the play re-forms the cluster from the most advanced
//! member and re-adds the others; check mode on a quorum-lost cluster changes nothing.

use lab::ansible;
use lab::{Lab, LabOptions, Runtime};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

const KEYS: usize = 1000;
const PLAY: &str = "playbooks/restore-quorum.yml";

/// Writes the keys so that etcd3 ends up the most advanced member: etcd1 dies first and misses
/// the last writes, then etcd2 dies. A play that took the first host would lose keys.
fn lose_quorum(lab: &Lab) {
    lab.put_keys("/restore/", KEYS / 2).expect("first half");
    lab.kill("etcd1").unwrap();
    // etcd1 may have led: writes wait for etcd2 and etcd3 to elect a new leader.
    lab.wait_healthy(&["etcd2", "etcd3"], std::time::Duration::from_secs(30))
        .expect("etcd2 and etcd3 keep quorum");
    lab.put_keys("/late/", KEYS / 2)
        .expect("second half, etcd1 down");
    lab.kill("etcd2").unwrap();
    assert!(!lab.is_healthy("etcd3").unwrap(), "quorum should be lost");
}

fn restore_and_check(runtime: Runtime) {
    let started = Instant::now();
    let lab = Lab::up(LabOptions {
        runtime,
        ..LabOptions::machines()
    })
    .expect("lab up");
    lose_quorum(&lab);

    let run = ansible::playbook(&lab.inventory_path(), PLAY, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert!(
        run.stdout
            .contains("Survivor: etcd3 (highest applied index)"),
        "{}",
        run.stdout
    );

    let members = lab.member_list().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(members.iter().all(|m| !m.is_learner && !m.name.is_empty()));
    for name in ["etcd1", "etcd2", "etcd3"] {
        assert!(lab.is_healthy(name).unwrap(), "{name} not healthy");
    }
    assert_eq!(lab.count_keys("/restore/").unwrap(), (KEYS / 2) as u64);
    assert_eq!(lab.count_keys("/late/").unwrap(), (KEYS / 2) as u64);
    for i in [0, 137, KEYS / 2 - 1] {
        let key = lab::key_name("/late/", i);
        assert_eq!(lab.get(&key).unwrap(), Some(lab::value_for(i)), "{key}");
    }
    // The re-added hosts' old data is kept beside the new data dir; the survivor's is in use.
    for name in ["etcd1", "etcd2"] {
        let data = lab.host(name).unwrap().data_dir();
        assert_eq!(asides(&data).len(), 1, "{name}: {:?}", asides(&data));
        assert!(data.join("member").is_dir());
    }
    assert!(asides(&lab.host("etcd3").unwrap().data_dir()).is_empty());
    if runtime == Runtime::Systemd {
        force_new_cluster_came_and_went(&lab, "etcd3");
    }
    // Nothing about the member set changed, so the masters and flanneld were left alone.
    for h in lab.hosts() {
        assert!(!h.restarts_log().exists(), "{} restarted something", h.name);
    }

    // Run again on the healthy cluster: it refuses, changing nothing.
    let again = ansible::playbook(&lab.inventory_path(), PLAY, &[]);
    assert!(again.ok(), "{}", again.describe());
    assert!(again
        .stdout
        .contains("Nothing to do: the cluster has quorum"));
    assert_eq!(again.total("changed"), 0, "{}", again.stdout);
    eprintln!("restore ({}) took {:?}", runtime.name(), started.elapsed());
}

/// Seed 001 39.1.3.2 on a systemd host: the survivor's etcd ran with --force-new-cluster from
/// the unit's drop-in, and neither the drop-in nor the flag is left (every later restart would
/// re-form the cluster again).
fn force_new_cluster_came_and_went(lab: &Lab, survivor: &str) {
    let m = lab.machine(survivor).unwrap();
    let journal = m
        .exec_ok(&["journalctl", "--no-pager", "-o", "cat", "-u", "etcd"])
        .unwrap();
    assert!(
        journal.contains("force new cluster"),
        "{survivor}'s etcd never ran with --force-new-cluster:\n{journal}"
    );
    let dropin = lab
        .host(survivor)
        .unwrap()
        .root
        .join("etc/systemd/system/etcd.service.d/temp.conf");
    assert!(!dropin.exists(), "{} left behind", dropin.display());
    let exec = m
        .exec_ok(&["systemctl", "show", "--property=ExecStart", "etcd"])
        .unwrap();
    assert!(!exec.contains("force-new-cluster"), "{exec}");
    let pid = lab.pid(survivor).unwrap().expect("the survivor runs");
    let cmdline = m.exec_ok(&["cat", &format!("/proc/{pid}/cmdline")]).unwrap();
    assert!(!cmdline.contains("force-new-cluster"), "{cmdline:?}");
    let conf = std::fs::read_to_string(lab.host(survivor).unwrap().etcd_conf()).unwrap();
    assert!(!conf.contains("\nETCD_FORCE_NEW_CLUSTER"), "{conf}");
}

fn asides(data_dir: &Path) -> Vec<String> {
    let name = data_dir.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(data_dir.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{name}.before-restore-")))
        .collect()
}

#[test]
fn systemd_runtime_restores_from_the_most_advanced_member() {
    restore_and_check(Runtime::Systemd);
}

#[test]
fn static_pod_runtime_restores_from_the_most_advanced_member() {
    restore_and_check(Runtime::StaticPod);
}

/// Every etcd.conf's bytes and every data dir's file list (names and sizes), per host.
fn disk_state(lab: &Lab) -> BTreeMap<String, (Vec<u8>, Vec<String>)> {
    lab.hosts()
        .iter()
        .map(|h| {
            let conf = std::fs::read(h.etcd_conf()).unwrap();
            let mut files = Vec::new();
            list(&h.data_dir(), &mut files);
            files.sort();
            (h.name.clone(), (conf, files))
        })
        .collect()
}

fn list(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            list(&p, out);
        } else {
            out.push(p.display().to_string());
        }
    }
}

/// etcd_health's view (the lab's own client reads linearizably, which fails without quorum).
fn health(lab: &Lab) -> Value {
    let tls = lab.client_tls();
    let args = json!({
        "endpoints": lab.endpoints(),
        "ca_cert": tls.ca,
        "client_cert": tls.cert,
        "client_key": tls.key,
    });
    let (v, run) = ansible::module(&lab.inventory_path(), "etcd3", "etcd_health", &args, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["members"].as_array().map(Vec::len), Some(3), "{v}");
    v
}

#[test]
fn check_mode_shows_the_plan_and_changes_nothing() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    lose_quorum(&lab);
    let before = disk_state(&lab);
    let health_before = health(&lab);
    assert_eq!(health_before["quorum"], json!(false));
    let run = ansible::playbook(&lab.inventory_path(), PLAY, &["--check"]);
    assert!(run.ok(), "{}", run.describe());
    assert!(run.stdout.contains("Survivor: etcd3"), "{}", run.stdout);
    assert_eq!(disk_state(&lab), before);
    assert!(
        !lab.is_healthy("etcd3").unwrap(),
        "check mode restored quorum"
    );
    assert!(!lab.is_running("etcd1").unwrap() && !lab.is_running("etcd2").unwrap());
    let health_after = health(&lab);
    assert_eq!(health_after["quorum"], json!(false));
    assert_eq!(health_after["members"], health_before["members"]);
    let backups = lab.host("etcd3").unwrap().root.join("var/backup/etcd");
    assert!(!backups.exists(), "check mode wrote a backup");
}

/// Five members, three lost (one early, two late): the operator names the survivor, and the
/// play re-forms the cluster from it and brings all five back with every key.
#[test]
fn three_of_five_lost_restores_five_from_the_named_survivor() {
    let lab = Lab::up(LabOptions {
        members: 5,
        ..LabOptions::machines()
    })
    .expect("lab up");
    lab.put_keys("/five/", KEYS / 2).expect("first half");
    lab.kill("etcd1").unwrap();
    lab.wait_healthy(
        &["etcd2", "etcd3", "etcd4", "etcd5"],
        std::time::Duration::from_secs(30),
    )
    .expect("four members keep quorum");
    lab.put_keys("/five-late/", KEYS / 2)
        .expect("second half, etcd1 down");
    lab.kill("etcd2").unwrap();
    lab.kill("etcd3").unwrap();
    assert!(!lab.is_healthy("etcd5").unwrap(), "quorum should be lost");

    let run = ansible::playbook(
        &lab.inventory_path(),
        PLAY,
        &["-e", "etcd_restore_survivor=etcd5"],
    );
    assert!(run.ok(), "{}", run.describe());
    assert!(
        run.stdout
            .contains("Survivor: etcd5 (given by etcd_restore_survivor)"),
        "{}",
        run.stdout
    );

    let members = lab.member_list().unwrap();
    let mut names: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["etcd1", "etcd2", "etcd3", "etcd4", "etcd5"]);
    assert!(members.iter().all(|m| !m.is_learner));
    for name in &names {
        assert!(lab.is_healthy(name).unwrap(), "{name} not healthy");
    }
    assert_eq!(lab.count_keys("/five/").unwrap(), (KEYS / 2) as u64);
    assert_eq!(lab.count_keys("/five-late/").unwrap(), (KEYS / 2) as u64);
    // Every host but the survivor was re-added empty, its old data kept aside.
    for name in ["etcd1", "etcd2", "etcd3", "etcd4"] {
        let data = lab.host(name).unwrap().data_dir();
        assert_eq!(asides(&data).len(), 1, "{name}: {:?}", asides(&data));
    }
    assert!(asides(&lab.host("etcd5").unwrap().data_dir()).is_empty());
}

/// When the restored cluster's client URLs differ from the inventory's (here the survivor also
/// advertises a DNS name), the masters' etcdClientInfo.urls and flanneld's endpoints are set
/// to what etcd reports, and the API servers and flanneld restart.
#[test]
fn a_changed_member_set_is_pushed_to_masters_and_flanneld() {
    const EXTRA: &str = "https://etcd3.lab.example:2379";
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    let e3 = lab.host("etcd3").unwrap();
    lab.stop("etcd3").unwrap();
    let path = e3.etcd_conf();
    let mut conf = confedit::EnvFile::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    conf.set(
        "ETCD_ADVERTISE_CLIENT_URLS",
        &format!("{},{EXTRA}", e3.client_url()),
    )
    .unwrap();
    std::fs::write(&path, conf.render()).unwrap();
    lab.start("etcd3").unwrap();
    lab.wait_healthy(
        &["etcd1", "etcd2", "etcd3"],
        std::time::Duration::from_secs(30),
    )
    .expect("etcd3 back");
    lab.put_keys("/changed/", 100).unwrap();
    lab.kill("etcd1").unwrap();
    lab.kill("etcd2").unwrap();

    let run = ansible::playbook(
        &lab.inventory_path(),
        PLAY,
        &["-e", "etcd_restore_survivor=etcd3"],
    );
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(lab.member_list().unwrap().len(), 3);
    assert_eq!(lab.count_keys("/changed/").unwrap(), 100);

    for h in lab.hosts() {
        let text = std::fs::read_to_string(h.master_config()).unwrap();
        let urls = confedit::get_seq(&text, "etcdClientInfo.urls").unwrap();
        assert!(urls.iter().any(|u| u == EXTRA), "{}: {urls:?}", h.name);
        for other in lab.hosts() {
            assert!(urls.contains(&other.client_url()), "{}: {urls:?}", h.name);
        }
        let flannel =
            confedit::EnvFile::parse(&std::fs::read_to_string(h.flanneld_sysconfig()).unwrap())
                .unwrap();
        let eps = flannel.get("FLANNEL_ETCD_ENDPOINTS").unwrap();
        assert!(eps.contains(EXTRA), "{}: {eps}", h.name);
        let restarts = std::fs::read_to_string(h.restarts_log()).unwrap_or_default();
        assert!(
            restarts.contains("master-api restarted"),
            "{}: {restarts}",
            h.name
        );
        assert!(
            restarts.contains("flanneld restarted"),
            "{}: {restarts}",
            h.name
        );
    }
}
