//! etcd_unit: etcd's systemd unit run with `--force-new-cluster` through a drop-in, and the
//! drop-in taken away again, each in one task: the unit read, the drop-in written or removed
//! atomically, systemd reloaded. The flag must not stay: every later restart would re-form the
//! cluster and drop the members re-added since.

use ansible_module::{run, Diff, Failure, ModuleSpec, Opt, Response};
use std::fs;
use std::io;
use std::path::Path;
use std::process::Command;

mod dropin;

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "etcd_unit",
        "Run etcd's systemd unit with --force-new-cluster through a drop-in, or take it away",
    )
    .option(
        Opt::bool("force_new_cluster")
            .required()
            .doc(
                "C(true) writes I(dropin): it resets C(ExecStart) and repeats the unit's last \
                C(ExecStart) line with C(--force-new-cluster) (inside the closing quote of a \
                C(/bin/bash -c \"...\") line, as the RHEL 7 RPM's unit has it). C(false) removes \
                I(dropin).",
            )
            .help("true: the drop-in with --force-new-cluster; false: no drop-in"),
    )
    .option(
        Opt::path("unit_file")
            .default("/usr/lib/systemd/system/etcd.service")
            .doc("The etcd unit whose C(ExecStart) the drop-in repeats.")
            .help("the etcd unit whose ExecStart the drop-in repeats"),
    )
    .option(
        Opt::path("dropin")
            .default("/etc/systemd/system/etcd.service.d/temp.conf")
            .doc("The drop-in file (its directory is created 0755 when missing).")
            .help("the drop-in file"),
    )
    .option(
        Opt::bool("daemon_reload")
            .default(true)
            .doc("Run C(systemctl daemon-reload) when the drop-in changed.")
            .help("run systemctl daemon-reload when the drop-in changed"),
    )
}

fn main() {
    run(spec(), |m| {
        let p = &m.params;
        let dropin_path = p.path("dropin").unwrap_or_default();
        let before = read_if_present(&dropin_path)?;
        let after = if p.bool("force_new_cluster") {
            let unit_file = p.path("unit_file").unwrap_or_default();
            let unit = fs::read_to_string(&unit_file)
                .map_err(|e| Failure::new(format!("reading {}: {e}", unit_file.display())))?;
            let line = dropin::force_new_exec_start(&unit)
                .map_err(|e| Failure::new(format!("{}: {e}", unit_file.display())))?;
            Some(dropin::text(&line))
        } else {
            None
        };
        let changed = before != after;
        let path = dropin_path.display().to_string();
        let msg = match (&after, changed) {
            (Some(_), false) => format!("{path} already runs etcd with --force-new-cluster"),
            (Some(_), true) => format!("{path}: etcd runs with --force-new-cluster"),
            (None, false) => format!("{path} is absent"),
            (None, true) => format!("{path} removed: etcd runs without --force-new-cluster"),
        };
        let mut resp = Response::new()
            .changed(changed)
            .msg(msg)
            .set("path", &path)
            .set("present", after.is_some())
            .diff(Diff::new(
                path.clone(),
                before.clone().unwrap_or_default(),
                after.clone().unwrap_or_default(),
            ));
        if !changed || m.check_mode() {
            return Ok(resp);
        }
        write(&dropin_path, after.as_deref())?;
        if p.bool("daemon_reload") {
            daemon_reload()?;
            resp = resp.set("reloaded", true);
        }
        Ok(resp)
    })
}

fn read_if_present(path: &Path) -> Result<Option<String>, Failure> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::new(format!("reading {}: {e}", path.display()))),
    }
}

/// Writes the drop-in (0644, atomically) or removes it.
fn write(path: &Path, text: Option<&str>) -> Result<(), Failure> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    match text {
        Some(t) => {
            if !dir.is_dir() {
                fs::create_dir_all(dir)
                    .map_err(|e| Failure::new(format!("creating {}: {e}", dir.display())))?;
                use std::os::unix::fs::PermissionsExt;
                fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
                    .map_err(|e| Failure::new(format!("setting mode on {}: {e}", dir.display())))?;
            }
            confedit::atomic::write_atomic_mode(path, t.as_bytes(), 0o644)
                .map_err(|e| Failure::new(e.to_string()))
        }
        None => match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Failure::new(format!("removing {}: {e}", path.display()))),
        },
    }
}

/// systemd reads a changed drop-in only after a reload; without one the next start would run
/// the old command line.
fn daemon_reload() -> Result<(), Failure> {
    let out = Command::new("systemctl")
        .arg("daemon-reload")
        .output()
        .map_err(|e| Failure::new(format!("running systemctl daemon-reload: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Failure::new(format!(
        "systemctl daemon-reload failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}
