//! What a module returns: a success `Response` or a `Failure`, both carrying module keys.

use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt::Display;

/// Ansible's diff object; shown by `--diff` when the task changed something.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Diff {
    pub before: String,
    pub after: String,
    pub before_header: String,
    pub after_header: String,
}

impl Diff {
    pub fn new(
        header: impl Into<String>,
        before: impl Into<String>,
        after: impl Into<String>,
    ) -> Diff {
        let header = header.into();
        Diff {
            before: before.into(),
            after: after.into(),
            before_header: header.clone(),
            after_header: header,
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Response {
    pub changed: bool,
    pub msg: Option<String>,
    pub diffs: Vec<Diff>,
    pub warnings: Vec<String>,
    pub data: Map<String, Value>,
}

impl Response {
    pub fn new() -> Response {
        Response::default()
    }
    pub fn changed(mut self, changed: bool) -> Response {
        self.changed = changed;
        self
    }
    pub fn msg(mut self, msg: impl Into<String>) -> Response {
        self.msg = Some(msg.into());
        self
    }
    /// A module key. Serialization of our own types cannot fail; if it ever did, the key
    /// says so instead of the module panicking.
    pub fn set(mut self, key: &str, value: impl Serialize) -> Response {
        self.insert(key, value);
        self
    }
    pub fn insert(&mut self, key: &str, value: impl Serialize) {
        let v = serde_json::to_value(value)
            .unwrap_or_else(|e| Value::String(format!("<unserializable: {e}>")));
        self.data.insert(key.to_string(), v);
    }
    /// Every field of a serializable struct as module keys.
    pub fn merge(mut self, fields: impl Serialize) -> Response {
        merge_into(&mut self.data, fields);
        self
    }
    pub fn diff(mut self, diff: Diff) -> Response {
        self.diffs.push(diff);
        self
    }
    pub fn warn(&mut self, warning: impl Into<String>) {
        self.warnings.push(warning.into());
    }
}

/// A failed run: `msg` says what went wrong with enough context to act on; `data` carries
/// whatever the module learnt before failing (a health report, say).
#[derive(Debug, Clone)]
pub struct Failure {
    pub msg: String,
    pub data: Map<String, Value>,
}

impl Failure {
    pub fn new(msg: impl Into<String>) -> Failure {
        Failure {
            msg: msg.into(),
            data: Map::new(),
        }
    }
    pub fn with(mut self, key: &str, value: impl Serialize) -> Failure {
        let v = serde_json::to_value(value)
            .unwrap_or_else(|e| Value::String(format!("<unserializable: {e}>")));
        self.data.insert(key.to_string(), v);
        self
    }
}

impl Failure {
    /// Every field of a serializable struct as module keys.
    pub fn merge(mut self, fields: impl Serialize) -> Failure {
        merge_into(&mut self.data, fields);
        self
    }
}

fn merge_into(data: &mut Map<String, Value>, fields: impl Serialize) {
    match serde_json::to_value(fields) {
        Ok(Value::Object(m)) => data.extend(m),
        Ok(other) => {
            data.insert("value".into(), other);
        }
        Err(e) => {
            data.insert(
                "value".into(),
                Value::String(format!("<unserializable: {e}>")),
            );
        }
    }
}

impl Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl From<String> for Failure {
    fn from(msg: String) -> Failure {
        Failure::new(msg)
    }
}

impl From<&str> for Failure {
    fn from(msg: &str) -> Failure {
        Failure::new(msg)
    }
}

/// `.context("reading /etc/etcd/etcd.conf")?` turns any displayable error into a Failure
/// whose message leads with what was being done.
pub trait Context<T> {
    fn context(self, what: impl Display) -> Result<T, Failure>;
    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T, Failure>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn context(self, what: impl Display) -> Result<T, Failure> {
        self.map_err(|e| Failure::new(format!("{what}: {e}")))
    }
    fn with_context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T, Failure> {
        self.map_err(|e| Failure::new(format!("{}: {e}", what())))
    }
}
