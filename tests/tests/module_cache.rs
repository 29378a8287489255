//! The etcd-ops action plugins' module cache (playbooks/plugin_utils/etcd_ops_module_cache.py)
//! on a machine reached over SSH: each binary is stored once under its sha256 (sent
//! gzip-compressed where the host has gzip, raw where not, behind the arguments of its first
//! use) and run from there; a changed binary is stored again; a tampered or truncated cached
//! file is never run and is replaced; results in check, diff and no_log mode, under
//! `environment:`, with `async` and `delegate_to` are those of Ansible's plain path; a cache on
//! a read-only, noexec or shared directory warns and runs the plain way; become runs the become
//! user's cache, and sudo's requiretty takes the plain path.

use lab::ansible::{self, library, Run};
use lab::{Lab, LabOptions};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The cache as the host sees it (root's default).
const CACHE: &str = "/var/cache/etcd-ops/modules";

fn machine_lab() -> Lab {
    Lab::up(LabOptions {
        members: 1,
        ..LabOptions::machines()
    })
    .expect("lab up")
}

fn sha256_hex(bytes: &[u8]) -> String {
    openssl::sha::sha256(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where the lab reaches the host's copy of `binary` in the default cache.
fn cached_path(lab: &Lab, binary: &Path) -> PathBuf {
    let bytes = std::fs::read(binary).unwrap();
    let name = binary.file_name().unwrap().to_str().unwrap();
    lab.host("etcd1")
        .unwrap()
        .root
        .join(CACHE.trim_start_matches('/'))
        .join(format!("{}-{name}", sha256_hex(&bytes)))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// etcd_conf `state: read` on etcd1, ad hoc, with -vvv so the plugin's steps are visible.
fn conf_read(lab: &Lab, extra: &[&str]) -> (Value, Run) {
    let mut args = vec!["-vvv"];
    args.extend_from_slice(extra);
    ansible::module(
        &lab.inventory_path(),
        "etcd1",
        "etcd_conf",
        &json!({"state": "read"}),
        &args,
    )
}

fn uploads(run: &Run, module: &str) -> usize {
    run.stdout
        .matches(&format!("etcd-ops module cache: uploading {module} "))
        .count()
}

/// For each upload of `module` the plugin logged: the bytes it sent, and whether gzip-compressed.
fn sent(run: &Run, module: &str) -> Vec<(u64, bool)> {
    let start = format!("etcd-ops module cache: uploading {module} (");
    run.stdout
        .match_indices(&start)
        .map(|(i, _)| {
            let rest = &run.stdout[i + start.len()..];
            let line = &rest[..rest.find(')').unwrap_or_else(|| panic!("{rest}"))];
            let count = line.split("; ").nth(1).unwrap_or_else(|| panic!("{line}"));
            let bytes = count.split(' ').next().unwrap().parse().unwrap();
            (bytes, count.ends_with(", gzip"))
        })
        .collect()
}

fn ran_cached(run: &Run, module: &str) -> bool {
    run.stdout.contains(&format!(
        "etcd-ops module cache: ran {module} from the cache"
    ))
}

/// The warnings Ansible printed (a result's `warnings` are shown, not kept in the result).
fn warnings(run: &Run) -> String {
    let text = format!("{}\n{}", run.stdout, run.stderr);
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if let Some(w) = line.strip_prefix("[WARNING]: ") {
            out.push(w.to_string());
            inside = true;
        } else if inside && line.starts_with(' ') {
            out.push(line.trim().to_string());
        } else {
            inside = false;
        }
    }
    out.join(" ")
}

/// What etcd_conf read from the lab's etcd.conf: proof the real module ran.
fn assert_read_the_conf(v: &Value, run: &Run) {
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["member"]["name"], json!("etcd1"), "{v}");
}

#[test]
fn a_binary_is_uploaded_once_and_again_when_it_changes() {
    let lab = machine_lab();
    let binary = library().join("etcd_conf");
    let cached = cached_path(&lab, &binary);

    let (v, run) = conf_read(&lab, &[]);
    assert_read_the_conf(&v, &run);
    assert_eq!(uploads(&run, "etcd_conf"), 1, "{}", run.stdout);
    assert!(ran_cached(&run, "etcd_conf"), "{}", run.stdout);
    assert_eq!(
        std::fs::read(&cached).unwrap(),
        std::fs::read(&binary).unwrap()
    );
    assert_eq!(mode(&cached), 0o700);
    assert_eq!(mode(cached.parent().unwrap()), 0o700);
    // Sent compressed (the host has gzip) and stored as the binary itself, as shown above.
    let size = std::fs::metadata(&binary).unwrap().len();
    let [(bytes, true)] = sent(&run, "etcd_conf")[..] else {
        panic!("one gzip upload: {}", run.stdout)
    };
    assert!(bytes < size * 2 / 3, "{bytes} of {size} bytes sent");

    // Cached: nothing uploaded, the same result.
    let (again, run) = conf_read(&lab, &[]);
    assert_read_the_conf(&again, &run);
    assert_eq!(uploads(&run, "etcd_conf"), 0, "{}", run.stdout);
    assert!(ran_cached(&run, "etcd_conf"), "{}", run.stdout);
    assert_eq!(again, v);

    // A rebuilt binary (other bytes, same name) is stored beside the old one and run.
    let changed_lib = lab.dir().join("changed-library");
    std::fs::create_dir_all(&changed_lib).unwrap();
    let changed = changed_lib.join("etcd_conf");
    let mut bytes = std::fs::read(&binary).unwrap();
    bytes.extend_from_slice(b"\0a rebuilt etcd_conf\0");
    std::fs::write(&changed, &bytes).unwrap();
    std::fs::set_permissions(&changed, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (v, run) = conf_read(&lab, &["-M", changed_lib.to_str().unwrap()]);
    assert_read_the_conf(&v, &run);
    assert_eq!(uploads(&run, "etcd_conf"), 1, "{}", run.stdout);
    assert_eq!(
        std::fs::read(cached_path(&lab, &changed)).unwrap(),
        bytes,
        "the changed binary is cached under its own hash"
    );
    assert!(
        cached.is_file(),
        "the other version stays for whoever runs it"
    );
}

/// A first use sends the arguments ahead of the binary on one stdin, read back by the host's
/// shell: a value with a backslash, quotes, a `$`, a printf format and non-ASCII text arrives as
/// the plain path delivers it.
#[test]
fn a_first_use_passes_the_arguments_as_the_plain_path_does() {
    let lab = machine_lab();
    let value = r#"a\b "q" 'x' $HOME %s\n ü"#;
    let set = |key: &str, extra: &[&str]| {
        let mut args = vec!["-vvv"];
        args.extend_from_slice(extra);
        ansible::module(
            &lab.inventory_path(),
            "etcd1",
            "etcd_conf",
            &json!({"settings": {key: value}}),
            &args,
        )
    };
    let (v, run) = set("ETCD_CACHE_A", &[]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(uploads(&run, "etcd_conf"), 1, "{}", run.stdout);
    assert!(ran_cached(&run, "etcd_conf"), "{}", run.stdout);
    assert_eq!(v["settings"]["ETCD_CACHE_A"], json!(value), "{v}");
    let (v, run) = set("ETCD_CACHE_B", &["-e", "etcd_ops_module_cache=false"]);
    assert!(run.ok(), "{}", run.describe());
    assert_eq!(v["settings"]["ETCD_CACHE_B"], json!(value), "{v}");
    let conf = std::fs::read_to_string(lab.host("etcd1").unwrap().etcd_conf()).unwrap();
    let line = |key: &str| {
        conf.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in {conf}"))
            .to_string()
    };
    assert_eq!(line("ETCD_CACHE_A"), line("ETCD_CACHE_B"), "{conf}");
}

/// A host without gzip takes the binary as it is.
#[test]
fn a_host_without_gzip_is_sent_the_binary_raw() {
    let lab = machine_lab();
    let m = lab.machine("etcd1").unwrap();
    m.exec_ok(&["sh", "-c", "mv \"$(command -v gzip)\" /root/gzip.hidden"])
        .unwrap();
    let binary = library().join("etcd_conf");
    let (v, run) = conf_read(&lab, &[]);
    assert_read_the_conf(&v, &run);
    let size = std::fs::metadata(&binary).unwrap().len();
    assert_eq!(sent(&run, "etcd_conf"), [(size, false)], "{}", run.stdout);
    assert!(ran_cached(&run, "etcd_conf"), "{}", run.stdout);
    assert_eq!(
        std::fs::read(cached_path(&lab, &binary)).unwrap(),
        std::fs::read(&binary).unwrap()
    );
}

#[test]
fn a_tampered_or_truncated_cached_binary_is_never_run_and_is_replaced() {
    let lab = machine_lab();
    let binary = library().join("etcd_conf");
    let cached = cached_path(&lab, &binary);
    let (v, run) = conf_read(&lab, &[]);
    assert_read_the_conf(&v, &run);
    let ran = lab
        .host("etcd1")
        .unwrap()
        .root
        .join("tmp/tampered-binary-ran");

    let original = std::fs::read(&binary).unwrap();
    let tampered = b"#!/bin/sh\ntouch /tmp/tampered-binary-ran\necho '{\"changed\": false, \"msg\": \"tampered\"}'\n";
    let truncated = &original[..original.len() / 2];
    for (what, content) in [("tampered", &tampered[..]), ("truncated", truncated)] {
        std::fs::write(&cached, content).unwrap();
        std::fs::set_permissions(&cached, std::fs::Permissions::from_mode(0o700)).unwrap();

        let (v, run) = conf_read(&lab, &[]);
        assert_read_the_conf(&v, &run);
        assert!(!ran.exists(), "{what}: the cached file ran");
        assert_ne!(v["msg"], json!("tampered"), "{what}: {v}");
        let w = warnings(&run);
        assert!(
            w.contains(&format!("had sha256 {}", sha256_hex(content)))
                && w.contains("removed, not run, uploaded again"),
            "{what}: {w}"
        );
        assert_eq!(uploads(&run, "etcd_conf"), 1, "{what}: {}", run.stdout);
        assert_eq!(
            std::fs::read(&cached).unwrap(),
            original,
            "{what}: replaced"
        );
    }
}

/// The same tasks through the cache and through Ansible's plain path print the same output
/// (results, diffs, no_log's censoring, failures). The cached run has a read-only
/// remote_tmp: had any task silently taken the plain path, which needs a temp dir, it would fail.
#[test]
fn check_diff_no_log_and_environment_results_match_the_plain_path() {
    let lab = machine_lab();
    let m = lab.machine("etcd1").unwrap();
    m.exec_ok(&[
        "sh",
        "-c",
        "mkdir -p /mnt/ro && mount -t tmpfs -o ro tmpfs /mnt/ro",
    ])
    .unwrap();
    let play = lab.dir().join("cache-vs-plain.yml");
    std::fs::write(
        &play,
        r#"- hosts: etcd1
  gather_facts: false
  tasks:
    - name: read
      etcd_conf: {state: read}
    - name: firewall, backend none
      etcd_firewall: {backend: none}
    - name: check and diff
      etcd_conf:
        settings: {ETCD_CACHE_TEST: "on"}
      check_mode: true
      diff: true
    - name: no_log
      etcd_conf:
        settings: {ETCD_CACHE_TEST: "on"}
      check_mode: true
      no_log: true
    - name: a failure
      etcd_conf: {path: /nonexistent/etcd.conf, state: read}
      ignore_errors: true
    - name: environment
      etcd_conf: {path: "${CACHE_TEST_DIR}/etcd.conf", state: read}
      environment:
        CACHE_TEST_DIR: /etc/etcd
    - name: no environment
      etcd_conf: {path: "${CACHE_TEST_DIR}/etcd.conf", state: read}
      ignore_errors: true
"#,
    )
    .unwrap();
    // What an operator sees, every result as one JSON line (-v), diffs and censoring included.
    let ro_tmp = "ansible_remote_tmp=/mnt/ro/tmp";

    // The guard can fail: the plain path cannot run with that remote_tmp.
    let guard = play_json(
        &lab,
        &play,
        &["-e", ro_tmp, "-e", "etcd_ops_module_cache=false"],
    );
    assert!(!guard.ok(), "{}", guard.describe());

    let (cached_run, plain_run) = cached_and_plain(&lab, &play, "-v", &["-e", ro_tmp]);
    assert_eq!(cached_run.stdout, plain_run.stdout, "cached vs plain");
    let cached = task_results(&cached_run.stdout);
    assert_eq!(cached.len(), 7, "{}", cached_run.stdout);
    // And the results say what the modes promise, so the comparison compares something.
    assert_eq!(cached[2]["changed"], json!(true), "{}", cached[2]);
    assert_eq!(
        cached[2]["settings"]["ETCD_CACHE_TEST"],
        json!("on"),
        "{}",
        cached[2]
    );
    assert!(
        !std::fs::read_to_string(lab.host("etcd1").unwrap().etcd_conf())
            .unwrap()
            .contains("ETCD_CACHE_TEST"),
        "check mode wrote etcd.conf"
    );
    assert!(cached[3]["censored"].is_string(), "{}", cached[3]);
    assert!(
        cached_run.stdout.contains("fatal: [etcd1]: FAILED! => {\"changed\": false, \"msg\": \"reading /nonexistent/etcd.conf"),
        "{}",
        cached_run.stdout
    );
    // `$CACHE_TEST_DIR` in a path option is expanded from the task's environment alone.
    assert_eq!(cached[5]["member"]["name"], json!("etcd1"), "{}", cached[5]);
    assert!(
        cached[6]["msg"]
            .as_str()
            .unwrap()
            .contains("${CACHE_TEST_DIR}/etcd.conf"),
        "{}",
        cached[6]
    );
    assert!(
        plain_run.stdout.contains("+ETCD_CACHE_TEST=on"),
        "the diff is shown"
    );
}

/// `play` run against the lab with every result printed as JSON (`extra` after the inventory).
fn play_json(lab: &Lab, play: &Path, extra: &[&str]) -> Run {
    let env = [("ANSIBLE_CALLBACK_RESULT_FORMAT", "json")];
    ansible::playbook_env(&lab.inventory_path(), play.to_str().unwrap(), extra, &env)
}

/// `play` through the cache (with `cached_extra`) and then the plain way, both at `verbosity`;
/// each must succeed.
fn cached_and_plain(lab: &Lab, play: &Path, verbosity: &str, cached_extra: &[&str]) -> (Run, Run) {
    let mut args = vec![verbosity];
    args.extend_from_slice(cached_extra);
    let cached = play_json(lab, play, &args);
    assert!(cached.ok(), "{}", cached.describe());
    let plain = play_json(lab, play, &[verbosity, "-e", "etcd_ops_module_cache=false"]);
    assert!(plain.ok(), "{}", plain.describe());
    (cached, plain)
}

/// Each task's result as the default callback prints it with `-v` in json format (indented
/// from `-vvv` on; delegated ones too: `[etcd1 -> etcd2(address)]`).
fn task_results(stdout: &str) -> Vec<Value> {
    let mut at = 0;
    let mut out = Vec::new();
    for line in stdout.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let ours = line.contains("[etcd1] => {")
            || line.contains("[etcd1]: FAILED! => {")
            || (line.contains("[etcd1 -> ") && line.contains(")] => {"));
        if ours {
            let json = &stdout[start + line.find("=> ").unwrap() + 3..];
            let v = serde_json::Deserializer::from_str(json)
                .into_iter::<Value>()
                .next()
                .unwrap()
                .unwrap_or_else(|e| panic!("{e}: {line}"));
            out.push(v);
        }
    }
    out
}

/// `async` runs through Ansible's wrapper (the plain path, said at -vvv) and `delegate_to` from
/// the cache of the host delegated to, under that host's variables: both give the plain path's
/// results.
#[test]
fn async_and_delegate_to_give_the_plain_paths_results() {
    let lab = Lab::up(LabOptions {
        members: 2,
        ..LabOptions::machines()
    })
    .expect("lab up");
    // etcd2's cache where only its own variables put it.
    let delegated_cache = "/var/cache/etcd-ops/delegated";
    let host_vars = lab.dir().join("host_vars");
    std::fs::create_dir_all(&host_vars).unwrap();
    std::fs::write(
        host_vars.join("etcd2.yml"),
        format!("etcd_ops_module_cache_dir: {delegated_cache}\n"),
    )
    .unwrap();
    let play = lab.dir().join("async-delegate.yml");
    std::fs::write(
        &play,
        r#"- hosts: etcd1
  gather_facts: false
  tasks:
    - name: async
      etcd_conf: {state: read}
      async: 30
      poll: 1
    - name: delegated
      etcd_conf: {state: read}
      delegate_to: etcd2
"#,
    )
    .unwrap();
    let (cached_run, plain_run) = cached_and_plain(&lab, &play, "-vvv", &[]);
    let (cached, plain) = (
        task_results(&cached_run.stdout),
        task_results(&plain_run.stdout),
    );
    assert_eq!(cached.len(), 2, "{}", cached_run.stdout);
    assert_eq!(plain.len(), 2, "{}", plain_run.stdout);

    // async: through the wrapper (a job id), the same answer.
    assert!(
        cached_run.stdout.contains(
            "etcd-ops module cache not used for etcd_conf: async runs through Ansible's wrapper"
        ),
        "{}",
        cached_run.stdout
    );
    for r in [&cached[0], &plain[0]] {
        assert!(r["ansible_job_id"].is_string(), "{r}");
        assert_eq!(r["member"]["name"], json!("etcd1"), "{r}");
    }
    // delegate_to: run on etcd2, from etcd2's cache as its variables place it, and the same
    // result as the plain path's, key for key.
    assert_eq!(cached[1], plain[1], "cached vs plain");
    assert_eq!(cached[1]["member"]["name"], json!("etcd2"), "{}", cached[1]);
    assert!(
        ran_cached(&cached_run, "etcd_conf"),
        "{}",
        cached_run.stdout
    );
    let binary = library().join("etcd_conf");
    let name = format!("{}-etcd_conf", sha256_hex(&std::fs::read(&binary).unwrap()));
    let on = |host: &str| {
        lab.host(host)
            .unwrap()
            .root
            .join(delegated_cache.trim_start_matches('/'))
            .join(&name)
    };
    assert_eq!(
        std::fs::read(on("etcd2")).unwrap(),
        std::fs::read(&binary).unwrap()
    );
    assert!(!on("etcd1").exists(), "etcd1 took etcd2's variables");
}

#[test]
fn an_unusable_cache_directory_warns_and_runs_the_plain_way() {
    let lab = machine_lab();
    let m = lab.machine("etcd1").unwrap();
    m.exec_ok(&[
        "sh",
        "-c",
        "mkdir -p /mnt/ro /mnt/noexec && mount -t tmpfs -o ro tmpfs /mnt/ro && \
         mount -t tmpfs -o noexec,mode=0755 tmpfs /mnt/noexec",
    ])
    .unwrap();
    for (dir, why) in [
        ("/mnt/ro/cache", "Read-only file system"),
        (
            "/mnt/noexec/cache",
            "could not be executed (a noexec mount?)",
        ),
        (
            "/tmp/etcd-ops-cache",
            "/tmp is writable by group or others (mode 1777)",
        ),
    ] {
        let var = format!("etcd_ops_module_cache_dir={dir}");
        let (v, run) = conf_read(&lab, &["-e", &var]);
        assert_read_the_conf(&v, &run);
        let w = warnings(&run);
        assert!(
            w.contains("etcd-ops module cache not used, running etcd_conf the plain way")
                && w.contains(why),
            "{dir}: {w}"
        );
        assert!(!ran_cached(&run, "etcd_conf"), "{dir}: {}", run.stdout);
    }
    // Switched off: the plain path, silently.
    let (v, run) = conf_read(&lab, &["-e", "etcd_ops_module_cache=false"]);
    assert_read_the_conf(&v, &run);
    assert!(!warnings(&run).contains("etcd-ops"), "{}", warnings(&run));
    assert!(!ran_cached(&run, "etcd_conf") && uploads(&run, "etcd_conf") == 0);
    assert!(
        run.stdout.contains("PUT "),
        "the plain path uploads: {}",
        run.stdout
    );
}

/// Hosts reached as an ordinary user who becomes root with sudo, as cloud images are: the
/// module runs from root's cache; the same user without become has a cache of its own, in its
/// home. Under sudo's `Defaults requiretty` (RHEL 6, early RHEL 7) a command without a terminal
/// is refused: the plain path, which asks for one, serves, with a warning.
#[test]
fn become_runs_from_the_become_users_cache_and_requiretty_falls_back() {
    let lab = machine_lab();
    let m = lab.machine("etcd1").unwrap();
    m.exec_ok(&[
        "sh",
        "-c",
        // `*`: no password, but not locked (`!`), which sshd without PAM refuses even a key.
        "useradd -m -s /bin/sh -p '*' cloud-user && \
         install -d -o cloud-user -g cloud-user -m 0700 /home/cloud-user/.ssh && \
         install -o cloud-user -g cloud-user -m 0600 /root/.ssh/authorized_keys /home/cloud-user/.ssh/ && \
         printf 'cloud-user ALL=(ALL) NOPASSWD: ALL\\n' > /etc/sudoers.d/cloud-user && \
         chmod 0440 /etc/sudoers.d/cloud-user",
    ])
    .unwrap();
    let root = &lab.host("etcd1").unwrap().root;
    let (uid, _) = lab::machine::tree_user(root, "cloud-user").unwrap();
    let binary = library().join("etcd_conf");
    let owner = |p: &Path| {
        std::os::unix::fs::MetadataExt::uid(
            &std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
    };

    // As cloud-user, become root: root's cache.
    let as_user = ["-e", "ansible_user=cloud-user"];
    let become_root = ["-e", "ansible_user=cloud-user", "-e", "ansible_become=true"];
    let (v, run) = conf_read(&lab, &become_root);
    assert_read_the_conf(&v, &run);
    assert!(ran_cached(&run, "etcd_conf"), "{}", run.stdout);
    let root_copy = cached_path(&lab, &binary);
    assert_eq!(owner(&root_copy), 0);

    // As cloud-user alone: its own cache, owner-only.
    let (v, run) = conf_read(&lab, &as_user);
    assert_read_the_conf(&v, &run);
    assert!(ran_cached(&run, "etcd_conf"), "{}", run.stdout);
    let user_copy = root
        .join("home/cloud-user/.cache/etcd-ops/modules")
        .join(root_copy.file_name().unwrap());
    assert_eq!(owner(&user_copy), uid);
    assert_eq!(mode(&user_copy), 0o700);
    assert_eq!(mode(user_copy.parent().unwrap()), 0o700);

    // sudo refuses a command without a terminal: the plain path, said.
    m.exec_ok(&[
        "sh",
        "-c",
        "printf 'Defaults:cloud-user requiretty\\n' >> /etc/sudoers.d/cloud-user",
    ])
    .unwrap();
    let (v, run) = conf_read(&lab, &become_root);
    assert_read_the_conf(&v, &run);
    assert!(!ran_cached(&run, "etcd_conf"), "{}", run.stdout);
    let w = warnings(&run);
    assert!(
        w.contains("etcd-ops module cache not used, running etcd_conf the plain way")
            && w.contains("tty"),
        "{w}"
    );
}
