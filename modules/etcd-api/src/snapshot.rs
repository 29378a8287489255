//! `etcdctl snapshot save`, done as etcdctl does it plus the check it skips: one member's
//! backend streamed to `<path>.part`, the sha256 recomputed on the way and compared with the
//! 32-byte trailer etcd sends last, fsync, rename. Memory stays at one chunk whatever the size.

use crate::conn::ConnOpts;
use crate::member::id_hex;
use crate::probe::probe;
use etcd_client::Client;
use openssl::sha::Sha256;
use serde::Serialize;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const TRAILER_LEN: usize = 32;

/// The member a snapshot is taken from: the first healthy endpoint, as etcdctl is told to use
/// exactly one.
pub struct Source {
    pub endpoint: String,
    pub member_id: String,
    pub cluster_id: String,
    pub etcd_version: String,
    /// The member's backend size; the snapshot is about this large.
    pub db_size: u64,
    client: Client,
}

/// Finds the first healthy endpoint, in the order given, and reads its status.
pub async fn pick_source(conn: &ConnOpts) -> Result<Source, String> {
    let mut errors = Vec::new();
    for endpoint in &conn.endpoints {
        let p = probe(conn, endpoint).await;
        let (Some(mut client), true) = (p.client, p.report.healthy) else {
            let why = p.report.error.unwrap_or_else(|| "not healthy".into());
            errors.push(format!("{endpoint}: {why}"));
            continue;
        };
        let status = match conn.bounded(client.status()).await {
            Ok(s) => s,
            Err(e) => {
                errors.push(format!("{endpoint}: status: {e}"));
                continue;
            }
        };
        let header = status.header();
        return Ok(Source {
            endpoint: endpoint.clone(),
            member_id: header.map(|h| id_hex(h.member_id())).unwrap_or_default(),
            cluster_id: header.map(|h| id_hex(h.cluster_id())).unwrap_or_default(),
            etcd_version: status.version().to_string(),
            db_size: u64::try_from(status.db_size()).unwrap_or(0),
            client,
        });
    }
    Err(format!(
        "no healthy endpoint to take a snapshot from ({})",
        errors.join("; ")
    ))
}

/// A snapshot written in full and checked against etcd's trailer.
#[derive(Debug, Clone, Serialize)]
pub struct Saved {
    pub path: PathBuf,
    /// Bytes in the file, trailer included.
    pub size: u64,
    /// sha256 of the database bytes, hex; equal to the file's trailer.
    pub sha256: String,
}

/// Streams the snapshot into `path` (through `<path>.part`, removed on any failure).
/// Each message must arrive within the connection timeout; the whole transfer has no limit,
/// as a large database takes as long as it takes.
pub async fn save(source: &Source, conn: &ConnOpts, path: &Path) -> Result<Saved, String> {
    let part = part_path(path);
    let result = stream_to(source, conn, &part).await.and_then(|saved| {
        fs::rename(&part, path)
            .map_err(|e| format!("renaming {} to {}: {e}", part.display(), path.display()))?;
        sync_parent(path)?;
        Ok(Saved {
            path: path.to_path_buf(),
            ..saved
        })
    });
    if result.is_err() {
        let _ = fs::remove_file(&part);
    }
    result
}

pub fn part_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

async fn stream_to(source: &Source, conn: &ConnOpts, part: &Path) -> Result<Saved, String> {
    let mut client = source.client.clone();
    let mut stream = conn
        .bounded(client.snapshot())
        .await
        .map_err(|e| format!("starting the snapshot stream from {}: {e}", source.endpoint))?;
    // The snapshot holds every secret the cluster stores: owner-only, as etcdctl writes it.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(part)
        .map_err(|e| format!("creating {}: {e}", part.display()))?;
    let mut tail = TrailerTail::default();
    let mut size = 0u64;
    // remaining_bytes may read 0 before the end: only the end of the stream ends it.
    while let Some(msg) = conn.bounded(stream.message()).await.map_err(|e| {
        format!(
            "reading the snapshot stream from {} after {size} bytes: {e}",
            source.endpoint
        )
    })? {
        let blob = msg.blob();
        file.write_all(blob)
            .map_err(|e| format!("writing {}: {e}", part.display()))?;
        tail.push(blob);
        size += blob.len() as u64;
    }
    file.sync_all()
        .map_err(|e| format!("syncing {}: {e}", part.display()))?;
    let (computed, trailer) = tail.finish()?;
    let db_len = size - TRAILER_LEN as u64;
    if !db_len.is_multiple_of(512) {
        return Err(format!(
            "the snapshot from {} is {size} bytes: not whole pages plus a 32-byte sha256 \
             trailer; the stream was cut short",
            source.endpoint
        ));
    }
    if computed != trailer {
        return Err(format!(
            "the snapshot from {} is corrupt: its {db_len} bytes hash to {}, etcd's trailer says {}",
            source.endpoint,
            hex(&computed),
            hex(&trailer)
        ));
    }
    Ok(Saved {
        path: part.to_path_buf(),
        size,
        sha256: hex(&computed),
    })
}

/// Hashes everything but the last 32 bytes seen, without knowing in advance which message is
/// the last: the newest 32 bytes are held back until more arrive.
struct TrailerTail {
    sha: Sha256,
    held: Vec<u8>,
}

impl Default for TrailerTail {
    fn default() -> Self {
        TrailerTail {
            sha: Sha256::new(),
            held: Vec::with_capacity(2 * TRAILER_LEN),
        }
    }
}

impl TrailerTail {
    fn push(&mut self, chunk: &[u8]) {
        if chunk.len() >= TRAILER_LEN {
            let (body, last) = chunk.split_at(chunk.len() - TRAILER_LEN);
            self.sha.update(&self.held);
            self.sha.update(body);
            self.held.clear();
            self.held.extend_from_slice(last);
        } else {
            self.held.extend_from_slice(chunk);
            let over = self.held.len().saturating_sub(TRAILER_LEN);
            self.sha.update(&self.held[..over]);
            self.held.drain(..over);
        }
    }

    /// The sha256 of the body and the trailer as received.
    fn finish(self) -> Result<([u8; 32], [u8; 32]), String> {
        let trailer: [u8; 32] = self.held.as_slice().try_into().map_err(|_| {
            format!(
                "the snapshot stream ended after {} bytes, before its sha256 trailer",
                self.held.len()
            )
        })?;
        Ok((self.sha.finish(), trailer))
    }
}

fn sync_parent(path: &Path) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("syncing directory {}: {e}", dir.display()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_and_check(data: &[u8], cuts: &[usize]) {
        let mut t = TrailerTail::default();
        let mut prev = 0;
        for &c in cuts.iter().chain(std::iter::once(&data.len())) {
            t.push(&data[prev..c]);
            prev = c;
        }
        let (computed, trailer) = t.finish().unwrap();
        let body = &data[..data.len() - 32];
        assert_eq!(computed, openssl::sha::sha256(body));
        assert_eq!(&trailer[..], &data[data.len() - 32..]);
    }

    #[test]
    fn the_trailer_is_found_however_the_stream_is_cut() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        split_and_check(&data, &[]);
        split_and_check(&data, &[968]);
        split_and_check(&data, &[500, 990]);
        split_and_check(&data, &[10, 20, 30, 980, 985, 999]);
        split_and_check(&data, &[0, 0, 1000]);
    }

    #[test]
    fn a_stream_shorter_than_a_trailer_is_an_error() {
        let mut t = TrailerTail::default();
        t.push(&[1, 2, 3]);
        assert!(t
            .finish()
            .unwrap_err()
            .contains("before its sha256 trailer"));
    }
}
