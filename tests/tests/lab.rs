//! End-to-end tests of the lab itself: real etcd 3.4 processes, real TLS, real etcdctl.

use lab::{envfile, Lab, LabOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const HEALTHY_TIMEOUT: Duration = Duration::from_secs(30);

fn up(members: usize, spares: usize) -> Lab {
    Lab::up(LabOptions {
        members,
        spares,
        ..Default::default()
    })
    .expect("lab comes up")
}

fn wait_gone(pid: u32) -> bool {
    lab::wait::until(Duration::from_secs(10), Duration::from_millis(20), || {
        lab::process::is_gone(pid)
    })
}

fn conf_value(path: &Path, key: &str) -> Option<String> {
    envfile::read(path)
        .unwrap()
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

#[test]
fn three_members_with_enforced_mutual_tls_and_openshift_layout() {
    let lab = up(3, 1);
    let s = lab.slot();

    let mut members = lab.member_list().unwrap();
    members.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(members.len(), 3);
    for (i, m) in members.iter().enumerate() {
        assert!(m.is_started() && !m.is_learner, "{m:?}");
        assert_eq!(m.name, format!("etcd{}", i + 1));
        assert_eq!(
            m.peer_urls,
            vec![format!("https://127.0.{s}.{}:2380", 11 + i)]
        );
        assert_eq!(
            m.client_urls,
            vec![format!("https://127.0.{s}.{}:2379", 11 + i)]
        );
    }

    let ok = lab.etcdctl(["endpoint", "health", "--cluster"]).unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // etcdctl 3.4 reports endpoint health on stderr.
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(report.matches("is healthy").count(), 3, "{report}");

    // Same CA, no client certificate: the server must refuse the handshake.
    let no_cert = Command::new(lab::etcdctl_bin())
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={}", lab.endpoints().join(",")))
        .arg(format!("--cacert={}", lab.client_tls().ca.display()))
        .args(["--dial-timeout=2s", "--command-timeout=3s"])
        .args(["endpoint", "health", "--cluster"])
        .output()
        .unwrap();
    assert!(
        !no_cert.status.success(),
        "etcd accepted a client without a certificate"
    );

    // The OpenShift file layout, on a member and on the spare.
    let h1 = lab.host("etcd1").unwrap();
    let conf = std::fs::read_to_string(h1.etcd_conf()).unwrap();
    for section in ["#[member]", "#[cluster]", "#[security]", "#ETCD_WAL_DIR"] {
        assert!(conf.contains(section), "etcd.conf lacks {section}");
    }
    assert_eq!(
        conf_value(&h1.etcd_conf(), "ETCD_CLIENT_CERT_AUTH").as_deref(),
        Some("true")
    );
    assert_eq!(
        conf_value(&h1.etcd_conf(), "ETCD_PEER_CLIENT_CERT_AUTH").as_deref(),
        Some("true")
    );
    for key in ["server.key", "peer.key", "ca/ca.key"] {
        let mode = std::fs::metadata(h1.cert_dir().join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    assert!(
        !lab.host("etcd2").unwrap().ca_dir().exists(),
        "the CA lives on etcd1 only"
    );
    let master = std::fs::read_to_string(h1.master_config()).unwrap();
    let urls = format!(
        "  urls:\n  - https://127.0.{s}.11:2379\n  - https://127.0.{s}.12:2379\n  - https://127.0.{s}.13:2379\n"
    );
    assert!(
        master.contains("etcdClientInfo:\n  ca: master.etcd-ca.crt\n"),
        "{master}"
    );
    assert!(master.contains(&urls), "{master}");
    assert_eq!(
        conf_value(&h1.flanneld_sysconfig(), "FLANNEL_ETCD_ENDPOINTS"),
        Some(lab.endpoints().join(","))
    );
    assert!(h1.static_pod_dir().is_dir());
    assert!(h1.pid_file().is_file() && h1.log_file().is_file());

    let spare = lab.host("etcd4").unwrap();
    assert!(!lab.is_running("etcd4").unwrap());
    assert!(spare.cert_dir().join("peer.crt").is_file());
    assert_eq!(
        conf_value(&spare.etcd_conf(), "ETCD_NAME").as_deref(),
        Some("etcd4")
    );

    let inv = std::fs::read_to_string(lab.inventory_path()).unwrap();
    assert!(inv.contains("[OSEv3:vars]\nansible_connection=local\n"));
    assert!(inv.contains("\n[new_etcd]\netcd4 etcd_ip="), "{inv}");
    assert!(inv.contains(&format!("etcd_conf_file={}", h1.etcd_conf().display())));
}

#[test]
fn survives_one_loss_loses_quorum_at_two_and_recovers() {
    let lab = up(3, 0);
    lab.put_keys("/quorum/", 1000).unwrap();
    assert_eq!(lab.count_keys("/quorum/").unwrap(), 1000);
    assert_eq!(
        lab.get("/quorum/00000042").unwrap().as_deref(),
        Some("value-42")
    );

    let pid1 = lab.pid("etcd1").unwrap().unwrap();
    lab.kill("etcd1").unwrap();
    lab.wait_healthy(&["etcd2", "etcd3"], Duration::from_secs(30))
        .unwrap();
    assert!(lab::process::is_gone(pid1) && !lab.is_running("etcd1").unwrap());
    assert_eq!(
        lab.count_keys("/quorum/").unwrap(),
        1000,
        "2 of 3 still serve"
    );

    lab.kill("etcd2").unwrap();
    assert!(!lab.is_healthy("etcd3").unwrap(), "1 of 3 has no quorum");
    assert!(
        lab.count_keys("/quorum/").is_err(),
        "a linearizable read without quorum"
    );

    // A restart reads etcd.conf again: an edit made while the member was down takes effect.
    let conf = lab.host("etcd2").unwrap().etcd_conf();
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("ETCD_MAX_WALS=7\n");
    std::fs::write(&conf, text).unwrap();
    lab.start("etcd1").unwrap();
    let pid2 = lab.start("etcd2").unwrap();
    lab.wait_healthy(&["etcd1", "etcd2", "etcd3"], HEALTHY_TIMEOUT)
        .unwrap();
    let environ = std::fs::read(format!("/proc/{pid2}/environ")).unwrap();
    assert!(environ.split(|b| *b == 0).any(|v| v == b"ETCD_MAX_WALS=7"));
    assert_eq!(lab.count_keys("/quorum/").unwrap(), 1000);

    // A graceful stop is a stop, too.
    lab.stop("etcd3").unwrap();
    assert!(!lab.is_running("etcd3").unwrap());
}

#[test]
fn parallel_labs_get_their_own_slots() {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| up(1, 0));
        let b = s.spawn(|| up(1, 0));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(a.slot(), b.slot());
    assert_ne!(a.endpoints(), b.endpoints());
    assert_ne!(a.dir(), b.dir());
    for l in [&a, &b] {
        assert!((1..=250).contains(&l.slot()));
        assert!(l.host("etcd1").unwrap().ip.is_loopback());
        assert!(l.is_healthy("etcd1").unwrap());
    }
    a.put_keys("/a/", 10).unwrap();
    assert_eq!(b.count_keys("/a/").unwrap(), 0, "separate clusters");
}

#[test]
fn dropping_a_lab_stops_its_etcds_and_removes_its_dir() {
    let lab = up(2, 0);
    let pids: Vec<u32> = ["etcd1", "etcd2"]
        .iter()
        .map(|n| lab.pid(n).unwrap().expect("running"))
        .collect();
    let dir: PathBuf = lab.dir().to_path_buf();
    drop(lab);
    for pid in pids {
        assert!(
            wait_gone(pid),
            "etcd pid {pid} survived the drop of its lab"
        );
    }
    assert!(!dir.exists());
}

/// Stops a CLI-made lab even when an assertion fails half-way.
struct CliLab(PathBuf);

impl Drop for CliLab {
    fn drop(&mut self) {
        let _ = etcd_lab(&["down", "--dir", self.0.to_str().unwrap()]);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn etcd_lab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_etcd-lab"))
        .args(args)
        .output()
        .expect("runs etcd-lab")
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "etcd-lab failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cli_up_put_count_kill_status_down() {
    let dir = std::env::temp_dir().join(format!("etcd-lab-cli-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let guard = CliLab(dir.clone());
    let d = dir.to_str().unwrap();

    let inv = ok(etcd_lab(&[
        "up", "--dir", d, "--slot", "auto", "--spares", "1",
    ]));
    assert_eq!(
        PathBuf::from(inv.trim()),
        dir.canonicalize().unwrap().join("hosts.ini")
    );

    // The CLI has exited; the lab is still there and reopens from lab.json.
    let lab = Lab::open(&dir).unwrap();
    let pids: Vec<u32> = lab
        .member_names()
        .iter()
        .map(|n| lab.pid(n).unwrap().expect("running after the CLI exited"))
        .collect();
    assert_eq!(pids.len(), 3);

    ok(etcd_lab(&[
        "put", "--dir", d, "--prefix", "/cli/", "--count", "500",
    ]));
    assert_eq!(
        ok(etcd_lab(&["count", "--dir", d, "--prefix", "/cli/"])).trim(),
        "500"
    );

    ok(etcd_lab(&["kill", "--dir", d, "etcd2"]));
    let status = ok(etcd_lab(&["status", "--dir", d]));
    let line = |host: &str| {
        status
            .lines()
            .find(|l| l.starts_with(host))
            .unwrap()
            .to_string()
    };
    assert!(line("etcd2").contains("stopped"), "{status}");
    assert!(line("etcd1").contains("healthy"), "{status}");
    assert!(line("etcd4").contains("spare"), "{status}");
    assert_eq!(
        ok(etcd_lab(&["count", "--dir", d, "--prefix", "/cli/"])).trim(),
        "500"
    );

    ok(etcd_lab(&["start", "--dir", d, "etcd2"]));
    assert!(lab.is_healthy("etcd2").unwrap());

    ok(etcd_lab(&["down", "--dir", d]));
    for n in lab.member_names() {
        assert!(!lab.is_running(n).unwrap(), "{n} still running after down");
    }
    for pid in pids {
        assert!(wait_gone(pid));
    }
    drop(guard);
}

#[test]
fn a_hundred_thousand_keys_take_seconds() {
    let lab = up(1, 0);
    let t = std::time::Instant::now();
    lab.put_keys("/bulk/", 100_000).unwrap();
    let took = t.elapsed();
    assert_eq!(lab.count_keys("/bulk/").unwrap(), 100_000);
    assert_eq!(
        lab.get(&lab::key_name("/bulk/", 99_999))
            .unwrap()
            .as_deref(),
        Some("value-99999")
    );
    assert!(took < Duration::from_secs(60), "100,000 puts took {took:?}");
    eprintln!("100,000 keys in {took:?}");
}
