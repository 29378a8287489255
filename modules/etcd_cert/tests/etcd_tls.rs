//! A real etcd 3.4 on loopback with mutual TLS, using only certificates etcd_cert issued:
//! the server and peer pairs must satisfy etcd, and the client pair must satisfy
//! `--client-cert-auth`, which refuses a client without one.

mod common;

use common::{make_ca, ok, present, with, TempDir};
use serde_json::json;
use std::fs::File;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const IP: &str = "127.0.214.1";

/// Stops etcd by its pid when the test ends, passed or failed: SIGTERM, then SIGKILL.
struct Etcd(Child);

impl Drop for Etcd {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn etcdctl(dir: &TempDir, client: bool) -> Output {
    let mut cmd = Command::new("etcdctl");
    cmd.env("ETCDCTL_API", "3").args([
        &format!("--endpoints=https://{IP}:2379"),
        &format!("--cacert={}", dir.s("ca.crt")),
        "--dial-timeout=3s",
        "--command-timeout=3s",
    ]);
    if client {
        cmd.arg(format!("--cert={}", dir.s("client.crt")))
            .arg(format!("--key={}", dir.s("client.key")));
    }
    cmd.args(["endpoint", "health"]).output().unwrap()
}

#[test]
fn etcd_serves_mutual_tls_with_issued_certificates() {
    let dir = TempDir::new("etcd");
    let ca = make_ca(&dir, "ca");
    let san = format!("IP:{IP}");
    ok(&present(&dir, &ca, "server", &[&san]));
    ok(&present(&dir, &ca, "peer", &[&san]));
    ok(&with(
        present(&dir, &ca, "client", &[]),
        "common_name",
        json!("etcdctl"),
    ));

    let log = File::create(dir.join("etcd.log")).unwrap();
    let child = Command::new("/usr/bin/etcd")
        .args([
            "--name=cert-test",
            &format!("--data-dir={}", dir.s("data")),
            &format!("--listen-client-urls=https://{IP}:2379"),
            &format!("--advertise-client-urls=https://{IP}:2379"),
            &format!("--listen-peer-urls=https://{IP}:2380"),
            &format!("--initial-advertise-peer-urls=https://{IP}:2380"),
            &format!("--initial-cluster=cert-test=https://{IP}:2380"),
            &format!("--cert-file={}", dir.s("server.crt")),
            &format!("--key-file={}", dir.s("server.key")),
            "--client-cert-auth",
            &format!("--trusted-ca-file={}", ca.0),
            &format!("--peer-cert-file={}", dir.s("peer.crt")),
            &format!("--peer-key-file={}", dir.s("peer.key")),
            "--peer-client-cert-auth",
            &format!("--peer-trusted-ca-file={}", ca.0),
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let etcd = Etcd(child);
    std::fs::write(dir.join("etcd.pid"), etcd.0.id().to_string()).unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let healthy = loop {
        let out = etcdctl(&dir, true);
        if out.status.success() {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "etcd never became healthy: {}\n--- etcd.log ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(dir.join("etcd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let text = String::from_utf8_lossy(&healthy.stdout).to_string()
        + &String::from_utf8_lossy(&healthy.stderr);
    assert!(text.contains("is healthy"), "{text}");

    let without = etcdctl(&dir, false);
    assert!(
        !without.status.success(),
        "health check without a client certificate succeeded: {}",
        String::from_utf8_lossy(&without.stdout)
    );
}
