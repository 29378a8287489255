//! etcd_unit's start and stop on a real systemd machine over SSH: a unit that a crash loop left
//! failed (its start limit hit, so a plain `systemctl start` is refused) is reset and started,
//! a start that fails is reported at once with the unit's log, not after the whole timeout;
//! stop, check mode and the state-only query change what they say and nothing else.

use lab::{ansible, Lab, LabOptions};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// etcd_unit on etcd1: its result, with `failed` set as Ansible reported the task.
fn unit(lab: &Lab, args: Value, extra: &[&str]) -> Value {
    let (mut v, run) = ansible::module(&lab.inventory_path(), "etcd1", "etcd_unit", &args, extra);
    assert!(run.code == 0 || run.code == 2, "{}", run.describe());
    v["failed"] = json!(!run.ok());
    v
}

fn active_state(lab: &Lab) -> String {
    lab.machine("etcd1")
        .unwrap()
        .exec_ok(&["systemctl", "show", "-p", "ActiveState", "--value", "etcd"])
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn a_failed_unit_is_reset_and_started_and_a_failing_start_is_reported_at_once() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    let m = lab.machine("etcd1").unwrap();
    let host = lab.host("etcd1").unwrap().clone();
    let start = json!({
        "state": "started",
        "listen_host": host.ip.to_string(),
        "listen_port": 2379,
        "timeout": 60,
    });

    // etcd cannot bind an address this machine does not have: each start fails, systemd
    // restarts it (Restart=on-failure) until its start limit, and leaves the unit failed.
    let conf = std::fs::read_to_string(host.etcd_conf()).unwrap();
    let broken = format!("{conf}\nETCD_LISTEN_PEER_URLS=https://10.255.255.1:2380\n");
    m.exec_ok(&["systemctl", "stop", "etcd"]).unwrap();
    std::fs::write(host.etcd_conf(), &broken).unwrap();
    let _ = m.exec(&["systemctl", "start", "etcd"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while active_state(&lab) != "failed" {
        assert!(Instant::now() < deadline, "the unit never failed");
        std::thread::sleep(Duration::from_millis(200));
    }
    let plain = m.exec(&["systemctl", "start", "etcd"]).unwrap();
    assert!(
        !plain.status.success(),
        "a plain start of a unit past its start limit is refused"
    );

    // Still broken: the task resets and starts it, the start fails, and the task says so
    // long before its 60 s.
    let t = Instant::now();
    let v = unit(&lab, start.clone(), &[]);
    assert_eq!(v["failed"], json!(true), "{v}");
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.contains("etcd failed while starting"), "{msg}");
    assert!(t.elapsed() < Duration::from_secs(45), "{:?}", t.elapsed());
    assert_eq!(active_state(&lab), "failed");

    // Mended: the failed unit is reset and started, and etcd rejoins its cluster.
    std::fs::write(host.etcd_conf(), &conf).unwrap();
    let v = unit(&lab, json!({"state": "started"}), &["--check"]);
    assert_eq!(v["changed"], json!(true), "{v}");
    assert_eq!(v["msg"], json!("would start etcd (now failed)"));
    assert_eq!(active_state(&lab), "failed");
    let v = unit(&lab, start.clone(), &[]);
    assert_eq!(v["changed"], json!(true), "{v}");
    assert_eq!(v["active_state_before"], json!("failed"));
    lab.wait_healthy(&["etcd1", "etcd2", "etcd3"], Duration::from_secs(30))
        .unwrap();
    let v = unit(&lab, start, &[]);
    assert_eq!(v["changed"], json!(false), "{v}");
    let v = unit(&lab, json!({"name": "etcd"}), &[]);
    assert_eq!(
        (v["changed"].clone(), v["runs"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(v.get("listens"), None, "only reported when asked: {v}");
    // The query, given the client address, says whether anything takes a connection there,
    // asked from the machine itself.
    let ask = |port: u16| json!({"name": "etcd", "listen_host": host.ip.to_string(), "listen_port": port, "timeout": 2});
    let v = unit(&lab, ask(2379), &[]);
    assert_eq!(
        (v["runs"].clone(), v["listens"].clone()),
        (json!(true), json!(true)),
        "{v}"
    );
    let v = unit(&lab, ask(2390), &[]);
    assert_eq!(
        (v["runs"].clone(), v["listens"].clone()),
        (json!(true), json!(false)),
        "{v}"
    );

    // Stopped once; a second stop changes nothing.
    let v = unit(&lab, json!({"state": "stopped"}), &[]);
    assert_eq!(v["changed"], json!(true), "{v}");
    assert!(!lab.is_running("etcd1").unwrap());
    let v = unit(&lab, json!({"state": "stopped"}), &[]);
    assert_eq!(v["changed"], json!(false), "{v}");
    let v = unit(&lab, json!({"name": "etcd"}), &[]);
    assert_eq!(v["runs"], json!(false), "{v}");
    let v = unit(&lab, ask(2379), &[]);
    assert_eq!(
        (v["runs"].clone(), v["listens"].clone()),
        (json!(false), json!(false)),
        "{v}"
    );

    let v = unit(&lab, json!({"name": "no-such-etcd"}), &[]);
    assert_eq!(v["failed"], json!(true), "{v}");
    assert!(v["msg"].as_str().unwrap().contains("no such unit"), "{v}");
}
