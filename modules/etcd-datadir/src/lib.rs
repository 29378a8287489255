//! A read-only reader of etcd 3.x data dirs, and the choice of the member a cluster that lost
//! quorum should be re-formed from.
//!
//! - [`inspect`] reads a data dir: the WAL ([`wal`]: ids, last HardState, last entry,
//!   snapshot records, torn tail), the raft snapshots ([`snap`], with their v2 store) and the
//!   bbolt backend's `consistent_index` and members (through `etcd-db`). It never writes,
//!   never takes bbolt's lock, and needs no etcd binary.
//! - [`rank`] is the survivor decision: a pure function over what each candidate's data dir
//!   (or running member) says, so it is tested without any etcd.
//!
//! Nothing here panics on a damaged file: damage is a typed error naming file and offset.

pub mod aside;
pub mod commit;
pub mod copy;
mod dir;
pub mod encode;
mod error;
pub mod locks;
pub mod rank;
#[cfg(test)]
mod rank_tests;
pub mod snap;
pub mod v2;
pub mod wal;
#[cfg(test)]
mod wal_tests;

pub use dir::{inspect, DataDir, DbMember, SnapshotInfo};
pub use error::{Corruption, DataDirError, SnapError, WalError};
