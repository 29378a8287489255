//! What etcd itself would refuse at start-up, checked before a file is written: a malformed
//! ETCD_INITIAL_CLUSTER or an ETCD_INITIAL_CLUSTER_STATE other than new/existing leaves the
//! member unable to start, which mid-recovery costs more than a failed task.

use confedit::{EnvFile, Error, InitialCluster};

pub const INITIAL_CLUSTER: &str = "ETCD_INITIAL_CLUSTER";
pub const INITIAL_CLUSTER_STATE: &str = "ETCD_INITIAL_CLUSTER_STATE";
pub const FORCE_NEW_CLUSTER: &str = "ETCD_FORCE_NEW_CLUSTER";

/// Why `value` is not acceptable for `key`, for the keys etcd is strict about.
pub fn check_value(key: &str, value: &str) -> Result<(), String> {
    match key {
        INITIAL_CLUSTER => InitialCluster::parse(value)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        INITIAL_CLUSTER_STATE if value != "new" && value != "existing" => {
            Err(format!("`{value}` is not new or existing"))
        }
        _ => Ok(()),
    }
}

/// The env-file parse plus the checks above, each error naming its line.
pub fn validate(text: &str) -> confedit::Result<()> {
    let conf = EnvFile::parse(text)?;
    for key in [INITIAL_CLUSTER, INITIAL_CLUSTER_STATE] {
        if let Some(value) = conf.get(key) {
            check_value(key, value).map_err(|why| {
                let msg = format!("{key}: {why}");
                match conf.line_of(key) {
                    Some(line) => Error::parse(line, msg),
                    None => Error::invalid(msg),
                }
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_key_and_line() {
        let e = validate("ETCD_NAME=a\nETCD_INITIAL_CLUSTER_STATE=old\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: ETCD_INITIAL_CLUSTER_STATE: `old` is not new or existing"
        );
        let e = validate("ETCD_INITIAL_CLUSTER=a=http://x\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("line 1: ETCD_INITIAL_CLUSTER: initial cluster entry 1 (a)"),
            "{e}"
        );
        assert!(
            validate("ETCD_INITIAL_CLUSTER=a=http://x:1\nETCD_INITIAL_CLUSTER_STATE=new\n").is_ok()
        );
    }
}
