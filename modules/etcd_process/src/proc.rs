//! What a pid is: alive, and the etcd this env file describes. Every signal goes through
//! [`Identity::matches`] first, so a stale pid file whose pid the kernel has given to another
//! process (or to another host's etcd on the same machine) is never signalled.

use std::fs;
use std::path::Path;

/// How an etcd started from one env file is recognised among the host's processes.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Basename of the etcd binary (argv[0]'s basename must equal it).
    pub binary: String,
    /// `KEY=value` entries its environment must contain (ETCD_NAME, ETCD_DATA_DIR).
    pub environ: Vec<String>,
}

impl Identity {
    /// True when `pid` is a live process running this binary with this env file's identity.
    pub fn matches(&self, pid: u32) -> bool {
        if is_gone(pid) {
            return false;
        }
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            return false;
        };
        let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        let argv0 = String::from_utf8_lossy(argv0);
        let base = Path::new(argv0.as_ref())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if base != self.binary {
            return false;
        }
        let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
            return false;
        };
        let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
        self.environ
            .iter()
            .all(|want| vars.contains(&want.as_bytes()))
    }
}

/// No such process, or only a zombie waiting for its parent (its sockets are closed already).
pub fn is_gone(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    // Field 3 follows the parenthesised command name, which may itself hold spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    matches!(state, Some("Z") | Some("X") | None)
}

/// Sends `sig` to exactly one process. Pids <= 0 address process groups and are refused.
pub fn signal(pid: u32, sig: i32) -> Result<(), String> {
    let p = i32::try_from(pid).map_err(|_| format!("pid {pid} out of range"))?;
    if p <= 0 {
        return Err(format!("refusing to signal pid {p}"));
    }
    // SAFETY: kill(2) has no memory-safety preconditions.
    if unsafe { libc::kill(p, sig) } != 0 {
        let err = std::io::Error::last_os_error();
        // Gone between the check and the signal: what we wanted anyway.
        if err.raw_os_error() != Some(libc::ESRCH) {
            return Err(format!("kill({p}, {sig}): {err}"));
        }
    }
    Ok(())
}

/// The pid a pid file names, if it holds one.
pub fn read_pid_file(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_but_not_etcd() {
        let me = std::process::id();
        assert!(!is_gone(me));
        let id = Identity {
            binary: "etcd".into(),
            environ: vec![],
        };
        assert!(!id.matches(me));
    }

    #[test]
    fn group_pids_are_refused() {
        assert!(signal(0, 0).is_err());
    }
}
