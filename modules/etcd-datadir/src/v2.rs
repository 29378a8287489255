//! etcd's v2 store: where it lives (raft snapshots and WAL entries, never the bbolt file) and
//! whether it holds anything but etcd's own bookkeeping.
//!
//! The store's tree (`etcdserver/server.go`, `api/membership/store.go`, `api/v2auth`):
//! `/0` is the cluster's membership and version (etcd's own), `/1` holds the v2 API's keys
//! (`/v2/keys/foo` is stored as `/1/foo`), `/2` the v2 auth users and roles. So user data is
//! anything under `/1` or `/2`, or anywhere else but `/0`.

use std::collections::HashMap;

use etcd_db::proto::{self, Value};
use serde::{Deserialize, Serialize};

/// The top-level directory of etcd's own v2 data.
const INTERNAL: &str = "0";

/// A v2 request in a raft entry writes user data: a raw `etcdserverpb.Request` (what etcd
/// 3.x proposes for the v2 API) or one wrapped in an `InternalRaftRequest`'s `v2` field, whose
/// method is a write (PUT, POST, DELETE; QGET/GET/HEAD read, SYNC only expires TTLs) on a path
/// outside `/0`. v3 requests (an `InternalRaftRequest` with its header, field 100) are not.
pub fn is_user_write(data: &[u8]) -> bool {
    let mut is_internal = false;
    let mut wrapped = None;
    for f in proto::fields(data) {
        match f {
            Ok((100, _)) => is_internal = true,
            Ok((2, Value::Bytes(b))) => wrapped = Some(b),
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    match (is_internal, wrapped) {
        (true, Some(req)) => request_writes_user_data(req),
        (true, None) => false,
        (false, _) => request_writes_user_data(data),
    }
}

fn request_writes_user_data(req: &[u8]) -> bool {
    let (mut method, mut path) = (None, None);
    for f in proto::fields(req) {
        match f {
            Ok((2, Value::Bytes(b))) => method = Some(b),
            Ok((3, Value::Bytes(b))) => path = Some(b),
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    let write = matches!(method, Some(b"PUT" | b"POST" | b"DELETE"));
    let Some(path) = path.and_then(|p| std::str::from_utf8(p).ok()) else {
        return false;
    };
    write && path.starts_with('/') && !is_internal_path(path)
}

fn is_internal_path(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    first == INTERNAL
}

/// What the v2 store in a raft snapshot holds beyond `/0`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StoreSummary {
    /// Keys (leaf nodes) under `/1`: the v2 API's keys.
    pub keys: u64,
    /// Directories under `/1`, empty ones included (a directory is user data too).
    pub dirs: u64,
    /// Nodes under `/2`: v2 auth users and roles.
    pub auth_nodes: u64,
    /// Top-level names other than `0`, `1`, `2` (etcd writes none).
    pub other_top_level: Vec<String>,
}

impl StoreSummary {
    pub fn has_user_data(&self) -> bool {
        self.keys + self.dirs + self.auth_nodes > 0 || !self.other_top_level.is_empty()
    }
}

#[derive(Deserialize)]
struct Store {
    #[serde(rename = "Root")]
    root: Option<Node>,
}

#[derive(Deserialize)]
struct Node {
    #[serde(rename = "Children", default)]
    children: Option<HashMap<String, Node>>,
}

/// (leaves, dirs) under `n`, `n` not counted; iterative so that a deep tree cannot overflow
/// the stack (serde_json already limits nesting to 128 while parsing).
fn count(n: &Node) -> (u64, u64) {
    let (mut leaves, mut dirs) = (0, 0);
    let mut stack: Vec<&Node> = vec![n];
    while let Some(n) = stack.pop() {
        for c in n.children.iter().flat_map(|m| m.values()) {
            match &c.children {
                Some(_) => {
                    dirs += 1;
                    stack.push(c);
                }
                None => leaves += 1,
            }
        }
    }
    (leaves, dirs)
}

/// Summarises the v2 store JSON (`store.Save()`) a raft snapshot carries.
pub fn summarize_store(json: &[u8]) -> Result<StoreSummary, String> {
    let store: Store =
        serde_json::from_slice(json).map_err(|e| format!("the v2 store is not JSON: {e}"))?;
    let mut s = StoreSummary::default();
    let top = store.root.and_then(|r| r.children).unwrap_or_default();
    for (name, node) in &top {
        match name.as_str() {
            INTERNAL => {}
            "1" => (s.keys, s.dirs) = count(node),
            "2" => {
                let (l, d) = count(node);
                s.auth_nodes = l + d;
            }
            other => s.other_top_level.push(other.to_string()),
        }
    }
    s.other_top_level.sort();
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str) -> Vec<u8> {
        let mut b = vec![0x08, 0x07]; // ID 7
        b.push(0x12);
        b.push(method.len() as u8);
        b.extend_from_slice(method.as_bytes());
        b.push(0x1a);
        b.push(path.len() as u8);
        b.extend_from_slice(path.as_bytes());
        b
    }

    #[test]
    fn v2_writes_outside_0_are_user_writes() {
        assert!(is_user_write(&request("PUT", "/1/foo")));
        assert!(is_user_write(&request("DELETE", "/1/dir/x")));
        assert!(is_user_write(&request("POST", "/2/users/root")));
        assert!(!is_user_write(&request(
            "PUT",
            "/0/members/8e9e05c52164694d/attributes"
        )));
        assert!(!is_user_write(&request("PUT", "/0/version")));
        assert!(!is_user_write(&request("QGET", "/1/foo")));
        assert!(!is_user_write(&request("SYNC", "/")));
        assert!(!is_user_write(b""));
        assert!(!is_user_write(&[0x0b]));
    }

    #[test]
    fn v3_requests_are_not_and_wrapped_v2_is() {
        // InternalRaftRequest{header (100): {ID: 1}, put (4): {key: "a"}}
        let v3 = [0xa2, 0x06, 0x02, 0x08, 0x01, 0x22, 0x03, 0x0a, 0x01, b'a'];
        assert!(!is_user_write(&v3));
        let inner = request("PUT", "/1/foo");
        let mut wrapped = vec![0xa2, 0x06, 0x02, 0x08, 0x01, 0x12, inner.len() as u8];
        wrapped.extend_from_slice(&inner);
        assert!(is_user_write(&wrapped));
    }

    #[test]
    fn store_summary_counts_under_1_and_2() {
        let only_internal = br#"{"Root":{"Path":"/","Children":{"0":{"Path":"/0","Children":{"members":{"Path":"/0/members","Children":{}}}},"1":{"Path":"/1","Children":{}}}},"CurrentIndex":5}"#;
        let s = summarize_store(only_internal).unwrap();
        assert!(!s.has_user_data(), "{s:?}");
        let with_keys = br#"{"Root":{"Children":{"0":{"Children":null},"1":{"Children":{"a":{"Value":"x","Children":null},"d":{"Children":{"b":{"Value":"y"}}},"e":{"Children":{}}}}}}}"#;
        let s = summarize_store(with_keys).unwrap();
        assert_eq!((s.keys, s.dirs), (2, 2));
        assert!(s.has_user_data());
        let auth =
            br#"{"Root":{"Children":{"2":{"Children":{"users":{"Children":{"root":{}}}}}}}}"#;
        assert_eq!(summarize_store(auth).unwrap().auth_nodes, 2);
        assert!(summarize_store(b"{not json").is_err());
    }
}
