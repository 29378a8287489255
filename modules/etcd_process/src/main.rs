//! etcd_process: the `process` runtime's start and stop, for hosts without an init system
//! (containers, the lab). etcd gets exactly its etcd.conf's variables, as systemd's
//! EnvironmentFile would give them; it is found again only through its pid file, and signalled
//! only after /proc confirms it is the etcd of that env file.

mod proc;
mod spawn;

use ansible_module::{run, Context, Failure, Module, ModuleSpec, Opt, Response};
use confedit::EnvFile;
use proc::Identity;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a SIGKILLed etcd may take to disappear.
const KILL_WAIT: Duration = Duration::from_secs(10);

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "etcd_process",
        "Start, stop or restart etcd from its env file, tracked by a pid \
                file",
    )
    .option(
        Opt::path("env_file")
            .doc(
                "The EnvironmentFile holding etcd's C(ETCD_*) variables. It must \
                set C(ETCD_NAME) or C(ETCD_DATA_DIR).",
            )
            .default("/etc/etcd/etcd.conf")
            .help("the EnvironmentFile holding etcd's ETCD_* variables"),
    )
    .option(
        Opt::path("pid_file")
            .doc("Where the running etcd's pid is kept. Its directory must exist.")
            .required()
            .help("where the running etcd's pid is kept"),
    )
    .option(
        Opt::path("log_file")
            .doc(
                "etcd's stdout and stderr are appended here. Its directory must \
                exist.",
            )
            .required()
            .help("etcd's stdout and stderr are appended here"),
    )
    .option(
        Opt::str("state")
            .doc(
                "C(started) starts etcd unless it runs; C(stopped) stops it if it \
                runs; C(restarted) stops it if it runs, then starts it (always \
                changed).",
            )
            .default("started")
            .choices(["started", "stopped", "restarted"])
            .help("started, stopped or restarted"),
    )
    .option(
        Opt::str("binary")
            .doc(
                "The etcd binary, a path or a name looked up in the module's \
                C(PATH).",
            )
            .default("etcd")
            .help("the etcd binary, a path or a name looked up in PATH"),
    )
    .option(
        Opt::int("grace")
            .doc("Seconds between SIGTERM and SIGKILL (0 to 3600).")
            .default(10)
            .help("seconds between SIGTERM and SIGKILL"),
    )
}

struct Target {
    env_file: PathBuf,
    pid_file: PathBuf,
    log_file: PathBuf,
    binary: String,
    grace: Duration,
    vars: Vec<(String, String)>,
    identity: Identity,
}

impl Target {
    fn from(m: &Module) -> Result<Target, Failure> {
        let p = &m.params;
        let env_file = p.path("env_file").unwrap_or_default();
        let text = std::fs::read_to_string(&env_file)
            .with_context(|| format!("reading {}", env_file.display()))?;
        let vars = EnvFile::parse(&text)
            .with_context(|| format!("parsing {}", env_file.display()))?
            .settings();
        // ETCD_NAME and ETCD_DATA_DIR tell this host's etcd from any other on the machine; without
        // either, a pid could not be told apart safely, so nothing would ever be signalled.
        let environ: Vec<String> = vars
            .iter()
            .filter(|(k, _)| k == "ETCD_NAME" || k == "ETCD_DATA_DIR")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if environ.is_empty() {
            return Err(Failure::new(format!(
                "{} sets neither ETCD_NAME nor ETCD_DATA_DIR: its etcd could not be recognised",
                env_file.display()
            )));
        }
        let binary = p.string("binary").unwrap_or_default();
        let base = Path::new(&binary)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let grace = p.int("grace").unwrap_or(10);
        if !(0..=3600).contains(&grace) {
            return Err(Failure::new(format!(
                "grace must be 0..=3600 seconds, got {grace}"
            )));
        }
        Ok(Target {
            pid_file: p.path("pid_file").unwrap_or_default(),
            log_file: p.path("log_file").unwrap_or_default(),
            grace: Duration::from_secs(grace.unsigned_abs()),
            identity: Identity {
                binary: base,
                environ,
            },
            env_file,
            binary,
            vars,
        })
    }

    /// The pid file's pid when it is this env file's etcd, alive.
    fn running(&self) -> Option<u32> {
        proc::read_pid_file(&self.pid_file).filter(|&pid| self.identity.matches(pid))
    }

    fn start(&self) -> Result<u32, Failure> {
        spawn::start(&self.binary, &self.vars, &self.pid_file, &self.log_file)
            .map_err(|e| Failure::new(format!("{}: {e}", self.env_file.display())))
    }

    /// SIGTERM, SIGKILL after the grace period, then wait until the pid is gone.
    fn stop(&self, pid: u32) -> Result<(), Failure> {
        proc::signal(pid, libc::SIGTERM).map_err(Failure::new)?;
        if !wait_gone(pid, self.grace) {
            proc::signal(pid, libc::SIGKILL).map_err(Failure::new)?;
            if !wait_gone(pid, KILL_WAIT) {
                return Err(Failure::new(format!(
                    "etcd (pid {pid}) did not exit after SIGKILL"
                )));
            }
        }
        let _ = std::fs::remove_file(&self.pid_file);
        Ok(())
    }
}

fn wait_gone(pid: u32, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        if proc::is_gone(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() {
    run(spec(), |m| {
        let t = Target::from(m)?;
        let state = m.params.string("state").unwrap_or_default();
        let before = t.running();
        // A pid file naming anything but our etcd is stale: replaced on start, removed on stop.
        let stale = before.is_none() && t.pid_file.exists();
        let check = m.check_mode();
        let (changed, msg, pid) = match (state.as_str(), before) {
            ("started", Some(pid)) => (false, format!("etcd is running (pid {pid})"), Some(pid)),
            ("stopped", None) => {
                if stale && !check {
                    std::fs::remove_file(&t.pid_file)
                        .with_context(|| format!("removing stale {}", t.pid_file.display()))?;
                }
                (stale, "etcd is stopped".to_string(), None)
            }
            ("stopped", Some(pid)) if check => (true, format!("would stop etcd (pid {pid})"), None),
            ("stopped", Some(pid)) => {
                t.stop(pid)?;
                (true, format!("stopped etcd (pid {pid})"), None)
            }
            (_, _) if check => (true, format!("would {} etcd", verb(&state)), before),
            (_, prev) => {
                if let Some(pid) = prev {
                    t.stop(pid)?;
                }
                let pid = t.start()?;
                (
                    true,
                    format!("{} etcd (pid {pid})", past(&state)),
                    Some(pid),
                )
            }
        };
        Ok(Response::new()
            .changed(changed)
            .msg(msg)
            .set("pid", pid)
            .set("previous_pid", before)
            .set("running", pid.is_some())
            .set("pid_file", &t.pid_file)
            .set("log_file", &t.log_file))
    })
}

fn verb(state: &str) -> &'static str {
    if state == "restarted" {
        "restart"
    } else {
        "start"
    }
}

fn past(state: &str) -> &'static str {
    if state == "restarted" {
        "restarted"
    } else {
        "started"
    }
}
