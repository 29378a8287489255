//! Environment files such as `/etc/etcd/etcd.conf` (systemd `EnvironmentFile=`), read with
//! confedit's parser: the lab reads a member's settings exactly as the modules that edit them
//! (and systemd) do.

use crate::error::{Context, Result};
use confedit::EnvFile;
use std::path::Path;

/// The settings of an env file's text, in file order.
pub fn parse(text: &str) -> Result<Vec<(String, String)>> {
    EnvFile::parse(text)
        .map(|f| f.settings())
        .map_err(crate::Error::msg)
}

/// Reads and parses an environment file.
pub fn read(path: &Path) -> Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_rpm_style_file() {
        let text = "#[member]\nETCD_NAME=etcd1\n#ETCD_WAL_DIR=\"\"\n\n  ETCD_CLIENT_CERT_AUTH=\"true\"\nETCD_X='a b'\nETCD_Y=\"q\\\"x\"\nETCD_EMPTY=\n";
        let vars = parse(text).unwrap();
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("ETCD_NAME"), Some("etcd1"));
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
        // A key set twice is refused, as every module that edits the file refuses it.
        assert!(parse("ETCD_NAME=a\nETCD_NAME=b\n").is_err());
    }
}
