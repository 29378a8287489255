//! Line-preserving edits of operator config files.
//!
//! Operators' files carry comments, commented-out defaults, ordering and quoting that matter to
//! them, so every editor here models a file as its original lines and rewrites only the lines an
//! edit must touch; everything else is kept byte for byte. Writes are atomic and keep mode and
//! owner (see [`atomic`]); [`edit::apply_edit`] ties reading, editing, re-parsing, backup and
//! writing together for the modules; with the `ansible` feature, [`module`] adds the glue the
//! etcd-ops Ansible modules share.
//!
//! A module is then a thin wrapper:
//!
//! ```no_run
//! use confedit::{apply_edit, EditOptions, EnvFile};
//! use std::path::Path;
//!
//! let opts = EditOptions { backup: true, ..Default::default() };
//! let outcome = apply_edit(Path::new("/etc/etcd/etcd.conf"), &opts, EnvFile::validate, |text| {
//!     let mut conf = EnvFile::parse(text)?;
//!     conf.set("ETCD_INITIAL_CLUSTER_STATE", "existing")?;
//!     Ok(conf.render())
//! })?;
//! println!("changed: {}, diff: {}", outcome.changed, outcome.diff());
//! # Ok::<(), confedit::Error>(())
//! ```

pub mod atomic;
pub mod edit;
pub mod envfile;
pub mod error;
pub mod hostrange;
pub mod initial_cluster;
pub mod inventory;
#[cfg(feature = "ansible")]
pub mod module;
pub mod text;
pub mod url;
pub mod urllist;
pub mod utc;
pub mod yamlseq;

pub use atomic::{
    backup, stage_atomic, stage_atomic_mode, write_atomic, write_atomic_mode, StagedWrite,
};
pub use edit::{apply_edit, EditOptions, EditOutcome};
pub use envfile::EnvFile;
pub use error::{Error, Result};
pub use initial_cluster::InitialCluster;
pub use inventory::Inventory;
pub use url::{validate_url, EtcdUrl};
pub use urllist::{split_list, Aliases, Applied, ListEdit};
pub use yamlseq::{get_seq, set_seq};
