//! [`Lab`]: one running lab cluster and everything it owns (slot, files, etcd processes).

use crate::client::{self, Member, TlsFiles};
use crate::error::{Context, Error, Result};
use crate::inventory::{self, InventorySpec};
use crate::kubelet::{self, Kubelet};
use crate::layout::{self, Host, Shared};
use crate::legacy::{self, EtcdBuild};
use crate::machine::{self, Machine};
use crate::machine_etcd;
use crate::pki::{Ca, Usage};
use crate::process;
use crate::slots::{self, SlotLock, MAX_HOSTS};
use crate::state::LabState;
use crate::wait;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// How long [`Lab::up`] waits for a fresh cluster to become healthy.
pub const UP_TIMEOUT: Duration = Duration::from_secs(60);
/// Grace between SIGTERM and SIGKILL when a lab is dropped.
const DROP_GRACE: Duration = Duration::from_secs(5);

/// How to build a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabOptions {
    /// Hosts started as the initial cluster (`[etcd]`, `[masters]`), 1..=7. Default 3.
    pub members: usize,
    /// Hosts with certificates and files but no etcd running (`[new_etcd]`). Default 0.
    pub spares: usize,
    /// Where to build the lab. Default: a fresh directory under `std::env::temp_dir()`,
    /// removed again when the lab is dropped (kept if the thread is panicking, for post-mortem).
    pub dir: Option<PathBuf>,
    /// The address slot. Default: any free slot in 1..=250; slot 0 is for `make lab`/`make demo`.
    pub slot: Option<u8>,
    /// How the members' etcds run (`etcd_runtime` in the inventory). Default [`Runtime::Process`];
    /// [`Runtime::Systemd`] needs `machines`.
    pub runtime: Runtime,
    /// Make every host a machine (a booted systemd host reached over SSH, at the real paths)
    /// instead of a directory of this machine. Default false.
    pub machines: bool,
    /// The etcd the members run. Default: the system's; [`EtcdBuild::legacy`] for 3.3/3.2
    /// (process labs, or machines: see [`LabOptions::legacy_machines`]).
    pub etcd: EtcdBuild,
    /// Serve the v2 API too (`ETCD_ENABLE_V2=true`), as etcd 3.2/3.3 did by default: clusters
    /// upgraded from OpenShift 3.x keep flannel's config in the v2 store. Default false.
    pub enable_v2: bool,
    /// `ETCD_QUOTA_BACKEND_BYTES` on every host: a quota small enough to fill in a test makes
    /// etcd raise NOSPACE. Default None (etcd's own, 2 GiB).
    pub quota_backend_bytes: Option<u64>,
}

impl LabOptions {
    /// Three member machines over SSH running the RPM's etcd unit (the systemd runtime): what
    /// the playbook scenario tests start from.
    pub fn machines() -> LabOptions {
        LabOptions {
            machines: true,
            runtime: Runtime::Systemd,
            ..Default::default()
        }
    }

    /// [`LabOptions::machines`] running the legacy etcd `version` (`3.3.11`, `3.2.32`) as the
    /// RHEL 7 RPM installed it. Fails, saying to run `make legacy-etcd`, when it is not built.
    pub fn legacy_machines(version: &str) -> Result<LabOptions> {
        Ok(LabOptions {
            etcd: EtcdBuild::legacy(version)?,
            ..LabOptions::machines()
        })
    }
}

/// The lab's `etcd_runtime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Runtime {
    /// The lab (and the playbooks' etcd_process module) start etcd directly.
    #[default]
    Process,
    /// A kubelet stand-in per member runs etcd while its manifest is in the pods directory.
    StaticPod,
    /// etcd is the RHEL RPM's unit on a machine's systemd (machines only).
    Systemd,
}

impl Runtime {
    /// The inventory's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Process => "process",
            Runtime::StaticPod => "static_pod",
            Runtime::Systemd => "systemd",
        }
    }

    /// The runtime named `name` (the inventory's spelling).
    pub fn from_name(name: &str) -> Result<Runtime> {
        [Runtime::Process, Runtime::StaticPod, Runtime::Systemd]
            .into_iter()
            .find(|r| r.name() == name)
            .with_context(|| {
                format!("unknown etcd runtime {name:?} (process, static_pod, systemd)")
            })
    }
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            members: 3,
            spares: 0,
            dir: None,
            slot: None,
            runtime: Runtime::Process,
            machines: false,
            etcd: EtcdBuild::default(),
            enable_v2: false,
            quota_backend_bytes: None,
        }
    }
}

/// A running lab. Dropping it stops every etcd of its hosts (SIGTERM, then SIGKILL after a
/// grace period), found through their pid files, unless [`Lab::keep`] was called; so a test that
/// panics still stops its etcds.
#[derive(Debug)]
pub struct Lab {
    dir: PathBuf,
    slot: u8,
    hosts: Vec<Host>,
    members: Vec<String>,
    spares: Vec<String>,
    tls: TlsFiles,
    _slot_lock: Option<SlotLock>,
    keep: bool,
    owns_dir: bool,
    /// The static_pod runtime's kubelet stand-ins, stopped before the etcds on drop.
    kubelets: Vec<Kubelet>,
    /// One per host when the hosts are machines, in the order of `hosts`.
    machines: Vec<Machine>,
    runtime: Runtime,
    etcd: EtcdBuild,
}

impl Lab {
    /// Generates the lab (CA, certificates, host trees, inventory, lab.json), starts the member
    /// hosts' etcds and waits until each one answers a linearizable read over mutual TLS.
    pub fn up(opts: LabOptions) -> Result<Lab> {
        if !(1..=MAX_HOSTS).contains(&opts.members) || opts.members + opts.spares > MAX_HOSTS {
            return Err(Error::msg(format!(
                "a lab has 1..={MAX_HOSTS} members and at most {MAX_HOSTS} hosts in all \
                 (asked for {} members + {} spares)",
                opts.members, opts.spares
            )));
        }
        match (opts.machines, opts.runtime) {
            (false, Runtime::Systemd) => {
                return Err(Error::msg(
                    "the systemd runtime needs machines (LabOptions::machines, etcd-lab up --machines)",
                ))
            }
            (true, Runtime::Process) => {
                return Err(Error::msg(
                    "machines run etcd as a unit or a static pod: use the systemd or static_pod runtime",
                ))
            }
            _ => {}
        }
        if opts.etcd.version.is_some() && !opts.machines && opts.runtime != Runtime::Process {
            return Err(Error::msg(
                "a legacy etcd build runs in process labs or on machines (the kubelet stand-in \
                 of a process lab runs the system's etcd)",
            ));
        }
        // Before the slot and the directory: a machine lab that cannot run says so first.
        let tree = if opts.machines {
            Some(machine::tree()?)
        } else {
            None
        };
        let lock = match opts.slot {
            Some(s) => slots::claim(s)?,
            None => slots::claim_any()?,
        };
        let slot = lock.slot();
        let (dir, owns_dir) = match &opts.dir {
            Some(d) => (prepare_dir(d)?, false),
            None => (fresh_temp_dir(slot)?, true),
        };
        let state = LabState {
            slot,
            members: (1..=opts.members).map(|i| format!("etcd{i}")).collect(),
            spares: (opts.members + 1..=opts.members + opts.spares)
                .map(|i| format!("etcd{i}"))
                .collect(),
            machines: opts.machines,
            runtime: opts.runtime.name().to_string(),
            etcd_version: opts.etcd.version.clone(),
        };
        state.save(&dir)?;
        // From here on a failure must not leave etcds or machines behind: the Lab exists, so
        // `?` drops it.
        let mut lab = Lab::from_state(dir.clone(), state, Some(lock), false, owns_dir)?;
        if let Some(tree) = &tree {
            for m in &lab.machines {
                m.mount(tree)?;
            }
        }
        let hosts = lab.hosts.clone();
        let (members, spares) = hosts.split_at(opts.members);
        generate(&dir, members, spares, opts.runtime, &lab.machines)
            .with_context(|| format!("generating lab in {}", dir.display()))?;
        if opts.enable_v2 {
            for h in &hosts {
                layout::enable_v2(h)?;
            }
        }
        if let Some(bytes) = opts.quota_backend_bytes {
            for h in &hosts {
                layout::set_quota(h, bytes)?;
            }
        }
        if opts.machines {
            if opts.etcd.version.is_some() {
                for m in &lab.machines {
                    legacy::install_on_machine(&opts.etcd, &m.root())
                        .with_context(|| format!("machine {}", m.host))?;
                }
            }
            lab.boot_machines(members)?;
        }
        match opts.runtime {
            _ if opts.machines => {}
            Runtime::Process => {
                for name in &lab.members {
                    lab.start(name)?;
                }
            }
            Runtime::StaticPod => {
                for h in members {
                    let manifest = h.static_pod_dir().join(kubelet::MANIFEST);
                    layout::write_public(&manifest, kubelet::manifest(h).as_bytes())?;
                    lab.kubelets.push(Kubelet::spawn(h.clone()));
                }
            }
            // Validated above: only machines run the systemd runtime.
            Runtime::Systemd => {}
        }
        let names: Vec<&str> = lab.members.iter().map(String::as_str).collect();
        lab.wait_healthy(&names, UP_TIMEOUT)?;
        Ok(lab)
    }

    /// Reopens a lab created earlier (possibly by another process, e.g. `etcd-lab up`). The
    /// returned value does not own the processes: dropping it stops nothing, [`Lab::down`] does.
    pub fn open(dir: &Path) -> Result<Lab> {
        let dir = dir
            .canonicalize()
            .with_context(|| format!("opening lab dir {}", dir.display()))?;
        let state = LabState::load(&dir)?;
        Lab::from_state(dir, state, None, true, false)
    }

    fn from_state(
        dir: PathBuf,
        state: LabState,
        lock: Option<SlotLock>,
        keep: bool,
        owns_dir: bool,
    ) -> Result<Lab> {
        let hosts: Vec<Host> = state
            .members
            .iter()
            .chain(&state.spares)
            .filter_map(|n| n.strip_prefix("etcd")?.parse().ok())
            .map(|i| {
                if state.machines {
                    Host::on_machine(&dir, state.slot, i)
                } else {
                    Host::new(&dir, state.slot, i)
                }
            })
            .collect();
        let machines = if state.machines {
            hosts
                .iter()
                .map(|h| Machine::new(&dir, state.slot, &h.name, h.ip))
                .collect()
        } else {
            Vec::new()
        };
        let runtime = Runtime::from_name(&state.runtime)?;
        let etcd = match &state.etcd_version {
            Some(v) => EtcdBuild::legacy(v)?,
            None => EtcdBuild::default(),
        };
        let client = dir.join("client");
        Ok(Lab {
            tls: TlsFiles {
                ca: client.join("ca.crt"),
                cert: client.join("client.crt"),
                key: client.join("client.key"),
            },
            dir,
            slot: state.slot,
            hosts,
            members: state.members,
            spares: state.spares,
            _slot_lock: lock,
            keep,
            owns_dir,
            kubelets: Vec::new(),
            machines,
            runtime,
            etcd,
        })
    }

    /// Boots every machine at once, enabling etcd (or the kubelet with its manifest) on the
    /// members as an installed etcd host has it, then waits until each one's sshd answers.
    fn boot_machines(&self, members: &[Host]) -> Result<()> {
        for (h, m) in self.hosts.iter().zip(&self.machines) {
            let member = members.contains(h);
            // Every OpenShift 3.11 node runs its kubelet; the members are the masters too, whose
            // API server is a static pod (restore-snapshot.yml moves its manifest away and back).
            m.enable_unit("atomic-openshift-node.service", true)?;
            if member {
                let api = h.static_pod_dir().join("apiserver.yaml");
                layout::write_public(&api, kubelet::apiserver_manifest(h).as_bytes())?;
            }
            match self.runtime {
                Runtime::StaticPod if member => {
                    let manifest = h.static_pod_dir().join(kubelet::MANIFEST);
                    layout::write_public(&manifest, kubelet::manifest(h).as_bytes())?;
                }
                Runtime::StaticPod => {}
                _ => m.enable_unit("etcd.service", member)?,
            }
        }
        for m in &self.machines {
            m.boot()?;
        }
        for m in &self.machines {
            if let Err(first) = m.wait_booted(machine::BOOT_TIMEOUT) {
                // nspawn that exits at once (seen when many machines boot side by side) gets
                // one more try, saying why; a machine that hangs does not.
                if m.is_up() {
                    return Err(first);
                }
                eprintln!("etcd-lab: booting {} again: {first}", m.host);
                // nspawn's "Directory tree ... is currently busy": wait for whoever holds its
                // lock on this root, and name it, before trying again.
                let holders = m.root_lock_holders();
                if !holders.is_empty() {
                    eprintln!(
                        "etcd-lab: {}'s root is locked by {}",
                        m.host,
                        machine::describe_pids(&holders)
                    );
                    wait::until(Duration::from_secs(30), Duration::from_millis(100), || {
                        m.root_lock_holders().is_empty()
                    });
                }
                m.boot()?;
                m.wait_booted(machine::BOOT_TIMEOUT)?;
            }
        }
        Ok(())
    }

    /// Whether the hosts are machines.
    pub fn has_machines(&self) -> bool {
        !self.machines.is_empty()
    }

    /// The lab's `etcd_runtime`.
    pub fn runtime(&self) -> Runtime {
        self.runtime
    }

    /// The machine of host `name` (machine labs only).
    pub fn machine(&self, name: &str) -> Result<&Machine> {
        self.machines
            .iter()
            .find(|m| m.host == name)
            .with_context(|| {
                format!(
                    "{name} is not a machine of the lab at {}",
                    self.dir.display()
                )
            })
    }

    /// The host's whole machine dies at once (power pulled): Ansible finds it UNREACHABLE.
    pub fn kill_host(&self, name: &str) -> Result<()> {
        let m = self.machine(name)?;
        if !m.kill()? {
            return Err(Error::msg(format!("machine {name} was not running")));
        }
        Ok(())
    }

    /// Boots a dead machine again, with its files; returns once its sshd answers (its etcd,
    /// if enabled, starts on its own as on a real host).
    pub fn revive_host(&self, name: &str) -> Result<()> {
        let m = self.machine(name)?;
        m.boot()?;
        m.wait_booted(machine::BOOT_TIMEOUT)
    }

    /// The ssh command line that logs into host `name` as the inventory does.
    pub fn ssh_command(&self, name: &str) -> Result<Vec<String>> {
        let h = self.host(name)?;
        self.machine(name)?;
        let ssh = self.dir.join("ssh");
        Ok(vec![
            "ssh".into(),
            "-i".into(),
            ssh.join("id_ed25519").display().to_string(),
            "-o".into(),
            format!("UserKnownHostsFile={}", ssh.join("known_hosts").display()),
            "-o".into(),
            "StrictHostKeyChecking=yes".into(),
            format!("root@{}", h.ip),
        ])
    }

    /// Leave the processes (and the directory) in place when this value is dropped.
    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// The lab directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The address slot: hosts are 127.0.<slot>.(10+i).
    pub fn slot(&self) -> u8 {
        self.slot
    }

    /// All hosts, members first, then spares.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// Names of the hosts that formed the initial cluster.
    pub fn member_names(&self) -> &[String] {
        &self.members
    }

    /// Names of the spare hosts (`[new_etcd]`).
    pub fn spare_names(&self) -> &[String] {
        &self.spares
    }

    /// A host by name (`etcd1`, ...).
    pub fn host(&self, name: &str) -> Result<&Host> {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .with_context(|| format!("no host {name:?} in the lab at {}", self.dir.display()))
    }

    /// The etcd build the members run.
    pub fn etcd_build(&self) -> &EtcdBuild {
        &self.etcd
    }

    /// Client URLs of the member hosts.
    pub fn endpoints(&self) -> Vec<String> {
        self.member_hosts().map(Host::client_url).collect()
    }

    /// The client certificate, key and CA used by etcdctl and Ansible (`<labdir>/client/`).
    pub fn client_tls(&self) -> &TlsFiles {
        &self.tls
    }

    /// The connection options of the etcd modules for this lab (every member's client URL,
    /// the client certificate), with `timeout` seconds: the one place a test builds them.
    pub fn conn_args(&self, timeout: u64) -> serde_json::Value {
        let tls = self.client_tls();
        serde_json::json!({
            "endpoints": self.endpoints(),
            "ca_cert": tls.ca,
            "client_cert": tls.cert,
            "client_key": tls.key,
            "timeout": timeout,
        })
    }

    /// `<labdir>/hosts.ini`.
    pub fn inventory_path(&self) -> PathBuf {
        self.dir.join("hosts.ini")
    }

    /// Starts the host's etcd from its current etcd.conf. Returns the pid.
    /// On a machine the pid is in the machine's pid namespace.
    pub fn start(&self, name: &str) -> Result<u32> {
        match self.machine(name) {
            Ok(m) => machine_etcd::start(m, self.runtime),
            Err(_) => process::start_with(self.host(name)?, &self.etcd.etcd),
        }
    }

    /// SIGKILL the host's etcd and wait until it is gone (a crash, not a shutdown).
    pub fn kill(&self, name: &str) -> Result<()> {
        match self.machine(name) {
            Ok(m) => machine_etcd::kill(m, self.runtime),
            Err(_) => process::kill_host(self.host(name)?).map(drop),
        }
    }

    /// SIGTERM the host's etcd and wait until it has exited (SIGKILL after a grace period).
    pub fn stop(&self, name: &str) -> Result<()> {
        match self.machine(name) {
            Ok(m) => machine_etcd::stop(m, self.runtime),
            Err(_) => process::stop_host(self.host(name)?, process::STOP_GRACE).map(drop),
        }
    }

    /// Gives a machine's data dir a disk of its own, as etcd's hardware guide advises: etcd
    /// stopped, a tmpfs mounted at /var/lib/etcd inside the machine (the host's view of its
    /// tree does not see it) holding the same files, etcd started again. A playbook that
    /// renames the data dir fails there (EBUSY), as on a real dedicated disk.
    pub fn give_data_dir_its_own_disk(&self, name: &str) -> Result<()> {
        let m = self.machine(name)?;
        self.stop(name)?;
        m.exec_ok(&[
            "sh",
            "-ec",
            "mv /var/lib/etcd /var/lib/etcd.pre; mkdir /var/lib/etcd
             mount -t tmpfs -o mode=0700 etcd-disk /var/lib/etcd
             cp -a /var/lib/etcd.pre/. /var/lib/etcd/; chown etcd:etcd /var/lib/etcd
             rm -rf /var/lib/etcd.pre",
        ])?;
        self.start(name).map(drop)
    }

    /// Whether the host's pid file names a live etcd of this host.
    pub fn is_running(&self, name: &str) -> Result<bool> {
        Ok(self.pid(name)?.is_some())
    }

    /// The pid of the host's running etcd, if any (on a machine: in its pid namespace).
    pub fn pid(&self, name: &str) -> Result<Option<u32>> {
        Ok(self.etcd_pid(self.host(name)?))
    }

    fn etcd_pid(&self, h: &Host) -> Option<u32> {
        match self.machine(&h.name) {
            Ok(m) => machine_etcd::running_pid(m, self.runtime),
            Err(_) => process::running_pid(h),
        }
    }

    fn log_tail(&self, h: &Host, lines: usize) -> String {
        match self.machine(&h.name) {
            Ok(m) => machine_etcd::log_tail(m, self.runtime, lines),
            Err(_) => format!(
                "--- last lines of {} ---\n{}",
                h.log_file().display(),
                tail(&h.log_file(), lines)
            ),
        }
    }

    /// Whether the host's etcd answers a linearizable read (so: up, and in a quorum).
    pub fn is_healthy(&self, name: &str) -> Result<bool> {
        Ok(client::probe(&self.host(name)?.client_url(), &self.tls).is_ok())
    }

    /// Waits until every named host answers a linearizable read, or fails after `timeout` with
    /// each laggard's last error and the tail of its etcd log.
    pub fn wait_healthy(&self, names: &[&str], timeout: Duration) -> Result<()> {
        let hosts: Vec<&Host> = names.iter().map(|n| self.host(n)).collect::<Result<_>>()?;
        let mut pending: Vec<&Host> = hosts.clone();
        let mut last_errors: Vec<String> = Vec::new();
        let mut exited = false;
        let ok = wait::until(timeout, Duration::from_millis(100), || {
            last_errors.clear();
            pending.retain(|h| match client::probe(&h.client_url(), &self.tls) {
                Ok(()) => false,
                Err(e) => {
                    last_errors.push(format!("{}: {e}", h.name));
                    true
                }
            });
            // An etcd that exited (bad config, port taken) will not become healthy: say so
            // now, with its log, instead of after the whole timeout.
            exited = pending.iter().any(|h| self.etcd_pid(h).is_none());
            pending.is_empty() || exited
        });
        if ok && !exited {
            return Ok(());
        }
        if exited {
            pending.retain(|h| self.etcd_pid(h).is_none());
        }
        let what = if exited {
            "etcd is not running".to_string()
        } else {
            format!("not healthy after {timeout:?}")
        };
        let mut msg = format!("{what}: {}", last_errors.join("; "));
        for h in &pending {
            msg.push_str(&format!("\n{}: {}", h.name, self.log_tail(h, 15)));
        }
        Err(Error::msg(msg))
    }

    /// Writes `count` keys `<prefix><i:08>` = `value-<i>` in batched transactions (100,000 keys
    /// take a few seconds).
    pub fn put_keys(&self, prefix: &str, count: usize) -> Result<()> {
        client::put_keys(&self.live_endpoints(), &self.tls, prefix, count)
    }

    /// The backup bundles (directories with a MANIFEST.json) in the host's backup dir, the
    /// `etcd_backup_dir` the lab's tests give backup.yml, oldest first.
    pub fn backup_bundles(&self, name: &str) -> Result<Vec<PathBuf>> {
        let dir = self.host(name)?.root.join("var/backup/etcd");
        let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        out.retain(|p| p.join("MANIFEST.json").is_file());
        out.sort();
        Ok(out)
    }

    /// Number of keys under `prefix` (linearizable).
    pub fn count_keys(&self, prefix: &str) -> Result<u64> {
        let n = client::count_keys(&self.live_endpoints(), &self.tls, prefix)?;
        u64::try_from(n).context("negative count from etcd")
    }

    /// The value of `key` as text (linearizable), or None.
    pub fn get(&self, key: &str) -> Result<Option<String>> {
        client::get(&self.live_endpoints(), &self.tls, key)?
            .map(|v| String::from_utf8(v).with_context(|| format!("value of {key:?} is not UTF-8")))
            .transpose()
    }

    /// Puts one key (through the first live member).
    pub fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        client::put(&self.live_endpoints(), &self.tls, key, value)
    }

    /// Overwrites `key` with `value_bytes`-byte values until etcd raises NOSPACE
    /// ([`client::fill_until_nospace`]); returns the number of puts it took.
    pub fn fill_until_nospace(
        &self,
        key: &str,
        value_bytes: usize,
        max_puts: usize,
    ) -> Result<usize> {
        client::fill_until_nospace(
            &self.live_endpoints(),
            &self.tls,
            key,
            value_bytes,
            max_puts,
        )
    }

    /// The cluster's members, as etcd sees them.
    pub fn member_list(&self) -> Result<Vec<Member>> {
        client::member_list(&self.live_endpoints(), &self.tls)
    }

    /// The members' ids in the order etcd lists them: what a test compares before and after a
    /// run that must change no membership.
    pub fn member_ids(&self) -> Vec<u64> {
        self.member_list()
            .expect("member list")
            .iter()
            .map(|m| m.id)
            .collect()
    }

    /// Each member as (name, started, learner), sorted: what the membership tests compare
    /// against [`voters`].
    pub fn member_states(&self) -> Vec<(String, bool, bool)> {
        let mut m: Vec<(String, bool, bool)> = self
            .member_list()
            .expect("member list")
            .into_iter()
            .map(|m| (m.name.clone(), m.is_started(), m.is_learner))
            .collect();
        m.sort();
        m
    }

    /// Runs `etcdctl` (API v3) against the member endpoints with the lab's client certificate.
    pub fn etcdctl<I, S>(&self, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.etcdctl_as(&self.tls.cert, &self.tls.key, args)
    }

    /// [`Lab::etcdctl`] with another client pair (a master's, say), against the lab's CA.
    pub fn etcdctl_as<I, S>(&self, cert: &Path, key: &Path, args: I) -> Result<Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let bin = &self.etcd.etcdctl;
        Command::new(bin)
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.endpoints().join(",")))
            .arg(format!("--cacert={}", self.tls.ca.display()))
            .arg(format!("--cert={}", cert.display()))
            .arg(format!("--key={}", key.display()))
            .args(args)
            .output()
            .with_context(|| format!("running {}", bin.display()))
    }

    /// Stops every etcd of the lab (SIGTERM, SIGKILL after a grace period) and, for a lab in a
    /// directory it created itself, removes that directory.
    pub fn down(mut self) -> Result<()> {
        self.keep = true;
        self.kubelets.clear();
        self.stop_all(process::STOP_GRACE)?;
        self.teardown_machines()?;
        if self.owns_dir {
            std::fs::remove_dir_all(&self.dir)
                .with_context(|| format!("removing {}", self.dir.display()))?;
        }
        Ok(())
    }

    fn stop_all(&self, grace: Duration) -> Result<Vec<String>> {
        if self.has_machines() {
            return Ok(Vec::new());
        }
        let all: Vec<&Host> = self.hosts.iter().collect();
        process::stop_hosts(&all, grace)
    }

    /// Every machine killed, its disk unmounted, its cgroups removed; the first error is
    /// returned after all were tried, so one stuck machine does not keep the others up.
    fn teardown_machines(&self) -> Result<()> {
        let mut first = None;
        for m in &self.machines {
            if let Err(e) = m.teardown() {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn member_hosts(&self) -> impl Iterator<Item = &Host> {
        self.hosts.iter().filter(|h| self.members.contains(&h.name))
    }

    /// Members whose etcd runs come first, so a test that killed some members does not make
    /// every request wait for a dead endpoint first; the rest stay as a last resort.
    fn live_endpoints(&self) -> Vec<String> {
        let (mut live, dead): (Vec<&Host>, Vec<&Host>) = self
            .member_hosts()
            .partition(|h| self.etcd_pid(h).is_some());
        live.extend(dead);
        live.into_iter().map(Host::client_url).collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        // First the kubelets, so that none starts an etcd the lab is about to stop.
        self.kubelets.clear();
        if let Err(e) = self.stop_all(DROP_GRACE) {
            eprintln!("etcd-lab: stopping the lab in {}: {e}", self.dir.display());
        }
        if let Err(e) = self.teardown_machines() {
            eprintln!(
                "etcd-lab: tearing down the machines of {}: {e}",
                self.dir.display()
            );
        }
        // A panicking test leaves its files for the post-mortem (logs, configs).
        if self.owns_dir && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Writes the CA, every host's tree, the client certificate and the inventory.
fn generate(
    dir: &Path,
    members: &[Host],
    spares: &[Host],
    runtime: Runtime,
    machines: &[Machine],
) -> Result<()> {
    let ca = Ca::generate("etcd-signer@etcd-ops-lab")?;
    // openshift-ansible keeps the CA on the first etcd host (`etcd_ca_host`).
    layout::write_ca(&members[0], &ca)?;
    let shared = Shared { ca: &ca, members };
    for h in members {
        layout::write_host(h, &shared, true)?;
    }
    for h in spares {
        layout::write_host(h, &shared, false)?;
    }
    let client_dir = dir.join("client");
    std::fs::create_dir_all(&client_dir)
        .with_context(|| format!("creating {}", client_dir.display()))?;
    let client = ca.issue("etcd-ops-lab-client", Usage::Client, &[], &[])?;
    layout::write_public(&client_dir.join("ca.crt"), &ca.cert_pem()?)?;
    layout::write_public(&client_dir.join("client.crt"), &client.cert)?;
    layout::write_private(&client_dir.join("client.key"), &client.key)?;
    let ssh = if machines.is_empty() {
        None
    } else {
        Some(machine_access(dir, members, spares, machines)?)
    };
    let python = std::env::var("LAB_ANSIBLE_PYTHON")
        .ok()
        .filter(|p| !p.is_empty());
    let text = inventory::render(&InventorySpec {
        lab_dir: dir,
        members,
        spares,
        ca_host: &members[0].name,
        python: python.as_deref(),
        runtime: runtime.name(),
        ssh: ssh.as_ref(),
    });
    layout::write_public(&dir.join("hosts.ini"), text.as_bytes())
}

/// The lab's SSH key, each machine made itself (identity, sshd, authorized key, /etc/hosts),
/// the etcd files given to the package's etcd user, and known_hosts with every host key.
fn machine_access(
    dir: &Path,
    members: &[Host],
    spares: &[Host],
    machines: &[Machine],
) -> Result<inventory::SshAccess> {
    let ssh_dir = dir.join("ssh");
    std::fs::create_dir_all(&ssh_dir).with_context(|| format!("creating {}", ssh_dir.display()))?;
    let key = ssh_dir.join("id_ed25519");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "etcd-ops-lab", "-f"])
        .arg(&key)
        .output()
        .context("running ssh-keygen (openssh-client)")?;
    if !out.status.success() {
        return Err(Error::msg(format!(
            "ssh-keygen: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let public = std::fs::read_to_string(key.with_extension("pub"))
        .with_context(|| format!("reading {}.pub", key.display()))?;
    let all: Vec<&Host> = members.iter().chain(spares).collect();
    let hosts_file: String = all
        .iter()
        .map(|h| format!("{} {} {}\n", h.ip, h.fqdn, h.name))
        .collect();
    let mut known = String::new();
    for (h, m) in all.iter().zip(machines) {
        known.push_str(&m.personalize(&h.fqdn, &public, &hosts_file)?);
        layout::give_to_etcd(h, machine::tree_user(&h.root, "etcd")?)?;
    }
    let known_hosts = ssh_dir.join("known_hosts");
    layout::write_public(&known_hosts, known.as_bytes())?;
    Ok(inventory::SshAccess { key, known_hosts })
}

/// Accepts a missing or empty directory, or one without a lab in it; returns it absolute.
fn prepare_dir(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    for existing in [crate::state::FILE, "hosts"] {
        if dir.join(existing).exists() {
            return Err(Error::msg(format!(
                "{} already holds a lab ({existing} exists); run `etcd-lab down --dir {0}` and \
                 remove it first",
                dir.display()
            )));
        }
    }
    Ok(dir)
}

fn fresh_temp_dir(slot: u8) -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "etcd-ops-lab-{}-s{slot}-{nanos:09}",
        std::process::id()
    ));
    // create_dir (not _all): fail rather than reuse someone else's directory.
    std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
    dir.canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))
}

/// The etcdctl binary: `$LAB_ETCDCTL_BIN`, else `/usr/bin/etcdctl`.
pub fn etcdctl_bin() -> PathBuf {
    std::env::var_os("LAB_ETCDCTL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/etcdctl"))
}

pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read: {e})"),
    }
}

/// Started voting members of these names, as [`Lab::member_states`] reports them.
pub fn voters(names: &[&str]) -> Vec<(String, bool, bool)> {
    names.iter().map(|n| (n.to_string(), true, false)).collect()
}
