//! flanneld_conf: the procedures' "point flanneld at the etcd members" step. After a member is
//! replaced, the endpoint list must name the live members; only that line changes, in the
//! quoting it already has. flannel 0.5 reads `FLANNEL_ETCD`, later versions
//! `FLANNEL_ETCD_ENDPOINTS`; openshift-ansible's flannel role writes whichever the file has,
//! so the key is taken from the file unless the task names one.

use ansible_module::{run, Failure, Kind, ModuleSpec, Opt, Response};
use confedit::module::{edit_file, respond, unmatched_warnings, url_aliases};
use confedit::{split_list, EnvFile, ListEdit};
use std::fs;
use std::io;

const ENDPOINTS: &str = "FLANNEL_ETCD_ENDPOINTS";
const LEGACY: &str = "FLANNEL_ETCD";

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "flanneld_conf",
        "Set, add or remove etcd endpoints in flanneld's environment file",
    )
    .option(
        Opt::path("path")
            .doc("The EnvironmentFile flanneld reads.")
            .default("/etc/sysconfig/flanneld")
            .help("the EnvironmentFile flanneld reads"),
    )
    .option(
        Opt::list("endpoints", Kind::Str)
            .doc(
                "The exact endpoint list. Mutually exclusive with I(add) and \
                I(remove).",
            )
            .help("the exact endpoint list"),
    )
    .options(confedit::module::url_edit_options())
    .option(
        Opt::str("key")
            .doc(
                "The variable that holds the endpoints. Default \
                C(FLANNEL_ETCD_ENDPOINTS), or C(FLANNEL_ETCD) when the file sets \
                only that one.",
            )
            .help(
                "the variable holding the comma-separated endpoints (default: \
                FLANNEL_ETCD_ENDPOINTS, or FLANNEL_ETCD when only that is in the \
                file)",
            ),
    )
    .option(confedit::module::backup_option())
    .option(confedit::module::create_option())
    .option(
        Opt::bool("skip_missing")
            .default(false)
            .doc(
                "A missing I(path) is left missing, the task ok and unchanged with \
                C(exists=false), instead of failing: a node that runs no flanneld \
                (openshift-sdn, OpenShift 3.11) has nothing to point at etcd. Mutually \
                exclusive with I(create).",
            )
            .help("a missing file: ok, nothing done (a node without flanneld)"),
    )
    .mutually_exclusive(&["create", "skip_missing"])
    .mutually_exclusive(&["endpoints", "add"])
    .mutually_exclusive(&["endpoints", "remove"])
}

/// The keys to edit: the one the task names, else whichever of FLANNEL_ETCD_ENDPOINTS and
/// flannel 0.5's FLANNEL_ETCD the file sets (both, kept in step, when they agree).
fn keys_in(conf: &EnvFile, named: Option<&str>) -> confedit::Result<Vec<String>> {
    if let Some(k) = named {
        return Ok(vec![k.to_string()]);
    }
    Ok(match (conf.get(ENDPOINTS), conf.get(LEGACY)) {
        (Some(new), Some(old)) if split_list(new) != split_list(old) => {
            return Err(confedit::Error::invalid(format!(
                "{ENDPOINTS} ({new}) and {LEGACY} ({old}) both set and disagree: \
                 set key to the one this flanneld reads"
            )))
        }
        (Some(_), Some(_)) => vec![ENDPOINTS.to_string(), LEGACY.to_string()],
        (None, Some(_)) => vec![LEGACY.to_string()],
        _ => vec![ENDPOINTS.to_string()],
    })
}

fn main() {
    run(spec(), |m| {
        let p = &m.params;
        let exact = p.get("endpoints").map(|_| p.strings("endpoints"));
        let edit = ListEdit::from_options(
            ["endpoints", "add", "remove"],
            exact,
            p.strings("add"),
            p.strings("remove"),
        )?;
        let aliases = url_aliases(m)?;
        let named = p.string("key");
        if let Some(key) = &named {
            if !confedit::envfile::is_valid_key(key) {
                return Err(Failure::new(format!(
                    "key `{key}` is not a valid variable name"
                )));
            }
        }
        let path = p.path("path").unwrap_or_default();
        if p.bool("skip_missing")
            && fs::symlink_metadata(&path).is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
        {
            return Ok(Response::new()
                .changed(false)
                .msg(format!(
                    "{} does not exist: no flanneld here",
                    path.display()
                ))
                .set("path", path.display().to_string())
                .set("exists", false));
        }
        let mut unmatched = Vec::new();
        let mut keys = Vec::new();
        let outcome = edit_file(m, &path, EnvFile::validate, |text| {
            let mut conf = EnvFile::parse(text)?;
            keys = keys_in(&conf, named.as_deref())?;
            let current = split_list(conf.get(&keys[0]).unwrap_or(""));
            let applied = edit.apply_with(&current, &aliases)?;
            unmatched = applied.unmatched;
            for key in &keys {
                // The same list written differently (spaces after commas) is left as written.
                if split_list(conf.get(key).unwrap_or("")) != applied.list {
                    conf.set(key, &applied.list.join(","))?;
                }
            }
            Ok(conf.render())
        })?;
        let after = EnvFile::parse(&outcome.after)?;
        let endpoints = split_list(after.get(&keys[0]).unwrap_or(""));
        let msg = format!("{}: {}", keys.join(", "), endpoints.join(","));
        let mut resp = respond(&outcome, msg)
            .set("exists", true)
            .set("endpoints", endpoints)
            .set("keys", &keys);
        for w in unmatched_warnings(&unmatched, &aliases, &keys.join(" and ")) {
            resp.warn(w);
        }
        Ok(resp)
    })
}
