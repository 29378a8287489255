//! etcd_maintenance: what a cluster at its space quota needs, natively (no etcdctl): compaction
//! to the current revision, defragmentation one member at a time (followers first, the leader
//! last, each healthy again before the next) and disarming NOSPACE once every member is below
//! its quota. Every state refuses a cluster without quorum; `status` only reads.

use ansible_module::{run, Failure, Module, ModuleSpec, Opt, Response};
use etcd_api::bytes::human;
use etcd_api::{block_on, connection_options, ClusterView, ConnOpts};
use std::time::Duration;

mod defrag;
mod members;
mod plan;
mod space;

use plan::MemberSize;

/// etcd's own quota when ETCD_QUOTA_BACKEND_BYTES is unset or 0 (DefaultQuotaBytes).
const ETCD_DEFAULT_QUOTA: i64 = 2 * 1024 * 1024 * 1024;

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "etcd_maintenance",
        "Compact, defragment (one member at a time, leader last) and disarm NOSPACE safely",
    )
    .options(connection_options())
    .describe(
        "endpoints",
        "Client URLs, C(https://host:2379). Dead ones are tolerated; members the endpoints \
        do not name are found from the member list.",
    )
    .describe(
        "timeout",
        "Seconds for each call (not a compaction or defragmentation, see I(defrag_timeout)).",
    )
    .option(
        Opt::str("state")
            .doc("C(status) reads, C(compacted), C(defragmented), C(disarmed) as above.")
            .default("status")
            .choices(["status", "compacted", "defragmented", "disarmed"]),
    )
    .option(
        Opt::int("quota_backend_bytes")
            .doc(
                "The members' C(ETCD_QUOTA_BACKEND_BYTES), the smallest if they differ; the \
                default is etcd's own (2 GiB).",
            )
            .default(ETCD_DEFAULT_QUOTA)
            .help(
                "the members' ETCD_QUOTA_BACKEND_BYTES (the smallest, if they differ); a member \
                that reports its quota (etcd >= 3.6) is held to its own",
            ),
    )
    .option(
        Opt::int("min_reclaim_bytes")
            .doc(
                "Defragment a member only when at least this many bytes of its db are free \
                (or it is over its quota, or runs etcd < 3.4).",
            )
            .default(1024 * 1024)
            .help(
                "defragment a member only when at least this many bytes are free in its db (or \
                it is over its quota, or it runs etcd < 3.4, which does not say)",
            ),
    )
    .option(
        Opt::int("defrag_timeout")
            .doc(
                "Seconds one member's compaction or defragmentation may take (a 2 GiB db can \
                take a minute).",
            )
            .default(300)
            .help("seconds one member's compaction or defragmentation may take"),
    )
    .option(
        Opt::bool("after_compaction")
            .default(false)
            .doc(
                "Whether a compaction has just run (defrag.yml passes whether its compaction \
                changed anything). Then, as under NOSPACE, a member's reported in-use size still \
                counts the pages the compaction freed, so every member is defragmented instead \
                of only those that report I(min_reclaim_bytes) free.",
            )
            .help(
                "a compaction has just run: the members' in-use sizes lag, so defragment every \
                member (as under NOSPACE)",
            ),
    )
    .option(
        Opt::int("gate_timeout")
            .doc(
                "Seconds the cluster may take to be healthy again after a member's \
                defragmentation.",
            )
            .default(60)
            .help(
                "seconds a defragmented member may take to be healthy again, every member \
                healthy, before the next one",
            ),
    )
}

/// The options every state reads, checked once.
pub struct Settings {
    pub quota: i64,
    pub min_reclaim: i64,
    pub defrag_timeout: Duration,
    pub gate_timeout: Duration,
    pub after_compaction: bool,
}

fn settings(m: &Module) -> Result<Settings, Failure> {
    let positive = |name: &str| -> Result<i64, Failure> {
        match m.params.int(name) {
            Some(v) if v > 0 => Ok(v),
            Some(v) => Err(Failure::new(format!("{name} must be positive, not {v}"))),
            None => Err(Failure::new(format!("{name} is missing"))),
        }
    };
    let min_reclaim = m.params.int("min_reclaim_bytes").unwrap_or(0);
    if min_reclaim < 0 {
        return Err(Failure::new(format!(
            "min_reclaim_bytes must be 0 or more, not {min_reclaim}"
        )));
    }
    Ok(Settings {
        quota: positive("quota_backend_bytes")?,
        min_reclaim,
        defrag_timeout: Duration::from_secs(positive("defrag_timeout")? as u64),
        gate_timeout: Duration::from_secs(positive("gate_timeout")? as u64),
        after_compaction: m.params.bool("after_compaction"),
    })
}

fn main() {
    run(spec(), |m| {
        let conn = ConnOpts::from_params(&m.params)?;
        let s = settings(m)?;
        let check = m.check_mode();
        match m.params.str("state") {
            Some("compacted") => block_on(space::compact(&conn, &s, check))?,
            Some("defragmented") => block_on(defrag::run(&conn, &s, check))?,
            Some("disarmed") => block_on(space::disarm(&conn, &s, check))?,
            _ => block_on(status(&conn, &s))?,
        }
    })
}

/// Read-only: the sizes, the alarms, and what a defragmentation would do now.
async fn status(conn: &ConnOpts, s: &Settings) -> Result<Response, Failure> {
    let view = members::view_with_quorum(conn).await?;
    let sizes = members::sizes(conn, &view, s.quota).await?;
    let alarms = members::alarms(&view);
    let lagging = lags(s, &alarms).is_some();
    let todo: Vec<String> = plan::order(&sizes)
        .into_iter()
        .filter(|m| plan::needs_defrag(m, s.min_reclaim, lagging))
        .map(|m| m.name.clone())
        .collect();
    let mut lines = vec![size_lines(&sizes)];
    lines.push(match alarms.is_empty() {
        true => "no alarms".into(),
        false => format!("alarms: {}", alarm_list(&alarms)),
    });
    lines.push(match todo.is_empty() {
        true => "nothing to defragment".into(),
        false => format!("a defragmentation would take {}", todo.join(", ")),
    });
    let unhealthy = members::unhealthy(&view);
    if !unhealthy.is_empty() {
        lines.push(format!("not healthy: {}", unhealthy.join(", ")));
    }
    Ok(common(Response::new(), &view, &sizes)
        .msg(lines.join("; "))
        .set("alarms", &alarms)
        .set("would_defragment", &todo)
        .set("unhealthy", &unhealthy))
}

/// Why the members' in-use figures cannot be planned with now, if they cannot.
pub fn lags(s: &Settings, alarms: &[plan::ActiveAlarm]) -> Option<&'static str> {
    plan::in_use_may_lag(
        s.after_compaction,
        alarms.iter().any(|a| a.alarm == "NOSPACE"),
    )
}

/// `etcd2 5.0 MiB (in use 120.0 KiB), ...`
pub fn size_lines(sizes: &[MemberSize]) -> String {
    let each: Vec<String> = plan::order(sizes)
        .into_iter()
        .map(|m| {
            let in_use = m
                .db_size_in_use
                .map(|u| format!(" (in use {})", human(u)))
                .unwrap_or_default();
            let lead = if m.is_leader { ", leader" } else { "" };
            format!("{} {}{in_use}{lead}", m.name, human(m.db_size))
        })
        .collect();
    format!("db sizes: {}", each.join(", "))
}

pub fn alarm_list(alarms: &[plan::ActiveAlarm]) -> String {
    let each: Vec<String> = alarms
        .iter()
        .map(|a| format!("{} on {}", a.alarm, a.member_id))
        .collect();
    each.join(", ")
}

/// The keys every state returns.
pub fn common(resp: Response, view: &ClusterView, sizes: &[MemberSize]) -> Response {
    let leader = sizes.iter().find(|m| m.is_leader).map(|m| m.name.clone());
    resp.set("members", sizes)
        .set("leader", leader)
        .set("quorum", view.quorum)
        .set(
            "order",
            plan::order(sizes)
                .into_iter()
                .map(|m| m.name.clone())
                .collect::<Vec<_>>(),
        )
}
