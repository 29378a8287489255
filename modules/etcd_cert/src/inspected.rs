//! `state: inspected`: read-only report on any certificate, for plays that decide what to
//! do from its expiry, SANs or issuer.

use ansible_module::{Context, Failure, Module, Response};
use pki::{ca, inspect, load, time};

/// Options that only `state: present` uses; setting them here is likely a mistake.
const PRESENT_ONLY: [&str; 6] = [
    "ca_key",
    "common_name",
    "subject_alt_names",
    "usage",
    "renew_before_days",
    "days",
];

pub fn run(m: &Module) -> Result<Response, Failure> {
    let p = &m.params;
    let cert_path = p.path("cert_path").unwrap_or_default();
    let now = time::now();
    let ca_cert = p
        .path("ca_cert")
        .map(|c| ca::load_cert(&c))
        .transpose()
        .context("loading the CA")?;
    let cert = load::cert("cert_path", &cert_path).context("inspecting")?;
    let summary =
        inspect::summarize(&cert, ca_cert.as_deref(), now).context("inspecting the certificate")?;

    let mut resp = Response::new().set("cert_path", cert_path.display().to_string());
    if let Some(key_path) = p.path("key_path") {
        let key = load::key("key_path", &key_path).context("inspecting")?;
        let matches = cert
            .public_key()
            .map(|pk| pk.public_eq(&key))
            .unwrap_or(false);
        resp.insert("key_matches", matches);
        resp.insert("key_path", key_path.display().to_string());
    }
    for name in PRESENT_ONLY.iter().filter(|n| p.is_given(n)) {
        resp.warn(format!("{name} is ignored with state inspected"));
    }
    let state = if summary.expired {
        format!("EXPIRED on {}", summary.not_after)
    } else {
        format!(
            "expires {} ({} days)",
            summary.not_after, summary.days_remaining
        )
    };
    let msg = format!(
        "{}: {} certificate for {}, {state}",
        cert_path.display(),
        summary.usage,
        summary.subject
    );
    Ok(resp.merge(summary).msg(msg))
}
