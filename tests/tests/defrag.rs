//! defrag.yml on machines whose quota is small enough to fill: NOSPACE raised by real writes,
//! cleared by the play (compaction, defragmentation one member at a time, leader last,
//! disarm), every key intact, the cluster writable again; check mode changes nothing; a run
//! cut after its compaction is finished by the next, from an inventory that names no etcd
//! URL; a second run defragments nothing.

use lab::ansible::{self, Run};
use lab::{key_name, value_for, Lab, LabOptions};
use serde_json::Value;

const QUOTA: u64 = 4 * 1024 * 1024;
const KEPT: usize = 200;

/// `etcdctl endpoint status` of every member: (member name by endpoint, db size, is leader).
fn statuses(lab: &Lab) -> Vec<(String, i64, bool)> {
    let out = lab.etcdctl(["endpoint", "status", "-w", "json"]).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let endpoint = e["Endpoint"].as_str().unwrap();
            let host = lab
                .hosts()
                .iter()
                .find(|h| h.client_url() == endpoint)
                .unwrap();
            let s = &e["Status"];
            let id = s["header"]["member_id"].as_u64().unwrap();
            (
                host.name.clone(),
                s["dbSize"].as_i64().unwrap(),
                s["leader"].as_u64() == Some(id),
            )
        })
        .collect()
}

fn alarms(lab: &Lab) -> String {
    let out = lab.etcdctl(["alarm", "list"]).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The result a `-v` run printed for the task named `task` (`changed: [host] => {...}`).
fn task_result(run: &Run, task: &str) -> Value {
    let after = run
        .stdout
        .split(&format!("TASK [{task}]"))
        .nth(1)
        .unwrap_or_else(|| panic!("no task {task:?}: {}", run.describe()));
    // -v prints the result as one line of JSON after the host.
    let start = after.find("=> {").expect("a -v result") + 3;
    let end = after[start..].find('\n').map_or(after.len(), |e| e + start);
    serde_json::from_str(&after[start..end])
        .unwrap_or_else(|e| panic!("{e}: {}", &after[start..end]))
}

const DEFRAG_TASK: &str =
    "Defragment the members, followers first, the leader last, each healthy before the next";

#[test]
fn nospace_is_cleared_leader_last_every_key_intact() {
    let lab = Lab::up(LabOptions {
        quota_backend_bytes: Some(QUOTA),
        ..LabOptions::machines()
    })
    .expect("lab up");
    lab.put_keys("/kept/", KEPT).unwrap();
    // Overwriting one key keeps every old value until a compaction: the quota fills with history.
    let puts = lab.fill_until_nospace("/churn", 256 * 1024, 200).unwrap();
    assert!(alarms(&lab).contains("NOSPACE"), "puts: {puts}");
    let last_churn = lab.get("/churn").unwrap().unwrap();
    let before = statuses(&lab);
    let leader_before = before.iter().find(|s| s.2).unwrap().0.clone();
    let inv = lab.inventory_path();

    // Check mode: says what it would do, changes nothing.
    let run = ansible::playbook(
        &inv,
        "playbooks/defrag.yml",
        &["--check", "-v", "-e", "etcd_defrag_compact=true"],
    );
    assert!(run.ok(), "{}", run.describe());
    let planned = task_result(&run, DEFRAG_TASK);
    assert_eq!(planned["changed"], true, "{planned}");
    // Under NOSPACE the in-use sizes cannot be planned with: every member, the leader last.
    let would: Vec<&str> = planned["would_defragment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(would.len(), 3, "{planned}");
    assert_eq!(would[2], leader_before, "{planned}");
    assert!(alarms(&lab).contains("NOSPACE"), "check mode disarmed");
    assert!(
        lab.put("/refused", b"x").is_err(),
        "check mode made the cluster writable"
    );

    // A run cut right after its compaction: the step alone, as that run's first task did it.
    let mut args = lab.conn_args(5);
    args["state"] = "compacted".into();
    let (cut, code) = ansible::direct("etcd_maintenance", &args, &[]);
    assert_eq!(code, 0, "{cut}");
    assert_eq!(cut["changed"], true, "{cut}");
    assert!(alarms(&lab).contains("NOSPACE"), "the compaction disarmed");

    // The re-run finds the compaction done, and still defragments every member (the sizes in
    // use lag a compaction under NOSPACE: the lab saw every member report its old figure).
    // Its inventory is openshift-ansible's: no etcd URL, hosts reached at management
    // addresses, so the endpoints and the quota come from each host's etcd.conf.
    let openshift = lab::openshift::fqdn_inventory(&lab, "openshift-fqdn").unwrap();
    let run = ansible::playbook(
        &openshift,
        "playbooks/defrag.yml",
        &["-v", "-e", "etcd_defrag_compact=true"],
    );
    assert!(run.ok(), "{}", run.describe());
    let compacted = task_result(&run, "Compact to the current revision");
    assert_eq!(
        compacted["msg"].as_str().unwrap(),
        format!("already compacted to revision {}", cut["revision"]),
        "{compacted}"
    );
    let done = task_result(&run, DEFRAG_TASK);
    assert!(
        done["msg"]
            .as_str()
            .unwrap()
            .contains("(every member: NOSPACE is active"),
        "{done}"
    );
    // The quota the play judged by is the one in the hosts' etcd.conf.
    for m in done["members"].as_array().unwrap() {
        assert_eq!(m["quota"].as_u64(), Some(QUOTA), "{m}");
    }
    let steps = done["defragmented"].as_array().unwrap();
    let order: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(order.len(), 3, "{done}\ncompaction: {compacted}");
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, ["etcd1", "etcd2", "etcd3"], "{done}");
    // The leader last: as etcd said before the run, and as each step recorded it.
    assert_eq!(order[2], leader_before, "{done}");
    let leaders: Vec<bool> = steps.iter().map(|s| s["was_leader"] == true).collect();
    assert_eq!(leaders, [false, false, true], "{done}");
    for s in steps {
        assert!(
            s["db_size_after"].as_i64().unwrap() < s["db_size_before"].as_i64().unwrap(),
            "{s}"
        );
    }

    // Real outcomes: no alarm, every member's file below the quota, every key intact, writes taken.
    assert!(!alarms(&lab).contains("NOSPACE"), "{}", alarms(&lab));
    for (name, size, _) in statuses(&lab) {
        let was = before.iter().find(|b| b.0 == name).unwrap().1;
        assert!(
            size < QUOTA as i64 / 2 && size < was,
            "{name}: {was} -> {size}"
        );
    }
    assert_eq!(lab.count_keys("/kept/").unwrap(), KEPT as u64);
    for i in 0..KEPT {
        assert_eq!(
            lab.get(&key_name("/kept/", i)).unwrap().as_deref(),
            Some(value_for(i).as_str())
        );
    }
    assert_eq!(lab.get("/churn").unwrap().unwrap(), last_churn);
    lab.put("/writable-again", b"yes").unwrap();
    assert!(run.stdout.contains("disarmed NOSPACE"), "{}", run.stdout);

    // Nothing left to reclaim, no alarm: the maintenance steps change nothing.
    let run = ansible::playbook(&inv, "playbooks/defrag.yml", &["-v"]);
    assert!(run.ok(), "{}", run.describe());
    let again = task_result(&run, DEFRAG_TASK);
    assert_eq!(again["changed"], false, "{again}");
    assert!(
        again["defragmented"].as_array().unwrap().is_empty(),
        "{again}"
    );
    assert_eq!(
        task_result(&run, "Disarm NOSPACE once every member is below its quota")["changed"],
        false
    );
}

/// The module itself, on a process lab: a member down makes a defragmentation refuse, naming
/// it (it could not be defragmented, and blocking another member could cost quorum); without
/// quorum every state refuses.
#[test]
fn maintenance_refuses_a_member_down_and_a_cluster_without_quorum() {
    let lab = Lab::up(LabOptions::default()).expect("lab up");
    let tls = lab.client_tls();
    let args = |state: &str| {
        serde_json::json!({
            "endpoints": lab.endpoints(), "ca_cert": tls.ca, "client_cert": tls.cert,
            "client_key": tls.key, "state": state, "timeout": 2,
        })
    };
    lab.kill("etcd3").unwrap();
    lab.wait_healthy(&["etcd1", "etcd2"], std::time::Duration::from_secs(30))
        .unwrap();
    let (v, code) = ansible::direct("etcd_maintenance", &args("defragmented"), &[]);
    assert_ne!(code, 0, "{v}");
    let msg = v["msg"].as_str().unwrap();
    assert!(
        msg.starts_with("refusing to defragment: etcd3 not healthy"),
        "{msg}"
    );
    let (v, code) = ansible::direct("etcd_maintenance", &args("status"), &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["unhealthy"], serde_json::json!(["etcd3"]), "{v}");

    lab.kill("etcd2").unwrap();
    for state in ["status", "compacted", "defragmented", "disarmed"] {
        let (v, code) = ansible::direct("etcd_maintenance", &args(state), &[]);
        assert_ne!(code, 0, "{state}: {v}");
        let msg = v["msg"].as_str().unwrap();
        assert!(
            msg.starts_with("refusing: the cluster has no quorum (0 of 3 voting members healthy"),
            "{state}: {msg}"
        );
    }
}
