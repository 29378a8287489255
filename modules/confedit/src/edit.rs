//! The one way modules change a file: read, edit, re-parse, then (unless unchanged or in check
//! mode) back up and write atomically. Returning before/after lets a module answer Ansible's
//! diff mode without re-reading anything.

use crate::atomic;
use crate::error::{Error, Result};
use crate::text;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, Default)]
pub struct EditOptions {
    /// Treat a missing file as empty and create it, instead of failing.
    pub create: bool,
    /// Ansible's check mode: compute everything, write nothing.
    pub check_mode: bool,
    /// Leave a timestamped copy of the old file before replacing it.
    pub backup: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditOutcome {
    pub path: PathBuf,
    pub changed: bool,
    /// The file did not exist (only possible with `create`).
    pub created: bool,
    pub before: String,
    pub after: String,
    pub backup_file: Option<PathBuf>,
}

impl EditOutcome {
    /// Ansible's `diff` result entry: before/after with the path as both headers.
    pub fn diff(&self) -> serde_json::Value {
        let header = self.path.display().to_string();
        serde_json::json!({
            "before": self.before,
            "after": self.after,
            "before_header": header,
            "after_header": header,
        })
    }
}

/// Apply `edit` to the file at `path`. `validate` is the format's parser: the new text must
/// pass it, so nothing is ever written that the next run (or the service) could not read.
pub fn apply_edit<V, F>(
    path: &Path,
    opts: &EditOptions,
    validate: V,
    edit: F,
) -> Result<EditOutcome>
where
    V: Fn(&str) -> Result<()>,
    F: FnOnce(&str) -> Result<String>,
{
    let (before, created) = match fs::read(path) {
        Ok(bytes) => {
            let text = text::decode(&bytes).map_err(|e| e.in_file(path))?;
            (text.to_string(), false)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && opts.create => (String::new(), true),
        Err(e) => return Err(Error::io("reading", path, e)),
    };
    let after = edit(&before).map_err(|e| e.in_file(path))?;
    validate(&after).map_err(|e| {
        Error::invalid(format!(
            "refusing to write {}: the edited text does not parse: {e}",
            path.display()
        ))
    })?;
    let changed = after != before || (created && !after.is_empty());
    let mut outcome = EditOutcome {
        path: path.to_path_buf(),
        changed,
        created,
        before,
        after,
        backup_file: None,
    };
    if !changed || opts.check_mode {
        return Ok(outcome);
    }
    if opts.backup && !created {
        outcome.backup_file = Some(atomic::backup(path)?);
    }
    atomic::write_atomic(path, outcome.after.as_bytes())?;
    Ok(outcome)
}
