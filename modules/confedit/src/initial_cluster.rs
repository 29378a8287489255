//! `ETCD_INITIAL_CLUSTER` values: `name=url,name=url`, where a member with several peer URLs
//! appears once per URL. etcd splits on `,` and `=` without trimming, so whitespace is an error
//! here rather than something quietly fixed.

use crate::error::{Error, Result};
use crate::url::validate_url;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InitialCluster {
    entries: Vec<(String, String)>,
}

impl InitialCluster {
    pub fn parse(s: &str) -> Result<InitialCluster> {
        if s.is_empty() {
            return Err(Error::invalid("initial cluster is empty"));
        }
        let mut cluster = InitialCluster::default();
        for (i, part) in s.split(',').enumerate() {
            let n = i + 1;
            let (name, url) = part.split_once('=').ok_or_else(|| {
                Error::invalid(format!(
                    "initial cluster entry {n} `{part}` is not name=url"
                ))
            })?;
            check_name(name).map_err(|why| {
                Error::invalid(format!("initial cluster entry {n} `{part}`: {why}"))
            })?;
            validate_url(url)
                .map_err(|e| Error::invalid(format!("initial cluster entry {n} ({name}): {e}")))?;
            if let Some((other, _)) = cluster.entries.iter().find(|(_, u)| u == url) {
                return Err(Error::invalid(format!(
                    "initial cluster entry {n}: {url} is listed for both {other} and {name}"
                )));
            }
            cluster.entries.push((name.to_string(), url.to_string()));
        }
        Ok(cluster)
    }

    pub fn render(&self) -> String {
        self.entries
            .iter()
            .map(|(n, u)| format!("{n}={u}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Member names in first-seen order, each once.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for (n, _) in &self.entries {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
        names
    }

    pub fn urls(&self, name: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, u)| u.as_str())
            .collect()
    }

    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }

    /// Make `name` have exactly `urls`, at the position of its first entry (appended if new).
    /// Returns whether anything changed.
    pub fn set_member(&mut self, name: &str, urls: &[String]) -> Result<bool> {
        check_name(name).map_err(|why| Error::invalid(format!("member name `{name}`: {why}")))?;
        if urls.is_empty() {
            return Err(Error::invalid(format!(
                "member {name} needs at least one peer URL"
            )));
        }
        for url in urls {
            validate_url(url)?;
            if let Some((other, _)) = self.entries.iter().find(|(n, u)| u == url && n != name) {
                return Err(Error::invalid(format!(
                    "{url} is already the peer URL of {other}"
                )));
            }
        }
        if self.urls(name) == urls.iter().map(String::as_str).collect::<Vec<_>>() {
            return Ok(false);
        }
        let at = self
            .entries
            .iter()
            .position(|(n, _)| n == name)
            .unwrap_or(self.entries.len());
        self.entries.retain(|(n, _)| n != name);
        let new = urls.iter().map(|u| (name.to_string(), u.clone()));
        self.entries.splice(at..at, new);
        Ok(true)
    }

    pub fn remove_member(&mut self, name: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(n, _)| n != name);
        self.entries.len() != before
    }

    /// Remove the entry with this peer URL (a member keeps its other URLs). Procedures often
    /// know a dead member only by its address; a trailing slash does not matter.
    pub fn remove_peer_url(&mut self, url: &str) -> bool {
        let bare = |u: &str| u.strip_suffix('/').unwrap_or(u).to_string();
        let before = self.entries.len();
        self.entries.retain(|(_, u)| bare(u) != bare(url));
        self.entries.len() != before
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn check_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        Err("empty member name")
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err("whitespace in member name")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE: &str =
        "m0=https://10.0.0.1:2380,m1=https://10.0.0.2:2380,m2=https://10.0.0.3:2380";

    #[test]
    fn round_trip_and_multi_url() {
        let c = InitialCluster::parse(THREE).unwrap();
        assert_eq!(c.render(), THREE);
        assert_eq!(c.names(), ["m0", "m1", "m2"]);
        let c = InitialCluster::parse("a=http://x:1,b=http://y:1,a=http://z:1").unwrap();
        assert_eq!(c.names(), ["a", "b"]);
        assert_eq!(c.urls("a"), ["http://x:1", "http://z:1"]);
    }

    #[test]
    fn edits_keep_order() {
        let mut c = InitialCluster::parse(THREE).unwrap();
        assert!(c
            .set_member("m1", &["https://10.0.0.9:2380".into()])
            .unwrap());
        assert!(!c
            .set_member("m1", &["https://10.0.0.9:2380".into()])
            .unwrap());
        assert!(c
            .set_member("m3", &["https://10.0.0.4:2380".into()])
            .unwrap());
        assert!(c.remove_member("m0"));
        assert!(!c.remove_member("m0"));
        assert_eq!(
            c.render(),
            "m1=https://10.0.0.9:2380,m2=https://10.0.0.3:2380,m3=https://10.0.0.4:2380"
        );
        let e = c
            .set_member("m4", &["https://10.0.0.3:2380".into()])
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "https://10.0.0.3:2380 is already the peer URL of m2"
        );
    }

    #[test]
    fn remove_by_peer_url() {
        let mut c = InitialCluster::parse("a=http://x:1,b=http://y:1,a=http://z:1").unwrap();
        assert!(c.remove_peer_url("http://z:1/"));
        assert!(!c.remove_peer_url("http://z:1"));
        assert_eq!(c.render(), "a=http://x:1,b=http://y:1");
        assert!(c.remove_peer_url("http://y:1"));
        assert!(c.remove_peer_url("http://x:1"));
        assert!(c.is_empty());
    }

    #[test]
    fn clear_errors() {
        for (s, msg) in [
            ("", "initial cluster is empty"),
            ("m0", "initial cluster entry 1 `m0` is not name=url"),
            (
                "m0=https://a:1,=https://b:1",
                "initial cluster entry 2 `=https://b:1`: empty member name",
            ),
            (
                "m0=https://a:1, m1=https://b:1",
                "whitespace in member name",
            ),
            (
                "m0=https://a",
                "initial cluster entry 1 (m0): invalid URL `https://a`: missing port",
            ),
            (
                "a=https://a:1,b=https://a:1",
                "https://a:1 is listed for both a and b",
            ),
        ] {
            let e = InitialCluster::parse(s).unwrap_err().to_string();
            assert!(e.contains(msg), "{s}: {e}");
        }
    }
}
