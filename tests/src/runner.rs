//! Running a playbook the way AWX does: `ansible-runner run <private data dir> -p <playbook>`,
//! with the private data dir shaped as AWX prepares it (`project/` the synced project,
//! `inventory/`, `env/extravars`, `env/envvars`, `env/cmdline`), then reading back the job
//! events ansible-runner records under `artifacts/<ident>/job_events/`.
//!
//! The project is the real `make dist` tarball (`scripts/dist.sh`), unpacked and "synced" once
//! (collections/requirements.yml installed, as AWX's project update does), then copied into
//! each job's directory. Nothing points Ansible at the repository: the modules must be found in
//! the project's `library/` beside the playbooks, as on AWX.

use crate::ansible::{repo_root, venv_bin};
use crate::awx::JobTemplate;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the AWX project tarball into `out` with `scripts/dist.sh` and returns its path.
pub fn dist(out: &Path) -> PathBuf {
    let run = Command::new("bash")
        .arg(repo_root().join("scripts/dist.sh"))
        .arg("--out")
        .arg(out)
        .current_dir(repo_root())
        .output()
        .expect("running scripts/dist.sh");
    assert!(
        run.status.success(),
        "scripts/dist.sh failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let path = String::from_utf8_lossy(&run.stdout).trim().to_string();
    let tarball = PathBuf::from(path);
    assert!(tarball.is_file(), "dist.sh named {}", tarball.display());
    tarball
}

/// Unpacks `tarball` into `dest` and returns the one top-level directory it holds.
pub fn unpack(tarball: &Path, dest: &Path) -> PathBuf {
    std::fs::create_dir_all(dest).unwrap();
    let out = Command::new("tar")
        .arg("-C")
        .arg(dest)
        .arg("-xzf")
        .arg(tarball)
        .output()
        .expect("running tar");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tops: Vec<PathBuf> = std::fs::read_dir(dest)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(tops.len(), 1, "one top-level directory: {tops:?}");
    tops.into_iter().next().unwrap()
}

/// An AWX stand-in for one project: jobs launched from `awx/` templates, each in its own
/// private data dir under `base`.
pub struct Awx {
    base: PathBuf,
    project: PathBuf,
    jobs: usize,
}

impl Awx {
    /// Builds the tarball and syncs the project as AWX's project update does: unpacked, its
    /// `collections/requirements.yml` installed (which must need nothing from a network).
    pub fn new(base: &Path) -> Awx {
        let tarball = dist(&base.join("dist"));
        let project = unpack(&tarball, &base.join("project-cache"));
        let reqs = project.join("collections/requirements.yml");
        assert!(reqs.is_file(), "the project has no {}", reqs.display());
        let out = Command::new(venv_bin("ansible-galaxy"))
            .args(["collection", "install", "-r"])
            .arg(&reqs)
            .arg("-p")
            .arg(base.join("requirements_collections"))
            .env_remove("ANSIBLE_CONFIG")
            .current_dir(&project)
            .output()
            .expect("running ansible-galaxy");
        assert!(
            out.status.success(),
            "ansible-galaxy collection install: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Awx {
            base: base.to_path_buf(),
            project,
            jobs: 0,
        }
    }

    /// Launches `template` with the survey `answers` against the inventory directory
    /// `inventory` (copied into the job, as AWX writes its inventory for each job). Errs with
    /// AWX's launch errors when the survey refuses the answers.
    pub fn launch(
        &mut self,
        template: &JobTemplate,
        answers: &Value,
        inventory: &Path,
    ) -> Result<Job, Vec<String>> {
        let extra_vars = template.launch(answers)?;
        self.jobs += 1;
        let ident = format!("job{}", self.jobs);
        let pdd = self.base.join(&ident);
        copy_tree(&self.project, &pdd.join("project"));
        copy_tree(inventory, &pdd.join("inventory"));
        let env = pdd.join("env");
        std::fs::create_dir_all(&env).unwrap();
        write_json(&env.join("extravars"), &Value::Object(extra_vars));
        write_json(&env.join("envvars"), &self.envvars(&pdd));
        let cmdline = template.cmdline();
        if !cmdline.is_empty() {
            std::fs::write(env.join("cmdline"), cmdline.join(" ")).unwrap();
        }
        Ok(run(&pdd, &template.playbook, &ident))
    }

    /// What AWX puts in `env/envvars` that matters here: its own roles and collections paths
    /// (the project's `roles/` must still be found beside the playbooks) and a strict
    /// inventory parse.
    fn envvars(&self, pdd: &Path) -> Value {
        json!({
            "ANSIBLE_ROLES_PATH": pdd.join("requirements_roles"),
            "ANSIBLE_COLLECTIONS_PATH": self.base.join("requirements_collections"),
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_FORCE_COLOR": "False",
            "ANSIBLE_NOCOLOR": "True",
        })
    }
}

fn copy_tree(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    let out = Command::new("cp")
        .arg("-a")
        .arg(src)
        .arg(dest)
        .output()
        .expect("running cp");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// `ansible-runner run PDD -p PLAYBOOK --ident IDENT` with an environment holding nothing of
/// the repository's Ansible settings (no ANSIBLE_CONFIG, no ANSIBLE_LIBRARY).
pub fn run(pdd: &Path, playbook: &str, ident: &str) -> Job {
    let mut c = Command::new(venv_bin("ansible-runner"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ANSIBLE_") {
            c.env_remove(k);
        }
    }
    let venv = repo_root().join(".venv/bin");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![venv];
    paths.extend(std::env::split_paths(&path));
    c.env("PATH", std::env::join_paths(paths).unwrap())
        .arg("run")
        .arg(pdd)
        .arg("-p")
        .arg(playbook)
        .arg("--ident")
        .arg(ident);
    let out = c.output().expect("running ansible-runner");
    let artifacts = pdd.join("artifacts").join(ident);
    let read = |f: &str| {
        std::fs::read_to_string(artifacts.join(f))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let mut events: Vec<Value> = std::fs::read_dir(artifacts.join("job_events"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read(e.path()).ok())
                .filter_map(|b| serde_json::from_slice(&b).ok())
                .collect()
        })
        .unwrap_or_default();
    events.sort_by_key(|e| e["counter"].as_i64().unwrap_or(0));
    Job {
        ident: ident.to_string(),
        code: out.status.code().unwrap_or(-1),
        status: read("status"),
        rc: read("rc").parse().unwrap_or(-1),
        events,
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// One finished job: what ansible-runner recorded.
#[derive(Debug)]
pub struct Job {
    pub ident: String,
    /// ansible-runner's exit status.
    pub code: i32,
    /// `artifacts/<ident>/status`: `successful`, `failed`, ...
    pub status: String,
    /// `artifacts/<ident>/rc`: ansible-playbook's exit status.
    pub rc: i32,
    /// `artifacts/<ident>/job_events/*.json`, in event order.
    pub events: Vec<Value>,
    /// What ansible-runner printed (the playbook's output).
    pub output: String,
}

impl Job {
    /// AWX's verdict: the job succeeded.
    pub fn successful(&self) -> bool {
        self.status == "successful" && self.rc == 0
    }

    /// The `playbook_on_stats` event's data (per counter, per host).
    pub fn stats(&self) -> &Value {
        self.events
            .iter()
            .rev()
            .find(|e| e["event"] == "playbook_on_stats")
            .map(|e| &e["event_data"])
            .unwrap_or(&Value::Null)
    }

    /// One stats counter (`ok`, `changed`, `failures`, `dark`, `skipped`, ...) per host.
    pub fn counter(&self, name: &str) -> BTreeMap<String, u64> {
        self.stats()[name]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(h, n)| (h.clone(), n.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Failed or unreachable host counts, summed: what AWX shows as a failed job's cause.
    pub fn failures(&self) -> u64 {
        self.counter("failures").values().sum::<u64>() + self.counter("dark").values().sum::<u64>()
    }

    /// The `runner_on_*` events of the task named `task` (ok, failed, skipped, ...).
    pub fn task_events(&self, task: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| {
                e["event"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("runner_on_"))
                    && e["event_data"]["task"] == task
            })
            .collect()
    }

    /// The module result (`event_data.res`) of the one host that ran `task` with this
    /// event (`runner_on_ok`, `runner_on_failed`).
    pub fn result(&self, task: &str, event: &str) -> Option<&Value> {
        self.task_events(task)
            .into_iter()
            .find(|e| e["event"] == event)
            .map(|e| &e["event_data"]["res"])
    }

    pub fn describe(&self) -> String {
        let stats: Map<String, Value> = self.stats().as_object().cloned().unwrap_or_default();
        format!(
            "job {}: status {:?}, rc {}, exit {}, stats {}\n--- output ---\n{}",
            self.ident,
            self.status,
            self.rc,
            self.code,
            Value::Object(stats),
            self.output
        )
    }
}
