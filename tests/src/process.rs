//! Running etcd the way the `process` runtime does on a host without an init system: the
//! environment comes from etcd.conf (re-read on every start, so a playbook's edits count),
//! output goes to the host's log, the pid to the host's pid file, and stopping is by signal to
//! that pid. Nothing is ever looked up or signalled by process name.

use crate::envfile;
use crate::error::{Context, Error, Result};
use crate::layout::Host;
use crate::wait;
use std::fs;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long `stop` waits after SIGTERM before it sends SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long a process may take to disappear after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

pub(crate) const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

extern "C" {
    // libc's kill(2); std links libc already and the lab may not add the `libc` crate.
    fn kill(pid: i32, sig: i32) -> i32;
}

/// The etcd binary: `$LAB_ETCD_BIN`, else `/usr/bin/etcd`.
pub fn etcd_bin() -> PathBuf {
    std::env::var_os("LAB_ETCD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/etcd"))
}

/// Starts etcd on `host` with exactly the environment in its etcd.conf (plus PATH), in its own
/// process group so that a Ctrl-C to the CLI that started it does not reach it, and records the
/// pid. Returns the pid.
pub fn start(host: &Host) -> Result<u32> {
    start_with(host, &etcd_bin())
}

/// [`start`] with the etcd binary `bin` (a lab on a legacy build).
pub fn start_with(host: &Host, bin: &Path) -> Result<u32> {
    let ctx = || format!("starting etcd on {}", host.name);
    if let Some(pid) = running_pid(host) {
        return Err(Error::msg(format!(
            "{}: etcd is already running as pid {pid}",
            ctx()
        )));
    }
    let vars = envfile::read(&host.etcd_conf()).with_context(ctx)?;
    let log_path = host.log_file();
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))
        .with_context(ctx)?;
    writeln!(
        log,
        "=== etcd-lab: starting {} for {} (unix time {}) ===",
        bin.display(),
        host.name,
        unix_now()
    )
    .with_context(|| format!("writing {}", log_path.display()))?;
    let stderr = log.try_clone().context("duplicating the log handle")?;
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    let mut child = Command::new(bin)
        .env_clear()
        .env("PATH", path)
        .envs(vars)
        .current_dir(&host.root)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .with_context(|| format!("spawning {}", bin.display()))
        .with_context(ctx)?;
    let pid = child.id();
    write_pid_file(&host.pid_file(), pid).with_context(ctx)?;
    // Reap the child whenever it exits so that a killed etcd does not linger as a zombie of the
    // process that started it (a zombie still "exists" for kill(pid, 0)).
    std::thread::spawn(move || child.wait());
    Ok(pid)
}

/// The pid in the host's pid file, if that process is alive and is this host's etcd.
pub fn running_pid(host: &Host) -> Option<u32> {
    let pid = read_pid_file(&host.pid_file())?;
    is_ours_and_alive(pid, host).then_some(pid)
}

/// SIGKILL the host's etcd and wait until it is gone. Returns whether it was running.
pub fn kill_host(host: &Host) -> Result<bool> {
    stop_hosts(&[host], Duration::ZERO).map(|stopped| !stopped.is_empty())
}

/// SIGTERM the host's etcd, SIGKILL after `grace`, and wait until it is gone.
pub fn stop_host(host: &Host, grace: Duration) -> Result<bool> {
    stop_hosts(&[host], grace).map(|stopped| !stopped.is_empty())
}

/// Stops several hosts' etcds and removes their pid files. With a grace period they go one at
/// a time (SIGTERM, SIGKILL after `grace`): an etcd leader that receives SIGTERM first hands
/// leadership to a live peer, which is quick while the peers still run but waits out a request
/// timeout (about 5 s) when they are all shutting down at once. A zero grace SIGKILLs them all at
/// once. Returns the names of the hosts that had a running etcd.
pub fn stop_hosts(hosts: &[&Host], grace: Duration) -> Result<Vec<String>> {
    let targets: Vec<(&Host, u32)> = hosts
        .iter()
        .filter_map(|h| running_pid(h).map(|pid| (*h, pid)))
        .collect();
    if grace.is_zero() {
        terminate(&targets, SIGKILL, KILL_WAIT)?;
    } else {
        for t in &targets {
            let one = std::slice::from_ref(t);
            if !terminate(one, SIGTERM, grace)? {
                terminate(one, SIGKILL, KILL_WAIT)?;
            }
        }
    }
    let still: Vec<String> = targets
        .iter()
        .filter(|(_, pid)| !is_gone(*pid))
        .map(|(h, pid)| format!("{} (pid {pid})", h.name))
        .collect();
    if !still.is_empty() {
        return Err(Error::msg(format!(
            "etcd did not exit after SIGKILL: {}",
            still.join(", ")
        )));
    }
    for (h, _) in &targets {
        let _ = fs::remove_file(h.pid_file());
    }
    Ok(targets.iter().map(|(h, _)| h.name.clone()).collect())
}

/// Sends `sig` to each target and waits up to `wait` for all of them to be gone.
fn terminate(targets: &[(&Host, u32)], sig: i32, wait: Duration) -> Result<bool> {
    for (h, pid) in targets {
        signal(*pid, sig).with_context(|| format!("signalling etcd on {}", h.name))?;
    }
    Ok(wait::until(wait, POLL, || {
        targets.iter().all(|(_, pid)| is_gone(*pid))
    }))
}

pub(crate) fn signal(pid: u32, sig: i32) -> Result<()> {
    let pid = i32::try_from(pid).context("pid out of range")?;
    // Never 0 or negative: those address process groups, and the lab signals single processes.
    if pid <= 0 {
        return Err(Error::msg(format!("refusing to signal pid {pid}")));
    }
    // SAFETY: kill(2) has no memory-safety preconditions.
    let rc = unsafe { kill(pid, sig) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        // Already gone between the check and the signal: that is what we wanted.
        if err.raw_os_error() != Some(3) {
            return Err(Error::msg(format!("kill({pid}, {sig}): {err}")));
        }
    }
    Ok(())
}

/// True when `pid` is a live process whose environment points into this host's root. The
/// environment check guards against a stale pid file whose pid the kernel has since given to an
/// unrelated process, possibly another lab's etcd. Only used before signalling: a process that
/// is exiting loses its environment before it is gone, so "gone" is [`is_gone`]'s question.
fn is_ours_and_alive(pid: u32, host: &Host) -> bool {
    if is_gone(pid) {
        return false;
    }
    let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let marker = format!("{}/", host.root.display());
    environ
        .split(|b| *b == 0)
        .any(|var| contains(var, marker.as_bytes()))
}

/// The fields of /proc/<pid>/stat after the parenthesised command name (which may itself
/// contain spaces): state first, then the parent pid.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(String::from).collect())
}

/// No such process, or only a zombie waiting to be reaped (its sockets are closed already).
pub fn is_gone(pid: u32) -> bool {
    let state = stat_fields(pid).and_then(|f| f.into_iter().next());
    matches!(state.as_deref(), Some("Z") | Some("X") | None)
}

/// The parent pid, while the process exists.
pub(crate) fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn read_pid_file(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Atomic, so a reader never sees an empty or half-written pid.
fn write_pid_file(path: &Path, pid: u32) -> Result<()> {
    let tmp = path.with_extension("pid.tmp");
    fs::write(&tmp, format!("{pid}\n")).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("renaming {} into place", tmp.display()))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
