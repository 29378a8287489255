//! Running the built module as Ansible would (one JSON object on stdout), an operator's CA
//! made with the openssl CLI, and self-cleaning temp dirs.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::process::Command;

pub use modtest::TempDir;

/// Runs etcd_cert with `--args`; returns the parsed result. Anything but exactly one JSON
/// object on stdout, or a panic message, fails the test.
pub fn module(args: &Value) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_etcd_cert"))
        .arg("--args")
        .arg(args.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {stdout}"));
    let failed = v["failed"].as_bool().unwrap();
    assert_eq!(out.status.success(), !failed, "exit status vs failed: {v}");
    assert!(!stdout.contains("panicked"), "{stdout}");
    assert!(
        !stdout.contains("PRIVATE KEY"),
        "key material in result: {stdout}"
    );
    v
}

pub fn ok(args: &Value) -> Value {
    let v = module(args);
    assert_eq!(v["failed"], false, "{v}");
    v
}

pub fn fails(args: &Value) -> String {
    let v = module(args);
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(v["changed"], false, "{v}");
    v["msg"].as_str().unwrap().to_string()
}

/// `openssl ARGS`, asserting success; stdout.
pub fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// An operator's CA, the way the procedure's hosts have one: `<name>.crt`, `<name>.key`.
pub fn make_ca(dir: &TempDir, name: &str) -> (String, String) {
    let (crt, key) = (dir.s(&format!("{name}.crt")), dir.s(&format!("{name}.key")));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &crt,
        "-days",
        "3650",
        "-subj",
        &format!("/CN={name}"),
    ]);
    (crt, key)
}

/// Arguments for state=present into `dir`, named after the usage (server.crt/server.key).
pub fn present(dir: &TempDir, ca: &(String, String), usage: &str, sans: &[&str]) -> Value {
    json!({
        "ca_cert": ca.0, "ca_key": ca.1,
        "common_name": "etcd0.example.com",
        "subject_alt_names": sans,
        "usage": usage,
        "cert_path": dir.s(&format!("{usage}.crt")),
        "key_path": dir.s(&format!("{usage}.key")),
    })
}

pub fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}
