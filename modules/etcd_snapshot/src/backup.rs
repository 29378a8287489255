//! State `backup`: a bundle directory `<path>/<UTC stamp>/` holding a snapshot (as `saved`),
//! copies of the config trees and MANIFEST.json; then retention. The bundle is assembled under
//! a hidden name and renamed when complete, so a bundle with a manifest is a whole one.

use crate::fsutil;
use crate::manifest::{self, Manifest, SnapshotEntry, V2Entry};
use crate::save::{self, SaveReport, Saved};
use crate::v2store;
use ansible_module::{Failure, Response};
use etcd_api::ConnOpts;
use serde::Serialize;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Where the config copies live inside a bundle: `config/etc/etcd/etcd.conf`.
const CONFIG_DIR: &str = "config";

pub struct BackupArgs<'a> {
    pub root: &'a Path,
    /// None for a config-only bundle: the snapshot is taken once, on one member.
    pub conn: Option<&'a ConnOpts>,
    pub config_paths: Vec<PathBuf>,
    pub keep: Option<usize>,
    pub check_mode: bool,
}

#[derive(Serialize)]
struct Removed {
    removed: Vec<PathBuf>,
}

pub fn backup(args: &BackupArgs) -> Result<Response, Failure> {
    let root = args.root;
    // A dry run of a play that creates the directory first sees no directory yet: nothing to
    // prune there, and the bundle would go inside it.
    let planned_dir = args.check_mode && !root.exists();
    if !root.is_dir() && !planned_dir {
        return Err(Failure::new(format!(
            "backup path {} is not a directory: create it first (bundles go inside it)",
            root.display()
        )));
    }
    for p in &args.config_paths {
        if fs::symlink_metadata(p).is_err() {
            return Err(Failure::new(format!(
                "config path {} does not exist: fix config_paths (use [] to back up the \
                 snapshot alone)",
                p.display()
            )));
        }
    }
    let now = SystemTime::now();
    let name = bundle_name(root, now);
    let bundle = root.join(&name);
    let snap_name = save::snapshot_name(now);

    if args.check_mode {
        let doomed = if planned_dir {
            Vec::new()
        } else {
            retention(root, args.keep, None)?
        };
        let Some(conn) = args.conn else {
            return Ok(Response::new()
                .changed(true)
                .msg(format!(
                    "would write bundle {} with copies of {}{}",
                    bundle.display(),
                    list(&args.config_paths),
                    removal_note(&doomed, "would remove")
                ))
                .set("bundle", &bundle)
                .set("removed", &doomed)
                .set("path", &bundle));
        };
        let Saved::Planned(plan) = save::save(conn, &bundle.join(&snap_name), root, true)? else {
            return Err(Failure::new("internal: check mode saved a snapshot"));
        };
        return Ok(Response::new()
            .changed(true)
            .msg(format!(
                "would write bundle {} with a snapshot of ~{} bytes from {} and copies of {}{}",
                bundle.display(),
                plan.db_size,
                plan.endpoint,
                list(&args.config_paths),
                removal_note(&doomed, "would remove")
            ))
            .set("bundle", &bundle)
            .set("removed", &doomed)
            .merge(&plan)
            .set("path", &bundle));
    }

    let partial = root.join(format!(".{name}.partial"));
    let built = build(args, &partial, &snap_name, now);
    let report = match built {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    fs::rename(&partial, &bundle).map_err(|e| {
        let _ = fs::remove_dir_all(&partial);
        Failure::new(format!(
            "renaming {} to {}: {e}",
            partial.display(),
            bundle.display()
        ))
    })?;
    fsutil::sync_dir(root)?;
    let removed = retention(root, args.keep, Some(&bundle))?;
    for dir in &removed {
        fs::remove_dir_all(dir)
            .map_err(|e| Failure::new(format!("removing old bundle {}: {e}", dir.display())))?;
    }
    let what = match &report {
        Some((r, v2)) => format!(
            "snapshot at revision {}, {} bytes, {}and copies of",
            r.revision,
            r.size,
            match v2 {
                Some(e) => format!("the v2 store ({} nodes), ", e.nodes),
                None => String::new(),
            }
        ),
        None => "copies of".to_string(),
    };
    let mut resp = Response::new()
        .changed(true)
        .msg(format!(
            "wrote bundle {} ({what} {}){}",
            bundle.display(),
            list(&args.config_paths),
            removal_note(&removed, "removed")
        ))
        .merge(Removed { removed });
    if let Some((r, v2)) = &report {
        resp = resp
            .merge(r)
            .set("snapshot", bundle.join(&snap_name))
            .set("v2_export", v2.as_ref().map(|e| bundle.join(&e.file)))
            .set("v2_nodes", v2.as_ref().map(|e| e.nodes).unwrap_or(0));
    }
    Ok(resp.set("path", &bundle).set("bundle", &bundle))
}

fn build(
    args: &BackupArgs,
    partial: &Path,
    snap_name: &str,
    now: SystemTime,
) -> Result<Option<(SaveReport, Option<V2Entry>)>, Failure> {
    // The bundle holds private keys: owner-only from the start.
    fs::DirBuilder::new()
        .mode(0o700)
        .create(partial)
        .map_err(|e| Failure::new(format!("creating {}: {e}", partial.display())))?;
    let report = match args.conn {
        Some(conn) => {
            let Saved::Done(r) = save::save(conn, &partial.join(snap_name), args.root, false)?
            else {
                return Err(Failure::new("internal: snapshot planned, not saved"));
            };
            Some(r)
        }
        None => None,
    };
    let v2 = match (&report, args.conn) {
        (Some(r), Some(conn)) => {
            v2store::export(conn, &r.endpoint, partial, &v2store::export_name(snap_name))?
        }
        _ => None,
    };
    for p in &args.config_paths {
        copy_tree(p, partial)?;
    }
    let mut files = Vec::new();
    for rel in manifest::walk_relative(partial) {
        files.push(manifest::describe(partial, &rel)?);
    }
    let field = |f: fn(&SaveReport) -> &String| report.as_ref().map(f).cloned().unwrap_or_default();
    let m = Manifest {
        format: manifest::FORMAT.into(),
        created: confedit::atomic::utc_stamp(now),
        created_ms: fsutil::unix_ms(now),
        etcd_version: field(|r| &r.etcd_version),
        cluster_id: field(|r| &r.cluster_id),
        member_id: field(|r| &r.member_id),
        endpoint: field(|r| &r.endpoint),
        snapshot: report.as_ref().map(|r| SnapshotEntry {
            file: snap_name.to_string(),
            sha256: r.sha256.clone(),
            hash: r.hash,
            revision: r.revision,
            total_key: r.total_key,
            total_size: r.total_size,
        }),
        v2: v2.clone(),
        files,
    };
    let text = serde_json::to_string_pretty(&m)
        .map_err(|e| Failure::new(format!("serializing the manifest: {e}")))?;
    confedit::write_atomic(&partial.join(manifest::FILE), text.as_bytes())
        .map_err(|e| Failure::new(format!("writing the manifest: {e}")))?;
    Ok(report.map(|r| {
        (
            SaveReport {
                path: args.root.join(bundle_leaf(partial)).join(snap_name),
                ..r
            },
            v2,
        )
    }))
}

fn bundle_leaf(partial: &Path) -> String {
    let n = partial
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    n.trim_start_matches('.')
        .trim_end_matches(".partial")
        .to_string()
}

/// Copies `src` (a file or a tree) to `<bundle>/config/<absolute src>`, keeping modes and
/// recording symlinks as symlinks. Directory modes are applied last, deepest first, so a
/// read-only directory does not stop its own copy.
fn copy_tree(src: &Path, bundle: &Path) -> Result<(), Failure> {
    let src = std::path::absolute(src)
        .map_err(|e| Failure::new(format!("resolving {}: {e}", src.display())))?;
    let mut dirs: Vec<(PathBuf, u32)> = Vec::new();
    for item in walkdir::WalkDir::new(&src).follow_links(false) {
        let item = item.map_err(|e| Failure::new(format!("reading {}: {e}", src.display())))?;
        let from = item.path();
        let rel = from.strip_prefix("/").unwrap_or(from);
        let to = bundle.join(CONFIG_DIR).join(rel);
        let md = fs::symlink_metadata(from)
            .map_err(|e| Failure::new(format!("reading {}: {e}", from.display())))?;
        let mode = md.permissions().mode() & 0o7777;
        let err = |what: &str, e: std::io::Error| {
            Failure::new(format!(
                "{what} {} to {}: {e}",
                from.display(),
                to.display()
            ))
        };
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|e| err("making room for", e))?;
        }
        let ft = md.file_type();
        if ft.is_symlink() {
            let target = fs::read_link(from).map_err(|e| err("reading symlink", e))?;
            std::os::unix::fs::symlink(&target, &to).map_err(|e| err("recording symlink", e))?;
        } else if ft.is_dir() {
            fs::create_dir_all(&to).map_err(|e| err("copying directory", e))?;
            dirs.push((to, mode));
        } else if ft.is_file() {
            fs::copy(from, &to).map_err(|e| err("copying", e))?;
            fs::set_permissions(&to, fs::Permissions::from_mode(mode))
                .map_err(|e| err("keeping the mode of", e))?;
        }
        // Sockets and fifos have no content to back up.
    }
    for (dir, mode) in dirs.into_iter().rev() {
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode))
            .map_err(|e| Failure::new(format!("setting mode of {}: {e}", dir.display())))?;
    }
    Ok(())
}

/// `YYYY-MM-DD_HHMMSS`, with `_1`, `_2`... when that second already has a bundle.
fn bundle_name(root: &Path, now: SystemTime) -> String {
    let stamp = fsutil::file_stamp(now);
    let taken = |n: &str| root.join(n).exists() || root.join(format!(".{n}.partial")).exists();
    if !taken(&stamp) {
        return stamp;
    }
    (1..)
        .map(|i| format!("{stamp}_{i}"))
        .find(|n| !taken(n))
        .unwrap_or(stamp)
}

/// The bundles to delete so that `keep` remain, counting a new one (`None`: the one check mode
/// would write). Only directories holding a manifest of ours are candidates.
fn retention(
    root: &Path,
    keep: Option<usize>,
    new: Option<&Path>,
) -> Result<Vec<PathBuf>, Failure> {
    let Some(keep) = keep else {
        return Ok(Vec::new());
    };
    let entries =
        fs::read_dir(root).map_err(|e| Failure::new(format!("listing {}: {e}", root.display())))?;
    let mut bundles: Vec<(u64, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| Some(p.as_path()) != new && p.is_dir())
        .filter_map(|p| manifest::read(&p).ok().map(|m| (m.created_ms, p)))
        .collect();
    bundles.sort();
    // The new bundle is the newest and always kept: it takes one of the `keep` places.
    let older_to_keep = keep.saturating_sub(1);
    let excess = bundles.len().saturating_sub(older_to_keep);
    Ok(bundles.into_iter().take(excess).map(|(_, p)| p).collect())
}

fn list(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "no config paths".into();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn removal_note(dirs: &[PathBuf], verb: &str) -> String {
    if dirs.is_empty() {
        return String::new();
    }
    format!("; {verb} {} older bundle(s)", dirs.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::manifest_of;
    use modtest::TempDir;

    /// A bundle directory of ours, created at `ms`.
    fn bundle(root: &Path, name: &str, ms: u64) -> PathBuf {
        let dir = root.join(name);
        fs::create_dir(&dir).unwrap();
        let m = manifest_of(&dir, ms);
        fs::write(dir.join(manifest::FILE), serde_json::to_string(&m).unwrap()).unwrap();
        dir
    }

    #[test]
    fn retention_keeps_the_newest_counting_the_new_bundle() {
        let t = TempDir::new("retention");
        let root = t.path();
        // Named against their age: retention goes by the manifest's time, not the name.
        let oldest = bundle(root, "c", 100);
        let middle = bundle(root, "a", 200);
        let newer = bundle(root, "b", 300);
        let new = bundle(root, "z", 400);
        // Not ours: never a candidate.
        fs::create_dir(root.join("operator-copy")).unwrap();
        fs::write(root.join("notes.txt"), "").unwrap();

        assert_eq!(
            retention(root, None, Some(&new)).unwrap(),
            Vec::<PathBuf>::new()
        );
        assert_eq!(
            retention(root, Some(2), Some(&new)).unwrap(),
            [oldest.clone(), middle.clone()]
        );
        assert_eq!(
            retention(root, Some(4), Some(&new)).unwrap(),
            Vec::<PathBuf>::new()
        );
        // keep 1 (or 0) leaves only the new one.
        assert_eq!(
            retention(root, Some(1), Some(&new)).unwrap(),
            [oldest.clone(), middle.clone(), newer.clone()]
        );
        assert_eq!(retention(root, Some(0), Some(&new)).unwrap().len(), 3);
        // Check mode: the bundle it would write is not on disk, and still takes a place.
        fs::remove_dir_all(&new).unwrap();
        assert_eq!(retention(root, Some(3), None).unwrap(), [oldest]);
    }
}
