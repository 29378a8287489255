//! The iptables backend: read the live filter table once, plan (pure, in rules.rs), run the
//! plan; and the saved file iptables-services restores at boot, edited line by line.

use crate::exec::{Runner, Tool};
use crate::rules::{LivePlan, Request, Ruleset, State};
use crate::saved::{edit_bytes, SavedFile};
use std::io;
use std::path::{Path, PathBuf};

pub fn snapshot(runner: &dyn Runner, tool: &Tool) -> Result<Ruleset, String> {
    let args: Vec<String> = ["-w", "-t", "filter", "-S"].map(String::from).to_vec();
    let out = tool.run(runner, &args, &[0])?;
    Ruleset::parse(&out.stdout)
        .map_err(|e| format!("reading the output of {}: {e}", tool.display(&args)))
}

/// Runs the plan's commands in order (none in check mode); on failure, the error and the
/// commands that had already run.
pub fn run_plan(
    runner: &dyn Runner,
    tool: &Tool,
    plan: &LivePlan,
    check: bool,
) -> Result<Vec<String>, (String, Vec<String>)> {
    let shown: Vec<String> = plan.commands.iter().map(|c| tool.display(c)).collect();
    if !check {
        for (i, c) in plan.commands.iter().enumerate() {
            tool.run(runner, c, &[0])
                .map_err(|e| (e, shown[..i].to_vec()))?;
        }
    }
    Ok(shown)
}

/// What happens to the saved file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavedPlan {
    /// Not touched, and why (said to the operator when it matters).
    Skip(Option<String>),
    Edit {
        path: PathBuf,
        before: String,
        after: String,
        created: bool,
    },
}

impl SavedPlan {
    pub fn changed(&self) -> bool {
        matches!(self, SavedPlan::Edit { before, after, created, .. } if before != after || *created)
    }
}

/// The edit of `path`, decided before anything changes so that a file iptables-restore would
/// refuse fails the task with the live rules untouched. A missing file is created, as
/// `service iptables save` would, from the live filter table (`current_save`: the text of
/// `iptables-save -t filter`) with the request applied; a missing directory means this is not
/// an iptables-services host, and the rules stay live only.
pub fn plan_saved(
    path: &Path,
    req: &Request,
    current_save: impl FnOnce() -> Result<String, String>,
) -> Result<SavedPlan, String> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let (before, after) = edit_bytes(&bytes, req)
                .map_err(|e| format!("refusing to edit {}, left as it is: {e}", path.display()))?;
            Ok(SavedPlan::Edit {
                path: path.to_path_buf(),
                before,
                after,
                created: false,
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if req.state == State::Absent {
                return Ok(SavedPlan::Skip(None));
            }
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !dir.is_dir() {
                return Ok(SavedPlan::Skip(Some(format!(
                    "{} does not exist (not an iptables-services host): the rules are live only and a reboot or \
                     firewall restart drops them",
                    dir.display()
                ))));
            }
            let mut text = current_save()?;
            if !text.lines().any(|l| l.trim() == "*filter") {
                // No filter table loaded yet (legacy iptables before its first rule).
                text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n".into();
            }
            let parsed = SavedFile::parse(&text)
                .map_err(|e| format!("reading the output of iptables-save: {e}"))?;
            Ok(SavedPlan::Edit {
                path: path.to_path_buf(),
                before: String::new(),
                after: parsed.edit(req),
                created: true,
            })
        }
        Err(e) => Err(format!("reading {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::fake::Script;

    fn req(state: State) -> Request {
        Request {
            chain: "OS_FIREWALL_ALLOW".into(),
            protocol: "tcp".into(),
            ports: vec![2379],
            state,
        }
    }

    #[test]
    fn snapshot_then_plan_then_run() {
        let tool = Tool {
            name: "iptables".into(),
            path: PathBuf::from("/sbin/iptables"),
        };
        let s = Script::new(&[
            ("/sbin/iptables -w -t filter -S", 0, "-P INPUT ACCEPT\n-A INPUT -j REJECT\n"),
            ("/sbin/iptables -w -N OS_FIREWALL_ALLOW", 0, ""),
            ("/sbin/iptables -w -I INPUT 1 -j OS_FIREWALL_ALLOW", 0, ""),
            ("/sbin/iptables -w -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT", 2, "iptables v1.8.9 (nf_tables): Couldn't load match `state'"),
        ]);
        let rs = snapshot(&s, &tool).unwrap();
        let plan = crate::rules::plan_live(&rs, &req(State::Present));
        let (e, ran) = run_plan(&s, &tool, &plan, false).unwrap_err();
        assert_eq!(
            e,
            "running iptables -w -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT: \
             exit status 2: iptables v1.8.9 (nf_tables): Couldn't load match `state'"
        );
        assert_eq!(
            ran,
            [
                "iptables -w -N OS_FIREWALL_ALLOW",
                "iptables -w -I INPUT 1 -j OS_FIREWALL_ALLOW"
            ]
        );
        assert!(s.done());
    }

    #[test]
    fn a_missing_file_is_created_from_iptables_save_unless_its_directory_is_missing() {
        let dir = std::env::temp_dir().join(format!("etcd-fw-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("iptables");
        let plan = plan_saved(&p, &req(State::Present), || {
            Ok("# Generated\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n".into())
        })
        .unwrap();
        assert_eq!(
            plan,
            SavedPlan::Edit {
                path: p.clone(),
                before: String::new(),
                after: "# Generated\n*filter\n:INPUT ACCEPT [0:0]\n:OS_FIREWALL_ALLOW - [0:0]\n-A INPUT -j OS_FIREWALL_ALLOW\n\
                        -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT\nCOMMIT\n"
                    .into(),
                created: true,
            }
        );
        let empty = plan_saved(&p, &req(State::Present), || Ok(String::new())).unwrap();
        assert!(
            matches!(&empty, SavedPlan::Edit { after, .. } if after.starts_with("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD"))
        );
        assert_eq!(
            plan_saved(&p, &req(State::Absent), || panic!("not needed")).unwrap(),
            SavedPlan::Skip(None)
        );
        let gone = dir.join("sysconfig/iptables");
        let skip = plan_saved(&gone, &req(State::Present), || panic!("not needed")).unwrap();
        assert!(
            matches!(&skip, SavedPlan::Skip(Some(why)) if why.contains("sysconfig does not exist")),
            "{skip:?}"
        );

        std::fs::write(&p, "*filter\nCOMMIT\n*filter\n").unwrap();
        assert_eq!(
            plan_saved(&p, &req(State::Present), || panic!("not needed")).unwrap_err(),
            format!(
                "refusing to edit {}, left as it is: line 3: a second *filter table",
                p.display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
