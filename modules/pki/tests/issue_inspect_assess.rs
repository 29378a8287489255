//! Issuing from a CA, reading the result back, and the renewal decision.

mod common;

use common::{write_ca, CaSpec, TempDir};
use openssl::nid::Nid;
use openssl::x509::X509KeyUsage;
use pki::assess::{self, Existing, Wanted};
use pki::issue::{issue, Request};
use pki::{ca, inspect, san, time, Ca, KeyType, San, Usage};
use std::path::Path;

fn sans() -> Vec<San> {
    san::parse_all(&["IP:10.0.0.4", "DNS:etcd0.example.com"]).unwrap()
}

fn request<'a>(sans: &'a [San], usage: Usage, key_type: KeyType, days: u32) -> Request<'a> {
    Request {
        common_name: "etcd0.example.com",
        sans,
        usage,
        key_type,
        days,
    }
}

fn wanted<'a>(sans: &'a [San], usage: Usage) -> Wanted<'a> {
    Wanted {
        common_name: "etcd0.example.com",
        sans,
        usage,
        key_type: KeyType::Rsa2048,
        renew_before_days: 30,
    }
}

fn load_ca(dir: &TempDir, name: &str) -> Ca {
    let (c, k) = write_ca(dir, name, CaSpec::default());
    Ca::load(&c, &k, time::now()).unwrap()
}

/// Writes the pair as etcd_cert would and reads it back as an Existing.
fn write_pair(dir: &TempDir, issued: &pki::issue::Issued) -> Existing {
    let (c, k) = (dir.join("m.crt"), dir.join("m.key"));
    std::fs::write(&c, issued.cert_pem().unwrap()).unwrap();
    std::fs::write(&k, issued.key_pem().unwrap()).unwrap();
    Existing::read(&c, &k).unwrap()
}

#[test]
fn issued_certificates_carry_the_etcd_extensions() {
    let dir = TempDir::new("ext");
    let ca = load_ca(&dir, "ca");
    let sans = sans();
    let now = time::now();
    // A server certificate carries clientAuth too (etcd's gRPC gateway dials the member with
    // it), like openshift-ansible's: by its extensions it is what a peer certificate is.
    for (usage, server, client) in [
        (Usage::Server, true, true),
        (Usage::Peer, true, true),
        (Usage::Client, false, true),
    ] {
        let pair = issue(&ca, &request(&sans, usage, KeyType::Rsa2048, 1825), now).unwrap();
        let cert = &pair.cert;
        assert_eq!(cert.version(), 2, "X.509 v3");
        assert!(!ca::is_ca(cert));
        assert!(ca::signed_by(cert, ca.cert()));
        assert!(usage.fits(cert));
        let found = if usage == Usage::Server {
            Usage::Peer
        } else {
            usage
        };
        assert_eq!(Usage::of_cert(cert), found);
        let eku = cert.extended_key_usage().unwrap();
        assert_eq!(
            eku.contains(openssl::x509::X509ExtendedKeyUsage::SSL_SERVER),
            server
        );
        assert_eq!(
            eku.contains(openssl::x509::X509ExtendedKeyUsage::SSL_CLIENT),
            client
        );
        assert_eq!(
            cert.key_usage().unwrap(),
            X509KeyUsage::DIGITAL_SIGNATURE | X509KeyUsage::KEY_ENCIPHERMENT
        );
        assert!(cert.subject_key_id().is_some());
        assert_eq!(
            cert.authority_key_id().map(|k| k.as_slice().to_vec()),
            ca.cert().subject_key_id().map(|k| k.as_slice().to_vec())
        );
        assert_eq!(san::of_cert(cert), sans);
        assert_eq!(
            cert.signature_algorithm().object().nid(),
            Nid::SHA256WITHRSAENCRYPTION
        );
        let serial = cert.serial_number().to_bn().unwrap();
        assert_eq!(serial.num_bits(), 128);
        assert!(!serial.is_negative());
    }
}

#[test]
fn serials_differ_and_validity_spans_days() {
    let dir = TempDir::new("serial");
    let ca = load_ca(&dir, "ca");
    let sans = sans();
    let now = time::now();
    let a = issue(&ca, &request(&sans, Usage::Peer, KeyType::EcP256, 10), now).unwrap();
    let b = issue(&ca, &request(&sans, Usage::Peer, KeyType::EcP256, 10), now).unwrap();
    let (sa, sb) = (
        inspect::summarize(&a.cert, Some(ca.cert()), now).unwrap(),
        inspect::summarize(&b.cert, None, now).unwrap(),
    );
    assert_ne!(sa.serial, sb.serial);
    assert_eq!(sa.days_remaining, 10);
    assert_eq!(sa.not_after, time::iso8601(now + 10 * 86_400));
    assert_eq!(sa.key_type, "ec-p256");
    assert_eq!(sa.signed_by_ca, Some(true));
    assert_eq!(sb.signed_by_ca, None);
}

#[test]
fn summary_describes_the_certificate() {
    let dir = TempDir::new("summary");
    let ca = load_ca(&dir, "Example etcd CA");
    let sans = sans();
    let now = time::now();
    let pair = issue(
        &ca,
        &request(&sans, Usage::Server, KeyType::Rsa2048, 365),
        now,
    )
    .unwrap();
    let s = inspect::summarize(&pair.cert, Some(ca.cert()), now).unwrap();
    assert_eq!(s.subject, "CN=etcd0.example.com");
    assert_eq!(s.issuer, "CN=Example etcd CA");
    assert_eq!(
        s.subject_alt_names,
        ["IP:10.0.0.4", "DNS:etcd0.example.com"]
    );
    assert_eq!(s.usage, "peer");
    assert_eq!(s.extended_key_usage, ["serverAuth", "clientAuth"]);
    assert_eq!(s.key_type, "rsa2048");
    assert!(!s.expired);
    assert_eq!(s.sha256_fingerprint.len(), 32 * 3 - 1);
    assert_eq!(s.serial.len(), 32);
    let text = inspect::render(&s);
    assert!(text.contains("subject_alt_names: IP:10.0.0.4, DNS:etcd0.example.com\n"));
    assert!(text.contains("extended_key_usage: serverAuth, clientAuth\n"));
    assert!(!text.contains("PRIVATE"));
}

#[test]
fn a_matching_pair_is_kept() {
    let dir = TempDir::new("keep");
    let ca = load_ca(&dir, "ca");
    let sans = sans();
    let now = time::now();
    let pair = issue(
        &ca,
        &request(&sans, Usage::Peer, KeyType::Rsa2048, 1825),
        now,
    )
    .unwrap();
    let existing = write_pair(&dir, &pair);
    let reasons = assess::reasons(&ca, &existing, &wanted(&sans, Usage::Peer), now).unwrap();
    assert!(reasons.is_empty(), "{reasons:?}");
}

#[test]
fn every_mismatch_is_a_reason() {
    let dir = TempDir::new("reasons");
    let ca = load_ca(&dir, "ca");
    let other = load_ca(&dir, "other");
    let sans = sans();
    let now = time::now();
    let pair = issue(
        &ca,
        &request(&sans, Usage::Server, KeyType::Rsa2048, 10),
        now,
    )
    .unwrap();
    let existing = write_pair(&dir, &pair);

    let more = san::parse_all(&["IP:10.0.0.4", "IP:10.0.0.5", "DNS:etcd0.example.com"]).unwrap();
    let r = assess::reasons(&ca, &existing, &wanted(&more, Usage::Server), now).unwrap();
    assert_eq!(
        r,
        [
            "SANs differ: missing IP:10.0.0.5",
            "expires in 10 days (renew_before_days 30)"
        ]
    );

    let mut w = wanted(&sans, Usage::Client);
    w.renew_before_days = 5;
    w.key_type = KeyType::EcP256;
    w.common_name = "etcd1";
    let r = assess::reasons(&other, &existing, &w, now).unwrap();
    assert_eq!(
        r,
        [
            format!("not signed by {}", dir.join("other.crt").display()),
            "usage differs: certificate is peer, wanted client".into(),
            "common name differs: certificate has etcd0.example.com, wanted etcd1".into(),
            "key type differs: certificate has rsa2048, wanted ec-p256".into(),
        ]
    );

    let r = assess::reasons(&ca, &existing, &w, now + 11 * 86_400).unwrap();
    assert!(r.iter().any(|x| x.starts_with("expired on ")), "{r:?}");
}

#[test]
fn a_swapped_key_is_a_reason() {
    let dir = TempDir::new("swapped");
    let ca = load_ca(&dir, "ca");
    let sans = sans();
    let now = time::now();
    let a = issue(
        &ca,
        &request(&sans, Usage::Peer, KeyType::Rsa2048, 100),
        now,
    )
    .unwrap();
    let b = issue(
        &ca,
        &request(&sans, Usage::Peer, KeyType::Rsa2048, 100),
        now,
    )
    .unwrap();
    let (c, k) = (dir.join("m.crt"), dir.join("m.key"));
    std::fs::write(&c, a.cert_pem().unwrap()).unwrap();
    std::fs::write(&k, b.key_pem().unwrap()).unwrap();
    let existing = Existing::read(&c, &k).unwrap();
    let r = assess::reasons(&ca, &existing, &wanted(&sans, Usage::Peer), now).unwrap();
    assert_eq!(r, ["key does not match certificate"]);
}

#[test]
fn missing_and_garbage_files_are_reasons_not_errors() {
    let dir = TempDir::new("garbage");
    let ca = load_ca(&dir, "ca");
    let sans = sans();
    let (c, k) = (dir.join("m.crt"), dir.join("m.key"));
    let existing = Existing::read(&c, &k).unwrap();
    assert!(!existing.cert_exists && !existing.key_exists);
    let r = assess::reasons(&ca, &existing, &wanted(&sans, Usage::Peer), time::now()).unwrap();
    assert_eq!(
        r,
        [
            format!("{} does not exist", c.display()),
            format!("{} does not exist", k.display())
        ]
    );
    std::fs::write(&c, "garbage").unwrap();
    std::fs::write(
        &k,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let existing = Existing::read(&c, &k).unwrap();
    assert_eq!(
        existing.problems,
        [
            format!("cert_path {} is not a PEM certificate", c.display()),
            format!("key_path {} is not a PEM private key", k.display())
        ]
    );
}

#[test]
fn bad_cas_are_refused_with_the_path() {
    let dir = TempDir::new("badca");
    let now = time::now();
    let err = |c: &Path, k: &Path| Ca::load(c, k, now).err().unwrap().to_string();

    let (not_ca, not_ca_key) = write_ca(
        &dir,
        "leaf",
        CaSpec {
            is_ca: false,
            ..Default::default()
        },
    );
    assert_eq!(
        err(&not_ca, &not_ca_key),
        format!(
            "ca_cert {} is not a CA certificate (no basicConstraints CA:TRUE)",
            not_ca.display()
        )
    );

    let (ca, ca_key) = write_ca(&dir, "ca", CaSpec::default());
    let (_, other_key) = write_ca(&dir, "other", CaSpec::default());
    assert_eq!(
        err(&ca, &other_key),
        format!(
            "ca_key {} does not match ca_cert {}",
            other_key.display(),
            ca.display()
        )
    );

    let (old, old_key) = write_ca(
        &dir,
        "old",
        CaSpec {
            not_before_days_ago: 20,
            days: -10,
            ..Default::default()
        },
    );
    let e = err(&old, &old_key);
    assert!(
        e.starts_with(&format!("ca_cert {} expired on ", old.display())),
        "{e}"
    );

    let garbage = dir.join("garbage.crt");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    assert_eq!(
        err(&garbage, &ca_key),
        format!("ca_cert {} is not a PEM certificate", garbage.display())
    );

    let missing = dir.join("missing.key");
    assert_eq!(
        err(&ca, &missing),
        format!(
            "reading ca_key {}: no such file or directory",
            missing.display()
        )
    );

    let encrypted = dir.join("enc.key");
    let key = openssl::pkey::PKey::private_key_from_pem(&std::fs::read(&ca_key).unwrap()).unwrap();
    let pem = key
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"secret")
        .unwrap();
    std::fs::write(&encrypted, pem).unwrap();
    assert!(err(&ca, &encrypted).contains("is encrypted with a passphrase"));
}

#[test]
fn days_left_decide_renewal_at_the_boundary() {
    let dir = TempDir::new("validity");
    let ca = load_ca(&dir, "ca");
    let sans = sans();
    let now = time::now();
    let pair = issue(
        &ca,
        &request(&sans, Usage::Server, KeyType::Rsa2048, 10),
        now,
    )
    .unwrap();
    let cert = write_pair(&dir, &pair).cert.unwrap();
    let day = 86_400;
    // 10 days left: due within 30 and within 11, not within 10 (whole days left = 10).
    assert_eq!(
        assess::validity(&cert, 30, now).unwrap().as_deref(),
        Some("expires in 10 days (renew_before_days 30)")
    );
    assert!(assess::validity(&cert, 11, now).unwrap().is_some());
    assert_eq!(assess::validity(&cert, 9, now).unwrap(), None);
    // A day before the end it is due even with 2 days' notice; after it, expired.
    assert!(assess::validity(&cert, 2, now + 9 * day).unwrap().is_some());
    let after = assess::validity(&cert, 0, now + 11 * day).unwrap().unwrap();
    assert!(after.starts_with("expired on "), "{after}");
}
