//! Writing config files so that a crash, a full disk or a killed process never leaves a
//! half-written file behind: temp file in the same directory, fsync, rename over, fsync the
//! directory. Mode and owner are the original's, so etcd still reads its config after we edit
//! it as root. (SELinux labels are not copied: std has no xattr calls; the temp file gets the
//! directory's default label, which for /etc/etcd and /etc/origin is the right one.)

use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A temp file written and synced next to its target, not yet renamed over it. Dropping it
/// without [`StagedWrite::commit`] removes the temp file and leaves the target untouched.
#[derive(Debug)]
pub struct StagedWrite {
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagedWrite {
    /// The file the rename will replace (the symlink's target when given a symlink).
    pub fn target(&self) -> &Path {
        &self.target
    }

    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    pub fn commit(mut self) -> Result<()> {
        fs::rename(&self.tmp, &self.target).map_err(|e| {
            Error::io(
                format!("renaming {} over", self.tmp.display()),
                &self.target,
                e,
            )
        })?;
        self.committed = true;
        let dir = parent_dir(&self.target);
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io("syncing directory", dir, e))
    }
}

impl Drop for StagedWrite {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Replace the contents of `path` atomically (following a symlink: the link stays a link).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    stage_atomic(path, bytes)?.commit()
}

/// [`write_atomic`] with a fixed mode instead of the original's: private keys must end up
/// 0600 even when an operator's copy was group- or world-readable. The owner is still kept.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    stage_atomic_mode(path, bytes, mode)?.commit()
}

/// First half of [`write_atomic`]: everything but the rename.
pub fn stage_atomic(path: &Path, bytes: &[u8]) -> Result<StagedWrite> {
    stage(path, bytes, None)
}

/// First half of [`write_atomic_mode`].
pub fn stage_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<StagedWrite> {
    stage(path, bytes, Some(mode & 0o7777))
}

fn stage(path: &Path, bytes: &[u8], fixed_mode: Option<u32>) -> Result<StagedWrite> {
    let target = resolve_symlinks(path)?;
    let original = match fs::metadata(&target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("reading metadata of", &target, e)),
    };
    let dir = parent_dir(&target);
    let name = target
        .file_name()
        .ok_or_else(|| Error::invalid(format!("{} is not a file path", path.display())))?;
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    // Owner-only until the content is complete; a new file then gets the umask's default,
    // unless the caller fixed the mode (then the umask must not widen or narrow it).
    let mode = if original.is_some() || fixed_mode.is_some() {
        0o600
    } else {
        0o666
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| Error::io("creating temp file in", dir, e))?;
    let staged = StagedWrite {
        tmp,
        target,
        committed: false,
    };
    let tmp = &staged.tmp;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io("writing", tmp, e))?;
    let final_mode = fixed_mode.or(original.as_ref().map(|m| m.mode() & 0o7777));
    if let Some(mode) = final_mode {
        fs::set_permissions(tmp, fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io("setting mode on", tmp, e))?;
    }
    if let Some(m) = original {
        let tm = file
            .metadata()
            .map_err(|e| Error::io("reading metadata of", tmp, e))?;
        if tm.uid() != m.uid() || tm.gid() != m.gid() {
            std::os::unix::fs::chown(tmp, Some(m.uid()), Some(m.gid())).map_err(|e| {
                Error::io(
                    format!("keeping owner {}:{} of", m.uid(), m.gid()),
                    &staged.target,
                    e,
                )
            })?;
        }
    }
    Ok(staged)
}

fn parent_dir(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Follow a chain of symlinks to the file they name, which may not exist yet.
fn resolve_symlinks(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&p).map_err(|e| Error::io("reading symlink", &p, e))?;
                p = parent_dir(&p).join(link);
            }
            Ok(_) => return Ok(p),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(p),
            Err(e) => return Err(Error::io("reading metadata of", &p, e)),
        }
    }
    Err(Error::invalid(format!(
        "{}: too many levels of symbolic links",
        path.display()
    )))
}

/// Copy `path` to `<path>.<YYYY-MM-DD@HH:MM:SS>~` (UTC), like Ansible's backup naming, keeping
/// its mode; never overwrites an existing backup.
pub fn backup(path: &Path) -> Result<PathBuf> {
    let meta = fs::metadata(path).map_err(|e| Error::io("reading metadata of", path, e))?;
    let stamp = utc_stamp(SystemTime::now());
    let mut src = File::open(path).map_err(|e| Error::io("reading", path, e))?;
    for n in 0..100 {
        let suffix = if n == 0 {
            format!(".{stamp}~")
        } else {
            format!(".{stamp}.{n}~")
        };
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let dest = PathBuf::from(name);
        let mut out = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&dest)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("creating backup", &dest, e)),
        };
        io::copy(&mut src, &mut out)
            .and_then(|_| out.sync_all())
            .and_then(|_| {
                fs::set_permissions(&dest, fs::Permissions::from_mode(meta.mode() & 0o7777))
            })
            .map_err(|e| Error::io("writing backup", &dest, e))?;
        // Keeping the owner only works as root; a backup owned by us is still a good backup.
        let _ = std::os::unix::fs::chown(&dest, Some(meta.uid()), Some(meta.gid()));
        return Ok(dest);
    }
    Err(Error::invalid(format!(
        "{}: too many backups in the same second",
        path.display()
    )))
}

/// `YYYY-MM-DD@HH:MM:SS` in UTC.
pub fn utc_stamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = crate::utc::civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}@{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamps() {
        let at = |s| utc_stamp(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01@00:00:00");
        assert_eq!(at(951_782_400), "2000-02-29@00:00:00");
        assert_eq!(at(1_709_164_799), "2024-02-28@23:59:59");
        assert_eq!(at(1_735_689_599), "2024-12-31@23:59:59");
        assert_eq!(at(4_102_444_800), "2100-01-01@00:00:00");
    }
}
