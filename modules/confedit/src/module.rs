//! What every etcd-ops config-file module does around its edit: take `backup`, `create` and
//! check mode from the task, turn library errors into messages an operator can act on, and
//! return `changed`, `path`, `backup_file` and the diff the same way.

use crate::edit::{apply_edit, EditOptions, EditOutcome};
use crate::error::{Error, Result};
use ansible_module::coerce::type_name;
use ansible_module::{Diff, Failure, Kind, Module, Opt, Response};
use serde_json::Value;
use std::io;
use std::path::Path;

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::new(e.to_string())
    }
}

/// `backup`, as every file editor means it: the one place its docs are written.
pub fn backup_option() -> Opt {
    Opt::bool("backup")
        .default(false)
        .help("keep a timestamped copy of the old file")
        .doc(
            "Keep a copy of the old file named \
                C(<path>.<YYYY-MM-DD@HH:MM:SS>~) before changing it.",
        )
}

/// `create`, as every file editor that may create its file means it.
pub fn create_option() -> Opt {
    Opt::bool("create")
        .default(false)
        .help("create the file if it is missing")
        .doc("Create the file when it does not exist, instead of failing.")
}

/// `add`, `remove` and `url_aliases`, as every module editing a list of etcd URLs means them
/// (beside its own option for the exact list, exclusive with `add` and `remove`).
pub fn url_edit_options() -> Vec<Opt> {
    vec![
        Opt::list("add", Kind::Str)
            .doc("URLs to append when missing.")
            .help("URLs to append if missing"),
        Opt::list("remove", Kind::Str)
            .doc("URLs to drop (a trailing slash does not matter).")
            .help("URLs to drop"),
        Opt::list("url_aliases", Kind::List)
            .doc(
                "For each member, every URL it is known by, e.g. \
                 C([https://10.0.0.3:2379, https://ose3-etcd3.example.com:2379]) (a list, or \
                 one comma-separated string). Entries of the exact list, I(add) and I(remove) \
                 match a member by any of its URLs. A URL may belong to one member only.",
            )
            .help("per member, every URL it is known by (IP and host name forms)"),
    ]
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

/// The members of an `initial_cluster`-like option, each name with its peer URLs in the order
/// given: a dict of name: peer URL (or a list of them), a list of `name=url`, or one string
/// `name=url,name=url`. The one reading of these shapes (etcd_conf's `initial_cluster_add`;
/// etcd_snapshot's `initial_cluster` is to use it too); URLs are checked where they are set.
pub fn initial_cluster_members(
    option: &str,
    v: &Value,
) -> std::result::Result<Vec<(String, Vec<String>)>, Failure> {
    let bad = |what: String| {
        Failure::new(format!(
            "{option}: {what}; expected a dict of name: peer URL or a list of name=url"
        ))
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    match v {
        Value::Object(map) => {
            for (name, urls) in map {
                match urls {
                    Value::String(u) => pairs.push((name.clone(), u.clone())),
                    Value::Array(list) => {
                        for u in list {
                            let u = u.as_str().ok_or_else(|| {
                                bad(format!("{name} has a URL of type {}", type_name(u)))
                            })?;
                            pairs.push((name.clone(), u.to_string()));
                        }
                    }
                    other => return Err(bad(format!("{name} is of type {}", type_name(other)))),
                }
            }
        }
        Value::Array(_) | Value::String(_) => {
            let items: Vec<String> = match v {
                Value::Array(list) => list
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| bad(format!("an item is of type {}", type_name(i))))
                    })
                    .collect::<std::result::Result<_, _>>()?,
                _ => crate::split_list(v.as_str().unwrap_or("")),
            };
            for item in items {
                let (name, url) = item
                    .split_once('=')
                    .ok_or_else(|| bad(format!("`{item}` is not name=url")))?;
                pairs.push((name.to_string(), url.to_string()));
            }
        }
        other => return Err(bad(format!("got a value of type {}", type_name(other)))),
    }
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (name, url) in pairs {
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, urls)) => urls.push(url),
            None => out.push((name, vec![url])),
        }
    }
    Ok(out)
}
