//! Idempotence, and each reason a pair is re-issued (with a backup), plus check and diff mode.

mod common;

use common::{make_ca, ok, present, with, TempDir};
use serde_json::{json, Value};
use std::fs;
use std::time::SystemTime;

fn snapshot(dir: &TempDir) -> Vec<(String, Vec<u8>, SystemTime)> {
    dir.listing()
        .into_iter()
        .map(|n| {
            let p = dir.join(&n);
            (
                n,
                fs::read(&p).unwrap(),
                fs::metadata(&p).unwrap().modified().unwrap(),
            )
        })
        .collect()
}

/// Runs `args` on a pair that exists; asserts a re-issue with a reason containing `reason`,
/// with both old files backed up byte for byte.
fn reissued_because(dir: &TempDir, args: &Value, reason: &str) -> Value {
    let crt = args["cert_path"].as_str().unwrap().to_string();
    let key = args["key_path"].as_str().unwrap().to_string();
    let (old_crt, old_key) = (fs::read(&crt).unwrap(), fs::read(&key).unwrap());
    let v = ok(args);
    assert_eq!(v["changed"], true, "{v}");
    let reasons: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains(reason)),
        "{reasons:?} lacks {reason:?}"
    );
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .starts_with(&format!("renewed {crt} because ")),
        "{v}"
    );
    assert!(v["msg"].as_str().unwrap().contains(reason));
    let backups: Vec<String> = v["backup_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().into())
        .collect();
    assert_eq!(backups.len(), 2, "{v}");
    assert!(backups[0].starts_with(&format!("{crt}.")) && backups[0].ends_with('~'));
    assert_eq!(fs::read(&backups[0]).unwrap(), old_crt);
    assert_eq!(fs::read(&backups[1]).unwrap(), old_key);
    assert_ne!(fs::read(&crt).unwrap(), old_crt);
    assert_ne!(fs::read(&key).unwrap(), old_key);
    let _ = dir;
    v
}

#[test]
fn rerun_changes_nothing() {
    let dir = TempDir::new("rerun");
    let ca = make_ca(&dir, "ca");
    let args = present(&dir, &ca, "peer", &["IP:10.0.0.4", "DNS:etcd0"]);
    let first = ok(&args);
    let before = snapshot(&dir);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = ok(&args);
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(again["reasons"], json!([]));
    assert_eq!(again["backup_files"], json!([]));
    assert_eq!(again["serial"], first["serial"]);
    assert!(again["msg"].as_str().unwrap().contains("is current"));
    assert_eq!(snapshot(&dir), before, "bytes or mtime changed");
    // Order and case of SANs do not matter.
    let shuffled = with(
        args.clone(),
        "subject_alt_names",
        json!(["dns:ETCD0", "10.0.0.4"]),
    );
    assert_eq!(ok(&shuffled)["changed"], false);
}

#[test]
fn wrong_sans_reissue() {
    let dir = TempDir::new("sans");
    let ca = make_ca(&dir, "ca");
    ok(&present(&dir, &ca, "server", &["IP:10.0.0.3", "DNS:etcd0"]));
    let args = present(&dir, &ca, "server", &["IP:10.0.0.4", "DNS:etcd0"]);
    let v = reissued_because(
        &dir,
        &args,
        "SANs differ: missing IP:10.0.0.4; unexpected IP:10.0.0.3",
    );
    assert_eq!(v["subject_alt_names"], json!(["IP:10.0.0.4", "DNS:etcd0"]));
    assert_eq!(ok(&args)["changed"], false);
}

#[test]
fn near_expiry_reissues() {
    let dir = TempDir::new("expiry");
    let ca = make_ca(&dir, "ca");
    let base = present(&dir, &ca, "peer", &["IP:10.0.0.4"]);
    let short = with(
        with(base.clone(), "days", json!(10)),
        "renew_before_days",
        json!(1),
    );
    let v = ok(&short);
    assert_eq!(v["days_remaining"], 10);
    assert_eq!(ok(&short)["changed"], false);
    let v = reissued_because(
        &dir,
        &with(base, "renew_before_days", json!(30)),
        // 9 or 10 days left, depending on whether a second passed since the first run.
        " days (renew_before_days 30)",
    );
    assert_eq!(v["days_remaining"], 1825);
}

#[test]
fn another_ca_reissues() {
    let dir = TempDir::new("otherca");
    let old_ca = make_ca(&dir, "old-ca");
    let new_ca = make_ca(&dir, "new-ca");
    ok(&present(&dir, &old_ca, "peer", &["IP:10.0.0.4"]));
    let v = reissued_because(
        &dir,
        &present(&dir, &new_ca, "peer", &["IP:10.0.0.4"]),
        &format!("not signed by {}", new_ca.0),
    );
    assert_eq!(v["issuer"], "CN=new-ca");
    assert_eq!(v["signed_by_ca"], true);
}

#[test]
fn mismatched_key_reissues() {
    let dir = TempDir::new("swap");
    let ca = make_ca(&dir, "ca");
    ok(&present(&dir, &ca, "peer", &["IP:10.0.0.4"]));
    ok(&present(&dir, &ca, "server", &["IP:10.0.0.4"]));
    fs::copy(dir.join("server.key"), dir.join("peer.key")).unwrap();
    reissued_because(
        &dir,
        &present(&dir, &ca, "peer", &["IP:10.0.0.4"]),
        "key does not match certificate",
    );
}

#[test]
fn usage_change_reissues() {
    let dir = TempDir::new("usage");
    let ca = make_ca(&dir, "ca");
    // A serverAuth-only certificate, as etcd_cert issued for usage server before.
    let args = present(&dir, &ca, "server", &["IP:10.0.0.4"]);
    signed_with_openssl(
        &dir,
        &ca,
        "server",
        "etcd0.example.com",
        "IP:10.0.0.4",
        "serverAuth",
    );
    reissued_because(
        &dir,
        &with(args.clone(), "usage", json!("peer")),
        "usage differs: certificate is server, wanted peer",
    );
    signed_with_openssl(
        &dir,
        &ca,
        "server",
        "etcd0.example.com",
        "IP:10.0.0.4",
        "serverAuth",
    );
    let v = reissued_because(
        &dir,
        &args,
        "usage differs: certificate is server with serverAuth only, wanted server with \
         serverAuth and clientAuth",
    );
    assert_eq!(v["extended_key_usage"], json!(["serverAuth", "clientAuth"]));
    // Server and peer now ask for the same extensions: no re-issue between them.
    assert_eq!(
        ok(&with(args.clone(), "usage", json!("peer")))["changed"],
        false
    );
    reissued_because(
        &dir,
        &with(args, "usage", json!("client")),
        "usage differs: certificate is peer, wanted client",
    );
}

/// `openssl req` + `openssl x509 -req` with the extensions of openshift-ansible's etcd role
/// (roles/etcd/templates/openssl_append.j2: etcd_v3_ca_server is serverAuth,clientAuth,
/// etcd_v3_ca_peer clientAuth,serverAuth), or any other extendedKeyUsage, into
/// `<base>.crt`/`<base>.key`.
fn signed_with_openssl(
    dir: &TempDir,
    ca: &(String, String),
    base: &str,
    cn: &str,
    san: &str,
    eku: &str,
) {
    let (crt, key, csr, ext) = (
        dir.s(&format!("{base}.crt")),
        dir.s(&format!("{base}.key")),
        dir.s(&format!("{base}.csr")),
        dir.s(&format!("{base}.ext")),
    );
    fs::write(
        &ext,
        format!(
            "authorityKeyIdentifier = keyid,issuer:always\n\
             basicConstraints       = critical,CA:FALSE\n\
             extendedKeyUsage       = {eku}\n\
             keyUsage               = digitalSignature,keyEncipherment\n\
             subjectKeyIdentifier   = hash\n\
             subjectAltName         = {san}\n"
        ),
    )
    .unwrap();
    common::openssl(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &csr,
        "-subj",
        &format!("/CN={cn}"),
    ]);
    common::openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca.0,
        "-CAkey",
        &ca.1,
        "-CAcreateserial",
        "-days",
        "1825",
        "-sha256",
        "-extfile",
        &ext,
        "-out",
        &crt,
    ]);
    fs::remove_file(&csr).unwrap();
    fs::remove_file(&ext).unwrap();
}

/// The certificates openshift-ansible's etcd role put on a member are kept as they are.
#[test]
fn openshift_ansible_server_and_peer_certificates_are_not_reissued() {
    let dir = TempDir::new("oa-certs");
    let ca = make_ca(&dir, "ca");
    let sans = ["IP:10.0.0.4", "DNS:etcd0.example.com"];
    let san = sans.join(",");
    for (usage, eku) in [
        ("server", "serverAuth,clientAuth"),
        ("peer", "clientAuth,serverAuth"),
    ] {
        signed_with_openssl(&dir, &ca, usage, "etcd0.example.com", &san, eku);
        let before = snapshot(&dir);
        let v = ok(&present(&dir, &ca, usage, &sans));
        assert_eq!(v["changed"], false, "{usage}: {v}");
        assert_eq!(v["reasons"], json!([]), "{usage}");
        assert_eq!(v["extended_key_usage"], json!(["serverAuth", "clientAuth"]));
        assert!(
            v["msg"]
                .as_str()
                .unwrap()
                .contains(&format!(": {usage} certificate signed by")),
            "{v}"
        );
        assert_eq!(snapshot(&dir), before, "{usage}: nothing written");
    }
}

#[test]
fn check_mode_writes_nothing_and_says_what_it_would_do() {
    let dir = TempDir::new("check");
    let ca = make_ca(&dir, "ca");
    let args = with(
        present(&dir, &ca, "peer", &["IP:10.0.0.4"]),
        "_ansible_check_mode",
        json!(true),
    );
    let before = snapshot(&dir);
    let v = ok(&args);
    assert_eq!(v["changed"], true);
    assert_eq!(
        v["msg"],
        format!(
            "would issue a new peer certificate for etcd0.example.com at {}",
            dir.s("peer.crt")
        )
    );
    assert_eq!(snapshot(&dir), before);

    let real = ok(&with(args.clone(), "_ansible_check_mode", json!(false)));
    let before = snapshot(&dir);
    let changed = with(
        with(args, "subject_alt_names", json!(["IP:10.0.0.5"])),
        "_ansible_diff",
        json!(true),
    );
    let v = ok(&changed);
    assert_eq!(v["changed"], true);
    assert_eq!(
        v["msg"],
        format!(
            "would renew {} because SANs differ: missing IP:10.0.0.5; unexpected IP:10.0.0.4",
            dir.s("peer.crt")
        )
    );
    assert_eq!(v["backup_files"], json!([]));
    assert_eq!(snapshot(&dir), before, "check mode wrote something");
    let diff = &v["diff"];
    let (b, a) = (
        diff["before"].as_str().unwrap(),
        diff["after"].as_str().unwrap(),
    );
    assert!(b.contains("subject_alt_names: IP:10.0.0.4\n"), "{b}");
    assert!(b.contains(&format!("serial: {}\n", real["serial"].as_str().unwrap())));
    assert!(a.contains("subject_alt_names: IP:10.0.0.5\n"), "{a}");
    assert_eq!(diff["before_header"], dir.s("peer.crt"));
    assert!(!b.contains("PRIVATE") && !a.contains("PRIVATE"));
}

#[test]
fn diff_is_only_returned_in_diff_mode() {
    let dir = TempDir::new("nodiff");
    let ca = make_ca(&dir, "ca");
    let v = ok(&present(&dir, &ca, "peer", &["IP:10.0.0.4"]));
    assert!(v.get("diff").is_none());
}
