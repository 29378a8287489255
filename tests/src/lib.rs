//! The lab: real multi-member etcd clusters on loopback addresses with TLS.
