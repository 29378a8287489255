//! X.509 for etcd members: issue a server, peer or client pair from an operator's CA,
//! inspect any certificate, and decide whether an existing pair must be renewed.
//!
//! ```no_run
//! use pki::{assess, issue, san, time, Ca, KeyType, Usage};
//! use std::path::Path;
//!
//! let now = time::now();
//! let ca = Ca::load(Path::new("/etc/etcd/ca/ca.crt"), Path::new("/etc/etcd/ca/ca.key"), now)?;
//! let sans = san::parse_all(&["IP:192.168.55.21", "DNS:etcd0.example.com"])?;
//! let req = issue::Request {
//!     common_name: "etcd0.example.com",
//!     sans: &sans,
//!     usage: Usage::Peer,
//!     key_type: KeyType::Rsa2048,
//!     days: 1825,
//! };
//! let pair = issue::issue(&ca, &req, now)?;
//! let summary = pki::inspect::summarize(&pair.cert, Some(ca.cert()), now)?;
//! println!("{}", summary.sha256_fingerprint);
//! # Ok::<(), pki::Error>(())
//! ```
//!
//! Private keys never implement `Debug` or `Serialize` here, so they cannot leak into a
//! module result by accident.

pub mod assess;
pub mod ca;
pub mod error;
pub mod inspect;
pub mod issue;
pub mod keytype;
pub mod load;
pub mod san;
pub mod time;
pub mod usage;

pub use ca::Ca;
pub use error::{Error, Result};
pub use inspect::Summary;
pub use keytype::KeyType;
pub use san::San;
pub use usage::Usage;
