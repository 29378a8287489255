//! Pairs issued by etcd_cert, checked with the openssl CLI an operator would use.

mod common;

use common::{make_ca, ok, openssl, present, with, TempDir};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

#[test]
fn server_peer_and_client_pairs_verify_and_match_what_inspected_reports() {
    let dir = TempDir::new("issue");
    let ca = make_ca(&dir, "ca");
    // A server certificate carries clientAuth as well, as openshift-ansible's do: etcd's gRPC
    // gateway dials the member with it (etcd_tls.rs). By its extensions it reads as a peer one.
    for (usage, eku, found) in [
        (
            "server",
            "TLS Web Server Authentication, TLS Web Client Authentication",
            "peer",
        ),
        (
            "peer",
            "TLS Web Server Authentication, TLS Web Client Authentication",
            "peer",
        ),
        ("client", "TLS Web Client Authentication", "client"),
    ] {
        let args = present(&dir, &ca, usage, &["IP:10.0.0.4", "DNS:etcd0.example.com"]);
        let issued = ok(&args);
        assert_eq!(issued["changed"], true);
        let (crt, key) = (
            dir.s(&format!("{usage}.crt")),
            dir.s(&format!("{usage}.key")),
        );

        assert_eq!(
            openssl(&["verify", "-CAfile", &ca.0, &crt]).trim(),
            format!("{crt}: OK")
        );
        let text = openssl(&["x509", "-in", &crt, "-noout", "-text"]);
        assert!(text.contains("Version: 3 (0x2)"), "{text}");
        assert!(text.contains("Signature Algorithm: sha256WithRSAEncryption"));
        assert!(text.contains("CA:FALSE"));
        assert!(text.contains("Digital Signature, Key Encipherment"));
        assert!(
            text.contains(&format!(
                "X509v3 Extended Key Usage: \n                {eku}\n"
            )),
            "{text}"
        );
        assert!(text.contains("IP Address:10.0.0.4, DNS:etcd0.example.com"));
        assert!(text.contains("X509v3 Subject Key Identifier"));
        assert!(text.contains("X509v3 Authority Key Identifier"));

        let inspected = ok(
            &json!({"state": "inspected", "cert_path": crt, "ca_cert": ca.0,
                                   "key_path": key}),
        );
        assert_eq!(inspected["changed"], false);
        for field in [
            "serial",
            "sha256_fingerprint",
            "not_after",
            "subject_alt_names",
            "usage",
        ] {
            assert_eq!(inspected[field], issued[field], "{field}");
        }
        assert_eq!(inspected["usage"], found);
        assert_eq!(inspected["signed_by_ca"], true);
        assert_eq!(inspected["key_matches"], true);
        assert_eq!(inspected["key_type"], "rsa2048");
        assert_eq!(inspected["subject"], "CN=etcd0.example.com");
        assert_eq!(inspected["issuer"], "CN=ca");
        assert_eq!(inspected["expired"], false);
        assert_eq!(
            inspected["subject_alt_names"],
            json!(["IP:10.0.0.4", "DNS:etcd0.example.com"])
        );

        let serial = openssl(&["x509", "-in", &crt, "-noout", "-serial"]);
        assert_eq!(
            serial.trim(),
            format!("serial={}", inspected["serial"].as_str().unwrap())
        );
        let fp = openssl(&["x509", "-in", &crt, "-noout", "-fingerprint", "-sha256"]);
        assert_eq!(
            fp.trim(),
            format!(
                "sha256 Fingerprint={}",
                inspected["sha256_fingerprint"].as_str().unwrap()
            )
        );
        let end = openssl(&[
            "x509", "-in", &crt, "-noout", "-enddate", "-dateopt", "iso_8601",
        ]);
        // openssl prints "notAfter=2030-11-22 11:29:11Z".
        let end = end.trim().trim_start_matches("notAfter=").replace(' ', "T");
        assert_eq!(inspected["not_after"], end);
        let start = openssl(&[
            "x509",
            "-in",
            &crt,
            "-noout",
            "-startdate",
            "-dateopt",
            "iso_8601",
        ]);
        let start = start
            .trim()
            .trim_start_matches("notBefore=")
            .replace(' ', "T");
        assert_eq!(inspected["not_before"], start);

        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{key}");
        let mode = std::fs::metadata(&crt).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{crt}");
        let from_key = openssl(&["pkey", "-in", &key, "-pubout"]);
        let from_cert = openssl(&["x509", "-in", &crt, "-noout", "-pubkey"]);
        assert_eq!(from_key, from_cert);
    }
}

#[test]
fn ec_keys_and_bare_sans() {
    let dir = TempDir::new("ec");
    let ca = make_ca(&dir, "ca");
    let args = with(
        present(&dir, &ca, "peer", &["10.0.0.4", "etcd0", "fd00::4"]),
        "key_type",
        json!("ec-p256"),
    );
    let v = ok(&args);
    assert_eq!(v["key_type"], "ec-p256");
    assert_eq!(
        v["subject_alt_names"],
        json!(["IP:10.0.0.4", "DNS:etcd0", "IP:fd00::4"])
    );
    let crt = dir.s("peer.crt");
    openssl(&["verify", "-CAfile", &ca.0, &crt]);
    let text = openssl(&["x509", "-in", &crt, "-noout", "-text"]);
    assert!(
        text.contains("id-ecPublicKey") && text.contains("prime256v1"),
        "{text}"
    );
}

#[test]
fn client_certificates_need_no_sans() {
    let dir = TempDir::new("client");
    let ca = make_ca(&dir, "ca");
    let v = ok(&present(&dir, &ca, "client", &[]));
    assert_eq!(v["usage"], "client");
    assert_eq!(v["subject_alt_names"], json!([]));
}
