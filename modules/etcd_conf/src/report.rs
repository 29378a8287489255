//! What the module returns besides the edit itself: the file's effective settings, the initial
//! cluster as members, and a one-line summary of what changed.

use crate::checks::INITIAL_CLUSTER;
use confedit::{EnvFile, InitialCluster};
use serde_json::{json, Map, Value};

/// KEY: value in file order, as the service will see them.
pub fn settings(conf: &EnvFile) -> Map<String, Value> {
    conf.settings()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

/// `[{name, peer_urls}]`; empty when the file has no (or no valid) ETCD_INITIAL_CLUSTER.
pub fn initial_cluster(conf: &EnvFile) -> Value {
    let Some(cluster) = conf
        .get(INITIAL_CLUSTER)
        .and_then(|v| InitialCluster::parse(v).ok())
    else {
        return json!([]);
    };
    cluster
        .names()
        .into_iter()
        .map(|n| json!({"name": n, "peer_urls": cluster.urls(n)}))
        .collect()
}

/// "set A, B; removed C", or that nothing needed changing.
pub fn summary(before: &EnvFile, after: &EnvFile, check_mode: bool) -> String {
    let (old, new) = (before.settings(), after.settings());
    let set: Vec<&str> = new
        .iter()
        .filter(|kv| !old.contains(kv))
        .map(|(k, _)| k.as_str())
        .collect();
    let removed: Vec<&str> = old
        .iter()
        .filter(|(k, _)| !new.iter().any(|(n, _)| n == k))
        .map(|(k, _)| k.as_str())
        .collect();
    let mut parts = Vec::new();
    if !set.is_empty() {
        parts.push(format!("set {}", set.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", removed.join(", ")));
    }
    match (parts.is_empty(), check_mode) {
        (true, _) => "already as requested".to_string(),
        (false, true) => format!("would have: {}", parts.join("; ")),
        (false, false) => parts.join("; "),
    }
}
