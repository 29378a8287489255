//! Which member runs on which inventory host. The playbooks decide from this which member to
//! remove, which host a dead member was on, and which URLs the masters' files must lose: a
//! wrong match stops the wrong etcd or removes a healthy member, so the rules live here,
//! unit-tested, and the playbooks only look the answer up.
//!
//! Evidence, strongest first: a peer URL the host is known by (its etcd.conf, the inventory)
//! that a member advertises; then a name the host's member goes by (etcd.conf's ETCD_NAME or
//! the inventory's etcd_name, else the names openshift-ansible gives members: etcd_hostname,
//! openshift_hostname, the inventory name); then, only when no name is known for sure, the
//! first label of the inventory name, if no other host has that label. A member that two
//! hosts would claim belongs to neither: the playbooks refuse rather than pick.

use crate::member::MemberInfo;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a play knows of one inventory host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// The inventory name.
    pub host: String,
    /// Peer URLs the host is known by.
    pub peer_urls: Vec<String>,
    /// Member names it may go by, most certain first.
    pub names: Vec<String>,
    /// `names` is what etcd.conf or the inventory says the name is: no weaker evidence counts.
    pub name_known: bool,
}

/// How a host's member was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    PeerUrl,
    Name,
    ShortName,
}

/// One host's answer: its member, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostMember {
    pub host: String,
    pub member: Option<MemberInfo>,
    pub matched_by: Option<MatchedBy>,
    /// Set when a member matched but could not be given to this host alone.
    pub problem: Option<String>,
}

/// The first label of a host name (`etcd1` of `etcd1.example.com`); an address stays whole.
fn short_name(host: &str) -> &str {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return host;
    }
    host.split('.').next().unwrap_or(host)
}

fn find<'a>(
    h: &HostFacts,
    hosts: &[HostFacts],
    members: &'a [MemberInfo],
) -> Option<(&'a MemberInfo, MatchedBy)> {
    if let Some(m) = members
        .iter()
        .find(|m| m.peer_urls.iter().any(|u| h.peer_urls.contains(u)))
    {
        return Some((m, MatchedBy::PeerUrl));
    }
    for name in h.names.iter().filter(|n| !n.is_empty()) {
        if let Some(m) = members.iter().find(|m| &m.name == name) {
            return Some((m, MatchedBy::Name));
        }
    }
    if h.name_known {
        return None;
    }
    let short = short_name(&h.host);
    let shared = hosts
        .iter()
        .filter(|o| short_name(&o.host) == short)
        .count()
        > 1;
    if shared || short.is_empty() {
        return None;
    }
    members
        .iter()
        .find(|m| m.name == short)
        .map(|m| (m, MatchedBy::ShortName))
}

/// Each host's member, keyed by inventory name.
pub fn host_members(members: &[MemberInfo], hosts: &[HostFacts]) -> BTreeMap<String, HostMember> {
    let found: Vec<Option<(&MemberInfo, MatchedBy)>> =
        hosts.iter().map(|h| find(h, hosts, members)).collect();
    let mut out = BTreeMap::new();
    for (h, f) in hosts.iter().zip(&found) {
        let claimed_by: Vec<&str> = match f {
            Some((m, _)) => hosts
                .iter()
                .zip(&found)
                .filter(|(_, o)| o.is_some_and(|(om, _)| om.raw_id == m.raw_id))
                .map(|(o, _)| o.host.as_str())
                .collect(),
            None => Vec::new(),
        };
        let answer =
            match f {
                Some((m, _)) if claimed_by.len() > 1 => {
                    HostMember {
                        host: h.host.clone(),
                        member: None,
                        matched_by: None,
                        problem: Some(format!(
                    "member {} ({}) matches hosts {}: set etcd_name or etcd_peer_url for them",
                    if m.name.is_empty() { "(never started)" } else { &m.name },
                    m.peer_urls.join(", "),
                    claimed_by.join(", ")
                )),
                    }
                }
                Some((m, by)) => HostMember {
                    host: h.host.clone(),
                    member: Some((*m).clone()),
                    matched_by: Some(*by),
                    problem: None,
                },
                None => HostMember {
                    host: h.host.clone(),
                    member: None,
                    matched_by: None,
                    problem: None,
                },
            };
        out.insert(h.host.clone(), answer);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, name: &str, peer: &str) -> MemberInfo {
        MemberInfo {
            id: format!("{id:x}"),
            name: name.to_string(),
            peer_urls: vec![peer.to_string()],
            client_urls: if name.is_empty() {
                vec![]
            } else {
                vec![peer.replace("2380", "2379")]
            },
            is_learner: false,
            started: !name.is_empty(),
            raw_id: id,
        }
    }

    fn host(name: &str, peer: &[&str], names: &[&str], known: bool) -> HostFacts {
        HostFacts {
            host: name.to_string(),
            peer_urls: peer.iter().map(|s| s.to_string()).collect(),
            names: names.iter().map(|s| s.to_string()).collect(),
            name_known: known,
        }
    }

    fn three() -> Vec<MemberInfo> {
        vec![
            member(1, "etcd1.example.com", "https://10.0.0.1:2380"),
            member(2, "etcd2.example.com", "https://10.0.0.2:2380"),
            member(3, "etcd3", "https://10.0.0.3:2380"),
        ]
    }

    fn id_of(r: &BTreeMap<String, HostMember>, h: &str) -> Option<u64> {
        r[h].member.as_ref().map(|m| m.raw_id)
    }

    #[test]
    fn the_peer_url_wins_over_a_name_that_points_elsewhere() {
        // etcd.conf says the member is at 10.0.0.2, though the host's name guess says etcd1.
        let hosts = [host(
            "etcd1.example.com",
            &["https://10.0.0.2:2380"],
            &["etcd1.example.com"],
            false,
        )];
        let r = host_members(&three(), &hosts);
        assert_eq!(id_of(&r, "etcd1.example.com"), Some(2));
        assert_eq!(r["etcd1.example.com"].matched_by, Some(MatchedBy::PeerUrl));
    }

    #[test]
    fn a_dead_host_is_found_by_the_name_openshift_ansible_gave_its_member() {
        let hosts = [host(
            "master-a",
            &[],
            &["", "etcd2.example.com", "master-a"],
            false,
        )];
        let r = host_members(&three(), &hosts);
        assert_eq!(id_of(&r, "master-a"), Some(2));
        assert_eq!(r["master-a"].matched_by, Some(MatchedBy::Name));
    }

    #[test]
    fn the_short_name_counts_only_when_no_other_host_shares_it_and_no_name_is_known() {
        let members = three();
        let one = [host(
            "etcd3.example.com",
            &[],
            &["etcd3.example.com"],
            false,
        )];
        let r = host_members(&members, &one);
        assert_eq!(id_of(&r, "etcd3.example.com"), Some(3));
        assert_eq!(
            r["etcd3.example.com"].matched_by,
            Some(MatchedBy::ShortName)
        );

        let two = [
            host("etcd3.example.com", &[], &["etcd3.example.com"], false),
            host("etcd3.other.net", &[], &["etcd3.other.net"], false),
        ];
        let r = host_members(&members, &two);
        assert_eq!(id_of(&r, "etcd3.example.com"), None);
        assert_eq!(id_of(&r, "etcd3.other.net"), None);

        // etcd.conf named the member etcd3-old: the host's short name is no evidence then.
        let known = [host("etcd3.example.com", &[], &["etcd3-old"], true)];
        assert_eq!(
            id_of(&host_members(&members, &known), "etcd3.example.com"),
            None
        );
    }

    #[test]
    fn an_address_is_never_shortened() {
        let members = vec![member(9, "10", "https://10.0.0.9:2380")];
        let hosts = [host("10.0.0.9", &[], &["10.0.0.9"], false)];
        assert_eq!(id_of(&host_members(&members, &hosts), "10.0.0.9"), None);
    }

    #[test]
    fn a_member_two_hosts_would_claim_goes_to_neither() {
        let hosts = [
            host("a", &["https://10.0.0.1:2380"], &["a"], true),
            host("b", &[], &["etcd1.example.com"], false),
        ];
        let r = host_members(&three(), &hosts);
        assert_eq!(id_of(&r, "a"), None);
        assert_eq!(id_of(&r, "b"), None);
        let why = r["a"].problem.as_deref().unwrap();
        assert!(
            why.contains("etcd1.example.com") && why.contains("a, b"),
            "{why}"
        );
        assert_eq!(r["a"].problem, r["b"].problem);
    }

    #[test]
    fn an_unstarted_member_is_found_by_its_peer_url_only() {
        let members = vec![member(7, "", "https://10.0.0.7:2380")];
        let by_url = [host("new", &["https://10.0.0.7:2380"], &["new"], true)];
        assert_eq!(id_of(&host_members(&members, &by_url), "new"), Some(7));
        // An empty name never matches a member that has none yet.
        let by_name = [host("new", &[], &[""], false)];
        assert_eq!(id_of(&host_members(&members, &by_name), "new"), None);
    }

    #[test]
    fn a_host_with_no_member_is_listed_with_none() {
        let hosts = [host("spare", &["https://10.0.0.8:2380"], &["spare"], true)];
        let r = host_members(&three(), &hosts);
        assert_eq!(r["spare"].member, None);
        assert_eq!(r["spare"].problem, None);
    }
}
