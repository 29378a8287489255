//! The Ansible side of etcd-api, behind the `ansible` feature (as confedit has it): the
//! connection options every etcd module shares, reading them from a task's params, and the
//! runtime the modules block on, with failures as the protocol library reports them.

use crate::conn::ConnOpts;
use crate::endpoint::validate_endpoint;
use crate::tls::TlsMaterial;
use ansible_module::{Failure, Kind, Opt, Params};
use std::time::Duration;

/// The options `endpoints`, `ca_cert`, `client_cert`, `client_key`, `timeout`, with the same
/// meaning in etcd_health, etcd_member and etcd_snapshot: the one place their docs are written
/// (a module that means more by one says so with `ModuleSpec::describe`).
pub fn connection_options() -> Vec<Opt> {
    vec![
        Opt::list("endpoints", Kind::Str)
            .required()
            .help("client URLs (https://host:2379); dead ones are tolerated")
            .doc("Client URLs, C(https://host:2379). Dead ones are tolerated."),
        Opt::path("ca_cert")
            .help("CA bundle that signed the members' server certificates (default: $ETCDCTL_CACERT)")
            .doc(
                "CA bundle that signed the members' server certificates. Unset, the \
                C(ETCDCTL_CACERT) environment variable, as etcdctl reads it (the playbooks \
                set it once per play from C(etcd_client_ca_cert)).",
            ),
        Opt::path("client_cert")
            .help("client certificate for mutual TLS (default: $ETCDCTL_CERT)")
            .doc(
                "Client certificate for mutual TLS. Checked for expiry before \
                use. Unset, C(ETCDCTL_CERT) from the environment.",
            ),
        Opt::path("client_key")
            .help("key of client_cert, never returned (default: $ETCDCTL_KEY)")
            .doc("Key of I(client_cert). Never returned. Unset, C(ETCDCTL_KEY) from the environment."),
        Opt::int("timeout")
            .default(5)
            .help("seconds allowed for each endpoint's answer")
            .doc("Seconds allowed for each endpoint's answer."),
    ]
}

impl ConnOpts {
    pub fn from_params(p: &Params) -> Result<ConnOpts, Failure> {
        let endpoints = p.strings("endpoints");
        if endpoints.is_empty() {
            return Err(Failure::new(
                "endpoints is empty: name at least one client URL",
            ));
        }
        for e in &endpoints {
            validate_endpoint(e)?;
        }
        let timeout = p.int("timeout").unwrap_or(5);
        if timeout <= 0 {
            return Err(Failure::new(format!(
                "timeout must be a positive number of seconds, not {timeout}"
            )));
        }
        let ca_cert = p.path("ca_cert").or_else(|| from_env(ENV_CA));
        let client_cert = p.path("client_cert").or_else(|| from_env(ENV_CERT));
        let client_key = p.path("client_key").or_else(|| from_env(ENV_KEY));
        if let Some(ca) = &ca_cert {
            trust_only(ca);
        }
        let tls = TlsMaterial::load(
            ca_cert.as_deref(),
            client_cert.as_deref(),
            client_key.as_deref(),
        )?;
        Ok(ConnOpts {
            endpoints,
            tls,
            timeout: Duration::from_secs(timeout as u64),
        })
    }
}

/// etcdctl's variables for the same three files: one `environment:` per play gives every etcd
/// module of the play its client pair, and an etcdctl run beside them the same one.
pub const ENV_CA: &str = "ETCDCTL_CACERT";
pub const ENV_CERT: &str = "ETCDCTL_CERT";
pub const ENV_KEY: &str = "ETCDCTL_KEY";

fn from_env(var: &str) -> Option<std::path::PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
}

/// OpenSSL loads its default trust store for every connector it builds (the whole system
/// bundle, ~15 ms each). With `ca_cert` given, the members are to be trusted through that CA
/// alone, so the default store is pointed at it: cheaper, and no public root can vouch for a
/// member. Called before the runtime starts, while the process has one thread.
fn trust_only(ca: &std::path::Path) {
    std::env::set_var("SSL_CERT_FILE", ca);
    std::env::set_var("SSL_CERT_DIR", "/nonexistent/etcd-ops-trusts-ca_cert-only");
}

/// One single-threaded runtime for the whole process: clients keep background tasks on the
/// runtime that made them, so a client from one `block_on` must still work in the next.
/// One thread keeps the binary small and the behaviour easy to follow.
pub fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, Failure> {
    static RUNTIME: std::sync::OnceLock<Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    let rt = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    match rt {
        Ok(rt) => Ok(rt.block_on(f)),
        Err(e) => Err(Failure::new(format!("starting the async runtime: {e}"))),
    }
}
