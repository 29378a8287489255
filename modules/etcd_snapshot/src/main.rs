//! etcd_snapshot: the procedures' "take a backup", "check the backup" and "restore the data
//! dir" steps. `saved` and `backup` talk to one healthy member; `verified` and `restored` work
//! on files only and need no cluster.

use ansible_module::{run, Failure, Kind, Module, ModuleSpec, Opt, Response};
use etcd_api::{connection_options, ConnOpts};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

mod backup;
mod fsutil;
mod manifest;
mod restore;
mod save;
mod v2store;
mod verify;

fn spec() -> ModuleSpec {
    // The cluster is needed only to take a snapshot: verifying and restoring are file work.
    let conn = connection_options().into_iter().map(|o| Opt {
        required: false,
        ..o
    });
    ModuleSpec::new(
        "etcd_snapshot",
        "Save, verify and restore etcd snapshots; write and prune backup \
                bundles",
    )
    .options(conn)
    .option(
        Opt::str("state")
            .doc("What to do with I(path).")
            .default("saved")
            .choices(["saved", "verified", "restored", "backup", "v2_restored"])
            .help("what to do with path"),
    )
    .option(
        Opt::path("path")
            .doc(
                "C(saved): the snapshot file, or an existing directory to hold \
                C(snapshot_<UTC YYYY-MM-DD_HHMMSS>.db).\nC(verified): a snapshot \
                file, a raw database copy or a backup bundle \
                directory.\nC(restored): the snapshot file or a backup bundle \
                directory.\nC(backup): the directory holding the \
                bundles.\nC(v2_restored): a v2 store export \
                (C(<snapshot>.v2.json) of a bundle) to put into the cluster's v2 \
                store.",
            )
            .required()
            .help(
                "snapshot file (or directory for a new one, or a backup bundle); \
                backup root for backup; the v2 export for v2_restored",
            ),
    )
    .option(
        Opt::path("data_dir")
            .doc(
                "C(restored): the member's data dir (ETCD_DATA_DIR). Ends with \
                mode 0700.",
            )
            .help("restored: the member's data dir"),
    )
    .option(
        Opt::str("name")
            .doc("C(restored): the member's name (ETCD_NAME).")
            .help("restored: the member's name"),
    )
    .option(
        Opt::raw("initial_cluster")
            .doc(
                "C(restored): the new cluster, as etcd takes it \
                (C(name=url,name=url)), as a list of C(name=url), or as a dict of name \
                to peer URL (or list of peer URLs).",
            )
            .help("restored: name=url,..., a list of name=url, or a dict name: url"),
    )
    .option(
        Opt::str("initial_cluster_token")
            .doc(
                "C(restored): the new cluster's token; with the peer URLs it \
                decides the member ids.",
            )
            .default("etcd-cluster")
            .help("restored: the new cluster's token"),
    )
    .option(
        Opt::list("initial_advertise_peer_urls", Kind::Str)
            .doc(
                "C(restored): this member's peer URLs; default, its URLs in \
                I(initial_cluster).",
            )
            .help(
                "restored: this member's peer URLs (default: its URLs in \
                initial_cluster)",
            ),
    )
    .option(
        Opt::bool("skip_hash_check")
            .doc(
                "C(restored): restore a file without a sha256 trailer (a raw \
                C(member/snap/db) copy) without verifying it.",
            )
            .default(false)
            .help("restored: restore a file without a sha256 trailer, unverified"),
    )
    .option(
        Opt::bool("force")
            .doc(
                "C(restored): move a non-empty I(data_dir) aside to \
                C(<data_dir>.<stamp>.bak) (never deleted) instead of failing.",
            )
            .default(false)
            .help("restored: move a non-empty data_dir aside (never deleted)"),
    )
    .option(
        Opt::list("config_paths", Kind::Path)
            .doc("C(backup): files and directory trees copied into the bundle.")
            .default(vec!["/etc/etcd"])
            .help("backup: files and trees copied into the bundle"),
    )
    .option(
        Opt::int("keep")
            .doc(
                "C(backup): keep this many bundles in I(path), the new one \
                included; older ones written by this module are deleted.",
            )
            .help("backup: bundles to keep in path, the new one included"),
    )
    .option(
        Opt::bool("snapshot")
            .doc(
                "C(backup): include a snapshot of the cluster in the \
                bundle.\nFalse writes a config-only bundle (no endpoints \
                needed), for the hosts other than the one the snapshot is taken \
                from.",
            )
            .default(true)
            .help(
                "backup: include a snapshot (false: config_paths alone, for the \
                hosts other than the one the snapshot comes from)",
            ),
    )
    .describe(
        "endpoints",
        "Client URLs, C(https://host:2379); required for C(saved), \
                C(v2_restored) and for C(backup) with I(snapshot=true); \
                C(v2_restored) writes through the first. The snapshot comes from \
                the first healthy one.",
    )
    .describe(
        "timeout",
        "Seconds allowed for each endpoint's answer and for each chunk of \
                the snapshot stream.",
    )
    .required_if("state", "saved", &["endpoints"], false)
    .required_if("state", "v2_restored", &["endpoints"], false)
    .required_if(
        "state",
        "restored",
        &["data_dir", "name", "initial_cluster"],
        false,
    )
}

fn main() {
    run(spec(), |m| {
        let path = m.params.path("path").unwrap_or_default();
        match m.params.str("state").unwrap_or("saved") {
            "verified" => verify::verify(&path),
            "restored" => restore::restore(&restore_args(m, path)),
            "v2_restored" => v2store::restore(&conn(m)?, &path, m.check_mode()),
            "backup" => {
                let conn = match m.params.bool("snapshot") {
                    true => Some(conn(m).map_err(|e| {
                        Failure::new(format!(
                            "a backup with a snapshot needs endpoints ({}); snapshot: false backs up config_paths alone",
                            e.msg
                        ))
                    })?),
                    false => None,
                };
                backup::backup(&backup_args(m, &path, conn.as_ref())?)
            }
            _ => saved(m, &path),
        }
    })
}

fn conn(m: &Module) -> Result<ConnOpts, Failure> {
    ConnOpts::from_params(&m.params)
}

/// A new snapshot every time: `saved` always reports a change, except as a dry run.
fn saved(m: &Module, path: &Path) -> Result<Response, Failure> {
    let conn = conn(m)?;
    let file = save::target_file(path, SystemTime::now());
    let dir = save::parent_dir(&file)?;
    match save::save(&conn, &file, &dir, m.check_mode())? {
        save::Saved::Planned(plan) => Ok(Response::new()
            .changed(true)
            .msg(format!(
                "would save a snapshot of ~{} bytes from {} to {}",
                plan.db_size,
                plan.endpoint,
                file.display()
            ))
            .merge(&plan)),
        save::Saved::Done(report) => Ok(Response::new()
            .changed(true)
            .msg(format!(
                "saved a snapshot of {} ({} bytes, revision {}) from {} to {} in {} ms",
                report.cluster_id,
                report.size,
                report.revision,
                report.endpoint,
                report.path.display(),
                report.took_ms
            ))
            .merge(&report)),
    }
}

fn restore_args(m: &Module, snapshot: PathBuf) -> restore::RestoreArgs {
    let p = &m.params;
    restore::RestoreArgs {
        snapshot,
        data_dir: p.path("data_dir").unwrap_or_default(),
        name: p.string("name").unwrap_or_default(),
        initial_cluster: p.get("initial_cluster").cloned().unwrap_or_default(),
        token: p.string("initial_cluster_token").unwrap_or_default(),
        peer_urls: p.strings("initial_advertise_peer_urls"),
        skip_hash_check: p.bool("skip_hash_check"),
        force: p.bool("force"),
        check_mode: m.check_mode(),
    }
}

fn backup_args<'a>(
    m: &Module,
    root: &'a Path,
    conn: Option<&'a ConnOpts>,
) -> Result<backup::BackupArgs<'a>, Failure> {
    let keep = match m.params.int("keep") {
        None => None,
        Some(k) if k >= 1 => Some(k as usize),
        Some(k) => {
            return Err(Failure::new(format!(
                "keep must be at least 1 (the new bundle is always kept), not {k}"
            )))
        }
    };
    Ok(backup::BackupArgs {
        root,
        conn,
        config_paths: m
            .params
            .strings("config_paths")
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        keep,
        check_mode: m.check_mode(),
    })
}
