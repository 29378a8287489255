mod common;

use common::{fixture, replace_once};
use confedit::EnvFile;

fn edit(name: &str, f: impl FnOnce(&mut EnvFile)) -> (String, String) {
    let before = fixture(name);
    let mut file = EnvFile::parse(&before).unwrap();
    f(&mut file);
    let after = file.render();
    EnvFile::parse(&after).unwrap();
    (before, after)
}

#[test]
fn rpm_defaults_parse() {
    let file = EnvFile::parse(&fixture("etcd-rpm.conf")).unwrap();
    let s = file.settings();
    let keys: Vec<&str> = s.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "ETCD_DATA_DIR",
            "ETCD_LISTEN_CLIENT_URLS",
            "ETCD_NAME",
            "ETCD_ADVERTISE_CLIENT_URLS"
        ]
    );
    assert_eq!(file.get("ETCD_NAME"), Some("default"));
    assert_eq!(
        file.get("ETCD_DATA_DIR"),
        Some("/var/lib/etcd/default.etcd")
    );
    assert_eq!(file.get("ETCD_INITIAL_CLUSTER"), None);
}

#[test]
fn rpm_set_keeps_unquoted_and_quoted_styles() {
    let (before, after) = edit("etcd-rpm.conf", |f| {
        assert!(f.set("ETCD_NAME", "etcd-0").unwrap());
        assert!(f
            .set("ETCD_LISTEN_CLIENT_URLS", "https://10.0.0.1:2379")
            .unwrap());
        assert!(!f.set("ETCD_NAME", "etcd-0").unwrap());
    });
    let expected = replace_once(&before, "\nETCD_NAME=default\n", "\nETCD_NAME=etcd-0\n");
    let expected = replace_once(
        &expected,
        "ETCD_LISTEN_CLIENT_URLS=\"http://localhost:2379\"",
        "ETCD_LISTEN_CLIENT_URLS=\"https://10.0.0.1:2379\"",
    );
    assert_eq!(after, expected);
}

#[test]
fn rpm_unquoted_value_that_needs_quotes_becomes_double_quoted() {
    let (before, after) = edit("etcd-rpm.conf", |f| {
        f.set("ETCD_NAME", "my \"etcd\" $1").unwrap();
    });
    let expected = replace_once(
        &before,
        "\nETCD_NAME=default\n",
        "\nETCD_NAME=\"my \\\"etcd\\\" $1\"\n"
            .replace('$', "\\$")
            .as_str(),
    );
    assert_eq!(after, expected);
}

#[test]
fn rpm_new_key_goes_under_its_commented_default_in_its_style() {
    let (before, after) = edit("etcd-rpm.conf", |f| {
        f.set(
            "ETCD_INITIAL_CLUSTER",
            "etcd-0=https://10.0.0.1:2380,etcd-1=https://10.0.0.2:2380",
        )
        .unwrap();
        f.set("ETCD_INITIAL_CLUSTER_STATE", "existing").unwrap();
        f.set("ETCD_FORCE_NEW_CLUSTER", "true").unwrap();
    });
    let expected = replace_once(
        &before,
        "#ETCD_INITIAL_CLUSTER=\"default=http://localhost:2380\"\n",
        "#ETCD_INITIAL_CLUSTER=\"default=http://localhost:2380\"\n\
         ETCD_INITIAL_CLUSTER=\"etcd-0=https://10.0.0.1:2380,etcd-1=https://10.0.0.2:2380\"\n",
    );
    let expected = replace_once(
        &expected,
        "#ETCD_INITIAL_CLUSTER_STATE=\"new\"\n",
        "#ETCD_INITIAL_CLUSTER_STATE=\"new\"\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n",
    );
    let expected = replace_once(
        &expected,
        "#ETCD_FORCE_NEW_CLUSTER=\"false\"\n",
        "#ETCD_FORCE_NEW_CLUSTER=\"false\"\nETCD_FORCE_NEW_CLUSTER=\"true\"\n",
    );
    assert_eq!(after, expected);
}

#[test]
fn rpm_remove_then_set_round_trips_to_original() {
    let (before, after) = edit("etcd-rpm.conf", |f| {
        f.set("ETCD_FORCE_NEW_CLUSTER", "true").unwrap();
        assert!(f.remove("ETCD_FORCE_NEW_CLUSTER"));
        assert!(!f.remove("ETCD_FORCE_NEW_CLUSTER"));
    });
    assert_eq!(after, before);
}

#[test]
fn ocp311_edit_initial_cluster_and_append_new_key() {
    let (before, after) = edit("etcd-ocp311.conf", |f| {
        f.set(
            "ETCD_INITIAL_CLUSTER",
            "master-0.example.com=https://10.0.0.1:2380,master-1.example.com=https://10.0.0.2:2380",
        )
        .unwrap();
        f.set("ETCD_INITIAL_CLUSTER_STATE", "existing").unwrap();
        // No commented default for this one: appended at the end.
        f.set(
            "ETCD_EXPERIMENTAL_PEER_SKIP_CLIENT_SAN_VERIFICATION",
            "true",
        )
        .unwrap();
        assert!(f.remove("ETCD_INITIAL_CLUSTER_TOKEN"));
    });
    let expected = replace_once(
        &before,
        ",master-2.example.com=https://10.0.0.3:2380\n",
        "\n",
    );
    let expected = replace_once(
        &expected,
        "ETCD_INITIAL_CLUSTER_STATE=new\n",
        "ETCD_INITIAL_CLUSTER_STATE=existing\n",
    );
    let expected = replace_once(&expected, "ETCD_INITIAL_CLUSTER_TOKEN=etcd-cluster-1\n", "");
    let expected = expected + "ETCD_EXPERIMENTAL_PEER_SKIP_CLIENT_SAN_VERIFICATION=true\n";
    assert_eq!(after, expected);
}

#[test]
fn ocp311_quoted_line_stays_quoted() {
    let (before, after) = edit("etcd-ocp311.conf", |f| {
        f.set("ETCD_PEER_CLIENT_CERT_AUTH", "false").unwrap();
    });
    let expected = replace_once(
        &before,
        "ETCD_PEER_CLIENT_CERT_AUTH=\"true\"",
        "ETCD_PEER_CLIENT_CERT_AUTH=\"false\"",
    );
    assert_eq!(after, expected);
}

#[test]
fn flanneld_endpoints() {
    let (before, after) = edit("flanneld", |f| {
        assert_eq!(
            f.get("FLANNEL_ETCD_ENDPOINTS"),
            Some("https://10.0.0.1:2379,https://10.0.0.2:2379,https://10.0.0.3:2379")
        );
        f.set(
            "FLANNEL_ETCD_ENDPOINTS",
            "https://10.0.0.1:2379,https://10.0.0.4:2379",
        )
        .unwrap();
    });
    let expected = replace_once(
        &before,
        "FLANNEL_ETCD_ENDPOINTS=\"https://10.0.0.1:2379,https://10.0.0.2:2379,https://10.0.0.3:2379\"",
        "FLANNEL_ETCD_ENDPOINTS=\"https://10.0.0.1:2379,https://10.0.0.4:2379\"",
    );
    assert_eq!(after, expected);
    let file = EnvFile::parse(&after).unwrap();
    assert_eq!(file.get("FLANNEL_ETCD_PREFIX"), Some("/atomic.io/network"));
    assert!(file
        .get("FLANNEL_OPTIONS")
        .unwrap()
        .starts_with("-etcd-cafile="));
}

#[test]
fn file_without_final_newline_gets_one_before_append() {
    let mut f = EnvFile::parse("A=1").unwrap();
    f.set("B", "x y").unwrap();
    assert_eq!(f.render(), "A=1\nB=\"x y\"\n");
    let mut f = EnvFile::parse("A=1\r\n#B='d'").unwrap();
    f.set("B", "2").unwrap();
    assert_eq!(f.render(), "A=1\r\n#B='d'\r\nB='2'\r\n");
}

#[test]
fn spacing_and_continuations_are_kept() {
    let text = "  A = 'one'   \nB=two\\\n  three\nC=3\n";
    let mut f = EnvFile::parse(text).unwrap();
    assert_eq!(f.get("B"), Some("two  three"));
    f.set("A", "uno").unwrap();
    f.set("B", "dos").unwrap();
    assert_eq!(f.render(), "  A = 'uno'\nB=dos\nC=3\n");
}
