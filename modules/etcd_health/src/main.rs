//! etcd_health: the procedures' "confirm quorum loss" and "verify health" steps.
//! Read-only; an unreachable endpoint is data, and quorum loss fails the task only when the
//! play asks for that with `fail_on_quorum_loss`.

use ansible_module::{run, Failure, ModuleSpec, Opt, Response};
use etcd_api::{block_on, connection_options, ClusterView, ConnOpts};

mod table;

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "etcd_health",
        "Report etcd endpoint health, member list, alarms and whether the cluster has quorum",
    )
    .options(connection_options())
    .option(
        Opt::bool("fail_on_quorum_loss")
            .default(false)
            .help("fail the task when the cluster has lost quorum"),
    )
}

fn main() {
    run(spec(), |m| {
        let conn = ConnOpts::from_params(&m.params)?;
        let view = block_on(ClusterView::gather(&conn))?;
        let msg = summary(&view);
        if !view.quorum && m.params.bool("fail_on_quorum_loss") {
            return Err(Failure::new(msg)
                .merge(&view)
                .with("table", table::table(&view)));
        }
        let mut resp = Response::new()
            .msg(msg)
            .merge(&view)
            .set("table", table::table(&view));
        if view.mixed_versions {
            resp.warn(mixed_versions(&view));
        }
        if let Some(alarms) = view.alarms.as_ref().filter(|a| !a.is_empty()) {
            let names: Vec<String> = alarms
                .iter()
                .map(|a| format!("{} on {}", a.alarm, a.member_id))
                .collect();
            resp.warn(format!("active alarms: {}", names.join(", ")));
        }
        Ok(resp)
    })
}

/// Which members run what, and what that means for membership changes.
fn mixed_versions(v: &ClusterView) -> String {
    let each: Vec<String> = v
        .versions
        .iter()
        .map(|(version, names)| format!("{version} on {}", names.join(", ")))
        .collect();
    format!(
        "mixed etcd versions: {}; the cluster runs at the oldest one's level until every member \
         is upgraded, so changes that need a newer version (learners need 3.4 everywhere) are \
         refused",
        each.join("; ")
    )
}

/// One line an operator can act on.
fn summary(v: &ClusterView) -> String {
    if v.members.is_empty() {
        let errors: Vec<String> = v
            .endpoints
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e.endpoint,
                    e.error.as_deref().unwrap_or("no answer")
                )
            })
            .collect();
        return format!(
            "QUORUM UNKNOWN: no endpoint answered ({})",
            errors.join("; ")
        );
    }
    let counts = format!(
        "{} of {} voting members healthy, quorum needs {}",
        v.healthy_voting_members, v.voting_members, v.quorum_size
    );
    if v.quorum {
        let leader = v.leader.as_deref().unwrap_or("none");
        format!("quorum ok: {counts}; leader {leader}")
    } else {
        format!("QUORUM LOST: {counts}")
    }
}
