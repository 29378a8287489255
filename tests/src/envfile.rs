//! A minimal reader for environment files such as `/etc/etcd/etcd.conf` (systemd
//! `EnvironmentFile=` style). Stand-in until the project's shared parser (confedit) lands; it
//! only has to read what the lab and the playbooks write.

use crate::error::{Context, Result};
use std::path::Path;

/// Parses `KEY=VALUE` lines. Blank lines and lines starting with `#` are skipped; an optional
/// `export ` prefix is accepted; a value wrapped in matching single or double quotes is
/// unwrapped (double quotes honour `\"` and `\\`). Later assignments override earlier ones, as
/// they would in a shell, but the first position of the key is kept.
pub fn parse(text: &str) -> Result<Vec<(String, String)>> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (key, value) = line
            .split_once('=')
            .with_context(|| format!("line {}: expected KEY=VALUE, got {raw:?}", n + 1))?;
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(crate::Error::msg(format!(
                "line {}: invalid variable name {key:?}",
                n + 1
            )));
        }
        let value = unquote(value.trim()).with_context(|| format!("line {}", n + 1))?;
        match vars.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => vars.push((key.to_string(), value)),
        }
    }
    Ok(vars)
}

/// Reads and parses an environment file.
pub fn read(path: &Path) -> Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("parsing {}", path.display()))
}

fn unquote(v: &str) -> Result<String> {
    let bytes = v.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'\'' && bytes[bytes.len() - 1] == b'\'' {
        return Ok(v[1..v.len() - 1].to_string());
    }
    if bytes.len() >= 2 && bytes[0] == b'"' && bytes[bytes.len() - 1] == b'"' {
        let mut out = String::new();
        let mut chars = v[1..v.len() - 1].chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some(e @ ('"' | '\\' | '$' | '`')) => out.push(e),
                    Some(other) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        return Ok(out);
    }
    if v.starts_with('"') || v.starts_with('\'') {
        return Err(crate::Error::msg(format!("unterminated quote in {v:?}")));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_rpm_style_file() {
        let text = "#[member]\nETCD_NAME=etcd1\n#ETCD_WAL_DIR=\"\"\n\n  ETCD_CLIENT_CERT_AUTH=\"true\"\nETCD_X='a b'\nexport ETCD_Y=\"q\\\"x\"\nETCD_NAME=etcd2\nETCD_EMPTY=\n";
        let vars = parse(text).unwrap();
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("ETCD_NAME"), Some("etcd2"));
        assert_eq!(vars[0].0, "ETCD_NAME");
        assert_eq!(get("ETCD_CLIENT_CERT_AUTH"), Some("true"));
        assert_eq!(get("ETCD_X"), Some("a b"));
        assert_eq!(get("ETCD_Y"), Some("q\"x"));
        assert_eq!(get("ETCD_EMPTY"), Some(""));
        assert_eq!(get("ETCD_WAL_DIR"), None);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("NOT A VAR\n").is_err());
        assert!(parse("A-B=1\n").is_err());
        assert!(parse("A=\"open\n").is_err());
    }
}
