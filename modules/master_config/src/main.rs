//! master_config: the procedures' "update etcdClientInfo.urls on every master" step. Only the
//! sequence's lines are rewritten, in the style the file already uses; the document is parsed
//! before and after and the edit is refused if anything else would differ.

use ansible_module::{run, Kind, ModuleSpec, Opt};
use confedit::module::{edit_file, respond, unmatched_warnings, url_aliases};
use confedit::{get_seq, set_seq, yamlseq, ListEdit};

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "master_config",
        "Set, add or remove etcd URLs in an OpenShift master-config.yaml",
    )
    .option(
        Opt::path("path")
            .doc("The master's config file.")
            .default("/etc/origin/master/master-config.yaml")
            .help("the master's config file"),
    )
    .option(
        Opt::list("urls", Kind::Str)
            .doc(
                "The exact URL list. Mutually exclusive with I(add) and \
                I(remove).",
            )
            .help("the exact URL list"),
    )
    .options(confedit::module::url_edit_options())
    .option(
        Opt::str("key")
            .doc("Dotted path of the sequence, through block mappings.")
            .default("etcdClientInfo.urls")
            .help("dotted path of the sequence to edit"),
    )
    .option(confedit::module::backup_option())
    .mutually_exclusive(&["urls", "add"])
    .mutually_exclusive(&["urls", "remove"])
}

fn main() {
    run(spec(), |m| {
        let p = &m.params;
        let exact = p.get("urls").map(|_| p.strings("urls"));
        let edit = ListEdit::from_options(
            ["urls", "add", "remove"],
            exact,
            p.strings("add"),
            p.strings("remove"),
        )?;
        let aliases = url_aliases(m)?;
        let key = p.string("key").unwrap_or_default();
        let path = p.path("path").unwrap_or_default();
        let mut unmatched = Vec::new();
        let outcome = edit_file(m, &path, yamlseq::validate, |text| {
            let current = get_seq(text, &key)?;
            let applied = edit.apply_with(&current, &aliases)?;
            unmatched = applied.unmatched;
            if applied.list == current {
                return Ok(text.to_string());
            }
            set_seq(text, &key, &applied.list)
        })?;
        let urls = get_seq(&outcome.after, &key)?;
        let msg = format!("{key}: {}", urls.join(", "));
        let mut resp = respond(&outcome, msg).set("urls", urls);
        for w in unmatched_warnings(&unmatched, &aliases, &key) {
            resp.warn(w);
        }
        Ok(resp)
    })
}
