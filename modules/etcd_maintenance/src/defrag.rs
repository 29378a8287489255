//! Defragmentation, one member at a time: a member being defragmented blocks reads and writes
//! through it, so never two at once, followers first (the leader blocked means an election
//! and a pause for every client), and the next only once every member is healthy again.

use crate::plan::{self, MemberSize};
use crate::{common, lags, members, size_lines, Settings};
use ansible_module::{Failure, Response};
use etcd_api::bytes::human;
use etcd_api::{bounded_by, ClusterView, ConnOpts, EtcdError};
use serde::Serialize;
use std::time::{Duration, Instant};

/// One member's defragmentation, as the run records it.
#[derive(Debug, Serialize)]
pub struct Step {
    pub name: String,
    pub id: String,
    pub endpoint: String,
    /// Whether it led when its turn came (only the last one may).
    pub was_leader: bool,
    pub db_size_before: i64,
    pub db_size_after: i64,
    pub db_size_in_use_before: Option<i64>,
    pub db_size_in_use_after: Option<i64>,
    pub took_ms: u64,
    /// How long the cluster took to be healthy again afterwards.
    pub healthy_after_ms: u64,
}

pub async fn run(conn: &ConnOpts, s: &Settings, check: bool) -> Result<Response, Failure> {
    let view = members::view_with_quorum(conn).await?;
    refuse_unhealthy(&view)?;
    let before = members::sizes(conn, &view, s.quota).await?;
    let lags = lags(s, &members::alarms(&view));
    let mut remaining: Vec<u64> = plan::order(&before)
        .into_iter()
        .filter(|m| plan::needs_defrag(m, s.min_reclaim, lags.is_some()))
        .map(|m| m.raw_id)
        .collect();
    let skipped: Vec<String> = before
        .iter()
        .filter(|m| !remaining.contains(&m.raw_id))
        .map(|m| m.name.clone())
        .collect();
    let names = |ids: &[u64], sizes: &[MemberSize]| -> Vec<String> {
        ids.iter()
            .filter_map(|id| sizes.iter().find(|m| m.raw_id == *id))
            .map(|m| m.name.clone())
            .collect()
    };
    if remaining.is_empty() || check {
        let planned = names(&remaining, &before);
        let msg = if planned.is_empty() {
            format!(
                "nothing to defragment: every member has less than {} free ({})",
                human(s.min_reclaim),
                size_lines(&before)
            )
        } else {
            format!(
                "would defragment {}, one at a time, leader last{} ({})",
                planned.join(", "),
                every_member(lags),
                size_lines(&before)
            )
        };
        return Ok(common(Response::new(), &view, &before)
            .changed(!planned.is_empty())
            .msg(msg)
            .set("defragmented", Vec::<Step>::new())
            .set("would_defragment", planned)
            .set("skipped", skipped));
    }

    let mut steps: Vec<Step> = Vec::new();
    let mut sizes = before.clone();
    while let Some(id) = plan::next_member(
        &remaining,
        sizes.iter().find(|m| m.is_leader).map(|m| m.raw_id),
    ) {
        let Some(m) = sizes.iter().find(|m| m.raw_id == id).cloned() else {
            return Err(stopped(
                &steps,
                format!("member {id:x} no longer answers its status"),
            ));
        };
        let started = Instant::now();
        defragment(conn, &m, s.defrag_timeout)
            .await
            .map_err(|e| stopped(&steps, e))?;
        let took = started.elapsed();
        let gate = Instant::now();
        let view = healthy_again(conn, &m, s.gate_timeout)
            .await
            .map_err(|e| stopped(&steps, e))?;
        sizes = members::sizes(conn, &view, s.quota).await?;
        let after = sizes.iter().find(|x| x.raw_id == id);
        steps.push(Step {
            name: m.name.clone(),
            id: m.id.clone(),
            endpoint: m.endpoint.clone(),
            was_leader: m.is_leader,
            db_size_before: m.db_size,
            db_size_after: after.map(|a| a.db_size).unwrap_or(m.db_size),
            db_size_in_use_before: m.db_size_in_use,
            db_size_in_use_after: after.and_then(|a| a.db_size_in_use),
            took_ms: took.as_millis() as u64,
            healthy_after_ms: gate.elapsed().as_millis() as u64,
        });
        remaining.retain(|r| *r != id);
    }
    let each: Vec<String> = steps
        .iter()
        .map(|st| {
            format!(
                "{}{} {} -> {}",
                st.name,
                if st.was_leader { " (leader)" } else { "" },
                human(st.db_size_before),
                human(st.db_size_after)
            )
        })
        .collect();
    let view = ClusterView::gather(conn).await;
    Ok(common(Response::new(), &view, &sizes)
        .changed(true)
        .msg(format!(
            "defragmented, in this order: {}{}",
            each.join(", "),
            every_member(lags)
        ))
        .set("defragmented", &steps)
        .set("would_defragment", Vec::<String>::new())
        .set("skipped", skipped))
}

/// Says why every member was taken, when the figures could not be trusted to choose.
fn every_member(lags: Option<&str>) -> String {
    lags.map(|why| format!(" (every member: {why}, so the in-use sizes lag)"))
        .unwrap_or_default()
}

fn refuse_unhealthy(view: &ClusterView) -> Result<(), Failure> {
    let unhealthy = members::unhealthy(view);
    if unhealthy.is_empty() {
        return Ok(());
    }
    Err(Failure::new(format!(
        "refusing to defragment: {} not healthy; a defragmentation blocks the member it runs on, \
         so with a member already down it could cost quorum, and a member that does not answer \
         cannot be defragmented (bring it back, or remove it, first)",
        unhealthy.join(", ")
    ))
    .merge(view))
}

/// A failure mid-run says what was already done, so the operator knows where it stopped.
fn stopped(steps: &[Step], e: String) -> Failure {
    let done: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    let done = if done.is_empty() {
        "none".to_string()
    } else {
        done.join(", ")
    };
    Failure::new(format!(
        "{e} (already defragmented: {done}; a new run resumes)"
    ))
    .with("defragmented", steps)
}

async fn defragment(conn: &ConnOpts, m: &MemberSize, limit: Duration) -> Result<(), String> {
    let context =
        |e: &dyn std::fmt::Display| format!("defragmenting {} ({}): {e}", m.name, m.endpoint);
    let mut c = conn.connect(&m.endpoint).await.map_err(|e| context(&e))?;
    match bounded_by(limit, c.defragment()).await {
        Ok(_) => Ok(()),
        Err(EtcdError::Timeout { secs }) => Err(context(&format!(
            "not done within {secs}s (defrag_timeout); it may still be running there"
        ))),
        Err(e) => Err(context(&e)),
    }
}

/// The health gate: the member answers a linearizable read again and every member is healthy.
async fn healthy_again(
    conn: &ConnOpts,
    m: &MemberSize,
    limit: Duration,
) -> Result<ClusterView, String> {
    let deadline = Instant::now() + limit;
    loop {
        let view = ClusterView::gather(conn).await;
        let unhealthy = members::unhealthy(&view);
        if view.quorum && unhealthy.is_empty() {
            return Ok(view);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "after defragmenting {}, the cluster was not healthy within {}s (gate_timeout): \
                 not healthy: {}; stopped before the next member",
                m.name,
                limit.as_secs(),
                unhealthy.join(", ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
