//! etcd_cert: the procedure's `openssl req -new -nodes` + `openssl ca -extensions
//! etcd_v3_ca_{server,peer}` steps that give a new etcd member its certificates, run on the
//! CA host. An existing pair is kept only when it still fits (field notes, pitfall 7:
//! docs/procedures.md).

mod files;
mod inspected;
mod options;
mod present;

use ansible_module::{run, Kind, ModuleSpec, Opt};

fn spec() -> ModuleSpec {
    ModuleSpec::new(
        "etcd_cert",
        "Issue, renew or inspect an etcd member's server, peer or client \
                certificate",
    )
    .option(
        Opt::path("ca_cert")
            .doc(
                "CA certificate (PEM) on the host the task runs on. It must have \
                basicConstraints CA:TRUE and must not be expired.\nRequired with \
                I(state=present); optional with I(state=inspected), where it \
                sets C(signed_by_ca).",
            )
            .help("CA certificate on the host the task runs on"),
    )
    .option(
        Opt::path("ca_key")
            .doc(
                "Unencrypted private key of I(ca_cert) (PEM). Must match \
                I(ca_cert).\nRequired with I(state=present). Only the path is \
                ever returned.",
            )
            .help("CA private key (a path; its content is never returned)"),
    )
    .option(
        Opt::str("common_name")
            .doc(
                "Subject CN of a new certificate, usually the member's host name. \
                Required with I(state=present).",
            )
            .help("subject CN, usually the member's host name"),
    )
    .option(
        Opt::list("subject_alt_names", Kind::Str)
            .doc(
                "SANs such as C(IP:192.168.55.21) and C(DNS:etcd0.example.com). \
                Bare values are taken as IP addresses when they parse as one, \
                otherwise as DNS names.\nRequired (non-empty) for \
                I(usage=server) and I(usage=peer); etcd's peers and clients \
                check SANs, not the common name.",
            )
            .help("IP:10.0.0.4, DNS:etcd0.example.com, or bare IPs and names"),
    )
    .option(
        Opt::str("usage")
            .doc(
                "C(server) for the client port, C(peer) for the peer port (both \
                serverAuth and clientAuth), C(client) (clientAuth) for etcdctl \
                or kube-apiserver.\nA server certificate needs clientAuth \
                because etcd's gRPC gateway (the HTTP C(/v3/...) API) dials the \
                member with it; with client-cert-auth a serverAuth-only one \
                makes the gateway answer 503. openshift-ansible's etcd role \
                issues the same (C(extendedKeyUsage = \
                serverAuth,clientAuth)).\nThe existing certificate is compared \
                by its serverAuth/clientAuth, not by name: an openshift-ansible \
                server or peer certificate is kept for either usage, and a \
                serverAuth-only server certificate is re-issued.\nRequired with \
                I(state=present).",
            )
            .choices(pki::Usage::NAMES)
            .help("server and peer (serverAuth+clientAuth), client (clientAuth)"),
    )
    .option(
        Opt::str("key_type")
            .doc("Key algorithm of a new key.")
            .default("rsa2048")
            .choices(pki::KeyType::NAMES),
    )
    .option(
        Opt::int("days")
            .doc("Validity of a new certificate in days (1 to 36500).")
            .default(1825)
            .help("validity of a new certificate"),
    )
    .option(
        Opt::int("renew_before_days")
            .doc(
                "Renew when the certificate expires within this many days. Must \
                be less than I(days).",
            )
            .default(30)
            .help("renew when the certificate expires within this many days"),
    )
    .option(
        Opt::path("cert_path")
            .doc(
                "Certificate file (PEM). Its directory must exist. Required for \
                both states.",
            )
            .help("certificate file (PEM)"),
    )
    .option(
        Opt::path("key_path")
            .doc(
                "Private key file (PEM, PKCS#8, written 0600). Its directory must \
                exist.\nRequired with I(state=present); with I(state=inspected) \
                it sets C(key_matches).",
            )
            .help("private key file (PEM, written 0600)"),
    )
    .option(
        Opt::str("state")
            .doc(
                "C(present) issues or renews the pair as needed.\nC(inspected) \
                only reports on I(cert_path).",
            )
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
