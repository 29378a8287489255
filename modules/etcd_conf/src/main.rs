//! etcd_conf: the procedures' "edit /etc/etcd/etcd.conf" steps: point a member at the
//! surviving cluster (ETCD_INITIAL_CLUSTER, ETCD_INITIAL_CLUSTER_STATE=existing), set
//! ETCD_FORCE_NEW_CLUSTER for a single-member restore and remove it afterwards. Only the lines
//! that must change are touched; the operator's comments and quoting stay.

mod checks;
mod member;
mod report;
mod request;

use ansible_module::{run, Kind, ModuleSpec, Opt};
use confedit::module::{edit_file, respond};
use confedit::EnvFile;
use request::Request;

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "etcd_conf",
        "Edit /etc/etcd/etcd.conf in place, keeping comments, order and quoting",
    )
    .option(
        Opt::path("path")
            .default("/etc/etcd/etcd.conf")
            .help("the EnvironmentFile etcd reads"),
    )
    .option(
        Opt::str("state")
            .default("present")
            .choices(["present", "read"])
            .help(
                "present: make the edits asked for; read: only report the file (settings, member)",
            ),
    )
    .option(Opt::dict("settings").help("KEY: value to set; null removes the key's line"))
    .option(
        Opt::raw("initial_cluster_add")
            .help("members for ETCD_INITIAL_CLUSTER: dict name: peer URL, or list of name=url"),
    )
    .option(
        Opt::list("initial_cluster_remove", Kind::Str)
            .help("members to drop from ETCD_INITIAL_CLUSTER, by name or peer URL"),
    )
    .option(
        Opt::bool("force_new_cluster")
            .help("true sets ETCD_FORCE_NEW_CLUSTER=true, false removes it; unset leaves it"),
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
}

fn main() {
    run(spec(), |m| {
        let path = m.params.path("path").unwrap_or_default();
        if m.params.str("state") == Some("read") {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ansible_module::Failure::new(format!("reading {}: {e}", path.display()))
            })?;
            let conf = EnvFile::parse(&text).map_err(|e| {
                ansible_module::Failure::new(format!("reading {}: {e}", path.display()))
            })?;
            return Ok(ansible_module::Response::new()
                .changed(false)
                .msg(format!("read {}", path.display()))
                .set("settings", report::settings(&conf))
                .set("initial_cluster", report::initial_cluster(&conf))
                .set("member", member::member(&conf)));
        }
        let request = Request::from_params(&m.params)?;
        let outcome = edit_file(m, &path, checks::validate, |text| {
            let mut conf = EnvFile::parse(text)?;
            request.apply(&mut conf)?;
            Ok(conf.render())
        })?;
        let before = EnvFile::parse(&outcome.before)?;
        let after = EnvFile::parse(&outcome.after)?;
        let msg = report::summary(&before, &after, m.check_mode());
        Ok(respond(&outcome, msg)
            .set("settings", report::settings(&after))
            .set("initial_cluster", report::initial_cluster(&after)))
    })
}
