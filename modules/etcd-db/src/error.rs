//! The one error type of the crate: every message names the file offset, page id or element that
//! is wrong, because the reader of it is an operator deciding whether a snapshot can be restored.

use std::fmt;
use std::io;

/// Why a database or snapshot file could not be read or failed verification.
#[derive(Debug)]
#[non_exhaustive]
pub enum DbError {
    /// An I/O call failed; `context` says which call on which file.
    Io { context: String, source: io::Error },
    /// The path names a directory.
    IsDirectory,
    /// The file has no bytes.
    Empty,
    /// Page 0 is not a bbolt meta page and no other meta page was found.
    NotBbolt(String),
    /// Both meta pages are invalid; the text says why for each.
    NoValidMeta(String),
    /// The file ends before the high-water mark of the chosen meta page.
    Truncated {
        /// Bytes of database in the file (the sha256 trailer, if any, is not counted).
        file_len: u64,
        /// Bytes the meta page says the database spans.
        needed: u64,
        /// Whether a sha256 trailer was set aside before comparing.
        trailer: bool,
    },
    /// The file is not whole pages, with or without a trailer: cut short or padded.
    Length { len: u64, page_size: u32 },
    /// The sha256 trailer does not match the database bytes.
    TrailerMismatch {
        stored: [u8; 32],
        computed: [u8; 32],
    },
    /// A page breaks the bbolt structure; `detail` continues the sentence "page N ...".
    Page { id: u64, detail: String },
    /// The structure is sound but the content is not what etcd writes.
    Content(String),
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Io { context, source } => write!(f, "{context}: {source}"),
            DbError::IsDirectory => write!(f, "is a directory"),
            DbError::Empty => write!(f, "empty file"),
            DbError::NotBbolt(why) => write!(f, "not a bbolt file: {why}"),
            DbError::NoValidMeta(why) => write!(f, "no valid meta page: {why}"),
            DbError::Truncated {
                file_len,
                needed,
                trailer,
            } => {
                let what = if *trailer {
                    "file (less its 32-byte sha256 trailer)"
                } else {
                    "file"
                };
                write!(
                    f,
                    "truncated: {what} is {file_len} bytes, meta says {needed}"
                )
            }
            DbError::Length { len, page_size } => write!(
                f,
                "truncated or padded: file is {len} bytes, neither whole {page_size}-byte pages \
                 nor those plus a 32-byte sha256 trailer"
            ),
            DbError::TrailerMismatch { stored, computed } => write!(
                f,
                "sha256 trailer mismatch: file says {}, content hashes to {}",
                hex(stored),
                hex(computed)
            ),
            DbError::Page { id, detail } => write!(f, "page {id} {detail}"),
            DbError::Content(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DbError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl DbError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        DbError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn page(id: u64, detail: impl Into<String>) -> Self {
        DbError::Page {
            id,
            detail: detail.into(),
        }
    }
}
