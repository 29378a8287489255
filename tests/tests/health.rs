//! etcd_health against a real 3-member TLS lab in its three states (all up, one member
//! killed, two killed), through real Ansible: the module ad hoc, and health.yml.

use lab::ansible::{self, Run};
use lab::{Lab, LabOptions};
use serde_json::{json, Value};

fn health_args(lab: &Lab) -> Value {
    lab.conn_args(3)
}

fn health(lab: &Lab, args: &Value, extra: &[&str]) -> (Value, Run) {
    ansible::module(&lab.inventory_path(), "etcd1", "etcd_health", args, extra)
}

/// The task failed, its message starting with `prefix`.
fn assert_fails_with(v: &Value, run: &Run, prefix: &str) {
    assert!(!run.ok(), "{v}");
    let msg = v["msg"].as_str().unwrap_or_default();
    assert!(msg.starts_with(prefix), "{v}");
}

fn names_of_healthy(v: &Value) -> Vec<String> {
    let members = v["members"].as_array().cloned().unwrap_or_default();
    let mut names: Vec<String> = v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["healthy"] == json!(true))
        .filter_map(|e| {
            members
                .iter()
                .find(|m| m["id"] == e["member_id"])
                .and_then(|m| m["name"].as_str().map(String::from))
        })
        .collect();
    names.sort();
    names
}

#[test]
fn verdicts_follow_the_cluster_through_member_loss() {
    let lab = Lab::up(LabOptions::default()).expect("lab up");
    let args = health_args(&lab);

    // All up.
    let (v, run) = health(&lab, &args, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(false));
    assert_eq!(v["quorum"], json!(true), "{v}");
    assert_eq!(v["voting_members"], json!(3));
    assert_eq!(v["healthy_voting_members"], json!(3));
    assert_eq!(v["quorum_size"], json!(2));
    let etcd_members = lab.member_list().expect("member list");
    let leader = v["leader"].as_str().expect("a leader");
    assert!(
        etcd_members.iter().any(|m| format!("{:x}", m.id) == leader),
        "leader {leader} is one of etcd's members"
    );
    let mut names: Vec<&str> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["etcd1", "etcd2", "etcd3"]);
    for m in v["members"].as_array().unwrap() {
        assert_eq!(m["started"], json!(true));
        assert_eq!(m["is_learner"], json!(false));
        assert!(m["peer_urls"][0]
            .as_str()
            .unwrap()
            .starts_with("https://127.0."));
        assert_eq!(
            m["id"].as_str().unwrap(),
            m["id"].as_str().unwrap().to_lowercase()
        );
    }
    for e in v["endpoints"].as_array().unwrap() {
        assert_eq!(e["healthy"], json!(true), "{e}");
        assert_eq!(e["version"], json!("3.4.23"));
        assert!(e["raft_applied_index"].as_u64().unwrap() > 0);
        assert!(e["db_size"].as_u64().unwrap() > 0);
    }
    assert_eq!(
        v["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["is_leader"] == json!(true))
            .count(),
        1
    );
    assert_eq!(v["alarms"], json!([]));
    assert_eq!(names_of_healthy(&v), ["etcd1", "etcd2", "etcd3"]);

    // One member killed: still quorum, the dead endpoint is data, not a failure.
    lab.kill("etcd3").expect("kill etcd3");
    // etcd3 may have led: the verdict below is about a settled cluster.
    lab.wait_healthy(&["etcd1", "etcd2"], std::time::Duration::from_secs(30))
        .unwrap();
    let (v, run) = health(&lab, &args, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["quorum"], json!(true), "{v}");
    assert_eq!(v["voting_members"], json!(3));
    assert_eq!(v["healthy_voting_members"], json!(2));
    assert_eq!(names_of_healthy(&v), ["etcd1", "etcd2"]);
    let dead = &v["endpoints"][2];
    assert_eq!(dead["healthy"], json!(false));
    assert!(
        dead["error"]
            .as_str()
            .unwrap()
            .contains("Connection refused"),
        "{dead}"
    );

    // Waiting for a member that stays down ends in a failure naming what was seen.
    let mut ask = args.clone();
    ask["endpoints"] = json!([lab.host("etcd3").unwrap().client_url()]);
    ask["wait"] = json!(1);
    let (v, run) = health(&lab, &ask, &[]);
    assert_fails_with(
        &v,
        &run,
        "no endpoint became healthy within 1 s: QUORUM UNKNOWN",
    );
    ask["wait"] = json!(-1);
    let (v, run) = health(&lab, &ask, &[]);
    assert_fails_with(&v, &run, "wait must be 0..=3600 seconds, got -1");

    // Which member runs on which host, the dead one's too (the member list still has it): by
    // peer URL over a wrong name, by the short name of an FQDN no other host shares, none for a
    // host with no member; a member two hosts would claim goes to neither.
    assert_eq!(v["hosts"], Value::Null, "only when asked: {v}");
    let id_of = |v: &Value, name: &str| {
        v["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()["id"]
            .clone()
    };
    let mut ask = args.clone();
    let etcd1_peer = lab.host("etcd1").unwrap().peer_url();
    ask["hosts"] = json!([
        {"host": "etcd1", "peer_urls": [etcd1_peer], "names": ["etcd2"], "name_known": true},
        {"host": "etcd3.example.com", "names": ["etcd3.example.com"]},
        {"host": "spare", "names": ["spare"], "name_known": true},
    ]);
    let (v, run) = health(&lab, &ask, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(
        v["hosts"]["etcd1"]["member"]["id"],
        id_of(&v, "etcd1"),
        "{v}"
    );
    assert_eq!(v["hosts"]["etcd1"]["matched_by"], json!("peer_url"));
    assert_eq!(
        v["hosts"]["etcd3.example.com"]["member"]["id"],
        id_of(&v, "etcd3")
    );
    assert_eq!(
        v["hosts"]["etcd3.example.com"]["matched_by"],
        json!("short_name")
    );
    assert_eq!(v["hosts"]["spare"]["member"], Value::Null);
    let etcd3_id = id_of(&v, "etcd3");
    assert_eq!(
        v["member_hosts"][etcd3_id.as_str().unwrap()],
        json!("etcd3.example.com")
    );
    ask["hosts"] = json!([
        {"host": "a", "names": ["etcd2"], "name_known": true},
        {"host": "b", "names": ["x", "etcd2"], "name_known": true},
    ]);
    let (v, run) = health(&lab, &ask, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["hosts"]["a"]["member"], Value::Null, "{v}");
    assert_eq!(v["hosts"]["b"]["member"], Value::Null);
    assert!(
        v["hosts"]["a"]["problem"]
            .as_str()
            .unwrap()
            .contains("matches hosts a, b"),
        "{v}"
    );
    assert_eq!(v["member_hosts"], json!({}));
    ask["hosts"] = json!([{"host": "a", "peer": "https://x:2380"}]);
    let (v, run) = health(&lab, &ask, &[]);
    assert_fails_with(&v, &run, "hosts[0]: unknown key \"peer\"");

    // Before a rolling restart: stopping a healthy member now would lose quorum, stopping the
    // dead one would not; the check fails the task only with fail_on_quorum_loss.
    let mut ask = args.clone();
    ask["stopping"] = json!(["etcd2"]);
    let (v, run) = health(&lab, &ask, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(
        v["after_stopping"],
        json!({"stopping": ["etcd2"], "healthy_voting_members": 1, "quorum_size": 2, "quorum": false})
    );
    ask["fail_on_quorum_loss"] = json!(true);
    let (v, run) = health(&lab, &ask, &[]);
    assert!(!run.ok(), "{v}");
    assert!(
        v["msg"].as_str().unwrap().ends_with(
            "with etcd2 stopped: 1 healthy voting members, quorum needs 2 (QUORUM WOULD BE LOST)"
        ),
        "{v}"
    );
    let etcd3_url = lab.host("etcd3").unwrap().client_url();
    ask["stopping"] = json!([etcd3_url]);
    let (v, run) = health(&lab, &ask, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["after_stopping"]["quorum"], json!(true), "{v}");
    assert_eq!(v["after_stopping"]["stopping"], json!(["etcd3"]));
    ask["stopping"] = json!(["etcd9"]);
    let (v, run) = health(&lab, &ask, &[]);
    assert_fails_with(
        &v,
        &run,
        "stopping: `etcd9` is neither the name nor a client URL of any member",
    );

    // Two killed: quorum lost, plainly said; the survivor still reports its raft state.
    lab.kill("etcd2").expect("kill etcd2");
    let (v, run) = health(&lab, &args, &[]);
    assert!(
        run.ok(),
        "quorum loss is not a failure by default: {}",
        run.describe()
    );
    assert_eq!(v["quorum"], json!(false), "{v}");
    assert_eq!(v["healthy_voting_members"], json!(0));
    assert_eq!(
        v["voting_members"],
        json!(3),
        "the survivor still lists all three"
    );
    assert_eq!(v["leader"], Value::Null);
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .starts_with("QUORUM LOST: 0 of 3"),
        "{v}"
    );
    assert!(v["endpoints"][0]["raft_applied_index"].as_u64().unwrap() > 0);

    let mut failing = args.clone();
    failing["fail_on_quorum_loss"] = json!(true);
    let (v, run) = health(&lab, &failing, &[]);
    assert!(!run.ok(), "{}", run.describe());
    assert!(run.stdout.contains("FAILED!"), "{}", run.describe());
    assert!(v["msg"].as_str().unwrap().starts_with("QUORUM LOST"), "{v}");
    assert_eq!(
        v["quorum"],
        json!(false),
        "the report comes with the failure"
    );

    // Check mode runs the read-only module and reports the same verdict.
    let (v, run) = health(&lab, &args, &["--check"]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["quorum"], json!(false));
}

#[test]
fn health_playbook_shows_the_table_and_can_require_quorum() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    let inv = lab.inventory_path();

    let run = ansible::playbook(&inv, "playbooks/health.yml", &[]);
    assert!(run.ok(), "{}", run.describe());
    assert!(
        run.stdout
            .contains("quorum ok: 3 of 3 voting members healthy"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("ENDPOINT"), "{}", run.stdout);
    assert_eq!(run.total("changed"), 0);
    let check = ansible::playbook(&inv, "playbooks/health.yml", &["--check"]);
    assert!(check.ok(), "{}", check.describe());
    assert!(check.stdout.contains("quorum ok"), "{}", check.stdout);

    lab.kill("etcd1").unwrap();
    lab.kill("etcd2").unwrap();
    let run = ansible::playbook(&inv, "playbooks/health.yml", &[]);
    assert!(run.ok(), "{}", run.describe());
    assert!(run.stdout.contains("QUORUM LOST"), "{}", run.stdout);
    assert!(run.stdout.contains("UNHEALTHY"), "{}", run.stdout);
    let strict = ansible::playbook(
        &inv,
        "playbooks/health.yml",
        &["-e", "etcd_health_require_quorum=true"],
    );
    assert!(!strict.ok(), "{}", strict.describe());
    assert_eq!(strict.total("failed"), 1);
}

/// The leader killed mid-run is an election, not a loss; a majority killed is a loss, proven
/// from the survivor's "no leader" and the peers that take no connection, not by waiting out
/// the health read.
#[test]
fn an_election_is_not_quorum_loss_and_a_lost_majority_is_proven_without_waiting() {
    let lab = Lab::up(LabOptions::default()).expect("lab up");
    let mut args = health_args(&lab);
    // Long enough for any election; the loss below must not need it.
    args["timeout"] = json!(10);
    let (v, run) = health(&lab, &args, &[]);
    assert!(run.ok(), "{}", run.describe());
    let leader_id = v["leader"].as_str().expect("a leader").to_string();
    let leader = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == json!(leader_id))
        .and_then(|m| m["name"].as_str())
        .expect("the leader is a member")
        .to_string();
    let proof = "quorum cannot form";

    // Asked at once: the others have no leader until they elect one, and one member down of
    // three is no proof; the reads wait for the election and succeed.
    lab.kill(&leader).expect("kill the leader");
    let (v, run) = health(&lab, &args, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert!(!v.to_string().contains(proof), "{v}");
    assert_eq!(v["quorum"], json!(true), "{v}");
    assert_eq!(v["healthy_voting_members"], json!(2), "{v}");

    let second = ["etcd1", "etcd2", "etcd3"]
        .into_iter()
        .find(|n| *n != leader)
        .unwrap();
    lab.kill(second).expect("kill a second member");
    let (v, run) = health(&lab, &args, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["quorum"], json!(false), "{v}");
    let mut down = [leader.as_str(), second];
    down.sort();
    let survivor = v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["version"].is_string())
        .expect("the survivor reports its status");
    let error = survivor["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&format!(
            "no leader, and {proof}: 2 of 3 voting members ({}, {}) take no connection at their peer URLs",
            down[0], down[1]
        )),
        "{survivor}"
    );
    // What the other endpoints say stays theirs: nothing listens there.
    for e in v["endpoints"].as_array().unwrap() {
        if e != survivor {
            assert!(
                e["error"].as_str().unwrap().contains("Connection refused"),
                "{e}"
            );
        }
    }
}
