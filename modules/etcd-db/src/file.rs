//! The file under inspection: positioned reads only, so memory does not grow with its size, and
//! the optional sha256 trailer that `etcdctl snapshot save` appends.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use openssl::sha::Sha256;

use crate::error::DbError;

pub(crate) const TRAILER_LEN: u64 = 32;
const SHA_CHUNK: usize = 1 << 20;

pub(crate) struct DbFile {
    file: File,
    name: String,
    /// The whole file, trailer included.
    pub(crate) len: u64,
    /// The bbolt part: `len` less the trailer, if there is one.
    pub(crate) db_len: u64,
    pub(crate) has_trailer: bool,
}

impl DbFile {
    pub(crate) fn open(path: &Path) -> Result<Self, DbError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| DbError::io(format!("open {name}"), e))?;
        let md = file
            .metadata()
            .map_err(|e| DbError::io(format!("stat {name}"), e))?;
        if md.is_dir() {
            return Err(DbError::IsDirectory);
        }
        let len = md.len();
        if len == 0 {
            return Err(DbError::Empty);
        }
        // A bbolt file is a whole number of pages, and pages are at least 512 bytes: 32 left
        // over is the sha256 that `snapshot save` appended.
        let has_trailer = len % 512 == TRAILER_LEN;
        let db_len = if has_trailer { len - TRAILER_LEN } else { len };
        Ok(DbFile {
            file,
            name,
            len,
            db_len,
            has_trailer,
        })
    }

    /// Fills `buf` from `offset`; reading past the database part is an error naming both.
    pub(crate) fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), DbError> {
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|e| e > self.db_len) {
            return Err(DbError::io(
                format!(
                    "read {} bytes at offset {offset} of {}",
                    buf.len(),
                    self.name
                ),
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("the database part ends at {}", self.db_len),
                ),
            ));
        }
        self.file.read_exact_at(buf, offset).map_err(|e| {
            DbError::io(
                format!(
                    "read {} bytes at offset {offset} of {}",
                    buf.len(),
                    self.name
                ),
                e,
            )
        })
    }

    /// Reads what fits of `buf.len()` bytes at `offset`, for probing files that may be short.
    pub(crate) fn read_prefix_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, DbError> {
        let avail = self.db_len.saturating_sub(offset);
        let n = usize::try_from(avail).map_or(buf.len(), |a| a.min(buf.len()));
        let part = buf.get_mut(..n).unwrap_or_default();
        self.read_at(offset, part)?;
        Ok(n)
    }

    /// The trailer as stored and the sha256 of the database part, read in 1 MiB chunks.
    pub(crate) fn trailer_check(&self) -> Result<([u8; 32], [u8; 32]), DbError> {
        let mut stored = [0u8; 32];
        self.file
            .read_exact_at(&mut stored, self.db_len)
            .map_err(|e| DbError::io(format!("read the sha256 trailer of {}", self.name), e))?;
        let mut sha = Sha256::new();
        let chunk_len = usize::try_from(self.db_len).map_or(SHA_CHUNK, |l| l.min(SHA_CHUNK));
        let mut buf = vec![0u8; chunk_len];
        let mut off = 0u64;
        while off < self.db_len {
            let n = usize::try_from(self.db_len - off).map_or(chunk_len, |r| r.min(chunk_len));
            let chunk = buf.get_mut(..n).unwrap_or_default();
            self.read_at(off, chunk)?;
            sha.update(chunk);
            off += n as u64;
        }
        Ok((stored, sha.finish()))
    }
}
