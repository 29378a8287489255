use ansible_module::{run, Diff, Failure, Kind, ModuleSpec, Opt, Response};

fn main() {
    let spec = ModuleSpec::new("protocol_probe", "Exercises the protocol library in tests")
        .option(
            Opt::str("action")
                .required()
                .choices(["ok", "fail", "panic", "diff"]),
        )
        .option(
            Opt::str("password")
                .no_log()
                .aliases(&["passwd"])
                .help("a secret that must never be printed"),
        )
        .option(Opt::list("items", Kind::Int));
    run(spec, |m| {
        let secret = m.params.str("password").unwrap_or("");
        match m.params.str("action") {
            Some("panic") => panic!("probe asked to panic with {secret}"),
            Some("fail") => Err(Failure::new(format!("failed holding {secret}"))),
            Some("diff") => Ok(Response::new()
                .changed(!m.check_mode())
                .diff(Diff::new("/probe", "a\n", "b\n"))),
            _ => Ok(Response::new()
                .msg("ok")
                .set("items", m.params.strings("items"))),
        }
    })
}
