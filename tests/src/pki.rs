//! The lab's certificate authority and the certificates OpenShift 3.11 puts on etcd hosts and
//! masters. EC P-256 keys: as good as RSA for etcd 3.4 (Go crypto/tls) and generated in
//! microseconds, which matters when every test builds a fresh CA.

use crate::error::{Context, Result};
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Name, X509NameBuilder, X509};
use std::net::Ipv4Addr;

/// Validity of everything the lab issues; long enough that no lab ever sees an expiry.
const DAYS: i64 = 3650;

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Pem {
    /// The certificate, PEM.
    pub cert: Vec<u8>,
    /// The PKCS#8 private key, PEM.
    pub key: Vec<u8>,
}

/// What a leaf certificate is for; this decides its key usages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// etcd's client-facing listener (server.crt).
    Server,
    /// etcd's peer listener: peers dial each other, so it is both server and client (peer.crt).
    Peer,
    /// etcdctl, Ansible modules, the master API, flanneld.
    Client,
}

/// The lab CA (kept on the first etcd host, like openshift-ansible's `etcd_ca_host`).
pub struct Ca {
    cert: X509,
    key: PKey<Private>,
}

impl Ca {
    /// A new self-signed CA.
    pub fn generate(common_name: &str) -> Result<Ca> {
        let key = new_key()?;
        let name = name(common_name)?;
        let mut b = X509::builder().context("x509 builder")?;
        b.set_version(2).context("x509 version")?;
        let serial = serial()?.to_asn1_integer().context("serial")?;
        b.set_serial_number(&serial).context("serial")?;
        b.set_subject_name(&name).context("subject")?;
        b.set_issuer_name(&name).context("issuer")?;
        b.set_pubkey(&key).context("pubkey")?;
        set_validity(&mut b, DAYS)?;
        b.append_extension(
            BasicConstraints::new()
                .critical()
                .ca()
                .build()
                .context("bc")?,
        )
        .context("basicConstraints")?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .digital_signature()
                .build()
                .context("ku")?,
        )
        .context("keyUsage")?;
        let ski = SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(None, None))
            .context("ski")?;
        b.append_extension(ski).context("subjectKeyIdentifier")?;
        b.sign(&key, MessageDigest::sha256())
            .context("signing CA")?;
        Ok(Ca {
            cert: b.build(),
            key,
        })
    }

    /// A CA read back from its PEM files (the lab's, from the CA host).
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<Ca> {
        Ok(Ca {
            cert: X509::from_pem(cert).context("CA cert from PEM")?,
            key: PKey::private_key_from_pem(key).context("CA key from PEM")?,
        })
    }

    /// The CA certificate and key as PEM.
    pub fn pem(&self) -> Result<Pem> {
        Ok(Pem {
            cert: self.cert.to_pem().context("CA cert to PEM")?,
            key: self
                .key
                .private_key_to_pem_pkcs8()
                .context("CA key to PEM")?,
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> Result<Vec<u8>> {
        self.cert.to_pem().context("CA cert to PEM")
    }

    /// Issues a leaf certificate. Server and peer certificates carry the host's IP and DNS name
    /// as SANs because etcd (and the Go client) verify the peer's address against them.
    pub fn issue(
        &self,
        common_name: &str,
        usage: Usage,
        ips: &[Ipv4Addr],
        dns: &[&str],
    ) -> Result<Pem> {
        self.issue_for_days(common_name, usage, ips, dns, DAYS)
    }

    /// [`Ca::issue`] with a validity of `days` from now: a certificate made to expire soon, or
    /// (negative) one that expired that many days ago.
    pub fn issue_for_days(
        &self,
        common_name: &str,
        usage: Usage,
        ips: &[Ipv4Addr],
        dns: &[&str],
        days: i64,
    ) -> Result<Pem> {
        let ctx = || format!("issuing {usage:?} certificate for {common_name}");
        let key = new_key().with_context(ctx)?;
        let mut b = X509::builder().with_context(ctx)?;
        b.set_version(2).with_context(ctx)?;
        let serial = serial()?.to_asn1_integer().with_context(ctx)?;
        b.set_serial_number(&serial).with_context(ctx)?;
        let subject = name(common_name)?;
        b.set_subject_name(&subject).with_context(ctx)?;
        b.set_issuer_name(self.cert.subject_name())
            .with_context(ctx)?;
        b.set_pubkey(&key).with_context(ctx)?;
        set_validity(&mut b, days)?;
        b.append_extension(
            BasicConstraints::new()
                .critical()
                .build()
                .with_context(ctx)?,
        )
        .with_context(ctx)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .key_encipherment()
                .build()
                .with_context(ctx)?,
        )
        .with_context(ctx)?;
        let mut eku = ExtendedKeyUsage::new();
        match usage {
            Usage::Server => eku.server_auth(),
            Usage::Peer => eku.server_auth().client_auth(),
            Usage::Client => eku.client_auth(),
        };
        b.append_extension(eku.build().with_context(ctx)?)
            .with_context(ctx)?;
        if !ips.is_empty() || !dns.is_empty() {
            let mut san = SubjectAlternativeName::new();
            for ip in ips {
                san.ip(&ip.to_string());
            }
            for d in dns {
                san.dns(d);
            }
            let san = san
                .build(&b.x509v3_context(Some(&self.cert), None))
                .with_context(ctx)?;
            b.append_extension(san).with_context(ctx)?;
        }
        let ski = SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(Some(&self.cert), None))
            .with_context(ctx)?;
        b.append_extension(ski).with_context(ctx)?;
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(&self.cert), None))
            .with_context(ctx)?;
        b.append_extension(aki).with_context(ctx)?;
        b.sign(&self.key, MessageDigest::sha256())
            .with_context(ctx)?;
        Ok(Pem {
            cert: b.build().to_pem().with_context(ctx)?,
            key: key.private_key_to_pem_pkcs8().with_context(ctx)?,
        })
    }
}

fn new_key() -> Result<PKey<Private>> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).context("P-256 group")?;
    let ec = EcKey::generate(&group).context("generating EC key")?;
    PKey::from_ec_key(ec).context("wrapping EC key")
}

/// 127 random bits: positive, unique in practice, within RFC 5280's 20 octets.
fn serial() -> Result<BigNum> {
    let mut n = BigNum::new().context("bignum")?;
    n.rand(127, MsbOption::MAYBE_ZERO, false)
        .context("random serial")?;
    Ok(n)
}

fn name(common_name: &str) -> Result<X509Name> {
    let mut n = X509NameBuilder::new().context("name builder")?;
    n.append_entry_by_nid(Nid::COMMONNAME, common_name)
        .with_context(|| format!("CN={common_name}"))?;
    Ok(n.build())
}

fn set_validity(b: &mut openssl::x509::X509Builder, days: i64) -> Result<()> {
    // Start a day back so a clock that moves a little never makes a fresh lab's certs "not yet
    // valid" (an expired one a day before its end).
    let now = now_unix();
    let not_before =
        Asn1Time::from_unix(now - 86_400 * (1 + (-days).max(0))).context("notBefore")?;
    b.set_not_before(&not_before).context("notBefore")?;
    let not_after = Asn1Time::from_unix(now + 86_400 * days).context("notAfter")?;
    b.set_not_after(&not_after).context("notAfter")
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_verifies_against_ca_and_has_sans() {
        let ca = Ca::generate("lab-ca").unwrap();
        let leaf = ca
            .issue(
                "etcd1.lab.local",
                Usage::Peer,
                &[Ipv4Addr::new(127, 0, 9, 11)],
                &["etcd1.lab.local"],
            )
            .unwrap();
        let cert = X509::from_pem(&leaf.cert).unwrap();
        let ca_cert = X509::from_pem(&ca.cert_pem().unwrap()).unwrap();
        assert!(cert.verify(&ca_cert.public_key().unwrap()).unwrap());
        let sans: Vec<String> = cert
            .subject_alt_names()
            .unwrap()
            .iter()
            .map(|g| {
                g.dnsname()
                    .map(str::to_string)
                    .or_else(|| g.ipaddress().map(|b| format!("{b:?}")))
                    .unwrap()
            })
            .collect();
        assert!(sans.contains(&"etcd1.lab.local".to_string()));
        assert!(sans.contains(&"[127, 0, 9, 11]".to_string()));
        let other = Ca::generate("lab-ca")
            .unwrap()
            .issue("x", Usage::Client, &[], &[])
            .unwrap();
        assert_ne!(
            X509::from_pem(&other.cert)
                .unwrap()
                .serial_number()
                .to_bn()
                .unwrap(),
            cert.serial_number().to_bn().unwrap()
        );
    }
}
