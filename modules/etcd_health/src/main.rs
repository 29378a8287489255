//! etcd_health: the procedures' "confirm quorum loss" and "verify health" steps.
//! Read-only; an unreachable endpoint is data, and quorum loss fails the task only when the
//! play asks for that with `fail_on_quorum_loss`.

use ansible_module::{run, Failure, Kind, ModuleSpec, Opt, Response};
use etcd_api::hosts::host_members;
use etcd_api::{after_stopping, block_on, connection_options, v2, ClusterView, ConnOpts};

mod hosts;
mod table;

use std::time::{Duration, Instant};

/// How often `wait` asks again: a member's first healthy read comes at most this late, and one
/// read of a starting member costs it next to nothing.
const POLL: Duration = Duration::from_millis(100);

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "etcd_health",
        "Report etcd endpoint health, member list, alarms and whether the \
                cluster has quorum",
    )
    .options(connection_options())
    .option(
        Opt::bool("fail_on_quorum_loss")
            .doc(
                "Fail the task when the cluster has lost quorum, or would lose it \
                with I(stopping) stopped (the result keys are still returned).",
            )
            .default(false)
            .help("fail the task when the cluster has lost quorum"),
    )
    .option(
        Opt::list("stopping", Kind::Str)
            .doc(
                "Members (names or client URLs) about to be stopped, as before a rolling \
                restart: C(after_stopping) says whether the others keep quorum without them \
                (a member already down is not counted twice), and with \
                I(fail_on_quorum_loss) the task fails when they would not. A name that is no \
                member fails the task.",
            )
            .help("members (names or client URLs) about to stop: would the rest keep quorum?"),
    )
    .option(
        Opt::int("wait")
            .default(0)
            .doc(
                "Seconds to keep asking until some endpoint is healthy (0 to 3600; 0 asks \
                once), every tenth of a second, inside this one task: a member just started \
                is waited for without a round trip to the host per try. The task fails when \
                none became healthy in time, with the last answers.",
            )
            .help("seconds to keep asking until some endpoint is healthy (0: ask once)"),
    )
    .option(
        Opt::list("hosts", Kind::Dict)
            .doc(
                "What the play knows of each inventory host, to be told which member runs \
                there: C(host) (the inventory name), C(peer_urls) (the peer URLs it is known \
                by: its etcd.conf, the inventory), C(names) (member names it may go by, most \
                certain first) and C(name_known) (C(names) is what etcd.conf or the inventory \
                says: no weaker evidence counts). A member is found by a peer URL it \
                advertises, else by one of the names, else, when no name is known, by the \
                first label of the inventory name if no other listed host shares it. A member \
                two hosts would claim goes to neither, with a C(problem) saying so. The \
                answer is C(hosts), keyed by inventory name, and C(member_hosts), each found \
                member's id to its host.",
            )
            .help(
                "inventory hosts (host, peer_urls, names, name_known): which member runs on each",
            ),
    )
}

fn main() {
    run(spec(), |m| {
        let conn = ConnOpts::from_params(&m.params)?;
        let host_facts = match m.params.get("hosts") {
            Some(serde_json::Value::Array(items)) => hosts::parse(items).map_err(Failure::new)?,
            _ => Vec::new(),
        };
        let wait = m.params.int("wait").unwrap_or(0);
        if !(0..=3600).contains(&wait) {
            return Err(Failure::new(format!(
                "wait must be 0..=3600 seconds, got {wait}"
            )));
        }
        let deadline = Instant::now() + Duration::from_secs(wait.unsigned_abs());
        let mut view = block_on(ClusterView::gather(&conn))?;
        while wait > 0 && !view.endpoints.iter().any(|e| e.healthy) {
            if Instant::now() >= deadline {
                return Err(Failure::new(format!(
                    "no endpoint became healthy within {wait} s: {}",
                    summary(&view)
                ))
                .merge(&view)
                .with("table", table::table(&view)));
            }
            std::thread::sleep(POLL);
            view = block_on(ClusterView::gather(&conn))?;
        }
        let v2 = v2_store(&conn, &mut view);
        let stopping = m.params.strings("stopping");
        let after = if stopping.is_empty() {
            None
        } else {
            Some(after_stopping(&view.members, &view.endpoints, &stopping).map_err(Failure::new)?)
        };
        let mut msg = summary(&view);
        if let Some(a) = &after {
            msg = format!(
                "{msg}; with {} stopped: {} healthy voting members, quorum needs {}{}",
                a.stopping.join(", "),
                a.healthy_voting_members,
                a.quorum_size,
                if a.quorum {
                    ""
                } else {
                    " (QUORUM WOULD BE LOST)"
                }
            );
        }
        // Only when asked: an empty dict would read as "no host has a member".
        let host_members =
            (!host_facts.is_empty()).then(|| host_members(&view.members, &host_facts));
        // The same answer the other way round, so a playbook that knows the member finds its
        // host with one lookup.
        let member_hosts = host_members.as_ref().map(|hm| {
            hm.values()
                .filter_map(|h| Some((h.member.as_ref()?.id.clone(), h.host.clone())))
                .collect::<std::collections::BTreeMap<String, String>>()
        });
        let keeps = view.quorum && after.as_ref().is_none_or(|a| a.quorum);
        if !keeps && m.params.bool("fail_on_quorum_loss") {
            return Err(Failure::new(msg)
                .merge(&view)
                .with("after_stopping", &after)
                .with("hosts", &host_members)
                .with("member_hosts", &member_hosts)
                .with("table", table::table(&view)));
        }
        let mut resp = Response::new()
            .msg(msg)
            .merge(&view)
            .set("after_stopping", &after)
            .set("hosts", &host_members)
            .set("member_hosts", &member_hosts)
            .set("table", table::table(&view))
            .merge(&v2);
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

/// The v2 store across the cluster: seed 001 (39.1.1.2, docs/procedures.md) asks for every
/// data store to be backed up, and a v3 snapshot has none of it.
#[derive(serde::Serialize)]
struct V2Summary {
    /// Some member serves the v2 API.
    v2_api: bool,
    /// Some member's v2 store holds user keys or directories.
    v2_data: bool,
    /// The most user nodes any member reported.
    v2_nodes: usize,
    /// The top-level v2 keys and directories of that member (`/openshift.com`, ...): what a
    /// restore without the v2 store would lose.
    v2_top: Vec<String>,
}

/// Asks every endpoint that answered the health probe, concurrently (blocking HTTP, one thread
/// each), and records the answers in its report.
fn v2_store(conn: &ConnOpts, view: &mut ClusterView) -> V2Summary {
    let answers: Vec<Option<v2::Served>> = std::thread::scope(|s| {
        let handles: Vec<_> = view
            .endpoints
            .iter()
            .map(|e| {
                let (endpoint, alive) = (e.endpoint.clone(), e.version.is_some() || e.healthy);
                s.spawn(move || alive.then(|| v2::read_tree(conn, &endpoint).ok()).flatten())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut sum = V2Summary {
        v2_api: false,
        v2_data: false,
        v2_nodes: 0,
        v2_top: Vec::new(),
    };
    for (e, a) in view.endpoints.iter_mut().zip(answers) {
        match a {
            Some(v2::Served::Yes(nodes)) => {
                e.v2_api = Some(true);
                e.v2_data = Some(!nodes.is_empty());
                e.v2_nodes = Some(nodes.len());
                sum.v2_api = true;
                sum.v2_data |= !nodes.is_empty();
                if nodes.len() > sum.v2_nodes || sum.v2_top.is_empty() {
                    sum.v2_top = nodes
                        .iter()
                        .filter(|n| n.key.matches('/').count() == 1)
                        .map(|n| n.key.clone())
                        .collect();
                }
                sum.v2_nodes = sum.v2_nodes.max(nodes.len());
            }
            Some(v2::Served::Off) => e.v2_api = Some(false),
            None => {}
        }
    }
    sum
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
