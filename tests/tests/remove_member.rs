//! remove-member.yml on a real lab: a killed member removed, and etcd.conf, master-config and
//! flanneld updated on every host, restarts run, the data dir moved aside, the inventory
//! updated; a second run changes nothing; --check changes nothing.

use confedit::{get_seq, EnvFile, InitialCluster};
use lab::ansible;
use lab::{Lab, LabOptions};

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn initial_cluster_names(lab: &Lab, host: &str) -> Vec<String> {
    let conf = EnvFile::parse(&read(&lab.host(host).unwrap().etcd_conf())).unwrap();
    let ic = InitialCluster::parse(conf.get("ETCD_INITIAL_CLUSTER").unwrap()).unwrap();
    ic.names().into_iter().map(String::from).collect()
}

fn snapshot_of_files(lab: &Lab) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for h in lab.hosts() {
        for p in [h.etcd_conf(), h.master_config(), h.flanneld_sysconfig()] {
            out.push((p.display().to_string(), read(&p)));
        }
    }
    out.push(("inventory".into(), read(&lab.inventory_path())));
    out
}

#[test]
fn a_killed_member_is_removed_and_every_host_forgets_it() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    let inv = lab.inventory_path();
    let gone = lab.host("etcd3").unwrap().clone();
    lab.kill("etcd3").unwrap();
    // etcd3 may have led: let etcd1 and etcd2 elect a leader first.
    lab.wait_healthy(&["etcd1", "etcd2"], std::time::Duration::from_secs(30))
        .unwrap();

    // --check: the plan, and nothing changed anywhere.
    let before = snapshot_of_files(&lab);
    let run = ansible::playbook(
        &inv,
        "playbooks/remove-member.yml",
        &[
            "--check",
            "-e",
            "etcd_remove_host=etcd3",
            "-e",
            "etcd_update_inventory=true",
        ],
    );
    assert!(run.ok(), "{}", run.describe());
    assert!(run.stdout.contains("remove member etcd3"), "{}", run.stdout);
    assert_eq!(snapshot_of_files(&lab), before);
    assert_eq!(lab.member_list().unwrap().len(), 3);

    let run = ansible::playbook(
        &inv,
        "playbooks/remove-member.yml",
        &[
            "-e",
            "etcd_remove_host=etcd3",
            "-e",
            "etcd_update_inventory=true",
        ],
    );
    assert!(run.ok(), "{}", run.describe());

    let mut names: Vec<String> = lab
        .member_list()
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    names.sort();
    assert_eq!(names, ["etcd1", "etcd2"], "etcd's member list");
    for h in ["etcd1", "etcd2"] {
        assert_eq!(
            initial_cluster_names(&lab, h),
            ["etcd1", "etcd2"],
            "{h} etcd.conf"
        );
    }
    for h in lab.hosts() {
        let urls = get_seq(&read(&h.master_config()), "etcdClientInfo.urls").unwrap();
        assert!(!urls.contains(&gone.client_url()), "{}: {urls:?}", h.name);
        assert_eq!(urls.len(), 2, "{}", h.name);
        let flannel = EnvFile::parse(&read(&h.flanneld_sysconfig())).unwrap();
        let eps = flannel.get("FLANNEL_ETCD_ENDPOINTS").unwrap();
        assert!(!eps.contains(&gone.client_url()), "{}: {eps}", h.name);
        let restarts = read(&h.restarts_log());
        assert!(
            restarts.contains("master-api restarted"),
            "{}: {restarts}",
            h.name
        );
        assert!(
            restarts.contains("flanneld restarted"),
            "{}: {restarts}",
            h.name
        );
    }
    // The removed host's data dir is moved aside, not deleted.
    let data = gone.data_dir();
    assert!(!data.join("member").exists());
    let parent = data.parent().unwrap();
    let moved: Vec<String> = std::fs::read_dir(parent)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("etcd.removed-"))
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(parent.join(&moved[0]).join("member").is_dir());
    // The inventory's [etcd] no longer lists etcd3; it is still a node.
    let inv_text = read(&inv);
    let etcd_section = inv_text
        .split("[etcd]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    assert!(!etcd_section.contains("etcd3 "), "{etcd_section}");
    assert!(etcd_section.contains("etcd1 ") && etcd_section.contains("etcd2 "));

    // Again: nothing left to do.
    let before = snapshot_of_files(&lab);
    let run = ansible::playbook(
        &inv,
        "playbooks/remove-member.yml",
        &[
            "-e",
            "etcd_remove_host=etcd3",
            "-e",
            "etcd_update_inventory=true",
        ],
    );
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(run.total("changed"), 0, "{}", run.stdout);
    assert_eq!(snapshot_of_files(&lab), before);
    lab.put_keys("/after-removal/", 10).unwrap();
    assert_eq!(lab.count_keys("/after-removal/").unwrap(), 10);
}
