//! Turns the raw args file into validated parameters, the way AnsibleModule does: aliases,
//! unknown options, required, defaults, coercion, choices, mutually exclusive, required_if.

use crate::coerce::{coerce, type_name};
use crate::params::Params;
use crate::spec::{Kind, ModuleSpec, Opt};
use serde_json::{Map, Value};

/// The `_ansible_*` keys a module may act on. Every one is optional: the set changes
/// between ansible-core versions.
#[derive(Debug, Clone, Default)]
pub struct AnsibleContext {
    pub check_mode: bool,
    pub diff: bool,
    pub no_log: bool,
    pub verbosity: i64,
    pub ignore_unknown_opts: bool,
    pub tmpdir: Option<String>,
    pub version: Option<String>,
}

impl AnsibleContext {
    fn from_args(args: &Map<String, Value>) -> AnsibleContext {
        let flag = |k: &str| {
            args.get(k)
                .and_then(|v| coerce(v, Kind::Bool).ok())
                .and_then(|v| v.as_bool())
                .unwrap_or(false)
        };
        let text = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_string);
        AnsibleContext {
            check_mode: flag("_ansible_check_mode"),
            diff: flag("_ansible_diff"),
            no_log: flag("_ansible_no_log"),
            verbosity: args
                .get("_ansible_verbosity")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            ignore_unknown_opts: flag("_ansible_ignore_unknown_opts"),
            tmpdir: text("_ansible_tmpdir"),
            version: text("_ansible_version"),
        }
    }
}

/// What validation produces even when it fails: the secrets to mask in whatever is printed.
pub struct Validation {
    pub ctx: AnsibleContext,
    pub no_log_values: Vec<String>,
    pub warnings: Vec<String>,
    pub result: Result<Params, String>,
}

pub fn validate(spec: &ModuleSpec, args: &Map<String, Value>) -> Validation {
    let ctx = AnsibleContext::from_args(args);
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    let mut given: Map<String, Value> = Map::new();
    let mut unsupported = Vec::new();

    for (key, value) in args {
        if key.starts_with("_ansible_") {
            continue;
        }
        let Some(opt) = spec.find(key) else {
            unsupported.push(key.clone());
            continue;
        };
        // null means "not given", as a task's `opt: "{{ omit }}"` or an unset survey field.
        if value.is_null() {
            continue;
        }
        if given.contains_key(opt.name) {
            warnings.push(format!(
                "Both option {} and its alias {} are set.",
                opt.name, key
            ));
            if key != opt.name {
                continue;
            }
        }
        given.insert(opt.name.to_string(), value.clone());
    }

    let no_log_values = collect_no_log_values(spec, &given);

    if !unsupported.is_empty() && !ctx.ignore_unknown_opts {
        unsupported.sort();
        errors.push(format!(
            "Unsupported parameters for ({}) module: {}. Supported parameters include: {}.",
            spec.name,
            unsupported.join(", "),
            supported_list(spec)
        ));
    }

    let mut params = Map::new();
    let mut missing = Vec::new();
    for opt in &spec.options {
        let value = match given.get(opt.name).or(opt.default.as_ref()) {
            Some(v) => v,
            None => {
                if opt.required {
                    missing.push(opt.name);
                }
                params.insert(opt.name.to_string(), Value::Null);
                continue;
            }
        };
        match coerce_option(opt, value) {
            Ok(v) => {
                if let Err(e) = check_choices(opt, &v) {
                    errors.push(e);
                }
                params.insert(opt.name.to_string(), v);
            }
            Err(e) => errors.push(e),
        }
    }
    if !missing.is_empty() {
        errors.insert(
            0,
            format!("missing required arguments: {}", missing.join(", ")),
        );
    }

    for group in &spec.mutually_exclusive {
        let set: Vec<&str> = group
            .iter()
            .copied()
            .filter(|n| given.contains_key(*n))
            .collect();
        if set.len() > 1 {
            errors.push(format!(
                "parameters are mutually exclusive: {}",
                group.join("|")
            ));
        }
    }

    for rule in &spec.required_if {
        let current = params.get(rule.key).unwrap_or(&Value::Null);
        if !same_value(current, &rule.value) {
            continue;
        }
        let absent: Vec<&str> = rule
            .requires
            .iter()
            .copied()
            .filter(|n| params.get(*n).is_none_or(Value::is_null))
            .collect();
        let violated = if rule.any {
            absent.len() == rule.requires.len()
        } else {
            !absent.is_empty()
        };
        if violated {
            errors.push(format!(
                "{} is {} but {} of the following are missing: {}",
                rule.key,
                display(&rule.value),
                if rule.any { "any" } else { "all" },
                absent.join(", ")
            ));
        }
    }

    let result = if errors.is_empty() {
        Ok(Params::new(params, given.keys().cloned().collect()))
    } else {
        Err(errors.join(". "))
    };
    Validation {
        ctx,
        no_log_values,
        warnings,
        result,
    }
}

fn coerce_option(opt: &Opt, value: &Value) -> Result<Value, String> {
    let v = coerce(value, opt.kind).map_err(|why| {
        format!(
            "argument '{}' is of type {} and we were unable to convert to {}: {}",
            opt.name,
            type_name(value),
            opt.kind.name(),
            why
        )
    })?;
    match (opt.elements, v) {
        (Some(el), Value::Array(items)) => items
            .iter()
            .map(|item| {
                coerce(item, el).map_err(|why| {
                    format!(
                        "Elements value for option '{}' is of type {} and we were unable to convert to {}: {}",
                        opt.name,
                        type_name(item),
                        el.name(),
                        why
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        (_, v) => Ok(v),
    }
}

fn check_choices(opt: &Opt, v: &Value) -> Result<(), String> {
    if opt.choices.is_empty() {
        return Ok(());
    }
    let values: Vec<&Value> = match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for item in values {
        if !opt.choices.iter().any(|c| same_value(c, item)) {
            let choices: Vec<String> = opt.choices.iter().map(display).collect();
            return Err(format!(
                "value of {} must be one of: {}, got: {}",
                opt.name,
                choices.join(", "),
                display(item)
            ));
        }
    }
    Ok(())
}

/// Choices and required_if compare as Ansible does after coercion; a string "5" equals 5.
fn same_value(a: &Value, b: &Value) -> bool {
    a == b || display(a) == display(b)
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn supported_list(spec: &ModuleSpec) -> String {
    let mut names: Vec<String> = spec
        .options
        .iter()
        .map(|o| {
            if o.aliases.is_empty() {
                o.name.to_string()
            } else {
                format!("{} ({})", o.name, o.aliases.join(", "))
            }
        })
        .collect();
    names.sort();
    names.join(", ")
}

/// Every value of a no_log option as it may appear in output: the raw value and, for
/// containers, each scalar inside it.
fn collect_no_log_values(spec: &ModuleSpec, given: &Map<String, Value>) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Null => {}
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            other => out.push(other.to_string()),
        }
    }
    let mut out = Vec::new();
    for opt in spec.options.iter().filter(|o| o.no_log) {
        if let Some(v) = given.get(opt.name) {
            walk(v, &mut out);
        }
    }
    out.retain(|s| !s.is_empty());
    out
}
