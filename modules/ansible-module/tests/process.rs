//! The protocol at the process boundary, through a real binary built on the library.

use serde_json::{json, Value};
use std::process::Command;

fn probe(args: &[&str]) -> (Value, i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_protocol-probe"))
        .args(args)
        .output()
        .expect("run probe");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "exactly one line of JSON on stdout: {stdout:?}"
    );
    let v: Value = serde_json::from_str(lines[0]).expect("stdout is JSON");
    (
        v,
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn args_file(name: &str, v: Value) -> String {
    let p = std::env::temp_dir().join(format!("probe-args-{}-{name}.json", std::process::id()));
    std::fs::write(&p, v.to_string()).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn args_file_as_ansible_passes_it() {
    let f = args_file(
        "ok",
        json!({"action": "ok", "items": "1,2", "_ansible_version": "2.19.0"}),
    );
    let (v, code, _) = probe(&[&f]);
    assert_eq!(code, 0);
    assert_eq!(v["failed"], json!(false));
    assert_eq!(v["items"], json!(["1", "2"]));
}

/// What the caching action plugins do: the same flat JSON on stdin, check and diff inside it.
#[test]
fn args_on_stdin_with_args_stdin() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_protocol-probe"))
        .arg("--args-stdin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run probe");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"action": "diff", "_ansible_check_mode": true, "_ansible_diff": true}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["changed"], json!(false), "check mode reached the module");
    assert_eq!(v["diff"]["after"], json!("b\n"));
    // One source at a time: stdin beside an args file is refused, not merged.
    let f = args_file("both", json!({"action": "ok"}));
    let (v, code, _) = probe(&[&f, "--args-stdin"]);
    assert_eq!(code, 1);
    assert_eq!(
        v["msg"],
        json!("give one of an args file, --args or --args-stdin")
    );
}

#[test]
fn inline_args_and_check_flag_for_operators() {
    let (v, code, _) = probe(&["--args", r#"{"action": "diff"}"#, "--check", "--diff"]);
    assert_eq!(code, 0);
    assert_eq!(v["changed"], json!(false), "check mode reached the module");
    assert_eq!(v["diff"]["after"], json!("b\n"));
}

#[test]
fn failure_exits_one_with_masked_message() {
    let (v, code, _) = probe(&["--args", r#"{"action": "fail", "password": "pw123456"}"#]);
    assert_eq!(code, 1);
    assert_eq!(v["msg"], json!("failed holding ********"));
}

#[test]
fn panic_still_prints_failure_json_without_secrets() {
    let (v, code, stderr) = probe(&["--args", r#"{"action": "panic", "password": "pw123456"}"#]);
    assert_ne!(code, 0);
    assert_eq!(v["failed"], json!(true));
    let msg = v["msg"].as_str().unwrap();
    assert!(
        msg.starts_with("protocol_probe panicked (a bug in the module): probe asked to panic"),
        "{msg}"
    );
    assert!(
        !msg.contains("pw123456") && !stderr.contains("pw123456"),
        "{msg} / {stderr}"
    );
}

/// The panic hook masks what validation found, so a secret given by an alias is masked too.
#[test]
fn panic_masks_a_secret_given_by_its_alias() {
    let (v, code, stderr) = probe(&["--args", r#"{"action": "panic", "passwd": "pw654321"}"#]);
    assert_ne!(code, 0);
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.contains("probe asked to panic with ********"), "{msg}");
    assert!(
        !msg.contains("pw654321") && !stderr.contains("pw654321"),
        "{msg} / {stderr}"
    );
}

#[test]
fn unreadable_or_malformed_args_are_clear_failures() {
    let (v, code, _) = probe(&["/nonexistent/args"]);
    assert_eq!(code, 1);
    assert!(v["msg"]
        .as_str()
        .unwrap()
        .starts_with("reading args file /nonexistent/args:"));
    let f = args_file("bad", json!([1, 2]));
    let (v, _, _) = probe(&[&f]);
    assert_eq!(v["msg"], json!("module arguments must be a JSON object"));
    let (v, _, _) = probe(&["--args", "{not json"]);
    assert!(v["msg"]
        .as_str()
        .unwrap()
        .starts_with("module arguments are not JSON"));
    let (v, _, _) = probe(&[]);
    assert!(v["msg"]
        .as_str()
        .unwrap()
        .starts_with("no arguments: run as `protocol_probe ARGS_FILE`"));
}

#[test]
fn help_lists_the_options_from_the_spec() {
    let out = Command::new(env!("CARGO_BIN_EXE_protocol-probe"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("action"), "{text}");
    assert!(
        text.contains("[required; one of ok|fail|panic|diff]"),
        "{text}"
    );
    assert!(
        text.contains("password") && text.contains("secret"),
        "{text}"
    );
    assert!(text.contains("list of int"), "{text}");
}

#[test]
fn spec_dump_is_machine_readable() {
    let out = Command::new(env!("CARGO_BIN_EXE_protocol-probe"))
        .arg("--spec")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], json!("protocol_probe"));
    assert_eq!(v["options"][0]["name"], json!("action"));
    assert_eq!(v["options"][1]["no_log"], json!(true));
}
