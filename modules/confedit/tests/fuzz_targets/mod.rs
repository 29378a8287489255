//! Fuzz targets for every parser confedit has, shared by the bounded run in `cargo test`
//! (tests/fuzz.rs) and the open-ended `make fuzz` (examples/fuzz.rs). Each target takes raw
//! bytes, parses, and when parsing succeeds applies an edit and checks that the result parses
//! again to what the edit intended. A panic anywhere is the bug being hunted.
//!
//! Coverage-guided fuzzing (cargo-fuzz/libFuzzer) needs a nightly compiler; this mutation
//! fuzzer needs nothing but the seeds below, and runs on the stable toolchain we ship with.

use crate::common::Rng;
use confedit::{get_seq, set_seq, text, validate_url, EnvFile, InitialCluster, Inventory};

pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
    /// Fixture files the mutations start from.
    pub seeds: &'static [&'static str],
}

pub const TARGETS: &[Target] = &[
    Target {
        name: "envfile",
        run: envfile,
        seeds: &["etcd-rpm.conf", "flanneld"],
    },
    Target {
        name: "inventory",
        run: inventory,
        seeds: &["osev3-inventory"],
    },
    Target {
        name: "yamlseq",
        run: yamlseq,
        seeds: &["master-config-indented.yaml", "master-config-flow.yaml"],
    },
    Target {
        name: "initial_cluster",
        run: initial_cluster,
        seeds: &[],
    },
    Target {
        name: "url",
        run: url,
        seeds: &[],
    },
];

fn envfile(data: &[u8]) {
    let _ = text::decode(data);
    let s = String::from_utf8_lossy(data);
    if let Ok(mut f) = EnvFile::parse(&s) {
        f.set("ETCD_NAME", "x y\"z").unwrap();
        f.remove("FLANNEL_OPTIONS");
        let again = EnvFile::parse(&f.render()).expect("an edited env file parses again");
        assert_eq!(again.get("ETCD_NAME"), Some("x y\"z"));
        assert_eq!(again.get("FLANNEL_OPTIONS"), None);
    }
}

fn inventory(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Ok(mut inv) = Inventory::parse(&s) {
        inv.add_host("etcd", "m9 a=1").unwrap();
        inv.remove_host("nodes", "node-0.example.com");
        let again = Inventory::parse(&inv.render()).expect("an edited inventory parses again");
        assert!(again.hosts("etcd").contains(&"m9".to_string()));
    }
}

fn yamlseq(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    for path in ["etcdClientInfo.urls", "a", "apiLevels"] {
        let _ = get_seq(&s, path);
        if let Ok(out) = set_seq(&s, path, &["https://x:1".to_string()]) {
            assert_eq!(get_seq(&out, path).unwrap(), ["https://x:1"]);
        }
    }
}

fn initial_cluster(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Ok(mut c) = InitialCluster::parse(&s) {
        let rendered = c.render();
        let again = InitialCluster::parse(&rendered).expect("a rendered cluster parses again");
        assert_eq!(again.render(), rendered);
        let _ = c.set_member("new", &["https://10.0.0.9:2380".to_string()]);
        let _ = c.remove_member("new");
    }
}

fn url(data: &[u8]) {
    let _ = validate_url(&String::from_utf8_lossy(data));
}

/// Bytes that matter to the grammars, spliced into inputs far more often than chance would.
const SYNTAX: &[u8] = b"\"'\\#;=[]{}:-,|>&*!% \t\r\n\0ab\xff";
const WORDS: &[&str] = &[
    "ETCD_NAME=",
    "https://",
    "=https://10.0.0.1:2380",
    ",",
    "[etcd]",
    "[x:vars]",
    "[x:children]",
    "urls:",
    "  - ",
    "etcdClientInfo:",
    "\n  ",
    "&a",
    "*a",
    "!!str ",
    "{a: [",
    "]}",
];

/// One input: random bytes, or a seed with a few mutations.
pub fn mutate(rng: &mut Rng, seeds: &[String]) -> Vec<u8> {
    if seeds.is_empty() || rng.chance(25) {
        let mut b = rng.bytes(64);
        if rng.chance(50) {
            b.extend_from_slice(rng.pick(WORDS).as_bytes());
            b.extend(rng.bytes(32));
        }
        return b;
    }
    let mut b = rng.pick(seeds).clone().into_bytes();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(b.len() + 1);
        match rng.below(5) {
            0 if at < b.len() => b[at] = *rng.pick(SYNTAX),
            1 => b.insert(at, *rng.pick(SYNTAX)),
            2 => {
                let end = (at + rng.below(16)).min(b.len());
                b.drain(at..end);
            }
            3 => {
                let word = rng.pick(WORDS).as_bytes().to_vec();
                b.splice(at..at, word);
            }
            _ => {
                // Duplicate a slice: repeated keys and sections are where editors get confused.
                let end = (at + rng.below(64)).min(b.len());
                let piece = b[at..end].to_vec();
                let to = rng.below(b.len() + 1);
                b.splice(to..to, piece);
            }
        }
    }
    b
}

pub fn seeds_of(target: &Target) -> Vec<String> {
    target
        .seeds
        .iter()
        .map(|s| crate::common::fixture(s))
        .collect()
}
