//! The reader on data dirs written by the real etcd 3.4 (/usr/bin/etcd): a single member on a
//! loopback address with plain HTTP in a temp dir, written to, stopped by its pid, inspected.
//! The numbers must be the ones etcd itself reported before it stopped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const ETCD: &str = "/usr/bin/etcd";
const ETCDCTL: &str = "/usr/bin/etcdctl";

struct Etcd {
    child: Child,
    dir: PathBuf,
    endpoint: String,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn require_etcd() {
    assert!(
        Path::new(ETCD).exists() && Path::new(ETCDCTL).exists(),
        "{ETCD} and {ETCDCTL} are needed for these tests (install them with scripts/setup.sh); \
         failing rather than passing without them"
    );
}

/// Starts a member whose ports come from the pid and `slot`, so parallel runs do not collide.
fn start(slot: u16, tag: &str) -> Etcd {
    require_etcd();
    let base = 30000 + (std::process::id() % 5000) as u16 * 6;
    let (client, peer) = (base + slot * 3, base + slot * 3 + 1);
    let ip = "127.0.250.1";
    let dir = std::env::temp_dir().join(format!("etcd-datadir-real-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let endpoint = format!("http://{ip}:{client}");
    let peer_url = format!("http://{ip}:{peer}");
    let log = std::fs::File::create(dir.join("etcd.log")).unwrap();
    let child = Command::new(ETCD)
        .args(["--name", "real", "--data-dir"])
        .arg(dir.join("data"))
        .args([
            "--listen-client-urls",
            &endpoint,
            "--advertise-client-urls",
            &endpoint,
        ])
        .args([
            "--listen-peer-urls",
            &peer_url,
            "--initial-advertise-peer-urls",
            &peer_url,
        ])
        .args(["--initial-cluster", &format!("real={peer_url}")])
        .args(["--initial-cluster-token", tag])
        // Small, so the writes below cut raft snapshots (.snap files) and WAL snapshot records.
        .args(["--snapshot-count", "20", "--enable-v2=true"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start etcd");
    let mut e = Etcd {
        child,
        dir,
        endpoint,
    };
    // No time limit: wait until it answers, or fail as soon as it has exited.
    loop {
        if let Ok(Some(st)) = e.child.try_wait() {
            let log = std::fs::read_to_string(e.dir.join("etcd.log")).unwrap_or_default();
            panic!("etcd exited ({st}) before serving:\n{log}");
        }
        if ctl(&e, &["endpoint", "health"]).is_ok() {
            return e;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn ctl_api(e: &Etcd, api: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(ETCDCTL)
        .env("ETCDCTL_API", api)
        .args(if api == "2" {
            vec!["--endpoints", &e.endpoint]
        } else {
            vec!["--endpoints", &e.endpoint, "--command-timeout", "30s"]
        })
        .args(args)
        .output()
        .map_err(|x| x.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn ctl(e: &Etcd, args: &[&str]) -> Result<String, String> {
    ctl_api(e, "3", args)
}

fn json(e: &Etcd, args: &[&str]) -> Value {
    let out = ctl(e, args).unwrap_or_else(|x| panic!("etcdctl {args:?}: {x}"));
    serde_json::from_str(&out).unwrap_or_else(|x| panic!("etcdctl {args:?} -> {out}: {x}"))
}

/// What etcd says about itself: (raftIndex, raftAppliedIndex, member id, cluster id).
fn reported(e: &Etcd) -> (u64, u64, u64, u64) {
    let st = json(e, &["endpoint", "status", "-w", "json"]);
    let s = &st[0]["Status"];
    let ml = json(e, &["member", "list", "-w", "json"]);
    let members = ml["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{ml}");
    (
        s["raftIndex"].as_u64().unwrap(),
        s["raftAppliedIndex"].as_u64().unwrap(),
        members[0]["ID"].as_u64().unwrap(),
        ml["header"]["cluster_id"].as_u64().unwrap(),
    )
}

/// SIGTERM by pid, as the playbooks stop etcd, then reap it.
fn stop(e: &mut Etcd) {
    let pid = e.child.id().to_string();
    let st = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(st.success());
    e.child.wait().unwrap();
}

#[test]
fn numbers_match_what_etcd_reported() {
    let mut e = start(0, "v3only");
    for i in 0..45 {
        ctl(&e, &["put", &format!("/registry/k{i}"), "v"]).unwrap();
    }
    let (raft_index, applied, member, cluster) = reported(&e);

    // While it runs: no lock is taken, so this neither blocks nor disturbs etcd.
    let live = etcd_datadir::inspect(&e.dir.join("data"), None).unwrap();
    assert_eq!(
        live.member_id.as_deref(),
        Some(format!("{member:x}").as_str())
    );

    stop(&mut e);
    let d = etcd_datadir::inspect(&e.dir.join("data"), None).unwrap();
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.member_id, Some(format!("{member:x}")));
    assert_eq!(d.cluster_id, Some(format!("{cluster:x}")));
    let hs = d.hardstate.expect("hardstate");
    assert_eq!(hs.commit, raft_index, "WAL commit vs etcd's raftIndex");
    assert_eq!(hs.vote, member, "a single member votes for itself");
    let last = d.last_entry.expect("last entry");
    assert_eq!(
        last.index, raft_index,
        "a single member's log ends at its commit"
    );
    assert_eq!(last.term, hs.term);
    let ci = d.consistent_index.expect("consistent_index");
    assert!(
        ci <= raft_index && ci >= applied.saturating_sub(1) && ci > 40,
        "ci {ci}, applied {applied}"
    );
    assert_eq!(d.kept_index, Some(raft_index.max(ci)));
    let snap = d
        .snapshot
        .expect("45 writes with --snapshot-count 20 cut a snapshot");
    assert!(snap.index > 20 && snap.index <= raft_index, "{snap:?}");
    assert_eq!(
        snap.file,
        format!("{:016x}-{:016x}.snap", snap.term, snap.index)
    );
    assert_eq!(
        d.has_v2_data,
        Some(false),
        "only v3 writes and etcd's own /0"
    );
    assert!(!d.torn_tail);
    assert!(!d.wal_files.is_empty());
    assert_eq!(d.is_learner, Some(false));
    assert_eq!(d.members.len(), 1);
    assert_eq!(d.members[0].name, "real");
    println!(
        "raftIndex {raft_index} applied {applied} | commit {} consistent_index {ci} last {}/{} snap {}/{}",
        hs.commit, last.term, last.index, snap.term, snap.index
    );
}

#[test]
fn v2_keys_are_seen_in_the_snapshot_and_the_wal() {
    let mut e = start(1, "v2");
    ctl_api(&e, "2", &["set", "/openshift.com/network/config", "{}"]).unwrap();
    // Enough v3 writes for a snapshot after the v2 key, so the key is in the .snap's store.
    for i in 0..30 {
        ctl(&e, &["put", &format!("k{i}"), "v"]).unwrap();
    }
    ctl_api(&e, "2", &["set", "/after-snapshot", "x"]).unwrap();
    let (raft_index, ..) = reported(&e);
    stop(&mut e);
    let d = etcd_datadir::inspect(&e.dir.join("data"), None).unwrap();
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(d.hardstate.unwrap().commit, raft_index);
    assert_eq!(d.has_v2_data, Some(true));
    assert!(
        d.v2_store_keys.unwrap() >= 1,
        "the v2 key under /1 is in the snapshot: {d:?}"
    );
    assert!(
        d.v2_wal_writes.unwrap() >= 1,
        "the last v2 set is in the WAL after it: {d:?}"
    );
}

#[test]
fn refusals_name_the_path() {
    let dir = std::env::temp_dir().join(format!("etcd-datadir-refuse-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::create_dir_all(dir.join("other/stuff")).unwrap();
    use etcd_datadir::DataDirError as E;
    let missing = etcd_datadir::inspect(&dir.join("nope"), None).unwrap_err();
    assert!(matches!(missing, E::Missing { .. }), "{missing}");
    assert!(missing.to_string().contains("nope"));
    let empty = etcd_datadir::inspect(&dir.join("empty"), None).unwrap_err();
    assert!(matches!(empty, E::Empty { .. }), "{empty}");
    let other = etcd_datadir::inspect(&dir.join("other"), None).unwrap_err();
    assert!(matches!(other, E::NotDataDir { .. }), "{other}");
    assert!(other.to_string().contains("other"));
    let _ = std::fs::remove_dir_all(&dir);
}
