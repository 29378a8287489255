//! State `saved`: one member's snapshot, streamed, checked against etcd's trailer, then read
//! back with the native reader so the numbers returned are those of the file on disk.

use crate::fsutil;
use ansible_module::{Context, Failure};
use etcd_api::snapshot::{self, Source};
use etcd_api::{block_on, ConnOpts};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

#[derive(Debug, Clone, Serialize)]
pub struct SaveReport {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub hash: u32,
    pub revision: i64,
    pub total_key: u64,
    pub total_size: u64,
    pub endpoint: String,
    pub member_id: String,
    pub cluster_id: String,
    pub etcd_version: String,
    pub took_ms: u64,
}

/// What `--check` learns: where the snapshot would come from and roughly how big it would be.
#[derive(Debug, Clone, Serialize)]
pub struct SavePlan {
    pub path: PathBuf,
    pub endpoint: String,
    pub member_id: String,
    pub cluster_id: String,
    pub etcd_version: String,
    pub db_size: u64,
}

pub enum Saved {
    Planned(SavePlan),
    Done(SaveReport),
}

/// A directory gets `snapshot_<UTC stamp>.db` inside it, as cluster-backup.sh names them.
pub fn target_file(path: &Path, now: SystemTime) -> PathBuf {
    if path.is_dir() {
        path.join(snapshot_name(now))
    } else {
        path.to_path_buf()
    }
}

pub fn snapshot_name(now: SystemTime) -> String {
    format!("snapshot_{}.db", fsutil::file_stamp(now))
}

/// Takes the snapshot into `dest`; `space_dir` is where free space is measured (the
/// destination's directory, or for a bundle not yet created, the directory that will hold it).
pub fn save(
    conn: &ConnOpts,
    dest: &Path,
    space_dir: &Path,
    check_mode: bool,
) -> Result<Saved, Failure> {
    block_on(async {
        let source = snapshot::pick_source(conn).await?;
        fsutil::check_space(space_dir, source.db_size)?;
        if check_mode {
            return Ok(Saved::Planned(plan(&source, dest)));
        }
        let started = Instant::now();
        let saved = snapshot::save(&source, conn, dest).await?;
        let took_ms = started.elapsed().as_millis() as u64;
        let status = etcd_db::status(dest).with_context(|| {
            format!(
                "the snapshot saved to {} matches etcd's sha256 but fails verification",
                dest.display()
            )
        })?;
        Ok::<Saved, Failure>(Saved::Done(SaveReport {
            path: saved.path,
            size: saved.size,
            sha256: saved.sha256,
            hash: status.hash,
            revision: status.revision,
            total_key: status.total_key,
            total_size: status.total_size,
            endpoint: source.endpoint,
            member_id: source.member_id,
            cluster_id: source.cluster_id,
            etcd_version: source.etcd_version,
            took_ms,
        }))
    })?
}

fn plan(source: &Source, dest: &Path) -> SavePlan {
    SavePlan {
        path: dest.to_path_buf(),
        endpoint: source.endpoint.clone(),
        member_id: source.member_id.clone(),
        cluster_id: source.cluster_id.clone(),
        etcd_version: source.etcd_version.clone(),
        db_size: source.db_size,
    }
}

/// The directory a file will be written into must exist: say which one is missing.
pub fn parent_dir(file: &Path) -> Result<PathBuf, Failure> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Failure::new(format!(
            "cannot save to {}: directory {} does not exist",
            file.display(),
            dir.display()
        )));
    }
    Ok(dir)
}
