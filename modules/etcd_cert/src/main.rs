//! etcd_cert: the procedure's `openssl req -new -nodes` + `openssl ca -extensions
//! etcd_v3_ca_{server,peer}` steps that give a new etcd member its certificates, run on the
//! CA host. An existing pair is kept only when it still fits (field notes, pitfall 7).

mod files;
mod inspected;
mod options;
mod present;

use ansible_module::{run, Kind, ModuleSpec, Opt};

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "etcd_cert",
        "Issue, renew or inspect an etcd member's server, peer or client certificate",
    )
    .option(Opt::path("ca_cert").help("CA certificate on the host the task runs on"))
    .option(Opt::path("ca_key").help("CA private key (a path; its content is never returned)"))
    .option(Opt::str("common_name").help("subject CN, usually the member's host name"))
    .option(
        Opt::list("subject_alt_names", Kind::Str)
            .help("IP:10.0.0.4, DNS:etcd0.example.com, or bare IPs and names"),
    )
    .option(
        Opt::str("usage")
            .choices(pki::Usage::NAMES)
            .help("server and peer (serverAuth+clientAuth), client (clientAuth)"),
    )
    .option(
        Opt::str("key_type")
            .default("rsa2048")
            .choices(pki::KeyType::NAMES),
    )
    .option(
        Opt::int("days")
            .default(1825)
            .help("validity of a new certificate"),
    )
    .option(
        Opt::int("renew_before_days")
            .default(30)
            .help("renew when the certificate expires within this many days"),
    )
    .option(Opt::path("cert_path").help("certificate file (PEM)"))
    .option(Opt::path("key_path").help("private key file (PEM, written 0600)"))
    .option(
        Opt::str("state")
            .default("present")
            .choices(["present", "inspected"]),
    )
    .required_if(
        "state",
        "present",
        &[
            "ca_cert",
            "ca_key",
            "common_name",
            "usage",
            "cert_path",
            "key_path",
        ],
        false,
    )
    .required_if("state", "inspected", &["cert_path"], false)
}

fn main() {
    run(spec(), |m| match m.params.str("state") {
        Some("inspected") => inspected::run(m),
        _ => present::run(m),
    })
}
