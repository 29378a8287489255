//! etcd_member: `member add`, `member update`, `member promote` and `member remove` without
//! scraping etcdctl. Look at the cluster, plan the change (refusing the ones that would cost
//! quorum), then make it through any healthy member.

use ansible_module::{run, Failure, Kind, Module, ModuleSpec, Opt, Response};
use etcd_api::membership::{self, Cluster, Plan, RefusalKind, Selector};
use etcd_api::{block_on, connection_options, parse_id, validate_endpoint, ClusterView, ConnOpts};
use std::time::{Duration, Instant};

mod apply;
mod env;

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "etcd_member",
        "Add (learner first), update, promote or remove an etcd member, \
                refusing changes that would cost quorum",
    )
    .options(connection_options())
    .option(
        Opt::str("name")
            .doc("Member name (its C(ETCD_NAME)). Required with C(state=present).")
            .help("member name (ETCD_NAME of the member)"),
    )
    .option(
        Opt::list("peer_urls", Kind::Str)
            .doc("The member's peer URLs. Required with C(state=present).")
            .help("the member's peer URLs, https://host:2380"),
    )
    .option(
        Opt::str("id")
            .doc(
                "Member id in hex, another way to select a member to remove or \
                promote.",
            )
            .help("member id in hex, another way to select the member"),
    )
    .option(
        Opt::str("state")
            .doc(
                "C(present) adds or corrects the member, C(absent) removes it, \
                C(promoted) makes a learner a voting member.",
            )
            .default("present")
            .choices(["present", "absent", "promoted"]),
    )
    .option(
        Opt::bool("learner")
            .doc(
                "Add as a learner. Default true when every reachable member runs \
                etcd 3.4 or later.",
            )
            .help(
                "add as a learner; default: true when every member runs etcd >= \
                3.4",
            ),
    )
    .option(
        Opt::bool("force")
            .doc(
                "Override the quorum guard rails. Never overrides the quorum-lost \
                check.",
            )
            .default(false)
            .help("override the quorum guard rails (never the quorum-lost check)"),
    )
    .describe(
        "timeout",
        "Seconds for each call; with C(state=promoted), also how long to \
                wait for the learner to catch up.",
    )
    .required_if("state", "present", &["name", "peer_urls"], false)
    .required_if("state", "absent", &["name", "peer_urls", "id"], true)
    .required_if("state", "promoted", &["name", "peer_urls", "id"], true)
}

fn main() {
    run(spec(), |m| {
        let conn = ConnOpts::from_params(&m.params)?;
        let want = selector(m)?;
        let force = m.params.bool("force");
        let deadline = Instant::now() + conn.timeout;
        let (view, cluster, plan) = loop {
            let view = block_on(ClusterView::gather(&conn))?;
            if view.members.is_empty() {
                return Err(no_member_list(&view));
            }
            let cluster = Cluster::from(&view);
            let plan = match m.params.str("state") {
                Some("absent") => membership::plan_absent(&cluster, &want, force),
                Some("promoted") => membership::plan_promote(&cluster, &want),
                _ => membership::plan_present(&cluster, &want, m.params.opt_bool("learner"), force),
            };
            match plan {
                // A learner whose etcd was just started publishes its name a moment later:
                // promotion waits for that within the timeout, like it waits for catch-up.
                Err(e)
                    if e.kind == RefusalKind::LearnerNotStarted
                        && Instant::now() < deadline
                        && !m.check_mode() =>
                {
                    std::thread::sleep(Duration::from_millis(300));
                }
                Err(e) => return Err(Failure::new(e.to_string()).with("members", &cluster.members)),
                Ok(plan) => break (view, cluster, plan),
            }
        };
        let mut what = membership::describe(&plan, &cluster, &want);
        if let (Some("promoted"), Plan::Unchanged(_)) = (m.params.str("state"), &plan) {
            if !cluster.supports_learners() {
                what = format!(
                    "{what}: etcd {} has no learners, every member votes from its add, so there \
                     is nothing to promote",
                    cluster.version_list()
                );
            }
        }

        let present = m.params.str("state") == Some("present");
        if matches!(plan, Plan::Unchanged(_) | Plan::Absent) || m.check_mode() {
            let changed = !matches!(plan, Plan::Unchanged(_) | Plan::Absent);
            let msg = if changed {
                format!("would {what}")
            } else {
                what
            };
            let member = planned_member(&plan);
            let mut resp = Response::new()
                .changed(changed)
                .msg(msg)
                .set("member", member)
                .set("members", &cluster.members)
                .set("learners_supported", cluster.supports_learners())
                .set("versions", &cluster.versions);
            if present {
                resp.insert("env", env::for_plan(&cluster.members, &plan, &want));
            }
            return Ok(resp);
        }

        let client = view
            .healthy_client
            .clone()
            .ok_or_else(|| Failure::new("no healthy member answered: membership cannot change"))?;
        let done = block_on(apply::apply(&conn, client, &plan, &want))??;
        let mut resp = Response::new()
            .changed(true)
            .msg(format!("{what}: done"))
            .set("member", &done.member)
            .set("members", &done.members)
            .set("learners_supported", cluster.supports_learners())
            .set("versions", &cluster.versions);
        if present {
            resp.insert("env", env::after(&done.members, &done.member, &want));
        }
        Ok(resp)
    })
}

/// The member a task means, with its peer URLs checked before anything talks to etcd.
fn selector(m: &Module) -> Result<Selector, Failure> {
    let peer_urls = m.params.strings("peer_urls");
    for u in &peer_urls {
        validate_endpoint(u).map_err(|e| Failure::new(format!("peer_urls: {e}")))?;
    }
    let id = match m.params.str("id") {
        Some(s) => Some(parse_id(s)?),
        None => None,
    };
    Ok(Selector {
        name: m.params.string("name"),
        peer_urls,
        id,
    })
}

fn planned_member(plan: &Plan) -> Option<&etcd_api::MemberInfo> {
    match plan {
        Plan::Unchanged(m) | Plan::Promote(m) | Plan::Remove(m) => Some(m),
        Plan::Update { member, .. } => Some(member),
        Plan::Add { .. } | Plan::Absent => None,
    }
}

fn no_member_list(view: &ClusterView) -> Failure {
    let errors: Vec<String> = view
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
    Failure::new(format!(
        "no endpoint answered, so the member list is unknown: {}",
        errors.join("; ")
    ))
}
