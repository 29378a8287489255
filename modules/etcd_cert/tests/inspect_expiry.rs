//! state=inspected on certificates near and past their end: `renew_due` by the same rule
//! `present` renews by, and an expired one says so plainly.

mod common;

use common::{make_ca, ok, present, with, TempDir};
use openssl::pkey::PKey;
use openssl::x509::X509;
use serde_json::json;

#[test]
fn an_expiring_certificate_is_due_and_a_fresh_one_is_not() {
    let dir = TempDir::new("expiring");
    let ca = make_ca(&dir, "ca");
    let args = present(&dir, &ca, "server", &["IP:10.0.0.4"]);
    ok(&with(
        with(args, "days", json!(10)),
        "renew_before_days",
        json!(5),
    ));
    let inspect = |days: i64| {
        ok(&json!({
            "state": "inspected", "cert_path": dir.s("server.crt"), "ca_cert": ca.0,
            "renew_before_days": days,
        }))
    };
    let due = inspect(30);
    assert_eq!(due["renew_due"], true, "{due}");
    assert_eq!(due["common_name"], "etcd0.example.com");
    let why = due["renew_reason"].as_str().unwrap();
    assert!(why.ends_with("days (renew_before_days 30)"), "{why}");
    let msg = due["msg"].as_str().unwrap();
    assert!(
        msg.contains("signed by the CA") && msg.contains("renewal due: expires in"),
        "{msg}"
    );
    assert!(msg.contains("SANs IP:10.0.0.4"), "{msg}");
    // Not due with 5 days' notice: the pair present just issued is kept by the same rule.
    let fresh = inspect(5);
    assert_eq!(fresh["renew_due"], false, "{fresh}");
    assert!(fresh["renew_reason"].is_null(), "{fresh}");
}

#[test]
fn an_expired_certificate_says_so() {
    let dir = TempDir::new("expired");
    let ca = make_ca(&dir, "ca");
    let ca_key = PKey::private_key_from_pem(&std::fs::read(&ca.1).unwrap()).unwrap();
    let ca_cert = X509::from_pem(&std::fs::read(&ca.0).unwrap()).unwrap();
    // A leaf of this CA whose validity ended yesterday.
    let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(ca_cert.serial_number()).unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "etcd9.example.com")
        .unwrap();
    b.set_subject_name(&name.build()).unwrap();
    b.set_issuer_name(ca_cert.subject_name()).unwrap();
    b.set_pubkey(&key).unwrap();
    let now = pki::time::now();
    b.set_not_before(&pki::time::asn1(now - 20 * 86_400).unwrap())
        .unwrap();
    b.set_not_after(&pki::time::asn1(now - 86_400).unwrap())
        .unwrap();
    b.sign(&ca_key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    std::fs::write(dir.join("old.crt"), b.build().to_pem().unwrap()).unwrap();

    let v = ok(&json!({"state": "inspected", "cert_path": dir.s("old.crt"), "ca_cert": ca.0}));
    assert_eq!(v["expired"], true, "{v}");
    assert_eq!(v["signed_by_ca"], true, "{v}");
    assert_eq!(v["renew_due"], true, "{v}");
    assert!(
        v["renew_reason"]
            .as_str()
            .unwrap()
            .starts_with("expired on "),
        "{v}"
    );
    let msg = v["msg"].as_str().unwrap();
    assert!(
        msg.contains("EXPIRED on ") && msg.contains("peers and clients refuse it"),
        "{msg}"
    );
}
