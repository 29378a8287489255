//! The WAL decoder on logs built record by record with [`crate::encode`].

use crate::encode::{v2_request, v3_put, Encoder};
use crate::error::{Corruption, WalError};
use crate::wal::{self, HardState, LogId, Wal, WalFile};

fn files(parts: &[&[u8]]) -> Vec<WalFile<&'static [u8]>> {
    parts
        .iter()
        .enumerate()
        .map(|(i, b)| WalFile {
            name: format!("{i:016x}-0000000000000000.wal"),
            reader: Vec::leak(b.to_vec()) as &[u8],
        })
        .collect()
}

fn read(parts: &[&[u8]]) -> Result<Wal, WalError> {
    wal::read(files(parts))
}

/// metadata, entries 1..=n (term 2), HardState commit n.
fn simple(n: u64) -> Encoder {
    let mut e = Encoder::new(0);
    e.metadata(0x8e9e05c52164694d, 0xcdf818194e3a8c32);
    for i in 1..=n {
        e.entry(2, i, &v3_put(i, b"k", b"v"));
    }
    e.state(2, 0x8e9e05c52164694d, n);
    e
}

#[test]
fn good_log_over_two_files() {
    let mut a = simple(3);
    a.snapshot(2, 2);
    let mut b = Encoder::new(a.crc());
    b.entry(3, 4, b"").state(3, 7, 4).zeros(4096);
    let w = read(&[&a.out, &b.out]).unwrap();
    assert_eq!(w.member_id, Some(0x8e9e05c52164694d));
    assert_eq!(w.cluster_id, Some(0xcdf818194e3a8c32));
    assert_eq!(
        w.hardstate,
        Some(HardState {
            term: 3,
            vote: 7,
            commit: 4
        })
    );
    assert_eq!(w.last_entry, Some(LogId { index: 4, term: 3 }));
    assert_eq!(w.snapshots, [LogId { index: 2, term: 2 }]);
    assert_eq!((w.entries, w.overwritten), (4, 0));
    assert_eq!(
        w.torn, None,
        "zero padding is preallocated space, not a torn write"
    );
    assert_eq!(w.files.len(), 2);
}

#[test]
fn later_entries_replace_same_index_ones() {
    let mut e = simple(5);
    e.entry(3, 4, &v2_request(1, "PUT", "/1/x"))
        .entry(3, 5, b"")
        .entry(3, 6, b"")
        .state(3, 1, 6);
    let w = read(&[&e.out]).unwrap();
    assert_eq!(w.last_entry, Some(LogId { index: 6, term: 3 }));
    assert_eq!(w.overwritten, 2, "indexes 4 and 5 were replaced");
    assert_eq!(w.v2_writes, [4]);
    // A shorter new log: the last entry is the new one, even at a lower index.
    let mut e = simple(5);
    e.entry(4, 3, b"");
    assert_eq!(
        read(&[&e.out]).unwrap().last_entry,
        Some(LogId { index: 3, term: 4 })
    );
}

#[test]
fn replaced_v2_writes_are_dropped() {
    let mut e = simple(2);
    e.entry(2, 3, &v2_request(1, "PUT", "/1/a"))
        .entry(2, 4, &v2_request(2, "PUT", "/0/version"))
        .entry(3, 3, b"");
    let w = read(&[&e.out]).unwrap();
    assert!(w.v2_writes.is_empty(), "{:?}", w.v2_writes);
}

#[test]
fn torn_last_record_ends_the_log() {
    let good = simple(3);
    let cut_at = good.out.len();
    let mut e = simple(3);
    e.entry(2, 4, &[7u8; 600]);
    // Cut inside the last record: a short read in the last file.
    let short = &e.out[..cut_at + 100];
    let w = read(&[short]).unwrap();
    let t = w.torn.expect("torn");
    assert_eq!(t.offset, cut_at as u64);
    assert_eq!(w.last_entry, Some(LogId { index: 3, term: 2 }));
    assert_eq!(w.hardstate.unwrap().commit, 3);
    // The record's length is there but a whole sector of it never reached the disk.
    let mut zeroed = e.out.clone();
    let end = zeroed.len();
    zeroed[end - 520..end].fill(0);
    let w = read(&[&zeroed]).unwrap();
    assert_eq!(w.torn.unwrap().offset, cut_at as u64);
    assert_eq!(w.last_entry, Some(LogId { index: 3, term: 2 }));
    // A frame cut short.
    let w = read(&[&e.out[..cut_at + 5]]).unwrap();
    assert!(w.torn.is_some());
}

#[test]
fn crc_mismatch_mid_log_is_corruption() {
    let mut e = simple(3);
    let at = e.out.len();
    e.entry(2, 4, b"some data here")
        .entry(2, 5, b"")
        .state(2, 0, 5);
    let mut bad = e.out.clone();
    // A byte of entry 4's data (inside its record, after the 8-byte frame).
    let pos = bad[at..].windows(4).position(|w| w == b"some").unwrap() + at;
    bad[pos] ^= 0x01;
    match read(&[&bad]) {
        Err(WalError::Corrupt {
            offset,
            what: Corruption::CrcMismatch { .. },
            ..
        }) => assert_eq!(offset, at as u64),
        other => panic!("expected a CRC mismatch, got {other:?}"),
    }
    // The same damage in an earlier file, even on its last record.
    let next = Encoder::new(e.crc());
    assert!(matches!(
        read(&[&bad[..], &next.out]),
        Err(WalError::Corrupt {
            what: Corruption::CrcMismatch { .. },
            ..
        })
    ));
}

#[test]
fn short_record_in_an_earlier_file_is_corruption() {
    let mut e = simple(3);
    e.entry(2, 4, &[1u8; 100]);
    let next = Encoder::new(e.crc());
    let cut = &e.out[..e.out.len() - 10];
    assert!(matches!(
        read(&[cut, &next.out]),
        Err(WalError::Corrupt {
            what: Corruption::Truncated,
            ..
        })
    ));
}

#[test]
fn broken_chain_between_files() {
    let a = simple(2);
    let mut b = Encoder::new(a.crc() ^ 1);
    b.entry(2, 3, b"");
    assert!(matches!(
        read(&[&a.out, &b.out]),
        Err(WalError::Corrupt {
            what: Corruption::CrcChainBroken { .. },
            ..
        })
    ));
}

#[test]
fn other_defects() {
    // A frame longer than etcd accepts.
    let mut e = simple(1);
    e.out.extend_from_slice(&(11u64 << 20).to_le_bytes());
    e.out.extend_from_slice(&[1; 64]);
    assert!(matches!(
        read(&[&e.out]),
        Err(WalError::Corrupt {
            what: Corruption::TooLarge(_),
            ..
        })
    ));
    // A second, different metadata record.
    let mut e = simple(1);
    e.metadata(1, 2);
    assert!(matches!(
        read(&[&e.out]),
        Err(WalError::Corrupt {
            what: Corruption::MetadataConflict,
            ..
        })
    ));
    // An unknown record type.
    let mut e = simple(1);
    e.record(9, b"x");
    assert!(matches!(
        read(&[&e.out]),
        Err(WalError::Corrupt {
            what: Corruption::UnknownType(9),
            ..
        })
    ));
    // No metadata at all.
    let mut e = Encoder::new(0);
    e.entry(1, 1, b"");
    assert!(matches!(read(&[&e.out]), Err(WalError::NoMetadata)));
}

#[test]
fn names_and_directory_listing() {
    assert_eq!(
        wal::parse_name("0000000000000001-00000000000000a0.wal"),
        Some((1, 0xa0))
    );
    for bad in [
        "0.tmp",
        "0000000000000001-00000000000000a0.wal.broken",
        "1-2.wal",
    ] {
        assert_eq!(wal::parse_name(bad), None, "{bad}");
    }
    let dir = std::env::temp_dir().join(format!("etcd-datadir-walnames-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let a = simple(2);
    let mut b = Encoder::new(a.crc());
    b.entry(2, 3, b"").state(2, 0, 3);
    std::fs::write(dir.join("0000000000000000-0000000000000000.wal"), &a.out).unwrap();
    std::fs::write(dir.join("0000000000000001-0000000000000003.wal"), &b.out).unwrap();
    std::fs::write(dir.join("0.tmp"), vec![0xff; 64]).unwrap();
    let w = wal::read_dir(&dir).unwrap();
    assert_eq!(w.files.len(), 2, "0.tmp is not read");
    assert_eq!(w.hardstate.unwrap().commit, 3);
    std::fs::write(dir.join("0000000000000003-0000000000000009.wal"), &b.out).unwrap();
    assert!(matches!(
        wal::read_dir(&dir),
        Err(WalError::SequenceGap { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
