//! The command line around a module. Ansible runs `NAME ARGS_FILE`; an operator debugging by
//! hand can run `NAME --args '{"endpoints": [...]}' --check`, and `NAME --help` lists the
//! options from the same spec that validates them. `NAME --args-stdin` reads the same JSON from
//! stdin: the etcd-ops action plugins run a cached binary that way, in one round trip with no
//! args file on the host.

use crate::spec::ModuleSpec;
use clap::{Arg, ArgAction, Command};

pub struct Cli {
    pub args_file: Option<String>,
    pub inline: Option<String>,
    pub stdin: bool,
    pub check: bool,
    pub diff: bool,
}

pub fn parse(spec: &ModuleSpec) -> Result<Cli, String> {
    let cmd = command(spec);
    let m = match cmd.try_get_matches() {
        Ok(m) => m,
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                let _ = e.print();
                std::process::exit(0)
            }
            _ => return Err(e.render().to_string().trim().to_string()),
        },
    };
    if m.get_flag("spec") {
        println!(
            "{}",
            serde_json::to_string_pretty(spec).unwrap_or_else(|e| e.to_string())
        );
        std::process::exit(0)
    }
    Ok(Cli {
        args_file: m.get_one::<String>("ARGS_FILE").cloned(),
        inline: m.get_one::<String>("args").cloned(),
        stdin: m.get_flag("args-stdin"),
        check: m.get_flag("check"),
        diff: m.get_flag("diff"),
    })
}

fn command(spec: &ModuleSpec) -> Command {
    Command::new(spec.name)
        .about(spec.about)
        .arg(
            Arg::new("ARGS_FILE")
                .help("JSON file of module arguments (how Ansible runs a binary module)"),
        )
        .arg(
            Arg::new("args").long("args").value_name("JSON").help(
                "module arguments inline, e.g. '{\"endpoints\": [\"https://10.0.0.1:2379\"]}'",
            ),
        )
        .arg(
            Arg::new("args-stdin")
                .long("args-stdin")
                .action(ArgAction::SetTrue)
                .help("read the JSON module arguments from stdin (the etcd-ops action plugins)"),
        )
        .arg(
            Arg::new("check")
                .long("check")
                .action(ArgAction::SetTrue)
                .help("check mode: change nothing, report what would change"),
        )
        .arg(
            Arg::new("diff")
                .long("diff")
                .action(ArgAction::SetTrue)
                .help("return before/after for what changes"),
        )
        .arg(
            Arg::new("spec")
                .long("spec")
                .action(ArgAction::SetTrue)
                .help("print the option spec as JSON and exit"),
        )
        .after_help(options_help(spec))
}

/// The module's options in the style of `ansible-doc`'s short listing.
pub fn options_help(spec: &ModuleSpec) -> String {
    let mut out = String::from("Module options:\n");
    for o in &spec.options {
        let mut kind = o.kind.name().to_string();
        if let Some(el) = o.elements {
            kind = format!("list of {}", el.name());
        }
        let mut notes = Vec::new();
        if o.required {
            notes.push("required".to_string());
        }
        if let Some(d) = &o.default {
            notes.push(format!("default {d}"));
        }
        if !o.choices.is_empty() {
            let c: Vec<String> = o
                .choices
                .iter()
                .map(|c| c.as_str().map(str::to_string).unwrap_or(c.to_string()))
                .collect();
            notes.push(format!("one of {}", c.join("|")));
        }
        if !o.aliases.is_empty() {
            notes.push(format!("aliases {}", o.aliases.join(", ")));
        }
        if o.no_log {
            notes.push("secret".to_string());
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" [{}]", notes.join("; "))
        };
        out.push_str(&format!("  {:<24} {}{}\n", o.name, kind, notes));
        if !o.help.is_empty() {
            out.push_str(&format!("  {:<24} {}\n", "", o.help));
        }
    }
    out
}
