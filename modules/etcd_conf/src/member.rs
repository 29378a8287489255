//! `state: read`: the member as etcd itself sees it from this file, so playbooks take etcd's
//! name, URLs, data dir and certificates from the host rather than assume them (inventories
//! from openshift-ansible do not spell them out). Values a fresh RPM install leaves (the
//! `default` name, localhost URLs) say nothing about the member and are left out.

use confedit::EnvFile;
use serde_json::{json, Map, Value};

fn urls(conf: &EnvFile, key: &str) -> Vec<String> {
    conf.get(key)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty() && !is_localhost(u))
        .map(str::to_string)
        .collect()
}

/// `http://localhost:2379`, `https://127.0.0.1:2380`: a member nobody else can reach.
fn is_localhost(url: &str) -> bool {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    host == "localhost" || host == "127.0.0.1" || host == "[::1]"
}

/// The host part of a URL (`10.0.0.1`, `master-1.example.com`).
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?.to_string(),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_string(),
    };
    (!host.is_empty()).then_some(host)
}

/// `{name, ip, client_url, client_urls, peer_url, peer_urls, data_dir, wal_dir, cert_file, ...}`:
/// only what the file says; a key it lacks is absent.
pub fn member(conf: &EnvFile) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    if let Some(name) = conf
        .get("ETCD_NAME")
        .filter(|n| !n.is_empty() && *n != "default")
    {
        put("name", json!(name));
    }
    let client = urls(conf, "ETCD_ADVERTISE_CLIENT_URLS");
    if let Some(first) = client.first() {
        put("client_url", json!(first));
        if let Some(h) = host_of(first) {
            put("ip", json!(h));
        }
        put("client_urls", json!(client));
    }
    let peer = urls(conf, "ETCD_INITIAL_ADVERTISE_PEER_URLS");
    if let Some(first) = peer.first() {
        put("peer_url", json!(first));
        put("peer_urls", json!(peer));
    }
    for (key, field) in [
        ("ETCD_DATA_DIR", "data_dir"),
        ("ETCD_WAL_DIR", "wal_dir"),
        ("ETCD_CERT_FILE", "cert_file"),
        ("ETCD_KEY_FILE", "key_file"),
        ("ETCD_TRUSTED_CA_FILE", "trusted_ca_file"),
        ("ETCD_PEER_CERT_FILE", "peer_cert_file"),
        ("ETCD_PEER_KEY_FILE", "peer_key_file"),
        ("ETCD_PEER_TRUSTED_CA_FILE", "peer_trusted_ca_file"),
    ] {
        if let Some(v) = conf.get(key).filter(|v| !v.is_empty()) {
            put(field, json!(v));
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_openshift_member_is_read_as_etcd_reads_it() {
        let conf = EnvFile::parse(
            "ETCD_NAME=master-1.example.com\n\
             ETCD_DATA_DIR=/var/lib/etcd/\n\
             ETCD_ADVERTISE_CLIENT_URLS=\"https://10.0.0.11:2379\"\n\
             ETCD_INITIAL_ADVERTISE_PEER_URLS=https://10.0.0.11:2380\n\
             ETCD_PEER_CERT_FILE=/etc/etcd/peer.crt\n\
             #ETCD_WAL_DIR=\"\"\n",
        )
        .unwrap();
        let m = member(&conf);
        assert_eq!(m["name"], "master-1.example.com");
        assert_eq!(m["ip"], "10.0.0.11");
        assert_eq!(m["client_url"], "https://10.0.0.11:2379");
        assert_eq!(m["peer_url"], "https://10.0.0.11:2380");
        assert_eq!(m["data_dir"], "/var/lib/etcd/");
        assert_eq!(m["peer_cert_file"], "/etc/etcd/peer.crt");
        assert!(
            m.get("wal_dir").is_none(),
            "a commented default is not a setting"
        );
    }

    #[test]
    fn a_fresh_rpm_install_says_nothing_about_the_member() {
        let conf = EnvFile::parse(
            "ETCD_NAME=default\nETCD_DATA_DIR=\"/var/lib/etcd/default.etcd\"\n\
             ETCD_LISTEN_CLIENT_URLS=\"http://localhost:2379\"\n\
             ETCD_ADVERTISE_CLIENT_URLS=\"http://localhost:2379\"\n",
        )
        .unwrap();
        let m = member(&conf);
        assert!(
            m.get("name").is_none() && m.get("client_url").is_none(),
            "{m}"
        );
        assert_eq!(m["data_dir"], "/var/lib/etcd/default.etcd");
    }

    #[test]
    fn url_hosts() {
        assert_eq!(
            host_of("https://[fd00::1]:2379").as_deref(),
            Some("fd00::1")
        );
        assert_eq!(
            host_of("https://etcd1.lab.local:2379").as_deref(),
            Some("etcd1.lab.local")
        );
        assert!(is_localhost("http://localhost:2379"));
        assert!(!is_localhost("https://127.0.3.11:2379"));
    }
}
