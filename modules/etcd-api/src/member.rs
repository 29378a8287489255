//! Members as the modules report them: ids in lowercase hex as etcdctl prints them.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MemberInfo {
    pub id: String,
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
    /// A member that was added but never ran has no name and no client URLs yet; it still
    /// counts toward quorum, which is why it matters.
    pub started: bool,
    #[serde(skip)]
    pub raw_id: u64,
}

impl From<&etcd_client::Member> for MemberInfo {
    fn from(m: &etcd_client::Member) -> MemberInfo {
        MemberInfo {
            id: id_hex(m.id()),
            name: m.name().to_string(),
            peer_urls: m.peer_urls().to_vec(),
            client_urls: m.client_urls().to_vec(),
            is_learner: m.is_learner(),
            started: !m.name().is_empty(),
            raw_id: m.id(),
        }
    }
}

pub fn id_hex(id: u64) -> String {
    format!("{id:x}")
}

/// Parses a member id as etcdctl prints it (hex, optionally 0x-prefixed).
pub fn parse_id(s: &str) -> Result<u64, String> {
    let t = s.trim().trim_start_matches("0x");
    u64::from_str_radix(t, 16).map_err(|_| format!("member id '{s}' is not hexadecimal"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_as_unpadded_hex() {
        assert_eq!(id_hex(0x8e9e05c52164694d), "8e9e05c52164694d");
        assert_eq!(id_hex(0x0abc), "abc");
        assert_eq!(parse_id("8e9e05c52164694d"), Ok(0x8e9e05c52164694d));
        assert_eq!(parse_id("0xABC"), Ok(0xabc));
        assert!(parse_id("xyz").is_err());
    }
}
