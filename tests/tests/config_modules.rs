//! The four config-file modules through real ansible-playbook, on copies of real files:
//! a dry run with --check --diff, the real run, and a rerun that must change nothing.
//! Needs the installed binaries (`make build`) and the venv `make test` creates.

use std::fs;
use std::path::Path;
use std::process::Command;

const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const MODULES: [&str; 4] = [
    "etcd_conf",
    "flanneld_conf",
    "master_config",
    "inventory_group",
];

fn fixture(name: &str) -> String {
    let p = Path::new(REPO)
        .join("modules/confedit/tests/fixtures")
        .join(name);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "expected one {from:?}");
    text.replacen(from, to, 1)
}

use modtest::TempDir;

/// (file name in the temp dir, fixture, expected bytes after the play)
fn files() -> Vec<(&'static str, String, String)> {
    let etcd = fixture("etcd-ocp311.conf");
    let etcd_after = replace_once(
        &etcd,
        "master-2.example.com=https://10.0.0.3:2380\nETCD_INITIAL_CLUSTER_STATE=new\n",
        "master-3.example.com=https://10.0.0.4:2380\nETCD_INITIAL_CLUSTER_STATE=existing\n",
    );
    let flanneld = fixture("flanneld");
    let flanneld_after = replace_once(
        &flanneld,
        "https://10.0.0.3:2379\"",
        "https://10.0.0.4:2379\"",
    );
    let master = fixture("master-config.yaml");
    let master_after = replace_once(
        &master,
        "  - https://master-2.example.com:2379\n",
        "  - https://master-3.example.com:2379\n",
    );
    let inventory = fixture("osev3-inventory");
    let inventory_after = replace_once(
        &inventory,
        "master-2.example.com etcd_ip=10.0.0.3 openshift_ip=10.0.0.3  # replaced 2019-04 after disk failure\n",
        "",
    );
    let inventory_after = replace_once(
        &inventory_after,
        "[new_etcd]\n",
        "[new_etcd]\nmaster-3.example.com openshift_node_group_name='node-config-master' openshift_ip=10.0.0.4\n",
    );
    vec![
        ("etcd.conf", etcd, etcd_after),
        ("flanneld", flanneld, flanneld_after),
        ("master-config.yaml", master, master_after),
        ("hosts", inventory, inventory_after),
    ]
}

const PLAYBOOK: &str = r#"- name: Replace etcd member master-2 by master-3 in the config files
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    dir: "{{ playbook_dir }}"
  tasks:
    - name: etcd.conf joins the surviving cluster
      etcd_conf:
        path: "{{ dir }}/etcd.conf"
        initial_cluster_remove: [master-2.example.com]
        initial_cluster_add:
          master-3.example.com: https://10.0.0.4:2380
        settings:
          ETCD_INITIAL_CLUSTER_STATE: existing
    - name: flanneld follows
      flanneld_conf:
        path: "{{ dir }}/flanneld"
        remove: [https://10.0.0.3:2379]
        add: [https://10.0.0.4:2379]
    - name: the API server follows
      master_config:
        path: "{{ dir }}/master-config.yaml"
        remove: [https://master-2.example.com:2379]
        add: [https://master-3.example.com:2379]
    - name: master-2 leaves [etcd]
      inventory_group:
        path: "{{ dir }}/hosts"
        host: master-2.example.com
        group: etcd
        state: absent
      delegate_to: localhost
    - name: master-3 waits in [new_etcd] for scaleup
      inventory_group:
        path: "{{ dir }}/hosts"
        host: master-3.example.com
        group: new_etcd
      delegate_to: localhost
"#;

fn ansible_playbook(dir: &Path, extra: &[&str]) -> String {
    let repo = Path::new(REPO);
    let bin = repo.join(".venv/bin/ansible-playbook");
    assert!(
        bin.exists(),
        "{} is missing: run `make test` (or `make setup`) to create the venv",
        bin.display()
    );
    let out = Command::new(&bin)
        .current_dir(dir)
        .args(["-i", "localhost,", "play.yml"])
        .args(extra)
        .env("ANSIBLE_LIBRARY", repo.join("playbooks/library"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_FORCE_COLOR", "0")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .env("ANSIBLE_LOCAL_TEMP", dir.join(".ansible-local"))
        .env("ANSIBLE_REMOTE_TEMP", dir.join(".ansible-remote"))
        .env_remove("ANSIBLE_CONFIG")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ansible-playbook {extra:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

fn recap(stdout: &str) -> &str {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .nth(1)
        .unwrap_or_else(|| panic!("no PLAY RECAP in:\n{stdout}"))
}

#[test]
fn config_modules_through_ansible_playbook() {
    let library = Path::new(REPO).join("playbooks/library");
    for m in MODULES {
        let bin = library.join(m);
        assert!(
            bin.exists() && library.join(format!("{m}.yml")).exists(),
            "{} is missing: run `make build` to install the module binaries and docs",
            bin.display()
        );
    }
    let tmp = TempDir::new("e2e-conf");
    let dir = tmp.path();
    let files = files();
    for (name, before, _) in &files {
        fs::write(dir.join(name), before).unwrap();
    }
    fs::write(dir.join("play.yml"), PLAYBOOK).unwrap();

    let dry = ansible_playbook(dir, &["--check", "--diff"]);
    for (name, before, _) in &files {
        assert_eq!(
            &fs::read_to_string(dir.join(name)).unwrap(),
            before,
            "--check wrote {name}"
        );
    }
    let etcd_conf = dir.join("etcd.conf").display().to_string();
    for expected in [
        format!("--- before: {etcd_conf}"),
        format!("+++ after: {etcd_conf}"),
        "-ETCD_INITIAL_CLUSTER_STATE=new".to_string(),
        "+ETCD_INITIAL_CLUSTER_STATE=existing".to_string(),
        "+  - https://master-3.example.com:2379".to_string(),
        "-master-2.example.com etcd_ip=10.0.0.3".to_string(),
    ] {
        assert!(
            dry.contains(&expected),
            "--diff output lacks {expected:?}:\n{dry}"
        );
    }
    assert!(recap(&dry).contains("changed=5"), "{}", recap(&dry));

    let real = ansible_playbook(dir, &[]);
    assert!(recap(&real).contains("changed=5 "), "{}", recap(&real));
    for (name, _, after) in &files {
        assert_eq!(
            &fs::read_to_string(dir.join(name)).unwrap(),
            after,
            "{name} after the play"
        );
    }

    let again = ansible_playbook(dir, &[]);
    let line = recap(&again);
    assert!(
        line.contains("changed=0 ") && line.contains("failed=0 "),
        "second run: {line}"
    );
    for (name, _, after) in &files {
        assert_eq!(
            &fs::read_to_string(dir.join(name)).unwrap(),
            after,
            "{name} after the rerun"
        );
    }
}
