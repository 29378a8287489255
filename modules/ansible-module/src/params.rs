//! Validated parameters: every option in the spec is present (null when unset and without
//! default), already coerced to its type, so accessors need no error paths.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Params {
    values: Map<String, Value>,
    given: BTreeSet<String>,
}

impl Params {
    pub(crate) fn new(values: Map<String, Value>, given: BTreeSet<String>) -> Params {
        Params { values, given }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name).filter(|v| !v.is_null())
    }

    /// Whether the task set this option, as opposed to it taking its default.
    pub fn is_given(&self, name: &str) -> bool {
        self.given.contains(name)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.str(name).map(str::to_string)
    }

    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.str(name).map(PathBuf::from)
    }

    /// An unset bool without default reads as false.
    pub fn bool(&self, name: &str) -> bool {
        self.get(name).and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn opt_bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Value::as_bool)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    pub fn float(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Value::as_f64)
    }

    /// A list of str elements; an unset list reads as empty.
    pub fn strings(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn dict(&self, name: &str) -> Option<&Map<String, Value>> {
        self.get(name).and_then(Value::as_object)
    }

    /// All parameters as a typed struct, for modules that prefer serde to accessors.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_value(Value::Object(self.values.clone())).map_err(|e| e.to_string())
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.values
    }
}
