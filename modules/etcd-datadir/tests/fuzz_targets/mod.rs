//! Fuzz targets for the data-dir parsers, shared by the bounded run in `cargo test`
//! (tests/fuzz.rs) and the open-ended example (examples/fuzz.rs). Inputs start from WALs and
//! `.snap` files built as etcd writes them and are mutated where the framing lives (lengths,
//! padding bits, CRCs, varints). A panic is the bug being hunted; on success the numbers must
//! also hang together.

use etcd_datadir::encode::{snap_file, v2_request, v3_put, Encoder};
use etcd_datadir::{snap, v2, wal};
use std::path::Path;

/// splitmix64: small, seedable, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
    pub seeds: fn() -> Vec<Vec<u8>>,
}

pub const TARGETS: &[Target] = &[
    Target {
        name: "wal",
        run: wal_target,
        seeds: wal_seeds,
    },
    Target {
        name: "snap",
        run: snap_target,
        seeds: snap_seeds,
    },
    Target {
        name: "v2",
        run: v2_target,
        seeds: v2_seeds,
    },
];

fn wal_seeds() -> Vec<Vec<u8>> {
    let mut e = Encoder::new(0);
    e.metadata(0x8e9e05c52164694d, 0xcdf818194e3a8c32);
    for i in 1..=6 {
        e.entry(2, i, &v3_put(i, b"key", &vec![b'v'; (i * 37) as usize]));
    }
    e.snapshot(3, 2)
        .entry(2, 7, &v2_request(1, "PUT", "/1/x"))
        .entry(3, 6, b"")
        .state(3, 1, 6);
    let good = e.out.clone();
    e.zeros(700);
    vec![good, e.out]
}

/// The first 2 bytes choose where the input is split into two WAL files (0: one file).
fn wal_target(data: &[u8]) {
    let (split, body) = match data {
        [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
        _ => (0, data),
    };
    let files: Vec<(&str, &[u8])> = if split == 0 || split >= body.len() {
        vec![("0000000000000000-0000000000000000.wal", body)]
    } else {
        let (a, b) = body.split_at(split);
        vec![
            ("0000000000000000-0000000000000000.wal", a),
            ("0000000000000001-0000000000000000.wal", b),
        ]
    };
    let files = files
        .into_iter()
        .map(|(name, reader)| wal::WalFile {
            name: name.to_string(),
            reader,
        })
        .collect();
    if let Ok(w) = wal::read(files) {
        assert_eq!(w.last_entry.is_some(), w.entries > 0, "{w:?}");
        assert!(w.member_id.is_some() && w.cluster_id.is_some());
    }
}

fn snap_seeds() -> Vec<Vec<u8>> {
    vec![
        snap_file(
            2,
            42,
            br#"{"Root":{"Children":{"0":{"Children":{}},"1":{"Children":{"a":{"Value":"x"}}}}}}"#,
        ),
        snap_file(1, 1, b"{}"),
    ]
}

fn snap_target(data: &[u8]) {
    if let Ok(s) = snap::decode(Path::new("fuzz.snap"), data) {
        let _ = s.store.has_user_data();
    }
}

fn v2_seeds() -> Vec<Vec<u8>> {
    vec![
        v2_request(1, "PUT", "/1/foo"),
        v2_request(1, "DELETE", "/0/members/1"),
        v3_put(3, b"a", b"b"),
        br#"{"Root":{"Children":{"1":{"Children":{"d":{"Children":{"k":{"Value":"v"}}}}}}}}"#
            .to_vec(),
    ]
}

fn v2_target(data: &[u8]) {
    let _ = v2::is_user_write(data);
    let _ = v2::summarize_store(data);
}

/// Bytes that matter to these formats: frame padding flags, varint continuation, zero sectors.
const SPECIAL: &[u8] = &[
    0x00, 0x01, 0x02, 0x07, 0x08, 0x0a, 0x12, 0x7f, 0x80, 0x81, 0x87, 0xff,
];

pub fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seeds[rng.below(seeds.len())].clone();
    if rng.below(4) == 0 {
        // A split point for the WAL target.
        let at = rng.below(b.len() + 1) as u16;
        let mut v = at.to_le_bytes().to_vec();
        v.extend_from_slice(&b);
        b = v;
    }
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(b.len() + 1);
        match rng.below(6) {
            0 if at < b.len() => b[at] = SPECIAL[rng.below(SPECIAL.len())],
            1 if at < b.len() => b[at] ^= 1 << rng.below(8),
            2 => b.insert(at, SPECIAL[rng.below(SPECIAL.len())]),
            3 => {
                let end = (at + rng.below(24)).min(b.len());
                b.drain(at..end);
            }
            4 => b.truncate(at),
            _ => {
                let end = (at + 1 + rng.below(512)).min(b.len());
                if at < end {
                    b[at..end].fill(0);
                }
            }
        }
    }
    b
}
