//! What a certificate is for, as etcd sees it: the server side of client connections, a peer
//! (both ends of peer connections), or a client such as etcdctl or kube-apiserver (clientAuth).
//!
//! A server certificate needs clientAuth as well as serverAuth: etcd's gRPC gateway (the
//! HTTP `/v3/...` API) dials the member's own gRPC port with it, and with
//! `--client-cert-auth` a serverAuth-only certificate makes every gateway call fail with 503
//! "incompatible key usage". openshift-ansible's etcd role issues its server certificates with
//! `extendedKeyUsage = serverAuth,clientAuth` for that reason, so `server` and `peer` ask for
//! the same extended key usage.

use crate::error::{Error, Result};
use openssl::x509::{X509ExtendedKeyUsage, X509Ref};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// Asked for: serverAuth and clientAuth. Found in a certificate: serverAuth only (what
    /// etcd_cert issued before, and not enough for the gateway).
    Server,
    /// serverAuth and clientAuth.
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

    /// Whether a certificate issued for this usage carries serverAuth.
    pub fn server_auth(self) -> bool {
        matches!(self, Usage::Server | Usage::Peer)
    }

    /// Whether a certificate issued for this usage carries clientAuth.
    pub fn client_auth(self) -> bool {
        matches!(self, Usage::Server | Usage::Peer | Usage::Client)
    }

    /// What the certificate's extendedKeyUsage allows: `Peer` for serverAuth and clientAuth
    /// (the server and peer certificates etcd_cert and openshift-ansible issue), `Server` for
    /// serverAuth alone.
    pub fn of_cert(cert: &X509Ref) -> Usage {
        match eku_of(cert) {
            (true, true) => Usage::Peer,
            (true, false) => Usage::Server,
            (false, true) => Usage::Client,
            (false, false) => Usage::Other,
        }
    }

    /// Whether the certificate has exactly the serverAuth/clientAuth this usage asks for.
    pub fn fits(self, cert: &X509Ref) -> bool {
        eku_of(cert) == (self.server_auth(), self.client_auth())
    }
}

/// (serverAuth, clientAuth) in the certificate's extendedKeyUsage.
fn eku_of(cert: &X509Ref) -> (bool, bool) {
    match cert.extended_key_usage() {
        Some(eku) => (
            eku.contains(X509ExtendedKeyUsage::SSL_SERVER),
            eku.contains(X509ExtendedKeyUsage::SSL_CLIENT),
        ),
        None => (false, false),
    }
}

/// The certificate's serverAuth/clientAuth by their OpenSSL short names, for reports.
pub fn extended_key_usage(cert: &X509Ref) -> Vec<String> {
    let (server, client) = eku_of(cert);
    [(server, "serverAuth"), (client, "clientAuth")]
        .into_iter()
        .filter(|(has, _)| *has)
        .map(|(_, name)| name.to_string())
        .collect()
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
