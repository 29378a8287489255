//! etcd_data: the facts a restore needs from data dirs, read from the files themselves.
//!
//! A module of its own, not a state of etcd_snapshot: etcd_snapshot works on snapshot files
//! and talks to a live cluster (it links the gRPC client); this reads a member's data dir (WAL,
//! raft snapshots, bbolt meta) while etcd is down, and decides on the controller which member
//! to re-form the cluster from. Neither needs a connection, so the binary stays small and can
//! run where no etcd answers.
//!
//! - `inspected`: one data dir's numbers (read-only, `changed: false`, check mode the same).
//! - `ranked`: the survivor choice over every host's `inspected` result (or running member's
//!   status); pure computation, meant for `delegate_to: localhost`.
//! - `commit_synced`: the one write, on the survivor with etcd stopped, before
//!   force-new-cluster: the entries its backend applied recorded as committed in its WAL (see
//!   etcd_datadir::commit), so the re-formed cluster keeps every acknowledged write.
//! - `emptied`: a member's data set aside (kept) and an empty data dir made, so etcd starts
//!   it as a new member; a mount point keeps its place (etcd_datadir::aside).
//! - `copied`: the survivor's data, WAL and config dirs backed up whole, each renamed into
//!   place only once complete (etcd_datadir::copy).

use ansible_module::{run, Failure, Module, ModuleSpec, Opt, Response};
use etcd_datadir::aside::{self, Plan};
use etcd_datadir::rank::{self, Options};
use etcd_datadir::DataDirError;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

mod owner;

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "etcd_data",
        "Inspect an etcd data dir offline; choose the member to re-form a \
                cluster from",
    )
    .option(
        Opt::str("state")
            .doc(
                "C(inspected): read I(data_dir). C(ranked): choose a survivor \
                among I(candidates).\nC(commit_synced): the one state that \
                writes, on the survivor with etcd stopped, before \
                C(--force-new-cluster): etcd applies only committed entries, but \
                does not sync a HardState whose only change is the commit, so a \
                killed member's WAL can say less than its backend applied \
                (C(consistent_index)); force-new-cluster keeps the log only up \
                to the WAL's commit and the acknowledged writes after it would \
                reach no re-added member. One HardState record with C(commit = \
                min(consistent_index, last entry)) is appended at the log's \
                clean end, CRC-chained as etcd writes it, and read back. A torn \
                last record is first cut off as etcd's own repair cuts it at start \
                (the file copied to C(<file>.broken), then truncated where the \
                torn frame begins; C(repaired) says where), so the record lands \
                at a clean end; a damaged log is refused with nothing written. \
                Check mode says what it would write.\nC(emptied): a member \
                that must start empty (re-added to a re-formed cluster, a new \
                member on a reused host, a removed one): what I(data_dir) and \
                I(wal_dir) hold is set aside, kept, never deleted, and I(data_dir) \
                is left empty, mode 0700, owned by I(owner) (the WAL dir is left \
                for etcd to make: it renames C(<wal_dir>.tmp) into place, so \
                its parent must be etcd's to write). A data dir is renamed \
                to C(<data_dir>.<label>) (C(.1), C(.2) ... after it when that \
                exists); one that is a mount point (a dedicated disk, which \
                cannot be renamed and has another filesystem beside it) keeps \
                its place and its entries move into C(<data_dir>/etcd-ops-aside.<label>) \
                on the same disk. C(lost+found) and earlier asides are not data: \
                a data dir holding only those is left as it is (C(changed=false) \
                when its mode and owner are right too), so a re-run moves nothing \
                twice. A I(wal_dir) that is a mount point is refused (etcd removes \
                the WAL dir with all it holds to make a new one there). Refused, \
                with nothing moved, while a process holds a lock \
                on a WAL file there (an etcd still runs on it). C(moved_aside) \
                lists what moved where.\nC(copied): the survivor's backup, with etcd \
                stopped, before force-new-cluster rewrites its membership: I(data_dir), \
                I(wal_dir) when apart and I(config_dir) copied whole into \
                I(backup_dir) (made 0700 when missing) as C(data-<label>), \
                C(wal-<label>) and C(config-<label>), modes, owners, times and \
                symlinks kept, every file synced. Each is copied under \
                C(<name>.partial) and renamed when complete, so a run cut mid-copy \
                leaves no copy that looks whole: the next run with the same I(label) \
                copies it again, and one already complete is left as it is. Unfinished \
                copies of the same kinds that runs under other labels left \
                (C(data-*.partial), ...) are removed when copying: nothing would ever \
                finish them, and each may hold a data dir's worth of disk. Refused, \
                with nothing copied, while a process holds a lock on a WAL file there \
                (a copy of a running member is not consistent). C(copied) lists what \
                was copied where, C(removed_unfinished) the unfinished copies removed.",
            )
            .default("inspected")
            .choices(["inspected", "ranked", "commit_synced", "emptied", "copied"])
            .help(
                "inspected: read data_dir; ranked: choose a survivor among \
                candidates; commit_synced: record in data_dir's WAL the entries \
                its backend applied as committed; emptied: set data_dir's data \
                aside and leave it empty; copied: back data_dir, wal_dir and \
                config_dir up into backup_dir",
            ),
    )
    .option(
        Opt::path("data_dir")
            .doc(
                "C(inspected), C(commit_synced), C(emptied): the member's data dir \
                (ETCD_DATA_DIR, usually C(/var/lib/etcd)). Required for these.",
            )
            .help("the member's data dir (usually /var/lib/etcd)"),
    )
    .option(
        Opt::path("wal_dir")
            .doc(
                "C(inspected), C(emptied): the WAL directory (ETCD_WAL_DIR) when \
                it is not C(<data_dir>/member/wal).",
            )
            .help("the WAL dir if not <data_dir>/member/wal"),
    )
    .option(
        Opt::str("label")
            .doc(
                "C(emptied), C(copied): names the place the data goes, \
                C(before-restore-<stamp>) say. Required for these.",
            )
            .help("emptied, copied: the aside's or the copies' name (<data_dir>.<label>)"),
    )
    .option(
        Opt::path("backup_dir")
            .doc("C(copied): where the copies go. Required for C(copied).")
            .help("copied: where the copies go"),
    )
    .option(
        Opt::path("config_dir")
            .doc(
                "C(copied): etcd's config directory (the one holding etcd.conf and the \
                certificates), copied as C(config-<label>).",
            )
            .help("copied: etcd's config dir, copied too"),
    )
    .option(
        Opt::str("owner")
            .doc(
                "C(emptied): the user (name or uid) the empty data dir and WAL dir \
                belong to; default, the owner the data dir had (root when it \
                did not exist).",
            )
            .help("emptied: the empty data dir's owner (default: the old one's)"),
    )
    .option(
        Opt::str("group")
            .doc("C(emptied): the group (name or gid); default, I(owner)'s name as a group.")
            .help("emptied: the empty data dir's group (default: owner's)"),
    )
    .option(
        Opt::raw("candidates")
            .doc(
                "C(ranked): one entry per host. Either a list of dicts C({host, \
                data, status}), or a dict of host name to C({data, status}) or \
                straight to a registered C(inspected) result.\nC(data): an \
                C(inspected) result (a failed one, C(failed: true), excludes the \
                host with its C(msg)). C(status): a running member's status, as \
                etcd_health reports each endpoint (C(member_id), C(raft_index), \
                C(raft_applied_index), C(is_learner)) or as an element of \
                C(etcdctl endpoint status -w json). With both, the one that \
                keeps more counts.\nRequired for C(ranked).",
            )
            .help(
                "ranked: list of {host, data|status} or dict of host to an \
                inspected result",
            ),
    )
    .option(
        Opt::str("cluster_id")
            .doc(
                "C(ranked): the cluster id (hex, as etcd prints it) every \
                survivor must have; default, the id held by more than half of \
                the candidates that have one (none: the task fails and asks for \
                it).",
            )
            .help("ranked: the cluster id (hex) candidates must have"),
    )
    .option(
        Opt::str("survivor")
            .doc(
                "C(ranked): the operator's choice of host. Honoured when \
                eligible, even if it is behind (C(behind), C(overridden) say \
                so); refused when excluded unless I(force).",
            )
            .help("ranked: the operator's choice, honoured if eligible"),
    )
    .option(
        Opt::bool("force")
            .doc(
                "C(ranked): accept an excluded I(survivor) (a learner, another \
                cluster's or a damaged data dir).",
            )
            .default(false)
            .help(
                "ranked: accept a survivor that is excluded (learner, foreign, \
                damaged)",
            ),
    )
    .required_if("state", "inspected", &["data_dir"], false)
    .required_if("state", "commit_synced", &["data_dir"], false)
    .required_if("state", "ranked", &["candidates"], false)
    .required_if("state", "emptied", &["data_dir", "label"], false)
    .required_if(
        "state",
        "copied",
        &["data_dir", "label", "backup_dir"],
        false,
    )
}

fn main() {
    run(spec(), |m| {
        match m.params.str("state").unwrap_or("inspected") {
            "ranked" => ranked(m),
            "commit_synced" => commit_synced(m),
            "emptied" => emptied(m),
            "copied" => copied(m),
            _ => inspected(m),
        }
    })
}

fn kind(e: &DataDirError) -> &'static str {
    match e {
        DataDirError::Missing { .. } => "missing",
        DataDirError::Empty { .. } => "empty",
        DataDirError::Unreadable { .. } => "unreadable",
        DataDirError::NotDataDir { .. } => "not_data_dir",
        _ => "other",
    }
}

fn inspected(m: &Module) -> Result<Response, Failure> {
    let data_dir = m.params.path("data_dir").unwrap_or_default();
    let wal_dir = m.params.path("wal_dir");
    let d = etcd_datadir::inspect(&data_dir, wal_dir.as_deref()).map_err(|e| {
        Failure::new(e.to_string())
            .with("data_dir", data_dir.display().to_string())
            .with("error_kind", kind(&e))
    })?;
    let summary = match (&d.member_id, d.hardstate, d.kept_index) {
        (Some(id), Some(hs), Some(kept)) => format!(
            "member {id}: WAL commit {} (term {}), consistent_index {}, keeps {kept}{}",
            hs.commit,
            hs.term,
            d.consistent_index
                .map_or_else(|| "unknown".to_string(), |c| c.to_string()),
            if d.errors.is_empty() {
                String::new()
            } else {
                format!("; damaged: {}", d.errors.join("; "))
            }
        ),
        _ if !d.errors.is_empty() => format!("damaged: {}", d.errors.join("; ")),
        _ => "no commit recorded in this data dir".to_string(),
    };
    let mut r = Response::new().changed(false).msg(summary).merge(&d);
    for w in &d.warnings {
        r.warn(w.clone());
    }
    Ok(r)
}

/// etcd must be stopped on the data dir: the playbook calls this after stopping it.
fn commit_synced(m: &Module) -> Result<Response, Failure> {
    let data_dir = m.params.path("data_dir").unwrap_or_default();
    let wal_dir = m.params.path("wal_dir");
    let d = etcd_datadir::inspect(&data_dir, wal_dir.as_deref()).map_err(|e| {
        Failure::new(e.to_string())
            .with("data_dir", data_dir.display().to_string())
            .with("error_kind", kind(&e))
    })?;
    if !d.errors.is_empty() {
        return Err(Failure::new(format!(
            "{} is damaged, nothing was written: {}",
            data_dir.display(),
            d.errors.join("; ")
        )));
    }
    let r = etcd_datadir::commit::sync_commit(&d.wal_dir, d.consistent_index, m.check_mode())
        .map_err(|e| Failure::new(format!("{}: {e}", d.wal_dir.display())))?;
    let mut msg = if r.after > r.before {
        format!(
            "{} the WAL's commit from {} to {}: the entries the backend applied (consistent_index {}) \
             were committed, and force-new-cluster keeps the log only up to the commit",
            if m.check_mode() { "would raise" } else { "raised" },
            r.before,
            r.after,
            d.consistent_index.unwrap_or(0)
        )
    } else {
        format!(
            "the WAL's commit {} already covers what the backend applied",
            r.before
        )
    };
    if let Some(t) = &r.repaired {
        msg.push_str(&format!(
            "; {} the torn write at the end of {} (offset {}) as etcd does at start, the file kept as {}.broken",
            if m.check_mode() { "would cut off" } else { "cut off" },
            t.file,
            t.offset,
            t.file
        ));
    }
    Ok(Response::new().changed(r.changed).msg(msg).merge(&r))
}

fn ranked(m: &Module) -> Result<Response, Failure> {
    let p = &m.params;
    let cands =
        rank::candidates_from_value(p.get("candidates").unwrap_or(&serde_json::Value::Null))
            .map_err(|e| Failure::new(format!("candidates: {e}")))?;
    let cluster_id = p
        .str("cluster_id")
        .filter(|s| !s.is_empty())
        .map(|s| {
            u64::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|_| {
                Failure::new(format!(
                    "cluster_id {s:?} is not a hex id like cdf818194e3a8c32"
                ))
            })
        })
        .transpose()?;
    let opts = Options {
        cluster_id,
        survivor: p.string("survivor").filter(|s| !s.is_empty()),
        force: p.bool("force"),
    };
    let r = rank::rank(&cands, &opts).map_err(|e| match &e {
        rank::RankError::SurvivorExcluded { host, reason } => Failure::new(e.to_string())
            .with("survivor", host)
            .with("excluded_reason", reason),
        rank::RankError::NoEligible(ex) => Failure::new(e.to_string()).with("excluded", ex),
        _ => Failure::new(e.to_string()),
    })?;
    let mut resp = Response::new()
        .changed(false)
        .msg(r.reason.clone())
        .merge(&r);
    for w in &r.warnings {
        resp.warn(w.clone());
    }
    Ok(resp)
}

/// The data dir, the WAL dir when it lives apart (one inside the data dir goes with it), and
/// the checked label, as `emptied` and `copied` take them.
fn dirs_and_label(m: &Module) -> Result<(PathBuf, Option<PathBuf>, String), Failure> {
    let p = &m.params;
    let data_dir = p.path("data_dir").unwrap_or_default();
    let label = p.str("label").unwrap_or_default().to_string();
    if label.is_empty() || label.contains('/') {
        return Err(Failure::new(format!(
            "label {label:?} must be a non-empty name without '/'"
        )));
    }
    let wal_dir = p
        .path("wal_dir")
        .filter(|w| !w.as_os_str().is_empty() && !w.starts_with(&data_dir));
    Ok((data_dir, wal_dir, label))
}

/// Refuses while an etcd holds a lock on a WAL file in these dirs, saying what was `undone`.
fn refuse_if_running(data_dir: &Path, wal_dir: Option<&Path>, undone: &str) -> Result<(), Failure> {
    let dirs: Vec<&Path> = std::iter::once(data_dir).chain(wal_dir).collect();
    aside::refuse_if_open(&dirs)
        .map_err(|e| Failure::new(format!("{e} ({undone})")).with("data_dir", data_dir))
}

/// etcd must be stopped: a lock held on a WAL file there refuses the task before anything moves.
fn emptied(m: &Module) -> Result<Response, Failure> {
    let p = &m.params;
    let (data_dir, wal_dir, label) = dirs_and_label(m)?;
    let label = label.as_str();
    let dirs: Vec<&Path> = std::iter::once(data_dir.as_path())
        .chain(wal_dir.as_deref())
        .collect();
    let fail = |e: aside::AsideError| Failure::new(e.to_string()).with("data_dir", &data_dir);
    refuse_if_running(&data_dir, wal_dir.as_deref(), "nothing was moved")?;
    let owner = match p.str("owner").filter(|o| !o.is_empty()) {
        Some(user) => Some(
            owner::resolve(user, p.str("group").filter(|g| !g.is_empty())).map_err(Failure::new)?,
        ),
        None => std::fs::metadata(&data_dir)
            .ok()
            .map(|md| (md.uid(), md.gid())),
    };
    let mounted: Vec<bool> = dirs.iter().map(|d| aside::is_mount_point(d)).collect();
    // `dirs` is the data dir, then the WAL dir when it is apart.
    if let (Some(w), Some(true)) = (wal_dir.as_deref(), mounted.get(1)) {
        // etcd makes a new WAL by removing the WAL dir with everything in it, then renaming
        // `<wal_dir>.tmp` into place: on a mount point that deletes what is kept there, then fails.
        return Err(Failure::new(format!(
            "wal_dir {} is a mount point: etcd cannot start a new member's WAL there (it removes \
             the directory, with anything set aside in it, and renames {}.tmp into its place); \
             point ETCD_WAL_DIR at a directory on that disk instead. Nothing was moved",
            w.display(),
            w.display()
        ))
        .with("data_dir", &data_dir));
    }
    let mut plans = Vec::new();
    for (d, mount_point) in dirs.iter().zip(&mounted) {
        plans.push((
            d.to_path_buf(),
            aside::plan(d, label, *mount_point).map_err(fail)?,
        ));
    }
    let moving: Vec<&(PathBuf, Plan)> = plans
        .iter()
        .filter(|(_, pl)| *pl != Plan::Nothing)
        .collect();
    let settled = |d: &Path| {
        std::fs::metadata(d).is_ok_and(|md| {
            md.is_dir()
                && md.mode() & 0o7777 == 0o700
                && owner.is_none_or(|(u, g)| (md.uid(), md.gid()) == (u, g))
        })
    };
    let changed = !moving.is_empty() || !settled(&data_dir);
    if m.check_mode() {
        let would: Vec<aside::Moved> = moving.iter().map(|(d, pl)| would_move(d, pl)).collect();
        let msg = if would.is_empty() {
            format!("{} holds no etcd data", data_dir.display())
        } else {
            format!("would set aside {}", describe(&would))
        };
        return Ok(Response::new()
            .changed(changed)
            .msg(msg)
            .set("moved_aside", &would));
    }
    let mut moved = Vec::new();
    for (d, pl) in plans {
        if let Some(mv) = aside::apply(&d, label, pl).map_err(fail)? {
            moved.push(mv);
        }
    }
    // Not the WAL dir: etcd makes a new one by renaming `<wal_dir>.tmp` into place, which needs
    // its parent writable by etcd and no directory there to replace.
    aside::make_empty(&data_dir, owner).map_err(fail)?;
    let msg = if moved.is_empty() {
        format!("{} holds no etcd data; left empty", data_dir.display())
    } else {
        format!(
            "set aside {}; {} is empty",
            describe(&moved),
            data_dir.display()
        )
    };
    Ok(Response::new()
        .changed(changed)
        .msg(msg)
        .set("moved_aside", &moved))
}

fn would_move(d: &Path, pl: &Plan) -> aside::Moved {
    let (to, entries) = match pl {
        Plan::Whole { to } => (to.clone(), Vec::new()),
        Plan::Inside { to, entries } => (to.clone(), entries.clone()),
        Plan::Nothing => (PathBuf::new(), Vec::new()),
    };
    aside::Moved {
        from: d.to_path_buf(),
        to,
        entries,
    }
}

fn describe(moved: &[aside::Moved]) -> String {
    moved
        .iter()
        .map(|mv| {
            if mv.entries.is_empty() {
                format!("{} as {}", mv.from.display(), mv.to.display())
            } else {
                format!(
                    "{}'s {} in {} (a mount point, kept in place)",
                    mv.from.display(),
                    mv.entries.join(", "),
                    mv.to.display()
                )
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// etcd must be stopped: a lock held on a WAL file refuses the task before anything is copied.
fn copied(m: &Module) -> Result<Response, Failure> {
    let p = &m.params;
    let (data_dir, wal_dir, label) = dirs_and_label(m)?;
    let backup_dir = p.path("backup_dir").unwrap_or_default();
    refuse_if_running(&data_dir, wal_dir.as_deref(), "nothing was copied")?;
    let config_dir = p.path("config_dir").filter(|c| !c.as_os_str().is_empty());
    let mut sources = vec![("data", data_dir.clone())];
    sources.extend(wal_dir.map(|w| ("wal", w)));
    sources.extend(config_dir.map(|c| ("config", c)));
    for (_, src) in &sources {
        if let Err(e) = std::fs::symlink_metadata(src) {
            return Err(Failure::new(format!(
                "reading {}: {e}; nothing was copied",
                src.display()
            )));
        }
        // A copy made inside what it copies would copy itself without end.
        if backup_dir.starts_with(src) {
            return Err(Failure::new(format!(
                "backup_dir {} is inside {}, which it would hold a copy of; nothing was copied",
                backup_dir.display(),
                src.display()
            )));
        }
    }
    let prefixes: Vec<String> = sources.iter().map(|(kind, _)| format!("{kind}-")).collect();
    let pairs: Vec<(PathBuf, PathBuf)> = sources
        .into_iter()
        .map(|(kind, src)| (src, backup_dir.join(format!("{kind}-{label}"))))
        .collect();
    let todo: Vec<&(PathBuf, PathBuf)> = pairs
        .iter()
        .filter(|(_, to)| std::fs::symlink_metadata(to).is_err())
        .collect();
    let listed = |items: &[&(PathBuf, PathBuf)]| {
        items
            .iter()
            .map(|(from, to)| serde_json::json!({"from": from, "to": to}))
            .collect::<Vec<_>>()
    };
    let say = |items: &[&(PathBuf, PathBuf)]| {
        items
            .iter()
            .map(|(from, to)| format!("{} to {}", from.display(), to.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if todo.is_empty() {
        return Ok(Response::new()
            .changed(false)
            .msg(format!("already copied into {}", backup_dir.display()))
            .set("copied", Vec::<serde_json::Value>::new())
            .set("removed_unfinished", Vec::<PathBuf>::new()));
    }
    let stale = etcd_datadir::copy::unfinished(&backup_dir, &prefixes)
        .map_err(|e| Failure::new(format!("looking for unfinished copies: {e}")))?;
    let removing = |verb: &str| {
        if stale.is_empty() {
            return String::new();
        }
        let paths: Vec<String> = stale.iter().map(|p| p.display().to_string()).collect();
        format!(
            "; {verb} the unfinished copies earlier runs left: {}",
            paths.join(", ")
        )
    };
    if m.check_mode() {
        return Ok(Response::new()
            .changed(true)
            .msg(format!(
                "would copy {}{}",
                say(&todo),
                removing("would remove")
            ))
            .set("copied", listed(&todo))
            .set("removed_unfinished", &stale));
    }
    for p in &stale {
        etcd_datadir::copy::remove_unfinished(p).map_err(|e| Failure::new(e.to_string()))?;
    }
    if std::fs::symlink_metadata(&backup_dir).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&backup_dir)
            .map_err(|e| Failure::new(format!("making {}: {e}", backup_dir.display())))?;
    }
    for (from, to) in &todo {
        etcd_datadir::copy::copy_once(from, to)
            .map_err(|e| Failure::new(format!("copying {}: {e}", from.display())))?;
    }
    Ok(Response::new()
        .changed(true)
        .msg(format!("copied {}{}", say(&todo), removing("removed")))
        .set("copied", listed(&todo))
        .set("removed_unfinished", &stale))
}
