//! etcd's write-ahead log, decoded as etcd 3.4 decodes it on start (`wal/decoder.go`,
//! `wal.ReadAll`, `wal.Repair`, `wal.ValidSnapshotEntries`), without writing a byte.
//!
//! - A record is an 8-byte little-endian frame (low 56 bits: length; top bit of the top byte
//!   set: its low 3 bits are the padding), the `walpb.Record` bytes, then the padding.
//! - Each record's CRC is CRC-32C of its data chained from the previous record's CRC; a `crc`
//!   record at the head of each file carries the chain over. A mismatch is corruption.
//! - A zero frame ends a file (preallocated space). In the *last* file, a record cut short, or
//!   one that fails to decode or to match its CRC while a 512-byte sector of it is all zeros,
//!   is a torn write: etcd truncates it away (`Repair`) and starts, so it ends the log here too.
//!   The same in any other file is corruption.
//! - Entries are appended by index: a later entry with an index at or below the last one
//!   replaces that one and everything after it (a new leader's log). The last entry read is
//!   the log's last entry.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

use etcd_db::proto::{self, Value};
use etcd_db::Crc32c;
use serde::Serialize;

use crate::error::{Corruption, WalError};
use crate::v2;

pub(crate) const METADATA: i64 = 1;
pub(crate) const ENTRY: i64 = 2;
pub(crate) const STATE: i64 = 3;
pub(crate) const CRC: i64 = 4;
pub(crate) const SNAPSHOT: i64 = 5;

/// etcd's `maxWALEntrySizeLimit`.
const MAX_RECORD: u64 = 10 * 1024 * 1024;
const SECTOR: u64 = 512;

/// raft's `HardState`: what the member last persisted as its term, vote and commit index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct HardState {
    pub term: u64,
    pub vote: u64,
    pub commit: u64,
}

/// A raft log position.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
pub struct LogId {
    pub index: u64,
    pub term: u64,
}

/// Where a torn write was cut off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Torn {
    pub file: String,
    pub offset: u64,
}

/// The clean end of the log: the last file, the offset after its last record, and the CRC
/// chain there (what the next record's CRC continues from).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WalEnd {
    pub file: String,
    pub offset: u64,
    pub crc: u32,
}

/// What the log says, as of its last valid record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Wal {
    /// The `*.wal` files read, in sequence order.
    pub files: Vec<String>,
    pub member_id: Option<u64>,
    pub cluster_id: Option<u64>,
    /// The last HardState record.
    pub hardstate: Option<HardState>,
    /// The last entry of the log.
    pub last_entry: Option<LogId>,
    /// Every snapshot record, in log order (etcd writes one per raft snapshot).
    pub snapshots: Vec<LogId>,
    /// Entry records read.
    pub entries: u64,
    /// Entries that a later entry of the same index replaced.
    pub overwritten: u64,
    /// Set when the last file ends in a torn write.
    pub torn: Option<Torn>,
    /// Where the log ends cleanly (not torn): the next record of the last file would go there.
    pub end: Option<WalEnd>,
    /// Indexes of the entries that are v2 API writes outside etcd's own `/0` tree, still in
    /// the log (replaced entries dropped).
    pub v2_writes: Vec<u64>,
}

/// One file's bytes as a stream, named for messages.
pub struct WalFile<R> {
    pub name: String,
    pub reader: R,
}

/// `<seq>-<index>.wal` with 16 hex digits each, as etcd names them; None for anything else
/// (`0.tmp`, `*.broken`), which etcd skips too.
pub fn parse_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".wal")?;
    let (seq, index) = stem.split_once('-')?;
    let hex16 = |s: &str| {
        (s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u64::from_str_radix(s, 16).ok())
            .flatten()
    };
    Some((hex16(seq)?, hex16(index)?))
}

/// The WAL file names in `dir`, in sequence order, checked for gaps.
pub fn list(dir: &Path) -> Result<Vec<String>, WalError> {
    let rd = std::fs::read_dir(dir).map_err(|source| WalError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut names = Vec::new();
    for e in rd {
        let e = e.map_err(|source| WalError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        if let Some(n) = e.file_name().to_str() {
            if let Some((seq, _)) = parse_name(n) {
                names.push((seq, n.to_string()));
            }
        }
    }
    if names.is_empty() {
        return Err(WalError::NoFiles {
            dir: dir.to_path_buf(),
        });
    }
    names.sort();
    for w in names.windows(2) {
        if let [(a, an), (b, bn)] = w {
            if a.checked_add(1) != Some(*b) {
                return Err(WalError::SequenceGap {
                    before: an.clone(),
                    after: bn.clone(),
                });
            }
        }
    }
    Ok(names.into_iter().map(|(_, n)| n).collect())
}

/// Reads every WAL file of `dir`, streaming (a record at a time, whatever the file sizes).
pub fn read_dir(dir: &Path) -> Result<Wal, WalError> {
    let names = list(dir)?;
    let mut files = Vec::with_capacity(names.len());
    for n in names {
        let path: PathBuf = dir.join(&n);
        let f = File::open(&path).map_err(|source| WalError::Io { path, source })?;
        files.push(WalFile {
            name: n,
            reader: BufReader::with_capacity(1 << 16, f),
        });
    }
    read(files)
}

/// Decodes the files in order, the last one being the log's tail.
pub fn read<R: Read>(files: Vec<WalFile<R>>) -> Result<Wal, WalError> {
    let mut st = Decoder {
        crc: Crc32c::new(),
        wal: Wal::default(),
        metadata: None,
    };
    let n = files.len();
    for (i, f) in files.into_iter().enumerate() {
        st.wal.files.push(f.name.clone());
        if st.file(f, i + 1 == n)? {
            break;
        }
    }
    if st.metadata.is_none() {
        return Err(WalError::NoMetadata);
    }
    Ok(st.wal)
}

struct Decoder {
    crc: Crc32c,
    wal: Wal,
    metadata: Option<Vec<u8>>,
}

/// Fills `buf` as far as the stream allows; returns the bytes read.
fn fill<R: Read>(r: &mut R, buf: &mut [u8], name: &str) -> Result<usize, WalError> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(buf.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(WalError::Io {
                    path: PathBuf::from(name),
                    source,
                })
            }
        }
    }
    Ok(got)
}

/// etcd's `isTornEntry`: some 512-byte-sector-aligned piece of the record is all zeros.
fn is_torn(frame_off: u64, data: &[u8]) -> bool {
    let mut file_off = frame_off + 8;
    let mut rest = data;
    while !rest.is_empty() {
        let chunk = usize::try_from(SECTOR - file_off % SECTOR)
            .unwrap_or(rest.len())
            .min(rest.len());
        let (sect, tail) = rest.split_at(chunk);
        if sect.iter().all(|&b| b == 0) {
            return true;
        }
        file_off += chunk as u64;
        rest = tail;
    }
    false
}

struct Record<'a> {
    kind: i64,
    crc: u32,
    data: &'a [u8],
}

fn record(b: &[u8]) -> Result<Record<'_>, String> {
    let mut r = Record {
        kind: 0,
        crc: 0,
        data: &[],
    };
    for f in proto::fields(b) {
        match f? {
            // int64 on the wire as a varint: two's complement, as Go's cast.
            (1, Value::Varint(v)) => r.kind = v as i64,
            (2, Value::Varint(v)) => r.crc = v as u32,
            (3, Value::Bytes(d)) => r.data = d,
            (n @ 1..=3, _) => return Err(format!("record field {n} has the wrong wire type")),
            _ => {}
        }
    }
    Ok(r)
}

/// The varint fields `want` of a message (0 when absent), as gogo's non-nullable fields read.
fn varints<const N: usize>(b: &[u8], want: [u64; N], what: &str) -> Result<[u64; N], String> {
    let mut out = [0u64; N];
    for f in proto::fields(b) {
        let (n, v) = f.map_err(|e| format!("{what}: {e}"))?;
        if let Some(i) = want.iter().position(|&w| w == n) {
            out[i] = v
                .varint()
                .ok_or_else(|| format!("{what}: field {n} is not a varint"))?;
        }
    }
    Ok(out)
}

/// A raft entry's (type, term, index, data).
pub(crate) fn entry(b: &[u8]) -> Result<(u64, u64, u64, &[u8]), String> {
    let (mut kind, mut term, mut index, mut data) = (0, 0, 0, &[][..]);
    for f in proto::fields(b) {
        match f.map_err(|e| format!("raftpb.Entry: {e}"))? {
            (1, Value::Varint(v)) => kind = v,
            (2, Value::Varint(v)) => term = v,
            (3, Value::Varint(v)) => index = v,
            (4, Value::Bytes(d)) => data = d,
            (n @ 1..=4, _) => {
                return Err(format!("raftpb.Entry field {n} has the wrong wire type"))
            }
            _ => {}
        }
    }
    Ok((kind, term, index, data))
}

/// What one frame of a file turned out to be.
enum Step {
    /// A valid record of this many bytes, frame and padding included.
    Record(u64),
    /// A zero frame or the end of the file.
    EndOfFile,
    /// A torn write in the last file: the log ends before it.
    Torn,
}

impl Decoder {
    /// Decodes one file; returns true when it ended in a torn write (the end of the log).
    fn file<R: Read>(&mut self, mut f: WalFile<R>, last: bool) -> Result<bool, WalError> {
        let mut off = 0u64;
        let mut buf = Vec::new();
        loop {
            match self.step(&mut f, last, off, &mut buf) {
                Ok(Step::Record(n)) => off += n,
                Ok(Step::EndOfFile) => {
                    if last {
                        self.wal.end = Some(WalEnd {
                            file: f.name,
                            offset: off,
                            crc: self.crc.sum(),
                        });
                    }
                    return Ok(false);
                }
                Ok(Step::Torn) => {
                    self.wal.torn = Some(Torn {
                        file: f.name,
                        offset: off,
                    });
                    return Ok(true);
                }
                Err(Ok(what)) => {
                    return Err(WalError::Corrupt {
                        file: f.name,
                        offset: off,
                        what,
                    })
                }
                Err(Err(e)) => return Err(e),
            }
        }
    }

    /// Decodes the record whose frame is at `off`. The error is a corruption at `off`, or an
    /// I/O error.
    fn step<R: Read>(
        &mut self,
        f: &mut WalFile<R>,
        last: bool,
        off: u64,
        buf: &mut Vec<u8>,
    ) -> Result<Step, Result<Corruption, WalError>> {
        let short = |last: bool| {
            if last {
                Ok(Step::Torn)
            } else {
                Err(Ok(Corruption::Truncated))
            }
        };
        let mut frame = [0u8; 8];
        let got = fill(&mut f.reader, &mut frame, &f.name).map_err(Err)?;
        if got == 0 {
            return Ok(Step::EndOfFile);
        }
        if got < 8 {
            return short(last);
        }
        let len = u64::from_le_bytes(frame);
        if len == 0 {
            return Ok(Step::EndOfFile);
        }
        let rec_len = len & !(0xffu64 << 56);
        let pad = if len >> 63 == 1 { (len >> 56) & 7 } else { 0 };
        if rec_len >= MAX_RECORD - pad {
            return Err(Ok(Corruption::TooLarge(rec_len)));
        }
        // Below 10 MiB, so these conversions cannot fail.
        let total = usize::try_from(rec_len + pad).unwrap_or(0);
        buf.resize(total, 0);
        if fill(&mut f.reader, buf, &f.name).map_err(Err)? < total {
            return short(last);
        }
        let body = buf
            .get(..usize::try_from(rec_len).unwrap_or(0))
            .unwrap_or_default();
        let rec = match record(body) {
            Ok(r) => r,
            Err(_) if last && is_torn(off, buf) => return Ok(Step::Torn),
            Err(why) => return Err(Ok(Corruption::Malformed(why))),
        };
        if rec.kind != CRC {
            let mut next = self.crc;
            next.update(rec.data);
            if rec.crc != next.sum() {
                if last && is_torn(off, buf) {
                    return Ok(Step::Torn);
                }
                return Err(Ok(Corruption::CrcMismatch {
                    stored: rec.crc,
                    computed: next.sum(),
                }));
            }
            self.crc = next;
        }
        self.apply(&rec).map_err(Ok)?;
        Ok(Step::Record(8 + rec_len + pad))
    }

    fn apply(&mut self, rec: &Record<'_>) -> Result<(), Corruption> {
        let w = &mut self.wal;
        match rec.kind {
            METADATA => {
                if let Some(m) = &self.metadata {
                    if m.as_slice() != rec.data {
                        return Err(Corruption::MetadataConflict);
                    }
                }
                let [node, cluster] = varints(rec.data, [1, 2], "etcdserverpb.Metadata")
                    .map_err(Corruption::Malformed)?;
                w.member_id = Some(node);
                w.cluster_id = Some(cluster);
                self.metadata = Some(rec.data.to_vec());
            }
            ENTRY => {
                let (kind, term, index, data) = entry(rec.data).map_err(Corruption::Malformed)?;
                w.entries += 1;
                if let Some(prev) = w.last_entry {
                    if index <= prev.index {
                        w.overwritten += prev.index - index + 1;
                        w.v2_writes.retain(|&i| i < index);
                    }
                }
                w.last_entry = Some(LogId { index, term });
                if kind == 0 && v2::is_user_write(data) {
                    w.v2_writes.push(index);
                }
            }
            STATE => {
                let [term, vote, commit] = varints(rec.data, [1, 2, 3], "raftpb.HardState")
                    .map_err(Corruption::Malformed)?;
                w.hardstate = Some(HardState { term, vote, commit });
            }
            CRC => {
                let sum = self.crc.sum();
                // A fresh chain (the first file read) has nothing to match.
                if sum != 0 && rec.crc != sum {
                    return Err(Corruption::CrcChainBroken {
                        stored: rec.crc,
                        computed: sum,
                    });
                }
                self.crc = Crc32c::with_initial(rec.crc);
            }
            SNAPSHOT => {
                let [index, term] =
                    varints(rec.data, [1, 2], "walpb.Snapshot").map_err(Corruption::Malformed)?;
                w.snapshots.push(LogId { index, term });
            }
            other => return Err(Corruption::UnknownType(other)),
        }
        Ok(())
    }
}
