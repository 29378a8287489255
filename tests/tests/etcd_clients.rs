//! The masters' etcdClientInfo.urls and flanneld's endpoints follow remove-member and scaleup on
//! machines inventoried as openshift-ansible does (hosts by FQDN, no etcd variable): a file
//! written with host names (openshift-ansible's style) and one written with IPs (etcd's) each
//! lose the removed member in their own form, the IP form of a dead host coming from the member
//! list alone, and gain the new member in their own form; masters restart one at a time;
//! flanneld is left alone where its file does not exist. scaleup.yml with a dead non-CA [etcd]
//! host (removed from the cluster, still in the inventory, as remove-member leaves it by
//! default) adds the spare. Then a reachable host whose etcd.conf cannot be read: the playbooks
//! say so, refuse to act on names and URLs guessed from its inventory name, and use the
//! inventory's values once it gives them.

use confedit::{get_seq, set_seq, EnvFile};
use lab::{ansible, voters, Lab, LabOptions};
use std::path::Path;

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn master_urls(lab: &Lab, host: &str) -> Vec<String> {
    get_seq(
        &read(&lab.host(host).unwrap().master_config()),
        "etcdClientInfo.urls",
    )
    .unwrap()
}

fn flannel_endpoints(lab: &Lab, host: &str) -> String {
    let f = EnvFile::parse(&read(&lab.host(host).unwrap().flanneld_sysconfig())).unwrap();
    f.get("FLANNEL_ETCD_ENDPOINTS").unwrap().to_string()
}

/// The host name URL openshift-ansible writes for a lab host.
fn by_name(lab: &Lab, host: &str) -> String {
    format!("https://{}:2379", lab.host(host).unwrap().fqdn)
}

fn by_ip(lab: &Lab, host: &str) -> String {
    lab.host(host).unwrap().client_url()
}

/// Rewrites `host`'s master-config and flanneld file to name `members` by host name.
fn write_host_names(lab: &Lab, host: &str, members: &[&str]) {
    let h = lab.host(host).unwrap();
    let urls: Vec<String> = members.iter().map(|m| by_name(lab, m)).collect();
    let text = set_seq(&read(&h.master_config()), "etcdClientInfo.urls", &urls).unwrap();
    std::fs::write(h.master_config(), text).unwrap();
    let flannel = read(&h.flanneld_sysconfig());
    let old = flannel
        .lines()
        .find(|l| l.starts_with("FLANNEL_ETCD_ENDPOINTS="))
        .unwrap()
        .to_string();
    let new = format!("FLANNEL_ETCD_ENDPOINTS=\"{}\"", urls.join(","));
    std::fs::write(h.flanneld_sysconfig(), flannel.replace(&old, &new)).unwrap();
}

/// (host, what, time) of each restart recorded on `hosts` since `from` (lines per host).
fn restarts_since(lab: &Lab, hosts: &[&str], from: &[usize]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (h, skip) in hosts.iter().zip(from) {
        let log = std::fs::read_to_string(lab.host(h).unwrap().restarts_log()).unwrap_or_default();
        for line in log.lines().skip(*skip) {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f.len(), 4, "{h}: {line}");
            out.push((h.to_string(), f[1].to_string(), f[3].to_string()));
        }
    }
    out.sort_by(|a, b| a.2.cmp(&b.2));
    out
}

fn log_lengths(lab: &Lab, hosts: &[&str]) -> Vec<usize> {
    hosts
        .iter()
        .map(|h| {
            std::fs::read_to_string(lab.host(h).unwrap().restarts_log())
                .unwrap_or_default()
                .lines()
                .count()
        })
        .collect()
}

/// Each master's API and controllers restarted, one master after the other in inventory order:
/// in time, all of one master's restarts come before any of the next one's.
fn assert_one_master_at_a_time(restarts: &[(String, String, String)], masters: &[&str]) {
    let order: Vec<&str> = restarts
        .iter()
        .filter(|r| r.1.starts_with("master-"))
        .map(|r| r.0.as_str())
        .collect();
    let mut expected = Vec::new();
    for m in masters {
        expected.push(*m);
        expected.push(*m);
    }
    assert_eq!(order, expected, "{restarts:?}");
}

#[test]
fn host_name_files_follow_remove_and_scaleup_around_a_dead_host() {
    let lab = Lab::up(LabOptions {
        spares: 1,
        ..LabOptions::machines()
    })
    .expect("lab up");
    lab.put_keys("/clients/", 100).unwrap();
    let inv = lab::openshift::fqdn_inventory(&lab, "openshift-fqdn").unwrap();
    // etcd1's files in openshift-ansible's style, etcd2's as the lab wrote them (IPs); etcd4,
    // a node about to become a member, runs no flanneld.
    write_host_names(&lab, "etcd1", &["etcd1", "etcd2", "etcd3"]);
    std::fs::remove_file(lab.host("etcd4").unwrap().flanneld_sysconfig()).unwrap();
    let ips = |hs: &[&str]| hs.iter().map(|h| by_ip(&lab, h)).collect::<Vec<_>>();
    let names = |hs: &[&str]| hs.iter().map(|h| by_name(&lab, h)).collect::<Vec<_>>();
    assert_eq!(
        master_urls(&lab, "etcd2"),
        ips(&["etcd1", "etcd2", "etcd3"])
    );

    // etcd3's machine dies: its etcd.conf cannot be read and the inventory names no URL for it.
    lab.kill_host("etcd3").unwrap();
    lab.wait_healthy(&["etcd1", "etcd2"], std::time::Duration::from_secs(30))
        .unwrap();
    let masters = ["etcd1", "etcd2"];
    let before = log_lengths(&lab, &masters);
    let e3 = format!("etcd_remove_host={}", lab.host("etcd3").unwrap().fqdn);
    let run = ansible::playbook(&inv, "playbooks/remove-member.yml", &["-e", &e3]);
    assert_eq!(run.code, 4, "etcd3 is unreachable: {}", run.describe());
    assert!(
        run.stdout.contains("(from the member list)"),
        "{}",
        run.stdout
    );
    assert_eq!(lab.member_states(), voters(&["etcd1", "etcd2"]));
    // Gone in both forms: by host name from the inventory name, by IP from the member list.
    assert_eq!(master_urls(&lab, "etcd1"), names(&["etcd1", "etcd2"]));
    assert_eq!(master_urls(&lab, "etcd2"), ips(&["etcd1", "etcd2"]));
    assert_eq!(
        flannel_endpoints(&lab, "etcd1"),
        names(&["etcd1", "etcd2"]).join(",")
    );
    assert_eq!(
        flannel_endpoints(&lab, "etcd2"),
        ips(&["etcd1", "etcd2"]).join(",")
    );
    assert!(!lab.host("etcd4").unwrap().flanneld_sysconfig().exists());
    let restarts = restarts_since(&lab, &masters, &before);
    assert_one_master_at_a_time(&restarts, &masters);
    for h in masters {
        assert!(
            restarts.iter().any(|r| r.0 == h && r.1 == "flanneld"),
            "{h}: {restarts:?}"
        );
    }

    // Again: nothing left to change, and each removal that matches nothing says so by name.
    let run = ansible::playbook(&inv, "playbooks/remove-member.yml", &["-e", &e3]);
    assert_eq!(run.code, 4, "{}", run.describe());
    assert_eq!(run.total("changed"), 0, "{}", run.stdout);
    // Ansible prints a module's warnings on stderr, wrapped.
    let warnings = run.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    let warned = |key: &str| {
        warnings.split("[WARNING]").any(|w| {
            w.contains(&format!("matches nothing in {key}")) && w.contains(&by_name(&lab, "etcd3"))
        })
    };
    assert!(
        warned("etcdClientInfo.urls") && warned("FLANNEL_ETCD_ENDPOINTS"),
        "{}",
        run.describe()
    );

    // scaleup with etcd3 still in [etcd] and dead: the spare joins, each file gains it in its
    // own style, the masters restart one at a time again.
    let before = log_lengths(&lab, &masters);
    let run = ansible::playbook(&inv, "playbooks/scaleup.yml", &[]);
    assert_eq!(run.code, 4, "etcd3 is unreachable: {}", run.describe());
    assert_eq!(
        run.recap(&lab.host("etcd4").unwrap().fqdn).unwrap()["failed"],
        0,
        "{}",
        run.stdout
    );
    assert_eq!(lab.member_states(), voters(&["etcd1", "etcd2", "etcd4"]));
    assert!(lab.is_healthy("etcd4").unwrap());
    assert_eq!(
        master_urls(&lab, "etcd1"),
        names(&["etcd1", "etcd2", "etcd4"])
    );
    assert_eq!(
        master_urls(&lab, "etcd2"),
        ips(&["etcd1", "etcd2", "etcd4"])
    );
    assert_eq!(
        flannel_endpoints(&lab, "etcd1"),
        names(&["etcd1", "etcd2", "etcd4"]).join(",")
    );
    assert_eq!(
        flannel_endpoints(&lab, "etcd2"),
        ips(&["etcd1", "etcd2", "etcd4"]).join(",")
    );
    assert!(!lab.host("etcd4").unwrap().flanneld_sysconfig().exists());
    assert_one_master_at_a_time(&restarts_since(&lab, &masters, &before), &masters);
    assert_eq!(lab.count_keys("/clients/").unwrap(), 100);

    // etcd2's etcd.conf becomes unreadable (a directory where the file was); etcd runs on.
    let conf = lab.host("etcd2").unwrap().etcd_conf();
    std::fs::rename(&conf, conf.with_extension("conf.aside")).unwrap();
    std::fs::create_dir(&conf).unwrap();
    let ids: Vec<u64> = lab.member_ids();
    let files = |lab: &Lab| -> Vec<String> {
        ["etcd1", "etcd4"]
            .iter()
            .map(|h| read(&lab.host(h).unwrap().etcd_conf()))
            .chain(
                ["etcd1", "etcd2"]
                    .iter()
                    .map(|h| read(&lab.host(h).unwrap().master_config())),
            )
            .collect()
    };
    let before = files(&lab);
    let fqdn2 = lab.host("etcd2").unwrap().fqdn.clone();

    let run = ansible::playbook(&inv, "playbooks/health.yml", &[]);
    assert_eq!(run.code, 4, "{}", run.describe());
    assert!(
        run.stdout
            .contains(&format!("WARNING: {fqdn2}: reading /etc/etcd/etcd.conf:")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("only be a guess"), "{}", run.stdout);

    let run = ansible::playbook(&inv, "playbooks/restore-quorum.yml", &[]);
    assert!(!run.ok(), "{}", run.describe());
    assert!(
        run.stdout
            .contains(&format!("{fqdn2}: etcd.conf says nothing of the member")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Nothing was changed"), "{}", run.stdout);

    let remove2 = format!("etcd_remove_host={fqdn2}");
    let run = ansible::playbook(&inv, "playbooks/remove-member.yml", &["-e", &remove2]);
    assert!(!run.ok(), "{}", run.describe());
    assert!(
        run.stdout.contains(&format!(
            "{fqdn2} answers but its etcd.conf says nothing of its member"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(lab.member_ids(), ids);
    assert!(lab.is_running("etcd2").unwrap());
    assert!(lab
        .host("etcd2")
        .unwrap()
        .data_dir()
        .join("member")
        .is_dir());
    assert_eq!(files(&lab), before);

    // With the address in the inventory the host is known again: the dry run finds its member.
    let text = read(&inv).replace(
        &format!("\n{fqdn2} ansible_host="),
        &format!(
            "\n{fqdn2} etcd_ip={} ansible_host=",
            lab.host("etcd2").unwrap().ip
        ),
    );
    let inv2 = lab.dir().join("openshift-fqdn-etcd-ip");
    std::fs::write(&inv2, text).unwrap();
    let run = ansible::playbook(
        &inv2,
        "playbooks/remove-member.yml",
        &["--check", "-e", &remove2],
    );
    assert_eq!(run.code, 4, "{}", run.describe());
    assert!(run.stdout.contains("remove member etcd2"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("Its etcd settings come from the inventory"),
        "{}",
        run.stdout
    );
    assert_eq!(lab.member_states(), voters(&["etcd1", "etcd2", "etcd4"]));
    assert_eq!(files(&lab), before);
}
