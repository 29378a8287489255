//! Writes WAL records and `.snap` files the way etcd's encoder does (`wal/encoder.go`,
//! `snap.SaveSnap`), for tests and fuzz seeds. Nothing in the reader uses it.

use etcd_db::Crc32c;

use crate::wal::{CRC, ENTRY, METADATA, SNAPSHOT, STATE};

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_varint(out: &mut Vec<u8>, field: u64, v: u64) {
    varint(out, field << 3);
    varint(out, v);
}

fn field_bytes(out: &mut Vec<u8>, field: u64, b: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// One WAL file's bytes, CRC-chained from `prev_crc` (0 for the first file).
pub struct Encoder {
    crc: Crc32c,
    pub out: Vec<u8>,
}

impl Encoder {
    /// A new file: etcd starts each one with a CRC record carrying the chain so far.
    pub fn new(prev_crc: u32) -> Encoder {
        let mut e = Encoder {
            crc: Crc32c::with_initial(prev_crc),
            out: Vec::new(),
        };
        e.record(CRC, &[]);
        e
    }

    /// The chain's CRC so far, to start the next file from.
    pub fn crc(&self) -> u32 {
        self.crc.sum()
    }

    /// A record of any type; the CRC is the chain's update over `data` (unchanged for a CRC
    /// record, which carries the chain as is).
    pub fn record(&mut self, kind: i64, data: &[u8]) -> &mut Self {
        self.crc.update(data);
        let mut rec = Vec::new();
        field_varint(&mut rec, 1, kind as u64);
        field_varint(&mut rec, 2, u64::from(self.crc.sum()));
        if !data.is_empty() {
            field_bytes(&mut rec, 3, data);
        }
        self.raw_record(&rec)
    }

    /// Frames already-encoded record bytes, with etcd's padding to 8 bytes.
    pub fn raw_record(&mut self, rec: &[u8]) -> &mut Self {
        let pad = (8 - rec.len() % 8) % 8;
        let mut len = rec.len() as u64;
        if pad != 0 {
            len |= (0x80 | pad as u64) << 56;
        }
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(rec);
        self.out.resize(self.out.len() + pad, 0);
        self
    }

    pub fn metadata(&mut self, node: u64, cluster: u64) -> &mut Self {
        let mut m = Vec::new();
        field_varint(&mut m, 1, node);
        field_varint(&mut m, 2, cluster);
        self.record(METADATA, &m)
    }

    pub fn entry(&mut self, term: u64, index: u64, data: &[u8]) -> &mut Self {
        self.entry_of_type(0, term, index, data)
    }

    pub fn entry_of_type(&mut self, kind: u64, term: u64, index: u64, data: &[u8]) -> &mut Self {
        let mut e = Vec::new();
        field_varint(&mut e, 2, term);
        field_varint(&mut e, 3, index);
        field_varint(&mut e, 1, kind);
        if !data.is_empty() {
            field_bytes(&mut e, 4, data);
        }
        self.record(ENTRY, &e)
    }

    pub fn state(&mut self, term: u64, vote: u64, commit: u64) -> &mut Self {
        let mut s = Vec::new();
        field_varint(&mut s, 1, term);
        field_varint(&mut s, 2, vote);
        field_varint(&mut s, 3, commit);
        self.record(STATE, &s)
    }

    pub fn snapshot(&mut self, index: u64, term: u64) -> &mut Self {
        let mut s = Vec::new();
        field_varint(&mut s, 1, index);
        field_varint(&mut s, 2, term);
        self.record(SNAPSHOT, &s)
    }

    /// Preallocated space: zeros to the end of the file.
    pub fn zeros(&mut self, n: usize) -> &mut Self {
        self.out.resize(self.out.len() + n, 0);
        self
    }
}

/// An `etcdserverpb.Request` as the v2 API proposes it.
pub fn v2_request(id: u64, method: &str, path: &str) -> Vec<u8> {
    let mut r = Vec::new();
    field_varint(&mut r, 1, id);
    field_bytes(&mut r, 2, method.as_bytes());
    field_bytes(&mut r, 3, path.as_bytes());
    r
}

/// An `InternalRaftRequest` with a v3 put, as the v3 API proposes it.
pub fn v3_put(id: u64, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut header = Vec::new();
    field_varint(&mut header, 1, id);
    let mut put = Vec::new();
    field_bytes(&mut put, 1, key);
    field_bytes(&mut put, 2, value);
    let mut r = Vec::new();
    field_bytes(&mut r, 100, &header);
    field_bytes(&mut r, 4, &put);
    r
}

/// A `.snap` file: `snappb.Snapshot{crc, data: raftpb.Snapshot{data: store, metadata}}`.
pub fn snap_file(term: u64, index: u64, store_json: &[u8]) -> Vec<u8> {
    let mut meta = Vec::new();
    field_bytes(&mut meta, 1, &[]);
    field_varint(&mut meta, 2, index);
    field_varint(&mut meta, 3, term);
    let mut raft = Vec::new();
    field_bytes(&mut raft, 1, store_json);
    field_bytes(&mut raft, 2, &meta);
    let mut c = Crc32c::new();
    c.update(&raft);
    let mut out = Vec::new();
    field_varint(&mut out, 1, u64::from(c.sum()));
    field_bytes(&mut out, 2, &raft);
    out
}
