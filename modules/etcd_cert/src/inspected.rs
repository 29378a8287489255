//! `state: inspected`: read-only report on any certificate, for plays that decide what to
//! do from its expiry, SANs or issuer.

use ansible_module::{Context, Failure, Module, Response};
use pki::{assess, ca, inspect, load, time};

/// Options that only `state: present` uses; setting them here is likely a mistake.
const PRESENT_ONLY: [&str; 5] = [
    "ca_key",
    "common_name",
    "subject_alt_names",
    "usage",
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

    // The same dates rule `present` renews by, so a play that inspects first and renews what
    // is due agrees with the module that renews.
    let renew_before_days = p.int("renew_before_days").unwrap_or(30);
    let renew_before_days = u32::try_from(renew_before_days).map_err(|_| {
        Failure::new(format!(
            "renew_before_days must be 0 or more, got {renew_before_days}"
        ))
    })?;
    let renew_reason =
        assess::validity(&cert, renew_before_days, now).context("inspecting the certificate")?;
    let mut resp = Response::new()
        .set("cert_path", cert_path.display().to_string())
        .set("common_name", assess::common_name(&cert))
        .set("renew_due", renew_reason.is_some())
        .set("renew_reason", &renew_reason);
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
        format!(
            "EXPIRED on {}: peers and clients refuse it, so etcd cannot serve with it (renew it: \
             etcd_cert state=present, certs.yml -e etcd_certs_renew=true)",
            summary.not_after
        )
    } else {
        format!(
            "expires {} ({} days)",
            summary.not_after, summary.days_remaining
        )
    };
    let signed = match summary.signed_by_ca {
        Some(true) => "signed by the CA",
        Some(false) => "NOT signed by the CA",
        None => "CA not given",
    };
    let sans = match summary.subject_alt_names.is_empty() {
        true => "no SANs".to_string(),
        false => format!("SANs {}", summary.subject_alt_names.join(", ")),
    };
    // One line a report can print as it is: what, for whom, by whom, until when.
    let due = match (&renew_reason, summary.expired) {
        (Some(why), false) => format!("; renewal due: {why}"),
        _ => String::new(),
    };
    let msg = format!(
        "{}: {} certificate for {}, {sans}, issuer {}, {signed}, {state}{due}",
        cert_path.display(),
        summary.usage,
        summary.subject,
        summary.issuer
    );
    Ok(resp.merge(summary).msg(msg))
}
