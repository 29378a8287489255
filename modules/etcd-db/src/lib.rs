//! A read-only reader of etcd's bbolt database and snapshot files.
//!
//! - [`status`] verifies a file as `etcdctl snapshot status` does (bbolt's consistency check)
//!   and reports the same numbers, plus the sha256 trailer check and etcd 3.6's live key count.
//! - [`member_id`], [`cluster_id`] and [`id_hex`] compute the ids etcd derives on restore.
//! - [`read_buckets`] and [`consistent_index`] read a few small buckets (`meta`, `members`)
//!   without walking the rest, for the data-dir reader (`etcd-datadir`), which also uses
//!   [`Crc32c`] and the wire-format iterator in [`proto`].
//!
//! The format is described in the project's `docs/etcd-snapshots.md`. Nothing here panics on a
//! damaged file: every defect is a [`DbError`] that names the page, element or offset.

mod buckets;
mod check;
mod crc32c;
mod error;
mod file;
mod ids;
mod meta;
mod page;
pub mod proto;
mod stats;
mod status;
#[cfg(test)]
mod synthetic_tests;
#[cfg(test)]
mod testdb;

pub use buckets::{consistent_index, read_buckets, Buckets};
pub use crc32c::Crc32c;
pub use error::DbError;
pub use ids::{cluster_id, id_hex, member_id};
pub use status::{status, SnapshotStatus};
