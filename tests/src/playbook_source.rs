//! What the playbooks read, from their source: for checks that definitions living beside them
//! (awx/ job templates, inventory-examples/) name only variables the playbooks use.

use crate::ansible::repo_root;
use serde_json::Value;
use std::collections::BTreeSet;

/// A playbook's text and that of every task file and playbook it pulls in (transitively),
/// without comment lines, so a variable named only in a comment does not count as read.
pub fn code_of(playbook: &str) -> String {
    let dir = repo_root().join("playbooks");
    let tasks = dir.join("tasks");
    let mut seen = BTreeSet::new();
    let mut todo = vec![dir.join(playbook)];
    let mut code = String::new();
    while let Some(file) = todo.pop() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            code.push_str(line);
            code.push('\n');
            for token in line.split(|c: char| !(c.is_ascii_alphanumeric() || "_.-/".contains(c))) {
                let name = token.rsplit('/').next().unwrap_or(token);
                if !name.ends_with(".yml") {
                    continue;
                }
                if tasks.join(name).is_file() {
                    todo.push(tasks.join(name));
                } else if line.contains("import_playbook:") && dir.join(name).is_file() {
                    todo.push(dir.join(name));
                }
            }
        }
    }
    code
}

/// Whether `var` occurs in `code` as a whole word.
pub fn reads(code: &str, var: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    code.match_indices(var).any(|(i, _)| {
        !code[..i].chars().next_back().is_some_and(word)
            && !code[i + var.len()..].chars().next().is_some_and(word)
    })
}

/// The variables the defaults role defines.
pub fn role_defaults() -> BTreeSet<String> {
    let p = repo_root().join("playbooks/roles/etcd_ops_defaults/defaults/main.yml");
    let v: Value = serde_yaml::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    v.as_object().unwrap().keys().cloned().collect()
}

/// The playbook file names under playbooks/ an operator runs; a name starting with `_` is a
/// part the playbooks import (`_etcd-clients.yml`), not run on its own.
pub fn playbooks() -> BTreeSet<String> {
    std::fs::read_dir(repo_root().join("playbooks"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml") && !n.starts_with('_'))
        .collect()
}
