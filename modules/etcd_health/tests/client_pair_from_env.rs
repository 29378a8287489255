//! The client pair from etcdctl's environment when a task names none (the playbooks set it
//! once per play), the task's own options first. Files that do not exist show which one was
//! read, before any endpoint is asked.

use modtest::run_with_env;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_etcd_health");

#[test]
fn the_environment_gives_the_pair_a_task_leaves_out() {
    let env = [
        ("ETCDCTL_CACERT", "/nonexistent/env/ca.crt"),
        ("ETCDCTL_CERT", "/nonexistent/env/client.crt"),
        ("ETCDCTL_KEY", "/nonexistent/env/client.key"),
    ];
    let args = json!({"endpoints": ["https://127.0.0.1:1"]});
    let msg = run_with_env(BIN, &args, &env).err();
    assert!(msg.contains("/nonexistent/env/ca.crt"), "{msg}");

    let mut given = args.clone();
    given["ca_cert"] = json!("/nonexistent/task/ca.crt");
    let msg = run_with_env(BIN, &given, &env).err();
    assert!(msg.contains("/nonexistent/task/ca.crt"), "{msg}");
    assert!(!msg.contains("/nonexistent/env/"), "{msg}");

    // Without a CA anywhere, the pair from the environment is what is read (and fails).
    let msg = run_with_env(BIN, &args, &env[1..]).err();
    assert!(msg.contains("/nonexistent/env/client.crt"), "{msg}");
}
