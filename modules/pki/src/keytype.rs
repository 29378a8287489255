//! The key algorithms an etcd member's certificate may use, by the names the module takes.

use crate::error::{Error, Result};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private};
use openssl::rsa::Rsa;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Rsa2048,
    Rsa4096,
    EcP256,
}

impl KeyType {
    pub const NAMES: [&'static str; 3] = ["rsa2048", "rsa4096", "ec-p256"];

    pub fn parse(name: &str) -> Result<KeyType> {
        match name {
            "rsa2048" => Ok(KeyType::Rsa2048),
            "rsa4096" => Ok(KeyType::Rsa4096),
            "ec-p256" => Ok(KeyType::EcP256),
            other => Err(Error::new(format!(
                "unknown key_type {other:?}: use one of {}",
                KeyType::NAMES.join(", ")
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa2048 => "rsa2048",
            KeyType::Rsa4096 => "rsa4096",
            KeyType::EcP256 => "ec-p256",
        }
    }

    pub fn generate(self) -> Result<PKey<Private>> {
        let what = format!("generating a {} key", self.name());
        let key = match self {
            KeyType::Rsa2048 => Rsa::generate(2048).and_then(PKey::from_rsa),
            KeyType::Rsa4096 => Rsa::generate(4096).and_then(PKey::from_rsa),
            KeyType::EcP256 => EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)
                .and_then(|g| EcKey::generate(&g))
                .and_then(PKey::from_ec_key),
        };
        key.map_err(|e| Error::openssl(what, e))
    }
}

/// The name of any key's type in the same vocabulary (`rsa3072`, `ec-p384`, `ed25519` for
/// keys the module does not issue), so an inspected certificate compares with `key_type`.
pub fn describe<T: HasPublic>(key: &PKeyRef<T>) -> String {
    match key.id() {
        Id::RSA => format!("rsa{}", key.bits()),
        Id::EC => {
            let curve = key
                .ec_key()
                .ok()
                .and_then(|k| k.group().curve_name())
                .map(|nid| match nid {
                    Nid::X9_62_PRIME256V1 => "p256".to_string(),
                    Nid::SECP384R1 => "p384".to_string(),
                    Nid::SECP521R1 => "p521".to_string(),
                    other => other.short_name().unwrap_or("unknown").to_string(),
                })
                .unwrap_or_else(|| "unknown".into());
            format!("ec-{curve}")
        }
        Id::ED25519 => "ed25519".into(),
        Id::ED448 => "ed448".into(),
        Id::DSA => format!("dsa{}", key.bits()),
        _ => "other".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_describe_as_their_name() {
        for name in ["rsa2048", "ec-p256"] {
            let key = KeyType::parse(name).unwrap().generate().unwrap();
            assert_eq!(describe(&key), name);
        }
    }

    #[test]
    fn unknown_name_lists_choices() {
        let e = KeyType::parse("dsa").unwrap_err().to_string();
        assert!(e.contains("rsa2048, rsa4096, ec-p256"), "{e}");
    }
}
