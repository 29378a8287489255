//! Whether the cluster keeps quorum once some members stop, asked before a rolling restart (a
//! certificate renewal) takes a member down: counted from voting members, as the verdict is,
//! and a member already down is not counted twice.

use crate::member::MemberInfo;
use crate::probe::EndpointReport;
use crate::quorum::quorum_size;
use serde::Serialize;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AfterStopping {
    /// The members named, by name (or id, for one without a name).
    pub stopping: Vec<String>,
    /// Healthy voting members left once they stop.
    pub healthy_voting_members: usize,
    /// What quorum needs: the stopped members still vote, so the size does not change.
    pub quorum_size: usize,
    pub quorum: bool,
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// `stopping` holds member names or client URLs; one that names no member is an error, since
/// a check that matched nothing would pass while the member it meant goes down.
pub fn after_stopping(
    members: &[MemberInfo],
    endpoints: &[EndpointReport],
    stopping: &[String],
) -> Result<AfterStopping, String> {
    let mut stopped = BTreeSet::new();
    let mut names = Vec::new();
    for s in stopping {
        let m = members
            .iter()
            .find(|m| {
                (!m.name.is_empty() && m.name == *s) || m.client_urls.iter().any(|u| same_url(u, s))
            })
            .ok_or_else(|| {
                let known: Vec<&str> = members
                    .iter()
                    .map(|m| m.name.as_str())
                    .filter(|n| !n.is_empty())
                    .collect();
                format!(
                    "stopping: `{s}` is neither the name nor a client URL of any member (members: {})",
                    known.join(", ")
                )
            })?;
        if stopped.insert(m.raw_id) {
            names.push(if m.name.is_empty() {
                m.id.clone()
            } else {
                m.name.clone()
            });
        }
    }
    let voting: BTreeSet<u64> = members
        .iter()
        .filter(|m| !m.is_learner)
        .map(|m| m.raw_id)
        .collect();
    let healthy: BTreeSet<u64> = endpoints
        .iter()
        .filter(|e| e.healthy)
        .filter_map(|e| e.id)
        .filter(|id| voting.contains(id) && !stopped.contains(id))
        .collect();
    let q = quorum_size(voting.len());
    Ok(AfterStopping {
        stopping: names,
        healthy_voting_members: healthy.len(),
        quorum_size: q,
        quorum: !voting.is_empty() && healthy.len() >= q,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, learner: bool) -> MemberInfo {
        MemberInfo {
            id: format!("{id:x}"),
            name: format!("etcd{id}"),
            peer_urls: vec![format!("https://10.0.0.{id}:2380")],
            client_urls: vec![format!("https://10.0.0.{id}:2379")],
            is_learner: learner,
            started: true,
            raw_id: id,
        }
    }

    fn endpoint(id: u64, healthy: bool) -> EndpointReport {
        EndpointReport {
            endpoint: format!("https://10.0.0.{id}:2379"),
            healthy,
            id: Some(id),
            ..Default::default()
        }
    }

    fn ask(down: &[u64], stopping: &[&str]) -> Result<AfterStopping, String> {
        let members: Vec<_> = (1..=3).map(|i| member(i, false)).collect();
        let endpoints: Vec<_> = (1..=3).map(|i| endpoint(i, !down.contains(&i))).collect();
        let stopping: Vec<String> = stopping.iter().map(|s| s.to_string()).collect();
        after_stopping(&members, &endpoints, &stopping)
    }

    #[test]
    fn one_of_three_healthy_may_stop() {
        let a = ask(&[], &["etcd2"]).unwrap();
        assert_eq!(
            a,
            AfterStopping {
                stopping: vec!["etcd2".into()],
                healthy_voting_members: 2,
                quorum_size: 2,
                quorum: true
            }
        );
    }

    #[test]
    fn with_one_down_stopping_another_loses_quorum_but_stopping_the_down_one_does_not() {
        let a = ask(&[3], &["https://10.0.0.1:2379/"]).unwrap();
        assert_eq!((a.healthy_voting_members, a.quorum), (1, false));
        let a = ask(&[3], &["etcd3"]).unwrap();
        assert_eq!((a.healthy_voting_members, a.quorum), (2, true));
    }

    #[test]
    fn an_endpoint_listed_twice_and_a_learner_count_as_they_should() {
        let mut members: Vec<_> = (1..=3).map(|i| member(i, false)).collect();
        members.push(member(4, true));
        let mut endpoints: Vec<_> = (1..=4).map(|i| endpoint(i, true)).collect();
        endpoints.push(endpoint(2, true));
        let a = after_stopping(&members, &endpoints, &["etcd1".into(), "etcd1".into()]).unwrap();
        assert_eq!(a.stopping, ["etcd1"]);
        assert_eq!(
            (a.healthy_voting_members, a.quorum_size, a.quorum),
            (2, 2, true)
        );
    }

    #[test]
    fn a_name_that_is_no_member_is_refused() {
        let e = ask(&[], &["etcd9"]).unwrap_err();
        assert_eq!(
            e,
            "stopping: `etcd9` is neither the name nor a client URL of any member (members: etcd1, etcd2, etcd3)"
        );
    }
}
