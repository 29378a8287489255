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

/// A one-member etcd on `ip` with client-cert-auth, serving with `server.crt`/`server.key`
/// from `dir` (and `peer.*`, `client.*`, the CA `ca.crt`), healthy before it is returned.
fn serve(dir: &TempDir, ip: &str) -> Etcd {
    let log = File::create(dir.join("etcd.log")).unwrap();
    let ca = dir.s("ca.crt");
    let child = Command::new("/usr/bin/etcd")
        .args([
            "--name=gateway-test",
            &format!("--data-dir={}", dir.s("data")),
            &format!("--listen-client-urls=https://{ip}:2379"),
            &format!("--advertise-client-urls=https://{ip}:2379"),
            &format!("--listen-peer-urls=https://{ip}:2380"),
            &format!("--initial-advertise-peer-urls=https://{ip}:2380"),
            &format!("--initial-cluster=gateway-test=https://{ip}:2380"),
            &format!("--cert-file={}", dir.s("server.crt")),
            &format!("--key-file={}", dir.s("server.key")),
            "--client-cert-auth",
            &format!("--trusted-ca-file={ca}"),
            &format!("--peer-cert-file={}", dir.s("peer.crt")),
            &format!("--peer-key-file={}", dir.s("peer.key")),
            "--peer-client-cert-auth",
            &format!("--peer-trusted-ca-file={ca}"),
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let etcd = Etcd(child);
    std::fs::write(dir.join("etcd.pid"), etcd.0.id().to_string()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = client_etcdctl(dir, ip, &["put", "foo", "bar"]);
        if out.status.success() {
            return etcd;
        }
        assert!(
            Instant::now() < deadline,
            "etcd on {ip} never took a put: {}\n--- etcd.log ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(dir.join("etcd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn client_etcdctl(dir: &TempDir, ip: &str, args: &[&str]) -> Output {
    Command::new("etcdctl")
        .env("ETCDCTL_API", "3")
        .args([
            &format!("--endpoints=https://{ip}:2379"),
            &format!("--cacert={}", dir.s("ca.crt")),
            &format!("--cert={}", dir.s("client.crt")),
            &format!("--key={}", dir.s("client.key")),
            "--dial-timeout=3s",
            "--command-timeout=3s",
        ])
        .args(args)
        .output()
        .unwrap()
}

/// The HTTP gateway's `/v3/kv/range` for key "foo", with the client pair: (status, body).
fn gateway_range(dir: &TempDir, ip: &str) -> (String, String) {
    let body = dir.join("range.json");
    let out = Command::new("curl")
        .args([
            "-sS",
            "-o",
            &body.display().to_string(),
            "-w",
            "%{http_code}",
            "--cacert",
            &dir.s("ca.crt"),
            "--cert",
            &dir.s("client.crt"),
            "--key",
            &dir.s("client.key"),
            "-X",
            "POST",
            &format!("https://{ip}:2379/v3/kv/range"),
            "-d",
            r#"{"key":"Zm9v"}"#,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        std::fs::read_to_string(&body).unwrap_or_default(),
    )
}

/// Certificates for `ip` from etcd_cert into `dir`, with the CA as `ca.crt`.
fn issue_all(dir: &TempDir, ip: &str) {
    let ca = make_ca(dir, "ca");
    let san = format!("IP:{ip}");
    ok(&present(dir, &ca, "server", &[&san]));
    ok(&present(dir, &ca, "peer", &[&san]));
    ok(&with(
        present(dir, &ca, "client", &[]),
        "common_name",
        json!("etcdctl"),
    ));
}

/// etcd's gRPC gateway dials the member's own gRPC port presenting the server certificate as
/// a client certificate; with client-cert-auth that needs clientAuth in it. A server pair from
/// etcd_cert serves `/v3/kv/range` over HTTP.
#[test]
fn the_http_gateway_answers_with_an_issued_server_certificate() {
    const GW_IP: &str = "127.0.249.1";
    let dir = TempDir::new("gateway");
    issue_all(&dir, GW_IP);
    let _etcd = serve(&dir, GW_IP);
    let (status, body) = gateway_range(&dir, GW_IP);
    assert_eq!(status, "200", "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["kvs"][0]["key"], "Zm9v", "{body}");
    assert_eq!(v["kvs"][0]["value"], "YmFy", "{body}");
}

/// The control: the same member with a serverAuth-only server certificate (what etcd_cert
/// issued for usage server before) answers the same request with 503.
#[test]
fn a_server_auth_only_certificate_breaks_the_gateway() {
    const GW_IP: &str = "127.0.249.2";
    let dir = TempDir::new("gateway-legacy");
    issue_all(&dir, GW_IP);
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=IP:{GW_IP}\n"
        ),
    )
    .unwrap();
    common::openssl(&[
        "req",
        "-new",
        "-key",
        &dir.s("server.key"),
        "-subj",
        "/CN=etcd0.example.com",
        "-out",
        &dir.s("server.csr"),
    ]);
    common::openssl(&[
        "x509",
        "-req",
        "-in",
        &dir.s("server.csr"),
        "-CA",
        &dir.s("ca.crt"),
        "-CAkey",
        &dir.s("ca.key"),
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        &ext.display().to_string(),
        "-out",
        &dir.s("server.crt"),
    ]);
    let _etcd = serve(&dir, GW_IP);
    let (status, body) = gateway_range(&dir, GW_IP);
    assert_eq!(status, "503", "{body}");
    // The gateway only sees its connection to the member closed; the member's log says why.
    let log = std::fs::read_to_string(dir.join("etcd.log")).unwrap();
    assert!(log.contains("incompatible key usage"), "{body}\n{log}");
}
