//! The first host of [etcd] is a dead machine (UNREACHABLE to Ansible): health.yml, backup.yml
//! and remove-member.yml go on through the hosts that answer, and the dead member is removed
//! through the survivors (seed 001 39.1.2, seed 003 37.1;
//! docs/procedures.md).

use confedit::{get_seq, EnvFile};
use lab::{ansible, Lab, LabOptions};

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_dead_first_host_does_not_stop_health_backup_or_its_own_removal() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    lab.put_keys("/dead/", 200).unwrap();
    let inv = lab.inventory_path();
    lab.kill_host("etcd1").unwrap();
    lab.wait_healthy(&["etcd2", "etcd3"], std::time::Duration::from_secs(30))
        .unwrap();

    let run = ansible::playbook(&inv, "playbooks/health.yml", &[]);
    assert_eq!(run.code, 4, "{}", run.describe());
    assert_eq!(run.recap("etcd1").unwrap()["unreachable"], 1);
    assert!(
        run.stdout
            .contains("quorum ok: 2 of 3 voting members healthy"),
        "{}",
        run.stdout
    );

    let run = ansible::playbook(&inv, "playbooks/backup.yml", &[]);
    assert_eq!(run.code, 4, "{}", run.describe());
    assert!(run.stdout.contains("snapshot from etcd2"), "{}", run.stdout);
    for h in ["etcd2", "etcd3"] {
        assert_eq!(lab.backup_bundles(h).unwrap().len(), 1, "{h}");
    }

    // A mistyped etcd_name on the dead host names the healthy etcd3's member, which etcd3's own
    // etcd.conf claims by its peer URL: the member goes to neither host, and nothing is removed
    // (before, the dead host's "member" was etcd3's and the removal took a healthy member).
    let text = read(&inv);
    let line = format!(
        "\n[etcd]\netcd1 ansible_host={}",
        lab.host("etcd1").unwrap().ip
    );
    assert!(text.contains(&line), "{text}");
    let typo = lab.dir().join("hosts-etcd1-named-etcd3");
    std::fs::write(
        &typo,
        text.replace(&line, &format!("{line} etcd_name=etcd3")),
    )
    .unwrap();
    let run = ansible::playbook(
        &typo,
        "playbooks/remove-member.yml",
        &["-e", "etcd_remove_host=etcd1"],
    );
    assert!(!run.ok(), "{}", run.describe());
    assert!(
        run.stdout.contains("matches hosts etcd1, etcd3"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Nothing was changed"), "{}", run.stdout);
    assert_eq!(lab.member_list().unwrap().len(), 3);

    let run = ansible::playbook(
        &inv,
        "playbooks/remove-member.yml",
        &["-e", "etcd_remove_host=etcd1"],
    );
    assert_eq!(run.code, 4, "{}", run.describe());
    let members = lab.member_list().unwrap();
    let mut names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["etcd2", "etcd3"]);
    let e1 = lab.host("etcd1").unwrap().clone();
    for h in ["etcd2", "etcd3"] {
        let host = lab.host(h).unwrap();
        let conf = EnvFile::parse(&read(&host.etcd_conf())).unwrap();
        assert!(
            !conf.get("ETCD_INITIAL_CLUSTER").unwrap().contains("etcd1="),
            "{h}"
        );
        let urls = get_seq(&read(&host.master_config()), "etcdClientInfo.urls").unwrap();
        assert!(!urls.contains(&e1.client_url()), "{h}: {urls:?}");
        let flannel = EnvFile::parse(&read(&host.flanneld_sysconfig())).unwrap();
        assert!(
            !flannel
                .get("FLANNEL_ETCD_ENDPOINTS")
                .unwrap()
                .contains(&e1.client_url()),
            "{h}"
        );
    }
    assert_eq!(lab.count_keys("/dead/").unwrap(), 200);
}

/// inventory-examples/openshift-3.11-hosts-example.ini, openshift-ansible's hosts.example shape
/// (host ranges, names that resolve nowhere, no etcd variable at all), with only how to log in
/// added: each `ose3-master<i>` reached at machine etcd<i>'s management address, where etcd
/// does not listen. The playbooks take etcd's name and URLs from each host's etcd.conf: health
/// sees a healthy cluster, and restore-quorum finds nothing to do instead of re-forming it.
#[test]
fn an_openshift_ansible_inventory_is_read_from_the_hosts() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    lab.put_keys("/found/", 50).unwrap();
    let ids: Vec<u64> = lab.member_ids();
    let example = read(
        &lab::ansible::repo_root().join("inventory-examples/openshift-3.11-hosts-example.ini"),
    );
    let names: Vec<(String, &str)> = lab
        .member_names()
        .iter()
        .enumerate()
        .map(|(i, h)| (format!("ose3-master{}.example.com", i + 1), h.as_str()))
        .collect();
    let path = lab::openshift::write(&lab, "openshift-hosts", &example, &names).unwrap();
    let inv = read(&path);
    assert!(!inv.contains("etcd_ip") && !inv.contains("etcd_client_url"));

    let run = ansible::playbook(&path, "playbooks/health.yml", &[]);
    assert!(run.ok(), "{}", run.describe());
    assert!(
        run.stdout
            .contains("quorum ok: 3 of 3 voting members healthy"),
        "{}",
        run.stdout
    );
    let run = ansible::playbook(&path, "playbooks/restore-quorum.yml", &[]);
    assert!(run.ok(), "{}", run.describe());
    assert!(run.stdout.contains("Nothing to do"), "{}", run.stdout);
    assert_eq!(run.total("changed"), 0, "{}", run.stdout);
    assert_eq!(lab.member_ids(), ids);
    assert_eq!(lab.count_keys("/found/").unwrap(), 50);
}
