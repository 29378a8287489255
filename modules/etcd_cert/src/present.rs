//! `state: present`: keep the member's pair when it still fits, otherwise issue a new one
//! from the CA, backing up the old files.

use crate::files;
use crate::options::Present;
use ansible_module::{Context, Diff, Failure, Module, Response};
use pki::assess::{self, Existing};
use pki::inspect::{self, Summary};
use pki::{issue, time, Ca};

pub fn run(m: &Module) -> Result<Response, Failure> {
    let o = Present::from_params(&m.params)?;
    let now = time::now();
    let ca = Ca::load(&o.ca_cert, &o.ca_key, now).context("loading the CA")?;
    let existing =
        Existing::read(&o.cert_path, &o.key_path).context("reading the existing pair")?;
    let reasons =
        assess::reasons(&ca, &existing, &o.wanted(), now).context("comparing the existing pair")?;
    let before = existing
        .cert
        .as_ref()
        .map(|c| inspect::summarize(c, Some(ca.cert()), now))
        .transpose()
        .context("reading the existing certificate")?;

    if reasons.is_empty() {
        let current = before.ok_or("an existing pair was kept without a certificate")?;
        // The pair fits the usage asked for; a server certificate's extensions read as
        // "peer" in the summary, so the message names what the play asked for.
        let msg = format!(
            "{} is current: {} certificate signed by {}, expires {} ({} days)",
            o.cert_path.display(),
            o.usage.name(),
            o.ca_cert.display(),
            current.not_after,
            current.days_remaining
        );
        return Ok(result(&o, current, &reasons, &[]).msg(msg));
    }

    // Issued in check mode too: bad input fails the dry run, and the diff shows the real thing.
    let pair = issue::issue(&ca, &o.request(), now).context("issuing the certificate")?;
    let after = inspect::summarize(&pair.cert, Some(ca.cert()), now)
        .context("reading the new certificate")?;
    let replaces = existing.cert_exists || existing.key_exists;
    let msg = describe(&o, replaces, &reasons, m.check_mode());
    let backups = if m.check_mode() {
        Vec::new()
    } else {
        let backups = files::backup(&[&o.cert_path, &o.key_path])?;
        files::write_pair(&o.cert_path, &o.key_path, &pair)?;
        backups
    };
    let diff = Diff::new(
        o.cert_path.display().to_string(),
        before.as_ref().map(inspect::render).unwrap_or_default(),
        inspect::render(&after),
    );
    let mut resp = result(&o, after.clone(), &reasons, &backups)
        .changed(true)
        .msg(msg)
        .diff(diff);
    if let Some(w) = outlives_ca(&ca, &after) {
        resp.warn(w);
    }
    Ok(resp)
}

fn describe(o: &Present, replaces: bool, reasons: &[String], check: bool) -> String {
    let path = o.cert_path.display();
    match (replaces, check) {
        (false, false) => format!(
            "issued a new {} certificate for {} at {path}",
            o.usage.name(),
            o.common_name
        ),
        (false, true) => format!(
            "would issue a new {} certificate for {} at {path}",
            o.usage.name(),
            o.common_name
        ),
        (true, false) => format!("renewed {path} because {}", reasons.join("; ")),
        (true, true) => format!("would renew {path} because {}", reasons.join("; ")),
    }
}

fn result(
    o: &Present,
    summary: Summary,
    reasons: &[String],
    backups: &[std::path::PathBuf],
) -> Response {
    Response::new()
        .merge(summary)
        .set("cert_path", o.cert_path.display().to_string())
        .set("key_path", o.key_path.display().to_string())
        .set("reasons", reasons)
        .set(
            "backup_files",
            backups
                .iter()
                .map(|b| b.display().to_string())
                .collect::<Vec<_>>(),
        )
}

/// TLS stops verifying when the CA expires, whatever the member certificate says.
fn outlives_ca(ca: &Ca, cert: &Summary) -> Option<String> {
    let ca_end = time::unix_seconds(ca.cert().not_after()).ok()?;
    let ca_end = time::iso8601(ca_end);
    // ISO 8601 UTC strings of the same shape order like the times they name.
    (cert.not_after > ca_end).then(|| {
        format!(
            "the certificate is valid until {} but the CA {} expires on {ca_end}: \
             it stops working then",
            cert.not_after,
            ca.path().display()
        )
    })
}
