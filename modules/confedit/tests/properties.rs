//! Randomized edit sequences (seeded, reproducible): after every edit, the lines the edit did
//! not own are byte-identical to the original and re-parsing gives exactly the intended state.

mod common;

use common::{fixture, Rng};
use confedit::{get_seq, set_seq, EnvFile, Inventory};
use std::collections::{BTreeMap, BTreeSet};

const SEEDS: u64 = 150;
const STEPS: usize = 25;

fn random_value(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "https://10.0.0.1:2379",
        "a",
        "Z9",
        " ",
        "\"",
        "'",
        "\\",
        "$",
        "`",
        "#",
        ";",
        "=",
        ",",
        "é",
        "漢",
        "\t",
        "/var/lib/etcd",
        "-",
        "true",
        "0",
        "${HOME}",
        "\\n",
    ];
    let n = rng.below(6);
    (0..n).map(|_| *rng.pick(PIECES)).collect()
}

fn is_active_line_of(line: &str, keys: &BTreeSet<String>) -> bool {
    let t = line.trim_start();
    !t.starts_with(['#', ';'])
        && t.split_once('=')
            .is_some_and(|(k, _)| keys.contains(k.trim()))
}

fn without_lines_of<'a>(text: &'a str, keys: &BTreeSet<String>) -> Vec<&'a str> {
    text.split_inclusive('\n')
        .filter(|l| !is_active_line_of(l, keys))
        .collect()
}

#[test]
fn env_files_random_set_remove() {
    for name in ["etcd-rpm.conf", "etcd-ocp311.conf", "flanneld"] {
        let original = fixture(name);
        let parsed = EnvFile::parse(&original).unwrap();
        let mut keys: Vec<String> = parsed.settings().into_iter().map(|(k, _)| k).collect();
        keys.extend(
            [
                "ETCD_INITIAL_CLUSTER",
                "ETCD_FORCE_NEW_CLUSTER",
                "ETCD_PEER_AUTO_TLS",
                "NEW_KEY",
            ]
            .map(String::from),
        );
        for seed in 0..SEEDS {
            let mut rng = Rng::new(seed);
            let mut file = parsed.clone();
            let mut model: BTreeMap<String, String> = parsed.settings().into_iter().collect();
            let mut touched = BTreeSet::new();
            for step in 0..STEPS {
                let key = rng.pick(&keys).clone();
                if rng.chance(30) {
                    assert_eq!(file.remove(&key), model.remove(&key).is_some());
                } else {
                    let value = random_value(&mut rng);
                    let changed = file.set(&key, &value).unwrap();
                    assert_eq!(changed, model.get(&key) != Some(&value));
                    model.insert(key.clone(), value);
                }
                touched.insert(key);
                let text = file.render();
                let ctx = format!("{name} seed {seed} step {step}:\n{text}");
                assert_eq!(
                    without_lines_of(&text, &touched),
                    without_lines_of(&original, &touched),
                    "{ctx}"
                );
                let reparsed = EnvFile::parse(&text).unwrap_or_else(|e| panic!("{e}\n{ctx}"));
                let got: BTreeMap<String, String> = reparsed.settings().into_iter().collect();
                assert_eq!(got, model, "{ctx}");
            }
        }
    }
}

#[test]
fn inventory_random_add_remove() {
    let original = fixture("osev3-inventory");
    let parsed = Inventory::parse(&original).unwrap();
    let groups = ["masters", "etcd", "new_etcd", "nodes", "new_masters"];
    let hosts = [
        "master-0.example.com",
        "master-2.example.com",
        "master-3.example.com",
        "node-0.example.com",
        "node-9.example.com",
    ];
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let mut inv = parsed.clone();
        let mut model: BTreeMap<&str, Vec<String>> =
            groups.iter().map(|g| (*g, parsed.hosts(g))).collect();
        let mut touched = BTreeSet::new();
        for step in 0..STEPS {
            let group = *rng.pick(&groups);
            let host = *rng.pick(&hosts);
            let members = model.get_mut(group).unwrap();
            if rng.chance(40) {
                assert_eq!(
                    inv.remove_host(group, host),
                    members.iter().any(|h| h == host)
                );
                members.retain(|h| h != host);
            } else {
                let spec = if rng.chance(50) {
                    host.to_string()
                } else {
                    format!("{host} etcd_ip='10.0.0.{}' note=\"a b\"", rng.below(9))
                };
                inv.add_host(group, &spec).unwrap();
                if !members.iter().any(|h| h == host) {
                    members.push(host.to_string());
                }
            }
            touched.insert(host);
            let text = inv.render();
            let ctx = format!("seed {seed} step {step}:\n{text}");
            let keep = |t: &str| -> Vec<String> {
                t.split_inclusive('\n')
                    .filter(|l| !touched.contains(l.split_whitespace().next().unwrap_or("")))
                    .map(String::from)
                    .collect()
            };
            let mut expected = keep(&original);
            let got = keep(&text);
            if got.len() == expected.len() + 2 {
                expected.extend(["\n".to_string(), "[new_masters]\n".to_string()]);
            }
            assert_eq!(got, expected, "{ctx}");
            let reparsed = Inventory::parse(&text).unwrap_or_else(|e| panic!("{e}\n{ctx}"));
            for g in groups {
                assert_eq!(reparsed.hosts(g), model[g], "{g}: {ctx}");
            }
        }
    }
}

#[test]
fn yaml_random_set_seq() {
    let paths = [
        "etcdClientInfo.urls",
        "corsAllowedOrigins",
        "apiLevels",
        "kubernetesMasterConfig.apiServerArguments.storage-backend",
    ];
    for name in [
        "master-config.yaml",
        "master-config-indented.yaml",
        "master-config-flow.yaml",
    ] {
        let original = fixture(name);
        let keep = |t: &str| -> Vec<String> {
            t.split_inclusive('\n')
                .filter(|l| {
                    let l = l.trim_start();
                    !l.starts_with("- ")
                        && !paths
                            .iter()
                            .any(|p| l.starts_with(&format!("{}:", p.rsplit('.').next().unwrap())))
                })
                .map(String::from)
                .collect()
        };
        let kept = keep(&original);
        // serde_yaml is slow in debug builds; fewer seeds still cover every path and style.
        for seed in 0..12 {
            let mut rng = Rng::new(seed);
            let mut text = original.clone();
            for step in 0..STEPS {
                let path = *rng.pick(&paths);
                let items: Vec<String> =
                    (0..rng.below(4)).map(|_| random_value(&mut rng)).collect();
                let others: Vec<_> = paths
                    .iter()
                    .filter(|p| **p != path)
                    .map(|p| get_seq(&text, p).unwrap())
                    .collect();
                text = set_seq(&text, path, &items)
                    .unwrap_or_else(|e| panic!("{name} seed {seed} step {step}: {e}\n{text}"));
                let ctx = format!("{name} seed {seed} step {step}:\n{text}");
                assert_eq!(get_seq(&text, path).unwrap(), items, "{ctx}");
                let others_after: Vec<_> = paths
                    .iter()
                    .filter(|p| **p != path)
                    .map(|p| get_seq(&text, p).unwrap())
                    .collect();
                assert_eq!(others, others_after, "{ctx}");
                assert_eq!(keep(&text), kept, "{ctx}");
            }
        }
    }
}
