//! Issuing a member's key and certificate: what `openssl req -new -nodes` followed by
//! `openssl ca -extensions etcd_v3_ca_{server,peer}` does in the procedure, in one step and
//! without an openssl.cnf, index.txt or serial file on the CA host.

use crate::ca::Ca;
use crate::error::{Error, Result};
use crate::keytype::KeyType;
use crate::san::San;
use crate::time::{self, DAY};
use crate::usage::Usage;
use openssl::asn1::Asn1TimeRef;
use openssl::bn::{BigNum, MsbOption};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};

/// Clock skew between the CA host and the members: a certificate that is not yet valid on a
/// member whose clock is a little behind would make etcd refuse its peers.
const BACKDATE_SECS: i64 = 300;

/// X.509 limits a commonName to 64 characters (ub-common-name).
const MAX_COMMON_NAME: usize = 64;

pub struct Request<'a> {
    pub common_name: &'a str,
    pub sans: &'a [San],
    pub usage: Usage,
    pub key_type: KeyType,
    pub days: u32,
}

/// A freshly issued pair. Not `Debug`: the key must never end up in a log or result.
pub struct Issued {
    pub cert: X509,
    key: PKey<Private>,
}

impl Issued {
    pub fn cert_pem(&self) -> Result<Vec<u8>> {
        self.cert
            .to_pem()
            .map_err(|e| Error::openssl("encoding the certificate as PEM", e))
    }

    /// PKCS#8 PEM, which etcd (Go's tls.X509KeyPair) reads for RSA and EC keys alike.
    pub fn key_pem(&self) -> Result<Vec<u8>> {
        self.key
            .private_key_to_pem_pkcs8()
            .map_err(|e| Error::openssl("encoding the private key as PEM", e))
    }
}

pub fn issue(ca: &Ca, req: &Request, now: i64) -> Result<Issued> {
    validate(req)?;
    let key = req.key_type.generate()?;
    let not_before = time::asn1(now - BACKDATE_SECS)?;
    let not_after = time::asn1(now + i64::from(req.days) * DAY)?;
    let cert = build(ca, req, &key, &not_before, &not_after).map_err(|e| {
        Error::openssl(
            format!(
                "signing a certificate for {} with {}",
                req.common_name,
                ca.path().display()
            ),
            e,
        )
    })?;
    Ok(Issued { cert, key })
}

fn validate(req: &Request) -> Result<()> {
    if req.common_name.trim().is_empty() {
        return Err(Error::new("common_name is empty"));
    }
    if req.common_name.chars().count() > MAX_COMMON_NAME {
        return Err(Error::new(format!(
            "common_name {:?} is longer than {MAX_COMMON_NAME} characters",
            req.common_name
        )));
    }
    if req.days == 0 {
        return Err(Error::new("days must be at least 1"));
    }
    if let Some(other) = req.sans.iter().find(|s| matches!(s, San::Other(_))) {
        return Err(Error::new(format!(
            "cannot issue subjectAltName {other}: only IP and DNS"
        )));
    }
    Ok(())
}

fn build(
    ca: &Ca,
    req: &Request,
    key: &PKey<Private>,
    not_before: &Asn1TimeRef,
    not_after: &Asn1TimeRef,
) -> std::result::Result<X509, ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", req.common_name)?;
    let name = name.build();

    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = random_serial()?.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(ca.cert().subject_name())?;
    b.set_pubkey(key)?;
    b.set_not_before(not_before)?;
    b.set_not_after(not_after)?;

    b.append_extension(BasicConstraints::new().critical().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .key_encipherment()
            .build()?,
    )?;
    let mut eku = ExtendedKeyUsage::new();
    if req.usage.server_auth() {
        eku.server_auth();
    }
    if req.usage.client_auth() {
        eku.client_auth();
    }
    b.append_extension(eku.build()?)?;
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(Some(ca.cert()), None))?;
    b.append_extension(ski)?;
    // keyid when the CA has one, else issuer name and serial: operators' CAs vary.
    let aki = AuthorityKeyIdentifier::new()
        .keyid(false)
        .issuer(false)
        .build(&b.x509v3_context(Some(ca.cert()), None))?;
    b.append_extension(aki)?;
    if !req.sans.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for s in req.sans {
            match s {
                San::Ip(ip) => san.ip(&ip.to_string()),
                San::Dns(d) => san.dns(d),
                San::Other(_) => &mut san,
            };
        }
        let ext = san.build(&b.x509v3_context(Some(ca.cert()), None))?;
        b.append_extension(ext)?;
    }
    b.sign(ca.key(), digest_for(ca))?;
    Ok(b.build())
}

/// 128 random bits with the top bit set: always positive, always the same length, and
/// unguessable without a serial file on the CA host.
fn random_serial() -> std::result::Result<BigNum, ErrorStack> {
    let mut serial = BigNum::new()?;
    serial.rand(128, MsbOption::ONE, false)?;
    Ok(serial)
}

/// SHA-256, except for Ed25519/Ed448 CAs, whose signatures take no separate digest.
fn digest_for(ca: &Ca) -> MessageDigest {
    match ca.key().id() {
        Id::ED25519 | Id::ED448 => MessageDigest::null(),
        _ => MessageDigest::sha256(),
    }
}
