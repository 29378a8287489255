//! Lost quorum proven before a health read runs out of time. A member without quorum takes
//! the linearizable read and never answers it, so the verdict used to cost the whole timeout
//! (5 s by default) on the day every second counts. Two facts together settle it sooner:
//! every member that answers says it has no leader (etcd's own status, "etcdserver: no
//! leader"), and so many voting members take no connection at any of their peer URLs that the
//! rest cannot make a quorum. A connection refused is something at that address saying nothing
//! listens; a timeout, an unreachable network or a name that does not resolve proves nothing
//! and counts as alive. Without both facts the health reads run their course as before.

use crate::conn::{bounded_by, ConnOpts};
use crate::member::MemberInfo;
use crate::quorum::quorum_size;
use etcd_client::Client;
use futures_util::future::join_all;
use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::time::{Duration, Instant};

/// How often the proof is tried again while the health reads wait.
const POLL: Duration = Duration::from_millis(200);
/// The most one status call, member list or peer connection may take within a try.
const STEP: Duration = Duration::from_secs(1);

/// What the members that answered say, and which voting members nothing listens for: the
/// reason quorum cannot form, or None when that is not proven.
pub fn impossible(
    leaders: &[u64],
    members: &[MemberInfo],
    refused: &BTreeSet<u64>,
) -> Option<String> {
    if !no_leader_anywhere(leaders) {
        return None;
    }
    let voting: Vec<&MemberInfo> = members.iter().filter(|m| !m.is_learner).collect();
    let down: Vec<&MemberInfo> = voting
        .iter()
        .copied()
        .filter(|m| refused.contains(&m.raw_id))
        .collect();
    let q = quorum_size(voting.len());
    if voting.is_empty() || voting.len() - down.len() >= q {
        return None;
    }
    let mut names: Vec<String> = down
        .iter()
        .map(|m| {
            if m.name.is_empty() {
                m.id.clone()
            } else {
                m.name.clone()
            }
        })
        .collect();
    names.sort();
    Some(format!(
        "no leader, and quorum cannot form: {} of {} voting members ({}) take no connection \
         at their peer URLs, quorum needs {q}",
        down.len(),
        voting.len(),
        names.join(", ")
    ))
}

/// Some member answered, and none that answered sees a leader (a member that still sees one,
/// or none that answers, is no proof).
fn no_leader_anywhere(leaders: &[u64]) -> bool {
    !leaders.is_empty() && leaders.iter().all(|l| *l == 0)
}

/// Tries the proof every POLL until `conn`'s timeout: Some(reason) once it holds. It starts
/// after one POLL: a cluster with quorum answers the health reads within milliseconds, and the
/// proof's own connections would then be work thrown away, on every try of etcd_health's wait.
pub async fn prove(conn: &ConnOpts, endpoints: &[String]) -> Option<String> {
    let deadline = Instant::now() + conn.timeout;
    let step = conn.timeout.min(STEP);
    tokio::time::sleep(POLL).await;
    let clients: Vec<Client> = join_all(endpoints.iter().map(|e| {
        let quick = ConnOpts {
            timeout: step,
            ..conn.clone()
        };
        let e = e.clone();
        async move { quick.connect(&e).await.ok() }
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    if clients.is_empty() {
        return None;
    }
    while Instant::now() + POLL < deadline {
        if let Some(reason) = try_once(&clients, step).await {
            return Some(reason);
        }
        tokio::time::sleep(POLL).await;
    }
    None
}

async fn try_once(clients: &[Client], step: Duration) -> Option<String> {
    let answers = join_all(clients.iter().map(|c| {
        let mut c = c.clone();
        async move { bounded_by(step, c.status()).await.ok().map(|s| s.leader()) }
    }))
    .await;
    let leaders: Vec<u64> = answers.iter().flatten().copied().collect();
    // Asked again later, without the member list and peer checks.
    if !no_leader_anywhere(&leaders) {
        return None;
    }
    let answering = clients
        .iter()
        .zip(&answers)
        .find(|(_, a)| a.is_some())
        .map(|(c, _)| c.clone())?;
    let mut c = answering;
    let members: Vec<MemberInfo> = bounded_by(step, c.member_list())
        .await
        .ok()?
        .members()
        .iter()
        .map(MemberInfo::from)
        .collect();
    let checks = join_all(
        members
            .iter()
            .filter(|m| !m.is_learner)
            .map(|m| async move { (m.raw_id, refuses_everywhere(&m.peer_urls, step).await) }),
    )
    .await;
    let refused: BTreeSet<u64> = checks
        .into_iter()
        .filter(|(_, r)| *r)
        .map(|(id, _)| id)
        .collect();
    impossible(&leaders, &members, &refused)
}

/// Every one of these peer URLs refuses a TCP connection (none given proves nothing).
async fn refuses_everywhere(urls: &[String], step: Duration) -> bool {
    if urls.is_empty() {
        return false;
    }
    for url in urls {
        let Some(addr) = host_port(url) else {
            return false;
        };
        match tokio::time::timeout(step, tokio::net::TcpStream::connect(addr)).await {
            Ok(Err(e)) if e.kind() == ErrorKind::ConnectionRefused => {}
            _ => return false,
        }
    }
    true
}

/// "https://10.0.0.1:2380" → "10.0.0.1:2380", "http://[::1]:2380/" → "[::1]:2380"; a URL
/// without an explicit port is not guessed at.
pub fn host_port(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let authority = authority.rsplit('@').next()?;
    let (host, port) = authority.rsplit_once(':')?;
    if host.is_empty() || port.parse::<u16>().is_err() || host.ends_with(':') {
        return None;
    }
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return None;
    }
    Some(authority.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, name: &str, learner: bool) -> MemberInfo {
        MemberInfo {
            id: crate::member::id_hex(id),
            name: name.to_string(),
            peer_urls: vec![format!("https://10.0.0.{id}:2380")],
            client_urls: vec![],
            is_learner: learner,
            started: !name.is_empty(),
            raw_id: id,
        }
    }

    fn three() -> Vec<MemberInfo> {
        vec![
            member(1, "etcd1", false),
            member(2, "etcd2", false),
            member(3, "etcd3", false),
        ]
    }

    #[test]
    fn a_majority_refusing_with_no_leader_anywhere_is_proof() {
        let reason = impossible(&[0], &three(), &BTreeSet::from([1, 2])).unwrap();
        assert!(
            reason.contains("2 of 3 voting members (etcd1, etcd2)"),
            "{reason}"
        );
        assert!(reason.contains("quorum needs 2"), "{reason}");
        // The play reads "refused" in an endpoint's error as "cannot see it", never as lost.
        assert!(!reason.to_lowercase().contains("refused"), "{reason}");
    }

    #[test]
    fn a_minority_down_is_no_proof_however_leaderless_it_looks() {
        // Mid-election in a healthy cluster: the leader just died, the others have none yet.
        assert_eq!(impossible(&[0, 0], &three(), &BTreeSet::from([1])), None);
    }

    #[test]
    fn any_member_seeing_a_leader_is_no_proof() {
        assert_eq!(impossible(&[0, 3], &three(), &BTreeSet::from([1, 2])), None);
        assert_eq!(impossible(&[3], &three(), &BTreeSet::from([1, 2])), None);
    }

    #[test]
    fn no_answer_at_all_is_no_proof() {
        // Cannot see is not lost: every member refusing its peers but none answering status
        // is what a firewall on this host would look like.
        assert_eq!(impossible(&[], &three(), &BTreeSet::from([1, 2, 3])), None);
    }

    #[test]
    fn learners_do_not_count_toward_quorum() {
        let mut ms = three();
        ms.push(member(4, "etcd4", true));
        // Learner 4 listening changes nothing: 2 of 3 voting members are down.
        assert!(impossible(&[0], &ms, &BTreeSet::from([1, 2])).is_some());
        // A refusing learner is not a voting member down.
        assert_eq!(impossible(&[0], &ms, &BTreeSet::from([1, 4])), None);
    }

    #[test]
    fn even_clusters_need_a_strict_majority() {
        let ms: Vec<MemberInfo> = (1..=4).map(|i| member(i, "", false)).collect();
        // 4 voting, quorum 3: two down leave two, too few; one down leaves three.
        let reason = impossible(&[0], &ms, &BTreeSet::from([1, 2])).unwrap();
        assert!(
            reason.contains("(1, 2)"),
            "unnamed members go by id: {reason}"
        );
        assert_eq!(impossible(&[0], &ms, &BTreeSet::from([1])), None);
    }

    #[test]
    fn an_empty_member_list_is_no_proof() {
        assert_eq!(impossible(&[0], &[], &BTreeSet::new()), None);
    }

    #[test]
    fn peer_urls_give_host_and_port_only_when_explicit() {
        assert_eq!(
            host_port("https://10.0.0.1:2380").as_deref(),
            Some("10.0.0.1:2380")
        );
        assert_eq!(
            host_port("http://[::1]:2380/").as_deref(),
            Some("[::1]:2380")
        );
        assert_eq!(
            host_port("https://etcd1.example.com:2380").as_deref(),
            Some("etcd1.example.com:2380")
        );
        assert_eq!(host_port("https://10.0.0.1"), None);
        assert_eq!(host_port("https://::1:2380"), None);
        assert_eq!(host_port("10.0.0.1:2380"), None);
        assert_eq!(host_port("https://10.0.0.1:http"), None);
    }

    #[tokio::test]
    async fn only_a_refused_connection_counts_as_down() {
        // A port just bound and dropped refuses; one that listens does not.
        let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = format!("https://{}", listening.local_addr().unwrap());
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("https://{}", l.local_addr().unwrap())
        };
        let step = Duration::from_secs(1);
        assert!(refuses_everywhere(std::slice::from_ref(&closed), step).await);
        assert!(!refuses_everywhere(std::slice::from_ref(&open), step).await);
        assert!(!refuses_everywhere(&[closed.clone(), open], step).await);
        assert!(!refuses_everywhere(&[], step).await);
        assert!(!refuses_everywhere(&["https://127.0.0.1".into()], step).await);
    }
}
