//! Client TLS material, read and checked up front: a missing file, a key that is not PEM or
//! an expired client certificate is reported as such, not as a handshake failure per endpoint.

use openssl::asn1::Asn1Time;
use openssl::error::ErrorStack;
use openssl::pkey::PKey;
use openssl::ssl::SslConnectorBuilder;
use openssl::x509::X509;
use std::path::Path;

/// PEM bytes of the CA bundle and the client pair. Never serialized: keys stay out of results.
#[derive(Clone, Default)]
pub struct TlsMaterial {
    ca: Option<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl TlsMaterial {
    pub fn load(
        ca_cert: Option<&Path>,
        client_cert: Option<&Path>,
        client_key: Option<&Path>,
    ) -> Result<TlsMaterial, String> {
        let ca = match ca_cert {
            Some(p) => {
                let pem = read("ca_cert", p)?;
                X509::stack_from_pem(&pem)
                    .ok()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| {
                        format!("ca_cert {}: no PEM certificate in the file", p.display())
                    })?;
                Some(pem)
            }
            None => None,
        };
        let identity = match (client_cert, client_key) {
            (Some(c), Some(k)) => {
                let cert_pem = read("client_cert", c)?;
                let key_pem = read("client_key", k)?;
                let cert = X509::from_pem(&cert_pem)
                    .map_err(|_| format!("client_cert {}: not a PEM certificate", c.display()))?;
                let key = PKey::private_key_from_pem(&key_pem)
                    .map_err(|_| format!("client_key {}: not a PEM private key", k.display()))?;
                check_not_expired(&cert, c)?;
                let matches = cert
                    .public_key()
                    .map(|pk| pk.public_eq(&key))
                    .unwrap_or(false);
                if !matches {
                    return Err(format!(
                        "client_key {} does not belong to client_cert {}",
                        k.display(),
                        c.display()
                    ));
                }
                Some((cert_pem, key_pem))
            }
            (None, None) => None,
            (Some(_), None) => return Err("client_cert is given without client_key".into()),
            (None, Some(_)) => return Err("client_key is given without client_cert".into()),
        };
        Ok(TlsMaterial { ca, identity })
    }

    /// Trusts the CA bundle (every certificate in it) and presents the client pair.
    pub fn configure(&self, ssl: &mut SslConnectorBuilder) -> Result<(), ErrorStack> {
        if let Some(ca) = &self.ca {
            for cert in X509::stack_from_pem(ca)? {
                ssl.cert_store_mut().add_cert(cert)?;
            }
        }
        if let Some((cert, key)) = &self.identity {
            let (cert, key) = (X509::from_pem(cert)?, PKey::private_key_from_pem(key)?);
            ssl.set_certificate(&cert)?;
            ssl.set_private_key(&key)?;
        }
        Ok(())
    }
}

fn read(what: &str, p: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("reading {what} {}: {e}", p.display()))
}

fn check_not_expired(cert: &X509, path: &Path) -> Result<(), String> {
    let now = Asn1Time::days_from_now(0).map_err(|e| e.to_string())?;
    if cert.not_after() < now {
        return Err(format!(
            "client_cert {} expired on {}: renew it (etcd_cert) before talking to etcd",
            path.display(),
            cert.not_after()
        ));
    }
    if cert.not_before() > now {
        return Err(format!(
            "client_cert {} is not valid before {}: check the clock",
            path.display(),
            cert.not_before()
        ));
    }
    Ok(())
}
