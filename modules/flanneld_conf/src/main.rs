//! flanneld_conf: the procedures' "point flanneld at the etcd members" step. After a member is
//! replaced, FLANNEL_ETCD_ENDPOINTS must list the live members; only that line changes, in the
//! quoting it already has.

use ansible_module::{run, Failure, Kind, ModuleSpec, Opt};
use confedit::module::{edit_file, respond};
use confedit::{split_list, EnvFile, ListEdit};

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "flanneld_conf",
        "Set, add or remove etcd endpoints in flanneld's environment file",
    )
    .option(
        Opt::path("path")
            .default("/etc/sysconfig/flanneld")
            .help("the EnvironmentFile flanneld reads"),
    )
    .option(Opt::list("endpoints", Kind::Str).help("the exact endpoint list"))
    .option(Opt::list("add", Kind::Str).help("endpoints to append if missing"))
    .option(Opt::list("remove", Kind::Str).help("endpoints to drop"))
    .option(
        Opt::str("key")
            .default("FLANNEL_ETCD_ENDPOINTS")
            .help("the variable holding the comma-separated endpoints"),
    )
    .option(
        Opt::bool("backup")
            .default(false)
            .help("keep a timestamped copy of the old file"),
    )
    .option(
        Opt::bool("create")
            .default(false)
            .help("create the file if it is missing"),
    )
    .mutually_exclusive(&["endpoints", "add"])
    .mutually_exclusive(&["endpoints", "remove"])
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
        let key = p.string("key").unwrap_or_default();
        if !confedit::envfile::is_valid_key(&key) {
            return Err(Failure::new(format!(
                "key `{key}` is not a valid variable name"
            )));
        }
        let path = p.path("path").unwrap_or_default();
        let outcome = edit_file(m, &path, EnvFile::validate, |text| {
            let mut conf = EnvFile::parse(text)?;
            let current = split_list(conf.get(&key).unwrap_or(""));
            let wanted = edit.apply(&current)?;
            // The same list written differently (spaces after commas) is left as written.
            if wanted != current {
                conf.set(&key, &wanted.join(","))?;
            }
            Ok(conf.render())
        })?;
        let after = EnvFile::parse(&outcome.after)?;
        let endpoints = split_list(after.get(&key).unwrap_or(""));
        let msg = format!("{key}: {}", endpoints.join(","));
        Ok(respond(&outcome, msg).set("endpoints", endpoints))
    })
}
