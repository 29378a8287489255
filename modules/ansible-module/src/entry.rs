//! The process around a module: where the args come from (Ansible's args file, `--args` for
//! an operator at a shell, or stdin with `--args-stdin` for the caching action plugins), the
//! panic hook, and printing exactly one JSON object.

use crate::execute::{execute, Module};
use crate::nolog;
use crate::response::{Failure, Response};
use crate::spec::ModuleSpec;
use serde_json::{json, Map, Value};
use std::io::{Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

static PRINTED: AtomicBool = AtomicBool::new(false);

/// Runs a module and exits: status 0 on success, 1 on failure.
pub fn run<F>(spec: ModuleSpec, body: F) -> !
where
    F: FnOnce(&Module) -> Result<Response, Failure>,
{
    install_panic_hook(spec.name);
    let args = match read_args(&spec) {
        Ok(a) => a,
        Err(msg) => emit(&json!({"failed": true, "changed": false, "msg": msg}), true),
    };
    let outcome = execute(&spec, &args, body);
    emit(&outcome.json, outcome.failed)
}

fn read_args(spec: &ModuleSpec) -> Result<Map<String, Value>, String> {
    let cli = crate::cli::parse(spec)?;
    let given = [cli.args_file.is_some(), cli.inline.is_some(), cli.stdin];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err("give one of an args file, --args or --args-stdin".into());
    }
    let text = if let Some(path) = &cli.args_file {
        std::fs::read_to_string(path).map_err(|e| format!("reading args file {path}: {e}"))?
    } else if let Some(inline) = &cli.inline {
        inline.clone()
    } else if cli.stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("reading module arguments from stdin: {e}"))?;
        text
    } else {
        return Err(format!(
            "no arguments: run as `{0} ARGS_FILE` (what Ansible does), `{0} --args '{{...}}'` or `{0} --args-stdin`; see `{0} --help`",
            spec.name
        ));
    };
    let value: Value =
        serde_json::from_str(&text).map_err(|e| format!("module arguments are not JSON: {e}"))?;
    let Value::Object(mut args) = value else {
        return Err("module arguments must be a JSON object".into());
    };
    if cli.check {
        args.insert("_ansible_check_mode".into(), Value::Bool(true));
    }
    if cli.diff {
        args.insert("_ansible_diff".into(), Value::Bool(true));
    }
    Ok(args)
}

/// A panic still yields one JSON failure, so Ansible reports the message rather than
/// "MODULE FAILURE ... Module result deserialization failed".
fn install_panic_hook(name: &'static str) {
    std::panic::set_hook(Box::new(move |info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        // The secrets validation found (execute remembers them before the body runs).
        let msg = nolog::mask_str(
            &format!("{name} panicked (a bug in the module): {payload}{place}"),
            &nolog::remembered(),
        );
        emit(&json!({"failed": true, "changed": false, "msg": msg}), true);
    }));
}

/// Prints the object once and exits. Writes to fd 1 directly: a panic raised while stdout's
/// lock is held must not deadlock the hook.
fn emit(out: &Value, failed: bool) -> ! {
    if !PRINTED.swap(true, Ordering::SeqCst) {
        let mut text = serde_json::to_string(out).unwrap_or_else(|_| {
            r#"{"failed": true, "msg": "module result could not be serialized"}"#.into()
        });
        text.push('\n');
        // SAFETY: fd 1 is open for the life of the process; ManuallyDrop keeps it open.
        let mut stdout = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(1) });
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }
    std::process::exit(if failed { 1 } else { 0 })
}
