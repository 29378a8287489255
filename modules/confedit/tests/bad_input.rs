//! Input an operator's host can really hand us: binary files, broken quoting, duplicate keys,
//! wrong YAML shapes. Each gives a clear error naming the line or path; nothing panics.

mod common;

use common::fixture;
use confedit::{get_seq, set_seq, text, validate_url, EnvFile, InitialCluster, Inventory};

#[test]
fn binary_garbage_is_refused_with_a_line() {
    let e = text::decode(b"ETCD_NAME=a\n\xff\xfe\x00\x01").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 2: invalid UTF-8: this is not a text file"
    );
    let e = text::decode(b"A=1\nB=2\n\0\0\0").unwrap_err();
    assert_eq!(e.to_string(), "line 3: NUL byte: this is not a text file");
    for parse in [
        EnvFile::validate,
        Inventory::validate,
        confedit::yamlseq::validate,
    ] {
        let e = parse("x=1\n\0ELF").unwrap_err();
        assert!(e.to_string().contains("NUL byte"), "{e}");
    }
}

#[test]
fn unterminated_quotes() {
    let text = fixture("flanneld").replace("flannel-key.pem\"", "flannel-key.pem");
    let e = EnvFile::parse(&text).unwrap_err();
    assert_eq!(e.to_string(), "line 11: unterminated double quote");
    // Like systemd, a quote left open earlier runs on to the next quote character: that is
    // what the service would read, so it is not an error.
    let text = fixture("flanneld").replace("network\"", "network");
    let f = EnvFile::parse(&text).unwrap();
    assert!(f
        .get("FLANNEL_ETCD_PREFIX")
        .unwrap()
        .contains("FLANNEL_OPTIONS="));
    let e = Inventory::parse("[etcd]\nm0 etcd_ip='10.0.0.1\n").unwrap_err();
    assert_eq!(e.to_string(), "line 2: unterminated single quote");
}

#[test]
fn duplicate_keys_name_both_lines() {
    let text = fixture("etcd-ocp311.conf") + "ETCD_NAME=master-9.example.com\n";
    let e = EnvFile::parse(&text).unwrap_err();
    assert_eq!(e.to_string(), "ETCD_NAME set twice: lines 1 and 58");
    assert_eq!(e.line(), Some(58));
}

#[test]
fn inventory_errors() {
    for (text, msg) in [
        ("[etcd\nm0\n", "line 1: invalid section header `[etcd`"),
        (
            "[etcd:hosts]\n",
            "line 1: section [etcd:hosts] has unknown type `hosts`",
        ),
        (
            "[all:vars]\njust_a_word\n",
            "line 2: expected key=value, got `just_a_word`",
        ),
        (
            "[etcd]\nm0 oops\n",
            "line 2: expected key=value host variable, got `oops`",
        ),
        ("[all:children]\na b\n", "line 2: invalid group name `a b`"),
    ] {
        assert_eq!(Inventory::parse(text).unwrap_err().to_string(), msg);
    }
    let mut inv = Inventory::parse("[etcd]\n").unwrap();
    assert!(inv.add_host("etcd", "m0 'x").is_err());
    assert!(inv.add_host("bad group", "m0").is_err());
}

#[test]
fn yaml_shapes() {
    let cfg = fixture("master-config.yaml");
    let e = |r: confedit::Result<Vec<String>>| r.unwrap_err().to_string();
    assert_eq!(
        e(get_seq(&cfg, "etcdClientInfo.ca")),
        "etcdClientInfo.ca is a string, not a list"
    );
    assert_eq!(
        e(get_seq(&cfg, "etcdClientInfo.nope")),
        "etcdClientInfo.nope is missing"
    );
    assert_eq!(
        e(get_seq(&cfg, "kind.urls")),
        "kind is a string, not a mapping"
    );
    assert_eq!(
        e(get_seq(&cfg, "kubernetesMasterConfig.podEvictionTimeout")),
        "kubernetesMasterConfig.podEvictionTimeout is null, not a list"
    );
    assert_eq!(
        e(get_seq(&cfg, "networkConfig.clusterNetworks")),
        "networkConfig.clusterNetworks item 1 is a mapping, not a scalar"
    );
    let urls = vec!["https://a:1".to_string()];
    let e2 = |r: confedit::Result<String>| r.unwrap_err().to_string();
    assert_eq!(
        e2(set_seq(&cfg, "etcdClientInfo.keyFile", &urls)),
        "etcdClientInfo.keyFile is a string, not a list"
    );
    assert_eq!(
        e2(set_seq("- a\n- b\n", "urls", &urls)),
        "the document is a list, not a mapping"
    );
    assert_eq!(
        e2(set_seq("just text\n", "urls", &urls)),
        "the document is a string, not a mapping"
    );
    let bad = "etcdClientInfo:\n  urls:\n  - a\n   bad: [\n";
    let err = set_seq(bad, "etcdClientInfo.urls", &urls).unwrap_err();
    assert!(err.line().is_some(), "{err}");
    assert!(err.to_string().starts_with("line "), "{err}");
    // Parsable YAML this editor does not rewrite: refused, not guessed at.
    let flow_map = "etcdClientInfo: {ca: x, urls: [a, b]}\n";
    assert_eq!(
        get_seq(flow_map, "etcdClientInfo.urls").unwrap(),
        ["a", "b"]
    );
    assert!(e2(set_seq(flow_map, "etcdClientInfo.urls", &urls)).contains("flow-style mappings"));
    let alias = "base: &u [a]\nurls: *u\n";
    assert!(e2(set_seq(alias, "urls", &urls)).contains("alias"));
}

#[test]
fn url_and_initial_cluster_errors() {
    assert!(validate_url("https://10.0.0.1").is_err());
    assert!(InitialCluster::parse("m0=https://10.0.0.1").is_err());
}
