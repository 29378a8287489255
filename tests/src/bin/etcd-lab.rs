//! `etcd-lab`: the lab from the command line, for `make lab`, `make demo` and manual poking.
//! `up` leaves the cluster running after it exits; every other command reopens the lab from
//! `<dir>/lab.json`.

use clap::{value_parser, Arg, ArgMatches, Command};
use lab::{Context, Error, Lab, LabOptions, Result, Runtime};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const DEFAULT_PREFIX: &str = "/lab/";

fn cli() -> Command {
    let dir = || {
        Arg::new("dir")
            .long("dir")
            .required(true)
            .value_parser(value_parser!(PathBuf))
            .help("The lab directory")
    };
    let host = || {
        Arg::new("host")
            .required(true)
            .help("Host name, e.g. etcd2")
    };
    let prefix = || {
        Arg::new("prefix")
            .long("prefix")
            .default_value(DEFAULT_PREFIX)
            .help("Key prefix")
    };
    Command::new("etcd-lab")
        .about("Real etcd clusters on loopback addresses with mutual TLS")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("up")
                .about("Create a lab, start its members, print the inventory path; the lab keeps running")
                .arg(
                    Arg::new("members")
                        .long("members")
                        .default_value("3")
                        .value_parser(value_parser!(usize)),
                )
                .arg(
                    Arg::new("spares")
                        .long("spares")
                        .default_value("0")
                        .value_parser(value_parser!(usize)),
                )
                .arg(
                    Arg::new("dir")
                        .long("dir")
                        .value_parser(value_parser!(PathBuf))
                        .help("Lab directory (default: a fresh one under the temp dir)"),
                )
                .arg(
                    Arg::new("machines")
                        .long("machines")
                        .action(clap::ArgAction::SetTrue)
                        .help("Make every host a machine: systemd booted by systemd-nspawn, reached over SSH, real paths"),
                )
                .arg(
                    Arg::new("runtime")
                        .long("runtime")
                        .help("etcd_runtime: process (default), static_pod, or systemd (default with --machines)"),
                )
                .arg(
                    Arg::new("etcd-version")
                        .long("etcd-version")
                        .help("Run a legacy etcd that `make legacy-etcd` built: 3.3.11 or 3.2.32 (default: the system's 3.4)"),
                )
                .arg(
                    Arg::new("slot")
                        .long("slot")
                        .default_value("0")
                        .help("Address slot 0..=250, or `auto` for any free one of 1..=250 (0 is the make lab/demo slot)"),
                ),
        )
        .subcommand(Command::new("down").about("Stop every etcd of the lab").arg(dir()))
        .subcommand(Command::new("kill").about("SIGKILL a host's etcd").arg(dir()).arg(host()))
        .subcommand(Command::new("stop").about("SIGTERM a host's etcd and wait").arg(dir()).arg(host()))
        .subcommand(Command::new("start").about("Start a host's etcd from its etcd.conf").arg(dir()).arg(host()))
        .subcommand(
            Command::new("kill-host")
                .about("The host's whole machine dies at once (Ansible finds it UNREACHABLE)")
                .arg(dir())
                .arg(host()),
        )
        .subcommand(
            Command::new("revive-host")
                .about("Boot a dead machine again, with its files")
                .arg(dir())
                .arg(host()),
        )
        .subcommand(
            Command::new("ssh")
                .about("Print the ssh command that logs into a machine as the inventory does")
                .arg(dir())
                .arg(host()),
        )
        .subcommand(
            Command::new("put")
                .about("Write COUNT keys <prefix><n>")
                .arg(dir())
                .arg(prefix())
                .arg(
                    Arg::new("count")
                        .long("count")
                        .required(true)
                        .value_parser(value_parser!(usize)),
                ),
        )
        .subcommand(Command::new("count").about("Count keys under a prefix").arg(dir()).arg(prefix()))
        .subcommand(Command::new("status").about("Hosts, processes, health and members").arg(dir()))
}

fn main() -> ExitCode {
    match run(cli().get_matches()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("etcd-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(m: ArgMatches) -> Result<()> {
    let (cmd, args) = m.subcommand().context("no command")?;
    if cmd == "up" {
        return up(args);
    }
    let dir = args
        .get_one::<PathBuf>("dir")
        .context("--dir is required")?;
    let lab = Lab::open(dir)?;
    let host = || {
        args.get_one::<String>("host")
            .map(String::as_str)
            .unwrap_or("")
    };
    match cmd {
        "down" => lab.down(),
        "kill" => lab.kill(host()),
        "stop" => lab.stop(host()),
        "start" => {
            lab.start(host())?;
            lab.wait_healthy(&[host()], Duration::from_secs(30))
        }
        "kill-host" => lab.kill_host(host()),
        "revive-host" => lab.revive_host(host()),
        "ssh" => {
            println!("{}", lab.ssh_command(host())?.join(" "));
            Ok(())
        }
        "put" => {
            let count = *args.get_one::<usize>("count").context("--count")?;
            lab.put_keys(prefix(args), count)
        }
        "count" => {
            println!("{}", lab.count_keys(prefix(args))?);
            Ok(())
        }
        "status" => status(&lab),
        other => Err(Error::msg(format!("unknown command {other}"))),
    }
}

fn up(args: &ArgMatches) -> Result<()> {
    let slot = match args.get_one::<String>("slot").map(String::as_str) {
        Some("auto") => None,
        Some(s) => Some(
            s.parse::<u8>()
                .ok()
                .filter(|s| *s <= 250)
                .with_context(|| format!("--slot {s}: expected 0..=250 or auto"))?,
        ),
        None => Some(0),
    };
    let machines = args.get_flag("machines");
    let runtime = match args.get_one::<String>("runtime") {
        Some(r) => Runtime::from_name(r)?,
        None if machines => Runtime::Systemd,
        None => Runtime::Process,
    };
    let etcd = match args.get_one::<String>("etcd-version") {
        Some(v) => lab::EtcdBuild::legacy(v)?,
        None => lab::EtcdBuild::default(),
    };
    let mut lab = Lab::up(LabOptions {
        machines,
        runtime,
        members: *args.get_one::<usize>("members").context("--members")?,
        spares: *args.get_one::<usize>("spares").context("--spares")?,
        dir: args.get_one::<PathBuf>("dir").cloned(),
        slot,
        etcd,
        ..Default::default()
    })?;
    lab.keep();
    eprintln!(
        "etcd-lab: {} members up on slot {} in {}; stop with `etcd-lab down --dir {}`",
        lab.member_names().len(),
        lab.slot(),
        lab.dir().display(),
        lab.dir().display()
    );
    println!("{}", lab.inventory_path().display());
    Ok(())
}

fn prefix(args: &ArgMatches) -> &str {
    args.get_one::<String>("prefix")
        .map(String::as_str)
        .unwrap_or(DEFAULT_PREFIX)
}

/// Collects the whole report first and writes it once, ignoring a closed pipe (`| head`).
fn status(lab: &Lab) -> Result<()> {
    use std::fmt::Write as _;
    use std::io::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "lab {} (slot {})", lab.dir().display(), lab.slot());
    for h in lab.hosts() {
        let machine = match lab.machine(&h.name) {
            Ok(m) if m.is_up() => "up",
            Ok(_) => "DOWN",
            Err(_) => "-",
        };
        let role = if lab.member_names().contains(&h.name) {
            "member"
        } else {
            "spare"
        };
        let pid = lab.pid(&h.name)?;
        let health = match pid {
            Some(_) if lab.is_healthy(&h.name)? => "healthy",
            Some(_) => "unhealthy",
            None => "-",
        };
        let pid = pid.map_or("stopped".to_string(), |p| format!("pid {p}"));
        let _ = writeln!(
            out,
            "{:<6} {:<6} {:<15} machine {:<5} {:<12} {}",
            h.name, role, h.ip, machine, pid, health
        );
    }
    match lab.member_list() {
        Ok(members) => {
            let _ = writeln!(out, "members:");
            for m in members {
                let name = if m.is_started() {
                    m.name.as_str()
                } else {
                    "(unstarted)"
                };
                let learner = if m.is_learner { " learner" } else { "" };
                let _ = writeln!(
                    out,
                    "  {:x} {} {}{}",
                    m.id,
                    name,
                    m.peer_urls.join(","),
                    learner
                );
            }
        }
        Err(e) => {
            let _ = writeln!(out, "members: unavailable ({e})");
        }
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(())
}
