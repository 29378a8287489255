//! Test CAs built with the openssl crate, in a self-cleaning temp dir.
#![allow(dead_code)]

use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509NameBuilder, X509};
use std::path::PathBuf;

pub use modtest::TempDir;

pub struct CaSpec {
    pub is_ca: bool,
    pub not_before_days_ago: u32,
    pub days: i64,
}

impl Default for CaSpec {
    fn default() -> CaSpec {
        CaSpec {
            is_ca: true,
            not_before_days_ago: 1,
            days: 3650,
        }
    }
}

/// Writes `<name>.crt` and `<name>.key` into `dir`; returns their paths.
pub fn write_ca(dir: &TempDir, name: &str, spec: CaSpec) -> (PathBuf, PathBuf) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let cert = ca_cert(&key, name, &spec);
    let (c, k) = (
        dir.join(&format!("{name}.crt")),
        dir.join(&format!("{name}.key")),
    );
    std::fs::write(&c, cert.to_pem().unwrap()).unwrap();
    std::fs::write(&k, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (c, k)
}

fn ca_cert(key: &PKey<Private>, cn: &str, spec: &CaSpec) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(key).unwrap();
    let now = pki::time::now();
    b.set_not_before(&pki::time::asn1(now - i64::from(spec.not_before_days_ago) * 86_400).unwrap())
        .unwrap();
    b.set_not_after(&pki::time::asn1(now + spec.days * 86_400).unwrap())
        .unwrap();
    if spec.is_ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(KeyUsage::new().key_cert_sign().crl_sign().build().unwrap())
            .unwrap();
    }
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(ski).unwrap();
    b.sign(key, MessageDigest::sha256()).unwrap();
    b.build()
}
