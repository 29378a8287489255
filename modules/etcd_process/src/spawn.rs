//! Starting etcd the way systemd would from `EnvironmentFile=`: a clean environment holding only
//! PATH and the file's variables, stdin from /dev/null, output appended to the log, in a session
//! of its own so that it outlives the module and Ansible's connection.

use std::fs;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a fresh etcd must stay alive before the start counts: a bad flag, a taken port or an
/// unreadable data dir make etcd exit within this.
const SETTLE: Duration = Duration::from_millis(1500);
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Spawns etcd and writes its pid file. Fails, with the log's last lines, if etcd exits at once.
pub fn start(
    binary: &str,
    vars: &[(String, String)],
    pid_file: &Path,
    log_file: &Path,
) -> Result<u32, String> {
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_file)
        .map_err(|e| format!("opening log file {}: {e}", log_file.display()))?;
    let _ = writeln!(
        log,
        "=== etcd_process: starting {binary} (unix time {}) ===",
        unix_now()
    );
    let stderr = log
        .try_clone()
        .map_err(|e| format!("duplicating the log handle: {e}"))?;
    let path = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.into());
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("PATH", path)
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr);
    // SAFETY: setsid(2) is async-signal-safe, the only kind of call allowed between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| format!("starting {binary}: {e}"))?;
    let pid = child.id();
    write_pid_file(pid_file, pid)?;
    if let Some(status) = exited_within(&mut child, SETTLE) {
        let _ = fs::remove_file(pid_file);
        return Err(format!(
            "etcd exited at once ({status}); last lines of {}:\n{}",
            log_file.display(),
            tail(log_file, 20)
        ));
    }
    Ok(pid)
}

fn exited_within(child: &mut Child, wait: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Atomic, so a reader (the lab, a test killing a member) never sees a half-written pid.
fn write_pid_file(path: &Path, pid: u32) -> Result<(), String> {
    let tmp = path.with_extension("pid.tmp");
    fs::write(&tmp, format!("{pid}\n"))
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| format!("writing pid file {}: {e}", path.display()))
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
