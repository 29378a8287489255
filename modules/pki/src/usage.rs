//! What a certificate is for, as etcd sees it: the server side of client connections
//! (serverAuth), a peer (both ends of peer connections: serverAuth and clientAuth), or a
//! client such as etcdctl or kube-apiserver (clientAuth).

use crate::error::{Error, Result};
use openssl::x509::{X509ExtendedKeyUsage, X509Ref};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Server,
    Peer,
    Client,
    /// No extendedKeyUsage, or one without serverAuth and clientAuth.
    Other,
}

impl Usage {
    pub const NAMES: [&'static str; 3] = ["server", "peer", "client"];

    pub fn parse(name: &str) -> Result<Usage> {
        match name {
            "server" => Ok(Usage::Server),
            "peer" => Ok(Usage::Peer),
            "client" => Ok(Usage::Client),
            other => Err(Error::new(format!(
                "unknown usage {other:?}: use one of {}",
                Usage::NAMES.join(", ")
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Usage::Server => "server",
            Usage::Peer => "peer",
            Usage::Client => "client",
            Usage::Other => "other",
        }
    }

    pub fn server_auth(self) -> bool {
        matches!(self, Usage::Server | Usage::Peer)
    }

    pub fn client_auth(self) -> bool {
        matches!(self, Usage::Peer | Usage::Client)
    }

    pub fn of_cert(cert: &X509Ref) -> Usage {
        let Some(eku) = cert.extended_key_usage() else {
            return Usage::Other;
        };
        match (
            eku.contains(X509ExtendedKeyUsage::SSL_SERVER),
            eku.contains(X509ExtendedKeyUsage::SSL_CLIENT),
        ) {
            (true, true) => Usage::Peer,
            (true, false) => Usage::Server,
            (false, true) => Usage::Client,
            (false, false) => Usage::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in Usage::NAMES {
            assert_eq!(Usage::parse(n).unwrap().name(), n);
        }
        assert!(Usage::parse("other").is_err());
    }
}
