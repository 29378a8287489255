//! A member's data set aside so etcd starts it empty (a host re-added to a re-formed cluster, a
//! new member on a reused host, a removed member): kept, never deleted, and never while an etcd
//! still has it open.
//!
//! A data dir is usually moved whole, to `<data_dir>.<label>` beside it. A data dir that is a
//! mount point (a dedicated disk at /var/lib/etcd, as etcd's hardware guide advises) cannot be
//! renamed (EBUSY), and beside it is another filesystem: there its entries move into
//! `<data_dir>/etcd-ops-aside.<label>`, on the same disk, and the mount point stays. etcd warns
//! about that directory at start and ignores it; nothing here counts it as data.

use crate::locks;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Directories inside a data dir that hold data set aside earlier.
pub const INSIDE_PREFIX: &str = "etcd-ops-aside.";

/// Whether an entry of a data dir is etcd's data: not a filesystem's `lost+found`, not data
/// set aside inside it.
pub fn is_data_entry(name: &str) -> bool {
    name != "lost+found" && !name.starts_with(INSIDE_PREFIX)
}

/// Where one directory's data goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Nothing of etcd's there (missing, empty, only `lost+found` or earlier asides).
    Nothing,
    /// The whole directory renamed to `to`, an empty one made in its place.
    Whole { to: PathBuf },
    /// A mount point: `entries` moved into `to`, a directory inside it.
    Inside { to: PathBuf, entries: Vec<String> },
}

/// What was (or, in check mode, would be) moved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Moved {
    pub from: PathBuf,
    pub to: PathBuf,
    /// The entries moved, when a mount point kept its place; empty when the directory moved.
    pub entries: Vec<String>,
}

#[derive(Debug)]
#[non_exhaustive]
pub enum AsideError {
    /// An etcd has the WAL open: its locks are held. The caller says what it left undone.
    Busy {
        dir: PathBuf,
        file: PathBuf,
        pid: u32,
    },
    Io {
        what: String,
        path: PathBuf,
        source: io::Error,
    },
    Move {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
}

impl std::fmt::Display for AsideError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AsideError::Busy { dir, file, pid } => write!(
                f,
                "an etcd still runs on {}: {} is locked{}; stop it first",
                dir.display(),
                file.display(),
                if *pid > 0 {
                    format!(" by pid {pid}")
                } else {
                    String::new()
                }
            ),
            AsideError::Io { what, path, source } => {
                write!(f, "{what} {}: {source}", path.display())
            }
            AsideError::Move { from, to, source } => {
                write!(f, "moving {} to {}: {source}", from.display(), to.display())
            }
        }
    }
}

impl std::error::Error for AsideError {}

fn io_err(what: &str, path: &Path) -> impl FnOnce(io::Error) -> AsideError {
    let (what, path) = (what.to_string(), path.to_path_buf());
    move |source| AsideError::Io { what, path, source }
}

/// The entries of `dir` that are etcd's data, sorted; none when it is missing.
pub fn data_entries(dir: &Path) -> Result<Vec<String>, AsideError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("reading", dir)(e)),
    };
    let mut names = Vec::new();
    for e in rd {
        let name = e
            .map_err(io_err("reading", dir))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if is_data_entry(&name) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// `base`, or `base.1`, `base.2`, ...: the first that does not exist, so nothing kept is
/// overwritten.
fn free_path(base: PathBuf) -> PathBuf {
    (0..)
        .map(|i| {
            if i == 0 {
                base.clone()
            } else {
                let mut s = base.clone().into_os_string();
                s.push(format!(".{i}"));
                PathBuf::from(s)
            }
        })
        .find(|p| fs::symlink_metadata(p).is_err())
        .unwrap_or(base)
}

/// Whether `dir` is a mount point, from /proc/self/mountinfo (a bind mount of a directory of
/// the same filesystem too, which a device comparison would miss).
pub fn is_mount_point(dir: &Path) -> bool {
    let Ok(real) = fs::canonicalize(dir) else {
        return false;
    };
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| Path::new(&unescape_mountinfo(m)) == real)
}

/// mountinfo writes space, tab, newline and backslash in a path as `\ooo` octal.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) if b[i] == b'\\' => {
                out.push(d.iter().fold(0u8, |n, c| n.wrapping_mul(8) + (c - b'0')));
                i += 4;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where `dir`'s data would go, `label` naming the place (`before-restore-<stamp>`).
pub fn plan(dir: &Path, label: &str, mount_point: bool) -> Result<Plan, AsideError> {
    let entries = data_entries(dir)?;
    if entries.is_empty() {
        return Ok(Plan::Nothing);
    }
    if mount_point {
        return Ok(Plan::Inside {
            to: free_path(dir.join(format!("{INSIDE_PREFIX}{label}"))),
            entries,
        });
    }
    let mut beside = dir.as_os_str().to_owned();
    beside.push(format!(".{label}"));
    Ok(Plan::Whole {
        to: free_path(PathBuf::from(beside)),
    })
}

/// The WAL files under `dirs` (each a WAL dir, or a data dir's `member/wal`), for the lock check.
fn wal_files(dirs: &[&Path]) -> Vec<PathBuf> {
    dirs.iter()
        .flat_map(|d| [d.to_path_buf(), d.join("member/wal")])
        .filter_map(|d| fs::read_dir(d).ok())
        .flat_map(|rd| rd.flatten().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect()
}

/// Refuses while an etcd holds a lock on a WAL file under any of `dirs`.
pub fn refuse_if_open(dirs: &[&Path]) -> Result<(), AsideError> {
    let files = wal_files(dirs);
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let Some(h) = locks::held_on(&refs).into_iter().next() else {
        return Ok(());
    };
    let file = files
        .iter()
        .find(|f| fs::metadata(f).is_ok_and(|m| (m.dev(), m.ino()) == (h.dev, h.ino)))
        .cloned()
        .unwrap_or_default();
    let dir = dirs
        .iter()
        .find(|d| file.starts_with(d))
        .map_or_else(PathBuf::new, |d| d.to_path_buf());
    Err(AsideError::Busy {
        dir,
        file,
        pid: h.pid,
    })
}

/// The empty directory etcd starts from: mode 0700, `owner` (uid, gid) when given, else the
/// old directory's. An existing directory is only given its mode and owner.
pub fn make_empty(dir: &Path, owner: Option<(u32, u32)>) -> Result<(), AsideError> {
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err("creating", dir)(e)),
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(io_err("setting mode 0700 on", dir))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))
            .map_err(io_err(&format!("giving to {uid}:{gid}"), dir))?;
    }
    Ok(())
}

/// Carries out `plan` on `dir`: a rename the kernel refuses because `dir` is a mount point
/// (EBUSY) falls back to moving its entries inside. The parent (or `dir`) is synced, so the
/// move survives a crash.
pub fn apply(dir: &Path, label: &str, plan: Plan) -> Result<Option<Moved>, AsideError> {
    match plan {
        Plan::Nothing => Ok(None),
        Plan::Whole { to } => match fs::rename(dir, &to) {
            Ok(()) => {
                sync_dir(to.parent().unwrap_or(Path::new("/")));
                Ok(Some(Moved {
                    from: dir.to_path_buf(),
                    to,
                    entries: Vec::new(),
                }))
            }
            Err(e) if e.raw_os_error() == Some(16) || e.raw_os_error() == Some(18) => {
                // EBUSY (a mount point mountinfo did not show) or EXDEV.
                let inside = self::plan(dir, label, true)?;
                apply(dir, label, inside)
            }
            Err(source) => Err(AsideError::Move {
                from: dir.to_path_buf(),
                to,
                source,
            }),
        },
        Plan::Inside { to, entries } => {
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&to)
                .map_err(io_err("creating", &to))?;
            for name in &entries {
                let from = dir.join(name);
                fs::rename(&from, to.join(name)).map_err(|source| AsideError::Move {
                    from,
                    to: to.join(name),
                    source,
                })?;
            }
            sync_dir(&to);
            sync_dir(dir);
            Ok(Some(Moved {
                from: dir.to_path_buf(),
                to,
                entries,
            }))
        }
    }
}

fn sync_dir(dir: &Path) {
    // A failed fsync of a directory leaves the rename done, only not yet durable.
    if let Ok(f) = fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tmp(PathBuf);
    impl Tmp {
        fn new(tag: &str) -> Tmp {
            let p = std::env::temp_dir().join(format!("aside-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            Tmp(p)
        }
    }
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn nothing_of_etcds_means_nothing_moved() {
        let t = Tmp::new("nothing");
        let d = t.0.join("etcd");
        assert_eq!(plan(&d, "x", false).unwrap(), Plan::Nothing);
        fs::create_dir_all(d.join("lost+found")).unwrap();
        fs::create_dir_all(d.join(format!("{INSIDE_PREFIX}old"))).unwrap();
        assert_eq!(plan(&d, "x", false).unwrap(), Plan::Nothing);
        assert_eq!(plan(&d, "x", true).unwrap(), Plan::Nothing);
    }

    #[test]
    fn a_plain_data_dir_moves_whole_beside_and_never_over_an_earlier_one() {
        let t = Tmp::new("whole");
        let d = t.0.join("etcd");
        fs::create_dir_all(d.join("member/wal")).unwrap();
        fs::write(d.join("member/wal/0.wal"), b"old").unwrap();
        fs::create_dir_all(t.0.join("etcd.before-x")).unwrap();
        let p = plan(&d, "before-x", false).unwrap();
        assert_eq!(
            p,
            Plan::Whole {
                to: t.0.join("etcd.before-x.1")
            }
        );
        let moved = apply(&d, "before-x", p).unwrap().unwrap();
        assert_eq!(moved.to, t.0.join("etcd.before-x.1"));
        assert_eq!(fs::read(moved.to.join("member/wal/0.wal")).unwrap(), b"old");
        assert!(!d.exists());
        make_empty(&d, None).unwrap();
        assert_eq!(fs::metadata(&d).unwrap().mode() & 0o7777, 0o700);
        assert_eq!(plan(&d, "before-x", false).unwrap(), Plan::Nothing);
    }

    #[test]
    fn a_mount_point_keeps_its_place_and_its_entries_move_inside() {
        let t = Tmp::new("inside");
        let d = t.0.join("etcd");
        fs::create_dir_all(d.join("member/snap")).unwrap();
        fs::create_dir_all(d.join("lost+found")).unwrap();
        fs::write(d.join("member/snap/db"), b"db").unwrap();
        let p = plan(&d, "before-y", true).unwrap();
        let to = d.join(format!("{INSIDE_PREFIX}before-y"));
        assert_eq!(
            p,
            Plan::Inside {
                to: to.clone(),
                entries: vec!["member".into()]
            }
        );
        let moved = apply(&d, "before-y", p).unwrap().unwrap();
        assert_eq!(moved.entries, ["member"]);
        assert_eq!(fs::read(to.join("member/snap/db")).unwrap(), b"db");
        assert!(d.join("lost+found").is_dir() && !d.join("member").exists());
        // Done: what is left is not data, so a second call moves nothing.
        assert_eq!(plan(&d, "before-y", true).unwrap(), Plan::Nothing);
    }

    #[test]
    fn an_open_wal_refuses_the_move() {
        let t = Tmp::new("busy");
        let d = t.0.join("etcd");
        fs::create_dir_all(d.join("member/wal")).unwrap();
        let wal = d.join("member/wal/0000000000000000-0000000000000000.wal");
        fs::write(&wal, b"x").unwrap();
        assert!(refuse_if_open(&[&d]).is_ok());
        let f = modtest::hold_lock(&wal);
        let e = refuse_if_open(&[&d]).unwrap_err().to_string();
        assert!(
            e.contains("an etcd still runs on") && e.contains("0000.wal is locked by pid"),
            "{e}"
        );
        drop(f);
        assert!(refuse_if_open(&[&d]).is_ok());
    }

    #[test]
    fn mountinfo_paths_are_unescaped_and_root_is_a_mount_point() {
        assert_eq!(
            unescape_mountinfo(r"/var/lib/my\040etcd"),
            "/var/lib/my etcd"
        );
        assert_eq!(unescape_mountinfo(r"/a\\b"), r"/a\\b");
        assert!(is_mount_point(Path::new("/")));
        let t = Tmp::new("mnt");
        assert!(!is_mount_point(&t.0));
    }
}
