//! Small filesystem helpers the states share: free space, file hashes, UTC stamps.

use openssl::sha::Sha256;
use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::SystemTime;

/// The leading fields of `struct statvfs`, identical in glibc and musl on 64-bit Linux; the
/// padding covers the rest of either layout, so the C call never writes past our buffer.
#[repr(C)]
struct StatVfs {
    f_bsize: u64,
    f_frsize: u64,
    f_blocks: u64,
    f_bfree: u64,
    f_bavail: u64,
    _rest: [u64; 16],
}

// std links the C library already (musl, statically); declaring the one call we need avoids a
// `libc` dependency for a single function.
extern "C" {
    fn statvfs(path: *const std::ffi::c_char, buf: *mut StatVfs) -> std::ffi::c_int;
}

/// Bytes an unprivileged writer may still use on the filesystem holding `dir`.
pub fn free_bytes(dir: &Path) -> Result<u64, String> {
    let c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| format!("{} contains a NUL byte", dir.display()))?;
    let mut buf = StatVfs {
        f_bsize: 0,
        f_frsize: 0,
        f_blocks: 0,
        f_bfree: 0,
        f_bavail: 0,
        _rest: [0; 16],
    };
    // SAFETY: `c` is a valid NUL-terminated string and `buf` is larger than struct statvfs.
    let rc = unsafe { statvfs(c.as_ptr(), &mut buf) };
    if rc != 0 {
        return Err(format!(
            "statvfs {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        ));
    }
    let unit = if buf.f_frsize > 0 {
        buf.f_frsize
    } else {
        buf.f_bsize
    };
    Ok(buf.f_bavail.saturating_mul(unit))
}

/// Refuses when `dir` has less room than `needed` plus 10%, naming both numbers.
pub fn check_space(dir: &Path, needed: u64) -> Result<(), String> {
    let want = needed.saturating_add(needed / 10);
    // A directory a dry run has not created yet will live on its nearest existing ancestor.
    let existing = dir.ancestors().find(|d| d.exists()).unwrap_or(dir);
    let free = free_bytes(existing)?;
    if free < want {
        return Err(format!(
            "not enough space in {}: {free} bytes free, a snapshot of the member's {needed}-byte \
             database needs {want} (its size plus 10%)",
            dir.display()
        ));
    }
    Ok(())
}

/// sha256 of a whole file, hex, read in 1 MiB chunks.
pub fn sha256_file(path: &Path) -> Result<String, String> {
    let mut f = File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
    }
    Ok(etcd_api::snapshot::hex(&sha.finish()))
}

/// `YYYY-MM-DD_HHMMSS` in UTC, as openshift's cluster-backup.sh names snapshots.
pub fn file_stamp(t: SystemTime) -> String {
    confedit::atomic::utc_stamp(t)
        .replace('@', "_")
        .replace(':', "")
}

/// Milliseconds since the epoch, for ordering bundles made within the same second.
pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn sync_dir(dir: &Path) -> Result<(), String> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("syncing directory {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn stamps_read_like_cluster_backup_sh() {
        let t = UNIX_EPOCH + Duration::from_secs(1_709_164_799);
        assert_eq!(file_stamp(t), "2024-02-28_235959");
    }

    #[test]
    fn free_space_of_tmp_is_known() {
        assert!(free_bytes(Path::new("/tmp")).unwrap() > 0);
        assert!(free_bytes(Path::new("/nonexistent/dir"))
            .unwrap_err()
            .contains("No such file"));
    }
}
