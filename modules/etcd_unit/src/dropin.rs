//! The force-new-cluster drop-in, pure: the unit's command line with the flag added, and the
//! drop-in that runs it. etcd 3.4 refuses `--force-new-cluster` together with
//! `ETCD_FORCE_NEW_CLUSTER` in its environment, so on systemd hosts the flag goes on the
//! command line (seed 001, 39.1.3.2), repeating whichever ExecStart the unit has: the RHEL 7
//! RPM's 3.2/3.3 unit passes flags of its own that a new line must keep.

/// The first line of every drop-in this module writes, so a reader of the host knows whose it
/// is and that it must not stay.
pub const HEADER: &str =
    "# etcd-ops (restore-quorum.yml, seed 001 39.1.3.2): removed once the cluster is re-formed";

const FLAG: &str = "--force-new-cluster";

/// The unit's effective `ExecStart=` line (the last non-empty one of its [Service] section)
/// with the flag added: inside the closing quote of a `/bin/bash -c "..."` line, else at the
/// end. Refused: no ExecStart, a continued line (`\` at its end), or one that has the flag.
pub fn force_new_exec_start(unit: &str) -> Result<String, String> {
    let mut section = "";
    let mut last: Option<&str> = None;
    for line in unit.lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            section = t;
            continue;
        }
        if section != "[Service]" {
            continue;
        }
        if let Some(value) = t.strip_prefix("ExecStart=") {
            // `ExecStart=` alone resets the list; the last non-empty line is what runs.
            last = (!value.trim().is_empty()).then_some(t);
        }
    }
    let line = last.ok_or("the unit has no ExecStart= line in its [Service] section")?;
    if line.ends_with('\\') {
        return Err(format!(
            "the unit's ExecStart continues on the next line ({line}); write the drop-in by hand"
        ));
    }
    if line.split_whitespace().any(|w| w.trim_matches('"') == FLAG) {
        return Err(format!("the unit's ExecStart already has {FLAG}: {line}"));
    }
    Ok(match line.strip_suffix('"') {
        Some(inner) => format!("{inner} {FLAG}\""),
        None => format!("{line} {FLAG}"),
    })
}

/// The drop-in: the header, then [Service] resetting ExecStart and running `exec_start`.
pub fn text(exec_start: &str) -> String {
    format!("{HEADER}\n[Service]\nExecStart=\n{exec_start}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_RPM_LIKE: &str = "[Unit]\nDescription=Etcd Server\n\n[Service]\nType=notify\n\
        ExecStart=/bin/bash -c \"GOMAXPROCS=$(nproc) /usr/bin/etcd\"\nRestart=on-failure\n";

    #[test]
    fn the_flag_goes_inside_a_quoted_command() {
        assert_eq!(
            force_new_exec_start(DEBIAN_RPM_LIKE).unwrap(),
            "ExecStart=/bin/bash -c \"GOMAXPROCS=$(nproc) /usr/bin/etcd --force-new-cluster\""
        );
        // The RHEL 7 RPM's flags are kept.
        let rpm = "[Service]\nExecStart=/bin/bash -c \"GOMAXPROCS=$(nproc) /usr/bin/etcd \
            --name=\\\"${ETCD_NAME}\\\" --data-dir=\\\"${ETCD_DATA_DIR}\\\"\"\n";
        let line = force_new_exec_start(rpm).unwrap();
        assert!(
            line.ends_with("--data-dir=\\\"${ETCD_DATA_DIR}\\\" --force-new-cluster\""),
            "{line}"
        );
    }

    #[test]
    fn a_plain_command_gets_the_flag_at_its_end() {
        let unit = "[Service]\nExecStart=/usr/bin/etcd $ETCD_OPTS\n";
        assert_eq!(
            force_new_exec_start(unit).unwrap(),
            "ExecStart=/usr/bin/etcd $ETCD_OPTS --force-new-cluster"
        );
    }

    #[test]
    fn the_last_execstart_of_the_service_section_counts() {
        let unit = "[Unit]\nExecStart=/not/this\n[Service]\nExecStart=/usr/bin/old\n\
            ExecStart=\nExecStart=/usr/bin/etcd\n[Install]\nWantedBy=multi-user.target\n";
        assert_eq!(
            force_new_exec_start(unit).unwrap(),
            "ExecStart=/usr/bin/etcd --force-new-cluster"
        );
    }

    #[test]
    fn what_cannot_be_rewritten_is_refused() {
        let e = force_new_exec_start("[Service]\nType=notify\n").unwrap_err();
        assert!(e.contains("no ExecStart="), "{e}");
        let e = force_new_exec_start("[Service]\nExecStart=\n").unwrap_err();
        assert!(e.contains("no ExecStart="), "{e}");
        let e = force_new_exec_start("[Service]\nExecStart=/usr/bin/etcd \\\n  --x\n").unwrap_err();
        assert!(e.contains("continues on the next line"), "{e}");
        let e = force_new_exec_start("[Service]\nExecStart=/usr/bin/etcd --force-new-cluster\n")
            .unwrap_err();
        assert!(e.contains("already has --force-new-cluster"), "{e}");
    }

    #[test]
    fn the_dropin_resets_execstart_first() {
        let t = text("ExecStart=/usr/bin/etcd --force-new-cluster");
        assert_eq!(
            t.lines().skip(1).collect::<Vec<_>>(),
            [
                "[Service]",
                "ExecStart=",
                "ExecStart=/usr/bin/etcd --force-new-cluster"
            ]
        );
        assert!(t.starts_with("# etcd-ops"));
    }
}
