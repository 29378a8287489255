//! etcd server versions as members report them (`3.3.11`), compared by major.minor: the
//! features the modules branch on (learners, `raftAppliedIndex`) arrived in a minor release.

/// Whether `version` is at least `major.minor`. An unparsable version is treated as older,
/// so a feature is only used when a member positively reports it.
pub fn at_least(version: &str, major: u32, minor: u32) -> bool {
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(ma), Some(mi)) => (ma, mi) >= (major, minor),
        _ => false,
    }
}

/// Learners (and `member promote`) exist from etcd 3.4 on.
pub fn has_learners(version: &str) -> bool {
    at_least(version, 3, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_major_minor() {
        assert!(has_learners("3.4.23"));
        assert!(has_learners("3.5.0"));
        assert!(has_learners("v3.4.0"));
        assert!(!has_learners("3.3.11"));
        assert!(!has_learners("3.2.32"));
        assert!(!has_learners(""));
        assert!(!has_learners("garbage"));
        assert!(at_least("4.0.0", 3, 4));
    }
}
