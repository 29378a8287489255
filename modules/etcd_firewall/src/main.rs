//! etcd_firewall: seed 003's "open 2379/tcp and 2380/tcp on the new etcd host" step (37.2.2,
//! docs/procedures.md), as
//! openshift-ansible's os_firewall does it: an OS_FIREWALL_ALLOW chain jumped to from INPUT
//! with one ACCEPT rule per port, live and in /etc/sysconfig/iptables; or firewalld's runtime
//! and permanent configuration when firewalld runs. Only what is missing changes.

mod exec;
mod firewalld;
mod iptables;
mod rules;
mod saved;

use ansible_module::{run, Diff, Failure, Kind, Module, ModuleSpec, Opt, Response};
use exec::{Runner, System, Tool};
use iptables::SavedPlan;
use rules::{Request, State};
use serde_json::json;
use std::path::PathBuf;

/// Names iptables reserves: a chain cannot be called like a target or a built-in chain.
const RESERVED: [&str; 10] = [
    "INPUT",
    "FORWARD",
    "OUTPUT",
    "PREROUTING",
    "POSTROUTING",
    "ACCEPT",
    "DROP",
    "REJECT",
    "RETURN",
    "QUEUE",
];

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "etcd_firewall",
        "Open (or close) etcd's ports in iptables (live and \
                /etc/sysconfig/iptables) or firewalld",
    )
    .option(
        Opt::list("ports", Kind::Int)
            .doc("Ports to accept; duplicates are ignored.")
            .default(json!([2379, 2380]))
            .help("ports to accept: etcd's client and peer ports"),
    )
    .option(
        Opt::str("protocol")
            .doc("Protocol of the ports.")
            .default("tcp")
            .choices(["tcp", "udp"])
            .help("tcp or udp"),
    )
    .option(
        Opt::str("chain")
            .doc(
                "The iptables chain holding the ACCEPT rules, jumped to from \
                C(INPUT).\nC(OS_FIREWALL_ALLOW) is the name the OpenShift \
                installer uses, so an OpenShift host's existing chain is reused.",
            )
            .default("OS_FIREWALL_ALLOW")
            .help(
                "the iptables chain holding the ACCEPT rules, jumped to from \
                INPUT",
            ),
    )
    .option(
        Opt::str("state")
            .doc(
                "C(present) opens the ports; C(absent) removes their rules (chain \
                and jump stay).",
            )
            .default("present")
            .choices(["present", "absent"])
            .help("present opens the ports, absent removes their rules"),
    )
    .option(
        Opt::str("backend")
            .doc(
                "C(auto) uses firewalld if it runs, else iptables if anything \
                filters, else does nothing.\nC(iptables) and C(firewalld) force \
                one (C(firewalld) fails unless it runs); C(none) leaves the \
                firewall alone.",
            )
            .default("auto")
            .choices(["auto", "iptables", "firewalld", "none"])
            .help(
                "auto: firewalld if running, else iptables if anything filters, \
                else nothing",
            ),
    )
    .option(
        Opt::path("saved_file")
            .doc("The ruleset iptables-services restores at boot.")
            .default("/etc/sysconfig/iptables")
            .help("the ruleset iptables-services restores at boot"),
    )
    .option(
        Opt::str("zone")
            .doc(
                "The firewalld zone; firewalld's default zone when not given. \
                Ignored by iptables.",
            )
            .help("firewalld zone (default: firewalld's default zone)"),
    )
    .option(
        Opt::bool("backup")
            .doc(
                "Keep a copy of the old saved file named \
                C(<saved_file>.<YYYY-MM-DD@HH:MM:SS>~) before changing it.",
            )
            .default(false)
            .help("keep a timestamped copy of the saved file"),
    )
    .option(
        Opt::str("iptables")
            .doc(
                "The iptables binary, a path or a name looked up in C(PATH), then \
                C(/usr/sbin), C(/sbin).",
            )
            .default("iptables")
            .help("iptables binary, a path or a name"),
    )
    .option(
        Opt::str("iptables_save")
            .doc(
                "The iptables-save binary, used only to create a missing \
                I(saved_file).",
            )
            .default("iptables-save")
            .help("iptables-save binary, used to create a missing saved file"),
    )
    .option(
        Opt::str("firewall_cmd")
            .doc("The firewall-cmd binary.")
            .default("firewall-cmd")
            .help("firewall-cmd binary"),
    )
}

struct Task {
    req: Request,
    backend: String,
    saved_file: PathBuf,
    zone: Option<String>,
    backup: bool,
    iptables: String,
    iptables_save: String,
    firewall_cmd: String,
}

fn task(m: &Module) -> Result<Task, Failure> {
    let p = &m.params;
    let mut ports: Vec<u16> = Vec::new();
    for v in p
        .get("ports")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        let port = v
            .as_i64()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| Failure::new(format!("ports: {v} is not a port number (1-65535)")))?;
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    if ports.is_empty() {
        return Err("ports: give at least one port".into());
    }
    let chain = p.string("chain").unwrap_or_default();
    let chain_ok = !chain.is_empty()
        && chain.len() <= 28
        && chain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        && !chain.starts_with('-');
    if !chain_ok {
        return Err(format!(
            "chain: `{chain}` is not an iptables chain name (1-28 letters, digits, _ - .)"
        )
        .into());
    }
    if RESERVED.contains(&chain.as_str()) {
        return Err(format!(
            "chain: `{chain}` is a built-in chain or target; name a chain of its own"
        )
        .into());
    }
    let zone = p.string("zone");
    if let Some(z) = &zone {
        if z.is_empty()
            || !z
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
        {
            return Err(format!("zone: `{z}` is not a firewalld zone name").into());
        }
    }
    let state = match p.str("state") {
        Some("absent") => State::Absent,
        _ => State::Present,
    };
    Ok(Task {
        req: Request {
            chain,
            protocol: p.string("protocol").unwrap_or_else(|| "tcp".into()),
            ports,
            state,
        },
        backend: p.string("backend").unwrap_or_else(|| "auto".into()),
        saved_file: p.path("saved_file").unwrap_or_default(),
        zone,
        backup: p.bool("backup"),
        iptables: p.string("iptables").unwrap_or_default(),
        iptables_save: p.string("iptables_save").unwrap_or_default(),
        firewall_cmd: p.string("firewall_cmd").unwrap_or_default(),
    })
}

/// `firewall-cmd --state`: exit 0 ("running") when firewalld is the active firewall.
fn firewalld_running(runner: &dyn Runner, tool: &Tool) -> bool {
    let args = vec!["--state".to_string()];
    runner
        .run(&tool.path, &args)
        .is_ok_and(|o| o.code == Some(0))
}

fn base(t: &Task, backend: &str) -> Response {
    Response::new()
        .set("backend", backend)
        .set("ports", &t.req.ports)
        .set("protocol", &t.req.protocol)
        .set("commands", Vec::<String>::new())
}

fn main() {
    run(spec(), |m| {
        let t = task(m)?;
        let runner = System;
        let found = |name: &str, what: &str| {
            exec::find(name).ok_or_else(|| {
                Failure::new(format!(
                    "{what}: `{name}` not found (looked in PATH, /usr/sbin, /sbin)"
                ))
            })
        };
        match t.backend.as_str() {
            "none" => Ok(base(&t, "none").msg("backend none: the firewall is left alone")),
            "firewalld" => {
                let tool = found(&t.firewall_cmd, "backend firewalld")?;
                if !firewalld_running(&runner, &tool) {
                    return Err(format!(
                        "backend firewalld: firewalld is not running (`{} --state` says so)",
                        t.firewall_cmd
                    )
                    .into());
                }
                with_firewalld(m, &t, &runner, &tool)
            }
            "iptables" => {
                let tool = found(&t.iptables, "backend iptables")?;
                with_iptables(m, &t, &runner, &tool, false)
            }
            _ => {
                if let Some(fw) = exec::find(&t.firewall_cmd) {
                    if firewalld_running(&runner, &fw) {
                        return with_firewalld(m, &t, &runner, &fw);
                    }
                }
                match exec::find(&t.iptables) {
                    Some(tool) => with_iptables(m, &t, &runner, &tool, true),
                    None => Ok(base(&t, "none").msg(format!(
                        "no firewall on this host: no `{}` binary and firewalld is not running; nothing filters, so nothing to {}",
                        t.iptables,
                        verb(t.req.state)
                    ))),
                }
            }
        }
    })
}

fn verb(state: State) -> &'static str {
    match state {
        State::Present => "open",
        State::Absent => "close",
    }
}

fn with_firewalld(
    m: &Module,
    t: &Task,
    runner: &dyn Runner,
    tool: &Tool,
) -> Result<Response, Failure> {
    let shown = firewalld::apply(runner, tool, &t.req, t.zone.as_deref(), m.check_mode()).map_err(
        |(e, ran)| {
            Failure::new(e)
                .with("backend", "firewalld")
                .with("commands", ran)
        },
    )?;
    let ports = t.req.ports_text();
    let zone = t
        .zone
        .as_deref()
        .map(|z| format!(" zone {z}"))
        .unwrap_or_default();
    let msg = match (shown.is_empty(), t.req.state, m.check_mode()) {
        (true, State::Present, _) => {
            format!("{ports} already open in firewalld{zone} (runtime and permanent)")
        }
        (true, State::Absent, _) => {
            format!("{ports} already closed in firewalld{zone} (runtime and permanent)")
        }
        (false, _, check) => format!(
            "{}{} {ports} in firewalld{zone}: {} change(s) to runtime and permanent configuration",
            if check { "would " } else { "" },
            if check {
                verb(t.req.state)
            } else if t.req.state == State::Present {
                "opened"
            } else {
                "closed"
            },
            shown.len()
        ),
    };
    let mut resp = base(t, "firewalld")
        .changed(!shown.is_empty())
        .msg(msg)
        .set("commands", &shown);
    if let Some(z) = &t.zone {
        resp = resp.set("zone", z);
    }
    Ok(resp)
}

fn with_iptables(
    m: &Module,
    t: &Task,
    runner: &dyn Runner,
    tool: &Tool,
    auto: bool,
) -> Result<Response, Failure> {
    let rs = iptables::snapshot(runner, tool)?;
    let path = &t.saved_file;
    if auto && rs.input_filters_nothing() && !path.exists() {
        return Ok(base(t, "none").msg(format!(
            "no firewall on this host: iptables' INPUT chain has no rules and policy ACCEPT, {} does not exist and \
             firewalld is not running; nothing filters, so nothing to {}",
            path.display(),
            verb(t.req.state)
        )));
    }
    let plan = rules::plan_live(&rs, &t.req);
    let saved = iptables::plan_saved(path, &t.req, || {
        let save = exec::find(&t.iptables_save).ok_or_else(|| {
            format!(
                "creating {}: `{}` not found (looked in PATH, /usr/sbin, /sbin)",
                path.display(),
                t.iptables_save
            )
        })?;
        let args: Vec<String> = ["-t", "filter"].map(String::from).to_vec();
        save.run(runner, &args, &[0]).map(|o| o.stdout)
    })?;

    let check = m.check_mode();
    let shown = iptables::run_plan(runner, tool, &plan, check).map_err(|(e, ran)| {
        Failure::new(e)
            .with("backend", "iptables")
            .with("commands", ran)
            .with("saved_file_changed", false)
    })?;
    let mut resp = base(t, "iptables")
        .set("chain", &t.req.chain)
        .set("commands", &shown);
    for w in &plan.warnings {
        resp.warn(w);
    }
    let mut done: Vec<String> = Vec::new();
    if plan.created_chain {
        done.push(format!("created chain {}", t.req.chain));
    }
    if plan.added_jump {
        done.push("jumped to it from INPUT".to_string());
    }
    let with_proto = |ports: &[u16]| {
        ports
            .iter()
            .map(|p| format!("{p}/{}", t.req.protocol))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !plan.added.is_empty() {
        done.push(format!("accepted {} live", with_proto(&plan.added)));
    }
    if !plan.removed.is_empty() {
        done.push(format!(
            "removed the rules for {} live",
            with_proto(&plan.removed)
        ));
    }
    let saved_changed = saved.changed();
    match &saved {
        SavedPlan::Skip(why) => {
            resp = resp.set("saved_file", serde_json::Value::Null);
            if let Some(why) = why {
                resp.warn(why);
            }
        }
        SavedPlan::Edit {
            path,
            before,
            after,
            created,
        } => {
            resp = resp.set("saved_file", path.display().to_string());
            if saved_changed {
                done.push(format!(
                    "{} {}",
                    if *created { "created" } else { "edited" },
                    path.display()
                ));
                resp = resp.diff(Diff::new(path.display().to_string(), before, after));
                if !check {
                    if t.backup && !created {
                        let b = confedit::backup(path).map_err(|e| saved_failure(e, &shown))?;
                        resp = resp.set("backup_file", b.display().to_string());
                    }
                    // iptables-services keeps its file owner-only; a created one gets the same.
                    let written = if *created {
                        confedit::write_atomic_mode(path, after.as_bytes(), 0o600)
                    } else {
                        confedit::write_atomic(path, after.as_bytes())
                    };
                    written.map_err(|e| saved_failure(e, &shown))?;
                }
            }
        }
    }
    let changed = !shown.is_empty() || saved_changed;
    let ports = t.req.ports_text();
    let chain = &t.req.chain;
    let msg = if !changed {
        let place = match &saved {
            SavedPlan::Edit { path, .. } => format!("live and in {}", path.display()),
            SavedPlan::Skip(_) => "live".to_string(),
        };
        match t.req.state {
            State::Present => format!("{ports} already open: iptables chain {chain}, {place}"),
            State::Absent => format!(
                "{ports} already closed: no rule for them in iptables chain {chain}, {place}"
            ),
        }
    } else if check {
        format!("would have: {}", done.join("; "))
    } else {
        done.join("; ")
    };
    Ok(resp
        .changed(changed)
        .msg(msg)
        .set("saved_file_changed", saved_changed))
}

/// The live rules are in place but the file write failed: say both.
fn saved_failure(e: confedit::Error, ran: &[String]) -> Failure {
    Failure::new(format!(
        "{e} (the live rules were changed: {} command(s) ran)",
        ran.len()
    ))
    .with("backend", "iptables")
    .with("commands", ran)
    .with("saved_file_changed", false)
}
