//! The AWX job templates in awx/ cannot rot: each names a playbook that exists, every variable
//! a survey asks for or a template sets is one that playbook (or a task file it pulls in)
//! reads and the role defaults define, the surveys are valid by AWX's own rules, and the
//! dangerous variables are gated: off unless asked for, asked for only next to a typed
//! confirmation the playbook checks, never settable at launch.

use lab::ansible::repo_root;
use lab::awx::{self, JobTemplate, QuestionType};
use lab::playbook_source::{code_of, playbooks, reads, role_defaults};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Variables that make a playbook do something it otherwise refuses or that loses data, with
/// the value that keeps them off.
const DANGEROUS: [(&str, &str); 4] = [
    ("etcd_force_restore", "false"),
    ("etcd_remove_force", "false"),
    ("etcd_restore_survivor", ""),
    ("etcd_snapshot_file", ""),
];

fn templates() -> Vec<JobTemplate> {
    let all = awx::load_all().unwrap_or_else(|e| panic!("{e}"));
    assert!(!all.is_empty(), "no definitions in awx/");
    all
}

#[test]
fn every_definition_names_an_existing_playbook_and_every_playbook_has_one() {
    let all = templates();
    let mut names = BTreeSet::new();
    for t in &all {
        assert!(
            names.insert(t.name.clone()),
            "two templates named {:?}",
            t.name
        );
        assert!(
            !t.playbook.contains('/'),
            "{}: make dist puts the playbooks at the project root, not {:?}",
            t.file.display(),
            t.playbook
        );
        assert!(
            repo_root().join("playbooks").join(&t.playbook).is_file(),
            "{}: no playbooks/{}",
            t.file.display(),
            t.playbook
        );
        assert!(!t.description.trim().is_empty(), "{}", t.file.display());
    }
    let covered: BTreeSet<String> = all.iter().map(|t| t.playbook.clone()).collect();
    assert_eq!(covered, playbooks(), "a playbook without a job template");
}

#[test]
fn every_variable_a_template_sets_is_read_by_its_playbook_and_has_a_default() {
    let defaults = role_defaults();
    for t in templates() {
        let code = code_of(&t.playbook);
        let extra = t.extra_vars_map().unwrap();
        let vars = t
            .survey_spec
            .spec
            .iter()
            .map(|q| q.variable.clone())
            .chain(extra.keys().cloned());
        for var in vars {
            assert!(
                reads(&code, &var),
                "{}: {} does not read {var} (nor any task file it uses)",
                t.file.display(),
                t.playbook
            );
            assert!(
                defaults.contains(&var),
                "{}: {var} has no default in roles/etcd_ops_defaults, so plain ansible-playbook \
                 runs would fail on it",
                t.file.display()
            );
        }
    }
}

#[test]
fn surveys_are_valid_by_awx_rules() {
    for t in templates() {
        let f = t.file.display().to_string();
        assert!(t.survey_enabled, "{f}");
        assert!(!t.survey_spec.name.is_empty() && !t.survey_spec.description.is_empty());
        let mut vars = BTreeSet::new();
        for q in &t.survey_spec.spec {
            let v = &q.variable;
            assert!(vars.insert(v.clone()), "{f}: {v} asked twice");
            assert!(!q.question_name.is_empty() && !q.question_description.is_empty());
            if matches!(
                q.kind,
                QuestionType::Multiplechoice | QuestionType::Multiselect
            ) {
                assert!(!q.choices.is_empty(), "{f}: {v} has no choices");
            }
            // AWX rejects a survey whose non-empty default is not a valid answer.
            if let Some(d) = q.default.as_ref().filter(|d| *d != &json!("")) {
                assert_eq!(
                    q.validate(Some(d)),
                    Vec::<String>::new(),
                    "{f}: {v} default"
                );
            }
            // AWX accepts "" for a required text question unless min says otherwise.
            if q.required && matches!(q.kind, QuestionType::Text | QuestionType::Textarea) {
                assert!(
                    q.min.unwrap_or(0) >= 1,
                    "{f}: required {v} accepts an empty answer"
                );
            }
        }
        // A launch that keeps every default (answering only what has none) starts, and leaves
        // every dangerous variable off.
        let vars = t
            .launch(&Value::Object(minimal_answers(&t)))
            .unwrap_or_else(|e| panic!("{f}: launch with the defaults: {e:?}"));
        for (var, off) in DANGEROUS {
            if let Some(v) = vars.get(var).filter(|_| var != "etcd_snapshot_file") {
                assert_eq!(as_text(v), off, "{f}: {var} on by default");
            }
        }
    }
}

/// An answer for each required question whose default is not a valid answer, as an operator
/// who changes nothing else would give.
fn minimal_answers(t: &JobTemplate) -> serde_json::Map<String, Value> {
    t.survey_spec
        .spec
        .iter()
        .filter(|q| {
            q.required
                && !q
                    .default
                    .as_ref()
                    .is_some_and(|d| q.validate(Some(d)).is_empty())
        })
        .map(|q| {
            let answer = match q.kind {
                QuestionType::Integer | QuestionType::Float => json!(q.min.unwrap_or(1)),
                QuestionType::Multiplechoice => json!(q.choices[0]),
                QuestionType::Multiselect => json!([q.choices[0]]),
                _ => json!("x".repeat(q.min.unwrap_or(1).max(1) as usize)),
            };
            (q.variable.clone(), answer)
        })
        .collect()
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn dangerous_variables_are_off_unless_a_break_glass_survey_asks_with_a_confirmation() {
    for t in templates() {
        let f = t.file.display().to_string();
        let code = code_of(&t.playbook);
        let extra = t.extra_vars_map().unwrap();
        let asked: BTreeMap<&str, &awx::Question> = t
            .survey_spec
            .spec
            .iter()
            .map(|q| (q.variable.as_str(), q))
            .collect();
        // Nothing beyond the survey at launch, and the plays see every host: a --limit would
        // hide members from the quorum arithmetic.
        assert!(!t.ask_variables_on_launch, "{f}");
        assert!(!t.ask_limit_on_launch, "{f}");
        assert!(!t.allow_simultaneous, "{f}: two etcd jobs at once");
        if reads(&code, "etcd_require_confirm") {
            assert_eq!(extra.get("etcd_require_confirm"), Some(&json!(true)), "{f}");
        }
        for (var, off) in DANGEROUS {
            if !reads(&code, var) {
                continue;
            }
            match asked.get(var) {
                Some(q) => {
                    let confirm = asked
                        .get("etcd_confirm")
                        .unwrap_or_else(|| panic!("{f}: asks for {var} without etcd_confirm"));
                    assert!(confirm.required && confirm.min.unwrap_or(0) >= 1, "{f}");
                    assert_eq!(extra.get("etcd_require_confirm"), Some(&json!(true)), "{f}");
                    if off == "false" {
                        assert_eq!(q.kind, QuestionType::Multiplechoice, "{f}: {var}");
                        assert_eq!(q.choices, ["false", "true"], "{f}: {var}");
                        assert_eq!(q.default, Some(json!("false")), "{f}: {var}");
                        assert!(
                            q.required,
                            "{f}: {var} must always be sent, as false by default"
                        );
                    } else {
                        assert_eq!(q.default, Some(json!("")), "{f}: {var}");
                    }
                }
                None => {
                    // Pinned off: extra vars outrank the inventory, so a value left in a group
                    // variable cannot switch it on through this template.
                    let pinned = extra.get(var).map(as_text);
                    assert_eq!(
                        pinned.as_deref(),
                        Some(off),
                        "{f}: {var} must be pinned off"
                    );
                    let err = t
                        .launch(&json!({ var: "true" }))
                        .expect_err("a variable the survey does not ask for, given at launch");
                    assert!(
                        err.iter().any(|e| e.contains("not allowed on launch")),
                        "{f}: {err:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_break_glass_launch_needs_the_confirmation_typed() {
    let t = awx::template("restore-quorum-force");
    let err = t
        .launch(&json!({"etcd_force_restore": "true"}))
        .expect_err("no confirmation typed");
    assert!(err.iter().any(|e| e.contains("etcd_confirm")), "{err:?}");
    let err = t
        .launch(&json!({"etcd_force_restore": "yes", "etcd_confirm": "etcd1"}))
        .expect_err("not one of the choices");
    assert!(
        err.iter().any(|e| e.contains("etcd_force_restore")),
        "{err:?}"
    );
    let vars = t
        .launch(&json!({"etcd_force_restore": "true", "etcd_confirm": "etcd1"}))
        .unwrap();
    assert_eq!(vars["etcd_force_restore"], json!("true"));
    assert_eq!(vars["etcd_restore_survivor"], json!(""));
    assert_eq!(vars["etcd_require_confirm"], json!(true));

    // The playbooks turn the survey's strings into booleans with `| bool`, and "false" is false.
    let code = code_of("restore-quorum.yml");
    assert!(
        code.contains("etcd_force_restore | bool"),
        "restore-quorum.yml"
    );
    assert!(reads(&code_of("remove-member.yml"), "etcd_remove_force"));
}
