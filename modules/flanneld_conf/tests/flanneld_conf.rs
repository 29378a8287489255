//! flanneld_conf through its real binary, on copies of a real /etc/sysconfig/flanneld.

use modtest::{replace_once, run, snapshot, TempDir};
use serde_json::{json, Value};
use std::fs;
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_flanneld_conf");
const LINE: &str =
    "FLANNEL_ETCD_ENDPOINTS=\"https://10.0.0.1:2379,https://10.0.0.2:2379,https://10.0.0.3:2379\"";

fn args(path: &Path, mut extra: Value) -> Value {
    extra["path"] = json!(path);
    extra
}

fn replace_member() -> Value {
    json!({"remove": ["https://10.0.0.3:2379"], "add": ["https://10.0.0.4:2379"]})
}

fn golden(before: &str) -> String {
    replace_once(
        before,
        LINE,
        "FLANNEL_ETCD_ENDPOINTS=\"https://10.0.0.1:2379,https://10.0.0.2:2379,https://10.0.0.4:2379\"",
    )
}

#[test]
fn add_and_remove_keep_order_quoting_and_the_rest() {
    let dir = TempDir::new("fl-golden");
    let p = dir.fixture("flanneld", "flanneld");
    let before = fs::read_to_string(&p).unwrap();
    let out = run(BIN, &args(&p, replace_member())).ok();
    assert!(out.changed());
    assert_eq!(fs::read_to_string(&p).unwrap(), golden(&before));
    assert_eq!(
        out.json["endpoints"],
        json!([
            "https://10.0.0.1:2379",
            "https://10.0.0.2:2379",
            "https://10.0.0.4:2379"
        ])
    );
    let snap = snapshot(&p);
    assert!(!run(BIN, &args(&p, replace_member())).ok().changed());
    assert_eq!(snapshot(&p), snap);
}

#[test]
fn exact_list_drops_duplicates_and_same_list_is_no_change() {
    let dir = TempDir::new("fl-exact");
    let p = dir.fixture("flanneld", "flanneld");
    let before = fs::read_to_string(&p).unwrap();
    let exact = json!({"endpoints": ["https://10.0.0.2:2379", "https://10.0.0.2:2379/", "https://10.0.0.1:2379"]});
    run(BIN, &args(&p, exact.clone())).ok();
    let expected = replace_once(
        &before,
        LINE,
        "FLANNEL_ETCD_ENDPOINTS=\"https://10.0.0.2:2379,https://10.0.0.1:2379\"",
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), expected);
    assert!(!run(BIN, &args(&p, exact)).ok().changed());
    // Written with spaces by hand: the same list, so the line stays as the operator wrote it.
    let spaced = before.replace(",https", ", https");
    fs::write(&p, &spaced).unwrap();
    let out = run(BIN, &args(&p, json!({"add": ["https://10.0.0.1:2379"]}))).ok();
    assert!(!out.changed());
    assert_eq!(fs::read_to_string(&p).unwrap(), spaced);
}

#[test]
fn missing_key_goes_under_its_commented_default_or_at_the_end() {
    let dir = TempDir::new("fl-new");
    let p = dir.join("flanneld");
    fs::write(&p, "# etcd url location\n#FLANNEL_ETCD_ENDPOINTS=\"http://127.0.0.1:2379\"\nFLANNEL_ETCD_PREFIX=/atomic.io/network\n").unwrap();
    run(BIN, &args(&p, json!({"add": ["https://10.0.0.1:2379"]}))).ok();
    assert_eq!(
        fs::read_to_string(&p).unwrap(),
        "# etcd url location\n#FLANNEL_ETCD_ENDPOINTS=\"http://127.0.0.1:2379\"\n\
         FLANNEL_ETCD_ENDPOINTS=\"https://10.0.0.1:2379\"\nFLANNEL_ETCD_PREFIX=/atomic.io/network\n"
    );
    let out = run(
        BIN,
        &args(&p, json!({"key": "ETCD_ENDPOINTS", "endpoints": "https://10.0.0.1:2379,https://10.0.0.2:2379"})),
    )
    .ok();
    assert_eq!(out.json["endpoints"].as_array().unwrap().len(), 2);
    assert!(fs::read_to_string(&p)
        .unwrap()
        .ends_with("\nETCD_ENDPOINTS=https://10.0.0.1:2379,https://10.0.0.2:2379\n"));
}

#[test]
fn check_mode_diff_and_backup() {
    let dir = TempDir::new("fl-check");
    let p = dir.fixture("flanneld", "flanneld");
    let before = std::fs::read_to_string(&p).unwrap();
    modtest::contract::check_diff_and_backup(
        BIN,
        &dir,
        &p,
        &args(&p, replace_member()),
        &golden(&before),
    );
}

#[test]
fn mode_owner_and_symlink_are_kept() {
    let dir = TempDir::new("fl-meta");
    let real = dir.fixture("flanneld", "flanneld.real");
    let link = dir.join("flanneld");
    let case = modtest::contract::ThroughSymlink {
        real: &real,
        link: &link,
        link_target: &real,
        mode: 0o600,
        ids: (995, 994),
        args: args(&link, replace_member()),
    };
    modtest::contract::mode_owner_and_symlink_kept(BIN, case, golden);
}

#[test]
fn bad_input_fails_clearly_and_leaves_the_file_alone() {
    let dir = TempDir::new("fl-bad");
    let fl = modtest::fixture("flanneld");
    let cases: Vec<(&str, Vec<u8>, Value, &str)> = vec![
        (
            "binary garbage",
            b"\0\0\0\x01\x02".to_vec(),
            replace_member(),
            "reading {p}: line 1: NUL byte: this is not a text file",
        ),
        (
            "unterminated quote",
            fl.replace("flannel-key.pem\"", "flannel-key.pem")
                .into_bytes(),
            replace_member(),
            "reading {p}: line 11: unterminated double quote",
        ),
        (
            "duplicate key",
            format!("{fl}\nFLANNEL_ETCD_PREFIX=/x\n").into_bytes(),
            replace_member(),
            "reading {p}: FLANNEL_ETCD_PREFIX set twice: lines 8 and 13",
        ),
        (
            "URL without scheme",
            fl.clone().into_bytes(),
            json!({"add": ["10.0.0.4:2379"]}),
            "{p}: invalid URL `10.0.0.4:2379`: expected http:// or https://",
        ),
        (
            "emptied list",
            fl.clone().into_bytes(),
            json!({"remove": ["https://10.0.0.1:2379", "https://10.0.0.2:2379", "https://10.0.0.3:2379"]}),
            "{p}: the edit would leave no URLs; refusing",
        ),
        (
            "endpoints with add",
            fl.clone().into_bytes(),
            json!({"endpoints": ["https://a:1"], "add": ["https://b:1"]}),
            "parameters are mutually exclusive: endpoints|add",
        ),
        (
            "nothing asked",
            fl.clone().into_bytes(),
            json!({}),
            "nothing to do: give endpoints, or add and/or remove",
        ),
        (
            "bad key",
            fl.clone().into_bytes(),
            json!({"key": "FLANNEL-ETCD", "add": ["https://b:1"]}),
            "key `FLANNEL-ETCD` is not a valid variable name",
        ),
        (
            "endpoints not a list",
            fl.clone().into_bytes(),
            json!({"endpoints": {"a": 1}}),
            "argument 'endpoints' is of type dict and we were unable to convert to list",
        ),
        (
            "unknown option",
            fl.clone().into_bytes(),
            json!({"urls": ["https://b:1"]}),
            "Unsupported parameters for (flanneld_conf) module: urls.",
        ),
    ];
    modtest::contract::bad_input_leaves_the_file_alone(BIN, &dir, "flanneld", cases, args);
    let p = dir.join("missing");
    let msg = run(BIN, &args(&p, replace_member())).err();
    assert_eq!(
        msg,
        format!(
            "{} does not exist (set create: true to create it)",
            p.display()
        )
    );
    // A node without flanneld: asked to skip it, nothing is made and nothing fails.
    let mut skip = args(&p, replace_member());
    skip["skip_missing"] = json!(true);
    for check in [false, true] {
        skip["_ansible_check_mode"] = json!(check);
        let out = run(BIN, &skip).ok();
        assert!(!out.changed());
        assert_eq!(out.json["exists"], json!(false));
        assert!(!p.exists());
    }
    skip["_ansible_check_mode"] = json!(false);
    skip["create"] = json!(true);
    let msg = run(BIN, &skip).err();
    assert!(msg.contains("mutually exclusive"), "{msg}");
    // A file that is there is edited as without the option.
    let q = dir.fixture("flanneld", "flanneld");
    let mut present = args(&q, replace_member());
    present["skip_missing"] = json!(true);
    let out = run(BIN, &present).ok();
    assert!(out.changed());
    assert_eq!(out.json["exists"], json!(true));
}

#[test]
fn unwritable_target_fails_with_the_path() {
    let msg = run(
        BIN,
        &json!({"path": "/proc/etcd-ops-flanneld", "create": true, "add": ["https://10.0.0.1:2379"]}),
    )
    .err();
    assert!(msg.starts_with("creating temp file in /proc: "), "{msg}");
}

const OSE: [&str; 3] = [
    "https://ose3-etcd1.example.com:2379",
    "https://ose3-etcd2.example.com:2379",
    "https://ose3-etcd3.example.com:2379",
];
const LEGACY_LINE: &str = "FLANNEL_ETCD=https://ose3-etcd1.example.com:2379,https://ose3-etcd2.example.com:2379,https://ose3-etcd3.example.com:2379";

/// The members as etcd reports them (by IP) and as openshift-ansible wrote them (by name).
fn aliases() -> Value {
    json!([
        [
            "https://10.0.0.3:2379",
            "https://ose3-etcd3.example.com:2379"
        ],
        [
            "https://10.0.0.4:2379",
            "https://ose3-etcd4.example.com:2379"
        ],
    ])
}

fn warnings(out: &modtest::Run) -> Vec<String> {
    out.json["warnings"]
        .as_array()
        .map(|a| a.iter().map(|w| w.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// flannel 0.5's file has FLANNEL_ETCD only: that is the endpoint list to edit, in place.
#[test]
fn flannel_0_5_layout_edits_flannel_etcd() {
    let dir = TempDir::new("fl-05");
    let p = dir.fixture("flanneld-0.5", "flanneld");
    let before = fs::read_to_string(&p).unwrap();
    let replace = json!({
        "remove": ["https://ose3-etcd3.example.com:2379"],
        "add": ["https://ose3-etcd4.example.com:2379"],
    });
    let out = run(BIN, &args(&p, replace.clone())).ok();
    assert!(out.changed());
    assert_eq!(out.json["keys"], json!(["FLANNEL_ETCD"]));
    let expected = replace_once(
        &before,
        LEGACY_LINE,
        "FLANNEL_ETCD=https://ose3-etcd1.example.com:2379,https://ose3-etcd2.example.com:2379,https://ose3-etcd4.example.com:2379",
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), expected);
    assert!(!run(BIN, &args(&p, replace)).ok().changed());
    // Removing down to one URL is fine; the list is there, not missing.
    let out = run(
        BIN,
        &args(&p, json!({"remove": ["https://ose3-etcd1.example.com:2379", "https://ose3-etcd4.example.com:2379"]})),
    )
    .ok();
    assert_eq!(out.json["endpoints"], json!([OSE[1]]));
    assert!(!fs::read_to_string(&p)
        .unwrap()
        .contains("FLANNEL_ETCD_ENDPOINTS"));
}

#[test]
fn both_keys_are_kept_in_step_or_refused_when_they_disagree() {
    let dir = TempDir::new("fl-both");
    let p = dir.fixture("flanneld-0.5", "flanneld");
    let legacy = fs::read_to_string(&p).unwrap();
    let both = legacy.replace(
        LEGACY_LINE,
        &format!(
            "{LEGACY_LINE}\nFLANNEL_ETCD_ENDPOINTS=\"{}\"",
            OSE.join(",")
        ),
    );
    fs::write(&p, &both).unwrap();
    let out = run(BIN, &args(&p, json!({"remove": [OSE[0]]}))).ok();
    assert_eq!(
        out.json["keys"],
        json!(["FLANNEL_ETCD_ENDPOINTS", "FLANNEL_ETCD"])
    );
    let rest = OSE[1..].join(",");
    assert_eq!(
        fs::read_to_string(&p).unwrap(),
        both.replace(LEGACY_LINE, &format!("FLANNEL_ETCD={rest}"))
            .replace(&format!("\"{}\"", OSE.join(",")), &format!("\"{rest}\""))
    );
    let disagree = both.replace(
        &format!("\"{}\"", OSE.join(",")),
        "\"https://10.0.0.1:2379\"",
    );
    fs::write(&p, &disagree).unwrap();
    let msg = run(BIN, &args(&p, json!({"remove": [OSE[0]]}))).err();
    assert_eq!(
        msg,
        format!(
            "{}: FLANNEL_ETCD_ENDPOINTS (https://10.0.0.1:2379) and FLANNEL_ETCD ({}) both set and disagree: set key to the one this flanneld reads",
            p.display(),
            OSE.join(",")
        )
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), disagree);
    // Naming the key settles it.
    let out = run(
        BIN,
        &args(&p, json!({"remove": [OSE[0]], "key": "FLANNEL_ETCD"})),
    )
    .ok();
    assert_eq!(out.json["endpoints"], json!(OSE[1..]));
}

/// openshift-ansible wrote host names; etcd's member list says IPs. Removing by the IP URL
/// alone matches nothing and warns; with url_aliases it removes the host name entry, and the
/// replacement is written by host name like the rest.
#[test]
fn members_are_matched_by_every_url_they_are_known_by() {
    let dir = TempDir::new("fl-alias");
    let p = dir.fixture("flanneld-0.5", "flanneld");
    let before = fs::read_to_string(&p).unwrap();
    let by_ip = json!({"remove": ["https://10.0.0.3:2379"]});
    let out = run(BIN, &args(&p, by_ip.clone())).ok();
    assert!(!out.changed());
    assert_eq!(
        warnings(&out),
        [
            "remove: https://10.0.0.3:2379 matches nothing in FLANNEL_ETCD: not removed (if the \
          file names this member another way, e.g. by host name, give its URLs in url_aliases)"
        ]
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), before);

    let mut replace = json!({
        "remove": ["https://10.0.0.3:2379"],
        "add": ["https://10.0.0.4:2379"],
        "url_aliases": aliases(),
    });
    let out = run(BIN, &args(&p, replace.clone())).ok();
    assert!(out.changed());
    assert!(warnings(&out).is_empty(), "{:?}", warnings(&out));
    let expected = replace_once(
        &before,
        LEGACY_LINE,
        "FLANNEL_ETCD=https://ose3-etcd1.example.com:2379,https://ose3-etcd2.example.com:2379,https://ose3-etcd4.example.com:2379",
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), expected);
    // Again: nothing to do, and the removal now warns by both names.
    let out = run(BIN, &args(&p, replace.clone())).ok();
    assert!(!out.changed());
    assert_eq!(
        warnings(&out),
        [
            "remove: https://10.0.0.3:2379 / https://ose3-etcd3.example.com:2379 matches nothing \
          in FLANNEL_ETCD: not removed"
        ]
    );
    // Aliases as comma-separated strings work the same; a bad one is refused.
    replace["url_aliases"] = json!(["https://10.0.0.4:2379,https://ose3-etcd4.example.com:2379"]);
    replace["remove"] = json!(["https://10.0.0.4:2379"]);
    replace["add"] = json!([]);
    run(BIN, &args(&p, replace.clone())).ok();
    assert_eq!(
        fs::read_to_string(&p).unwrap(),
        replace_once(
            &before,
            LEGACY_LINE,
            &format!("FLANNEL_ETCD={}", OSE[..2].join(","))
        )
    );
    replace["url_aliases"] = json!([["https://10.0.0.4"]]);
    let msg = run(BIN, &args(&p, replace)).err();
    assert_eq!(
        msg,
        "url_aliases[0]: invalid URL `https://10.0.0.4`: missing port"
    );
}

/// An IP-style file (the RPM layout this crate's other tests use) gets IP URLs.
#[test]
fn an_add_writes_the_style_the_file_uses() {
    let dir = TempDir::new("fl-style");
    let p = dir.fixture("flanneld", "flanneld");
    let before = fs::read_to_string(&p).unwrap();
    let out = run(
        BIN,
        &args(
            &p,
            json!({"remove": ["https://ose3-etcd3.example.com:2379"], "add": ["https://ose3-etcd4.example.com:2379"], "url_aliases": aliases()}),
        ),
    )
    .ok();
    assert!(out.changed());
    assert_eq!(fs::read_to_string(&p).unwrap(), golden(&before));
}
