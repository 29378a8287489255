//! Running the firewall tools. Everything that touches the host goes through [`Runner`], so
//! the backends' query-then-change logic is unit-tested against a scripted fake, and the real
//! runner is exercised end to end (inside a network namespace) by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What a command printed and how it ended (`None`: killed by a signal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub trait Runner {
    /// Runs `program args...`; Err only when it could not be started.
    fn run(&self, program: &Path, args: &[String]) -> std::io::Result<Output>;
}

pub struct System;

impl Runner for System {
    fn run(&self, program: &Path, args: &[String]) -> std::io::Result<Output> {
        let out = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .env("LC_ALL", "C")
            .output()?;
        Ok(Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// A tool as the task named it (for messages) and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub path: PathBuf,
}

impl Tool {
    /// `iptables -w -N OS_FIREWALL_ALLOW`, as an operator would type it.
    pub fn display(&self, args: &[String]) -> String {
        std::iter::once(self.name.as_str())
            .chain(args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs and returns the output; any start failure or exit status in `ok_codes`'s complement
    /// is an error that names the command and carries its stderr.
    pub fn run(
        &self,
        runner: &dyn Runner,
        args: &[String],
        ok_codes: &[i32],
    ) -> Result<Output, String> {
        let shown = self.display(args);
        let out = runner
            .run(&self.path, args)
            .map_err(|e| format!("running {shown}: {e}"))?;
        match out.code {
            Some(c) if ok_codes.contains(&c) => Ok(out),
            code => {
                let status = code.map_or("killed by a signal".to_string(), |c| {
                    format!("exit status {c}")
                });
                let said = [out.stderr.trim(), out.stdout.trim()]
                    .into_iter()
                    .find(|s| !s.is_empty())
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default();
                Err(format!("running {shown}: {status}{said}"))
            }
        }
    }
}

/// Where AnsibleModule.get_bin_path also looks: a non-login shell's PATH often lacks the
/// sbin directories iptables and firewall-cmd live in.
const EXTRA_DIRS: [&str; 4] = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// Finds `name` (a path, or a name looked up in PATH then the sbin directories). None when
/// there is no such executable.
pub fn find(name: &str) -> Option<Tool> {
    find_in(name, std::env::var_os("PATH").as_deref().map(Path::new))
}

fn find_in(name: &str, path_var: Option<&Path>) -> Option<Tool> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let tool = |path: PathBuf| Tool {
        name: name.to_string(),
        path,
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        return executable(&p).then(|| tool(p));
    }
    let dirs: Vec<PathBuf> = path_var
        .map(|v| std::env::split_paths(v.as_os_str()).collect())
        .unwrap_or_default();
    dirs.into_iter()
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| executable(p))
        .map(tool)
}

#[cfg(test)]
pub mod fake {
    //! A scripted runner: each expected command line and its answer, in order.
    use super::*;
    use std::cell::RefCell;

    pub struct Script {
        pub steps: RefCell<Vec<(String, i32, String)>>,
        pub ran: RefCell<Vec<String>>,
    }

    impl Script {
        pub fn new(steps: &[(&str, i32, &str)]) -> Script {
            Script {
                steps: RefCell::new(
                    steps
                        .iter()
                        .rev()
                        .map(|(c, code, out)| (c.to_string(), *code, out.to_string()))
                        .collect(),
                ),
                ran: RefCell::new(Vec::new()),
            }
        }

        pub fn done(&self) -> bool {
            self.steps.borrow().is_empty()
        }
    }

    impl Runner for Script {
        fn run(&self, program: &Path, args: &[String]) -> std::io::Result<Output> {
            let line = format!("{} {}", program.display(), args.join(" "));
            self.ran.borrow_mut().push(line.clone());
            let (want, code, out) = self
                .steps
                .borrow_mut()
                .pop()
                .unwrap_or_else(|| panic!("unexpected command {line}"));
            assert_eq!(line, want, "command out of script");
            Ok(Output {
                code: Some(code),
                stdout: if code == 0 || code == 1 {
                    out.clone()
                } else {
                    String::new()
                },
                stderr: if code > 1 { out } else { String::new() },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_in_sbin_even_without_it_in_path() {
        let t = find_in("sh", Some(Path::new("/nonexistent"))).expect("sh in /bin or /usr/bin");
        assert!(t.path.ends_with("sh"));
        assert_eq!(t.name, "sh");
        assert!(find_in("no-such-tool-etcd-ops", None).is_none());
        assert!(find_in("/nonexistent/iptables", None).is_none());
        let plain = std::env::temp_dir().join(format!("etcd-fw-plain-{}", std::process::id()));
        std::fs::write(&plain, "").unwrap();
        let found = find_in(plain.to_str().unwrap(), None);
        std::fs::remove_file(&plain).unwrap();
        assert!(found.is_none(), "a file without x bits is not a tool");
    }

    #[test]
    fn failures_name_the_command_and_what_it_said() {
        let tool = Tool {
            name: "iptables".into(),
            path: PathBuf::from("/usr/sbin/iptables"),
        };
        let script = fake::Script::new(&[(
            "/usr/sbin/iptables -w -N OS_FIREWALL_ALLOW",
            4,
            "iptables: Permission denied (you must be root).\n",
        )]);
        let args: Vec<String> = ["-w", "-N", "OS_FIREWALL_ALLOW"].map(String::from).to_vec();
        assert_eq!(
            tool.run(&script, &args, &[0]).unwrap_err(),
            "running iptables -w -N OS_FIREWALL_ALLOW: exit status 4: iptables: Permission denied (you must be root)."
        );
        let missing = Tool {
            name: "iptables".into(),
            path: PathBuf::from("/nonexistent/iptables"),
        };
        let e = missing.run(&System, &args, &[0]).unwrap_err();
        assert!(
            e.starts_with("running iptables -w -N OS_FIREWALL_ALLOW: No such file"),
            "{e}"
        );
    }
}
