//! etcd_member against real TLS labs through real Ansible: learner add, the new member started
//! from the returned env, promotion, re-runs unchanged, removal of a dead member, every guard
//! rail refused with etcd's member list unchanged, and the localhost peer URL a restore leaves.

use confedit::envfile::EnvFile;
use lab::ansible::{self, Run};
use lab::{Lab, LabOptions, Member};
use serde_json::{json, Value};
use std::time::Duration;

fn base_args(lab: &Lab) -> Value {
    // etcd refuses adds until its leader has seen every member for 5s; a fresh lab is younger.
    lab.conn_args(15)
}

fn member(lab: &Lab, extra: Value, flags: &[&str]) -> (Value, Run) {
    let mut args = base_args(lab);
    for (k, v) in extra.as_object().unwrap() {
        args[k] = v.clone();
    }
    ansible::module(&lab.inventory_path(), "etcd1", "etcd_member", &args, flags)
}

fn members_sorted(lab: &Lab) -> Vec<(String, Vec<String>, bool)> {
    let mut v: Vec<(String, Vec<String>, bool)> = lab
        .member_list()
        .expect("member list")
        .into_iter()
        .map(|m: Member| (m.name, m.peer_urls, m.is_learner))
        .collect();
    v.sort();
    v
}

/// Waits until one member's own member list (served from what it has applied) has `n` entries.
fn wait_until_seen_by(lab: &Lab, host: &str, n: usize) {
    let tls = lab.client_tls();
    let args = json!({
        "endpoints": [lab.host(host).unwrap().client_url()],
        "ca_cert": tls.ca, "client_cert": tls.cert, "client_key": tls.key, "timeout": 2,
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let out = std::process::Command::new(ansible::library().join("etcd_health"))
            .arg("--args")
            .arg(args.to_string())
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let seen = v["members"].as_array().map(|m| m.len()).unwrap_or(0);
        if seen == n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{host} still sees {seen} members"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
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
fn learner_joins_from_returned_env_is_promoted_and_reruns_are_unchanged() {
    let lab = Lab::up(LabOptions {
        spares: 1,
        ..Default::default()
    })
    .expect("lab up");
    let new = lab.host("etcd4").unwrap().clone();
    let want = json!({"name": "etcd4", "peer_urls": [new.peer_url()]});

    // Check mode reports the plan and adds nothing.
    let (v, run) = member(&lab, want.clone(), &["--check"]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(true));
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .starts_with("would add learner etcd4"),
        "{v}"
    );
    assert_eq!(lab.member_list().unwrap().len(), 3);

    let (v, run) = member(&lab, want.clone(), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(true));
    assert_eq!(v["member"]["is_learner"], json!(true));
    assert_eq!(v["member"]["started"], json!(false));
    let listed = lab.member_list().unwrap();
    assert_eq!(listed.len(), 4);
    assert!(listed
        .iter()
        .any(|m| m.is_learner && m.peer_urls == [new.peer_url()]));

    // The env is what etcdctl member add prints: every member, the new one by its name.
    let env = v["env"].clone();
    assert_eq!(env["ETCD_NAME"], json!("etcd4"));
    assert_eq!(env["ETCD_INITIAL_CLUSTER_STATE"], json!("existing"));
    let mut entries: Vec<&str> = env["ETCD_INITIAL_CLUSTER"]
        .as_str()
        .unwrap()
        .split(',')
        .collect();
    entries.sort();
    let mut expected: Vec<String> = lab
        .hosts()
        .iter()
        .map(|h| format!("{}={}", h.name, h.peer_url()))
        .collect();
    expected.sort();
    assert_eq!(entries, expected);

    // Re-running the join before etcd starts finds the unstarted member by peer URL.
    let (v, run) = member(&lab, want.clone(), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(false), "{v}");
    assert_eq!(v["env"], env);

    write_env(&lab, "etcd4", &env);
    lab.start("etcd4").expect("start etcd4");
    // A learner serves no linearizable reads; it has joined once the member list names it.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !lab.member_list().unwrap().iter().any(|m| m.name == "etcd4") {
        assert!(std::time::Instant::now() < deadline, "etcd4 never started");
        std::thread::sleep(Duration::from_millis(200));
    }

    let mut promote = want.clone();
    promote["state"] = json!("promoted");
    promote["timeout"] = json!(30);
    let (v, run) = member(&lab, promote.clone(), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(true));
    assert_eq!(v["member"]["is_learner"], json!(false));
    let after = members_sorted(&lab);
    assert_eq!(after.len(), 4);
    assert!(
        after
            .iter()
            .all(|(name, _, learner)| !learner && !name.is_empty()),
        "{after:?}"
    );

    lab.wait_healthy(&["etcd4"], Duration::from_secs(30))
        .expect("etcd4 healthy as a voter");
    let (v, _) = member(&lab, promote, &[]);
    assert_eq!(v["changed"], json!(false), "promoted again: {v}");
    let (v, _) = member(&lab, want, &[]);
    assert_eq!(v["changed"], json!(false), "present again: {v}");
    assert_eq!(lab.count_keys("/").unwrap(), 0);
    lab.put_keys("/after-join/", 10).unwrap();
    assert_eq!(lab.count_keys("/after-join/").unwrap(), 10);
}

#[test]
fn guard_rails_refuse_and_leave_the_member_list_alone() {
    let lab = Lab::up(LabOptions {
        spares: 2,
        ..Default::default()
    })
    .expect("lab up");
    let before = members_sorted(&lab);
    let e4 = lab.host("etcd4").unwrap().peer_url();
    let e5 = lab.host("etcd5").unwrap().peer_url();
    let e2 = lab.host("etcd2").unwrap().peer_url();

    // A peer URL that belongs to a started member, under another name.
    let (v, run) = member(&lab, json!({"name": "intruder", "peer_urls": [e2]}), &[]);
    assert!(!run.ok());
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("already registered to started member etcd2"),
        "{v}"
    );
    assert_eq!(members_sorted(&lab), before);

    // One pending member at a time: a learner added but never started blocks the next add.
    let (_, run) = member(&lab, json!({"name": "etcd4", "peer_urls": [e4]}), &[]);
    assert!(run.ok(), "{}", run.describe());
    let pending = members_sorted(&lab);
    let (v, run) = member(&lab, json!({"name": "etcd5", "peer_urls": [e5]}), &[]);
    assert!(!run.ok());
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("was added but never started"),
        "{v}"
    );
    assert_eq!(members_sorted(&lab), pending);
    // Removing the failed join by its peer URL clears the way (pitfall 1, docs/procedures.md).
    let (v, run) = member(&lab, json!({"peer_urls": [e4], "state": "absent"}), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(true));
    assert_eq!(members_sorted(&lab), before);

    // With etcd3 dead, a voting add whose failed start would lose quorum.
    lab.kill("etcd3").unwrap();
    // etcd3 may have led: the guard rail below is about a settled two-of-three cluster.
    lab.wait_healthy(&["etcd1", "etcd2"], Duration::from_secs(30))
        .unwrap();
    let (v, run) = member(
        &lab,
        json!({"name": "etcd5", "peer_urls": [e5], "learner": false}),
        &[],
    );
    assert!(!run.ok());
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("4 voting members needing 3 for quorum, and 2 are healthy now"),
        "{v}"
    );
    assert_eq!(members_sorted(&lab), before);

    // Removing a healthy member while another is dead.
    let (v, run) = member(&lab, json!({"name": "etcd2", "state": "absent"}), &[]);
    assert!(!run.ok());
    assert!(
        v["msg"].as_str().unwrap().contains(
            "2 voting members would remain, needing 2 for quorum, and only 1 of them are healthy"
        ),
        "{v}"
    );
    assert_eq!(members_sorted(&lab), before);

    // Removing the dead one is what the procedure does, and is allowed; then it is absent.
    let (v, run) = member(&lab, json!({"name": "etcd3", "state": "absent"}), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(true));
    let names: Vec<String> = members_sorted(&lab).into_iter().map(|m| m.0).collect();
    assert_eq!(names, ["etcd1", "etcd2"]);
    let (v, _) = member(&lab, json!({"name": "etcd3", "state": "absent"}), &[]);
    assert_eq!(v["changed"], json!(false));

    // etcd1 may apply the removal a heartbeat after the leader committed it; let it, so
    // that the survivor below knows the two-member cluster it is part of.
    wait_until_seen_by(&lab, "etcd1", 2);

    // Quorum lost: a change fails fast and says so, even with force.
    lab.kill("etcd2").unwrap();
    let started = std::time::Instant::now();
    let (v, run) = member(
        &lab,
        json!({"name": "etcd5", "peer_urls": [e5], "force": true, "timeout": 2}),
        &[],
    );
    assert!(!run.ok());
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .starts_with("quorum is lost (0 of 2 voting members healthy, 2 needed)"),
        "{v}"
    );
    assert!(started.elapsed() < Duration::from_secs(30), "did not hang");
}

#[test]
fn last_member_is_not_removed() {
    let lab = Lab::up(LabOptions {
        members: 1,
        ..Default::default()
    })
    .expect("lab up");
    let (v, run) = member(&lab, json!({"name": "etcd1", "state": "absent"}), &[]);
    assert!(!run.ok());
    assert!(
        v["msg"].as_str().unwrap().contains("it is the last member"),
        "{v}"
    );
    assert_eq!(lab.member_list().unwrap().len(), 1);
}

#[test]
fn localhost_peer_url_left_by_a_restore_is_corrected_with_member_update() {
    let lab = Lab::up(LabOptions {
        members: 1,
        ..Default::default()
    })
    .expect("lab up");
    lab.put_keys("/kept/", 50).unwrap();
    let host = lab.host("etcd1").unwrap().clone();
    let snap = lab.dir().join("snap.db");
    let out = lab
        .etcdctl(["snapshot", "save", snap.to_str().unwrap()])
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lab.stop("etcd1").unwrap();

    // A restore without --initial-advertise-peer-urls, as many runbooks do it: the member's
    // peer URL becomes http://localhost:2380 (field notes, pitfall 4: docs/procedures.md).
    let data = host.data_dir();
    std::fs::remove_dir_all(&data).unwrap();
    let out = std::process::Command::new(lab::etcdctl_bin())
        .env("ETCDCTL_API", "3")
        .args([
            "snapshot",
            "restore",
            snap.to_str().unwrap(),
            "--name",
            "etcd1",
        ])
        .args(["--initial-cluster", "etcd1=http://localhost:2380"])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lab.start("etcd1").unwrap();
    lab.wait_healthy(&["etcd1"], Duration::from_secs(30))
        .unwrap();
    let listed = lab.member_list().unwrap();
    assert_eq!(listed[0].peer_urls, ["http://localhost:2380"]);

    let want = json!({"name": "etcd1", "peer_urls": [host.peer_url()]});
    let (v, run) = member(&lab, want.clone(), &["--check"]);
    assert!(run.ok(), "{}", run.describe());
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .starts_with("would update peer URLs of etcd1"),
        "{v}"
    );
    assert_eq!(
        lab.member_list().unwrap()[0].peer_urls,
        ["http://localhost:2380"]
    );

    let (v, run) = member(&lab, want.clone(), &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["changed"], json!(true));
    assert_eq!(lab.member_list().unwrap()[0].peer_urls, [host.peer_url()]);
    let (v, _) = member(&lab, want, &[]);
    assert_eq!(v["changed"], json!(false));
    assert_eq!(lab.count_keys("/kept/").unwrap(), 50);
}

#[test]
fn member_with_certificates_from_etcd_cert_joins_over_mutual_tls() {
    let lab = Lab::up(LabOptions {
        spares: 1,
        ..Default::default()
    })
    .expect("lab up");
    let new = lab.host("etcd4").unwrap().clone();
    let ca_dir = lab.host("etcd1").unwrap().ca_dir();
    let certs = new.cert_dir();

    // The lab made a pair for etcd4; take it away so that etcd_cert has to issue one.
    for f in ["server.crt", "server.key", "peer.crt", "peer.key"] {
        std::fs::remove_file(certs.join(f)).unwrap();
    }
    for (usage, base) in [("server", "server"), ("peer", "peer")] {
        // Peers dial from 127.0.0.1 on loopback, and etcd checks a peer's certificate
        // against the source address (tests/README.md).
        let args = json!({
            "ca_cert": ca_dir.join("ca.crt"),
            "ca_key": ca_dir.join("ca.key"),
            "common_name": new.fqdn,
            "subject_alt_names": [format!("IP:{}", new.ip), format!("DNS:{}", new.fqdn), "IP:127.0.0.1"],
            "usage": usage,
            "cert_path": certs.join(format!("{base}.crt")),
            "key_path": certs.join(format!("{base}.key")),
        });
        let (v, run) = ansible::module(&lab.inventory_path(), "etcd1", "etcd_cert", &args, &[]);
        assert!(run.ok(), "{}", run.describe());
        assert_eq!(v["changed"], json!(true), "{v}");
        assert_eq!(v["signed_by_ca"], json!(true), "{v}");
        let text = v.to_string();
        assert!(!text.contains("PRIVATE KEY"), "no key material in results");
    }

    let (v, run) = member(
        &lab,
        json!({"name": "etcd4", "peer_urls": [new.peer_url()]}),
        &[],
    );
    assert!(run.ok(), "{}", run.describe());
    write_env(&lab, "etcd4", &v["env"]);
    lab.start("etcd4").expect("start etcd4");
    let (v, run) = member(
        &lab,
        json!({"name": "etcd4", "state": "promoted", "timeout": 30}),
        &[],
    );
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["member"]["is_learner"], json!(false));
    // Healthy over mutual TLS with the new member's etcd_cert server certificate.
    lab.wait_healthy(&["etcd4"], Duration::from_secs(30))
        .expect("etcd4 healthy with etcd_cert certificates");
    let started: Vec<String> = members_sorted(&lab).into_iter().map(|m| m.0).collect();
    assert_eq!(started, ["etcd1", "etcd2", "etcd3", "etcd4"]);
}
