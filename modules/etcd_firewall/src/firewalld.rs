//! firewalld: ports opened in the runtime configuration (effective now) and in the permanent
//! one (effective after a reload or reboot), each queried first so only what is missing is
//! changed. The planning is pure and unit-tested; the end-to-end path runs against the real
//! daemon in tests/etcd_firewall.rs (in namespaces of the test's own).

use crate::exec::{Runner, Tool};
use crate::rules::{Request, State};

/// The two configurations firewalld keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Runtime,
    Permanent,
}

fn args(scope: Scope, zone: Option<&str>, action: &str, port: u16, protocol: &str) -> Vec<String> {
    let mut v = Vec::new();
    if scope == Scope::Permanent {
        v.push("--permanent".to_string());
    }
    if let Some(z) = zone {
        v.push(format!("--zone={z}"));
    }
    v.push(format!("--{action}-port={port}/{protocol}"));
    v
}

pub fn query_args(scope: Scope, zone: Option<&str>, port: u16, protocol: &str) -> Vec<String> {
    args(scope, zone, "query", port, protocol)
}

/// Whether each port is open, per scope, as the queries answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortState {
    pub port: u16,
    pub runtime: bool,
    pub permanent: bool,
}

/// The `firewall-cmd` argument lists that bring both configurations to the request.
pub fn plan(req: &Request, zone: Option<&str>, states: &[PortState]) -> Vec<Vec<String>> {
    let (want, action) = match req.state {
        State::Present => (true, "add"),
        State::Absent => (false, "remove"),
    };
    let mut out = Vec::new();
    for s in states {
        for (scope, is) in [(Scope::Runtime, s.runtime), (Scope::Permanent, s.permanent)] {
            if is != want {
                out.push(args(scope, zone, action, s.port, &req.protocol));
            }
        }
    }
    out
}

/// firewalld's answer to a query: exit 0 is yes, 1 is no, anything else an error.
fn query(runner: &dyn Runner, tool: &Tool, a: &[String]) -> Result<bool, String> {
    let out = tool.run(runner, a, &[0, 1])?;
    Ok(out.code == Some(0))
}

/// Queries, plans and (unless `check`) runs; returns the changing commands as displayed.
pub fn apply(
    runner: &dyn Runner,
    tool: &Tool,
    req: &Request,
    zone: Option<&str>,
    check: bool,
) -> Result<Vec<String>, (String, Vec<String>)> {
    let mut states = Vec::new();
    for &port in &req.ports {
        let q = |scope| query(runner, tool, &query_args(scope, zone, port, &req.protocol));
        states.push(PortState {
            port,
            runtime: q(Scope::Runtime).map_err(|e| (e, Vec::new()))?,
            permanent: q(Scope::Permanent).map_err(|e| (e, Vec::new()))?,
        });
    }
    let commands = plan(req, zone, &states);
    let shown: Vec<String> = commands.iter().map(|c| tool.display(c)).collect();
    if !check {
        for (i, c) in commands.iter().enumerate() {
            tool.run(runner, c, &[0])
                .map_err(|e| (e, shown[..i].to_vec()))?;
        }
    }
    Ok(shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::fake::Script;
    use std::path::PathBuf;

    fn req(state: State) -> Request {
        Request {
            chain: "OS_FIREWALL_ALLOW".into(),
            protocol: "tcp".into(),
            ports: vec![2379, 2380],
            state,
        }
    }

    fn tool() -> Tool {
        Tool {
            name: "firewall-cmd".into(),
            path: PathBuf::from("/usr/bin/firewall-cmd"),
        }
    }

    #[test]
    fn plan_adds_only_the_missing_scope() {
        let states = [
            PortState {
                port: 2379,
                runtime: true,
                permanent: false,
            },
            PortState {
                port: 2380,
                runtime: false,
                permanent: false,
            },
        ];
        let joined: Vec<String> = plan(&req(State::Present), Some("internal"), &states)
            .iter()
            .map(|c| c.join(" "))
            .collect();
        assert_eq!(
            joined,
            [
                "--permanent --zone=internal --add-port=2379/tcp",
                "--zone=internal --add-port=2380/tcp",
                "--permanent --zone=internal --add-port=2380/tcp",
            ]
        );
        let open = [PortState {
            port: 2379,
            runtime: true,
            permanent: true,
        }];
        assert!(plan(&req(State::Present), None, &open).is_empty());
        assert_eq!(
            plan(&req(State::Absent), None, &open),
            [
                vec!["--remove-port=2379/tcp".to_string()],
                vec!["--permanent".into(), "--remove-port=2379/tcp".into()]
            ]
        );
    }

    #[test]
    fn apply_queries_first_then_changes_only_what_is_missing() {
        let s = Script::new(&[
            ("/usr/bin/firewall-cmd --query-port=2379/tcp", 0, "yes"),
            (
                "/usr/bin/firewall-cmd --permanent --query-port=2379/tcp",
                0,
                "yes",
            ),
            ("/usr/bin/firewall-cmd --query-port=2380/tcp", 1, "no"),
            (
                "/usr/bin/firewall-cmd --permanent --query-port=2380/tcp",
                1,
                "no",
            ),
            ("/usr/bin/firewall-cmd --add-port=2380/tcp", 0, "success"),
            (
                "/usr/bin/firewall-cmd --permanent --add-port=2380/tcp",
                0,
                "success",
            ),
        ]);
        let shown = apply(&s, &tool(), &req(State::Present), None, false).unwrap();
        assert_eq!(
            shown,
            [
                "firewall-cmd --add-port=2380/tcp",
                "firewall-cmd --permanent --add-port=2380/tcp"
            ]
        );
        assert!(s.done());
    }

    #[test]
    fn check_mode_only_queries() {
        let s = Script::new(&[
            ("/usr/bin/firewall-cmd --query-port=2379/tcp", 1, "no"),
            (
                "/usr/bin/firewall-cmd --permanent --query-port=2379/tcp",
                0,
                "yes",
            ),
            ("/usr/bin/firewall-cmd --query-port=2380/tcp", 0, "yes"),
            (
                "/usr/bin/firewall-cmd --permanent --query-port=2380/tcp",
                0,
                "yes",
            ),
        ]);
        let shown = apply(&s, &tool(), &req(State::Present), None, true).unwrap();
        assert_eq!(shown, ["firewall-cmd --add-port=2379/tcp"]);
        assert!(s.done());
    }

    #[test]
    fn errors_name_the_command_and_what_ran_before() {
        let s = Script::new(&[(
            "/usr/bin/firewall-cmd --zone=nope --query-port=2379/tcp",
            112,
            "Error: INVALID_ZONE: nope",
        )]);
        let (e, ran) = apply(&s, &tool(), &req(State::Present), Some("nope"), false).unwrap_err();
        assert_eq!(e, "running firewall-cmd --zone=nope --query-port=2379/tcp: exit status 112: Error: INVALID_ZONE: nope");
        assert!(ran.is_empty());

        let s = Script::new(&[
            ("/usr/bin/firewall-cmd --query-port=2379/tcp", 1, "no"),
            (
                "/usr/bin/firewall-cmd --permanent --query-port=2379/tcp",
                1,
                "no",
            ),
            ("/usr/bin/firewall-cmd --query-port=2380/tcp", 0, "yes"),
            (
                "/usr/bin/firewall-cmd --permanent --query-port=2380/tcp",
                0,
                "yes",
            ),
            ("/usr/bin/firewall-cmd --add-port=2379/tcp", 0, "success"),
            (
                "/usr/bin/firewall-cmd --permanent --add-port=2379/tcp",
                252,
                "FirewallD is not running",
            ),
        ]);
        let (e, ran) = apply(&s, &tool(), &req(State::Present), None, false).unwrap_err();
        assert_eq!(e, "running firewall-cmd --permanent --add-port=2379/tcp: exit status 252: FirewallD is not running");
        assert_eq!(ran, ["firewall-cmd --add-port=2379/tcp"]);
    }
}
