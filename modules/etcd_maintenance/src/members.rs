//! The cluster a maintenance step acts on: the health view (quorum first), and each started
//! member's own status, asked through its own endpoint so the sizes are that member's.

use crate::plan::{ActiveAlarm, MemberSize};
use ansible_module::Failure;
use etcd_api::{parse_id, ClusterView, ConnOpts};

/// The view, refused without quorum: nothing here may run on a cluster that cannot commit.
pub async fn view_with_quorum(conn: &ConnOpts) -> Result<ClusterView, Failure> {
    let view = ClusterView::gather(conn).await;
    if !view.quorum {
        let errors: Vec<String> = view
            .endpoints
            .iter()
            .filter(|e| !e.healthy)
            .map(|e| {
                format!(
                    "{}: {}",
                    e.endpoint,
                    e.error.as_deref().unwrap_or("unhealthy")
                )
            })
            .collect();
        return Err(Failure::new(format!(
            "refusing: the cluster has no quorum ({} of {} voting members healthy, quorum needs \
             {}; {}); restore quorum first (restore-quorum.yml)",
            view.healthy_voting_members,
            view.voting_members,
            view.quorum_size,
            errors.join("; ")
        ))
        .merge(&view));
    }
    Ok(view)
}

/// Voting members (and learners) that are not healthy, by name: a defragmentation blocks the
/// member it runs on, so with one down already it could cost quorum, and NOSPACE cannot be
/// cleared on a member that does not answer.
pub fn unhealthy(view: &ClusterView) -> Vec<String> {
    view.members
        .iter()
        .filter(|m| {
            !view
                .endpoints
                .iter()
                .any(|e| e.healthy && e.id == Some(m.raw_id))
        })
        .map(|m| {
            if m.name.is_empty() {
                format!("{} (never started)", m.id)
            } else {
                m.name.clone()
            }
        })
        .collect()
}

/// Each healthy member's status, from its own endpoint, in member-list order.
pub async fn sizes(
    conn: &ConnOpts,
    view: &ClusterView,
    quota: i64,
) -> Result<Vec<MemberSize>, Failure> {
    let mut out = Vec::new();
    for m in &view.members {
        let Some(endpoint) = view
            .endpoints
            .iter()
            .find(|e| e.healthy && e.id == Some(m.raw_id))
            .map(|e| e.endpoint.clone())
        else {
            continue;
        };
        out.push(member_size(conn, &endpoint, &m.name, m.raw_id, quota).await?);
    }
    Ok(out)
}

pub async fn member_size(
    conn: &ConnOpts,
    endpoint: &str,
    name: &str,
    id: u64,
    quota: i64,
) -> Result<MemberSize, Failure> {
    let context =
        |e: etcd_api::EtcdError| Failure::new(format!("status of {name} ({endpoint}): {e}"));
    let mut c = conn.connect(endpoint).await.map_err(context)?;
    let s = conn.bounded(c.status()).await.map_err(context)?;
    let newer = etcd_api::version::at_least(s.version(), 3, 4);
    Ok(MemberSize {
        id: etcd_api::id_hex(id),
        name: name.to_string(),
        endpoint: endpoint.to_string(),
        is_leader: s.leader() == id,
        db_size: s.db_size(),
        // proto3 reads a field etcd < 3.4 does not send as 0: unknown, not empty.
        db_size_in_use: newer.then(|| s.raft_used_db_size()),
        quota: Some(s.db_size_quota()).filter(|q| *q > 0).unwrap_or(quota),
        raw_id: id,
    })
}

pub fn alarms(view: &ClusterView) -> Vec<ActiveAlarm> {
    view.alarms
        .iter()
        .flatten()
        .map(|a| ActiveAlarm {
            member_id: a.member_id.clone(),
            alarm: a.alarm.clone(),
            raw_member_id: parse_id(&a.member_id).unwrap_or(0),
        })
        .collect()
}
