//! The v2 store through the v2 HTTP API: whether a member serves it, a flat export of every
//! node (directories, values, TTLs) and putting such an export back.
//!
//! A v3 snapshot carries no v2 store, and flannel on OpenShift 3.x keeps its network config
//! there. HTTP/1.0 by hand over openssl (one request per connection, no chunked bodies):
//! the requests are few and small, and etcd-client's hyper stack speaks only HTTP/2.

use crate::conn::ConnOpts;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};

/// One node of the v2 store, as exported: parents come before their children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub key: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dir: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Seconds left when exported; restored as the new TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
}

/// What a member says about its v2 API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Served {
    /// The v2 API answers; the user nodes (keys and directories) it holds.
    Yes(Vec<Node>),
    /// 404 on /v2/keys: started without `--enable-v2`.
    Off,
}

/// The v2 store's user nodes, walked from `GET /v2/keys/?recursive=true&sorted=true`.
/// Internal nodes (membership under `/0`, auth under `/2`) are not visible there.
pub fn read_tree(conn: &ConnOpts, endpoint: &str) -> Result<Served, String> {
    let (status, body) = request(
        conn,
        endpoint,
        "GET",
        "/v2/keys/?recursive=true&sorted=true",
        None,
    )?;
    if status == 404 && !body.trim_start().starts_with('{') {
        return Ok(Served::Off);
    }
    if status != 200 {
        return Err(format!(
            "{endpoint}: GET /v2/keys answered {status}: {}",
            body.trim()
        ));
    }
    let v: Value = serde_json::from_str(&body)
        .map_err(|e| format!("{endpoint}: /v2/keys answered no JSON: {e}"))?;
    let mut out = Vec::new();
    if let Some(children) = v["node"]["nodes"].as_array() {
        for c in children {
            flatten(c, &mut out);
        }
    }
    Ok(Served::Yes(out))
}

fn flatten(v: &Value, out: &mut Vec<Node>) {
    let dir = v["dir"].as_bool().unwrap_or(false);
    out.push(Node {
        key: v["key"].as_str().unwrap_or_default().to_string(),
        dir,
        value: if dir {
            None
        } else {
            Some(v["value"].as_str().unwrap_or_default().to_string())
        },
        ttl: v["ttl"].as_i64(),
    });
    if let Some(children) = v["nodes"].as_array() {
        for c in children {
            flatten(c, out);
        }
    }
}

/// Writes one node (`PUT`, `dir=true` for a directory). An existing directory is left as it is.
pub fn put(conn: &ConnOpts, endpoint: &str, node: &Node) -> Result<(), String> {
    let mut form = Vec::new();
    if node.dir {
        form.push("dir=true".to_string());
    } else {
        form.push(format!(
            "value={}",
            encode(node.value.as_deref().unwrap_or_default(), false)
        ));
    }
    if let Some(ttl) = node.ttl.filter(|t| *t > 0) {
        form.push(format!("ttl={ttl}"));
    }
    let path = format!("/v2/keys{}", encode(&node.key, true));
    let (status, body) = request(conn, endpoint, "PUT", &path, Some(&form.join("&")))?;
    if (200..300).contains(&status) {
        return Ok(());
    }
    let code = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["errorCode"].as_i64());
    // 102 "Not a file": the directory exists already (a restore run twice).
    if node.dir && code == Some(102) {
        return Ok(());
    }
    Err(format!(
        "{endpoint}: PUT {} answered {status}: {}",
        node.key,
        body.trim()
    ))
}

/// Percent-encodes all but RFC 3986's unreserved characters (and `/` in a path).
pub fn encode(s: &str, path: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (path && b == b'/');
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One HTTP/1.0 request; the status and body. HTTP/1.0 makes etcd close the connection after
/// the body instead of sending it chunked.
pub fn request(
    conn: &ConnOpts,
    endpoint: &str,
    method: &str,
    path: &str,
    form: Option<&str>,
) -> Result<(u16, String), String> {
    let (tls, authority) = match endpoint.split_once("://") {
        Some(("https", rest)) => (true, rest.trim_end_matches('/')),
        Some(("http", rest)) => (false, rest.trim_end_matches('/')),
        _ => return Err(format!("endpoint '{endpoint}' is not an http(s) URL")),
    };
    let host = match authority.rsplit_once(':') {
        Some((h, _)) => h.trim_start_matches('[').trim_end_matches(']'),
        None => authority,
    };
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| format!("{endpoint}: resolving: {e}"))?
        .next()
        .ok_or_else(|| format!("{endpoint}: no address"))?;
    let tcp = TcpStream::connect_timeout(&addr, conn.timeout)
        .map_err(|e| format!("{endpoint}: connecting: {e}"))?;
    let io = |e: std::io::Error| format!("{endpoint}: {method} {path}: {e}");
    tcp.set_read_timeout(Some(conn.timeout)).map_err(io)?;
    tcp.set_write_timeout(Some(conn.timeout)).map_err(io)?;
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {authority}\r\n");
    if let Some(f) = form {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            f.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(form.unwrap_or_default());
    let mut raw = Vec::new();
    if tls {
        let mut b = SslConnector::builder(SslMethod::tls_client())
            .map_err(|e| format!("{endpoint}: TLS setup: {e}"))?;
        b.set_verify(SslVerifyMode::PEER);
        conn.tls
            .configure(&mut b)
            .map_err(|e| format!("{endpoint}: TLS material: {e}"))?;
        let mut s = b
            .build()
            .connect(host, tcp)
            .map_err(|e| format!("{endpoint}: TLS handshake: {e}"))?;
        s.write_all(req.as_bytes()).map_err(io)?;
        read_all(&mut s, &mut raw).map_err(io)?;
    } else {
        let mut s = tcp;
        s.write_all(req.as_bytes()).map_err(io)?;
        s.read_to_end(&mut raw).map_err(io)?;
    }
    parse_response(&raw).ok_or_else(|| format!("{endpoint}: {method} {path}: not an HTTP answer"))
}

/// Reads to the end; a peer closing without TLS close_notify after the body is an end too.
fn read_all<R: Read>(s: &mut R, out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if !out.is_empty() && e.kind() != std::io::ErrorKind::WouldBlock => {
                return Ok(())
            }
            Err(e) => return Err(e),
        }
    }
}

fn parse_response(raw: &[u8]) -> Option<(u16, String)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = String::from_utf8_lossy(&raw[end + 4..]).into_owned();
    Some((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_keys_and_values_for_a_form_and_a_path() {
        assert_eq!(encode("/a b/c&d", true), "/a%20b/c%26d");
        assert_eq!(
            encode("{\"Network\":\"10.1.0.0/16\"}", false),
            "%7B%22Network%22%3A%2210.1.0.0%2F16%22%7D"
        );
    }

    #[test]
    fn flattens_a_tree_parents_first() {
        let v: Value = serde_json::from_str(
            r#"{"key":"/d","dir":true,"nodes":[{"key":"/d/k","value":"v","ttl":30},{"key":"/d/e","dir":true}]}"#,
        )
        .unwrap();
        let mut out = Vec::new();
        flatten(&v, &mut out);
        let keys: Vec<&str> = out.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(keys, ["/d", "/d/k", "/d/e"]);
        assert_eq!(out[1].value.as_deref(), Some("v"));
        assert_eq!(out[1].ttl, Some(30));
        assert!(out[2].dir && out[2].value.is_none());
    }

    #[test]
    fn parses_status_and_body() {
        assert_eq!(
            parse_response(b"HTTP/1.0 404 Not Found\r\nX: y\r\n\r\n404 page not found\n"),
            Some((404, "404 page not found\n".into()))
        );
        assert_eq!(parse_response(b"garbage"), None);
    }
}
