//! Starting and stopping the unit: what systemd says of it, and what that asks for. Pure; the
//! systemctl calls are in `systemctl.rs`.

/// `systemctl show -p LoadState -p ActiveState` of the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitState {
    pub load: String,
    pub active: String,
}

impl UnitState {
    /// `KEY=value` lines, in any order; a key systemd did not print stays empty.
    pub fn parse(show: &str) -> UnitState {
        let get = |key: &str| {
            show.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        UnitState {
            load: get("LoadState"),
            active: get("ActiveState"),
        }
    }

    /// Running or on its way: a Type=notify etcd waiting for its peers is `activating` for as
    /// long as they are down, and a unit in Restart= back-off is `activating` too.
    pub fn runs(&self) -> bool {
        matches!(self.active.as_str(), "active" | "activating" | "reloading")
    }
}

/// One systemctl step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A unit that failed (a crash loop that hit its start limit, say) refuses `start` until
    /// its failure is reset; on the day etcd is restarted by hand, that is the usual state.
    ResetFailed,
    Stop,
    /// `--no-block`: etcd reports ready only once it has published itself through raft, which
    /// a member whose peers are still down never does; the caller waits on its port instead.
    Start,
}

/// The steps `state` asks for, given what systemd says now; none means nothing changes.
pub fn plan(state: &str, now: &UnitState) -> Result<Vec<Step>, String> {
    if now.load == "not-found" {
        return Err("systemd has no such unit (LoadState=not-found)".to_string());
    }
    let start = |steps: &mut Vec<Step>| {
        if now.active == "failed" {
            steps.push(Step::ResetFailed);
        }
        steps.push(Step::Start);
    };
    let mut steps = Vec::new();
    match state {
        "started" if now.runs() => {}
        "started" => start(&mut steps),
        "stopped" if now.runs() || now.active == "deactivating" => steps.push(Step::Stop),
        "stopped" => {}
        "restarted" => {
            if now.runs() || now.active == "deactivating" {
                steps.push(Step::Stop);
                steps.push(Step::Start);
            } else {
                start(&mut steps);
            }
        }
        other => return Err(format!("unknown state {other:?}")),
    }
    if now.load == "masked" && steps.contains(&Step::Start) {
        return Err(
            "the unit is masked: systemd will not start it (systemctl unmask it first)".to_string(),
        );
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(active: &str) -> UnitState {
        UnitState {
            load: "loaded".into(),
            active: active.into(),
        }
    }

    #[test]
    fn show_output_is_read_in_any_order() {
        let s = UnitState::parse("ActiveState=activating\nLoadState=loaded\nOther=x=y\n");
        assert_eq!(s, unit("activating"));
        assert_eq!(UnitState::parse("").active, "");
    }

    #[test]
    fn a_running_or_waiting_unit_is_left_alone_by_started() {
        for a in ["active", "activating", "reloading"] {
            assert_eq!(plan("started", &unit(a)).unwrap(), []);
        }
        assert_eq!(plan("started", &unit("inactive")).unwrap(), [Step::Start]);
    }

    #[test]
    fn a_failed_unit_is_reset_before_it_is_started() {
        assert_eq!(
            plan("started", &unit("failed")).unwrap(),
            [Step::ResetFailed, Step::Start]
        );
        assert_eq!(
            plan("restarted", &unit("failed")).unwrap(),
            [Step::ResetFailed, Step::Start]
        );
    }

    #[test]
    fn stopped_stops_only_what_runs_and_a_failed_unit_is_stopped_already() {
        assert_eq!(plan("stopped", &unit("activating")).unwrap(), [Step::Stop]);
        assert_eq!(
            plan("stopped", &unit("deactivating")).unwrap(),
            [Step::Stop]
        );
        assert_eq!(plan("stopped", &unit("inactive")).unwrap(), []);
        assert_eq!(plan("stopped", &unit("failed")).unwrap(), []);
        assert_eq!(
            plan("restarted", &unit("active")).unwrap(),
            [Step::Stop, Step::Start]
        );
    }

    #[test]
    fn a_missing_or_masked_unit_is_refused() {
        let missing = UnitState {
            load: "not-found".into(),
            active: "inactive".into(),
        };
        assert!(plan("started", &missing)
            .unwrap_err()
            .contains("no such unit"));
        let masked = UnitState {
            load: "masked".into(),
            active: "inactive".into(),
        };
        assert!(plan("started", &masked).unwrap_err().contains("masked"));
        assert_eq!(plan("stopped", &masked).unwrap(), []);
    }
}
