//! The `hosts` option: what the play knows of each inventory host, checked and typed.

use ansible_module::coerce::coerce;
use ansible_module::Kind;
use etcd_api::hosts::HostFacts;
use serde_json::Value;

const KEYS: [&str; 4] = ["host", "peer_urls", "names", "name_known"];

/// Each item `{host, peer_urls, names, name_known}`; empty strings in the lists are dropped
/// (the playbooks pass unset variables as '').
pub fn parse(items: &[Value]) -> Result<Vec<HostFacts>, String> {
    let mut out: Vec<HostFacts> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = |what: String| format!("hosts[{i}]: {what}");
        let map = item
            .as_object()
            .ok_or_else(|| at(format!("expected a dict, got {item}")))?;
        if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(at(format!(
                "unknown key {k:?} (expected one of {})",
                KEYS.join(", ")
            )));
        }
        let host = match map.get("host") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            _ => return Err(at("host (the inventory name) is required".to_string())),
        };
        if out.iter().any(|h| h.host == host) {
            return Err(at(format!("host {host} is listed twice")));
        }
        let strings = |key: &str| -> Result<Vec<String>, String> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::String(s)) => Ok([s.trim()]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s.trim().to_string()),
                        other => Err(at(format!("{key}: expected strings, got {other}"))),
                    })
                    .filter(|s| !matches!(s, Ok(s) if s.is_empty()))
                    .collect(),
                Some(other) => Err(at(format!(
                    "{key}: expected a list of strings, got {other}"
                ))),
            }
        };
        let name_known = match map.get("name_known") {
            None | Some(Value::Null) => false,
            Some(v) => coerce(v, Kind::Bool)
                .map_err(|e| at(format!("name_known: {e}")))?
                .as_bool()
                .unwrap_or(false),
        };
        out.push(HostFacts {
            peer_urls: strings("peer_urls")?,
            names: strings("names")?,
            host,
            name_known,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn items_are_typed_and_blank_values_dropped() {
        let hosts = parse(&[json!({
            "host": "etcd1",
            "peer_urls": ["https://10.0.0.1:2380", ""],
            "names": "",
            "name_known": "yes",
        })])
        .unwrap();
        assert_eq!(
            hosts,
            [HostFacts {
                host: "etcd1".into(),
                peer_urls: vec!["https://10.0.0.1:2380".into()],
                names: vec![],
                name_known: true,
            }]
        );
    }

    #[test]
    fn bad_items_are_named_by_their_index() {
        for (item, want) in [
            (json!("etcd1"), "hosts[0]: expected a dict"),
            (
                json!({"names": ["a"]}),
                "hosts[0]: host (the inventory name) is required",
            ),
            (
                json!({"host": "a", "peer": "x"}),
                "hosts[0]: unknown key \"peer\"",
            ),
            (
                json!({"host": "a", "names": [1]}),
                "hosts[0]: names: expected strings",
            ),
            (
                json!({"host": "a", "name_known": "perhaps"}),
                "hosts[0]: name_known: ",
            ),
        ] {
            let err = parse(&[item]).unwrap_err();
            assert!(err.starts_with(want), "{err}");
        }
        let twice = parse(&[json!({"host": "a"}), json!({"host": "a"})]).unwrap_err();
        assert_eq!(twice, "hosts[1]: host a is listed twice");
    }
}
