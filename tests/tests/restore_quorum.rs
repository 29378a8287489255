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
    let survivor_files = relative_files(&lab.host("etcd3").unwrap().data_dir());

    let run = ansible::playbook(&lab.inventory_path(), PLAY, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert!(
        run.stdout.contains("Survivor: etcd3 (most data on disk)"),
        "{}",
        run.stdout
    );
    // The survivor's data dir and config, copied whole before force-new-cluster rewrote them.
    let backups = lab.host("etcd3").unwrap().root.join("var/backup/etcd");
    let mut kept: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept[0].starts_with("config-before-restore-"), "{kept:?}");
    assert!(kept[1].starts_with("data-before-restore-"), "{kept:?}");
    assert!(backups.join(&kept[0]).join("etcd.conf").is_file());
    assert_eq!(relative_files(&backups.join(&kept[1])), survivor_files);

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
    let cmdline = m
        .exec_ok(&["cat", &format!("/proc/{pid}/cmdline")])
        .unwrap();
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

/// The files under `dir`, as paths relative to it, sorted; not the WAL's preallocated `.tmp`
/// files, which a running etcd makes when it likes.
fn relative_files(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    list(dir, &mut files);
    let prefix = format!("{}/", dir.display());
    let mut rel: Vec<String> = files
        .into_iter()
        .map(|f| f.trim_start_matches(&prefix).to_string())
        .filter(|f| !f.ends_with(".tmp"))
        .collect();
    rel.sort();
    rel
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

/// etcd_health's view (the lab's own client reads linearizably, which fails without quorum),
/// asked on etcd3 with that host's own peer certificate, as the playbooks ask.
fn health(lab: &Lab) -> Value {
    let args = json!({
        "endpoints": lab.endpoints(),
        "ca_cert": "/etc/etcd/ca.crt",
        "client_cert": "/etc/etcd/peer.crt",
        "client_key": "/etc/etcd/peer.key",
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

/// Every member down, one of them stale: `stale` was killed first and missed the last writes,
/// acknowledged by the other two, which then died too. Nothing answers a status call, so only
/// the data dirs can tell which member to re-form from; inventory order must not.
fn every_member_down_with_one_stale(stale: &str) {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    let others: Vec<&str> = ["etcd1", "etcd2", "etcd3"]
        .into_iter()
        .filter(|h| *h != stale)
        .collect();
    lab.put_keys("/early/", 100).unwrap();
    lab.kill(stale).unwrap();
    lab.wait_healthy(&others, std::time::Duration::from_secs(30))
        .expect("two members keep quorum");
    lab.put_keys("/acked/", 500)
        .expect("acknowledged with one member down");
    for h in &others {
        lab.kill(h).unwrap();
    }

    let run = ansible::playbook(&lab.inventory_path(), PLAY, &[]);
    assert!(run.ok(), "{}", run.describe());
    let chosen = ["etcd1", "etcd2", "etcd3"]
        .into_iter()
        .find(|h| {
            run.stdout
                .contains(&format!("Survivor: {h} (most data on disk)"))
        })
        .unwrap_or_else(|| panic!("no survivor line:\n{}", run.stdout));
    assert_ne!(
        chosen, stale,
        "re-formed from the stale member:\n{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("kept_index"),
        "the plan shows the numbers"
    );
    assert_eq!(
        lab.count_keys("/acked/").unwrap(),
        500,
        "acknowledged writes lost:\n{}",
        run.stdout
    );
    assert_eq!(lab.count_keys("/early/").unwrap(), 100);
    let members = lab.member_list().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(members.iter().all(|m| !m.is_learner && m.is_started()));
}

#[test]
fn every_member_down_stale_first_keeps_every_acknowledged_write() {
    every_member_down_with_one_stale("etcd1");
}

#[test]
fn every_member_down_stale_middle_keeps_every_acknowledged_write() {
    every_member_down_with_one_stale("etcd2");
}

#[test]
fn every_member_down_stale_last_keeps_every_acknowledged_write() {
    every_member_down_with_one_stale("etcd3");
}

/// The first host of [etcd] is a dead machine (UNREACHABLE) and a second member is down: the
/// play re-forms around it, says it must come back, and a later run re-adds it once it answers.
#[test]
fn a_dead_first_host_is_left_out_then_re_added_when_it_answers() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    lab.put_keys("/dead-first/", 300).unwrap();
    lab.kill_host("etcd1").unwrap();
    lab.wait_healthy(&["etcd2", "etcd3"], std::time::Duration::from_secs(30))
        .unwrap();
    lab.put_keys("/late/", 100).unwrap();
    lab.kill("etcd2").unwrap();

    let run = ansible::playbook(&lab.inventory_path(), PLAY, &[]);
    // ansible-playbook says 4 when a host was unreachable; the restore itself succeeded.
    assert_eq!(run.code, 4, "{}", run.describe());
    assert_eq!(run.recap("etcd1").unwrap()["unreachable"], 1);
    assert_eq!(run.recap("etcd3").unwrap()["failed"], 0, "{}", run.stdout);
    // Lost quorum proven, not waited out, with a dead machine among the dead: the machines share
    // the host's network stack, so its address refuses connections as a stopped etcd's port does.
    assert!(
        run.stdout.contains(
            "quorum cannot form: 2 of 3 voting members (etcd1, etcd2) take no connection"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Unreachable, not ranked and not re-added now: etcd1"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Restored without etcd1"),
        "{}",
        run.stdout
    );
    let names = |lab: &Lab| {
        let mut n: Vec<String> = lab
            .member_list()
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(&lab), ["etcd2", "etcd3"]);
    assert_eq!(lab.count_keys("/dead-first/").unwrap(), 300);
    assert_eq!(lab.count_keys("/late/").unwrap(), 100);
    // The masters forget etcd1, whose URL only the member list gave (its etcd.conf was out of
    // reach, the inventory names none).
    let e1 = lab.host("etcd1").unwrap().client_url();
    let master_urls = |lab: &Lab, h: &str| {
        let text = std::fs::read_to_string(lab.host(h).unwrap().master_config()).unwrap();
        confedit::get_seq(&text, "etcdClientInfo.urls").unwrap()
    };
    for h in ["etcd2", "etcd3"] {
        let urls = master_urls(&lab, h);
        assert!(!urls.contains(&e1) && urls.len() == 2, "{h}: {urls:?}");
    }

    // etcd1's machine comes back (its etcd starts on its old data, for a cluster that is gone).
    lab.revive_host("etcd1").unwrap();
    let run = ansible::playbook(&lab.inventory_path(), PLAY, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert!(
        run.stdout.contains("not yet healthy voting members"),
        "{}",
        run.stdout
    );
    assert_eq!(names(&lab), ["etcd1", "etcd2", "etcd3"]);
    assert!(lab.is_healthy("etcd1").unwrap());
    assert_eq!(lab.count_keys("/late/").unwrap(), 100);
    // Back as a member, back in every master's list.
    for h in ["etcd1", "etcd2", "etcd3"] {
        let urls = master_urls(&lab, h);
        assert!(urls.contains(&e1) && urls.len() == 3, "{h}: {urls:?}");
    }

    // And now there is nothing left to do.
    let run = ansible::playbook(&lab.inventory_path(), PLAY, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert!(run.stdout.contains("Nothing to do"), "{}", run.stdout);
    assert_eq!(run.total("changed"), 0, "{}", run.stdout);
}

/// Unknown is not lost: a healthy cluster the play cannot see (the inventory points at a port
/// where etcd does not listen, as an inventory with management addresses does) is refused,
/// with what to check, and left exactly as it was.
#[test]
fn a_healthy_cluster_the_play_cannot_see_is_not_re_formed() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    lab.put_keys("/unseen/", 50).unwrap();
    let ids: Vec<u64> = lab.member_ids();
    let before = disk_state(&lab);
    let run = ansible::playbook(
        &lab.inventory_path(),
        PLAY,
        &["-e", "etcd_client_url=https://{{ ansible_host }}:2399"],
    );
    assert!(!run.ok(), "{}", run.describe());
    assert!(
        run.stdout.contains("That is not evidence of lost quorum"),
        "{}",
        run.stdout
    );
    assert_eq!(run.total("changed"), 0, "{}", run.stdout);
    assert_eq!(lab.member_ids(), ids);
    assert_eq!(disk_state(&lab), before);
    assert_eq!(lab.count_keys("/unseen/").unwrap(), 50);
}

/// Every [etcd] host a started, healthy voting member, and every key of `keys` (prefix, count)
/// read back.
fn assert_whole(lab: &Lab, keys: &[(&str, u64)]) {
    let members = lab.member_list().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(
        members.iter().all(|m| !m.is_learner && m.is_started()),
        "{members:?}"
    );
    for name in ["etcd1", "etcd2", "etcd3"] {
        assert!(lab.is_healthy(name).unwrap(), "{name} not healthy");
    }
    for (prefix, n) in keys {
        assert_eq!(lab.count_keys(prefix).unwrap(), *n, "keys under {prefix}");
    }
}

/// restore-quorum.yml cut (its controller session lost) right after `task` reported (on `host`,
/// when given), then run again: the re-run finishes the job, every host a healthy voting member
/// with every key, and no force-new-cluster left behind to re-form the cluster at the next
/// restart. `cut_left` checks that the cut left the lab where the test means it to (or adds to
/// what it left); the lab is returned for more checks.
fn cut_then_rerun(task: &str, host: Option<&str>, cut_left: fn(&Lab)) -> Lab {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    lose_quorum(&lab);
    let cut = ansible::playbook_cut_after_on(&lab.inventory_path(), PLAY, &[], task, host);
    assert_eq!(
        cut.code, -9,
        "the run ended before {task:?}:\n{}",
        cut.stdout
    );
    cut_left(&lab);

    let run = ansible::playbook(&lab.inventory_path(), PLAY, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_whole(
        &lab,
        &[
            ("/restore/", (KEYS / 2) as u64),
            ("/late/", (KEYS / 2) as u64),
        ],
    );
    for name in ["etcd1", "etcd2", "etcd3"] {
        let h = lab.host(name).unwrap();
        assert!(!h
            .root
            .join("etc/systemd/system/etcd.service.d/temp.conf")
            .exists());
        let conf = std::fs::read_to_string(h.etcd_conf()).unwrap();
        assert!(!conf.contains("\nETCD_FORCE_NEW_CLUSTER"), "{name}: {conf}");
    }

    // A restart of every member keeps the cluster whole (no flag re-forms it).
    for name in ["etcd1", "etcd2", "etcd3"] {
        lab.stop(name).unwrap();
        lab.start(name).unwrap();
    }
    lab.wait_healthy(
        &["etcd1", "etcd2", "etcd3"],
        std::time::Duration::from_secs(60),
    )
    .expect("healthy after restarts");
    assert_eq!(lab.member_list().unwrap().len(), 3);
    lab
}

/// Where the survivor (etcd3) keeps its backups before the re-forming.
fn survivor_backups(lab: &Lab) -> std::path::PathBuf {
    lab.host("etcd3").unwrap().root.join("var/backup/etcd")
}

/// The survivor's backup dir holds a whole copy of its data dir and no unfinished one.
fn assert_whole_backup_only(lab: &Lab) {
    let backups = survivor_backups(lab);
    let names: Vec<String> = std::fs::read_dir(&backups)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        names.iter().any(|n| n.starts_with("data-before-restore-"))
            && !names.iter().any(|n| n.ends_with(".partial")),
        "no whole backup alone in {}: {names:?}",
        backups.display()
    );
}

/// Before the re-forming: etcd down everywhere (the stale member and one other were killed,
/// the play stopped the third).
fn every_etcd_down(lab: &Lab) {
    for name in ["etcd1", "etcd2", "etcd3"] {
        assert!(!lab.is_running(name).unwrap(), "{name} still runs");
    }
}

/// After the re-forming: the survivor alone, every other host still to re-add.
fn one_member_left(lab: &Lab) {
    let members = lab.member_list().unwrap();
    assert_eq!(members.len(), 1, "{members:?}");
}

#[test]
fn a_run_cut_after_the_survivors_backup_is_finished_by_the_next() {
    cut_then_rerun(
        "Copy the data dir, a WAL dir apart and the etcd config into the backup dir",
        None,
        |lab| {
            every_etcd_down(lab);
            assert_whole_backup_only(lab);
        },
    );
}

/// A run cut in the middle of the survivor's backup leaves an unfinished copy under its own
/// label (as etcd_datadir::copy makes one, renamed only when whole): the next run, under a label
/// of its own, makes a whole backup, finishes the restore and removes the unfinished copy,
/// which no run would ever finish and which holds a data dir's worth of the survivor's disk.
#[test]
fn a_run_cut_mid_backup_is_finished_and_its_unfinished_copy_removed() {
    let lab = cut_then_rerun("Stop the etcd unit", Some("etcd3"), |lab| {
        let unfinished = survivor_backups(lab).join("data-before-restore-20261204T000000Z.partial");
        std::fs::create_dir_all(unfinished.join("member/snap")).unwrap();
        std::fs::write(unfinished.join("member/snap/db"), b"half a db").unwrap();
    });
    assert_whole_backup_only(&lab);
}

#[test]
fn a_run_cut_after_commit_synced_is_finished_by_the_next() {
    cut_then_rerun(
        "Record the entries this member applied as committed, so force-new-cluster keeps them",
        None,
        every_etcd_down,
    );
}

#[test]
fn a_run_cut_after_the_force_new_cluster_start_is_finished_by_the_next() {
    // The first health wait of the run is the re-formed single member's, drop-in still in place.
    cut_then_rerun(
        "Wait until etcd on this host is healthy",
        None,
        one_member_left,
    );
}

#[test]
fn a_run_cut_after_force_new_cluster_is_finished_by_the_next() {
    // The flag is gone and the member restarted without it; nobody re-added yet.
    cut_then_rerun("Correct the survivor's peer URL", None, one_member_left);
}

#[test]
fn a_run_cut_after_a_learner_add_is_finished_by_the_next() {
    cut_then_rerun(
        "Add the member as a learner, through the survivor",
        None,
        |lab| {
            let members = lab.member_list().unwrap();
            assert_eq!(members.len(), 2, "{members:?}");
            assert!(members.iter().any(|m| m.is_learner && !m.is_started()));
        },
    );
}

#[test]
fn a_run_cut_after_a_start_before_promotion_is_finished_by_the_next() {
    // etcd1 is the first host re-added (etcd3 is the survivor): its etcd runs as a learner.
    cut_then_rerun(
        "Start the etcd unit and wait until it listens",
        Some("etcd1"),
        |lab| {
            assert!(lab.is_running("etcd1").unwrap());
            let members = lab.member_list().unwrap();
            assert_eq!(members.len(), 2, "{members:?}");
            assert!(
                members.iter().any(|m| m.is_learner && m.name == "etcd1"),
                "{members:?}"
            );
        },
    );
}

/// The survivor line of a restore-quorum plan: the host it names, and why.
fn survivor_of(stdout: &str) -> &str {
    ["etcd1", "etcd2", "etcd3"]
        .into_iter()
        .find(|h| stdout.contains(&format!("Survivor: {h} (")))
        .unwrap_or_else(|| panic!("no survivor line:\n{stdout}"))
}

/// What etcd_data reads in a host's data dir (run as an operator would, on the host's files).
fn inspect(lab: &Lab, host: &str) -> Value {
    let data = lab.host(host).unwrap().data_dir();
    let (v, code) = ansible::direct("etcd_data", &json!({ "data_dir": data }), &[]);
    assert_eq!(code, 0, "{v}");
    v
}

/// A stale member still runs while the members that have the last writes are down: it was
/// frozen (SIGSTOP) while they were acknowledged, the two that have them were killed, then it
/// ran on. It answers a status call with its own, stale, index; the stopped members' data dirs
/// say more, on the same scale, so the play must not take the one member that answers.
#[test]
fn a_stale_member_still_running_is_not_taken_over_the_advanced_dirs() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    let signal = |sig: &str| {
        lab.machine("etcd1")
            .unwrap()
            .exec_ok(&["systemctl", "kill", &format!("--signal={sig}"), "etcd"])
            .unwrap();
    };
    let e1_id = lab
        .member_list()
        .unwrap()
        .iter()
        .find(|m| m.name == "etcd1")
        .map(|m| m.id)
        .expect("etcd1 is a member");
    lab.put_keys("/early/", 100).unwrap();
    // etcd1 leads when it freezes. A follower frozen under a leader that replicates to it gets
    // the entries anyway: they wait in its socket buffers and are read once it runs on. A new
    // leader instead starts each follower with one probe and sends it nothing more until it
    // answers, so etcd1 never sees the writes made after it froze.
    let leader = || -> Option<u64> {
        let out = lab.etcdctl(["endpoint", "status", "-w", "json"]).ok()?;
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        v.as_array()?
            .iter()
            .find_map(|e| e["Status"]["leader"].as_u64())
    };
    if leader() != Some(e1_id) {
        let out = lab.etcdctl(["move-leader", &format!("{e1_id:x}")]).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        lab::wait::until(
            std::time::Duration::from_secs(30),
            std::time::Duration::from_millis(100),
            || leader() == Some(e1_id),
        ),
        "etcd1 never led"
    );
    signal("SIGSTOP");
    lab.wait_healthy(&["etcd2", "etcd3"], std::time::Duration::from_secs(30))
        .expect("two members keep quorum");
    lab.put_keys("/acked/", 500)
        .expect("acknowledged with etcd1 frozen");
    lab.kill("etcd2").unwrap();
    lab.kill("etcd3").unwrap();
    signal("SIGCONT");
    assert!(lab.is_running("etcd1").unwrap());
    // The premise: etcd1 runs, answers status (its raft index), has no quorum, and is behind
    // what the stopped members applied.
    let before = health(&lab);
    let e1 = lab.host("etcd1").unwrap().client_url();
    let ep = before["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == json!(e1))
        .unwrap_or_else(|| panic!("no endpoint {e1}: {before}"));
    assert_eq!(ep["healthy"], json!(false), "{ep}");
    let stale = ep["raft_index"]
        .as_u64()
        .unwrap_or_else(|| panic!("etcd1 answered no status: {ep}"));
    for h in ["etcd2", "etcd3"] {
        let applied = inspect(&lab, h)["consistent_index"].as_u64().unwrap();
        assert!(
            stale < applied,
            "etcd1 at {stale} is not behind {h} at {applied}"
        );
    }

    let run = ansible::playbook(&lab.inventory_path(), PLAY, &[]);
    assert!(run.ok(), "{}", run.describe());
    let chosen = survivor_of(&run.stdout);
    assert_ne!(
        chosen, "etcd1",
        "re-formed from the stale member:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("(most data on disk)"), "{}", run.stdout);
    assert_whole(&lab, &[("/early/", 100), ("/acked/", 500)]);
}

/// Two members with the same data: every member up and idle until both backends hold the last
/// write, then both killed at once (the third had died before). The choice follows the rule,
/// not chance: the dry run and the real run name the same survivor, and the plan says it was a
/// tie and what broke it.
#[test]
fn an_equal_index_tie_is_broken_deterministically_and_said_so() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    lab.put_keys("/early/", 100).unwrap();
    lab.kill("etcd1").unwrap();
    lab.wait_healthy(&["etcd2", "etcd3"], std::time::Duration::from_secs(30))
        .expect("two members keep quorum");
    lab.put_keys("/acked/", 500).unwrap();
    let applied = |h: &str| {
        let v = inspect(&lab, h);
        (
            v["consistent_index"].as_u64(),
            v["last_entry"]["index"].as_u64(),
        )
    };
    // etcd's backend commits its batch every 100 ms: wait until both hold the same log, all applied.
    let same = lab::wait::until(
        std::time::Duration::from_secs(30),
        std::time::Duration::from_millis(100),
        || {
            let (a, b) = (applied("etcd2"), applied("etcd3"));
            a == b && a.0.is_some() && a.0 == a.1
        },
    );
    assert!(
        same,
        "etcd2 {:?}, etcd3 {:?}",
        applied("etcd2"),
        applied("etcd3")
    );
    lab.kill("etcd2").unwrap();
    lab.kill("etcd3").unwrap();

    let plan = ansible::playbook(&lab.inventory_path(), PLAY, &["--check"]);
    assert!(plan.ok(), "{}", plan.describe());
    let planned = survivor_of(&plan.stdout).to_string();
    assert!(
        plan.stdout.contains("a tie at index"),
        "the plan does not say it was a tie:\n{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("broken by"), "{}", plan.stdout);

    let run = ansible::playbook(&lab.inventory_path(), PLAY, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(survivor_of(&run.stdout), planned, "{}", run.stdout);
    assert_ne!(planned, "etcd1");
    assert_whole(&lab, &[("/early/", 100), ("/acked/", 500)]);
}

/// Cuts the last record of the newest WAL file in `wal_dir` in half (the file ends inside it, as
/// a write torn by a crash leaves it). Frames are walked here, independently of etcd_data's
/// reader: an 8-byte little-endian length (low 56 bits; with the top bit set, bits 56-58 are the
/// padding), then the record and its padding; a zero length ends the records.
fn tear_last_record(wal_dir: &Path) -> (std::path::PathBuf, u64) {
    let mut files: Vec<_> = std::fs::read_dir(wal_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect();
    files.sort();
    let file = files.pop().expect("a WAL file");
    let bytes = std::fs::read(&file).unwrap();
    let (mut off, mut last) = (0usize, None);
    while off + 8 <= bytes.len() {
        let len = u64::from_le_bytes(bytes[off..off + 8].try_into().unwrap());
        if len == 0 {
            break;
        }
        let rec = (len & !(0xffu64 << 56)) as usize;
        let pad = if len >> 63 == 1 {
            ((len >> 56) & 7) as usize
        } else {
            0
        };
        last = Some((off, rec));
        off += 8 + rec + pad;
    }
    let (start, rec) = last.expect("a record in the last WAL file");
    let cut = (start + 8 + rec / 2) as u64;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(cut)
        .unwrap();
    (file, start as u64)
}

/// A torn WAL tail on a stopped advanced member (its last record cut in half): etcd_data reads
/// the log up to the record before, as etcd does when it truncates the tail at start, says so,
/// and does not exclude the member; the restore keeps every acknowledged key whichever member
/// the ranking takes.
#[test]
fn a_torn_wal_tail_is_read_as_etcd_reads_it_and_every_key_kept() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    lose_quorum(&lab);
    lab.kill("etcd3").unwrap();
    let whole = inspect(&lab, "etcd3");
    assert_eq!(whole["torn_tail"], json!(false), "{whole}");
    let wal = lab.host("etcd3").unwrap().data_dir().join("member/wal");
    let (file, at) = tear_last_record(&wal);
    let torn = inspect(&lab, "etcd3");
    assert_eq!(torn["torn_tail"], json!(true), "{torn}");
    assert_eq!(
        torn["torn_at"],
        json!({"file": file.file_name().unwrap().to_string_lossy(), "offset": at}),
        "{torn}"
    );
    assert_eq!(
        torn["errors"],
        json!([]),
        "a torn tail is no damage: {torn}"
    );
    assert!(
        torn["last_entry"]["index"].as_u64() <= whole["last_entry"]["index"].as_u64(),
        "{whole}\n{torn}"
    );
    let (h_whole, h_torn) = (&whole["hardstate"], &torn["hardstate"]);
    assert!(
        torn["last_entry"] != whole["last_entry"] || h_torn != h_whole,
        "the torn record changed nothing: {whole}\n{torn}"
    );

    let run = ansible::playbook(&lab.inventory_path(), PLAY, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert!(run.stdout.contains("(most data on disk)"), "{}", run.stdout);
    let survivor = survivor_of(&run.stdout);
    assert_ne!(survivor, "etcd1", "{}", run.stdout);
    // Re-formed from the torn member, its tail was cut off as etcd cuts it, the bytes kept.
    let broken = wal.join(format!(
        "{}.broken",
        file.file_name().unwrap().to_string_lossy()
    ));
    assert_eq!(survivor == "etcd3", broken.is_file(), "{}", run.stdout);
    assert_whole(
        &lab,
        &[
            ("/restore/", (KEYS / 2) as u64),
            ("/late/", (KEYS / 2) as u64),
        ],
    );
}

/// Dedicated disks, as etcd's hardware guide advises: etcd1's data dir is a mount point (a
/// tmpfs inside its machine), etcd2 keeps its WAL apart (ETCD_WAL_DIR). Both are re-added after
/// quorum is lost: the mount point cannot be renamed, so its data is set aside on the same disk
/// and it stays mounted; etcd2's old WAL is set aside with its data dir, so its new member does
/// not start from the lost cluster's log. Every key is read back.
#[test]
fn a_mounted_data_dir_and_a_separate_wal_dir_are_set_aside_in_place() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    let sh = |host: &str, script: &str| {
        lab.machine(host)
            .unwrap()
            .exec_ok(&["sh", "-ec", script])
            .unwrap_or_else(|e| panic!("{host}: {script}: {e:#}"))
    };
    lab.give_data_dir_its_own_disk("etcd1").unwrap();
    lab.stop("etcd2").unwrap();
    sh(
        "etcd2",
        "install -d -o etcd -g etcd -m 0700 /var/lib/etcd-wal
         mv /var/lib/etcd/member/wal /var/lib/etcd-wal/wal
         sed -i 's|^#*ETCD_WAL_DIR=.*|ETCD_WAL_DIR=/var/lib/etcd-wal/wal|' /etc/etcd/etcd.conf
         grep -q '^ETCD_WAL_DIR=/var/lib/etcd-wal/wal$' /etc/etcd/etcd.conf",
    );
    lab.start("etcd2").unwrap();
    lab.wait_healthy(
        &["etcd1", "etcd2", "etcd3"],
        std::time::Duration::from_secs(30),
    )
    .expect("the moved disks serve");
    lose_quorum(&lab);

    let run = ansible::playbook(&lab.inventory_path(), PLAY, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert!(run.stdout.contains("Survivor: etcd3"), "{}", run.stdout);
    for name in ["etcd1", "etcd2", "etcd3"] {
        assert!(lab.is_healthy(name).unwrap(), "{name} not healthy");
    }
    assert_eq!(lab.count_keys("/restore/").unwrap(), (KEYS / 2) as u64);
    assert_eq!(lab.count_keys("/late/").unwrap(), (KEYS / 2) as u64);
    assert_eq!(lab.member_list().unwrap().len(), 3);

    // etcd1: still mounted, the old member kept on the disk beside the new one.
    let etcd1 = sh(
        "etcd1",
        "findmnt -n -o FSTYPE /var/lib/etcd; ls /var/lib/etcd/etcd-ops-aside.before-restore-*/member/wal | grep -c '[.]wal$'; ls /var/lib/etcd/member",
    );
    let lines: Vec<&str> = etcd1.lines().collect();
    assert_eq!(lines[0], "tmpfs", "{etcd1}");
    assert!(lines[1].parse::<u32>().unwrap() >= 1, "{etcd1}");
    assert!(etcd1.contains("snap") && etcd1.contains("wal"), "{etcd1}");
    assert!(asides(&lab.host("etcd1").unwrap().data_dir()).is_empty());
    // etcd2: the old WAL beside its dir, a new log in it, the old data dir kept too.
    let etcd2 = sh(
        "etcd2",
        "ls /var/lib/etcd-wal/wal.before-restore-*/ | grep -c '[.]wal$'; ls /var/lib/etcd-wal/wal | grep -c '[.]wal$'; \
         ls -d /var/lib/etcd.before-restore-*/member; test ! -e /var/lib/etcd/member/wal && echo no-wal-inside",
    );
    let lines: Vec<&str> = etcd2.lines().collect();
    assert!(lines[0].parse::<u32>().unwrap() >= 1, "{etcd2}");
    assert!(lines[1].parse::<u32>().unwrap() >= 1, "{etcd2}");
    assert!(etcd2.contains("no-wal-inside"), "{etcd2}");
}
