//! `make dist` (scripts/dist.sh): an AWX project tarball named after the workspace version,
//! with the playbooks at its root and everything they use beside them, byte for byte the
//! repository's files, built the same way twice.

use lab::ansible::{library, repo_root};
use lab::runner::{dist, unpack};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn workspace_version() -> String {
    let toml = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let section = toml.split("[workspace.package]").nth(1).unwrap();
    let line = section
        .lines()
        .find(|l| l.trim_start().starts_with("version"))
        .unwrap();
    line.split('"').nth(1).unwrap().to_string()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

fn same_file(a: &Path, b: &Path) {
    assert_eq!(
        std::fs::read(a).unwrap_or_else(|e| panic!("{}: {e}", a.display())),
        std::fs::read(b).unwrap_or_else(|e| panic!("{}: {e}", b.display())),
        "{} differs from {}",
        a.display(),
        b.display()
    );
}

#[test]
fn the_tarball_is_an_awx_project_made_of_the_repository_files() {
    let lib = library();
    let tmp = std::env::temp_dir().join(format!("etcd-ops-dist-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let tarball = dist(&tmp.join("a"));
    let name = format!("etcd-ops-{}", workspace_version());
    assert_eq!(
        tarball.file_name().unwrap().to_string_lossy(),
        format!("{name}.tar.gz")
    );
    let root = unpack(&tarball, &tmp.join("unpacked"));
    assert_eq!(root.file_name().unwrap().to_string_lossy(), name);

    let playbooks = repo_root().join("playbooks");
    let mut shipped_playbooks = 0;
    for e in std::fs::read_dir(&playbooks).unwrap().flatten() {
        let n = e.file_name();
        if n.to_string_lossy().ends_with(".yml") {
            same_file(&e.path(), &root.join(&n));
            shipped_playbooks += 1;
        }
    }
    assert!(shipped_playbooks >= 6, "{shipped_playbooks} playbooks");
    for dir in ["tasks", "roles"] {
        let files = files_under(&playbooks.join(dir));
        assert!(!files.is_empty());
        assert_eq!(files_under(&root.join(dir)), files, "{dir}/");
        for f in files {
            same_file(&playbooks.join(dir).join(&f), &root.join(dir).join(&f));
        }
    }
    // Every installed module and its doc, executable, nothing else.
    let modules = files_under(&lib);
    assert!(modules.iter().any(|m| m == Path::new("etcd_health")));
    assert_eq!(files_under(&root.join("library")), modules);
    for m in &modules {
        same_file(&lib.join(m), &root.join("library").join(m));
        let mode = std::fs::metadata(root.join("library").join(m))
            .unwrap()
            .permissions()
            .mode();
        let binary = m.extension().is_none();
        assert_eq!(mode & 0o111 != 0, binary, "{} mode {mode:o}", m.display());
    }
    // The job templates travel with the playbooks they name; the inventory examples too.
    for dir in ["awx", "inventory-examples"] {
        let src = repo_root().join(dir);
        if src.is_dir() {
            assert_eq!(files_under(&root.join(dir)), files_under(&src), "{dir}/");
        }
    }
    assert!(root.join("awx/health.yml").is_file());
    // AWX installs collections/requirements.yml before each job: it must ask for nothing.
    let reqs: serde_json::Value = serde_yaml::from_str(
        &std::fs::read_to_string(root.join("collections/requirements.yml")).unwrap(),
    )
    .unwrap();
    assert_eq!(reqs, serde_json::json!({"collections": []}));
    for absent in [".venv", "target", "modules", "tests", "playbooks", "lab"] {
        assert!(!root.join(absent).exists(), "{absent} shipped");
    }

    // Reproducible: a second build is the same bytes.
    let again = dist(&tmp.join("b"));
    same_file(&tarball, &again);
    std::fs::remove_dir_all(&tmp).unwrap();
}
