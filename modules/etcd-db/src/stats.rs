//! The numbers etcd's `snapshot status` reports, gathered from the walk in `check`.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use crate::crc32c::Crc32c;
use crate::error::DbError;
use crate::proto;

/// etcd's revision keys: `main u64 BE, '_', sub u64 BE`, plus `'t'` for a tombstone.
const REV_LEN: usize = 17;
const TOMBSTONE_LEN: usize = 18;

#[derive(Default)]
pub(crate) struct Stats {
    crc: Crc32c,
    pub(crate) revision: i64,
    pub(crate) total_key: u64,
    in_key_bucket: bool,
    live: HashSet<u128, BuildHasherDefault<Fold>>,
}

impl Stats {
    pub(crate) fn new() -> Self {
        Stats {
            crc: Crc32c::new(),
            ..Default::default()
        }
    }

    pub(crate) fn hash(&self) -> u32 {
        self.crc.sum()
    }

    pub(crate) fn live_keys(&self) -> u64 {
        self.live.len() as u64
    }

    /// Replays one revision of the `key` bucket into the set of live user keys. Revisions come
    /// in order, so the last one of each user key decides whether it is live.
    fn apply(&mut self, rev: &[u8], value: &[u8]) -> Result<(), DbError> {
        let user_key = proto::field1_bytes(value).map_err(|why| {
            DbError::Content(format!(
                "bucket key: revision {}: value is not an mvccpb.KeyValue: {why}",
                rev_name(rev)
            ))
        })?;
        // A 128-bit digest instead of the key keeps the set at 16 bytes per live key whatever
        // the key sizes; a collision among even 10^9 keys has odds near 2^-68.
        let digest = fnv1a128(user_key);
        if rev.len() == TOMBSTONE_LEN && rev.get(REV_LEN) == Some(&b't') {
            self.live.remove(&digest);
        } else {
            self.live.insert(digest);
        }
        Ok(())
    }
}

fn rev_main(rev: &[u8]) -> Option<u64> {
    let b: [u8; 8] = rev.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

fn rev_name(rev: &[u8]) -> String {
    let sub = rev
        .get(9..REV_LEN)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_be_bytes);
    match (rev_main(rev), sub) {
        (Some(m), Some(s)) => format!("{m}_{s}"),
        _ => rev.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

fn fnv1a128(data: &[u8]) -> u128 {
    const BASIS: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    data.iter()
        .fold(BASIS, |h, &b| (h ^ u128::from(b)).wrapping_mul(PRIME))
}

/// The set's keys are already digests: folding them is hash enough, and far cheaper than SipHash.
#[derive(Default)]
struct Fold(u64);

impl Hasher for Fold {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = (v as u64) ^ ((v >> 64) as u64);
    }
}

impl crate::check::Visitor for Stats {
    fn bucket(&mut self, name: &[u8]) -> Result<(), DbError> {
        self.crc.update(name);
        self.in_key_bucket = name == b"key";
        Ok(())
    }

    fn entry(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), DbError> {
        self.crc.update(key);
        // A sub-bucket hashes as its name alone: Go's ForEach hands etcd a nil value for it.
        if let Some(v) = value {
            self.crc.update(v);
        }
        self.total_key += 1;
        if !self.in_key_bucket {
            return Ok(());
        }
        let bad = |why: &str| DbError::Content(format!("bucket key: key {}: {why}", rev_name(key)));
        if key.len() != REV_LEN && key.len() != TOMBSTONE_LEN {
            return Err(bad(&format!(
                "{} bytes is not a revision (17 or 18)",
                key.len()
            )));
        }
        // etcd reads main as u64 and reports it as int64; so do we.
        self.revision = rev_main(key).unwrap_or(0) as i64;
        match value {
            Some(v) => self.apply(key, v),
            None => Err(bad("is a bucket, not a revision")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Visitor;

    fn rev(main: u64, tomb: bool) -> Vec<u8> {
        let mut k = main.to_be_bytes().to_vec();
        k.push(b'_');
        k.extend_from_slice(&0u64.to_be_bytes());
        if tomb {
            k.push(b't');
        }
        k
    }

    fn kv(key: &[u8]) -> Vec<u8> {
        let mut v = vec![0x0a, key.len() as u8];
        v.extend_from_slice(key);
        v
    }

    #[test]
    fn tombstones_delete_and_puts_revive() {
        let mut s = Stats::new();
        s.bucket(b"key").unwrap();
        s.entry(&rev(2, false), Some(&kv(b"a"))).unwrap();
        s.entry(&rev(3, false), Some(&kv(b"b"))).unwrap();
        s.entry(&rev(4, true), Some(&kv(b"a"))).unwrap();
        s.entry(&rev(5, false), Some(&kv(b"b"))).unwrap();
        assert_eq!((s.live_keys(), s.revision, s.total_key), (1, 5, 4));
        s.entry(&rev(6, false), Some(&kv(b"a"))).unwrap();
        assert_eq!(s.live_keys(), 2);
    }

    #[test]
    fn bad_revision_keys_are_errors() {
        let mut s = Stats::new();
        s.bucket(b"key").unwrap();
        let e = s.entry(b"short", Some(b"")).unwrap_err().to_string();
        assert!(e.contains("not a revision"), "{e}");
        let e = s
            .entry(&rev(1, false), Some(&[0x0a, 9]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("revision 1_0"), "{e}");
        // Other buckets take any key.
        s.bucket(b"meta").unwrap();
        s.entry(b"x", Some(b"y")).unwrap();
    }
}
