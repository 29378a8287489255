//! The lab: real multi-member etcd clusters on loopback addresses with mutual TLS, for
//! `make lab`, `make demo` and the end-to-end tests. Nothing is faked: every host is a
//! directory holding the OpenShift 3.11 file layout, every member a real `/usr/bin/etcd`.
//!
//! ```no_run
//! use lab::{Lab, LabOptions};
//! use std::time::Duration;
//!
//! let lab = Lab::up(LabOptions { members: 3, spares: 1, ..Default::default() })?;
//! lab.put_keys("/test/", 1000)?;
//! lab.kill("etcd2")?;
//! assert_eq!(lab.count_keys("/test/")?, 1000);
//! lab.start("etcd2")?;
//! lab.wait_healthy(&["etcd2"], Duration::from_secs(30))?;
//! // ansible-playbook -i lab.inventory_path() ...
//! # Ok::<(), lab::Error>(())
//! ```
//!
//! Addresses: slot `s` gives host `i` the address 127.0.s.(10+i), ports 2379 (client) and 2380
//! (peer). Slot 0 is reserved for `make lab`/`make demo`; tests claim one of 1..=250 (see
//! [`slots`]).

pub mod ansible;
pub mod awx;
mod client;
pub mod docs;
pub mod envfile;
mod error;
pub mod inventory;
pub mod kubelet;
mod lab;
pub mod layout;
pub mod legacy;
pub mod machine;
mod machine_etcd;
pub mod openshift;
pub mod pki;
pub mod playbook_source;
pub mod process;
pub mod runner;
pub mod slots;
pub mod state;
mod templates;
pub mod wait;

pub use client::{key_name, value_for, Member, TlsFiles};
pub use error::{Context, Error, Result};
pub use lab::{etcdctl_bin, voters, Lab, LabOptions, Runtime, UP_TIMEOUT};
pub use layout::Host;
pub use legacy::EtcdBuild;
