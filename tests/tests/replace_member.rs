//! replace-member.yml on machines (seed 003, 37.1 then 37.2, docs/procedures.md): a member whose
//! whole machine died blocks a plain scale-up (etcd refuses `member add` while a voter is
//! unreachable, and scaleup.yml refuses first, naming it, changing nothing); replace-member.yml
//! --check shows both halves with their quorum arithmetic and changes nothing; a replace run cut
//! right after the removal is finished by running it again: the survivors and the spare are the
//! members, every key kept, the masters and flanneld forget the dead member's URL and gain the
//! spare's.

use confedit::{get_seq, EnvFile};
use lab::{ansible, voters, Lab, LabOptions};

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The files the playbooks edit on the hosts that are still up.
fn files(lab: &Lab, hosts: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in hosts {
        let h = lab.host(name).unwrap();
        for p in [h.etcd_conf(), h.master_config(), h.flanneld_sysconfig()] {
            out.push((p.display().to_string(), read(&p)));
        }
    }
    out
}

const REMOVAL_TASK: &str = "Remove the member (refused when it would cost quorum)";

#[test]
fn a_dead_member_blocks_scaleup_and_is_replaced_by_the_spare_even_across_a_cut_run() {
    let lab = Lab::up(LabOptions {
        spares: 1,
        ..LabOptions::machines()
    })
    .expect("lab up");
    lab.put_keys("/replace/", 150).unwrap();
    let inv = lab.inventory_path();
    let dead = lab.host("etcd3").unwrap().clone();
    let spare = lab.host("etcd4").unwrap().clone();
    lab.kill_host("etcd3").unwrap();
    lab.wait_healthy(&["etcd1", "etcd2"], std::time::Duration::from_secs(30))
        .unwrap();
    let up = ["etcd1", "etcd2", "etcd4"];

    // scaleup.yml alone: refused before anything changes, naming the dead member and the fix.
    let before = files(&lab, &up);
    let run = ansible::playbook(&inv, "playbooks/scaleup.yml", &[]);
    assert!(!run.ok(), "{}", run.describe());
    assert!(
        run.stdout
            .contains("Refusing to add members: voting member etcd3"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("host etcd3"), "{}", run.stdout);
    assert!(run.stdout.contains("replace-member.yml"), "{}", run.stdout);
    assert!(
        !run.stdout
            .contains("TASK [Issue the server and peer certificates"),
        "{}",
        run.stdout
    );
    assert_eq!(lab.member_states(), voters(&["etcd1", "etcd2", "etcd3"]));
    assert_eq!(files(&lab, &up), before);
    assert!(!lab.is_running("etcd4").unwrap());

    // --check: both halves and their quorum arithmetic, nothing changed.
    let args = ["-e", "etcd_remove_host=etcd3"];
    let run = ansible::playbook(
        &inv,
        "playbooks/replace-member.yml",
        &["--check", "-e", "etcd_remove_host=etcd3"],
    );
    assert_eq!(run.code, 4, "etcd3 is unreachable: {}", run.describe());
    assert!(
        run.stdout.contains(
            "3 members, 1 dead: remove etcd3 (2 of 2 healthy, quorum 2), \
             then add etcd4 (3 members, quorum 2)"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("would issue certificates"),
        "the scale-up half's dry run: {}",
        run.stdout
    );
    assert_eq!(lab.member_states(), voters(&["etcd1", "etcd2", "etcd3"]));
    assert_eq!(files(&lab, &up), before);

    // Cut right after the removal, as a lost controller session cuts it.
    let run =
        ansible::playbook_cut_after(&inv, "playbooks/replace-member.yml", &args, REMOVAL_TASK);
    assert_eq!(run.code, -9, "not cut after the removal: {}", run.stdout);
    assert_eq!(lab.member_states(), voters(&["etcd1", "etcd2"]));

    // Run again: the removal is not repeated, the clean-up and the join finish.
    let run = ansible::playbook(&inv, "playbooks/replace-member.yml", &args);
    assert_eq!(run.code, 4, "etcd3 is unreachable: {}", run.describe());
    assert_eq!(run.recap("etcd3").unwrap()["unreachable"], 1);
    assert_eq!(run.recap("etcd4").unwrap()["failed"], 0, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "2 members, 0 dead: etcd3 already removed (2 of 2 healthy, quorum 2), \
             then add etcd4 (3 members, quorum 2)"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(lab.member_states(), voters(&["etcd1", "etcd2", "etcd4"]));
    assert!(lab.is_healthy("etcd4").unwrap());
    assert_eq!(lab.count_keys("/replace/").unwrap(), 150);
    for name in ["etcd1", "etcd2"] {
        let h = lab.host(name).unwrap();
        let urls = get_seq(&read(&h.master_config()), "etcdClientInfo.urls").unwrap();
        assert!(!urls.contains(&dead.client_url()), "{name}: {urls:?}");
        assert!(urls.contains(&spare.client_url()), "{name}: {urls:?}");
        assert_eq!(urls.len(), 3, "{name}: {urls:?}");
        let conf = EnvFile::parse(&read(&h.etcd_conf())).unwrap();
        assert!(
            !conf.get("ETCD_INITIAL_CLUSTER").unwrap().contains("etcd3="),
            "{name}"
        );
    }
    for name in up {
        let h = lab.host(name).unwrap();
        let flannel = EnvFile::parse(&read(&h.flanneld_sysconfig())).unwrap();
        let eps = flannel.get("FLANNEL_ETCD_ENDPOINTS").unwrap();
        assert!(!eps.contains(&dead.client_url()), "{name}: {eps}");
        assert!(eps.contains(&spare.client_url()), "{name}: {eps}");
    }
    let conf = EnvFile::parse(&read(&spare.etcd_conf())).unwrap();
    assert_eq!(conf.get("ETCD_INITIAL_CLUSTER_STATE"), Some("existing"));
    // Nothing left to do.
    let before = files(&lab, &up);
    let run = ansible::playbook(&inv, "playbooks/replace-member.yml", &args);
    assert_eq!(run.code, 4, "{}", run.describe());
    assert_eq!(run.total("changed"), 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("etcd4 already added, finish its join"),
        "{}",
        run.stdout
    );
    assert_eq!(files(&lab, &up), before);
    lab.put_keys("/after-replace/", 10).unwrap();
    assert_eq!(lab.count_keys("/after-replace/").unwrap(), 10);
}
