//! The etcd versions OpenShift 3.x ran (RHEL 7's 3.3.11, openshift-ansible 3.11's 3.2.32), built
//! by `make legacy-etcd`: etcd_health reports them without the fields they lack, and
//! etcd_member adds a voting member (no learners there) only when every member is healthy.
//! A missing build fails the test with the command to run; nothing here passes by running 3.4.

use confedit::envfile::EnvFile;
use lab::ansible::{self, Run};
use lab::{EtcdBuild, Lab, LabOptions};
use serde_json::{json, Value};
use std::time::Duration;

fn legacy_lab(version: &str, spares: usize) -> Lab {
    let etcd = EtcdBuild::legacy(version).unwrap_or_else(|e| panic!("{e}"));
    Lab::up(LabOptions {
        spares,
        etcd,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("lab on etcd {version}: {e}"))
}

fn args(lab: &Lab, extra: Value) -> Value {
    // etcd refuses adds until its leader has seen every member for 5s; a fresh lab is younger.
    let mut a = lab.conn_args(15);
    for (k, v) in extra.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

fn module(lab: &Lab, name: &str, args: &Value, flags: &[&str]) -> (Value, Run) {
    ansible::module(&lab.inventory_path(), "etcd1", name, args, flags)
}

fn health_reports_version_quorum_and_no_applied_index(version: &str) {
    let lab = legacy_lab(version, 0);
    // The lab really runs the legacy build: its own etcd says so.
    let out = std::process::Command::new(&lab.etcd_build().etcd)
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("etcd Version: {version}")),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let a = args(&lab, json!({"timeout": 3}));
    let (v, run) = module(&lab, "etcd_health", &a, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["quorum"], json!(true), "{v}");
    assert_eq!(v["voting_members"], json!(3));
    assert_eq!(v["healthy_voting_members"], json!(3));
    assert_eq!(v["quorum_size"], json!(2));
    assert!(v["leader"].is_string(), "{v}");
    assert_eq!(v["mixed_versions"], json!(false), "{v}");
    assert_eq!(v["learners_supported"], json!(false), "{v}");
    assert_eq!(
        v["versions"],
        json!({ version: ["etcd1", "etcd2", "etcd3"] }),
        "{v}"
    );
    for e in v["endpoints"].as_array().unwrap() {
        assert_eq!(e["healthy"], json!(true), "{e}");
        assert_eq!(e["version"], json!(version), "{e}");
        // Not reported before 3.4: absent, not a zero that reads as "applied nothing".
        assert_eq!(e["raft_applied_index"], Value::Null, "{e}");
        assert_eq!(e["is_learner"], Value::Null, "{e}");
        assert!(e["raft_index"].as_u64().unwrap() > 0, "{e}");
        assert!(e["db_size"].as_u64().unwrap() > 0, "{e}");
    }
    for m in v["members"].as_array().unwrap() {
        assert_eq!(m["is_learner"], json!(false), "{m}");
        assert_eq!(m["started"], json!(true), "{m}");
    }
    let table = v["table"].as_array().unwrap();
    assert!(
        table[1..]
            .iter()
            .all(|row| row.as_str().unwrap().contains(version)),
        "{v}"
    );

    // One member down: the verdict is still right without the 3.4 fields.
    lab.kill("etcd3").unwrap();
    lab.wait_healthy(&["etcd1", "etcd2"], Duration::from_secs(30))
        .unwrap();
    let (v, run) = module(&lab, "etcd_health", &a, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["quorum"], json!(true), "{v}");
    assert_eq!(v["healthy_voting_members"], json!(2), "{v}");
    lab.kill("etcd2").unwrap();
    let (v, run) = module(&lab, "etcd_health", &a, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["quorum"], json!(false), "{v}");
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .starts_with("QUORUM LOST: 0 of 3"),
        "{v}"
    );
}

#[test]
fn etcd_health_on_3_3_11() {
    health_reports_version_quorum_and_no_applied_index("3.3.11");
}

#[test]
fn etcd_health_on_3_2_32() {
    health_reports_version_quorum_and_no_applied_index("3.2.32");
}

/// Writes what etcd_member returned into the host's etcd.conf, as scaleup.yml does.
fn write_env(lab: &Lab, host: &str, env: &Value) {
    let path = lab.host(host).unwrap().etcd_conf();
    let mut conf = EnvFile::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for key in [
        "ETCD_NAME",
        "ETCD_INITIAL_CLUSTER",
        "ETCD_INITIAL_CLUSTER_STATE",
    ] {
        conf.set(key, env[key].as_str().unwrap()).unwrap();
    }
    std::fs::write(&path, conf.render()).unwrap();
}

#[test]
fn etcd_member_on_3_3_11_adds_a_voting_member_only_when_all_are_healthy() {
    let lab = legacy_lab("3.3.11", 1);
    let new = lab.host("etcd4").unwrap().clone();
    let want = json!({"name": "etcd4", "peer_urls": [new.peer_url()]});

    // With a member down the voting add is refused, with the arithmetic, and nothing changes.
    lab.kill("etcd3").unwrap();
    lab.wait_healthy(&["etcd1", "etcd2"], Duration::from_secs(30))
        .unwrap();
    let (v, run) = module(&lab, "etcd_member", &args(&lab, want.clone()), &[]);
    assert!(!run.ok(), "{}", run.describe());
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.contains("etcd 3.3.11 has no learners"), "{msg}");
    assert!(
        msg.contains("4 voting members needing 3 for quorum with 2 of them healthy"),
        "{msg}"
    );
    assert!(msg.contains("remove dead members first"), "{msg}");
    assert_eq!(lab.member_list().unwrap().len(), 3);
    lab.start("etcd3").unwrap();
    lab.wait_healthy(&["etcd3"], Duration::from_secs(30))
        .unwrap();

    // A learner is refused outright, even with force: 3.3 would add a voting member instead.
    let mut as_learner = args(&lab, want.clone());
    as_learner["learner"] = json!(true);
    as_learner["force"] = json!(true);
    let (v, run) = module(&lab, "etcd_member", &as_learner, &[]);
    assert!(!run.ok(), "{}", run.describe());
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("learners need etcd >= 3.4 on every member, and the members report 3.3.11"),
        "{v}"
    );
    assert_eq!(lab.member_list().unwrap().len(), 3);

    // Check mode says what it would do, and that the learner steps are skipped.
    let (v, run) = module(&lab, "etcd_member", &args(&lab, want.clone()), &["--check"]);
    assert!(run.ok(), "{}", run.describe());
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.starts_with("would add voting member etcd4"), "{msg}");
    assert!(
        msg.contains("the learner and promote steps are skipped"),
        "{msg}"
    );
    assert_eq!(v["learners_supported"], json!(false));

    // All healthy: added as a voting member (etcd3 reconnected just now: "unhealthy cluster"
    // for 5 s is retried within the timeout).
    let (v, run) = module(&lab, "etcd_member", &args(&lab, want.clone()), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(true));
    assert_eq!(v["member"]["is_learner"], json!(false), "{v}");
    assert_eq!(v["member"]["started"], json!(false), "{v}");
    let listed = lab.member_list().unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed
        .iter()
        .any(|m| !m.is_learner && m.peer_urls == [new.peer_url()]));

    // Started from the returned env, it joins.
    write_env(&lab, "etcd4", &v["env"]);
    lab.start("etcd4").unwrap();
    lab.wait_healthy(&["etcd4"], Duration::from_secs(60))
        .unwrap();
    let (v, run) = module(
        &lab,
        "etcd_health",
        &args(
            &lab,
            json!({"timeout": 3, "endpoints": [
                lab.host("etcd1").unwrap().client_url(),
                new.client_url(),
            ]}),
        ),
        &[],
    );
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["voting_members"], json!(4), "{v}");
    assert_eq!(v["healthy_voting_members"], json!(4), "{v}");

    // Promoting a voting member of a 3.3 cluster is a no-op that says why.
    let mut promote = args(&lab, want.clone());
    promote["state"] = json!("promoted");
    let (v, run) = module(&lab, "etcd_member", &promote, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(false), "{v}");
    assert!(
        v["msg"].as_str().unwrap().contains("nothing to promote"),
        "{v}"
    );

    // Re-running the add is unchanged; removing the spare again leaves the three.
    let (v, run) = module(&lab, "etcd_member", &args(&lab, want.clone()), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(false), "{v}");
    lab.stop("etcd4").unwrap();
    let mut absent = args(&lab, want.clone());
    absent["state"] = json!("absent");
    let (v, run) = module(&lab, "etcd_member", &absent, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(true), "{v}");
    let mut names: Vec<String> = lab
        .member_list()
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    names.sort();
    assert_eq!(names, ["etcd1", "etcd2", "etcd3"]);
    let (v, run) = module(&lab, "etcd_member", &absent, &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(false), "{v}");
}

#[test]
fn a_3_4_member_in_a_3_3_cluster_is_reported_mixed_and_learners_stay_refused() {
    let lab = legacy_lab("3.3.11", 1);
    let new = lab.host("etcd4").unwrap().clone();
    let want = json!({"name": "etcd4", "peer_urls": [new.peer_url()]});
    let (v, run) = module(&lab, "etcd_member", &args(&lab, want.clone()), &[]);
    assert!(run.ok(), "{}", run.describe());
    write_env(&lab, "etcd4", &v["env"]);
    // The host upgraded first runs the system's 3.4, as in a rolling upgrade.
    let system = EtcdBuild::default();
    lab::process::start_with(&new, &system.etcd).unwrap();
    lab.wait_healthy(&["etcd4"], Duration::from_secs(60))
        .unwrap();

    let mut endpoints = lab.endpoints();
    endpoints.push(new.client_url());
    let (v, run) = module(
        &lab,
        "etcd_health",
        &args(&lab, json!({"timeout": 3, "endpoints": endpoints})),
        &[],
    );
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["mixed_versions"], json!(true), "{v}");
    assert_eq!(
        v["versions"],
        json!({"3.3.11": ["etcd1", "etcd2", "etcd3"], "3.4.23": ["etcd4"]}),
        "{v}"
    );
    assert_eq!(v["learners_supported"], json!(false), "{v}");
    assert_eq!(v["quorum"], json!(true), "{v}");
    // Ansible prints a module's warnings rather than passing them on in the result.
    let printed = format!("{}{}", run.stdout, run.stderr);
    assert!(
        printed.contains("mixed etcd versions: 3.3.11 on etcd1, etcd2, etcd3; 3.4.23 on etcd4"),
        "{}",
        run.describe()
    );

    // A learner needs 3.4 everywhere: refused while the cluster is mixed.
    let mut learner = args(
        &lab,
        json!({"name": "etcd9", "peer_urls": ["https://127.0.0.1:2390"]}),
    );
    learner["learner"] = json!(true);
    let (v, run) = module(&lab, "etcd_member", &learner, &[]);
    assert!(!run.ok(), "{}", run.describe());
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("the members report 3.3.11, 3.4.23"),
        "{v}"
    );
    assert_eq!(lab.member_list().unwrap().len(), 4);
}
