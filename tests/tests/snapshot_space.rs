//! etcd_snapshot's disk-space preflight on a real filesystem too small for the member's
//! database: refused with both numbers, nothing written.

use lab::{Lab, LabOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const TINY_BYTES: u64 = 64 * 1024;

/// What etcd reports as the member's database size.
fn db_size(lab: &Lab) -> u64 {
    let out = lab
        .etcdctl(["endpoint", "status", "-w", "json"])
        .expect("etcdctl endpoint status");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    v[0]["Status"]["dbSize"].as_u64().unwrap_or(0)
}

/// A 64 KiB tmpfs, unmounted however the test ends.
struct TinyFs(PathBuf);

impl TinyFs {
    fn mount(at: &Path) -> TinyFs {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={TINY_BYTES}"), "tmpfs"])
            .arg(at)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs and needs root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TinyFs(at.to_path_buf())
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_snapshot_that_would_not_fit_is_refused_before_writing() {
    let lab = Lab::up(LabOptions {
        members: 1,
        ..Default::default()
    })
    .expect("lab up");
    lab.put_keys("/fill/", 3000).unwrap();
    // etcd reports the database size its backend last committed (every 100 ms), so right after
    // the writes it can still be the empty database's, which fits: wait until it says what the
    // snapshot will hold, well over the filesystem.
    assert!(
        lab::wait::until(Duration::from_secs(10), Duration::from_millis(50), || {
            db_size(&lab) > 2 * TINY_BYTES
        }),
        "etcd's dbSize stayed at {} bytes",
        db_size(&lab)
    );
    let tiny = TinyFs::mount(&lab.dir().join("tiny"));
    let tls = lab.client_tls();
    let args = json!({
        "state": "saved", "path": tiny.0, "endpoints": lab.endpoints(),
        "ca_cert": tls.ca, "client_cert": tls.cert, "client_key": tls.key,
    });
    let (v, code) = lab::ansible::direct("etcd_snapshot", &args, &[]);
    assert_eq!(code, 1, "{v}");
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.contains("not enough space in"), "{msg}");
    assert!(
        msg.contains("bytes free") && msg.contains("its size plus 10%"),
        "{msg}"
    );
    let left: Vec<_> = std::fs::read_dir(&tiny.0).unwrap().collect();
    assert!(left.is_empty(), "nothing written: {left:?}");
}
