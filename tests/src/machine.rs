//! Lab machines: each host a Debian tree booted with a real systemd as PID 1 by `systemd-nspawn`,
//! with its own hostname, machine-id, SSH host key, sshd on its own loopback address and etcd as
//! a unit, sharing this machine's network stack. A machine can die (its PID 1 is SIGKILLed:
//! every process in it stops at once, so Ansible finds the host UNREACHABLE) and boot again with
//! its files.
//!
//! One read-only tree (`scripts/machine-tree.sh`, cached outside the work tree) is the lower
//! layer of an overlay per machine; the upper layer, in the lab dir, holds everything that is the
//! machine's own. The merged view stays mounted for the lab's life, dead machine or not, so a
//! test can read a dead host's disk as an operator would after pulling it.
//!
//! Without machined (no system bus here) nspawn runs with `--register=no --keep-unit` and makes
//! its `payload/` and `supervisor/` cgroups inside whatever cgroup started it: each machine is
//! started from a cgroup of its own under `etcd-ops-lab/`, removed again at teardown.
//! Everything is found through the pid file the lab wrote, never by process name.

use crate::error::{Context, Error, Result};
use crate::wait;
use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// How long a machine may take from nspawn's start to sshd answering.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// sshd's port on every machine.
pub const SSH_PORT: u16 = 22;
const POLL: Duration = Duration::from_millis(50);
const CGROUP_GROUP: &str = "etcd-ops-lab";

/// The tree builder, relative to the repository root.
const TREE_SCRIPT: &str = "scripts/machine-tree.sh";

/// One machine of a lab: where its layers are and what it is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The lab host's name (`etcd2`).
    pub host: String,
    /// nspawn's machine name, unique across labs: `etcdops-s<slot>-<host>`.
    pub name: String,
    /// The machine's address; sshd and etcd bind only this one...
    pub ip: Ipv4Addr,
    /// ...and sshd this one too: a management address where etcd does not listen.
    pub management_ip: Ipv4Addr,
    /// `<labdir>/machines/<host>`: upper/, work/, root/ (the merged view), nspawn.pid, console.log.
    pub dir: PathBuf,
}

impl Machine {
    pub fn new(lab_dir: &Path, slot: u8, host: &str, ip: Ipv4Addr) -> Machine {
        let index = host
            .strip_prefix("etcd")
            .and_then(|i| i.parse().ok())
            .unwrap_or(1);
        Machine {
            host: host.to_string(),
            name: format!("etcdops-s{slot}-{host}"),
            management_ip: crate::slots::management_ip(slot, index),
            ip,
            dir: lab_dir.join("machines").join(host),
        }
    }

    /// The machine's `/` as this machine sees it (the overlay's merged view).
    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("nspawn.pid")
    }

    /// nspawn's console output (systemd's boot messages), appended across boots.
    pub fn console_log(&self) -> PathBuf {
        self.dir.join("console.log")
    }

    /// Mounts the overlay (the tree below, this machine's layer above) unless it is mounted.
    pub fn mount(&self, tree: &Path) -> Result<()> {
        let ctx = || format!("mounting the disk of machine {}", self.host);
        if is_mounted(&self.root())? {
            return Ok(());
        }
        for d in ["upper", "work", "root"] {
            let p = self.dir.join(d);
            fs::create_dir_all(&p)
                .with_context(|| format!("creating {}", p.display()))
                .with_context(ctx)?;
        }
        // redirect_dir: a directory of the tree (the package's /var/lib/etcd) can be renamed,
        // as on a real disk; without it overlayfs answers EXDEV.
        let opts = format!(
            "redirect_dir=on,lowerdir={},upperdir={},workdir={}",
            tree.display(),
            self.dir.join("upper").display(),
            self.dir.join("work").display()
        );
        run(Command::new("mount")
            .args(["-t", "overlay", "overlay", "-o", &opts])
            .arg(self.root()))
        .with_context(ctx)
        .map(drop)
    }

    /// Unmounts the overlay; the machine's own layer stays in its directory.
    pub fn unmount(&self) -> Result<()> {
        if !is_mounted(&self.root())? {
            return Ok(());
        }
        run(Command::new("umount").arg(self.root()))
            .with_context(|| format!("unmounting the disk of machine {}", self.host))
            .map(drop)
    }

    /// Writes what makes the machine itself: hostname, machine-id, SSH host key, sshd's
    /// address, root's authorized key, and /etc/hosts naming every lab host (so names work on
    /// the machines as on a real network). Returns the host key line for known_hosts.
    pub fn personalize(&self, fqdn: &str, authorized_key: &str, hosts: &str) -> Result<String> {
        let ctx = || format!("setting up machine {}", self.host);
        let root = self.root();
        let put = |rel: &str, data: &[u8], mode: u32| -> Result<()> {
            let p = root.join(rel);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            fs::write(&p, data).with_context(|| format!("writing {}", p.display()))?;
            set_mode(&p, mode)
        };
        put("etc/hostname", format!("{fqdn}\n").as_bytes(), 0o644).with_context(ctx)?;
        put(
            "etc/machine-id",
            format!("{}\n", random_hex(16)?).as_bytes(),
            0o444,
        )
        .with_context(ctx)?;
        put(
            "etc/hosts",
            format!("127.0.0.1 localhost\n{hosts}").as_bytes(),
            0o644,
        )
        .with_context(ctx)?;
        put(
            "etc/ssh/sshd_config.d/listen.conf",
            format!(
                "ListenAddress {}:{SSH_PORT}\nListenAddress {}:{SSH_PORT}\n",
                self.ip, self.management_ip
            )
            .as_bytes(),
            0o644,
        )
        .with_context(ctx)?;
        let key = root.join("etc/ssh/ssh_host_ed25519_key");
        if !key.exists() {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C"])
                .arg(fqdn)
                .arg("-f")
                .arg(&key))
            .with_context(ctx)?;
        }
        put(
            "root/.ssh/authorized_keys",
            authorized_key.as_bytes(),
            0o600,
        )
        .with_context(ctx)?;
        set_mode(&root.join("root/.ssh"), 0o700).with_context(ctx)?;
        let public = fs::read_to_string(key.with_extension("pub"))
            .with_context(|| format!("reading {}.pub", key.display()))?;
        let mut parts = public.split_whitespace();
        let (kind, blob) = (parts.next(), parts.next());
        let (Some(kind), Some(blob)) = (kind, blob) else {
            return Err(Error::msg(format!(
                "{}.pub is not a public key",
                key.display()
            )));
        };
        Ok(format!(
            "{},{} {kind} {blob}\n",
            self.ip, self.management_ip
        ))
    }

    /// Enables (or not) a unit at boot, as `systemctl enable` would for `WantedBy=multi-user.target`.
    pub fn enable_unit(&self, unit: &str, enabled: bool) -> Result<()> {
        let wants = self
            .root()
            .join("etc/systemd/system/multi-user.target.wants");
        fs::create_dir_all(&wants).with_context(|| format!("creating {}", wants.display()))?;
        let link = wants.join(unit);
        let _ = fs::remove_file(&link);
        if enabled {
            std::os::unix::fs::symlink(format!("/usr/lib/systemd/system/{unit}"), &link)
                .with_context(|| format!("enabling {unit} on {}", self.host))?;
        }
        Ok(())
    }

    /// Boots the machine: nspawn started from the machine's own cgroups, its pid recorded.
    /// Returns at once; [`Machine::wait_booted`] waits for sshd.
    pub fn boot(&self) -> Result<u32> {
        let ctx = || format!("booting machine {}", self.host);
        if let Some(pid) = self.nspawn_pid() {
            return Err(Error::msg(format!(
                "{}: already running (nspawn pid {pid})",
                ctx()
            )));
        }
        // A machine of an earlier lab on this slot may have left nspawn's propagation dir.
        let _ = fs::remove_dir_all(Path::new("/run/systemd/nspawn/propagate").join(&self.name));
        let cgroups = cgroup_dirs(&self.name).with_context(ctx)?;
        for c in &cgroups {
            fs::create_dir_all(c)
                .with_context(|| format!("creating cgroup {}", c.display()))
                .with_context(ctx)?;
        }
        self.clear_leftovers().with_context(ctx)?;
        let console = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.console_log())
            .with_context(|| format!("opening {}", self.console_log().display()))?;
        let console2 = console
            .try_clone()
            .context("duplicating the console handle")?;
        // The shell moves itself into the machine's cgroups, then becomes nspawn (same pid).
        let mut script = String::from("set -e; ");
        for c in &cgroups {
            script.push_str(&format!("echo $$ > '{}/cgroup.procs'; ", c.display()));
        }
        script.push_str("exec \"$@\"");
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .arg("systemd-nspawn")
            .args([
                "--quiet",
                "--boot",
                "--register=no",
                "--keep-unit",
                "--link-journal=no",
                "--resolv-conf=off",
                "--timezone=off",
                "--console=passive",
            ])
            .arg(format!("--machine={}", self.name))
            .arg("-D")
            .arg(self.root())
            .stdin(Stdio::null())
            .stdout(console)
            .stderr(console2)
            .process_group(0)
            .spawn()
            .context("spawning systemd-nspawn")
            .with_context(ctx)?;
        let pid = child.id();
        fs::write(self.pid_file(), format!("{pid}\n"))
            .with_context(|| format!("writing {}", self.pid_file().display()))?;
        // Reaped whenever it ends, so a dead machine is not a zombie of the test process.
        std::thread::spawn(move || child.wait());
        Ok(pid)
    }

    /// Waits until the machine's sshd answers (systemd has come far enough to run units).
    pub fn wait_booted(&self, timeout: Duration) -> Result<()> {
        let addr = SocketAddr::from((self.ip, SSH_PORT));
        let mut gone = false;
        let ok = wait::until(timeout, POLL, || {
            gone = self.nspawn_pid().is_none();
            gone || TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        if ok && !gone {
            return Ok(());
        }
        let what = if gone {
            "nspawn exited"
        } else {
            "sshd did not answer"
        };
        Err(Error::msg(format!(
            "machine {} did not boot ({what} after {timeout:?}); last console lines:\n{}",
            self.host,
            crate::lab::tail(&self.console_log(), 20)
        )))
    }

    /// The pid of this machine's running nspawn, from its pid file (checked to be nspawn on
    /// this machine's root, so a recycled pid is never taken for it).
    pub fn nspawn_pid(&self) -> Option<u32> {
        let pid: u32 = fs::read_to_string(self.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        // Unreadable reads as empty: the exec moment below can fail the read too.
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let root = self.root();
        let ours = cmdline
            .split(|b| *b == 0)
            .any(|arg| arg == root.as_os_str().as_encoded_bytes())
            // While the launcher's shell execs nspawn, /proc shows no command line for a moment;
            // a child of this very process is still the one it launched. (Taking that moment for
            // "nspawn exited" booted a second nspawn on the same root: "currently busy".)
            || (cmdline.is_empty() && crate::process::parent_of(pid) == Some(std::process::id()));
        (ours && !crate::process::is_gone(pid)).then_some(pid)
    }

    /// Whether the machine is up (its nspawn runs).
    pub fn is_up(&self) -> bool {
        self.nspawn_pid().is_some()
    }

    /// The machine's PID 1 (systemd), the only child of nspawn.
    fn init_pid(&self) -> Option<u32> {
        let pid = self.nspawn_pid()?;
        let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
        children.split_whitespace().next()?.parse().ok()
    }

    /// The machine dies as a host loses power: SIGKILL to its PID 1 ends every process in it at
    /// once (the kernel kills a PID namespace with its init). Waits until nspawn is gone.
    pub fn kill(&self) -> Result<bool> {
        let Some(nspawn) = self.nspawn_pid() else {
            return Ok(false);
        };
        if let Some(init) = self.init_pid() {
            crate::process::signal(init, crate::process::SIGKILL)
                .with_context(|| format!("killing machine {}", self.host))?;
        } else {
            // Between boot and exec of its init: nspawn itself takes the container down.
            crate::process::signal(nspawn, crate::process::SIGKILL)?;
        }
        let gone = wait::until(Duration::from_secs(30), POLL, || {
            crate::process::is_gone(nspawn)
        });
        if !gone {
            return Err(Error::msg(format!(
                "machine {}: nspawn (pid {nspawn}) still running 30 s after its init was killed",
                self.host
            )));
        }
        let _ = fs::remove_file(self.pid_file());
        // nspawn leaves its mount-propagation directory behind when it dies.
        let _ = fs::remove_dir_all(Path::new("/run/systemd/nspawn/propagate").join(&self.name));
        Ok(true)
    }

    /// Processes in this machine's cgroups. Only the lab's launcher puts a process there, so
    /// any found while this lab's nspawn is not running belong to a machine of an earlier lab on
    /// this slot that was never torn down (its test process killed before its Drop ran, or a
    /// helper of a dying nspawn): they hold the cgroup, and nspawn's lock on a root whose
    /// device and inode numbers a new overlay may reuse.
    fn leftover_pids(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        for c in cgroup_dirs(&self.name).unwrap_or_default() {
            collect_cgroup_pids(&c, &mut pids);
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// SIGKILLs the [`Machine::leftover_pids`] (by pid, all started by this lab's code) and
    /// waits until they are gone, saying what it found.
    fn clear_leftovers(&self) -> Result<()> {
        if self.nspawn_pid().is_some() {
            return Ok(());
        }
        let pids = self.leftover_pids();
        if pids.is_empty() {
            return Ok(());
        }
        eprintln!(
            "etcd-lab: machine {}: processes of an earlier machine still in its cgroup, killed: {}",
            self.host,
            describe_pids(&pids)
        );
        for &pid in &pids {
            crate::process::signal(pid, crate::process::SIGKILL)?;
        }
        let gone = wait::until(Duration::from_secs(30), POLL, || {
            pids.iter().all(|&p| crate::process::is_gone(p))
        });
        if gone {
            Ok(())
        } else {
            Err(Error::msg(format!(
                "machine {}: earlier processes in its cgroup still running 30 s after SIGKILL: {}",
                self.host,
                describe_pids(&self.leftover_pids())
            )))
        }
    }

    /// The processes holding systemd-nspawn's locks on this machine's root (the one beside it
    /// and the one under /run named by its device and inode), from /proc/locks: who makes
    /// nspawn say "Directory tree ... is currently busy".
    pub fn root_lock_holders(&self) -> Vec<u32> {
        use std::os::unix::fs::MetadataExt;
        let root = self.root();
        let mut locks = vec![self.dir.join(".#root.lck")];
        if let Ok(meta) = fs::metadata(&root) {
            locks.push(PathBuf::from(format!(
                "/run/systemd/nspawn/locks/inode-{}:{}",
                meta.dev(),
                meta.ino()
            )));
        }
        let files: Vec<&Path> = locks.iter().map(PathBuf::as_path).collect();
        let mut pids: Vec<u32> = etcd_datadir::locks::held_on(&files)
            .iter()
            .map(|h| h.pid)
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Runs a command inside the running machine as root (all of its namespaces), the way an
    /// operator's shell there would; stdout and stderr are returned.
    pub fn exec(&self, argv: &[&str]) -> Result<Output> {
        let init = self
            .init_pid()
            .with_context(|| format!("machine {} is not running", self.host))?;
        Command::new("nsenter")
            .arg("-t")
            .arg(init.to_string())
            .args(["-m", "-u", "-i", "-p", "-C", "--"])
            .args(argv)
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {argv:?} on machine {}", self.host))
    }

    /// [`Machine::exec`] that fails, with what the command printed, unless it exits 0.
    pub fn exec_ok(&self, argv: &[&str]) -> Result<String> {
        let out = self.exec(argv)?;
        if !out.status.success() {
            return Err(Error::msg(format!(
                "on machine {}: {} exited {}: {}{}",
                self.host,
                argv.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Kills the machine if it runs, unmounts its disk and removes its cgroups.
    pub fn teardown(&self) -> Result<()> {
        self.kill()?;
        self.clear_leftovers()?;
        self.unmount()?;
        for c in cgroup_dirs(&self.name)? {
            remove_cgroup(&c)?;
        }
        Ok(())
    }
}

/// The machine tree's path, built first if it is missing (`scripts/machine-tree.sh`), or an
/// error saying plainly why machines cannot run here.
pub fn tree() -> Result<PathBuf> {
    available()?;
    raise_inotify_instances()?;
    let script = crate::ansible::repo_root().join(TREE_SCRIPT);
    let out = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        return Err(Error::msg(format!(
            "machine lab unavailable: {} failed ({})",
            script.display(),
            out.status
        )));
    }
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !path.join(".etcd-ops-tree").is_file() {
        return Err(Error::msg(format!(
            "machine lab unavailable: {} printed {:?}, not a built tree",
            script.display(),
            path
        )));
    }
    Ok(path)
}

/// Every machine's systemd, journald, logind and dbus each take inotify instances, all counted
/// against root here (no user namespaces): the kernel's default of 128 lets a few labs boot and
/// then makes the next machine's PID 1 fail. Raised, never lowered.
const INOTIFY_INSTANCES: u64 = 8192;

fn raise_inotify_instances() -> Result<()> {
    let path = "/proc/sys/fs/inotify/max_user_instances";
    let now: u64 = fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if now < INOTIFY_INSTANCES {
        fs::write(path, INOTIFY_INSTANCES.to_string())
            .with_context(|| format!("raising {path} from {now} to {INOTIFY_INSTANCES}"))?;
    }
    Ok(())
}

/// Whether this machine can run lab machines: root, a cgroup hierarchy to start them from,
/// overlayfs. The message says what is missing, for the test that needed a machine to print.
pub fn available() -> Result<()> {
    let unavailable = |why: String| Err(Error::msg(format!("machine lab unavailable: {why}")));
    let uid = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|r| r.split_whitespace().next().map(str::to_string))
        })
        .unwrap_or_default();
    if uid != "0" {
        return unavailable(format!(
            "systemd-nspawn and overlay mounts need root (uid is {uid})"
        ));
    }
    if cgroup_roots().is_empty() {
        return unavailable("no writable cgroup hierarchy under /sys/fs/cgroup".to_string());
    }
    let filesystems = fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !filesystems
        .lines()
        .any(|l| l.trim_end().ends_with("overlay"))
    {
        return unavailable("the kernel has no overlay filesystem".to_string());
    }
    Ok(())
}

/// The hierarchies a machine's launcher joins: on a hybrid v1 host the named systemd one and the
/// unified one (nspawn needs both), on a pure v2 host the one root.
fn cgroup_roots() -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    if base.join("cgroup.controllers").exists() {
        return vec![base.to_path_buf()];
    }
    ["systemd", "unified"]
        .iter()
        .map(|h| base.join(h))
        .filter(|p| p.join("cgroup.procs").exists())
        .collect()
}

fn cgroup_dirs(machine: &str) -> Result<Vec<PathBuf>> {
    let roots = cgroup_roots();
    if roots.is_empty() {
        return Err(Error::msg("no cgroup hierarchy under /sys/fs/cgroup"));
    }
    Ok(roots
        .into_iter()
        .map(|r| r.join(CGROUP_GROUP).join(machine))
        .collect())
}

fn collect_cgroup_pids(dir: &Path, pids: &mut Vec<u32>) {
    if let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) {
        pids.extend(procs.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            collect_cgroup_pids(&e.path(), pids);
        }
    }
}

/// `pid (command line)` for each pid, for a message.
pub fn describe_pids(pids: &[u32]) -> String {
    pids.iter()
        .map(|p| {
            let cmd = fs::read(format!("/proc/{p}/cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .split('\0')
                        .filter(|a| !a.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            format!("{p} ({cmd})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Removes a cgroup and the ones systemd made inside it, deepest first (a cgroup is removed
/// with rmdir, and only once it is empty).
fn remove_cgroup(dir: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            remove_cgroup(&e.path())?;
        }
    }
    // Processes leave a cgroup a moment after they are reaped.
    let mut last = None;
    let ok = wait::until(Duration::from_secs(10), POLL, || {
        match fs::remove_dir(dir) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => {
                last = Some(e);
                false
            }
        }
    });
    if ok {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "removing cgroup {}: {}",
            dir.display(),
            last.map(|e| e.to_string()).unwrap_or_default()
        )))
    }
}

/// Whether `path` is a mount point now (per /proc/self/mountinfo).
pub fn is_mounted(path: &Path) -> Result<bool> {
    let info =
        fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    let want = path.to_string_lossy();
    Ok(info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| unescape_mount(m) == want))
}

/// Mount points under `dir` (for checking that a lab left none behind).
pub fn mounts_under(dir: &Path) -> Result<Vec<String>> {
    let info =
        fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    let prefix = format!("{}/", dir.display());
    Ok(info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mount)
        .filter(|m| m.starts_with(&prefix))
        .collect())
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape_mount(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// The lab machines' cgroups still present (for checking that a lab left none behind).
pub fn leftover_cgroups(machine: &str) -> Vec<PathBuf> {
    cgroup_dirs(machine)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.exists())
        .collect()
}

/// uid and gid of `user` in the machine tree's /etc/passwd (the etcd package's user).
pub fn tree_user(root: &Path, user: &str) -> Result<(u32, u32)> {
    let path = root.join("etc/passwd");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && f[0] == user)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        })
        .with_context(|| format!("{}: no user {user}", path.display()))
}

fn run(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(Error::msg(format!(
            "{:?} {:?} exited {}: {}",
            cmd.get_program(),
            cmd.get_args().collect::<Vec<_>>(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out)
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    openssl::rand::rand_bytes(&mut buf).context("random bytes for a machine-id")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_child_of_this_process_names_this_process_as_its_parent() {
        use crate::process::parent_of;
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert_eq!(parent_of(child.id()), Some(std::process::id()));
        assert_eq!(
            parent_of(std::process::id()),
            Some(std::os::unix::process::parent_id())
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(parent_of(u32::MAX), None);
    }

    use super::*;

    #[test]
    fn names_and_paths() {
        let m = Machine::new(
            Path::new("/tmp/lab"),
            7,
            "etcd2",
            Ipv4Addr::new(127, 0, 7, 12),
        );
        assert_eq!(m.name, "etcdops-s7-etcd2");
        assert_eq!(m.root(), Path::new("/tmp/lab/machines/etcd2/root"));
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mount("/tmp/a\\040b"), "/tmp/a b");
    }

    #[test]
    fn passwd_lookup() {
        let dir = std::env::temp_dir().join(format!("etcd-ops-passwd-{}", std::process::id()));
        fs::create_dir_all(dir.join("etc")).unwrap();
        fs::write(
            dir.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/bash\netcd:x:100:101::/var/lib/etcd/:/usr/sbin/nologin\n",
        )
        .unwrap();
        assert_eq!(tree_user(&dir, "etcd").unwrap(), (100, 101));
        assert!(tree_user(&dir, "nobody").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
