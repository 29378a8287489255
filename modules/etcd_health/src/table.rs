//! The at-a-glance view playbooks print: one line per endpoint, columns aligned.

use etcd_api::bytes::human as human_bytes;
use etcd_api::ClusterView;

pub fn table(v: &ClusterView) -> Vec<String> {
    let mut rows = vec![[
        "ENDPOINT", "MEMBER", "HEALTH", "ROLE", "TERM", "APPLIED", "VERSION", "DB SIZE", "V2",
        "ERROR",
    ]
    .map(String::from)];
    for e in &v.endpoints {
        let name =
            e.id.and_then(|id| v.member_by_id(id))
                .map(|m| m.name.clone())
                .unwrap_or_else(|| "-".into());
        let role = match (e.is_leader, e.is_learner) {
            (Some(true), _) => "leader",
            (_, Some(true)) => "learner",
            (Some(false), _) => "follower",
            _ => "-",
        };
        let num = |n: Option<u64>| n.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
        rows.push([
            e.endpoint.clone(),
            name,
            if e.healthy { "healthy" } else { "UNHEALTHY" }.into(),
            role.into(),
            num(e.raft_term),
            num(e.raft_applied_index),
            e.version.clone().unwrap_or_else(|| "-".into()),
            e.db_size.map(human_bytes).unwrap_or_else(|| "-".into()),
            match (e.v2_api, e.v2_nodes) {
                (Some(true), Some(n)) => format!("on, {n} nodes"),
                (Some(true), None) => "on".into(),
                (Some(false), _) => "off".into(),
                (None, _) => "-".into(),
            },
            e.error.clone().unwrap_or_default(),
        ]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}
