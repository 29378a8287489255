//! The shared module glue, through ansible-module's pure `execute` (no process, no stdout).

mod common;

use ansible_module::{execute, ModuleSpec, Opt};
use common::TempDir;
use confedit::module::{edit_file, respond};
use confedit::EnvFile;
use serde_json::{json, Map, Value};
use std::fs;

fn spec(with_create: bool) -> ModuleSpec {
    let spec = ModuleSpec::new("glue", "test")
        .option(Opt::path("path").required())
        .option(Opt::bool("backup").default(false));
    if with_create {
        spec.option(Opt::bool("create").default(false))
    } else {
        spec
    }
}

fn run(with_create: bool, args: Value) -> Value {
    let args: Map<String, Value> = args.as_object().cloned().unwrap();
    execute(&spec(with_create), &args, |m| {
        let path = m.params.path("path").unwrap();
        let outcome = edit_file(m, &path, EnvFile::validate, |text| {
            let mut f = EnvFile::parse(text)?;
            f.set("A", "2")?;
            Ok(f.render())
        })?;
        Ok(respond(&outcome, "done"))
    })
    .json
}

#[test]
fn missing_file_hints_at_create_only_when_offered() {
    let dir = TempDir::new("glue-missing");
    let p = dir.join("nope.conf");
    let out = run(true, json!({"path": p}));
    assert_eq!(
        out["msg"],
        format!(
            "{} does not exist (set create: true to create it)",
            p.display()
        )
    );
    let out = run(false, json!({"path": p}));
    assert_eq!(out["msg"], format!("{} does not exist", p.display()));
    let out = run(
        true,
        json!({"path": p, "create": true, "_ansible_check_mode": true}),
    );
    assert_eq!(out["changed"], true);
    assert!(!p.exists());
}

#[test]
fn result_keys_backup_and_diff() {
    let dir = TempDir::new("glue-keys");
    let p = dir.join("a.conf");
    fs::write(&p, "A=1\n").unwrap();
    let out = run(
        true,
        json!({"path": p, "backup": true, "_ansible_diff": true}),
    );
    assert_eq!(out["changed"], true, "{out}");
    assert_eq!(out["path"], p.display().to_string());
    let backup = out["backup_file"].as_str().unwrap();
    assert_eq!(fs::read_to_string(backup).unwrap(), "A=1\n");
    assert_eq!(
        out["diff"],
        json!({"before": "A=1\n", "after": "A=2\n",
               "before_header": p.display().to_string(), "after_header": p.display().to_string()})
    );
    let out = run(true, json!({"path": p, "backup": true}));
    assert_eq!(out["changed"], false);
    assert!(out.get("backup_file").is_none());
    assert!(out.get("diff").is_none());
}

#[test]
fn unparsable_file_names_path_and_line() {
    let dir = TempDir::new("glue-parse");
    let p = dir.join("a.conf");
    fs::write(&p, "A=1\nB=\"open\n").unwrap();
    let out = run(true, json!({"path": p}));
    assert_eq!(
        out["msg"],
        format!("reading {}: line 2: unterminated double quote", p.display())
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), "A=1\nB=\"open\n");
}
