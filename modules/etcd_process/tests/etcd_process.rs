//! etcd_process through its real binary, on a real etcd listening on loopback (plain HTTP: the
//! module only starts and stops it).

use modtest::{run, TempDir};
use serde_json::{json, Value};
use std::fs;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_etcd_process");
const ETCD: &str = "/usr/bin/etcd";

/// An env file for an etcd of its own on 127.0.0.1, ports derived from our pid so that
/// parallel test runs do not collide.
fn env_file(dir: &TempDir, client_url: &str) -> Value {
    let port = 20000 + (std::process::id() % 20000) as u16;
    let conf = dir.join("etcd.conf");
    let data = dir.join("data");
    fs::write(
        &conf,
        format!(
            "# a test member\nETCD_NAME=proc-test\nETCD_DATA_DIR={}\n\
             ETCD_LISTEN_CLIENT_URLS={client_url}\nETCD_ADVERTISE_CLIENT_URLS={client_url}\n\
             ETCD_LISTEN_PEER_URLS=http://127.0.0.1:{peer}\n\
             ETCD_INITIAL_ADVERTISE_PEER_URLS=http://127.0.0.1:{peer}\n\
             ETCD_INITIAL_CLUSTER=proc-test=http://127.0.0.1:{peer}\n",
            data.display(),
            peer = port + 1
        ),
    )
    .unwrap();
    json!({
        "env_file": conf,
        "pid_file": dir.join("etcd.pid"),
        "log_file": dir.join("etcd.log"),
        "binary": ETCD,
        "grace": 5,
    })
}

fn with(mut args: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        args[k] = v.clone();
    }
    args
}

fn alive(pid: u64) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z")
}

#[test]
fn start_is_idempotent_check_mode_changes_nothing_and_stop_waits() {
    if !Path::new(ETCD).exists() {
        eprintln!("skipping: {ETCD} missing");
        return;
    }
    let dir = TempDir::new("etcd-process");
    let port = 20000 + (std::process::id() % 20000) as u16;
    let args = env_file(&dir, &format!("http://127.0.0.1:{port}"));

    let r = run(
        BIN,
        &with(args.clone(), json!({"_ansible_check_mode": true})),
    )
    .ok();
    assert!(
        r.changed() && r.msg().starts_with("would start"),
        "{}",
        r.msg()
    );
    assert!(!dir.join("etcd.pid").exists());

    let r = run(BIN, &args).ok();
    assert!(r.changed(), "{}", r.msg());
    let pid = r.json["pid"].as_u64().unwrap();
    assert!(alive(pid));
    let r = run(BIN, &args).ok();
    assert!(!r.changed(), "started again: {}", r.msg());
    assert_eq!(r.json["pid"].as_u64(), Some(pid));

    let stop = with(args.clone(), json!({"state": "stopped"}));
    let r = run(
        BIN,
        &with(stop.clone(), json!({"_ansible_check_mode": true})),
    )
    .ok();
    assert!(r.changed());
    assert!(alive(pid), "check mode stopped etcd");

    let r = run(BIN, &stop).ok();
    assert!(r.changed(), "{}", r.msg());
    assert!(!alive(pid));
    assert!(!dir.join("etcd.pid").exists());
    let r = run(BIN, &stop).ok();
    assert!(!r.changed(), "stopped again: {}", r.msg());
}

#[test]
fn a_stale_pid_file_is_never_signalled() {
    let dir = TempDir::new("etcd-process-stale");
    let args = env_file(&dir, "http://127.0.0.1:1");
    // Our own pid: alive, but not etcd. A TERM here would kill this test.
    fs::write(dir.join("etcd.pid"), format!("{}\n", std::process::id())).unwrap();
    let r = run(BIN, &with(args, json!({"state": "stopped"}))).ok();
    assert!(r.changed(), "the stale pid file is removed: {}", r.msg());
    assert!(!dir.join("etcd.pid").exists());
}

#[test]
fn an_etcd_that_exits_at_once_fails_with_its_log() {
    if !Path::new(ETCD).exists() {
        return;
    }
    let dir = TempDir::new("etcd-process-bad");
    let args = env_file(&dir, "not-a-url");
    let err = run(BIN, &args).err();
    assert!(err.contains("exited at once"), "{err}");
    assert!(!dir.join("etcd.pid").exists());
}

#[test]
fn an_env_file_without_identity_is_refused() {
    let dir = TempDir::new("etcd-process-anon");
    let conf = dir.join("etcd.conf");
    fs::write(&conf, "ETCD_LISTEN_CLIENT_URLS=http://127.0.0.1:1\n").unwrap();
    let err = run(
        BIN,
        &json!({"env_file": conf, "pid_file": dir.join("p"), "log_file": dir.join("l")}),
    )
    .err();
    assert!(err.contains("neither ETCD_NAME nor ETCD_DATA_DIR"), "{err}");
}
