//! The options of `state: present`, checked beyond what the spec can express before anything
//! is read or written.

use crate::files::require_parent_dir;
use ansible_module::{Context, Failure, Params};
use pki::assess::Wanted;
use pki::issue::Request;
use pki::{san, KeyType, San, Usage};
use std::path::PathBuf;

/// Beyond a century a typo is likelier than intent.
const MAX_DAYS: i64 = 36_500;

pub struct Present {
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub common_name: String,
    pub sans: Vec<San>,
    pub usage: Usage,
    pub key_type: KeyType,
    pub days: u32,
    pub renew_before_days: u32,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

impl Present {
    pub fn from_params(p: &Params) -> Result<Present, Failure> {
        // required_if guarantees these for state=present.
        let path = |name: &str| p.path(name).unwrap_or_default();
        let usage = Usage::parse(p.str("usage").unwrap_or_default()).context("usage")?;
        let key_type =
            KeyType::parse(p.str("key_type").unwrap_or("rsa2048")).context("key_type")?;
        let sans = san::parse_all(&p.strings("subject_alt_names")).context("subject_alt_names")?;
        if sans.is_empty() && usage != Usage::Client {
            return Err(Failure::new(format!(
                "subject_alt_names is empty: a {} certificate needs the member's IP address and/or \
                 DNS name, since etcd's peers and clients check SANs, not the common name",
                usage.name()
            )));
        }
        let days = p.int("days").unwrap_or(1825);
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(Failure::new(format!(
                "days must be between 1 and {MAX_DAYS}, got {days}"
            )));
        }
        let renew_before_days = p.int("renew_before_days").unwrap_or(30);
        if renew_before_days < 0 || renew_before_days >= days {
            return Err(Failure::new(format!(
                "renew_before_days must be at least 0 and less than days ({days}), got \
                 {renew_before_days}: otherwise every run would renew the certificate it just issued"
            )));
        }
        let (cert_path, key_path) = (path("cert_path"), path("key_path"));
        if cert_path == key_path {
            return Err(Failure::new(format!(
                "cert_path and key_path are both {}: they must be different files",
                cert_path.display()
            )));
        }
        require_parent_dir("cert_path", &cert_path)?;
        require_parent_dir("key_path", &key_path)?;
        Ok(Present {
            ca_cert: path("ca_cert"),
            ca_key: path("ca_key"),
            common_name: p.string("common_name").unwrap_or_default(),
            sans,
            usage,
            key_type,
            days: days as u32,
            renew_before_days: renew_before_days as u32,
            cert_path,
            key_path,
        })
    }

    pub fn request(&self) -> Request<'_> {
        Request {
            common_name: &self.common_name,
            sans: &self.sans,
            usage: self.usage,
            key_type: self.key_type,
            days: self.days,
        }
    }

    pub fn wanted(&self) -> Wanted<'_> {
        Wanted {
            common_name: &self.common_name,
            sans: &self.sans,
            usage: self.usage,
            key_type: self.key_type,
            renew_before_days: self.renew_before_days,
        }
    }
}
