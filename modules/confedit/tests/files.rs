//! Atomic writes, backups and the shared apply_edit flow, against a real filesystem.

mod common;

use common::{fixture, TempDir};
use confedit::{
    apply_edit, backup, stage_atomic, write_atomic, write_atomic_mode, EditOptions, EnvFile, Error,
};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().mode() & 0o7777
}

fn set_name(name: &'static str) -> impl FnOnce(&str) -> confedit::Result<String> {
    move |text| {
        let mut f = EnvFile::parse(text)?;
        f.set("ETCD_NAME", name)?;
        Ok(f.render())
    }
}

fn running_as_root(dir: &TempDir) -> bool {
    let probe = dir.join(".probe");
    fs::write(&probe, "").unwrap();
    let root = fs::metadata(&probe).unwrap().uid() == 0;
    fs::remove_file(probe).unwrap();
    root
}

#[test]
fn write_keeps_mode_and_owner() {
    let dir = TempDir::new("mode");
    let p = dir.join("etcd.conf");
    fs::write(&p, "A=1\n").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
    let as_root = running_as_root(&dir);
    if as_root {
        std::os::unix::fs::chown(&p, Some(12345), Some(23456)).unwrap();
    }
    write_atomic(&p, b"A=2\n").unwrap();
    assert_eq!(fs::read_to_string(&p).unwrap(), "A=2\n");
    assert_eq!(mode(&p), 0o640);
    if as_root {
        let m = fs::metadata(&p).unwrap();
        assert_eq!((m.uid(), m.gid()), (12345, 23456));
    }
    // Only the file itself is left: no temp files.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn write_with_fixed_mode_overrides_original_mode_and_umask() {
    let dir = TempDir::new("fixedmode");
    let existing = dir.join("server.key");
    fs::write(&existing, "old").unwrap();
    fs::set_permissions(&existing, fs::Permissions::from_mode(0o644)).unwrap();
    write_atomic_mode(&existing, b"new", 0o600).unwrap();
    assert_eq!(fs::read_to_string(&existing).unwrap(), "new");
    assert_eq!(mode(&existing), 0o600);

    let fresh = dir.join("peer.key");
    write_atomic_mode(&fresh, b"key", 0o600).unwrap();
    assert_eq!(mode(&fresh), 0o600);
    let cert = dir.join("peer.crt");
    write_atomic_mode(&cert, b"cert", 0o644).unwrap();
    assert_eq!(mode(&cert), 0o644);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3);
}

#[test]
fn write_through_symlink_keeps_the_link() {
    let dir = TempDir::new("link");
    let real = dir.join("real.conf");
    let link = dir.join("etcd.conf");
    fs::write(&real, "A=1\n").unwrap();
    std::os::unix::fs::symlink("real.conf", &link).unwrap();
    write_atomic(&link, b"A=2\n").unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_to_string(&real).unwrap(), "A=2\n");
}

#[test]
fn interrupted_write_leaves_original_intact() {
    let dir = TempDir::new("crash");
    let p = dir.join("etcd.conf");
    fs::write(&p, "A=1\n").unwrap();
    let staged = stage_atomic(&p, b"A=2\n").unwrap();
    let tmp = staged.temp_path().to_path_buf();
    assert_eq!(tmp.parent(), p.parent());
    // A crash between write and rename: no destructor runs.
    std::mem::forget(staged);
    assert_eq!(fs::read_to_string(&p).unwrap(), "A=1\n");
    assert_eq!(fs::read_to_string(&tmp).unwrap(), "A=2\n");
    fs::remove_file(&tmp).unwrap();
    // An abandoned (dropped) write cleans up its temp file.
    let staged = stage_atomic(&p, b"A=3\n").unwrap();
    let tmp = staged.temp_path().to_path_buf();
    drop(staged);
    assert!(!tmp.exists());
    assert_eq!(fs::read_to_string(&p).unwrap(), "A=1\n");
}

#[test]
fn unwritable_directory_fails_clearly_and_keeps_original() {
    let dir = TempDir::new("ro");
    let p = dir.join("etcd.conf");
    fs::write(&p, "ETCD_NAME=a\n").unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores directory permissions; /proc refuses new files even to root.
    let (target, original) = if running_as_root(&dir) {
        let p = Path::new("/proc/version").to_path_buf();
        let text = fs::read_to_string(&p).unwrap();
        (p, text)
    } else {
        (p, "ETCD_NAME=a\n".to_string())
    };
    let e = write_atomic(&target, b"ETCD_NAME=b\n").unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("creating temp file in "), "{msg}");
    assert!(matches!(e, Error::Io { .. }));
    assert_eq!(fs::read_to_string(&target).unwrap(), original);
}

#[test]
fn backup_name_content_and_mode() {
    let dir = TempDir::new("backup");
    let p = dir.join("etcd.conf");
    fs::write(&p, "A=1\n").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    let b1 = backup(&p).unwrap();
    let b2 = backup(&p).unwrap();
    assert_ne!(
        b1, b2,
        "a second backup in the same second must not overwrite the first"
    );
    let name = b1.file_name().unwrap().to_str().unwrap();
    // etcd.conf.YYYY-MM-DD@HH:MM:SS~
    let stamp = name
        .strip_prefix("etcd.conf.")
        .unwrap()
        .strip_suffix('~')
        .unwrap();
    assert_eq!(stamp.len(), 19, "{name}");
    assert!(
        stamp.chars().enumerate().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == '@',
            13 | 16 => c == ':',
            _ => c.is_ascii_digit(),
        }),
        "{name}"
    );
    assert_eq!(fs::read_to_string(&b1).unwrap(), "A=1\n");
    assert_eq!(mode(&b1), 0o600);
}

#[test]
fn apply_edit_writes_backs_up_and_reports_diff() {
    let dir = TempDir::new("apply");
    let p = dir.join("etcd.conf");
    let original = fixture("etcd-ocp311.conf");
    fs::write(&p, &original).unwrap();
    let opts = EditOptions {
        backup: true,
        ..Default::default()
    };
    let out = apply_edit(&p, &opts, EnvFile::validate, set_name("master-9")).unwrap();
    assert!(out.changed && !out.created);
    assert_eq!(out.before, original);
    assert_eq!(
        out.after,
        original.replace("ETCD_NAME=master-0.example.com", "ETCD_NAME=master-9")
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), out.after);
    let b = out.backup_file.clone().unwrap();
    assert_eq!(fs::read_to_string(b).unwrap(), original);
    let diff = out.diff();
    assert_eq!(diff["before_header"], p.display().to_string());
    assert_eq!(diff["after"], out.after);
}

#[test]
fn unchanged_edit_does_not_touch_the_file() {
    let dir = TempDir::new("same");
    let p = dir.join("etcd.conf");
    fs::write(&p, "ETCD_NAME=a\n").unwrap();
    let past = SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(past)
        .unwrap();
    let opts = EditOptions {
        backup: true,
        ..Default::default()
    };
    let out = apply_edit(&p, &opts, EnvFile::validate, set_name("a")).unwrap();
    assert!(!out.changed);
    assert_eq!(out.backup_file, None);
    assert_eq!(fs::metadata(&p).unwrap().modified().unwrap(), past);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn check_mode_writes_nothing() {
    let dir = TempDir::new("check");
    let p = dir.join("etcd.conf");
    fs::write(&p, "ETCD_NAME=a\n").unwrap();
    let opts = EditOptions {
        check_mode: true,
        backup: true,
        ..Default::default()
    };
    let out = apply_edit(&p, &opts, EnvFile::validate, set_name("b")).unwrap();
    assert!(out.changed);
    assert_eq!(out.after, "ETCD_NAME=b\n");
    assert_eq!(fs::read_to_string(&p).unwrap(), "ETCD_NAME=a\n");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn missing_file_is_an_error_unless_create() {
    let dir = TempDir::new("missing");
    let p = dir.join("etcd.conf");
    let e = apply_edit(
        &p,
        &EditOptions::default(),
        EnvFile::validate,
        set_name("a"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "reading {}: No such file or directory (os error 2)",
            p.display()
        )
    );
    let opts = EditOptions {
        create: true,
        ..Default::default()
    };
    let out = apply_edit(&p, &opts, EnvFile::validate, set_name("a")).unwrap();
    assert!(out.changed && out.created);
    assert_eq!(fs::read_to_string(&p).unwrap(), "ETCD_NAME=a\n");
}

#[test]
fn bad_files_and_bad_edits_are_refused_with_the_path() {
    let dir = TempDir::new("refuse");
    let p = dir.join("etcd.conf");
    fs::write(&p, b"ETCD_NAME=a\n\0\x01\x02").unwrap();
    let e = apply_edit(
        &p,
        &EditOptions::default(),
        EnvFile::validate,
        set_name("b"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: line 2: NUL byte: this is not a text file", p.display())
    );

    fs::write(&p, "ETCD_NAME=a\nETCD_NAME=b\n").unwrap();
    let e = apply_edit(
        &p,
        &EditOptions::default(),
        EnvFile::validate,
        set_name("c"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}: ETCD_NAME set twice: lines 1 and 2", p.display())
    );

    // An edit whose result would not parse is never written.
    fs::write(&p, "ETCD_NAME=a\n").unwrap();
    let e = apply_edit(&p, &EditOptions::default(), EnvFile::validate, |t| {
        Ok(format!("{t}BROKEN=\"\n"))
    })
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("does not parse: line 2: unterminated double quote"),
        "{e}"
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), "ETCD_NAME=a\n");
}
