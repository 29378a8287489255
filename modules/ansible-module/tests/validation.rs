//! The validation rules of AnsibleModule, through the public `execute` entry point.

use ansible_module::{execute, Diff, Failure, Kind, ModuleSpec, Opt, Response};
use serde_json::{json, Map, Value};

fn spec() -> ModuleSpec {
    ModuleSpec::new("etcd_demo", "test spec")
        .option(
            Opt::list("endpoints", Kind::Str)
                .required()
                .aliases(&["endpoint"]),
        )
        .option(Opt::int("timeout").default(5))
        .option(Opt::bool("force").default(false))
        .option(Opt::float("ratio"))
        .option(Opt::path("ca_cert"))
        .option(Opt::dict("settings"))
        .option(
            Opt::str("state")
                .default("present")
                .choices(["present", "absent"]),
        )
        .option(Opt::str("name"))
        .option(Opt::str("id"))
        .option(Opt::str("password").no_log())
        .mutually_exclusive(&["name", "id"])
        .required_if("state", "absent", &["name", "id"], true)
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

fn echo(v: Value) -> (Value, bool) {
    let out = execute(&spec(), &args(v), |m| {
        Ok(Response::new().set("params", m.params.as_map().clone()))
    });
    (out.json, out.failed)
}

fn msg(v: &Value) -> &str {
    v["msg"].as_str().unwrap_or("")
}

#[test]
fn unknown_option_is_refused_with_the_supported_list() {
    let (out, failed) = echo(json!({"endpoints": ["https://a:2379"], "bogus": 1, "zzz": 2}));
    assert!(failed);
    assert_eq!(
        msg(&out),
        "Unsupported parameters for (etcd_demo) module: bogus, zzz. Supported parameters include: \
         ca_cert, endpoints (endpoint), force, id, name, password, ratio, settings, state, timeout."
    );
}

#[test]
fn unknown_option_is_ignored_when_ansible_says_so() {
    let (out, failed) =
        echo(json!({"endpoints": "a", "bogus": 1, "_ansible_ignore_unknown_opts": true}));
    assert!(!failed, "{out}");
}

#[test]
fn ansible_internal_keys_are_accepted_and_never_echoed() {
    let (out, failed) = echo(json!({
        "endpoints": ["x"], "_ansible_check_mode": false, "_ansible_tracebacks_for": [],
        "_ansible_some_future_key": {"a": 1}, "_ansible_tmpdir": null
    }));
    assert!(!failed, "{out}");
    assert!(out
        .as_object()
        .unwrap()
        .keys()
        .all(|k| !k.starts_with("_ansible_")));
}

#[test]
fn missing_required_is_named() {
    let (out, failed) = echo(json!({}));
    assert!(failed);
    assert_eq!(msg(&out), "missing required arguments: endpoints");
    let (out, failed) = echo(json!({"endpoints": null}));
    assert!(failed, "null counts as not given: {out}");
}

#[test]
fn defaults_apply_and_strings_are_coerced() {
    let (out, failed) = echo(json!({
        "endpoint": "https://a:2379, https://b:2379", "timeout": "7", "force": "yes",
        "ratio": "0.5", "settings": "A=1 B=2"
    }));
    assert!(!failed, "{out}");
    let p = &out["params"];
    assert_eq!(p["endpoints"], json!(["https://a:2379", "https://b:2379"]));
    assert_eq!(p["timeout"], json!(7));
    assert_eq!(p["force"], json!(true));
    assert_eq!(p["ratio"], json!(0.5));
    assert_eq!(p["settings"], json!({"A": "1", "B": "2"}));
    assert_eq!(p["state"], json!("present"));
    assert_eq!(p["name"], Value::Null);
}

#[test]
fn wrong_type_names_the_option_and_the_type() {
    let (out, failed) = echo(json!({"endpoints": ["a"], "timeout": "soon"}));
    assert!(failed);
    assert_eq!(
        msg(&out),
        "argument 'timeout' is of type str and we were unable to convert to int: 'soon' is not a whole number"
    );
    let (out, _) = echo(json!({"endpoints": ["a"], "force": "perhaps"}));
    assert!(msg(&out)
        .starts_with("argument 'force' is of type str and we were unable to convert to bool"));
    let (out, _) = echo(json!({"endpoints": [["nested"]]}));
    assert!(
        msg(&out).starts_with("Elements value for option 'endpoints' is of type list"),
        "{out}"
    );
}

#[test]
fn bad_choice_lists_the_choices() {
    let (out, failed) = echo(json!({"endpoints": ["a"], "state": "gone"}));
    assert!(failed);
    assert_eq!(
        msg(&out),
        "value of state must be one of: present, absent, got: gone"
    );
}

#[test]
fn mutually_exclusive_and_required_if() {
    let (out, failed) = echo(json!({"endpoints": ["a"], "name": "x", "id": "y"}));
    assert!(failed);
    assert_eq!(msg(&out), "parameters are mutually exclusive: name|id");
    let (out, failed) = echo(json!({"endpoints": ["a"], "state": "absent"}));
    assert!(failed);
    assert_eq!(
        msg(&out),
        "state is absent but any of the following are missing: name, id"
    );
    let (_, failed) =
        echo(json!({"endpoints": ["a"], "state": "absent", "id": "8e9e05c52164694d"}));
    assert!(!failed);
}

#[test]
fn several_errors_are_reported_together() {
    let (out, _) = echo(json!({"timeout": "x", "state": "nope"}));
    let m = msg(&out);
    assert!(m.contains("missing required arguments: endpoints"), "{m}");
    assert!(m.contains("argument 'timeout'"), "{m}");
    assert!(m.contains("value of state"), "{m}");
}

#[test]
fn no_log_values_are_masked_in_results_failures_and_invocation() {
    let out = execute(
        &spec(),
        &args(json!({"endpoints": ["a"], "password": "hunter2"})),
        |m| {
            Ok(Response::new()
                .msg(format!("used {}", m.params.str("password").unwrap()))
                .set("echo", m.params.str("password")))
        },
    );
    let text = out.json.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert_eq!(
        out.json["echo"],
        json!("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER")
    );
    assert_eq!(out.json["msg"], json!("used ********"));
    assert_eq!(
        out.json["invocation"]["module_args"]["password"],
        json!("VALUE_SPECIFIED_IN_NO_LOG_PARAMETER")
    );
    let out = execute(
        &spec(),
        &args(json!({"endpoints": ["a"], "password": "hunter2", "timeout": "hunter2"})),
        |_| Ok(Response::new()),
    );
    assert!(out.failed);
    assert!(!out.json.to_string().contains("hunter2"), "{}", out.json);
    let out = execute(
        &spec(),
        &args(json!({"endpoints": ["a"], "password": "hunter2"})),
        |_| Err(Failure::new("cannot log in with hunter2")),
    );
    assert_eq!(out.json["msg"], json!("cannot log in with ********"));
}

#[test]
fn check_and_diff_flags_reach_the_module() {
    let out = execute(
        &spec(),
        &args(json!({"endpoints": ["a"], "_ansible_check_mode": true, "_ansible_diff": true})),
        |m| {
            Ok(Response::new()
                .changed(true)
                .set("check", m.check_mode())
                .diff(Diff::new("/etc/x", "a\n", "b\n")))
        },
    );
    assert_eq!(out.json["check"], json!(true));
    assert_eq!(
        out.json["diff"],
        json!({"before": "a\n", "after": "b\n", "before_header": "/etc/x", "after_header": "/etc/x"})
    );
    let out = execute(&spec(), &args(json!({"endpoints": ["a"]})), |_| {
        Ok(Response::new()
            .changed(true)
            .diff(Diff::new("/etc/x", "a", "b")))
    });
    assert!(out.json.get("diff").is_none(), "diff only in diff mode");
}

#[test]
fn a_module_without_check_mode_is_skipped_in_check_mode() {
    let spec = ModuleSpec::new("nocheck", "x").without_check_mode();
    let mut ran = false;
    let out = execute(&spec, &args(json!({"_ansible_check_mode": true})), |_| {
        ran = true;
        Ok(Response::new().changed(true))
    });
    assert!(!ran);
    assert_eq!(out.json["skipped"], json!(true));
}

#[test]
fn result_always_states_changed_and_failed() {
    let (out, failed) = echo(json!({"endpoints": ["a"]}));
    assert!(!failed);
    assert_eq!(out["changed"], json!(false));
    assert_eq!(out["failed"], json!(false));
    let out = execute(&spec(), &args(json!({"endpoints": ["a"]})), |_| {
        Err(Failure::new("boom").with("detail", 3))
    });
    assert!(out.failed);
    assert_eq!(out.json["failed"], json!(true));
    assert_eq!(out.json["detail"], json!(3));
}
