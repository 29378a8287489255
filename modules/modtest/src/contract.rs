//! The behaviour every file-editing module promises (check and diff mode, backups, metadata
//! kept, bad input refused with the file untouched), asserted once for all of them.

use crate::{run, running_as_root, snapshot, TempDir};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// `args` edit the file at `path`, alone in `dir`, into `after`. Check mode with diff and
/// backup writes nothing (not even the backup) and shows both texts with the path as headers;
/// the real run then leaves a backup holding the old bytes.
pub fn check_diff_and_backup(bin: &str, dir: &TempDir, path: &Path, args: &Value, after: &str) {
    let snap = snapshot(path);
    let before = String::from_utf8(snap.0.clone()).unwrap();
    let mut a = args.clone();
    a["_ansible_check_mode"] = json!(true);
    a["_ansible_diff"] = json!(true);
    a["backup"] = json!(true);
    let out = run(bin, &a).ok();
    assert!(out.changed());
    assert_eq!(snapshot(path), snap);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    let header = path.display().to_string();
    assert_eq!(
        out.json["diff"],
        json!({"before": before, "after": after, "before_header": header, "after_header": header})
    );
    a["_ansible_check_mode"] = json!(false);
    let out = run(bin, &a).ok();
    let backup = out.json["backup_file"].as_str().unwrap();
    assert_eq!(fs::read_to_string(backup).unwrap(), before);
}

/// An edit through a symlink: `real` gets `mode` (and, as root, owner `ids`), `link` points at
/// it through `link_target` (relative or absolute), `args` name `link`. The link stays a link,
/// the real file gets the edit (`golden` of its old text) and keeps its mode and owner.
pub struct ThroughSymlink<'a> {
    pub real: &'a Path,
    pub link: &'a Path,
    pub link_target: &'a Path,
    pub mode: u32,
    pub ids: (u32, u32),
    pub args: Value,
}

pub fn mode_owner_and_symlink_kept(
    bin: &str,
    case: ThroughSymlink,
    golden: impl Fn(&str) -> String,
) {
    fs::set_permissions(case.real, fs::Permissions::from_mode(case.mode)).unwrap();
    let as_root = running_as_root();
    if as_root {
        std::os::unix::fs::chown(case.real, Some(case.ids.0), Some(case.ids.1)).unwrap();
    }
    std::os::unix::fs::symlink(case.link_target, case.link).unwrap();
    let before = fs::read_to_string(case.real).unwrap();
    run(bin, &case.args).ok();
    assert!(fs::symlink_metadata(case.link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_to_string(case.real).unwrap(), golden(&before));
    let m = fs::metadata(case.real).unwrap();
    assert_eq!(m.mode() & 0o7777, case.mode);
    if as_root {
        assert_eq!((m.uid(), m.gid()), case.ids);
    }
}

/// Each case writes its content to `dir/name` and runs `args_for(path, extra)`: the run fails
/// with a message starting with the expected one (`{p}` stands for the path), the file keeps
/// its bytes and mtime, and no temp file is left in `dir`.
pub fn bad_input_leaves_the_file_alone<E: AsRef<str>>(
    bin: &str,
    dir: &TempDir,
    name: &str,
    cases: Vec<(&str, Vec<u8>, Value, E)>,
    args_for: impl Fn(&Path, Value) -> Value,
) {
    for (what, content, extra, expected) in cases {
        let p = dir.join(name);
        fs::write(&p, &content).unwrap();
        let before = snapshot(&p);
        let msg = run(bin, &args_for(&p, extra)).err();
        let expected = expected.as_ref().replace("{p}", &p.display().to_string());
        assert!(
            msg.starts_with(&expected),
            "{what}:\n got {msg}\nwant {expected}"
        );
        assert_eq!(snapshot(&p), before, "{what}: file touched");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "{what}: temp file left"
        );
    }
}
