//! Compaction to the current revision and disarming NOSPACE: the two steps around a
//! defragmentation that make a full cluster writable again.

use crate::plan::{self, NoSpace};
use crate::{alarm_list, common, members, size_lines, Settings};
use ansible_module::{Failure, Response};
use etcd_api::bounded_by;
use etcd_api::etcd_client::{AlarmAction, AlarmOptions, AlarmType, CompactionOptions, GetOptions};
use etcd_api::ConnOpts;
use etcd_api::EtcdRefusal;
use std::time::Duration;

/// Compacts to the revision the cluster is at, and returns only once every member has
/// finished it (so a defragmentation right after reclaims the freed pages on each, and its
/// plan sees them). Already compacted there: no change, but still waited for.
pub async fn compact(conn: &ConnOpts, s: &Settings, check: bool) -> Result<Response, Failure> {
    let view = members::view_with_quorum(conn).await?;
    let mut client = view
        .healthy_client
        .clone()
        .ok_or_else(|| Failure::new("no healthy member answered: cannot compact"))?;
    let revision = conn
        .bounded(client.get("compaction-probe", None))
        .await
        .map_err(|e| Failure::new(format!("reading the current revision: {e}")))?
        .header()
        .map(|h| h.revision())
        .unwrap_or(0);
    let sizes = members::sizes(conn, &view, i64::MAX).await?;
    let done = |changed: bool, msg: String| {
        Ok(common(Response::new(), &view, &sizes)
            .changed(changed)
            .msg(msg)
            .set("revision", revision))
    };
    // A range at revision R-1 fails as compacted exactly when the store was compacted at R.
    let already = revision <= 1 || {
        let opts = GetOptions::new()
            .with_revision(revision - 1)
            .with_count_only();
        match conn
            .bounded(client.get("compaction-probe", Some(opts)))
            .await
        {
            Ok(_) => false,
            Err(e) if e.refusal() == Some(EtcdRefusal::Compacted) => true,
            Err(e) => {
                return Err(Failure::new(format!(
                    "asking whether revision {} is compacted: {e}",
                    revision - 1
                )))
            }
        }
    };
    if check {
        return if already {
            done(false, format!("already compacted to revision {revision}"))
        } else {
            done(true, format!("would compact to revision {revision}"))
        };
    }
    // A compaction deletes every old revision before it answers: on a big db that outlasts
    // one call's timeout, so it gets the defragmentation's limit.
    let changed = !already && {
        let opts = CompactionOptions::new().with_physical();
        match bounded_by(s.defrag_timeout, client.compact(revision, Some(opts))).await {
            Ok(_) => true,
            // Another client (kube-apiserver compacts every 5 minutes) got there first.
            Err(e) if e.refusal() == Some(EtcdRefusal::Compacted) => false,
            Err(e) => {
                return Err(Failure::new(format!(
                    "compacting to revision {revision}: {e}"
                )))
            }
        }
    };
    // A re-run after a cut one waits too: its compaction may still be running on a member.
    for m in &sizes {
        settled(conn, &m.endpoint, &m.name, revision, s.defrag_timeout).await?;
    }
    if changed {
        done(
            true,
            format!("compacted to revision {revision} on every member"),
        )
    } else {
        done(false, format!("already compacted to revision {revision}"))
    }
}

/// Waits until the member at `endpoint` has finished compacting to `revision` and committed
/// it. A physical compaction only waits on the member that served it; the others apply it
/// from the log and delete the old revisions in the background, and a defragmentation
/// that runs before that deletion gives nothing back. (Their db_size_in_use can lag even
/// after it: etcd recounts free pages only at later backend commits.) Asking each
/// member for the same physical compaction again is etcd's own barrier (3.2 to 3.6): the
/// request is refused as compacted, but only after that member's compaction queue has
/// drained and its backend has been committed (mvcc store.Compact, EtcdServer.Compact).
async fn settled(
    conn: &ConnOpts,
    endpoint: &str,
    name: &str,
    revision: i64,
    limit: Duration,
) -> Result<(), Failure> {
    let context = |e: &dyn std::fmt::Display| {
        Failure::new(format!(
            "waiting for {name} ({endpoint}) to finish compacting to revision {revision}: {e}"
        ))
    };
    let mut client = conn.connect(endpoint).await.map_err(|e| context(&e))?;
    let opts = CompactionOptions::new().with_physical();
    match bounded_by(limit, client.compact(revision, Some(opts))).await {
        Ok(_) => Ok(()),
        Err(e) if e.refusal() == Some(EtcdRefusal::Compacted) => Ok(()),
        Err(e) => Err(context(&e)),
    }
}

/// Disarms NOSPACE when every member is below its quota; refuses, naming the members over it,
/// otherwise (in check mode it only says so: the defragmentation before it has not run).
pub async fn disarm(conn: &ConnOpts, s: &Settings, check: bool) -> Result<Response, Failure> {
    let view = members::view_with_quorum(conn).await?;
    let sizes = members::sizes(conn, &view, s.quota).await?;
    let alarms = members::alarms(&view);
    let resp = |changed: bool, msg: String| {
        common(Response::new(), &view, &sizes)
            .changed(changed)
            .msg(msg)
            .set("alarms", &alarms)
    };
    let nospace = match plan::disarm_decision(&alarms, &sizes, view.members.len()) {
        NoSpace::Nothing => {
            let mut r = resp(false, format!("no NOSPACE alarm ({})", size_lines(&sizes)));
            let others: Vec<_> = alarms
                .iter()
                .filter(|a| a.alarm != "NOSPACE")
                .cloned()
                .collect();
            if !others.is_empty() {
                r.warn(format!(
                    "left as they are (not NOSPACE: look at the data first): {}",
                    alarm_list(&others)
                ));
            }
            return Ok(r);
        }
        NoSpace::Keep(why) if check => {
            let mut r = resp(false, format!("would keep it: {why}"));
            r.warn(why);
            return Ok(r);
        }
        NoSpace::Keep(why) => {
            return Err(Failure::new(why)
                .with("alarms", &alarms)
                .with("members", &sizes))
        }
        NoSpace::Disarm(nospace) => nospace,
    };
    if check {
        return Ok(resp(
            true,
            format!(
                "would disarm {} ({})",
                alarm_list(&nospace),
                size_lines(&sizes)
            ),
        ));
    }
    let mut client = view
        .healthy_client
        .clone()
        .ok_or_else(|| Failure::new("no healthy member answered: cannot disarm"))?;
    for a in &nospace {
        let mut opts = AlarmOptions::new();
        opts.with_member(a.raw_member_id);
        conn.bounded(client.alarm(AlarmAction::Deactivate, AlarmType::Nospace, Some(opts)))
            .await
            .map_err(|e| Failure::new(format!("disarming NOSPACE on {}: {e}", a.member_id)))?;
    }
    let after = members::alarms(&members::view_with_quorum(conn).await?);
    if after.iter().any(|a| a.alarm == "NOSPACE") {
        return Err(Failure::new(format!(
            "NOSPACE is still active after disarming it: {} (a member over its quota raised it \
             again?)",
            alarm_list(&after)
        ))
        .with("alarms", &after));
    }
    Ok(resp(
        true,
        format!("disarmed {} ({})", alarm_list(&nospace), size_lines(&sizes)),
    )
    .set("alarms", &after))
}
