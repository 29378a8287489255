//! etcd_unit: etcd's systemd unit, each step in one task over one round trip: run with
//! `--force-new-cluster` through a drop-in, and the drop-in taken away (the unit read, the
//! drop-in written or removed atomically, systemd reloaded); started, stopped or restarted (a
//! failed unit reset first, the start not blocking on etcd's readiness, the client port waited
//! for instead). The flag must not stay: every later restart would re-form the cluster and drop
//! the members re-added since.

use ansible_module::{run, Diff, Failure, Module, ModuleSpec, Opt, Response};
use std::fs;
use std::io;
use std::path::Path;

mod dropin;
mod service;
mod systemctl;

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "etcd_unit",
        "Run etcd's systemd unit with --force-new-cluster through a drop-in, or take it away; \
        start, stop or restart the unit",
    )
    .option(
        Opt::bool("force_new_cluster")
            .doc(
                "C(true) writes I(dropin): it resets C(ExecStart) and repeats the unit's last \
                C(ExecStart) line with C(--force-new-cluster) (inside the closing quote of a \
                C(/bin/bash -c \"...\") line, as the RHEL 7 RPM's unit has it). C(false) removes \
                I(dropin). Unset, the drop-in is left as it is. The drop-in is handled before \
                I(state).",
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
        Opt::str("state")
            .choices(["started", "stopped", "restarted"])
            .doc(
                "C(started) starts the unit unless it runs or is on its way (C(activating): a \
                Type=notify etcd waiting for its peers); C(stopped) stops it if it runs (systemd \
                returns once etcd has exited); C(restarted) stops it if it runs, then starts it \
                (always changed). A failed unit (a crash loop that hit its start limit) is \
                C(reset-failed) before it is started. The start does not wait for etcd's \
                readiness, which a member whose peers are down never reports: with \
                I(listen_host) the task waits until that address takes a connection, and fails \
                early when the unit fails meanwhile. A unit systemd does not know fails the \
                task; a masked one fails a start. Unset, the unit is not started or stopped; with \
                I(force_new_cluster) unset too, the task only reports the unit's state \
                (C(active_state_before), C(runs)) and, given I(listen_host), whether that \
                address takes a connection (C(listens), waited for up to I(timeout) while the \
                unit runs).",
            )
            .help("started, stopped or restarted; unset: the unit is not started or stopped"),
    )
    .option(
        Opt::str("name")
            .default("etcd")
            .doc("The unit I(state) starts or stops.")
            .help("the unit to start or stop"),
    )
    .option(
        Opt::str("listen_host")
            .doc(
                "With I(state) C(started) or C(restarted): the address etcd's client port \
                listens on, waited for (not in check mode). Without I(state): reported as \
                C(listens).",
            )
            .help("after a start: wait until this address takes a connection on listen_port"),
    )
    .option(
        Opt::int("listen_port")
            .default(2379)
            .doc("The port waited for on I(listen_host).")
            .help("the port waited for on listen_host"),
    )
    .option(
        Opt::int("timeout")
            .default(60)
            .doc("Seconds to wait for I(listen_host) (1 to 3600).")
            .help("seconds to wait for listen_host"),
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
        let timeout = p.int("timeout").unwrap_or(60);
        if !(1..=3600).contains(&timeout) {
            return Err(Failure::new(format!(
                "timeout must be 1..=3600 seconds, got {timeout}"
            )));
        }
        let port = p.int("listen_port").unwrap_or(2379);
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| Failure::new(format!("listen_port must be 1..=65535, got {port}")))?;
        let mut resp = Response::new();
        let mut changed = false;
        let mut msgs = Vec::new();
        if p.is_given("force_new_cluster") {
            let (r, c, msg) = dropin_step(m, resp)?;
            resp = r;
            changed |= c;
            msgs.push(msg);
        }
        if !p.is_given("force_new_cluster") && !p.is_given("state") {
            // Neither: only what systemd says of the unit, as a check whether etcd runs.
            let name = p.string("name").unwrap_or_default();
            let now = systemctl::show(&name)?;
            if now.load == "not-found" {
                return Err(Failure::new(format!(
                    "{name}: systemd has no such unit (LoadState=not-found)"
                )));
            }
            // Asked of the host itself, so a firewall between hosts cannot pass for an etcd
            // that takes connections but, without quorum, answers nothing.
            let listens = match p.string("listen_host") {
                Some(host) if now.runs() => Some(systemctl::listens_within(
                    &name,
                    &host,
                    port,
                    timeout.unsigned_abs(),
                )?),
                Some(host) => Some(systemctl::takes_connection(&host, port)),
                None => None,
            };
            let resp = resp
                .msg(format!("{name} is {}", now.active))
                .set("active_state_before", &now.active)
                .set("runs", now.runs());
            return Ok(match listens {
                Some(l) => resp.set("listens", l),
                None => resp,
            });
        }
        if let Some(state) = p.string("state") {
            let name = p.string("name").unwrap_or_default();
            let before = systemctl::show(&name)?;
            let steps =
                service::plan(&state, &before).map_err(|e| Failure::new(format!("{name}: {e}")))?;
            resp = resp
                .set("active_state_before", &before.active)
                .set("runs", before.runs());
            if !steps.is_empty() {
                changed = true;
            }
            let msg = if m.check_mode() {
                match steps.is_empty() {
                    true => format!("{name} is {}", before.active),
                    false => format!("would {} {name} (now {})", verb(&state), before.active),
                }
            } else {
                for step in &steps {
                    systemctl::run(*step, &name)?;
                }
                let listen = p.string("listen_host").filter(|_| state != "stopped");
                if let Some(host) = listen {
                    systemctl::wait_listening(&name, &host, port, timeout.unsigned_abs())?;
                }
                match steps.is_empty() {
                    true => format!("{name} is {}", before.active),
                    false => format!("{} {name}", past(&state)),
                }
            };
            msgs.push(msg);
        }
        Ok(resp.changed(changed).msg(msgs.join("; ")))
    })
}

fn verb(state: &str) -> &'static str {
    match state {
        "stopped" => "stop",
        "restarted" => "restart",
        _ => "start",
    }
}

fn past(state: &str) -> &'static str {
    match state {
        "stopped" => "stopped",
        "restarted" => "restarted",
        _ => "started",
    }
}

/// The drop-in written or removed (and systemd reloaded): the response so far, whether it
/// changed, and what to say.
fn dropin_step(m: &Module, resp: Response) -> Result<(Response, bool, String), Failure> {
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
    let mut resp = resp
        .set("path", &path)
        .set("present", after.is_some())
        .diff(Diff::new(
            path.clone(),
            before.clone().unwrap_or_default(),
            after.clone().unwrap_or_default(),
        ));
    if !changed || m.check_mode() {
        return Ok((resp, changed, msg));
    }
    write(&dropin_path, after.as_deref())?;
    if p.bool("daemon_reload") {
        systemctl::daemon_reload()?;
        resp = resp.set("reloaded", true);
    }
    Ok((resp, changed, msg))
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
