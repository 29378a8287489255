//! The systemctl calls, each failing with what systemctl said.

use crate::service::{Step, UnitState};
use ansible_module::Failure;
use std::net::{TcpStream, ToSocketAddrs};
use std::process::Command;
use std::time::{Duration, Instant};

fn systemctl(args: &[&str]) -> Result<String, Failure> {
    let what = format!("systemctl {}", args.join(" "));
    let out = Command::new("systemctl")
        .args(args)
        .output()
        .map_err(|e| Failure::new(format!("running {what}: {e}")))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    Err(Failure::new(format!(
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

pub fn show(unit: &str) -> Result<UnitState, Failure> {
    systemctl(&["show", "-p", "LoadState", "-p", "ActiveState", "--", unit])
        .map(|s| UnitState::parse(&s))
}

pub fn run(step: Step, unit: &str) -> Result<(), Failure> {
    let args: &[&str] = match step {
        Step::ResetFailed => &["reset-failed", "--", unit],
        Step::Stop => &["stop", "--", unit],
        Step::Start => &["start", "--no-block", "--", unit],
    };
    systemctl(args).map(|_| ())
}

/// systemd reads a changed drop-in only after a reload; without one the next start would run
/// the old command line.
pub fn daemon_reload() -> Result<(), Failure> {
    systemctl(&["daemon-reload"]).map(|_| ())
}

/// `host:port` as a socket address text, IPv6 hosts bracketed.
fn addr_text(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// One try: something at `host:port` takes a TCP connection.
pub fn takes_connection(host: &str, port: u16) -> bool {
    let addrs: Vec<_> = addr_text(host, port)
        .to_socket_addrs()
        .map(|a| a.collect())
        .unwrap_or_default();
    addrs
        .iter()
        .any(|a| TcpStream::connect_timeout(a, Duration::from_millis(500)).is_ok())
}

/// Whether `host:port` takes a connection within `timeout_s`, asked while `unit` runs: an
/// etcd just started opens its port a moment after systemd calls it active.
pub fn listens_within(unit: &str, host: &str, port: u16, timeout_s: u64) -> Result<bool, Failure> {
    let deadline = Instant::now() + Duration::from_secs(timeout_s);
    loop {
        if takes_connection(host, port) {
            return Ok(true);
        }
        if Instant::now() >= deadline || !show(unit)?.runs() {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Until `host:port` takes a connection. A unit that fails meanwhile (systemd gave up
/// restarting it) ends the wait at once, with the unit's last log lines.
pub fn wait_listening(unit: &str, host: &str, port: u16, timeout_s: u64) -> Result<(), Failure> {
    let deadline = Instant::now() + Duration::from_secs(timeout_s);
    let addr_text = addr_text(host, port);
    loop {
        if takes_connection(host, port) {
            return Ok(());
        }
        if show(unit)?.active == "failed" {
            let log = Command::new("journalctl")
                .args(["-u", unit, "-n", "5", "--no-pager", "-o", "cat"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            return Err(Failure::new(format!(
                "{unit} failed while starting, before {addr_text} took a connection{}",
                if log.is_empty() {
                    String::new()
                } else {
                    format!(": {log}")
                }
            )));
        }
        if Instant::now() >= deadline {
            return Err(Failure::new(format!(
                "{unit} started but nothing took a connection at {addr_text} within {timeout_s} s"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
