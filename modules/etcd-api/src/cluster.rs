//! The whole cluster as seen through the given endpoints: every endpoint probed at once,
//! members the endpoints did not name probed too (like `etcdctl --cluster`), and the quorum
//! verdict computed from voting members, not from counting healthy lines.

use crate::conn::ConnOpts;
use crate::member::{id_hex, MemberInfo};
use crate::no_quorum;
use crate::probe::{probe_until, EndpointReport, Probe};
use crate::quorum::quorum_size;
use etcd_client::{AlarmAction, AlarmType, Client};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use tokio::sync::watch;

#[derive(Debug, Clone, Serialize)]
pub struct Alarm {
    pub member_id: String,
    pub alarm: String,
}

#[derive(Serialize)]
pub struct ClusterView {
    pub quorum: bool,
    pub voting_members: usize,
    pub healthy_voting_members: usize,
    pub quorum_size: usize,
    pub leader: Option<String>,
    pub members: Vec<MemberInfo>,
    pub endpoints: Vec<EndpointReport>,
    /// None when no healthy member could be asked (alarms are read through raft).
    pub alarms: Option<Vec<Alarm>>,
    /// Each etcd version the reachable members report, with the members (names, or ids of
    /// unnamed ones) that run it.
    pub versions: BTreeMap<String, Vec<String>>,
    /// The reachable members run different versions: an upgrade or a rollback is half done,
    /// and the cluster runs at the oldest one's level.
    pub mixed_versions: bool,
    /// Every reachable member runs etcd >= 3.4, so learners (add, promote) exist.
    pub learners_supported: bool,
    /// A client on a healthy member, for modules that go on to change the cluster.
    #[serde(skip)]
    pub healthy_client: Option<Client>,
}

impl ClusterView {
    pub async fn gather(conn: &ConnOpts) -> ClusterView {
        // The health reads of a cluster without quorum wait out the timeout unless
        // no_quorum::prove shows sooner that they cannot succeed; it stops at the timeout too.
        let (proof_tx, proof) = watch::channel(None);
        let probing = probe_all(conn, &conn.endpoints, &proof);
        tokio::pin!(probing);
        let mut probes = tokio::select! {
            p = &mut probing => p,
            Some(reason) = no_quorum::prove(conn, &conn.endpoints) => {
                proof_tx.send_replace(Some(reason));
                probing.await
            }
        };

        let members = best_member_list(&probes);
        let known: BTreeSet<&str> = conn.endpoints.iter().map(String::as_str).collect();
        let discovered: Vec<String> = members
            .iter()
            .flat_map(|m| m.client_urls.iter())
            .filter(|u| !known.contains(u.as_str()))
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !discovered.is_empty() {
            probes.extend(probe_all(conn, &discovered, &proof).await);
        }

        let healthy_client = probes
            .iter()
            .find(|p| p.report.healthy)
            .and_then(|p| p.client.clone());
        let alarms = match &healthy_client {
            Some(c) => {
                let mut c = c.clone();
                conn.bounded(c.alarm(AlarmAction::Get, AlarmType::None, None))
                    .await
                    .ok()
                    .map(|r| {
                        r.alarms()
                            .iter()
                            .map(|a| Alarm {
                                member_id: id_hex(a.member_id()),
                                alarm: format!("{:?}", a.alarm()).to_uppercase(),
                            })
                            .collect()
                    })
            }
            None => None,
        };

        let endpoints: Vec<EndpointReport> = probes.into_iter().map(|p| p.report).collect();
        verdict(members, endpoints, alarms, healthy_client)
    }

    pub fn member_by_id(&self, id: u64) -> Option<&MemberInfo> {
        self.members.iter().find(|m| m.raw_id == id)
    }
}

async fn probe_all(
    conn: &ConnOpts,
    endpoints: &[String],
    proof: &watch::Receiver<Option<String>>,
) -> Vec<Probe> {
    let mut set = tokio::task::JoinSet::new();
    for (i, e) in endpoints.iter().enumerate() {
        let (conn, e, proof) = (conn.clone(), e.clone(), proof.clone());
        set.spawn(async move { (i, probe_until(&conn, &e, Some(proof)).await) });
    }
    let mut out: Vec<(usize, Probe)> = Vec::with_capacity(endpoints.len());
    while let Some(joined) = set.join_next().await {
        if let Ok(p) = joined {
            out.push(p);
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, p)| p).collect()
}

/// A healthy member's list is current; a member cut off from quorum may hold a stale one.
fn best_member_list(probes: &[Probe]) -> Vec<MemberInfo> {
    probes
        .iter()
        .filter(|p| p.report.healthy)
        .chain(probes.iter())
        .find_map(|p| p.members.clone())
        .unwrap_or_default()
}

fn verdict(
    members: Vec<MemberInfo>,
    endpoints: Vec<EndpointReport>,
    alarms: Option<Vec<Alarm>>,
    healthy_client: Option<Client>,
) -> ClusterView {
    let voting: BTreeSet<u64> = members
        .iter()
        .filter(|m| !m.is_learner)
        .map(|m| m.raw_id)
        .collect();
    let healthy_voting: BTreeSet<u64> = endpoints
        .iter()
        .filter(|e| e.healthy)
        .filter_map(|e| e.id)
        .filter(|id| voting.contains(id))
        .collect();
    let q = quorum_size(voting.len());
    let leader = endpoints
        .iter()
        .filter(|e| e.healthy)
        .find_map(|e| e.leader)
        .map(id_hex);
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for e in &endpoints {
        // An endpoint listed twice (given and discovered) is one member.
        let (Some(v), Some(id)) = (&e.version, e.id) else {
            continue;
        };
        if !seen.insert(id) {
            continue;
        }
        let who = members
            .iter()
            .find(|m| m.raw_id == id)
            .map(|m| m.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| id_hex(id));
        versions.entry(v.clone()).or_default().push(who);
    }
    for names in versions.values_mut() {
        names.sort();
    }
    let learners_supported =
        !versions.is_empty() && versions.keys().all(|v| crate::version::has_learners(v));
    ClusterView {
        mixed_versions: versions.len() > 1,
        learners_supported,
        versions,
        quorum: !voting.is_empty() && healthy_voting.len() >= q,
        voting_members: voting.len(),
        healthy_voting_members: healthy_voting.len(),
        quorum_size: q,
        leader,
        members,
        endpoints,
        alarms,
        healthy_client,
    }
}
