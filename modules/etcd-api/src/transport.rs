//! A TLS channel for one etcd endpoint, with TCP_NODELAY. etcd-client's OpenSSL transport
//! dials without it, and gRPC's small writes then wait for the peer's delayed ACK, which made
//! every call ~40 ms slower than etcdctl. etcd-client accepts a custom channel, so the fix
//! lives here rather than in a patched copy of the crate.

use crate::tls::TlsMaterial;
use etcd_client::{BalancedChannelBuilder, Channel};
use hyper_openssl::client::legacy::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use openssl::ssl::{SslConnector, SslMethod};
use std::time::Duration;
use tonic::codegen::http::Uri;
use tonic::transport::channel::Change;
use tonic::transport::Endpoint;
use tower::ServiceExt;

pub struct NoDelayTls {
    pub endpoint: String,
    pub tls: TlsMaterial,
    pub timeout: Duration,
}

impl BalancedChannelBuilder for NoDelayTls {
    type Error = etcd_client::Error;

    fn balanced_channel(
        self,
        _buffer_size: usize,
    ) -> Result<(Channel, tokio::sync::mpsc::Sender<Change<Uri, Endpoint>>), Self::Error> {
        let mut ssl = SslConnector::builder(SslMethod::tls_client()).map_err(openssl_err)?;
        // gRPC needs HTTP/2, negotiated by ALPN.
        ssl.set_alpn_protos(b"\x02h2").map_err(openssl_err)?;
        self.tls.configure(&mut ssl).map_err(openssl_err)?;

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(self.timeout));
        let https = HttpsConnector::with_connector(http, ssl).map_err(openssl_err)?;

        let channel = Endpoint::from_shared(self.endpoint)
            .map_err(|e| etcd_client::Error::InvalidArgs(e.to_string()))?
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .connect_with_connector_lazy(https);
        let service = channel.map_err(|e| Box::new(e) as tower::BoxError);

        // The client announces its endpoints through this sender; ours is fixed already, so
        // the announcements are drained and ignored (a closed receiver would fail the connect).
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        Ok((
            Channel::Custom(tower::util::BoxCloneSyncService::new(service)),
            tx,
        ))
    }
}

fn openssl_err(e: openssl::error::ErrorStack) -> etcd_client::Error {
    etcd_client::Error::InvalidArgs(format!("TLS setup: {e}"))
}

/// A plain-HTTP channel for one endpoint. etcd-client's own connect path builds an OpenSSL
/// connector (and loads the system CA bundle) even for http:// endpoints; this one does not.
pub struct Plain {
    pub endpoint: String,
    pub timeout: Duration,
}

impl BalancedChannelBuilder for Plain {
    type Error = etcd_client::Error;

    fn balanced_channel(
        self,
        _buffer_size: usize,
    ) -> Result<(Channel, tokio::sync::mpsc::Sender<Change<Uri, Endpoint>>), Self::Error> {
        let channel = Endpoint::from_shared(self.endpoint)
            .map_err(|e| etcd_client::Error::InvalidArgs(e.to_string()))?
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .tcp_nodelay(true)
            .connect_lazy();
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        Ok((Channel::Tonic(channel), tx))
    }
}
