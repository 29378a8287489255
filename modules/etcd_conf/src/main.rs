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
        "Edit /etc/etcd/etcd.conf in place, keeping comments, order and \
                quoting",
    )
    .option(
        Opt::path("path")
            .doc("The EnvironmentFile etcd reads.")
            .default("/etc/etcd/etcd.conf")
            .help("the EnvironmentFile etcd reads"),
    )
    .option(
        Opt::str("state")
            .doc(
                "C(present) makes the edits the other options ask for.\nC(read) \
                changes nothing and only reports the file: C(settings), \
                C(initial_cluster) and C(member), the member as etcd itself sees \
                it from this file (name, advertised client and peer URLs, data \
                dir, certificate paths), so a playbook takes them from the host \
                instead of assuming them. What a fresh RPM install leaves (the \
                name C(default), localhost URLs) is left out of C(member).",
            )
            .default("present")
            .choices(["present", "read"])
            .help(
                "present: make the edits asked for; read: only report the file \
                (settings, member)",
            ),
    )
    .option(
        Opt::dict("settings")
            .doc(
                "Variables to set, as KEY: value. Numbers and booleans are \
                written as text (true/false in lowercase).\nA null value removes \
                the key's line.\nCannot set C(ETCD_INITIAL_CLUSTER) together \
                with I(initial_cluster_add) or I(initial_cluster_remove), nor \
                C(ETCD_FORCE_NEW_CLUSTER) together with I(force_new_cluster).",
            )
            .help("KEY: value to set; null removes the key's line"),
    )
    .option(
        Opt::raw("initial_cluster_add")
            .doc(
                "Members to add to (or update in) C(ETCD_INITIAL_CLUSTER): a dict \
                name: peer URL (or name: list of peer URLs), a list of name=url, \
                or the same comma-separated.\nA member already listed gets \
                exactly the given peer URLs, at its position; new members are \
                appended. C(ETCD_INITIAL_CLUSTER) is created when missing.",
            )
            .help(
                "members for ETCD_INITIAL_CLUSTER: dict name: peer URL, or list \
                of name=url",
            ),
    )
    .option(
        Opt::list("initial_cluster_remove", Kind::Str)
            .doc(
                "Members to drop from C(ETCD_INITIAL_CLUSTER), each by name or by \
                peer URL (anything containing C(://)).\nRemoving every member is \
                refused.",
            )
            .help("members to drop from ETCD_INITIAL_CLUSTER, by name or peer URL"),
    )
    .option(
        Opt::bool("force_new_cluster")
            .doc(
                "C(true) sets C(ETCD_FORCE_NEW_CLUSTER=true); C(false) removes \
                the line.\nWhen not given, the line is left as it is.",
            )
            .help(
                "true sets ETCD_FORCE_NEW_CLUSTER=true, false removes it; unset \
                leaves it",
            ),
    )
    .option(confedit::module::backup_option())
    .option(confedit::module::create_option())
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
