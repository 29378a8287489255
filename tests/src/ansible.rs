//! Running the real `ansible-playbook` / `ansible` from the project's virtualenv against a lab
//! inventory, with the installed module binaries. Tests assert on what etcd and the files
//! say afterwards; this only runs Ansible and hands back what it printed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (the `tests` crate sits one level below it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate has a parent")
        .to_path_buf()
}

/// `playbooks/library`, checked to hold the installed modules: a missing binary means the
/// test would exercise nothing, so it fails with the command that fixes it.
pub fn library() -> PathBuf {
    let lib = repo_root().join("playbooks/library");
    assert!(
        lib.join("etcd_health").is_file(),
        "{} has no module binaries: run `make build` first",
        lib.display()
    );
    lib
}

pub fn venv_bin(tool: &str) -> PathBuf {
    let p = repo_root().join(".venv/bin").join(tool);
    assert!(p.is_file(), "{} is missing: run `make setup`", p.display());
    p
}

/// What an Ansible run printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// The PLAY RECAP counters of a host (`ok`, `changed`, `failed`, ...).
    pub fn recap(&self, host: &str) -> Option<std::collections::BTreeMap<String, u64>> {
        let after = self.stdout.split("PLAY RECAP").nth(1)?;
        let line = after
            .lines()
            .find(|l| l.split_whitespace().next() == Some(host))?;
        Some(
            line.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .filter_map(|(k, v)| v.parse().ok().map(|n| (k.to_string(), n)))
                .collect(),
        )
    }

    /// Sum of a recap counter over every host.
    pub fn total(&self, counter: &str) -> u64 {
        let Some(after) = self.stdout.split("PLAY RECAP").nth(1) else {
            return 0;
        };
        after
            .lines()
            .flat_map(|l| l.split_whitespace())
            .filter_map(|kv| kv.split_once('='))
            .filter(|(k, _)| *k == counter)
            .filter_map(|(_, v)| v.parse::<u64>().ok())
            .sum()
    }

    /// The failures first, each under its task's header, then everything: a long run's output
    /// is cut in the middle by CI's report, which would drop the one task that failed.
    pub fn describe(&self) -> String {
        format!(
            "exit {}\n--- failures ---\n{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            failures(&self.stdout),
            self.stdout,
            self.stderr
        )
    }
}

/// Each failed or unreachable result of a playbook's output, after the header of its task.
fn failures(stdout: &str) -> String {
    let mut task = "";
    let mut out = Vec::new();
    for line in stdout.lines() {
        if line.starts_with("TASK [") {
            task = line.trim_end_matches(['*', ' ']);
        } else if ["fatal: ", "failed: ", "UNREACHABLE", "ERROR!", "[ERROR]"]
            .iter()
            .any(|m| line.starts_with(m))
        {
            out.push(format!("{task}\n{line}"));
        }
    }
    if out.is_empty() {
        "(none in stdout)".to_string()
    } else {
        out.join("\n")
    }
}

fn base_command(tool: &str) -> Command {
    let mut c = Command::new(venv_bin(tool));
    let root = repo_root();
    c.current_dir(&root)
        .env("ANSIBLE_CONFIG", root.join("ansible.cfg"))
        .env("ANSIBLE_LIBRARY", library())
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_FORCE_COLOR", "0")
        .env(
            "ANSIBLE_LOCAL_TEMP",
            std::env::temp_dir().join("etcd-ops-ansible-local"),
        )
        .env("ANSIBLE_PYTHON_INTERPRETER", root.join(".venv/bin/python3"));
    c
}

/// Runs `c` to the end; what it printed and how it ended.
pub fn finish(mut c: Command) -> Run {
    let out = c.output().expect("running ansible");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `ansible-playbook -i INVENTORY PLAYBOOK [extra args]`; a relative playbook path is taken
/// from the repository root.
pub fn playbook(inventory: &Path, playbook: &str, extra: &[&str]) -> Run {
    let mut c = base_command("ansible-playbook");
    c.arg("-i").arg(inventory).arg(playbook).args(extra);
    finish(c)
}

/// [`playbook`] with extra environment for Ansible (`ANSIBLE_STDOUT_CALLBACK=json`, ...).
pub fn playbook_env(inventory: &Path, playbook: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = base_command("ansible-playbook");
    c.envs(env.iter().copied())
        .arg("-i")
        .arg(inventory)
        .arg(playbook)
        .args(extra);
    finish(c)
}

extern "C" {
    // libc's kill(2), for the process group of a cut run.
    fn kill(pid: i32, sig: i32) -> i32;
}

/// `ansible-playbook` cut short as a lost controller session cuts it: the whole run (its own
/// process group, every ssh and worker in it) is SIGKILLed as soon as the task named `task`
/// has reported on some host (its first `ok:`/`changed:` line). What it printed until then.
pub fn playbook_cut_after(inventory: &Path, playbook: &str, extra: &[&str], task: &str) -> Run {
    playbook_cut_after_on(inventory, playbook, extra, task, None)
}

/// [`playbook_cut_after`], cut only once `task` has reported on `host` (when given): a task
/// file included at several points of a play (etcd-start-systemd.yml) is told apart by where it runs.
pub fn playbook_cut_after_on(
    inventory: &Path,
    playbook: &str,
    extra: &[&str],
    task: &str,
    host: Option<&str>,
) -> Run {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let mut c = base_command("ansible-playbook");
    c.arg("-i")
        .arg(inventory)
        .arg(playbook)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .process_group(0);
    let mut child = c.spawn().expect("running ansible-playbook");
    let pgid = child.id() as i32;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut seen = String::new();
    let mut in_task = false;
    let mut cut = false;
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("TASK [") {
            in_task = line.starts_with(&format!("TASK [{task}]"));
        } else if in_task
            && ["ok:", "changed:"].iter().any(|p| {
                line.strip_prefix(p).is_some_and(|rest| {
                    // `[etcd1]`, or `[etcd1 -> localhost]` for a delegated task.
                    host.is_none_or(|h| {
                        let rest = rest.trim_start();
                        rest.starts_with(&format!("[{h}]")) || rest.starts_with(&format!("[{h} "))
                    })
                })
            })
        {
            // SAFETY: kill(2) has no memory-safety preconditions; -pgid is the group this
            // test started (never 0 or 1).
            if pgid > 1 {
                unsafe { kill(-pgid, 9) };
            }
            cut = true;
            break;
        }
    }
    let status = child.wait().expect("waiting for ansible-playbook");
    Run {
        code: if cut { -9 } else { status.code().unwrap_or(-1) },
        stdout: seen,
        stderr: String::new(),
    }
}

/// `ansible -i INVENTORY PATTERN -m MODULE [-a ARGS]`: an ad-hoc task, e.g. `ping`.
pub fn adhoc(inventory: &Path, pattern: &str, module: &str, args: Option<&str>) -> Run {
    let mut c = base_command("ansible");
    c.arg("-i")
        .arg(inventory)
        .arg(pattern)
        .arg("-m")
        .arg(module);
    if let Some(a) = args {
        c.arg("-a").arg(a);
    }
    finish(c)
}

/// A command of the venv's Ansible as a user of the installed collection runs it: collections
/// from `collections` alone, neither the repository's ansible.cfg nor `ANSIBLE_LIBRARY`, and the
/// working directory outside the repository, so no module can come from playbooks/library.
pub fn collection_command(tool: &str, collections: &Path) -> Command {
    let mut c = Command::new(venv_bin(tool));
    c.current_dir(collections)
        .env_remove("ANSIBLE_CONFIG")
        .env_remove("ANSIBLE_LIBRARY")
        .env("ANSIBLE_COLLECTIONS_PATH", collections)
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_FORCE_COLOR", "0")
        .env(
            "ANSIBLE_LOCAL_TEMP",
            std::env::temp_dir().join("etcd-ops-ansible-local"),
        )
        .env(
            "ANSIBLE_PYTHON_INTERPRETER",
            repo_root().join(".venv/bin/python3"),
        );
    c
}

/// `ansible-playbook -i INVENTORY NAME [extra args]` for a playbook of a collection installed
/// under `collections`, named by FQCN (see [`collection_command`]).
pub fn collection_playbook(
    collections: &Path,
    inventory: &Path,
    name: &str,
    extra: &[&str],
) -> Run {
    let mut c = collection_command("ansible-playbook", collections);
    c.arg("-i").arg(inventory).arg(name).args(extra);
    finish(c)
}

/// Runs one module on one host through real Ansible (`ansible HOST -m MODULE -a JSON`) and
/// returns the module's result as Ansible recorded it (the core `tree` callback writes it to a
/// file per host; Ansible itself drops the `failed` key, so check [`Run::ok`] for that).
pub fn module(
    inventory: &Path,
    host: &str,
    module: &str,
    args: &serde_json::Value,
    extra: &[&str],
) -> (serde_json::Value, Run) {
    let tree = std::env::temp_dir().join(format!(
        "etcd-ops-tree-{}-{}",
        std::process::id(),
        TREE_SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let mut c = base_command("ansible");
    c.env("ANSIBLE_LOAD_CALLBACK_PLUGINS", "1")
        .env("ANSIBLE_CALLBACKS_ENABLED", "ansible.builtin.tree")
        .env("ANSIBLE_CALLBACK_TREE_DIR", &tree)
        .arg("-i")
        .arg(inventory)
        .arg(host)
        .arg("-m")
        .arg(module)
        .arg("-a")
        .arg(args.to_string())
        .args(extra);
    let run = finish(c);
    let json = std::fs::read(tree.join(host))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    let _ = std::fs::remove_dir_all(&tree);
    (json, run)
}

static TREE_SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// An installed module binary run directly, as an operator would (`NAME --args JSON [extra]`):
/// its one JSON object and its exit code.
pub fn direct(module: &str, args: &serde_json::Value, extra: &[&str]) -> (serde_json::Value, i32) {
    let out = Command::new(library().join(module))
        .arg("--args")
        .arg(args.to_string())
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("running {module}: {e}"));
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{module} printed not one JSON object ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code().unwrap_or(-1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn failures_are_listed_under_their_task() {
        let out =
            "TASK [a] ***\nok: [h1]\nTASK [b] ***\nfatal: [h2]: FAILED! => {\"msg\": \"x\"}\n\
                   PLAY RECAP ***\nh2 : ok=1 failed=1\n";
        assert_eq!(
            super::failures(out),
            "TASK [b]\nfatal: [h2]: FAILED! => {\"msg\": \"x\"}"
        );
        assert_eq!(super::failures("TASK [a]\nok: [h]\n"), "(none in stdout)");
    }
}
