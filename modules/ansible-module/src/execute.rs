//! One module invocation, from parsed args to the JSON object Ansible reads. Pure: no
//! process exit, no stdout, so the whole protocol is unit-testable.

use crate::nolog::{self, MASK};
use crate::params::Params;
use crate::response::{Failure, Response};
use crate::spec::ModuleSpec;
use crate::validate::{validate, AnsibleContext};
use serde_json::{json, Map, Value};

/// What a module body sees.
pub struct Module {
    pub name: &'static str,
    pub params: Params,
    pub ctx: AnsibleContext,
}

impl Module {
    pub fn check_mode(&self) -> bool {
        self.ctx.check_mode
    }
    pub fn diff_mode(&self) -> bool {
        self.ctx.diff
    }
}

/// The printed result and whether it is a failure (exit status 1).
pub struct Outcome {
    pub json: Value,
    pub failed: bool,
}

pub fn execute<F>(spec: &ModuleSpec, args: &Map<String, Value>, body: F) -> Outcome
where
    F: FnOnce(&Module) -> Result<Response, Failure>,
{
    let validation = validate(spec, args);
    let secrets = validation.no_log_values;
    // A panic in the body is reported by the panic hook, which masks these same values.
    nolog::remember(&secrets);
    let mut warnings = validation.warnings;
    let ctx = validation.ctx;

    let params = match validation.result {
        Ok(p) => p,
        Err(msg) => {
            return finish(
                json!({"failed": true, "changed": false, "msg": msg}),
                warnings,
                None,
                &secrets,
            )
        }
    };
    let invocation = invocation(spec, &params);

    if ctx.check_mode && !spec.supports_check_mode {
        let out = json!({
            "changed": false,
            "failed": false,
            "skipped": true,
            "msg": format!("remote module ({}) does not support check mode", spec.name),
        });
        return finish(out, warnings, Some(invocation), &secrets);
    }

    let module = Module {
        name: spec.name,
        params,
        ctx,
    };
    let mut out = Map::new();
    match body(&module) {
        Ok(resp) => {
            out.insert("changed".into(), Value::Bool(resp.changed));
            out.insert("failed".into(), Value::Bool(false));
            if let Some(msg) = resp.msg {
                out.insert("msg".into(), Value::String(msg));
            }
            for (k, v) in resp.data {
                out.entry(k).or_insert(v);
            }
            if module.ctx.diff && !resp.diffs.is_empty() {
                let diff = if resp.diffs.len() == 1 {
                    json!(resp.diffs[0])
                } else {
                    json!(resp.diffs)
                };
                out.insert("diff".into(), diff);
            }
            warnings.extend(resp.warnings);
        }
        Err(failure) => {
            out.insert("changed".into(), Value::Bool(false));
            out.insert("failed".into(), Value::Bool(true));
            out.insert("msg".into(), Value::String(failure.msg));
            for (k, v) in failure.data {
                out.entry(k).or_insert(v);
            }
        }
    }
    finish(Value::Object(out), warnings, Some(invocation), &secrets)
}

fn finish(
    mut out: Value,
    warnings: Vec<String>,
    invocation: Option<Value>,
    secrets: &[String],
) -> Outcome {
    if let Value::Object(m) = &mut out {
        if !warnings.is_empty() {
            m.insert("warnings".into(), json!(warnings));
        }
        if let Some(inv) = invocation {
            m.insert("invocation".into(), inv);
        }
        // Keys starting with _ansible_ are stripped by Ansible anyway; never emit them.
        m.retain(|k, _| !k.starts_with("_ansible_"));
    }
    nolog::mask(&mut out, secrets);
    let failed = out.get("failed").and_then(Value::as_bool).unwrap_or(false);
    Outcome { json: out, failed }
}

fn invocation(spec: &ModuleSpec, params: &Params) -> Value {
    let mut args = params.as_map().clone();
    for opt in spec.options.iter().filter(|o| o.no_log) {
        if let Some(v) = args.get_mut(opt.name) {
            if !v.is_null() {
                *v = Value::String(MASK.to_string());
            }
        }
    }
    json!({ "module_args": args })
}
