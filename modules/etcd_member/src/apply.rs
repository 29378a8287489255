//! Making the planned change through one healthy member, each call bounded by the timeout.

use ansible_module::Failure;
use etcd_api::etcd_client::{Client, MemberAddOptions};
use etcd_api::membership::{Plan, Selector};
use etcd_api::{ConnOpts, EtcdError, EtcdRefusal, MemberInfo};
use std::time::{Duration, Instant};

pub struct Done {
    pub member: Option<MemberInfo>,
    pub members: Vec<MemberInfo>,
}

pub async fn apply(
    conn: &ConnOpts,
    mut client: Client,
    plan: &Plan,
    want: &Selector,
) -> Result<Done, Failure> {
    let changed_id = match plan {
        Plan::Add { learner } => {
            let resp = retry_while(conn, EtcdRefusal::UnhealthyCluster, || {
                let opts = learner.then(|| MemberAddOptions::new().with_is_learner());
                let mut c = client.clone();
                let urls = want.peer_urls.clone();
                async move { conn.bounded(c.member_add(urls, opts)).await }
            })
            .await
            .map_err(|e| {
                let hint = if e.refusal() == Some(EtcdRefusal::UnhealthyCluster) {
                    "; etcd adds members only after its leader has been connected to every \
                     voting member for 5s: is one down or just restarted?"
                } else {
                    ""
                };
                Failure::new(format!("member add {}: {e}{hint}", want.describe()))
            })?;
            resp.member().map(|m| m.id())
        }
        Plan::Update { member, peer_urls } => {
            conn.bounded(client.member_update(member.raw_id, peer_urls.clone()))
                .await
                .map_err(|e| Failure::new(format!("member update {}: {e}", member.id)))?;
            Some(member.raw_id)
        }
        Plan::Promote(member) => {
            retry_while(conn, EtcdRefusal::LearnerNotInSync, || {
                let mut c = client.clone();
                async move { conn.bounded(c.member_promote(member.raw_id)).await }
            })
            .await
            .map_err(|e| {
                let hint = if e.refusal() == Some(EtcdRefusal::LearnerNotInSync) {
                    format!(
                        "; the learner did not catch up with the leader within {}s (raise timeout for a large database)",
                        conn.timeout.as_secs()
                    )
                } else {
                    String::new()
                };
                Failure::new(format!("member promote {}: {e}{hint}", member.name))
            })?;
            Some(member.raw_id)
        }
        Plan::Remove(member) => {
            conn.bounded(client.member_remove(member.raw_id))
                .await
                .map_err(|e| Failure::new(format!("member remove {}: {e}", member.id)))?;
            None
        }
        Plan::Unchanged(_) | Plan::Absent => None,
    };
    let members = list_reflecting(conn, &client, plan, changed_id).await?;
    let member = match (plan, changed_id) {
        (Plan::Remove(m), _) => Some(m.clone()),
        (_, Some(id)) => members.iter().find(|m| m.raw_id == id).cloned(),
        _ => None,
    };
    Ok(Done { member, members })
}

/// The member list once it shows the change. A follower serves MemberList from what it has
/// applied, which can trail the leader's commit by a heartbeat.
async fn list_reflecting(
    conn: &ConnOpts,
    client: &Client,
    plan: &Plan,
    changed_id: Option<u64>,
) -> Result<Vec<MemberInfo>, Failure> {
    let deadline = Instant::now() + conn.timeout;
    loop {
        let mut c = client.clone();
        let members: Vec<MemberInfo> = conn
            .bounded(c.member_list())
            .await
            .map_err(|e| Failure::new(format!("member list after the change: {e}")))?
            .members()
            .iter()
            .map(MemberInfo::from)
            .collect();
        let find = |id: u64| members.iter().find(|m| m.raw_id == id);
        let shown = match plan {
            Plan::Add { .. } => changed_id.and_then(find).is_some(),
            Plan::Update { member, peer_urls } => {
                find(member.raw_id).is_some_and(|m| &m.peer_urls == peer_urls)
            }
            Plan::Promote(member) => find(member.raw_id).is_some_and(|m| !m.is_learner),
            Plan::Remove(member) => find(member.raw_id).is_none(),
            Plan::Unchanged(_) | Plan::Absent => true,
        };
        if shown || Instant::now() >= deadline {
            return Ok(members);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Retries a call that etcd refuses for a passing reason (a learner still catching up, a
/// leader whose peers reconnected less than 5s ago: etcd 3.2/3.3 answer every add that way
/// for 5 s after a restart) until it succeeds, fails for another reason, or the module's
/// timeout runs out.
async fn retry_while<T, F, Fut>(
    conn: &ConnOpts,
    transient: EtcdRefusal,
    mut call: F,
) -> Result<T, EtcdError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, EtcdError>>,
{
    let deadline = Instant::now() + conn.timeout;
    loop {
        match call().await {
            Err(e) if e.refusal() == Some(transient) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            other => return other,
        }
    }
}
