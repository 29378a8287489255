//! Every playbook as AWX runs it: the `make dist` project in an AWX-shaped private data dir,
//! the awx/ job templates' surveys turned into extra vars, `ansible-runner run`, and the job
//! events read back. One lab goes through a story (health, backup, remove-member, scaleup,
//! quorum loss and restore-quorum, restore-snapshot); after each job the test checks what etcd
//! and the hosts' files say, and that the job's stats agree. health.yml runs through
//! ansible-playbook too, on the same lab state, and both must report the same.

use confedit::get_seq;
use lab::ansible::{self, Run};
use lab::awx;
use lab::runner::{Awx, Job};
use lab::{Lab, LabOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);
const HEALTH_TASK: &str = "Query every etcd member at once";
const CONFIRM_TASK: &str = "Require the typed confirmation";

/// Inventory variables an operator would keep in the AWX inventory for these hosts. The lab
/// has no API server static pod to move aside: the stop and start commands leave a line in
/// each host's restarts.log instead. Interpreter discovery would find whatever python3 comes
/// first on this machine; the builtin modules get the project's virtualenv, as in every test.
const LAB_GROUP_VARS: &str = r#"---
ansible_python_interpreter: PYTHON
openshift_master_stop_commands:
  - 'echo "{{ inventory_hostname }} api stopped" >> "{{ lab_root }}/var/log/restarts.log"'
openshift_master_start_commands:
  - 'echo "{{ inventory_hostname }} api started" >> "{{ lab_root }}/var/log/restarts.log"'
"#;

fn launch(awx: &mut Awx, template: &str, answers: Value, inventory: &Path) -> Job {
    let t = awx::template(template);
    awx.launch(&t, &answers, inventory)
        .unwrap_or_else(|e| panic!("AWX would refuse to launch {template}: {e:?}"))
}

fn assert_clean(job: &Job) {
    assert!(job.successful(), "{}", job.describe());
    assert_eq!(job.failures(), 0, "{}", job.describe());
    assert!(!job.counter("processed").is_empty(), "{}", job.describe());
}

fn member_names(lab: &Lab) -> Vec<String> {
    let mut names: Vec<String> = lab
        .member_list()
        .unwrap()
        .into_iter()
        .map(|m| {
            assert!(m.is_started() && !m.is_learner, "{m:?}");
            m.name
        })
        .collect();
    names.sort();
    names
}

/// The operator's edit of the AWX inventory after a membership change, made with the
/// project's own inventory_group module.
fn inventory_group(inventory: &Path, host: &str, group: &str, state: &str) {
    let args =
        json!({"path": inventory.join("hosts"), "host": host, "group": group, "state": state});
    let (v, _) = ansible::direct("inventory_group", &args, &[]);
    assert_eq!(v["failed"], json!(false), "{v}");
}

/// A task's result as `ansible-playbook -v` prints it (one JSON line per host).
fn verbose_result(run: &Run, task: &str, host: &str) -> Value {
    let after = run
        .stdout
        .split(&format!("TASK [{task}]"))
        .nth(1)
        .unwrap_or_else(|| panic!("no task {task:?}: {}", run.describe()));
    let line = after
        .lines()
        .find(|l| l.starts_with(&format!("ok: [{host}] => ")))
        .unwrap_or_else(|| panic!("no result of {task:?} on {host}: {}", run.describe()));
    serde_json::from_str(line.split_once(" => ").unwrap().1).unwrap()
}

/// etcd_health's answer without what moves between two reads (timings, raft indexes, sizes).
fn settled(v: &Value) -> Value {
    let mut members = v["members"].as_array().cloned().unwrap_or_default();
    members.sort_by_key(|m| m["id"].as_str().unwrap_or("").to_string());
    let endpoints: Vec<Value> = v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            json!({
                "endpoint": e["endpoint"], "healthy": e["healthy"], "member_id": e["member_id"],
                "is_leader": e["is_leader"], "is_learner": e["is_learner"],
                "version": e["version"], "error": e["error"],
            })
        })
        .collect();
    json!({
        "msg": v["msg"], "quorum": v["quorum"], "voting_members": v["voting_members"],
        "healthy_voting_members": v["healthy_voting_members"], "quorum_size": v["quorum_size"],
        "leader": v["leader"], "alarms": v["alarms"], "members": members, "endpoints": endpoints,
    })
}

/// health.yml through ansible-playbook (the repository's playbooks) and through AWX (the
/// dist project), on the same inventory and lab state: same verdict, same etcd_health result,
/// same per-host stats. Returns AWX's job and etcd_health result.
fn health_both_ways(awx: &mut Awx, inventory: &Path, require_quorum: bool) -> (Job, Value) {
    let flag = require_quorum.to_string();
    let direct = ansible::playbook(
        &inventory.join("hosts"),
        "playbooks/health.yml",
        &["-v", "-e", &format!("etcd_health_require_quorum={flag}")],
    );
    let job = launch(
        awx,
        "health",
        json!({ "etcd_health_require_quorum": flag }),
        inventory,
    );
    assert_eq!(
        job.successful(),
        direct.ok(),
        "{}\n{}",
        job.describe(),
        direct.describe()
    );
    let via_awx = job
        .result(HEALTH_TASK, "runner_on_ok")
        .unwrap_or_else(|| panic!("no etcd_health result: {}", job.describe()))
        .clone();
    assert_eq!(
        settled(&via_awx),
        settled(&verbose_result(&direct, HEALTH_TASK, "etcd1"))
    );
    let hosts = job.counter("processed");
    assert!(!hosts.is_empty(), "{}", job.describe());
    for host in hosts.keys() {
        let recap = direct.recap(host).expect("a recap line per host");
        for (awx_name, recap_name) in [
            ("ok", "ok"),
            ("changed", "changed"),
            ("failures", "failed"),
            ("dark", "unreachable"),
            ("skipped", "skipped"),
            ("rescued", "rescued"),
            ("ignored", "ignored"),
        ] {
            assert_eq!(
                job.counter(awx_name).get(host).copied().unwrap_or(0),
                recap[recap_name],
                "{host} {recap_name}: {}\n{}",
                job.describe(),
                direct.stdout
            );
        }
    }
    (job, via_awx)
}

/// A member cut off from its peers calls itself leader until its election timeout runs out:
/// waits for that, so that both health runs see the same, settled state.
fn wait_until_not_leader(lab: &Lab, host: &str) {
    let tls = lab.client_tls();
    let endpoint = lab.host(host).unwrap().client_url();
    let stepped_down = lab::wait::until(WAIT, Duration::from_millis(200), || {
        let out = Command::new(lab::etcdctl_bin())
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoint}"))
            .arg(format!("--cacert={}", tls.ca.display()))
            .arg(format!("--cert={}", tls.cert.display()))
            .arg(format!("--key={}", tls.key.display()))
            .args(["endpoint", "status", "-w", "json"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let status = &v[0]["Status"];
        status["header"]["member_id"].is_u64() && status["leader"] != status["header"]["member_id"]
    });
    assert!(
        stepped_down,
        "{host} still calls itself leader after {WAIT:?}"
    );
}

fn bundles(lab: &Lab, host: &str) -> Vec<PathBuf> {
    lab.backup_bundles(host).unwrap()
}

fn master_urls(lab: &Lab, host: &str) -> Vec<String> {
    let text = std::fs::read_to_string(lab.host(host).unwrap().master_config()).unwrap();
    get_seq(&text, "etcdClientInfo.urls").unwrap()
}

#[test]
fn every_playbook_runs_under_ansible_runner_as_awx_would_run_it() {
    let started = Instant::now();
    let lab = Lab::up(LabOptions {
        spares: 1,
        ..Default::default()
    })
    .expect("lab up");
    let base = lab.dir().join("awx");
    let mut awx = Awx::new(&base);
    // The AWX inventory: the lab's, plus the group variables an operator would keep there.
    let inv = base.join("inventory");
    std::fs::create_dir_all(inv.join("group_vars")).unwrap();
    std::fs::copy(lab.inventory_path(), inv.join("hosts")).unwrap();
    let python = ansible::repo_root().join(".venv/bin/python3");
    let group_vars = LAB_GROUP_VARS.replace("PYTHON", &python.display().to_string());
    std::fs::write(inv.join("group_vars/OSEv3.yml"), group_vars).unwrap();
    lab.put_keys("/awx/", 300).unwrap();
    let url = |h: &str| lab.host(h).unwrap().client_url();

    // health.yml, with one member down: both ways agree, and agree with etcd.
    lab.kill("etcd3").unwrap();
    lab.wait_healthy(&["etcd1", "etcd2"], WAIT).unwrap();
    let (job, health) = health_both_ways(&mut awx, &inv, false);
    assert_clean(&job);
    assert_eq!(health["quorum"], json!(true), "{health}");
    assert_eq!(health["healthy_voting_members"], json!(2), "{health}");
    let down = health["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["endpoint"] == json!(url("etcd3")))
        .unwrap();
    assert_eq!(down["healthy"], json!(false), "{health}");
    lab.start("etcd3").unwrap();
    lab.wait_healthy(&["etcd3"], WAIT).unwrap();
    eprintln!("health: {:?}", started.elapsed());

    // backup.yml: a bundle on every host, one snapshot holding the keys.
    let job = launch(&mut awx, "backup", json!({}), &inv);
    assert_clean(&job);
    let mut snapshots = Vec::new();
    for h in ["etcd1", "etcd2", "etcd3"] {
        let b = bundles(&lab, h);
        assert_eq!(b.len(), 1, "{h}: {b:?}");
        let m: Value =
            serde_json::from_slice(&std::fs::read(b[0].join("MANIFEST.json")).unwrap()).unwrap();
        if let Some(file) = m["snapshot"]["file"].as_str() {
            snapshots.push(b[0].join(file));
        }
    }
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    let snapshot = snapshots.pop().unwrap();
    let status = lab
        .etcdctl([
            "snapshot",
            "status",
            "-w",
            "json",
            snapshot.to_str().unwrap(),
        ])
        .unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(status["totalKey"].as_u64().unwrap() >= 300, "{status}");
    eprintln!("backup: {:?}", started.elapsed());

    // remove-member.yml: a wrong confirmation is refused with nothing changed ...
    let job = launch(
        &mut awx,
        "remove-member",
        json!({"etcd_remove_host": "etcd3", "etcd_confirm": "etcd2"}),
        &inv,
    );
    assert!(!job.successful(), "{}", job.describe());
    assert_eq!(
        job.counter("failures").get("etcd1"),
        Some(&1),
        "{}",
        job.describe()
    );
    let refusal = job.result(CONFIRM_TASK, "runner_on_failed").unwrap();
    assert!(
        refusal["msg"].as_str().unwrap().contains("type etcd3"),
        "{refusal}"
    );
    assert_eq!(member_names(&lab), ["etcd1", "etcd2", "etcd3"]);
    assert!(lab.is_healthy("etcd3").unwrap());
    // ... the right one removes the member everywhere.
    let job = launch(
        &mut awx,
        "remove-member",
        json!({"etcd_remove_host": "etcd3", "etcd_confirm": "etcd3"}),
        &inv,
    );
    assert_clean(&job);
    assert_eq!(member_names(&lab), ["etcd1", "etcd2"]);
    assert!(!lab.is_running("etcd3").unwrap());
    let e3 = lab.host("etcd3").unwrap().data_dir();
    assert!(
        !e3.join("member").exists(),
        "etcd3's data dir is moved aside"
    );
    assert!(!master_urls(&lab, "etcd1").contains(&url("etcd3")));
    inventory_group(&inv, "etcd3", "etcd", "absent");
    eprintln!("remove-member: {:?}", started.elapsed());

    // scaleup.yml: etcd4 of [new_etcd] joins; an odd count is required and met.
    let job = launch(
        &mut awx,
        "scaleup",
        json!({"etcd_require_odd": "true"}),
        &inv,
    );
    assert_clean(&job);
    assert_eq!(member_names(&lab), ["etcd1", "etcd2", "etcd4"]);
    assert!(lab.is_healthy("etcd4").unwrap());
    assert!(master_urls(&lab, "etcd1").contains(&url("etcd4")));
    assert_eq!(lab.count_keys("/awx/").unwrap(), 300);
    inventory_group(&inv, "etcd4", "etcd", "present");
    inventory_group(&inv, "etcd4", "new_etcd", "absent");
    eprintln!("scaleup: {:?}", started.elapsed());

    // Quorum lost: health.yml fails the same way both ways when asked to, restore-quorum.yml
    // brings every member back with every key.
    lab.put_keys("/late/", 100).unwrap();
    lab.kill("etcd2").unwrap();
    lab.kill("etcd4").unwrap();
    wait_until_not_leader(&lab, "etcd1");
    let (job, health) = health_both_ways(&mut awx, &inv, true);
    assert_eq!(health["quorum"], json!(false), "{health}");
    assert_eq!(
        job.counter("failures").get("etcd1"),
        Some(&1),
        "{}",
        job.describe()
    );
    let failed = job
        .result(
            "Fail when quorum is lost and the run asked for it",
            "runner_on_failed",
        )
        .unwrap();
    assert!(
        failed["msg"].as_str().unwrap().starts_with("QUORUM LOST"),
        "{failed}"
    );
    let job = launch(&mut awx, "restore-quorum", json!({}), &inv);
    assert_clean(&job);
    assert_eq!(member_names(&lab), ["etcd1", "etcd2", "etcd4"]);
    for h in ["etcd1", "etcd2", "etcd4"] {
        assert!(lab.is_healthy(h).unwrap(), "{h}");
    }
    assert_eq!(lab.count_keys("/awx/").unwrap(), 300);
    assert_eq!(lab.count_keys("/late/").unwrap(), 100);
    eprintln!("restore-quorum: {:?}", started.elapsed());

    // The break-glass template: forcing a restore of a healthy cluster without naming the
    // survivor is refused, and the cluster is left as it was.
    let ids: Vec<u64> = lab.member_ids();
    let job = launch(
        &mut awx,
        "restore-quorum-force",
        json!({"etcd_force_restore": "true", "etcd_confirm": "yes"}),
        &inv,
    );
    assert!(!job.successful(), "{}", job.describe());
    let refusal = job.result(CONFIRM_TASK, "runner_on_failed").unwrap();
    let msg = refusal["msg"].as_str().unwrap();
    assert!(
        msg.contains("although it has quorum") && msg.contains("type etcd"),
        "{msg}"
    );
    let ids_after: Vec<u64> = lab.member_ids();
    assert_eq!(ids_after, ids);
    for h in ["etcd1", "etcd2", "etcd4"] {
        assert!(lab.is_healthy(h).unwrap(), "{h}");
    }

    // restore-snapshot.yml with the backup's snapshot: the cluster goes back to it.
    let name = snapshot.file_name().unwrap().to_string_lossy().into_owned();
    let job = launch(
        &mut awx,
        "restore-snapshot",
        json!({"etcd_snapshot_file": snapshot, "etcd_confirm": name}),
        &inv,
    );
    assert_clean(&job);
    assert_eq!(member_names(&lab), ["etcd1", "etcd2", "etcd4"]);
    assert_eq!(lab.count_keys("/awx/").unwrap(), 300);
    assert_eq!(
        lab.count_keys("/late/").unwrap(),
        0,
        "written after the snapshot"
    );
    let restarts = std::fs::read_to_string(lab.host("etcd1").unwrap().restarts_log()).unwrap();
    assert!(
        restarts.contains("etcd1 api stopped") && restarts.contains("etcd1 api started"),
        "{restarts}"
    );
    eprintln!("restore-snapshot: {:?}", started.elapsed());
}
