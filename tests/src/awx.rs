//! AWX's side of a job, as far as etcd-ops depends on it: the job template definitions in
//! `awx/` (job template fields and a survey spec, in the shape of AWX's API) and what AWX does
//! with them at launch. It checks the answers against the survey, refuses variables the
//! template does not prompt for, and builds the job's extra vars in AWX's order: the template's
//! `extra_vars`, then the survey defaults that pass validation, then the answers. The rules
//! follow AWX's `SurveyJobTemplateMixin`.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// One `awx/*.yml`: the job template's fields and its survey. Unknown fields are refused, so a
/// definition cannot carry a setting that [`JobTemplate::launch`] and the tests would ignore.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobTemplate {
    pub name: String,
    pub description: String,
    pub job_type: JobType,
    /// Relative to the project root, where `make dist` puts the playbooks.
    pub playbook: String,
    pub verbosity: u8,
    /// YAML or JSON text, as AWX's API takes it.
    pub extra_vars: String,
    pub ask_variables_on_launch: bool,
    pub ask_limit_on_launch: bool,
    pub ask_inventory_on_launch: bool,
    pub allow_simultaneous: bool,
    pub become_enabled: bool,
    pub survey_enabled: bool,
    pub survey_spec: SurveySpec,
    /// The file it came from.
    #[serde(skip)]
    pub file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobType {
    Run,
    Check,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveySpec {
    pub name: String,
    pub description: String,
    pub spec: Vec<Question>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub question_name: String,
    pub question_description: String,
    pub variable: String,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    /// AWX also takes a newline-separated string; the definitions use lists.
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default)]
    pub default: Option<Value>,
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuestionType {
    Text,
    Textarea,
    Password,
    Integer,
    Float,
    Multiplechoice,
    Multiselect,
}

/// `<repo>/awx`.
pub fn dir() -> PathBuf {
    crate::ansible::repo_root().join("awx")
}

/// Every definition in `awx/`, sorted by file name.
pub fn load_all() -> Result<Vec<JobTemplate>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .map_err(|e| format!("{}: {e}", dir().display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    files.sort();
    files.iter().map(|f| load(f)).collect()
}

/// The definition in `awx/<stem>.yml`.
pub fn template(stem: &str) -> JobTemplate {
    load(&dir().join(format!("{stem}.yml"))).unwrap_or_else(|e| panic!("{e}"))
}

fn load(file: &Path) -> Result<JobTemplate, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut t: JobTemplate =
        serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    t.file = file.to_path_buf();
    Ok(t)
}

impl JobTemplate {
    /// The template's own `extra_vars`, parsed ("" is none).
    pub fn extra_vars_map(&self) -> Result<Map<String, Value>, String> {
        if self.extra_vars.trim().is_empty() {
            return Ok(Map::new());
        }
        match serde_yaml::from_str::<Value>(&self.extra_vars) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(other) => Err(format!(
                "{}: extra_vars is not a mapping: {other}",
                self.name
            )),
            Err(e) => Err(format!("{}: extra_vars: {e}", self.name)),
        }
    }

    /// What AWX does when the survey is submitted with `answers` (the UI sends each question's
    /// default unless the operator changed it): the job's extra vars, or the errors AWX would
    /// show instead of starting the job.
    pub fn launch(&self, answers: &Value) -> Result<Map<String, Value>, Vec<String>> {
        let mut rest = answers.as_object().cloned().unwrap_or_default();
        let mut vars = self.extra_vars_map().map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        if self.survey_enabled {
            for q in &self.survey_spec.spec {
                let given = rest.remove(&q.variable);
                let value = given.or_else(|| {
                    q.default
                        .clone()
                        .filter(|d| !d.is_null() && q.validate(Some(d)).is_empty())
                });
                let errs = q.validate(value.as_ref());
                if !errs.is_empty() {
                    errors.extend(errs);
                } else if let Some(v) = value {
                    vars.insert(q.variable.clone(), v);
                }
            }
        }
        if !self.ask_variables_on_launch {
            let own = self.extra_vars_map().map_err(|e| vec![e])?;
            rest.retain(|k, v| own.get(k) != Some(v));
            if !rest.is_empty() {
                let keys: Vec<&str> = rest.keys().map(String::as_str).collect();
                errors.push(format!(
                    "Variables {} are not allowed on launch",
                    keys.join(", ")
                ));
            }
        } else {
            vars.extend(rest);
        }
        if errors.is_empty() {
            Ok(vars)
        } else {
            Err(errors)
        }
    }

    /// The options AWX adds to ansible-playbook for this template's fields.
    pub fn cmdline(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.job_type == JobType::Check {
            args.push("--check".to_string());
        }
        if self.verbosity > 0 {
            args.push(format!("-{}", "v".repeat(self.verbosity.into())));
        }
        if self.become_enabled {
            args.push("--become".to_string());
        }
        args
    }
}

impl Question {
    /// AWX's `_survey_element_validation` for one value (`None`: not given).
    pub fn validate(&self, value: Option<&Value>) -> Vec<String> {
        let var = &self.variable;
        let Some(v) = value else {
            return if self.required {
                vec![format!("'{var}' value missing")]
            } else {
                Vec::new()
            };
        };
        let mut errors = Vec::new();
        let bounds = |n: f64, errors: &mut Vec<String>| {
            if self.min.is_some_and(|m| n < m as f64) {
                errors.push(format!("'{var}' value {v} is too small"));
            }
            if self.max.is_some_and(|m| n > m as f64) {
                errors.push(format!("'{var}' value {v} is too large"));
            }
        };
        match self.kind {
            QuestionType::Text | QuestionType::Textarea | QuestionType::Password => match v {
                Value::String(s) => bounds(s.chars().count() as f64, &mut errors),
                _ => errors.push(format!("Value {v} for '{var}' expected to be a string.")),
            },
            QuestionType::Integer => match v.as_i64() {
                Some(n) => bounds(n as f64, &mut errors),
                None => errors.push(format!("Value {v} for '{var}' expected to be an integer.")),
            },
            QuestionType::Float => match v.as_f64() {
                Some(n) => bounds(n, &mut errors),
                None => errors.push(format!("Value {v} for '{var}' expected to be a number.")),
            },
            QuestionType::Multiplechoice => {
                if !v
                    .as_str()
                    .is_some_and(|s| self.choices.iter().any(|c| c == s))
                {
                    errors.push(format!(
                        "Value {v} for '{var}' expected to be one of {:?}.",
                        self.choices
                    ));
                }
            }
            QuestionType::Multiselect => match v.as_array() {
                Some(items) => {
                    for i in items {
                        if !i
                            .as_str()
                            .is_some_and(|s| self.choices.iter().any(|c| c == s))
                        {
                            errors.push(format!(
                                "Value {i} for '{var}' expected to be one of {:?}.",
                                self.choices
                            ));
                        }
                    }
                }
                None => errors.push(format!("'{var}' value is expected to be a list.")),
            },
        }
        errors
    }
}
