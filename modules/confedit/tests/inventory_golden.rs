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

/// openshift-ansible's own example inventories list members as ranges; an edit for one member
/// must see it inside the range and split the range around it.
mod ranges {
    use super::common::{fixture, replace_once};
    use confedit::Inventory;

    const MASTERS: &str = "ose3-master[1:3].test.example.com\n";

    #[test]
    fn hosts_are_the_expanded_ranges() {
        let inv = Inventory::parse(&fixture("openshift-ansible-hosts.example")).unwrap();
        assert_eq!(
            inv.hosts("etcd"),
            [
                "ose3-master1.test.example.com",
                "ose3-master2.test.example.com",
                "ose3-master3.test.example.com"
            ]
        );
        assert_eq!(inv.hosts("nodes").len(), 7);
        assert_eq!(inv.hosts("nfs"), ["ose3-master1.test.example.com"]);
    }

    #[test]
    fn removing_a_ranged_host_splits_only_its_groups_range() {
        let before = fixture("openshift-ansible-hosts.example");
        let mut inv = Inventory::parse(&before).unwrap();
        assert!(inv.remove_host("etcd", "ose3-master2.test.example.com"));
        let expected = replace_once(
            &before,
            &format!("[etcd]\n{MASTERS}"),
            "[etcd]\nose3-master1.test.example.com\nose3-master3.test.example.com\n",
        );
        assert_eq!(inv.render(), expected);
        // Gone already: nothing more to do.
        assert!(!inv.remove_host("etcd", "ose3-master2.test.example.com"));
        // The ends leave one sub-range.
        let mut inv = Inventory::parse(&before).unwrap();
        assert!(inv.remove_host("nodes", "ose3-master1.test.example.com"));
        let expected = replace_once(
            &before,
            &format!("[nodes]\n{MASTERS}"),
            "[nodes]\nose3-master[2:3].test.example.com\n",
        );
        assert_eq!(inv.render(), expected);
    }

    #[test]
    fn a_range_with_variables_keeps_them_on_every_piece() {
        let before = fixture("openshift-ansible-byo-hosts.ose.example");
        let line = "ose3-node[1:2]-ansible.test.example.com openshift_node_labels=\"{'region': 'primary', 'zone': 'default'}\"\n";
        let text = before.replace(line, &line.replace("[1:2]", "[1:9]"));
        let mut inv = Inventory::parse(&text).unwrap();
        assert!(inv.remove_host("nodes", "ose3-node3-ansible.test.example.com"));
        let vars = " openshift_node_labels=\"{'region': 'primary', 'zone': 'default'}\"\n";
        let expected = text.replace(
            &line.replace("[1:2]", "[1:9]"),
            &format!(
                "ose3-node[1:2]-ansible.test.example.com{vars}ose3-node[4:9]-ansible.test.example.com{vars}"
            ),
        );
        assert_eq!(inv.render(), expected);
        assert_eq!(inv.hosts("nodes").len(), 3 + 8);
    }

    #[test]
    fn present_on_a_ranged_host_changes_nothing() {
        let before = fixture("openshift-ansible-hosts.example");
        let mut inv = Inventory::parse(&before).unwrap();
        assert!(!inv
            .add_host("etcd", "ose3-master3.test.example.com")
            .unwrap());
        // The same variables as the range line (none) are no change either.
        assert!(!inv
            .add_host("masters", "ose3-master1.test.example.com")
            .unwrap());
        // A range all of whose hosts are there already is no change.
        assert!(!inv
            .add_host("etcd", "ose3-master[2:3].test.example.com")
            .unwrap());
        assert_eq!(inv.render(), before);
        assert_eq!(inv.hosts("etcd").len(), 3);
        // A host outside the range is appended after it.
        assert!(inv
            .add_host("etcd", "ose3-master4.test.example.com")
            .unwrap());
        let expected = replace_once(
            &before,
            &format!("[etcd]\n{MASTERS}"),
            &format!("[etcd]\n{MASTERS}ose3-master4.test.example.com\n"),
        );
        assert_eq!(inv.render(), expected);
    }

    #[test]
    fn present_with_other_variables_gives_the_host_its_own_line_in_place() {
        let before = fixture("openshift-ansible-hosts.example");
        let mut inv = Inventory::parse(&before).unwrap();
        let own = "ose3-master2.test.example.com etcd_ip=10.0.0.2";
        assert!(inv.add_host("etcd", own).unwrap());
        let expected = replace_once(
            &before,
            &format!("[etcd]\n{MASTERS}"),
            &format!(
                "[etcd]\nose3-master1.test.example.com\n{own}\nose3-master3.test.example.com\n"
            ),
        );
        assert_eq!(inv.render(), expected);
        assert!(!inv.add_host("etcd", own).unwrap());
    }

    #[test]
    fn padded_letter_and_stride_ranges_split_as_ansible_reads_them() {
        for (line, host, want) in [
            (
                "node[01:10].example.com a=1",
                "node03.example.com",
                "node[01:02].example.com a=1\nnode[04:10].example.com a=1\n",
            ),
            (
                "node[01:10].example.com",
                "node10.example.com",
                "node[01:09].example.com\n",
            ),
            (
                "etcd-[a:f].example.com",
                "etcd-b.example.com",
                "etcd-a.example.com\netcd-[c:f].example.com\n",
            ),
            (
                "w[1:10:2] x=y  # odd ones",
                "w5",
                "w[1:3:2] x=y  # odd ones\nw[7:9:2] x=y\n",
            ),
            (
                "  m[1:3]:2222 ansible_user=core",
                "m2",
                "  m1:2222 ansible_user=core\n  m3:2222 ansible_user=core\n",
            ),
        ] {
            let text = format!("[etcd]\n{line}\n\n[other]\nz\n");
            let mut inv = Inventory::parse(&text).unwrap();
            assert!(inv.remove_host("etcd", host), "{line}");
            assert_eq!(
                inv.render(),
                format!("[etcd]\n{want}\n[other]\nz\n"),
                "{line}"
            );
            assert!(!inv.hosts("etcd").contains(&host.to_string()));
        }
    }

    #[test]
    fn a_bad_range_is_a_parse_error_with_the_line() {
        let e = Inventory::parse("[etcd]\nm[01:100]\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "line 2: host range `[01:100]` in `m[01:100]` must specify equal-length begin and end formats"
        );
    }
}
