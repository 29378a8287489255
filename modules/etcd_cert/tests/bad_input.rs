//! Bad input fails with a message naming what is wrong, writes nothing, and never panics.

mod common;

use common::{fails, make_ca, present, with, TempDir};
use openssl::pkey::PKey;
use openssl::x509::X509;
use serde_json::{json, Value};

/// Fails, with `expected` in the message, and leaves the directory as it was.
fn refused(dir: &TempDir, args: &Value, expected: &str) {
    let before = dir.listing();
    let msg = fails(args);
    assert!(msg.contains(expected), "{msg:?} lacks {expected:?}");
    assert_eq!(dir.listing(), before, "{msg}");
}

#[test]
fn unreadable_or_missing_ca_key() {
    let dir = TempDir::new("cakey");
    let ca = make_ca(&dir, "ca");
    let missing = (ca.0.clone(), dir.s("nope.key"));
    refused(
        &dir,
        &present(&dir, &missing, "peer", &["IP:10.0.0.4"]),
        &format!("reading ca_key {}", missing.1),
    );
    // A directory cannot be read even as root (a chmod 000 file can).
    std::fs::create_dir(dir.join("keydir")).unwrap();
    let unreadable = (ca.0.clone(), dir.s("keydir"));
    refused(
        &dir,
        &present(&dir, &unreadable, "peer", &["IP:10.0.0.4"]),
        &format!("reading ca_key {}", unreadable.1),
    );
}

#[test]
fn ca_that_is_not_a_ca() {
    let dir = TempDir::new("notca");
    let ca = make_ca(&dir, "ca");
    common::ok(&present(&dir, &ca, "server", &["IP:10.0.0.4"]));
    let leaf = (dir.s("server.crt"), dir.s("server.key"));
    refused(
        &dir,
        &present(&dir, &leaf, "peer", &["IP:10.0.0.4"]),
        &format!(
            "ca_cert {} is not a CA certificate (no basicConstraints CA:TRUE)",
            leaf.0
        ),
    );
}

#[test]
fn ca_key_of_another_ca() {
    let dir = TempDir::new("mismatch");
    let ca = make_ca(&dir, "ca");
    let other = make_ca(&dir, "other");
    let mixed = (ca.0.clone(), other.1.clone());
    refused(
        &dir,
        &present(&dir, &mixed, "peer", &["IP:10.0.0.4"]),
        &format!("ca_key {} does not match ca_cert {}", other.1, ca.0),
    );
}

#[test]
fn garbage_pem() {
    let dir = TempDir::new("garbage");
    let ca = make_ca(&dir, "ca");
    std::fs::write(
        dir.join("junk.crt"),
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(dir.join("junk.key"), "\x00\x01binary").unwrap();
    let bad_cert = (dir.s("junk.crt"), ca.1.clone());
    refused(
        &dir,
        &present(&dir, &bad_cert, "peer", &["IP:10.0.0.4"]),
        &format!("ca_cert {} is not a PEM certificate", bad_cert.0),
    );
    let bad_key = (ca.0.clone(), dir.s("junk.key"));
    refused(
        &dir,
        &present(&dir, &bad_key, "peer", &["IP:10.0.0.4"]),
        &format!("ca_key {} is not a PEM private key", bad_key.1),
    );
    refused(
        &dir,
        &json!({"state": "inspected", "cert_path": dir.s("junk.crt")}),
        &format!("cert_path {} is not a PEM certificate", dir.s("junk.crt")),
    );
}

#[test]
fn expired_ca() {
    let dir = TempDir::new("expired");
    let ca = make_ca(&dir, "ca");
    // Re-sign the CA's own certificate with a validity that ended yesterday.
    let key = PKey::private_key_from_pem(&std::fs::read(&ca.1).unwrap()).unwrap();
    let cert = X509::from_pem(&std::fs::read(&ca.0).unwrap()).unwrap();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(cert.serial_number()).unwrap();
    b.set_subject_name(cert.subject_name()).unwrap();
    b.set_issuer_name(cert.subject_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    let now = pki::time::now();
    b.set_not_before(&pki::time::asn1(now - 20 * 86_400).unwrap())
        .unwrap();
    b.set_not_after(&pki::time::asn1(now - 86_400).unwrap())
        .unwrap();
    b.append_extension(
        openssl::x509::extension::BasicConstraints::new()
            .critical()
            .ca()
            .build()
            .unwrap(),
    )
    .unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    std::fs::write(dir.join("old.crt"), b.build().to_pem().unwrap()).unwrap();
    let old = (dir.s("old.crt"), ca.1.clone());
    refused(
        &dir,
        &present(&dir, &old, "peer", &["IP:10.0.0.4"]),
        &format!("ca_cert {} expired on ", old.0),
    );
}

#[test]
fn invalid_sans() {
    let dir = TempDir::new("san");
    let ca = make_ca(&dir, "ca");
    refused(
        &dir,
        &present(&dir, &ca, "peer", &["IP:999.1.1.1"]),
        "\"999.1.1.1\" is not an IP address",
    );
    refused(
        &dir,
        &present(&dir, &ca, "peer", &["999.1.1.1"]),
        "not a valid IP address",
    );
    refused(
        &dir,
        &present(&dir, &ca, "peer", &["DNS:has space"]),
        "neither an IP address nor a DNS name",
    );
    refused(
        &dir,
        &present(&dir, &ca, "peer", &["URI:spiffe://x"]),
        "only IP: and DNS:",
    );
    refused(
        &dir,
        &present(&dir, &ca, "server", &[]),
        "subject_alt_names is empty",
    );
}

#[test]
fn cert_path_in_a_missing_directory() {
    let dir = TempDir::new("nodir");
    let ca = make_ca(&dir, "ca");
    let args = with(
        present(&dir, &ca, "peer", &["IP:10.0.0.4"]),
        "cert_path",
        json!(dir.s("missing/peer.crt")),
    );
    refused(
        &dir,
        &args,
        &format!("directory {} does not exist", dir.s("missing")),
    );
}

#[test]
fn inconsistent_options() {
    let dir = TempDir::new("opts");
    let ca = make_ca(&dir, "ca");
    let args = present(&dir, &ca, "peer", &["IP:10.0.0.4"]);
    refused(
        &dir,
        &with(args.clone(), "days", json!(10)),
        "renew_before_days must be at least 0 and less than days (10)",
    );
    refused(
        &dir,
        &with(args.clone(), "days", json!(0)),
        "days must be between 1 and 36500",
    );
    refused(
        &dir,
        &with(args.clone(), "key_path", args["cert_path"].clone()),
        "must be different files",
    );
    refused(&dir, &with(args.clone(), "usage", json!("admin")), "usage");
    refused(
        &dir,
        &with(args.clone(), "key_type", json!("dsa")),
        "key_type",
    );
    refused(
        &dir,
        &with(args.clone(), "common_name", json!("x".repeat(65))),
        "longer than 64 characters",
    );
    let mut missing = args.clone();
    missing.as_object_mut().unwrap().remove("ca_key");
    refused(
        &dir,
        &missing,
        "state is present but all of the following are missing: ca_key",
    );
    refused(
        &dir,
        &json!({"state": "inspected"}),
        "state is inspected but all of the following are missing: cert_path",
    );
    refused(
        &dir,
        &json!({"state": "inspected", "cert_path": dir.s("nope.crt")}),
        &format!("reading cert_path {}", dir.s("nope.crt")),
    );
}
