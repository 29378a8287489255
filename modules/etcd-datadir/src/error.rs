//! Typed errors: the survivor choice branches on them (a corrupt WAL excludes a member, a torn
//! tail does not), and each names the file and offset an operator would look at.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a data dir cannot be inspected at all.
#[derive(Debug)]
#[non_exhaustive]
pub enum DataDirError {
    /// The path (or a directory in it) could not be read: permissions, I/O.
    Unreadable { path: PathBuf, source: io::Error },
    /// The path does not exist.
    Missing { path: PathBuf },
    /// The directory exists and holds nothing: a member that never started, or was wiped.
    Empty { path: PathBuf },
    /// The path exists but is not an etcd data dir; `why` says what is missing.
    NotDataDir { path: PathBuf, why: String },
}

impl fmt::Display for DataDirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataDirError::Unreadable { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            DataDirError::Missing { path } => write!(f, "{} does not exist", path.display()),
            DataDirError::Empty { path } => {
                write!(f, "{} is empty: no etcd data dir there", path.display())
            }
            DataDirError::NotDataDir { path, why } => {
                write!(f, "{} is not an etcd data dir: {why}", path.display())
            }
        }
    }
}

impl std::error::Error for DataDirError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataDirError::Unreadable { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What is wrong with one WAL record, in the words of etcd's decoder (`wal/decoder.go`,
/// `wal/wal.go`), which would refuse to start on any of these.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Corruption {
    /// The record's CRC is not the chained CRC of the data before it (`walpb: crc mismatch`).
    CrcMismatch { stored: u32, computed: u32 },
    /// A file's leading CRC record does not continue the chain from the previous file.
    CrcChainBroken { stored: u32, computed: u32 },
    /// The frame gives a length etcd refuses (`ErrMaxWALEntrySizeLimitExceeded`, 10 MiB).
    TooLarge(u64),
    /// The file ends inside a record, and it is not the last file (so not a torn write).
    Truncated,
    /// The bytes are not the protobuf message the record type says.
    Malformed(String),
    /// A record type etcd does not know.
    UnknownType(i64),
    /// A second metadata record differs from the first (`ErrMetadataConflict`).
    MetadataConflict,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corruption::CrcMismatch { stored, computed } => write!(
                f,
                "CRC mismatch: record says 0x{stored:08x}, the chain gives 0x{computed:08x}"
            ),
            Corruption::CrcChainBroken { stored, computed } => write!(
                f,
                "the CRC record 0x{stored:08x} does not continue the previous file's chain 0x{computed:08x}"
            ),
            Corruption::TooLarge(n) => write!(f, "record of {n} bytes exceeds etcd's 10 MiB limit"),
            Corruption::Truncated => {
                write!(f, "the file ends inside a record, and it is not the last file")
            }
            Corruption::Malformed(why) => write!(f, "malformed record: {why}"),
            Corruption::UnknownType(t) => write!(f, "unknown record type {t}"),
            Corruption::MetadataConflict => {
                write!(f, "metadata record differs from the first one")
            }
        }
    }
}

/// Why the WAL cannot be read as etcd would read it.
#[derive(Debug)]
#[non_exhaustive]
pub enum WalError {
    /// The WAL directory could not be listed or a file read.
    Io { path: PathBuf, source: io::Error },
    /// No `*.wal` file: etcd would start this member as new (or fail).
    NoFiles { dir: PathBuf },
    /// The sequence numbers in the names skip one: a file is missing.
    SequenceGap { before: String, after: String },
    /// A record mid-log is damaged; `offset` is the record frame's byte offset in `file`.
    Corrupt {
        file: String,
        offset: u64,
        what: Corruption,
    },
    /// The log holds no metadata record (member and cluster ids).
    NoMetadata,
}

impl fmt::Display for WalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalError::Io { path, source } => write!(f, "reading {}: {source}", path.display()),
            WalError::NoFiles { dir } => write!(f, "no *.wal file in {}", dir.display()),
            WalError::SequenceGap { before, after } => write!(
                f,
                "WAL file sequence jumps from {before} to {after}: a file is missing"
            ),
            WalError::Corrupt { file, offset, what } => {
                write!(f, "WAL {file} at byte {offset}: {what}")
            }
            WalError::NoMetadata => write!(f, "the WAL has no metadata record"),
        }
    }
}

impl std::error::Error for WalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WalError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Why a `.snap` file cannot be used; etcd would set it aside as `.broken` and try an older one.
#[derive(Debug)]
#[non_exhaustive]
pub enum SnapError {
    Io {
        path: PathBuf,
        source: io::Error,
    },
    /// Empty file, empty data or a zero CRC (`ErrEmptySnapshot`).
    Empty {
        path: PathBuf,
    },
    CrcMismatch {
        path: PathBuf,
        stored: u32,
        computed: u32,
    },
    Malformed {
        path: PathBuf,
        why: String,
    },
}

impl fmt::Display for SnapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapError::Io { path, source } => write!(f, "reading {}: {source}", path.display()),
            SnapError::Empty { path } => write!(f, "{}: empty snapshot", path.display()),
            SnapError::CrcMismatch {
                path,
                stored,
                computed,
            } => write!(
                f,
                "{}: CRC mismatch (file says 0x{stored:08x}, data gives 0x{computed:08x})",
                path.display()
            ),
            SnapError::Malformed { path, why } => write!(f, "{}: {why}", path.display()),
        }
    }
}

impl std::error::Error for SnapError {}
