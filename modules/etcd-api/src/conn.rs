//! Connecting to one endpoint, each call bounded by the timeout.

use crate::errors::EtcdError;
use crate::tls::TlsMaterial;
use crate::transport::{NoDelayTls, Plain};
use etcd_client::{Client, ConnectOptions};
use std::time::Duration;

#[derive(Clone)]
pub struct ConnOpts {
    pub endpoints: Vec<String>,
    pub tls: TlsMaterial,
    pub timeout: Duration,
}

impl ConnOpts {
    /// A client bound to exactly one endpoint, so that what it reports belongs to that member.
    /// etcd-client connects lazily: a dead endpoint shows up on the first call.
    pub async fn connect(&self, endpoint: &str) -> Result<Client, EtcdError> {
        let opts = ConnectOptions::new()
            .with_connect_timeout(self.timeout)
            .with_timeout(self.timeout);
        let connect = async {
            if endpoint.starts_with("https://") {
                let channel = NoDelayTls {
                    endpoint: endpoint.to_string(),
                    tls: self.tls.clone(),
                    timeout: self.timeout,
                };
                Client::connect_with_balanced_channel([endpoint], Some(opts), channel).await
            } else {
                let channel = Plain {
                    endpoint: endpoint.to_string(),
                    timeout: self.timeout,
                };
                Client::connect_with_balanced_channel([endpoint], Some(opts), channel).await
            }
        };
        self.bounded(connect).await
    }

    /// Runs `call` with the deadline this module was given; a hung member becomes an error.
    pub async fn bounded<T, F>(&self, call: F) -> Result<T, EtcdError>
    where
        F: std::future::Future<Output = Result<T, etcd_client::Error>>,
    {
        bounded_by(self.timeout, call).await
    }
}

/// Runs `call` with the deadline `limit`: for the calls that may outlast one call's timeout
/// (a compaction, a defragmentation).
pub async fn bounded_by<T, F>(limit: Duration, call: F) -> Result<T, EtcdError>
where
    F: std::future::Future<Output = Result<T, etcd_client::Error>>,
{
    match tokio::time::timeout(limit, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(EtcdError::from_client(&e)),
        Err(_) => Err(EtcdError::Timeout {
            secs: limit.as_secs(),
        }),
    }
}
