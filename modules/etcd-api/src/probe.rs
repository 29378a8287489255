//! One endpoint's health and status, gathered the way `etcdctl endpoint health` and
//! `etcdctl endpoint status` do, but concurrently and bounded by the module's timeout.

use crate::conn::{bounded_by, ConnOpts};
use crate::errors::{EtcdError, EtcdRefusal};
use crate::member::MemberInfo;
use etcd_client::Client;
use serde::Serialize;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a health read waits before asking again during an election.
const ELECTION_RETRY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Serialize, Default)]
pub struct EndpointReport {
    pub endpoint: String,
    /// A linearizable read succeeded: the member is up and part of a working quorum.
    pub healthy: bool,
    pub took_ms: u64,
    pub error: Option<String>,
    pub member_id: Option<String>,
    pub version: Option<String>,
    pub db_size: Option<i64>,
    pub is_leader: Option<bool>,
    pub raft_term: Option<u64>,
    pub raft_index: Option<u64>,
    pub raft_applied_index: Option<u64>,
    pub is_learner: Option<bool>,
    /// The store revision the health read saw (None when it failed).
    pub revision: Option<i64>,
    /// Whether the member serves the v2 API (etcd_health only; None: not asked or no answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v2_api: Option<bool>,
    /// Whether its v2 store holds user nodes (keys or directories, not etcd's internal ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v2_data: Option<bool>,
    /// How many user nodes its v2 store holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v2_nodes: Option<usize>,
    #[serde(skip)]
    pub id: Option<u64>,
    #[serde(skip)]
    pub leader: Option<u64>,
}

/// What one endpoint told us, including the member list it serves (etcd 3.4 answers
/// MemberList from local state, so a member without quorum still names its peers).
pub struct Probe {
    pub report: EndpointReport,
    pub members: Option<Vec<MemberInfo>>,
    pub client: Option<Client>,
}

pub async fn probe(conn: &ConnOpts, endpoint: &str) -> Probe {
    probe_until(conn, endpoint, None).await
}

/// `probe`, cut short once `proof` holds the reason quorum cannot form (crate::no_quorum): a
/// health read still waiting then fails with that reason instead of running out the timeout.
pub async fn probe_until(
    conn: &ConnOpts,
    endpoint: &str,
    proof: Option<watch::Receiver<Option<String>>>,
) -> Probe {
    let mut report = EndpointReport {
        endpoint: endpoint.to_string(),
        ..Default::default()
    };
    let started = Instant::now();
    let client = match conn.connect(endpoint).await {
        Ok(c) => c,
        Err(e) => {
            report.error = Some(e.to_string());
            report.took_ms = started.elapsed().as_millis() as u64;
            return Probe {
                report,
                members: None,
                client: None,
            };
        }
    };

    let (mut c1, mut c2, mut c3) = (client.clone(), client.clone(), client.clone());
    let health_started = Instant::now();
    // Only the health read is cut short: a member that serves at all answers status and its
    // member list at once, and the verdict needs both.
    let (health, status, members) = tokio::join!(
        async {
            let r = unless_proven(read_health(conn, &mut c1), proof).await;
            (r, health_started.elapsed())
        },
        conn.bounded(c2.status()),
        conn.bounded(c3.member_list()),
    );

    let (health, took) = health;
    report.took_ms = took.as_millis() as u64;
    match health {
        Ok(Ok(resp)) => {
            report.healthy = true;
            report.revision = resp.header().map(|h| h.revision());
        }
        // etcdctl counts "permission denied" as healthy: the member answered through raft.
        Ok(Err(e)) if e.refusal() == Some(EtcdRefusal::PermissionDenied) => report.healthy = true,
        Ok(Err(e)) => report.error = Some(e.to_string()),
        Err(reason) => report.error = Some(reason),
    }
    match status {
        Ok(s) => {
            let id = s.header().map(|h| h.member_id());
            report.id = id;
            report.member_id = id.map(crate::member::id_hex);
            report.version = Some(s.version().to_string());
            report.db_size = Some(s.db_size());
            report.leader = Some(s.leader()).filter(|l| *l != 0);
            report.is_leader = id.map(|i| i == s.leader());
            report.raft_term = Some(s.raft_term());
            report.raft_index = Some(s.raft_index());
            // etcd < 3.4 has no such fields: proto3 would read them as 0 and false, which
            // would look like a member that applied nothing, so they are absent instead.
            if crate::version::at_least(s.version(), 3, 4) {
                report.raft_applied_index = Some(s.raft_applied_index());
                report.is_learner = Some(s.is_learner());
            }
            if !s.errors().is_empty() && report.error.is_none() {
                report.error = Some(s.errors().join("; "));
            }
        }
        Err(e) => {
            if report.error.is_none() {
                report.error = Some(e.to_string());
            }
        }
    }
    let members = members
        .ok()
        .map(|r| r.members().iter().map(MemberInfo::from).collect());
    Probe {
        report,
        members,
        client: Some(client),
    }
}

/// `call`'s own outcome, or Err(reason) as soon as `proof` holds one.
async fn unless_proven<T>(
    call: impl Future<Output = Result<T, EtcdError>>,
    proof: Option<watch::Receiver<Option<String>>>,
) -> Result<Result<T, EtcdError>, String> {
    tokio::select! {
        r = call => Ok(r),
        reason = proven(proof) => Err(reason),
    }
}

/// The reason once it is sent; never, without a proof to wait for.
async fn proven(proof: Option<watch::Receiver<Option<String>>>) -> String {
    if let Some(mut rx) = proof {
        if let Ok(reason) = rx.wait_for(Option::is_some).await {
            if let Some(r) = reason.clone() {
                return r;
            }
        }
    }
    std::future::pending().await
}

/// The linearizable read `etcdctl endpoint health` does, asked again while etcd says an
/// election is under way, until the timeout: a cluster whose leader just died elects another
/// within an election timeout or two.
async fn read_health(
    conn: &ConnOpts,
    client: &mut Client,
) -> Result<etcd_client::GetResponse, EtcdError> {
    let deadline = Instant::now() + conn.timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match bounded_by(left, client.get("health", None)).await {
            Err(e)
                if e.refusal() == Some(EtcdRefusal::Electing)
                    && Instant::now() + ELECTION_RETRY < deadline =>
            {
                tokio::time::sleep(ELECTION_RETRY).await;
            }
            Err(EtcdError::Timeout { .. }) => {
                return Err(EtcdError::Timeout {
                    secs: conn.timeout.as_secs(),
                })
            }
            r => return r,
        }
    }
}
