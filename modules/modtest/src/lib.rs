//! Test support for the module crates, so each crate's tests say only what its module does:
//! run the real built binary the way Ansible does (an args file as argv[1]), on copies of the
//! shared fixtures in a temp dir. (Sidecar docs are checked against the spec once, for every
//! module, by the tests crate's `docs`.)

pub mod contract;

use serde_json::Value;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

/// The realistic config files shared with confedit's tests.
pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../confedit/tests/fixtures")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Replace exactly one occurrence of `from`, so a golden expectation cannot silently miss.
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "expected one {from:?}");
    text.replacen(from, to, 1)
}

/// A module run's result: the one JSON object printed, and the exit status.
#[derive(Debug)]
pub struct Run {
    pub json: Value,
    pub success: bool,
}

impl Run {
    pub fn changed(&self) -> bool {
        self.json["changed"] == Value::Bool(true)
    }
    pub fn failed(&self) -> bool {
        self.json["failed"] == Value::Bool(true)
    }
    pub fn msg(&self) -> &str {
        self.json["msg"].as_str().unwrap_or("")
    }
    /// The run must have succeeded; returns self for chaining.
    pub fn ok(self) -> Run {
        assert!(
            self.success && !self.failed(),
            "module failed: {}",
            self.json
        );
        self
    }
    /// The run must have failed (exit 1, failed: true, nothing changed); returns the message.
    pub fn err(self) -> String {
        assert!(
            !self.success && self.failed(),
            "expected failure: {}",
            self.json
        );
        assert_eq!(self.json["changed"], Value::Bool(false), "{}", self.json);
        self.msg().to_string()
    }
}

/// Run `bin ARGS_FILE`, as Ansible does; stdout must be exactly one JSON object.
pub fn run(bin: &str, args: &Value) -> Run {
    run_with_env(bin, args, &[])
}

/// [`run`] with these variables added to the module's environment, as a task's
/// `environment:` adds them.
pub fn run_with_env(bin: &str, args: &Value, env: &[(&str, &str)]) -> Run {
    let dir = TempDir::new("args");
    let file = dir.join("args");
    fs::write(&file, args.to_string()).unwrap();
    let out = Command::new(bin)
        .arg(&file)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("running {bin}: {e}"));
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let json: Value = serde_json::from_str(stdout.trim_end())
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {stdout}"));
    assert!(json.is_object(), "{json}");
    assert!(
        json["failed"].as_bool() == Some(!out.status.success()),
        "failed must be set and agree with the exit status: {json}"
    );
    Run {
        json,
        success: out.status.success(),
    }
}

pub fn mtime(p: &Path) -> SystemTime {
    fs::metadata(p).unwrap().modified().unwrap()
}

/// A file's bytes and mtime, to assert that a run did not write it.
pub fn snapshot(p: &Path) -> (Vec<u8>, SystemTime) {
    (fs::read(p).unwrap(), mtime(p))
}

/// `path` opened and locked as etcd locks its WAL files (flock LOCK_EX | LOCK_NB), for as long
/// as the returned file lives: what a running member looks like to the modules that must not
/// touch its data.
pub fn hold_lock(path: &Path) -> fs::File {
    extern "C" {
        fn flock(fd: std::ffi::c_int, op: std::ffi::c_int) -> std::ffi::c_int;
    }
    use std::os::fd::AsRawFd;
    let f = fs::File::open(path).unwrap();
    // SAFETY: a valid open fd; LOCK_EX | LOCK_NB, as etcd's fallback lock.
    assert_eq!(
        unsafe { flock(f.as_raw_fd(), 2 | 4) },
        0,
        "locking {}",
        path.display()
    );
    f
}

pub fn running_as_root() -> bool {
    let dir = TempDir::new("root");
    let probe = dir.join("probe");
    fs::write(&probe, "").unwrap();
    fs::metadata(&probe).unwrap().uid() == 0
}

/// A temp dir removed on drop (no tempfile crate): the one every crate's tests use.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty dir under the system temp dir, unique to this process and call; `tag`
    /// names it for whoever finds one left behind by a killed test.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "modtest-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        // A dir of a dead process that had our pid would not be empty.
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// `join(name)` as a string, for JSON arguments.
    pub fn s(&self, name: &str) -> String {
        self.join(name).display().to_string()
    }

    /// Write `bytes` to `name` in the dir; returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.join(name);
        fs::write(&p, bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        p
    }

    /// Copy a fixture into the dir under `name`; returns its path.
    pub fn fixture(&self, fixture_name: &str, name: &str) -> PathBuf {
        self.write(name, fixture(fixture_name).as_bytes())
    }

    /// File names in the dir, sorted: "nothing was written" is this not changing.
    pub fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // A test may have made it read-only.
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o755));
        let _ = fs::remove_dir_all(&self.0);
    }
}
