mod common;

use common::{fixture, replace_once};
use confedit::Inventory;

fn inv() -> (String, Inventory) {
    let text = fixture("osev3-inventory");
    let inv = Inventory::parse(&text).unwrap();
    (text, inv)
}

#[test]
fn groups_and_hosts() {
    let (_, inv) = inv();
    assert_eq!(
        inv.hosts("etcd"),
        [
            "master-0.example.com",
            "master-1.example.com",
            "master-2.example.com"
        ]
    );
    assert!(inv.hosts("new_etcd").is_empty());
    assert_eq!(inv.hosts("nodes").len(), 6);
    // :children and :vars sections hold no hosts.
    assert!(inv.hosts("OSEv3").is_empty());
    assert_eq!(
        inv.groups_with_hosts(),
        ["masters", "etcd", "new_etcd", "nodes"]
    );
}

#[test]
fn add_to_empty_group_reuses_the_hosts_line_from_another_group() {
    let (before, mut inv) = inv();
    assert!(inv.add_host("new_etcd", "master-3.example.com").unwrap());
    assert!(!inv.add_host("new_etcd", "master-3.example.com").unwrap());
    let expected = replace_once(
        &before,
        "[new_etcd]\n",
        "[new_etcd]\nmaster-3.example.com openshift_node_group_name='node-config-master' openshift_ip=10.0.0.4\n",
    );
    assert_eq!(inv.render(), expected);
    assert_eq!(inv.hosts("new_etcd"), ["master-3.example.com"]);
}

#[test]
fn add_appends_after_last_host_before_blank_and_next_comment() {
    let (before, mut inv) = inv();
    inv.add_host(
        "etcd",
        "master-3.example.com etcd_ip=10.0.0.4 openshift_ip=10.0.0.4",
    )
    .unwrap();
    let expected = replace_once(
        &before,
        "  # replaced 2019-04 after disk failure\n",
        "  # replaced 2019-04 after disk failure\nmaster-3.example.com etcd_ip=10.0.0.4 openshift_ip=10.0.0.4\n",
    );
    assert_eq!(inv.render(), expected);
}

#[test]
fn add_with_new_vars_replaces_that_hosts_line_only() {
    let (before, mut inv) = inv();
    assert!(inv
        .add_host("etcd", "master-1.example.com etcd_ip=10.0.0.12")
        .unwrap());
    assert!(!inv
        .add_host("etcd", "master-1.example.com   etcd_ip=10.0.0.12")
        .unwrap());
    let expected = replace_once(
        &before,
        "master-1.example.com etcd_ip=10.0.0.2 openshift_ip=10.0.0.2\n",
        "master-1.example.com etcd_ip=10.0.0.12\n",
    );
    assert_eq!(inv.render(), expected);
}

#[test]
fn remove_host_from_one_group() {
    let (before, mut inv) = inv();
    assert!(inv.remove_host("etcd", "master-2.example.com"));
    assert!(!inv.remove_host("etcd", "master-2.example.com"));
    let expected = replace_once(
        &before,
        "master-2.example.com etcd_ip=10.0.0.3 openshift_ip=10.0.0.3  # replaced 2019-04 after disk failure\n",
        "",
    );
    assert_eq!(inv.render(), expected);
    assert_eq!(inv.hosts("masters").len(), 3);
}

#[test]
fn missing_group_is_created_at_the_end() {
    let (before, mut inv) = inv();
    inv.add_host("new_masters", "master-3.example.com").unwrap();
    let expected = before
        + "\n[new_masters]\nmaster-3.example.com openshift_node_group_name='node-config-master' openshift_ip=10.0.0.4\n";
    assert_eq!(inv.render(), expected);

    let mut inv = Inventory::parse("[a]\nh1").unwrap();
    inv.add_host("b", "h2 x=1").unwrap();
    assert_eq!(inv.render(), "[a]\nh1\n\n[b]\nh2 x=1\n");
    inv.add_host("a", "h3").unwrap();
    assert_eq!(inv.render(), "[a]\nh1\nh3\n\n[b]\nh2 x=1\n");
}

#[test]
fn ungrouped_hosts_and_repeated_sections() {
    let text = "h0\n[g]\nh1\n[g:vars]\nx=1\n[g]\nh2\n";
    let mut inv = Inventory::parse(text).unwrap();
    assert_eq!(inv.hosts("ungrouped"), ["h0"]);
    assert_eq!(inv.hosts("g"), ["h1", "h2"]);
    inv.add_host("g", "h3").unwrap();
    assert_eq!(inv.render(), "h0\n[g]\nh1\n[g:vars]\nx=1\n[g]\nh2\nh3\n");
}
