//! A lab host: its name, loopback address and root directory, and the OpenShift 3.11 file
//! layout under that root. Paths mirror the real ones (`<root>/etc/etcd/etcd.conf` is
//! `/etc/etcd/etcd.conf`), so playbooks only need the per-host path variables to run here.

use crate::error::{Context, Result};
use crate::pki::{Ca, Usage};
use crate::slots;
use crate::templates;
use std::fs;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The DNS domain of lab hosts (names appear in certificates, not in any resolver).
pub const DOMAIN: &str = "lab.local";

/// The source address of every loopback connection between lab members; peer certificates
/// must carry it (see [`write_host`]).
pub const PEER_SOURCE_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

/// One host of the lab (a member or a spare).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Inventory name and etcd member name: `etcd<i>`.
    pub name: String,
    /// 1-based position; decides the address.
    pub index: usize,
    /// 127.0.<slot>.(10+index).
    pub ip: Ipv4Addr,
    /// `etcd<i>.lab.local`.
    pub fqdn: String,
    /// The host's `/` as the lab (this machine) reaches it: `<labdir>/hosts/etcd<i>` for a
    /// process host, the merged view of its disk for a machine.
    pub root: PathBuf,
    /// The host's `/` as its own processes see it, the prefix of every path written into its
    /// files: `root` for a process host (every host shares this machine's `/`), `/` on a machine.
    pub view: PathBuf,
}

impl Host {
    /// Host `index` (1-based) of the lab in `lab_dir` on `slot`.
    pub fn new(lab_dir: &Path, slot: u8, index: usize) -> Host {
        let name = format!("etcd{index}");
        let root = lab_dir.join("hosts").join(&name);
        Host {
            fqdn: format!("{name}.{DOMAIN}"),
            ip: slots::host_ip(slot, index),
            view: root.clone(),
            root,
            name,
            index,
        }
    }

    /// Host `index` as a machine of the lab: its disk is the machine's, its paths the real ones.
    pub fn on_machine(lab_dir: &Path, slot: u8, index: usize) -> Host {
        let mut h = Host::new(lab_dir, slot, index);
        h.root = crate::machine::Machine::new(lab_dir, slot, &h.name, h.ip).root();
        h.view = PathBuf::from("/");
        h
    }

    /// Whether the host is a machine (its own `/`), not a directory of this machine.
    pub fn is_machine(&self) -> bool {
        self.view == Path::new("/")
    }

    /// A path as the host's own processes name it (`rel` is relative to the host's `/`).
    pub fn seen(&self, rel: &str) -> PathBuf {
        self.view.join(rel)
    }

    /// `https://<ip>:2379`.
    pub fn client_url(&self) -> String {
        format!("https://{}:{}", self.ip, slots::CLIENT_PORT)
    }
    /// `https://<ip>:2380`.
    pub fn peer_url(&self) -> String {
        format!("https://{}:{}", self.ip, slots::PEER_PORT)
    }
    /// `/etc/etcd/etcd.conf`.
    pub fn etcd_conf(&self) -> PathBuf {
        self.root.join("etc/etcd/etcd.conf")
    }
    /// `/etc/etcd`: ca.crt, server.{crt,key}, peer.{crt,key}.
    pub fn cert_dir(&self) -> PathBuf {
        self.root.join("etc/etcd")
    }
    /// `/etc/etcd/ca`: the CA's cert and key (populated on the CA host only).
    pub fn ca_dir(&self) -> PathBuf {
        self.root.join("etc/etcd/ca")
    }
    /// `/var/lib/etcd`.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("var/lib/etcd")
    }
    /// `/etc/origin/master`.
    pub fn master_dir(&self) -> PathBuf {
        self.root.join("etc/origin/master")
    }
    /// `/etc/origin/master/master-config.yaml`.
    pub fn master_config(&self) -> PathBuf {
        self.master_dir().join("master-config.yaml")
    }
    /// `/etc/sysconfig/flanneld`.
    pub fn flanneld_sysconfig(&self) -> PathBuf {
        self.root.join("etc/sysconfig/flanneld")
    }
    /// `/etc/origin/node/pods`: where a static-pod etcd manifest would live.
    pub fn static_pod_dir(&self) -> PathBuf {
        self.root.join("etc/origin/node/pods")
    }
    /// `/run/etcd.pid`.
    pub fn pid_file(&self) -> PathBuf {
        self.root.join("run/etcd.pid")
    }
    /// `/var/log/etcd.log`: etcd's stdout and stderr, appended across restarts.
    pub fn log_file(&self) -> PathBuf {
        self.root.join("var/log/etcd.log")
    }
    /// `/var/log/restarts.log`: one line per (simulated) master API / flanneld restart.
    pub fn restarts_log(&self) -> PathBuf {
        self.root.join("var/log/restarts.log")
    }
}

/// Files shared by all hosts of a lab.
pub struct Shared<'a> {
    /// The lab CA.
    pub ca: &'a Ca,
    /// Hosts that form the initial cluster.
    pub members: &'a [Host],
}

/// Creates `host`'s whole tree: directories, certificates, etcd.conf, master-config.yaml,
/// flanneld sysconfig. A spare gets the same files, with an etcd.conf naming only itself (as
/// a freshly installed host would have before a scaleup rewrites it).
pub fn write_host(host: &Host, shared: &Shared, is_member: bool) -> Result<()> {
    let ctx = || format!("writing the file tree of {}", host.name);
    for dir in [
        host.cert_dir(),
        host.data_dir(),
        host.master_dir(),
        host.static_pod_dir(),
        host.root.join("etc/sysconfig"),
        host.root.join("run"),
        host.root.join("var/log"),
    ] {
        fs::create_dir_all(&dir)
            .with_context(|| format!("creating {}", dir.display()))
            .with_context(ctx)?;
    }
    // etcd refuses a data dir readable by others ("permissions ... are too open" warning in 3.4,
    // an error later).
    set_mode(&host.data_dir(), 0o700).with_context(ctx)?;

    let ca = shared.ca;
    let ca_pem = ca.cert_pem()?;
    let server = ca.issue(&host.fqdn, Usage::Server, &[host.ip], &[&host.fqdn])?;
    // etcd checks a peer's client certificate against the connection's source address, and
    // on loopback every peer connection comes from 127.0.0.1 (etcd cannot bind the source
    // address of its dials). Real hosts dial from their own IP; the lab needs this extra SAN.
    let peer_ips = [host.ip, PEER_SOURCE_IP];
    let peer = ca.issue(&host.fqdn, Usage::Peer, &peer_ips, &[&host.fqdn])?;
    let master = ca.issue(
        &format!("{}-master-etcd-client", host.fqdn),
        Usage::Client,
        &[],
        &[],
    )?;
    let d = host.cert_dir();
    write_public(&d.join("ca.crt"), &ca_pem)?;
    write_public(&d.join("server.crt"), &server.cert)?;
    write_private(&d.join("server.key"), &server.key)?;
    write_public(&d.join("peer.crt"), &peer.cert)?;
    write_private(&d.join("peer.key"), &peer.key)?;
    let m = host.master_dir();
    write_public(&m.join("master.etcd-ca.crt"), &ca_pem)?;
    write_public(&m.join("master.etcd-client.crt"), &master.cert)?;
    write_private(&m.join("master.etcd-client.key"), &master.key)?;

    let cluster = if is_member {
        initial_cluster(shared.members)
    } else {
        initial_cluster(std::slice::from_ref(host))
    };
    write_public(
        &host.etcd_conf(),
        templates::etcd_conf(host, &cluster).as_bytes(),
    )?;
    let urls: Vec<String> = shared.members.iter().map(Host::client_url).collect();
    write_public(
        &host.master_config(),
        templates::master_config(host, &urls).as_bytes(),
    )?;
    write_public(
        &host.flanneld_sysconfig(),
        templates::flanneld(host, &urls).as_bytes(),
    )?;
    Ok(())
}

/// On a machine etcd runs as the package's `etcd` user (the RPM's `User=etcd`): its data dir and
/// its certificates and keys are that user's, as openshift-ansible leaves them. The CA and the
/// masters' client files stay root's.
pub fn give_to_etcd(host: &Host, (uid, gid): (u32, u32)) -> Result<()> {
    let d = host.cert_dir();
    let files = ["ca.crt", "server.crt", "server.key", "peer.crt", "peer.key"].map(|f| d.join(f));
    for p in std::iter::once(host.data_dir()).chain(files) {
        std::os::unix::fs::chown(&p, Some(uid), Some(gid))
            .with_context(|| format!("chown {uid}:{gid} {}", p.display()))?;
    }
    Ok(())
}

/// Writes the CA's own files on the CA host, as openshift-ansible keeps them.
pub fn write_ca(host: &Host, ca: &Ca) -> Result<()> {
    let dir = host.ca_dir();
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let pem = ca.pem()?;
    write_public(&dir.join("ca.crt"), &pem.cert)?;
    write_private(&dir.join("ca.key"), &pem.key)
}

/// `etcd1=https://...:2380,etcd2=...`.
pub fn initial_cluster(members: &[Host]) -> String {
    members
        .iter()
        .map(|h| format!("{}={}", h.name, h.peer_url()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Writes a world-readable file (certificates, configs).
pub fn write_public(path: &Path, data: &[u8]) -> Result<()> {
    write_mode(path, data, 0o644)
}

/// Writes a key: 0600 from the moment it exists, not chmod-ed afterwards.
pub fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    write_mode(path, data, 0o600)
}

fn write_mode(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(data)
        .with_context(|| format!("writing {}", path.display()))?;
    // `mode` only applies on creation; make a rewrite end up with the same permissions.
    set_mode(path, mode)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}

/// Uncomments the RPM's `#ETCD_ENABLE_V2="true"` line of a host's etcd.conf.
pub fn enable_v2(host: &Host) -> Result<()> {
    let path = host.etcd_conf();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let on = text.replace("#ETCD_ENABLE_V2=\"true\"", "ETCD_ENABLE_V2=\"true\"");
    if on == text {
        return Err(crate::error::Error::msg(format!(
            "{}: no ETCD_ENABLE_V2 line",
            path.display()
        )));
    }
    write_public(&path, on.as_bytes())
}

/// Sets `ETCD_QUOTA_BACKEND_BYTES` in place of the RPM's commented default line.
pub fn set_quota(host: &Host, bytes: u64) -> Result<()> {
    let path = host.etcd_conf();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let line = text
        .lines()
        .find(|l| l.starts_with("#ETCD_QUOTA_BACKEND_BYTES="))
        .ok_or_else(|| {
            crate::error::Error::msg(format!(
                "{}: no #ETCD_QUOTA_BACKEND_BYTES line",
                path.display()
            ))
        })?;
    let set = text.replacen(line, &format!("ETCD_QUOTA_BACKEND_BYTES={bytes}"), 1);
    write_public(&path, set.as_bytes())
}
