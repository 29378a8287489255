//! A stopped member's directories copied whole before something rewrites them (the survivor's
//! data before force-new-cluster): modes, owners and modification times kept, symlinks kept
//! as symlinks, every file synced. The copy is made under `<dest>.partial` and renamed into
//! place last, so a run cut mid-copy never leaves a `<dest>` that looks complete; the next try
//! under the same name finds the partial copy, removes it (it is ours, never the original) and
//! copies again, and one under a new name removes it through `unfinished`.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{lchown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct CopyError {
    pub what: &'static str,
    pub path: PathBuf,
    pub source: io::Error,
}

impl std::fmt::Display for CopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.what, self.path.display(), self.source)
    }
}

impl std::error::Error for CopyError {}

fn err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CopyError + 'a {
    move |source| CopyError {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Where the copy of `dest` is made until it is complete.
pub fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

/// The unfinished copies in `dir` whose names start with one of `prefixes` (`data-`, say): what
/// runs cut mid-copy left under labels of their own, which no later run would finish or remove.
/// Each may hold a data dir's worth of disk. In the order of `prefixes`, then by name.
pub fn unfinished(dir: &Path, prefixes: &[String]) -> Result<Vec<PathBuf>, CopyError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(err("listing", dir)(e)),
    };
    let mut found = Vec::new();
    for e in entries {
        let e = e.map_err(err("listing", dir))?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        let kind = prefixes.iter().position(|p| name.starts_with(p.as_str()));
        if let (Some(kind), true) = (kind, name.ends_with(".partial")) {
            found.push((kind, e.path()));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, path)| path).collect())
}

/// Removes an unfinished copy (a tree, or a file when the source was one).
pub fn remove_unfinished(partial: &Path) -> Result<(), CopyError> {
    let md = fs::symlink_metadata(partial).map_err(err("reading", partial))?;
    if md.is_dir() {
        fs::remove_dir_all(partial)
    } else {
        fs::remove_file(partial)
    }
    .map_err(err("removing the unfinished copy", partial))
}

/// Copies `src` to `dest` unless `dest` exists (a complete copy from an earlier try): true
/// when it copied.
pub fn copy_once(src: &Path, dest: &Path) -> Result<bool, CopyError> {
    if fs::symlink_metadata(dest).is_ok() {
        return Ok(false);
    }
    let partial = partial_path(dest);
    if fs::symlink_metadata(&partial).is_ok() {
        remove_unfinished(&partial)?;
    }
    copy_tree(src, &partial)?;
    fs::rename(&partial, dest).map_err(err("renaming the finished copy to", dest))?;
    if let Some(parent) = dest.parent() {
        File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(err("syncing", parent))?;
    }
    Ok(true)
}

/// `src` (a directory, a file or a symlink) recreated at `dest`.
fn copy_tree(src: &Path, dest: &Path) -> Result<(), CopyError> {
    let md = fs::symlink_metadata(src).map_err(err("reading", src))?;
    let ft = md.file_type();
    if ft.is_symlink() {
        let target = fs::read_link(src).map_err(err("reading the symlink", src))?;
        std::os::unix::fs::symlink(&target, dest).map_err(err("making the symlink", dest))?;
    } else if ft.is_dir() {
        fs::create_dir(dest).map_err(err("making", dest))?;
        let mut entries: Vec<_> = fs::read_dir(src)
            .map_err(err("listing", src))?
            .collect::<Result<_, _>>()
            .map_err(err("listing", src))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            copy_tree(&e.path(), &dest.join(e.file_name()))?;
        }
    } else if ft.is_file() {
        fs::copy(src, dest).map_err(err("copying to", dest))?;
        let f = File::options()
            .write(true)
            .open(dest)
            .map_err(err("opening", dest))?;
        if let Ok(mtime) = md.modified() {
            f.set_modified(mtime)
                .map_err(err("keeping the time of", dest))?;
        }
        f.sync_all().map_err(err("syncing", dest))?;
    } else {
        // Sockets and fifos hold nothing to keep.
        return Ok(());
    }
    // After the entries: a read-only directory must not stop its own copy.
    lchown(dest, Some(md.uid()), Some(md.gid())).map_err(err("keeping the owner of", dest))?;
    if !ft.is_symlink() {
        fs::set_permissions(dest, fs::Permissions::from_mode(md.mode() & 0o7777))
            .map_err(err("keeping the mode of", dest))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("etcd-datadir-copy-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn member_dir(root: &Path) -> PathBuf {
        let src = root.join("etcd");
        fs::create_dir_all(src.join("member/wal")).unwrap();
        fs::create_dir_all(src.join("member/snap")).unwrap();
        fs::write(
            src.join("member/wal/0000000000000000-0000000000000000.wal"),
            b"wal bytes",
        )
        .unwrap();
        fs::write(src.join("member/snap/db"), vec![7u8; 70_000]).unwrap();
        symlink("snap/db", src.join("member/db-link")).unwrap();
        fs::set_permissions(
            src.join("member/snap/db"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        fs::set_permissions(&src, fs::Permissions::from_mode(0o700)).unwrap();
        // A read-only directory: its own copy still gets its entries.
        fs::set_permissions(src.join("member/wal"), fs::Permissions::from_mode(0o500)).unwrap();
        src
    }

    #[test]
    fn a_copy_keeps_bytes_modes_times_and_links_and_is_made_once() {
        let root = scratch("whole");
        let src = member_dir(&root);
        let dest = root.join("backup/data-before-restore-1");
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        assert!(copy_once(&src, &dest).unwrap());
        let db = fs::read(dest.join("member/snap/db")).unwrap();
        assert_eq!(db, vec![7u8; 70_000]);
        let wal = dest.join("member/wal/0000000000000000-0000000000000000.wal");
        assert_eq!(fs::read(&wal).unwrap(), b"wal bytes");
        let mode = |p: &Path| fs::symlink_metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&dest), 0o700);
        assert_eq!(mode(&dest.join("member/wal")), 0o500);
        assert_eq!(mode(&dest.join("member/snap/db")), 0o600);
        assert_eq!(
            fs::read_link(dest.join("member/db-link")).unwrap(),
            PathBuf::from("snap/db")
        );
        let mtime = |p: &Path| fs::metadata(p).unwrap().modified().unwrap();
        assert_eq!(
            mtime(&wal),
            mtime(&src.join("member/wal/0000000000000000-0000000000000000.wal"))
        );
        assert!(!partial_path(&dest).exists());
        // A second run finds the copy and leaves it alone, even when the source changed since.
        fs::set_permissions(src.join("member/wal"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(src.join("member/snap/db"), b"rewritten").unwrap();
        assert!(!copy_once(&src, &dest).unwrap());
        assert_eq!(fs::read(dest.join("member/snap/db")).unwrap().len(), 70_000);
        fs::set_permissions(dest.join("member/wal"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_copy_cut_short_is_made_again_not_taken_for_complete() {
        let root = scratch("cut");
        let src = member_dir(&root);
        let dest = root.join("data-before-restore-2");
        // What a cut leaves: a partial copy holding part of the tree.
        let partial = partial_path(&dest);
        fs::create_dir_all(partial.join("member/snap")).unwrap();
        fs::write(partial.join("member/snap/db"), b"half").unwrap();
        assert!(copy_once(&src, &dest).unwrap());
        assert_eq!(fs::read(dest.join("member/snap/db")).unwrap().len(), 70_000);
        assert!(!partial.exists());
        fs::set_permissions(src.join("member/wal"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(dest.join("member/wal"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn unfinished_copies_are_found_by_kind_and_removed_whole() {
        let root = scratch("unfinished");
        let data = ["data-".to_string()];
        assert!(unfinished(&root.join("absent"), &data).unwrap().is_empty());
        let tree = root.join("data-before-restore-1.partial");
        fs::create_dir_all(tree.join("member/wal")).unwrap();
        fs::write(tree.join("member/wal/x.wal"), b"half").unwrap();
        fs::set_permissions(tree.join("member/wal"), fs::Permissions::from_mode(0o500)).unwrap();
        let file = root.join("data-before-restore-0.partial");
        fs::write(&file, b"half a file").unwrap();
        // Kept: a finished copy, another kind's unfinished one, a name of someone else's.
        for keep in [
            "data-before-restore-2",
            "wal-before-restore-1.partial",
            "mydata-1.partial",
        ] {
            fs::create_dir_all(root.join(keep)).unwrap();
        }
        let found = unfinished(&root, &data).unwrap();
        assert_eq!(found, [file.clone(), tree.clone()]);
        for p in &found {
            remove_unfinished(p).unwrap();
        }
        assert!(!tree.exists() && !file.exists());
        let mut left: Vec<String> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "data-before-restore-2",
                "mydata-1.partial",
                "wal-before-restore-1.partial"
            ]
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_missing_source_is_an_error_naming_it_and_leaves_nothing() {
        let root = scratch("missing");
        let dest = root.join("data-x");
        let e = copy_once(&root.join("nope"), &dest).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("reading {}", root.join("nope").display())),
            "{e}"
        );
        assert!(!dest.exists());
        fs::remove_dir_all(&root).unwrap();
    }
}
