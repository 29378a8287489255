//! Who holds a lock on a file, from /proc/locks: etcd holds one on each WAL file it has open
//! (an OFD lock, or flock where OFD locks are missing), so a held lock means an etcd still runs
//! on that data dir, whatever started it (a unit, a static pod, a shell).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// One held lock of /proc/locks: `1: FLOCK ADVISORY WRITE 1234 00:19:5678 0 EOF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// As the reader's pid namespace sees it (0 or -1, read as 0, when it cannot: an OFD lock).
    pub pid: u32,
    /// The file's `st_dev`, decoded from /proc/locks' hex major:minor as the kernel encodes it.
    pub dev: u64,
    pub ino: u64,
}

/// A held lock on one line of /proc/locks; none for a process waiting for one (`1: -> ...`).
pub fn parse(line: &str) -> Option<Held> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.get(1) == Some(&"->") {
        return None;
    }
    let mut fields = fields.into_iter().skip(4);
    let pid = fields.next()?.parse::<i64>().ok()?.max(0) as u32;
    let mut id = fields.next()?.split(':');
    let major = u64::from_str_radix(id.next()?, 16).ok()?;
    let minor = u64::from_str_radix(id.next()?, 16).ok()?;
    let ino = id.next()?.parse().ok()?;
    let dev = (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12);
    Some(Held { pid, dev, ino })
}

/// The locks held on any of `files` (files that cannot be read hold none).
pub fn held_on(files: &[&Path]) -> Vec<Held> {
    let ids: Vec<(u64, u64)> = files
        .iter()
        .filter_map(|f| fs::metadata(f).ok())
        .map(|m| (m.dev(), m.ino()))
        .collect();
    if ids.is_empty() {
        return Vec::new();
    }
    fs::read_to_string("/proc/locks")
        .unwrap_or_default()
        .lines()
        .filter_map(parse)
        .filter(|h| ids.contains(&(h.dev, h.ino)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_proc_locks_are_read_and_waiters_skipped() {
        assert_eq!(
            parse("1: FLOCK  ADVISORY  WRITE 1234 00:19:5678 0 EOF"),
            Some(Held {
                pid: 1234,
                dev: 0x19,
                ino: 5678
            })
        );
        // An OFD lock has no owning pid; a device with a wide minor encodes as the kernel does.
        assert_eq!(
            parse("2: OFDLCK ADVISORY  WRITE -1 103:102:42 0 EOF"),
            Some(Held {
                pid: 0,
                dev: 0x02 | (0x103 << 8) | (0x100 << 12),
                ino: 42
            })
        );
        assert_eq!(
            parse("1: -> FLOCK  ADVISORY  WRITE 99 00:19:5678 0 EOF"),
            None
        );
        assert_eq!(parse("garbage"), None);
    }

    #[test]
    fn a_lock_this_process_holds_is_found_and_an_unlocked_file_has_none() {
        let dir = std::env::temp_dir().join(format!("etcd-datadir-locks-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.wal"), dir.join("b.wal"));
        fs::write(&a, b"x").unwrap();
        fs::write(&b, b"x").unwrap();
        let f = modtest::hold_lock(&a);
        let held = held_on(&[&a, &b]);
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(held[0].ino, fs::metadata(&a).unwrap().ino());
        assert!(held_on(&[&b]).is_empty());
        drop(f);
        assert!(held_on(&[&a]).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
