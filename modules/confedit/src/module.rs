//! What every etcd-ops config-file module does around its edit: take `backup`, `create` and
//! check mode from the task, turn library errors into messages an operator can act on, and
//! return `changed`, `path`, `backup_file` and the diff the same way.

use crate::edit::{apply_edit, EditOptions, EditOutcome};
use crate::error::{Error, Result};
use ansible_module::{Diff, Failure, Module, Response};
use std::io;
use std::path::Path;

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::new(e.to_string())
    }
}

/// [`apply_edit`] with the task's options. A module without a `create` option never creates.
pub fn edit_file<V, F>(
    m: &Module,
    path: &Path,
    validate: V,
    edit: F,
) -> std::result::Result<EditOutcome, Failure>
where
    V: Fn(&str) -> Result<()>,
    F: FnOnce(&str) -> Result<String>,
{
    let offers_create = m.params.as_map().contains_key("create");
    let opts = EditOptions {
        create: m.params.bool("create"),
        check_mode: m.check_mode(),
        backup: m.params.bool("backup"),
    };
    apply_edit(path, &opts, validate, edit).map_err(|e| describe(e, path, offers_create))
}

fn describe(e: Error, path: &Path, offers_create: bool) -> Failure {
    let msg = match &e {
        Error::Io { action, source, .. }
            if action == "reading" && source.kind() == io::ErrorKind::NotFound =>
        {
            let hint = if offers_create {
                " (set create: true to create it)"
            } else {
                ""
            };
            format!("{} does not exist{hint}", path.display())
        }
        // The file as found does not parse: say so before the line, so it is not mistaken for
        // a problem with the requested values.
        Error::InFile { source, .. }
            if matches!(**source, Error::Parse { .. } | Error::Duplicate { .. }) =>
        {
            format!("reading {e}")
        }
        _ => e.to_string(),
    };
    Failure::new(msg)
}

/// The result every config-file module returns; modules add their own keys to it.
pub fn respond(outcome: &EditOutcome, msg: impl Into<String>) -> Response {
    let path = outcome.path.display().to_string();
    let mut resp = Response::new()
        .changed(outcome.changed)
        .msg(msg)
        .set("path", &path);
    if let Some(b) = &outcome.backup_file {
        resp = resp.set("backup_file", b.display().to_string());
    }
    resp.diff(Diff::new(path, &outcome.before, &outcome.after))
}

/// The `url_aliases` option of the URL-list modules: one list of URLs per member (every form
/// it is known by), as lists or comma-separated strings.
pub fn url_aliases(m: &Module) -> std::result::Result<crate::Aliases, Failure> {
    let groups = match m.params.get("url_aliases") {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|g| match g {
                serde_json::Value::Array(urls) => urls
                    .iter()
                    .map(|u| match u {
                        serde_json::Value::String(s) => s.trim().to_string(),
                        other => other.to_string(),
                    })
                    .collect(),
                serde_json::Value::String(s) => crate::split_list(s),
                other => vec![other.to_string()],
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(crate::Aliases::new(groups)?)
}

/// The warning for removals that matched nothing: with URL lists written by host name and
/// members reported by IP, this is how a removal that silently did nothing shows up.
pub fn unmatched_warnings(
    unmatched: &[String],
    aliases: &crate::Aliases,
    what: &str,
) -> Vec<String> {
    unmatched
        .iter()
        .map(|u| {
            let forms = aliases.forms_of(u);
            if forms.len() > 1 {
                format!(
                    "remove: {} matches nothing in {what}: not removed",
                    forms.join(" / ")
                )
            } else {
                format!(
                    "remove: {u} matches nothing in {what}: not removed (if the file names this \
                     member another way, e.g. by host name, give its URLs in url_aliases)"
                )
            }
        })
        .collect()
}
