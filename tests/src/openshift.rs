//! Inventories in openshift-ansible's shape for a machine lab: hosts under the names
//! openshift-ansible's inventories give them (FQDNs, ranges), reached at each machine's
//! management address (where etcd does not listen), and no etcd-ops variable naming a member's
//! name or URLs, so the playbooks must read them from each host's etcd.conf.

use crate::error::{Context, Result};
use crate::lab::Lab;
use std::fmt::Write;
use std::path::PathBuf;

/// Writes `<labdir>/<file>`: `text` as given, then a `[lab_access]` group reaching each host
/// `names` maps (inventory name, lab host) at its machine's management address with the lab's
/// SSH identity. Only lab plumbing is added: the peer certificates a scaleup issues need the
/// lab's loopback source address (see `layout::PEER_SOURCE_IP`).
pub fn write(lab: &Lab, file: &str, text: &str, names: &[(String, &str)]) -> Result<PathBuf> {
    let ssh = lab.dir().join("ssh");
    let mut s = String::from(text);
    s.push_str("\n# Added by the lab: how Ansible reaches the machines.\n[lab_access]\n");
    for (name, host) in names {
        let m = lab.machine(host)?;
        let _ = writeln!(s, "{name} ansible_host={}", m.management_ip);
    }
    s.push_str("\n[lab_access:vars]\nansible_connection=ssh\nansible_user=root\nansible_port=22\n");
    s.push_str("ansible_python_interpreter=/usr/bin/python3\n");
    let _ = writeln!(
        s,
        "ansible_ssh_private_key_file={}",
        ssh.join("id_ed25519").display()
    );
    let _ = writeln!(
        s,
        "ansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o BatchMode=yes'",
        ssh.join("known_hosts").display()
    );
    let _ = writeln!(
        s,
        "etcd_peer_cert_extra_ips=['{}']",
        crate::layout::PEER_SOURCE_IP
    );
    let path = lab.dir().join(file);
    std::fs::write(&path, &s).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The whole lab as openshift-ansible inventories it: every host by its FQDN
/// (`etcd1.lab.local`, which the machines resolve), members in `[masters]`, `[etcd]` and
/// `[nodes]`, spares in `[new_etcd]` and `[nodes]`, no etcd variable at all.
pub fn fqdn_inventory(lab: &Lab, file: &str) -> Result<PathBuf> {
    let fqdn = |name: &String| lab.host(name).map(|h| h.fqdn.clone());
    let members = lab
        .member_names()
        .iter()
        .map(fqdn)
        .collect::<Result<Vec<_>>>()?;
    let spares = lab
        .spare_names()
        .iter()
        .map(fqdn)
        .collect::<Result<Vec<_>>>()?;
    let section = |name: &str, hosts: &[&String]| {
        let mut s = format!("[{name}]\n");
        for h in hosts {
            let _ = writeln!(s, "{h}");
        }
        s + "\n"
    };
    let m: Vec<&String> = members.iter().collect();
    let all: Vec<&String> = members.iter().chain(&spares).collect();
    let text = format!(
        "[OSEv3:children]\nmasters\nnodes\netcd\nnew_etcd\n\n[OSEv3:vars]\nansible_user=root\n\n{}{}{}{}",
        section("masters", &m),
        section("etcd", &m),
        section("new_etcd", &spares.iter().collect::<Vec<_>>()),
        section("nodes", &all),
    );
    let names: Vec<(String, &str)> = lab
        .hosts()
        .iter()
        .map(|h| (h.fqdn.clone(), h.name.as_str()))
        .collect();
    write(lab, file, &text, &names)
}
