//! restore-snapshot.yml on a real lab: the cluster goes back to exactly what the snapshot held
//! (keys written after it gone, keys deleted after it back), every member healthy, the API
//! server stop/start commands run; --check changes nothing; a second run changes nothing.

use lab::ansible;
use lab::{Lab, LabOptions};
use serde_json::json;

fn save_snapshot(lab: &Lab, path: &std::path::Path) {
    let tls = lab.client_tls();
    let args = json!({
        "state": "saved", "path": path, "endpoints": lab.endpoints(),
        "ca_cert": tls.ca, "client_cert": tls.cert, "client_key": tls.key,
    });
    let (v, _) = ansible::direct("etcd_snapshot", &args, &[]);
    assert_eq!(v["failed"], json!(false), "{v}");
}

/// `held` keys under /snap/, a snapshot of them, then `after` keys under /after/ that it does
/// not hold: the `-e` argument that names the snapshot to restore-snapshot.yml.
fn snapshot_then_more(lab: &Lab, held: usize, after: usize) -> String {
    lab.put_keys("/snap/", held).unwrap();
    let snap = lab.dir().join("snapshot.db");
    save_snapshot(lab, &snap);
    lab.put_keys("/after/", after).unwrap();
    format!("etcd_snapshot_file={}", snap.display())
}

fn data_dirs(lab: &Lab) -> Vec<Vec<String>> {
    lab.hosts()
        .iter()
        .map(|h| {
            let mut names: Vec<String> = std::fs::read_dir(h.data_dir().parent().unwrap())
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        })
        .collect()
}

/// What the machines' kubelet stand-in recorded of a host's API server pod: the default stop
/// and start commands move its manifest out of the pods directory and back.
fn apiserver_events(lab: &Lab, host: &str) -> Vec<String> {
    let log = lab.host(host).unwrap().root.join("var/log/pods.log");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && f[0] == host && f[1] == "apiserver").then(|| f[2].to_string())
        })
        .collect()
}

#[test]
fn cluster_returns_to_exactly_what_the_snapshot_held() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    let inv = lab.inventory_path();
    // Keys written after the snapshot must vanish, keys deleted after it must come back.
    let file_arg = snapshot_then_more(&lab, 1000, 100);
    let ids_before: Vec<u64> = lab.member_ids();
    for i in 0..10 {
        let out = lab.etcdctl(["del", &lab::key_name("/snap/", i)]).unwrap();
        assert!(out.status.success());
    }
    assert_eq!(lab.count_keys("/snap/").unwrap(), 990);

    let dirs = data_dirs(&lab);
    let run = ansible::playbook(
        &inv,
        "playbooks/restore-snapshot.yml",
        &["--check", "-e", &file_arg],
    );
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(data_dirs(&lab), dirs, "check mode touched a data dir");
    assert_eq!(lab.count_keys("/after/").unwrap(), 100);

    let run = ansible::playbook(&inv, "playbooks/restore-snapshot.yml", &["-e", &file_arg]);
    assert!(run.ok(), "{}", run.describe());

    assert_eq!(lab.count_keys("/snap/").unwrap(), 1000);
    assert_eq!(lab.count_keys("/after/").unwrap(), 0);
    for i in [0, 5, 9, 500, 999] {
        assert_eq!(
            lab.get(&lab::key_name("/snap/", i)).unwrap(),
            Some(lab::value_for(i)),
            "key {i}"
        );
    }
    let members = lab.member_list().unwrap();
    assert_eq!(members.len(), 3);
    assert!(members.iter().all(|m| m.is_started()));
    let ids_after: Vec<u64> = members.iter().map(|m| m.id).collect();
    assert_ne!(
        ids_after, ids_before,
        "a new cluster (new token) was formed"
    );
    for h in ["etcd1", "etcd2", "etcd3"] {
        assert!(lab.is_healthy(h).unwrap(), "{h}");
        // Started at boot, stopped for the restore, started again.
        assert_eq!(
            apiserver_events(&lab, h),
            ["started", "stopped", "started"],
            "{h}"
        );
    }

    // Again with the same snapshot: every data dir already holds it.
    let run = ansible::playbook(&inv, "playbooks/restore-snapshot.yml", &["-e", &file_arg]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(run.total("changed"), 0, "{}", run.stdout);
    assert!(run.stdout.contains("nothing to do"), "{}", run.stdout);
}

#[test]
fn backup_then_wipe_then_restore_gives_every_key_back() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    let inv = lab.inventory_path();
    lab.put_keys("/kept/", 2000).unwrap();
    let fetch = lab.dir().join("fetched");
    let run = ansible::playbook(
        &inv,
        "playbooks/backup.yml",
        &["-e", &format!("etcd_backup_fetch_dir={}", fetch.display())],
    );
    assert!(run.ok(), "{}", run.describe());
    let fetched_dir = fetch.join("etcd1");
    let snap = std::fs::read_dir(&fetched_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "db"))
        .expect("backup.yml fetched a snapshot");

    // The cluster is lost: every member down, every data dir gone.
    for h in ["etcd1", "etcd2", "etcd3"] {
        lab.kill(h).unwrap();
        std::fs::remove_dir_all(lab.host(h).unwrap().data_dir()).unwrap();
    }
    let run = ansible::playbook(
        &inv,
        "playbooks/restore-snapshot.yml",
        &["-e", &format!("etcd_snapshot_file={}", snap.display())],
    );
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(lab.count_keys("/kept/").unwrap(), 2000);
    for i in (0..2000).step_by(97) {
        assert_eq!(
            lab.get(&lab::key_name("/kept/", i)).unwrap(),
            Some(lab::value_for(i)),
            "key {i}"
        );
    }
    assert_eq!(lab.member_list().unwrap().len(), 3);
}

/// restore-snapshot.yml cut (its controller session lost) right after `task` reported on some
/// host, then run again: the re-run finishes, every member healthy with exactly the snapshot's
/// keys, and every API server started again (stopped once, started once).
/// A member whose data dir is a dedicated disk (a mount point, which cannot be renamed): the
/// restore lands on that disk, its old data set aside there, and the disk stays mounted.
#[test]
fn a_mounted_data_dir_is_restored_in_place() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    lab.give_data_dir_its_own_disk("etcd2").unwrap();
    lab.wait_healthy(
        &["etcd1", "etcd2", "etcd3"],
        std::time::Duration::from_secs(30),
    )
    .expect("the moved disk serves");
    let file_arg = snapshot_then_more(&lab, 100, 10);
    let run = ansible::playbook(
        &lab.inventory_path(),
        "playbooks/restore-snapshot.yml",
        &["-e", &file_arg],
    );
    assert!(run.ok(), "{}", run.describe());
    for name in ["etcd1", "etcd2", "etcd3"] {
        assert!(lab.is_healthy(name).unwrap(), "{name} not healthy");
    }
    assert_eq!(lab.count_keys("/snap/").unwrap(), 100);
    assert_eq!(lab.count_keys("/after/").unwrap(), 0);
    let disk = lab
        .machine("etcd2")
        .unwrap()
        .exec_ok(&[
            "sh",
            "-ec",
            "findmnt -n -o FSTYPE /var/lib/etcd; ls -d /var/lib/etcd/etcd-ops-aside.*.bak/member/wal; \
             ls /var/lib/etcd/member; ls -a /var/lib/etcd",
        ])
        .unwrap();
    assert!(disk.starts_with("tmpfs\n"), "{disk}");
    assert!(
        disk.contains("/member/wal\n") && disk.contains("snap"),
        "{disk}"
    );
    assert!(
        !disk.contains("restoring"),
        "a staging dir was left: {disk}"
    );
}

fn cut_then_rerun(task: &str) {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    let inv = lab.inventory_path();
    let file_arg = snapshot_then_more(&lab, 500, 100);
    let play = "playbooks/restore-snapshot.yml";

    let cut = ansible::playbook_cut_after(&inv, play, &["-e", &file_arg], task);
    assert_eq!(
        cut.code, -9,
        "the run ended before {task:?}:\n{}",
        cut.stdout
    );
    let run = ansible::playbook(&inv, play, &["-e", &file_arg]);
    assert!(run.ok(), "{}", run.describe());

    assert_eq!(lab.count_keys("/snap/").unwrap(), 500);
    assert_eq!(lab.count_keys("/after/").unwrap(), 0);
    for i in [0, 250, 499] {
        assert_eq!(
            lab.get(&lab::key_name("/snap/", i)).unwrap(),
            Some(lab::value_for(i)),
            "key {i}"
        );
    }
    let members = lab.member_list().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(members.iter().all(|m| m.is_started() && !m.is_learner));
    for h in ["etcd1", "etcd2", "etcd3"] {
        assert!(lab.is_healthy(h).unwrap(), "{h}");
        let root = &lab.host(h).unwrap().root;
        assert!(
            root.join("etc/origin/node/pods/apiserver.yaml").is_file(),
            "{h}: the API server's manifest is not back"
        );
        assert_eq!(
            apiserver_events(&lab, h),
            ["started", "stopped", "started"],
            "{h}"
        );
    }
}

#[test]
fn a_restore_cut_after_the_api_servers_stop_is_finished_by_the_next_run() {
    // The first report of the step after the stop: every API server is stopped by then.
    cut_then_rerun("Stop the etcd unit");
}

#[test]
fn a_restore_cut_while_data_dirs_are_restored_is_finished_by_the_next_run() {
    // One host restored; the others anywhere in their restore when the run dies.
    cut_then_rerun("Restore the data dir from the snapshot (the old one is moved aside)");
}

/// The first host's machine dead through the restore: the others are restored into a cluster
/// whose initial cluster names it, and the play says to run again once it answers. The run
/// after it boots restores it alone; the others keep running, with the writes taken since.
#[test]
fn a_dead_first_host_is_restored_once_it_answers_and_the_others_keep_their_writes() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    let inv = lab.inventory_path();
    let file_arg = snapshot_then_more(&lab, 200, 50);
    lab.kill_host("etcd1").unwrap();

    let run = ansible::playbook(&inv, "playbooks/restore-snapshot.yml", &["-e", &file_arg]);
    assert_eq!(
        run.code,
        4,
        "etcd1 unreachable, nothing failed: {}",
        run.describe()
    );
    assert_eq!(run.total("failed"), 0, "{}", run.describe());
    assert!(
        run.stdout.contains(
            "Restored without etcd1, which did not answer: once they do, run this playbook again"
        ),
        "{}",
        run.stdout
    );
    for h in ["etcd2", "etcd3"] {
        assert!(lab.is_healthy(h).unwrap(), "{h}");
    }
    assert_eq!(lab.count_keys("/snap/").unwrap(), 200);
    assert_eq!(lab.count_keys("/after/").unwrap(), 0);
    let members = lab.member_list().unwrap();
    assert_eq!(
        members.len(),
        3,
        "the restored cluster names etcd1: {members:?}"
    );
    // Written to the restored cluster while etcd1 is away: kept through the next run.
    lab.put_keys("/meanwhile/", 30).unwrap();
    let pids: Vec<_> = ["etcd2", "etcd3"]
        .iter()
        .map(|h| lab.pid(h).unwrap().expect("runs"))
        .collect();

    lab.revive_host("etcd1").unwrap();
    let run = ansible::playbook(&inv, "playbooks/restore-snapshot.yml", &["-e", &file_arg]);
    assert!(run.ok(), "{}", run.describe());
    assert!(
        run.stdout.contains("data dirs to restore: etcd1"),
        "{}",
        run.stdout
    );
    for h in ["etcd1", "etcd2", "etcd3"] {
        assert!(lab.is_healthy(h).unwrap(), "{h}");
    }
    let again: Vec<_> = ["etcd2", "etcd3"]
        .iter()
        .map(|h| lab.pid(h).unwrap().expect("runs"))
        .collect();
    assert_eq!(again, pids, "the members already restored kept running");
    let members = lab.member_list().unwrap();
    assert_eq!(members.len(), 3);
    assert!(members.iter().all(|m| m.is_started()), "{members:?}");
    assert_eq!(lab.count_keys("/meanwhile/").unwrap(), 30);
    assert_eq!(lab.count_keys("/snap/").unwrap(), 200);
}

/// A dead host nothing names: its machine is down, no member runs there any more (removed from
/// the cluster while it stays in [etcd]) and the inventory gives it no etcd_name or
/// etcd_peer_url. The restored cluster's initial cluster could not name it, so the run is
/// refused before any member is stopped: data dirs, pids and the writes since the snapshot stay.
#[test]
fn a_dead_host_nothing_names_is_refused_and_nothing_is_changed() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    let inv = lab.inventory_path();
    let file_arg = snapshot_then_more(&lab, 100, 20);
    let id = lab
        .member_list()
        .unwrap()
        .into_iter()
        .find(|m| m.name == "etcd1")
        .expect("etcd1 is a member")
        .id;
    // Removed while it answers (etcdctl, given every endpoint, may pick a dead one and time
    // out), then its machine killed. etcd takes a removal only once its leader has been
    // connected to the others for 5 s ("unhealthy cluster" until then): asked again, a minute
    // at the most.
    let remove = || {
        lab.etcdctl(["member", "remove", &format!("{id:x}")])
            .unwrap()
    };
    let mut out = remove();
    for _ in 0..120 {
        if out.status.success()
            || !String::from_utf8_lossy(&out.stderr).contains("unhealthy cluster")
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        out = remove();
    }
    assert!(out.status.success(), "{out:?}");
    lab.kill_host("etcd1").unwrap();
    let dirs = data_dirs(&lab);
    let pids: Vec<_> = ["etcd2", "etcd3"]
        .iter()
        .map(|h| lab.pid(h).unwrap().expect("runs"))
        .collect();

    let run = ansible::playbook(&inv, "playbooks/restore-snapshot.yml", &["-e", &file_arg]);
    assert!(!run.ok(), "{}", run.describe());
    assert!(
        run.stdout
            .contains("etcd1 did not answer, and neither the inventory"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Nothing was changed"), "{}", run.stdout);
    assert_eq!(run.total("changed"), 0, "{}", run.stdout);
    assert_eq!(data_dirs(&lab), dirs);
    let again: Vec<_> = ["etcd2", "etcd3"]
        .iter()
        .map(|h| lab.pid(h).unwrap().expect("runs"))
        .collect();
    assert_eq!(again, pids);
    assert_eq!(lab.count_keys("/after/").unwrap(), 20);
    assert_eq!(lab.member_list().unwrap().len(), 2);
}
