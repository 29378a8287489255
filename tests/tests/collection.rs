//! The collection etcd_ops.etcd as its users get it: built by scripts/collection.sh (what `make
//! collection` runs), installed by ansible-galaxy into a collections path of its own, its docs
//! rendered and its playbooks run by FQCN on a real lab with no repository config and no
//! ANSIBLE_LIBRARY; and execution-environment.yml turned into a build context that installs it.

use lab::ansible::{collection_command, collection_playbook, finish, library, repo_root};
use lab::{Lab, LabOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace version, which the collection carries.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs scripts/collection.sh into `out` and returns the tarball ansible-galaxy built.
fn build_collection(out: &Path) -> PathBuf {
    // The script packs the installed binaries: without them, fail with the command that fixes it.
    library();
    let mut c = Command::new("bash");
    c.arg(repo_root().join("scripts/collection.sh")).arg(out);
    let run = finish(c);
    assert!(run.ok(), "{}", run.describe());
    let tarball = out.join(format!("etcd_ops-etcd-{VERSION}.tar.gz"));
    assert!(
        tarball.is_file(),
        "no {}: {}",
        tarball.display(),
        run.describe()
    );
    tarball
}

/// Installs a collection tarball or requirements (`args`) into `collections`, as a user would.
fn galaxy_install(collections: &Path, cwd: &Path, args: &[&str]) {
    std::fs::create_dir_all(collections).unwrap();
    let mut c = collection_command("ansible-galaxy", collections);
    c.current_dir(cwd)
        .args(["collection", "install", "-p"])
        .arg(collections)
        .args(args);
    let run = finish(c);
    assert!(run.ok(), "{}", run.describe());
}

/// The ansible-core range the tests run (requirements-dev.txt), e.g. `>=2.16,<2.21`.
fn ansible_core_range() -> String {
    let reqs = std::fs::read_to_string(repo_root().join("requirements-dev.txt")).unwrap();
    reqs.lines()
        .find_map(|l| l.strip_prefix("ansible-core"))
        .expect("ansible-core in requirements-dev.txt")
        .trim()
        .to_string()
}

fn yaml(path: &Path) -> serde_yaml::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap()
}

fn manifest_version(collection: &Path) -> Value {
    let m: Value =
        serde_json::from_slice(&std::fs::read(collection.join("MANIFEST.json")).unwrap()).unwrap();
    m["collection_info"]["version"].clone()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// What the tarball holds is what the repository has: same binaries, docs and playbooks.
fn assert_contents(collection: &Path) {
    let info: Value =
        serde_json::from_slice(&std::fs::read(collection.join("MANIFEST.json")).unwrap()).unwrap();
    assert_eq!(info["collection_info"]["namespace"], json!("etcd_ops"));
    assert_eq!(info["collection_info"]["name"], json!("etcd"));
    assert_eq!(manifest_version(collection), json!(VERSION));
    assert_eq!(info["collection_info"]["license"], json!(["Apache-2.0"]));
    assert_eq!(
        yaml(&collection.join("meta/runtime.yml"))["requires_ansible"].as_str(),
        Some(ansible_core_range().as_str())
    );
    assert!(collection.join("README.md").is_file());
    assert!(collection.join("CHANGELOG.md").is_file());

    let modules = collection.join("plugins/modules");
    let mut shipped = 0;
    for bin in files_in(&library()) {
        let name = bin.file_name().unwrap().to_str().unwrap().to_string();
        if name.contains('.') {
            continue;
        }
        let installed = modules.join(&name);
        assert_eq!(
            std::fs::read(&installed).ok(),
            Some(std::fs::read(&bin).unwrap()),
            "{name} differs from {}",
            bin.display()
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&installed).unwrap().permissions(),
        );
        assert_eq!(mode & 0o111, 0o111, "{name} is executable");
        assert_eq!(
            std::fs::read(modules.join(format!("{name}.yml"))).ok(),
            std::fs::read(repo_root().join(format!("modules/{name}/{name}.yml"))).ok(),
            "{name}.yml is the crate's sidecar doc"
        );
        assert_eq!(
            std::fs::read(collection.join(format!("plugins/action/{name}.py"))).ok(),
            Some(
                std::fs::read(repo_root().join(format!("playbooks/action_plugins/{name}.py")))
                    .unwrap_or_else(|e| panic!("{name} has no action plugin: {e}"))
            ),
            "{name}'s action plugin is the playbooks' shim"
        );
        shipped += 1;
    }
    assert!(collection
        .join("plugins/plugin_utils/etcd_ops_module_cache.py")
        .is_file());
    assert!(shipped >= 9, "{shipped} modules");

    for pb in files_in(&repo_root().join("playbooks")) {
        if pb.extension().is_some_and(|e| e == "yml") {
            let name = pb.file_name().unwrap().to_str().unwrap().replace('-', "_");
            // The same file, but for the playbooks it imports, named as the collection names them.
            let text = std::fs::read_to_string(&pb).unwrap();
            let expected: String = text
                .lines()
                .map(|l| match l.split_once("import_playbook: ") {
                    Some((head, target)) => {
                        format!("{head}import_playbook: {}\n", target.replace('-', "_"))
                    }
                    None => format!("{l}\n"),
                })
                .collect();
            assert_eq!(
                std::fs::read(collection.join("playbooks").join(&name)).ok(),
                Some(expected.into_bytes()),
                "playbooks/{name}"
            );
        }
    }
    // Only the collection's own role may supply the defaults (see the FQCN runs).
    assert!(!collection.join("playbooks/roles").exists());
    assert!(collection
        .join("roles/etcd_ops_defaults/defaults/main.yml")
        .is_file());
}

#[test]
fn installed_collection_documents_its_modules_and_runs_its_playbooks_by_fqcn() {
    let lab = Lab::up(LabOptions::default()).expect("lab up");
    lab.put_keys("/collection/", 200).unwrap();
    // Inside the lab's directory: removed with it, kept when the test fails.
    let work = lab.dir().join("collection");
    let tarball = build_collection(&work.join("build"));
    let collections = work.join("collections");
    galaxy_install(&collections, &work, &[tarball.to_str().unwrap()]);
    let installed = collections.join("ansible_collections/etcd_ops/etcd");
    assert_contents(&installed);

    let mut doc = collection_command("ansible-doc", &collections);
    doc.arg("etcd_ops.etcd.etcd_health");
    let doc = finish(doc);
    assert!(doc.ok(), "{}", doc.describe());
    let sidecar = installed.join("plugins/modules/etcd_health.yml");
    assert!(
        doc.stdout.contains(&format!(
            "MODULE etcd_ops.etcd.etcd_health ({})",
            sidecar.display()
        )),
        "{}",
        doc.stdout
    );
    for part in [
        "OPTIONS",
        "fail_on_quorum_loss",
        "EXAMPLES",
        "RETURN VALUES",
    ] {
        assert!(doc.stdout.contains(part), "{part}: {}", doc.stdout);
    }

    // Every playbook resolves by FQCN: its task files, and the defaults role by its short name.
    let inv = lab.inventory_path();
    for pb in files_in(&installed.join("playbooks")) {
        if pb.extension().is_some_and(|e| e == "yml") {
            let fqcn = format!(
                "etcd_ops.etcd.{}",
                pb.file_stem().unwrap().to_str().unwrap()
            );
            let run = collection_playbook(&collections, &inv, &fqcn, &["--syntax-check"]);
            assert!(run.ok(), "{fqcn}: {}", run.describe());
        }
    }

    // health: every etcd_health call runs the collection's binary, found by its short name.
    let run = collection_playbook(&collections, &inv, "etcd_ops.etcd.health", &["-vvv"]);
    assert!(run.ok(), "{}", run.describe());
    assert!(
        run.stdout
            .contains("running playbook inside collection etcd_ops.etcd"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("quorum ok: 3 of 3 voting members healthy"),
        "{}",
        run.stdout
    );
    let used: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("Using module file"))
        .collect();
    // Every module came from the installed collection (etcd_conf reads each host's etcd.conf,
    // etcd_health asks the cluster), none from the repository.
    let modules_dir = installed.join("plugins/modules");
    assert!(
        used.iter()
            .all(|l| l.starts_with(&format!("Using module file {}/", modules_dir.display()))),
        "{}",
        run.stdout
    );
    let module_file = installed.join("plugins/modules/etcd_health");
    assert!(
        used.contains(&format!("Using module file {}", module_file.display()).as_str()),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("playbooks/library"), "{}", run.stdout);
    // ...through the collection's action plugin, from the module cache.
    assert!(
        run.stdout
            .contains("etcd-ops module cache: ran etcd_health from the cache"),
        "{}",
        run.stdout
    );
    assert_eq!(run.total("changed"), 0, "{}", run.stdout);

    // backup: a verified snapshot with every key, fetched to the controller, and bundles.
    let fetch = work.join("fetched");
    let run = collection_playbook(
        &collections,
        &inv,
        "etcd_ops.etcd.backup",
        &[
            "-e",
            "etcd_backup_dir={{ lab_root }}/var/backup/etcd",
            "-e",
            &format!("etcd_backup_fetch_dir={}", fetch.display()),
        ],
    );
    assert!(run.ok(), "{}", run.describe());
    for h in ["etcd1", "etcd2", "etcd3"] {
        let bundles = files_in(&lab.host(h).unwrap().root.join("var/backup/etcd"));
        assert_eq!(bundles.len(), 1, "{h}: {bundles:?}");
        assert!(bundles[0].join("MANIFEST.json").is_file(), "{h}");
    }
    let hosts = files_in(&fetch);
    assert_eq!(hosts.len(), 1, "one snapshot: {hosts:?}");
    // The snapshot and the manifest that lists it (and a v2 export, when there is v2 data).
    let snapshots: Vec<_> = files_in(&hosts[0])
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    assert!(hosts[0].join("MANIFEST.json").is_file());
    let out = lab
        .etcdctl([
            "snapshot",
            "status",
            "-w",
            "json",
            snapshots[0].to_str().unwrap(),
        ])
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(status["totalKey"].as_i64().unwrap() >= 200, "{status}");
}

#[test]
fn execution_environment_build_context_installs_the_collection() {
    let work = std::env::temp_dir().join(format!("etcd-ops-ee-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    // The definition's paths are relative to it: beside a build/ of this test's own.
    build_collection(&work.join("build"));
    let ee_file = work.join("execution-environment.yml");
    std::fs::copy(repo_root().join("execution-environment.yml"), &ee_file).unwrap();

    let ee = yaml(&ee_file);
    assert_eq!(ee["version"].as_u64(), Some(3));
    assert_eq!(
        ee["dependencies"]["ansible_core"]["package_pip"].as_str(),
        Some(format!("ansible-core{}", ansible_core_range()).as_str())
    );

    let context = work.join("context");
    let mut c = Command::new(repo_root().join(".venv/bin/ansible-builder"));
    c.current_dir(&work)
        .args(["create", "--output-filename", "Containerfile", "-f"])
        .arg(&ee_file)
        .arg("-c")
        .arg(&context);
    let run = finish(c);
    assert!(run.ok(), "{}", run.describe());

    // The context carries the tarball `make collection` built, byte for byte.
    let build = context.join("_build");
    assert_eq!(
        std::fs::read(build.join("collections/etcd_ops-etcd.tar.gz")).ok(),
        Some(std::fs::read(work.join("build/etcd_ops-etcd.tar.gz")).unwrap()),
        "{}",
        run.describe()
    );
    // The galaxy stage copies _build to /build and installs from there: replay that step.
    let containerfile = std::fs::read_to_string(context.join("Containerfile")).unwrap();
    let galaxy = containerfile
        .split("FROM base AS galaxy")
        .nth(1)
        .expect("a galaxy stage")
        .split("\nFROM ")
        .next()
        .unwrap();
    let at = |s: &str| {
        galaxy
            .find(s)
            .unwrap_or_else(|| panic!("{s:?} not in the galaxy stage:\n{galaxy}"))
    };
    assert!(at("COPY _build /build") < at("WORKDIR /build"));
    assert!(at("WORKDIR /build") < at("ansible-galaxy collection install"));
    assert!(galaxy.contains("-r requirements.yml"), "{galaxy}");
    let installed = work.join("installed");
    galaxy_install(&installed, &build, &["-r", "requirements.yml"]);
    assert_eq!(
        manifest_version(&installed.join("ansible_collections/etcd_ops/etcd")),
        json!(VERSION)
    );
    std::fs::remove_dir_all(&work).unwrap();
}
