//! The environment a new member starts with, as `etcdctl member add` prints it, returned as
//! data so that a playbook never parses text (and never gets ETCD_INITIAL_CLUSTER wrong).

use etcd_api::membership::{initial_cluster, Plan, Selector};
use etcd_api::MemberInfo;
use serde_json::{json, Value};

fn env(name: &str, initial_cluster: String) -> Value {
    json!({
        "ETCD_NAME": name,
        "ETCD_INITIAL_CLUSTER": initial_cluster,
        "ETCD_INITIAL_CLUSTER_STATE": "existing",
    })
}

/// Before the change (already present, or check mode): the member list as it is, or as the
/// add would make it.
pub fn for_plan(members: &[MemberInfo], plan: &Plan, want: &Selector) -> Value {
    let name = want.name.as_deref().unwrap_or_default();
    let mut list = members.to_vec();
    let id = match plan {
        Plan::Unchanged(m) => m.raw_id,
        Plan::Update { member, peer_urls } => {
            if let Some(m) = list.iter_mut().find(|m| m.raw_id == member.raw_id) {
                m.peer_urls = peer_urls.clone();
            }
            member.raw_id
        }
        _ => {
            // The id etcd will assign is unknown until the add; 0 is never a member id.
            list.push(MemberInfo {
                id: String::new(),
                name: name.to_string(),
                peer_urls: want.peer_urls.clone(),
                client_urls: Vec::new(),
                is_learner: false,
                started: false,
                raw_id: 0,
            });
            0
        }
    };
    env(name, initial_cluster(&list, id, name))
}

pub fn after(members: &[MemberInfo], member: &Option<MemberInfo>, want: &Selector) -> Value {
    let name = want.name.as_deref().unwrap_or_default();
    let id = member.as_ref().map(|m| m.raw_id).unwrap_or(0);
    env(name, initial_cluster(members, id, name))
}
