//! etcd on a lab machine, driven the way an operator's shell on that host drives it: the etcd
//! unit (systemd runtime) or the kubelet stand-in's pod (static_pod). Every pid here is one the
//! machine's own systemd or kubelet recorded; nothing is looked up by name.

use crate::error::{Error, Result};
use crate::lab::Runtime;
use crate::machine::Machine;
use crate::wait;
use std::time::Duration;

/// A runtime drop-in that keeps a killed etcd down: the RPM's unit says `Restart=on-failure`,
/// so without it systemd would bring a "crashed" member straight back. In /run, so a machine
/// that dies and boots again has forgotten it, as a real host would.
const CRASHED_DROPIN: &str = "/run/systemd/system/etcd.service.d/lab-crashed.conf";
/// The kubelet stand-in's record of the etcd it runs.
const POD_PID: &str = "/run/etcd-pod.pid";
const MANIFEST: &str = "/etc/origin/node/pods/etcd.yaml";
const SETTLE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

/// Starts the host's etcd and returns its pid (in the machine's pid namespace) once it runs.
/// The unit is started without waiting for its readiness: etcd 3.4 reports ready only once it
/// has published itself, which a member without quorum never does.
pub fn start(m: &Machine, runtime: Runtime) -> Result<u32> {
    match runtime {
        Runtime::StaticPod => {
            if !m.root().join(&MANIFEST[1..]).is_file() {
                return Err(Error::msg(format!(
                    "{}: {MANIFEST} is not in the kubelet's directory, so no etcd pod can start",
                    m.host
                )));
            }
            // The stand-in starts etcd when it sees the manifest appear, which a restart is.
            m.exec_ok(&["systemctl", "restart", "atomic-openshift-node"])?;
        }
        _ => {
            m.exec_ok(&[
                "sh",
                "-c",
                &format!(
                    "if [ -e {CRASHED_DROPIN} ]; then rm -f {CRASHED_DROPIN}; systemctl daemon-reload; fi; \
                     systemctl reset-failed etcd 2>/dev/null; systemctl start --no-block etcd"
                ),
            ])?;
        }
    }
    let mut pid = None;
    wait::until(SETTLE, POLL, || {
        pid = running_pid(m, runtime);
        pid.is_some()
    });
    pid.ok_or_else(|| {
        Error::msg(format!(
            "{}: etcd did not start; {}",
            m.host,
            log_tail(m, runtime, 15)
        ))
    })
}

/// Stops the host's etcd cleanly (SIGTERM) and waits until it is gone.
pub fn stop(m: &Machine, runtime: Runtime) -> Result<()> {
    match runtime {
        Runtime::StaticPod => signal_pod(m, "TERM")?,
        _ => {
            m.exec_ok(&["systemctl", "stop", "etcd"])?;
        }
    }
    wait_gone(m, runtime)
}

/// Crashes the host's etcd (SIGKILL); it stays down until [`start`].
pub fn kill(m: &Machine, runtime: Runtime) -> Result<()> {
    match runtime {
        Runtime::StaticPod => signal_pod(m, "KILL")?,
        _ => {
            m.exec_ok(&[
                "sh",
                "-c",
                &format!(
                    "mkdir -p \"$(dirname {CRASHED_DROPIN})\" && printf '[Service]\\nRestart=no\\n' > {CRASHED_DROPIN} \
                     && systemctl daemon-reload && systemctl kill --signal=SIGKILL etcd"
                ),
            ])?;
        }
    }
    wait_gone(m, runtime)
}

/// The pid of the host's running etcd, if the machine is up and etcd runs on it.
pub fn running_pid(m: &Machine, runtime: Runtime) -> Option<u32> {
    if !m.is_up() {
        return None;
    }
    let script = match runtime {
        Runtime::StaticPod => {
            format!("p=$(cat {POD_PID} 2>/dev/null) && kill -0 \"$p\" 2>/dev/null && echo \"$p\"")
        }
        _ => "systemctl show --property=MainPID --value etcd".to_string(),
    };
    let out = m.exec(&["sh", "-c", &script]).ok()?;
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    (pid != 0).then_some(pid)
}

/// The last lines etcd logged on the host, for failure messages.
pub fn log_tail(m: &Machine, runtime: Runtime, lines: usize) -> String {
    match runtime {
        Runtime::StaticPod => crate::lab::tail(&m.root().join("var/log/etcd.log"), lines),
        _ if m.is_up() => m
            .exec(&[
                "journalctl",
                "--no-pager",
                "-u",
                "etcd",
                "-n",
                &lines.to_string(),
            ])
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|e| e.to_string()),
        _ => format!(
            "(machine {} is down; its journal is in {}/var/log/journal)",
            m.host,
            m.root().display()
        ),
    }
}

fn signal_pod(m: &Machine, sig: &str) -> Result<()> {
    m.exec_ok(&[
        "sh",
        "-c",
        &format!(
            "p=$(cat {POD_PID} 2>/dev/null) || exit 0; kill -{sig} \"$p\" 2>/dev/null || true"
        ),
    ])
    .map(drop)
}

fn wait_gone(m: &Machine, runtime: Runtime) -> Result<()> {
    if wait::until(SETTLE, POLL, || running_pid(m, runtime).is_none()) {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "{}: etcd still running {SETTLE:?} after it was told to stop",
            m.host
        )))
    }
}
