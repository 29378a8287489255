//! Talking to etcd for the modules: the shared connection options, mutual TLS checked up
//! front, endpoints probed concurrently under one deadline, and the quorum arithmetic every
//! verdict and guard rail uses.

#[cfg(feature = "ansible")]
mod ansible;
pub mod bytes;
mod cluster;
mod conn;
mod endpoint;
mod errors;
pub mod hosts;
mod member;
pub mod membership;
pub mod no_quorum;
mod probe;
pub mod quorum;
pub mod snapshot;
mod stopping;
mod tls;
mod transport;
pub mod v2;
pub mod version;

#[cfg(feature = "ansible")]
pub use ansible::{block_on, connection_options};
pub use cluster::{Alarm, ClusterView};
pub use conn::{bounded_by, ConnOpts};
pub use endpoint::validate_endpoint;
pub use errors::{EtcdError, EtcdRefusal};
pub use etcd_client;
pub use member::{id_hex, parse_id, MemberInfo};
pub use probe::{probe, EndpointReport, Probe};
pub use stopping::{after_stopping, AfterStopping};
pub use tls::TlsMaterial;
