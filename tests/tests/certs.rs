//! certs.yml on machines: every certificate reported; one made to expire in 5 days is found,
//! renewed from the CA host with the cluster keeping quorum throughout (polled while the play
//! runs), the member serving the new certificate; a member whose peer certificate expired (cut
//! off, its own client pair refused) renewed first and back; a master's etcd client certificate renewed
//! the same way, that master's API and controllers restarted and no other; nothing else
//! reissued; the CA backed up to the controller owner-only; a second run renews nothing.

use lab::ansible;
use lab::machine::tree_user;
use lab::pki::{Ca, Pem, Usage};
use lab::{Host, Lab, LabOptions};
use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};
use openssl::x509::X509;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The certificate the member presents on its client port.
fn served_cert(lab: &Lab, host: &Host) -> X509 {
    let tls = lab.client_tls();
    let mut b = SslConnector::builder(SslMethod::tls()).unwrap();
    b.set_verify(SslVerifyMode::NONE);
    b.set_certificate_file(&tls.cert, SslFiletype::PEM).unwrap();
    b.set_private_key_file(&tls.key, SslFiletype::PEM).unwrap();
    let tcp = std::net::TcpStream::connect((host.ip, 2379)).unwrap();
    let ssl = b
        .build()
        .configure()
        .unwrap()
        .verify_hostname(false)
        .connect(&host.fqdn, tcp)
        .unwrap();
    ssl.ssl().peer_certificate().unwrap()
}

fn file_cert(path: &std::path::Path) -> X509 {
    X509::from_pem(&std::fs::read(path).unwrap()).unwrap()
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The bytes of each host's server and peer certificate, in order.
fn cert_files(lab: &Lab, hosts: &[&str]) -> Vec<Vec<u8>> {
    hosts
        .iter()
        .flat_map(|h| {
            let d = lab.host(h).unwrap().cert_dir();
            [
                std::fs::read(d.join("server.crt")).unwrap(),
                std::fs::read(d.join("peer.crt")).unwrap(),
            ]
        })
        .collect()
}

/// The lab's CA, as its CA host (etcd1) keeps it.
fn lab_ca(lab: &Lab) -> Ca {
    let d = lab.host("etcd1").unwrap().ca_dir();
    Ca::from_pem(
        &std::fs::read(d.join("ca.crt")).unwrap(),
        &std::fs::read(d.join("ca.key")).unwrap(),
    )
    .unwrap()
}

/// Gives `host` a peer certificate (and key) of its own names that expired 3 days ago; etcd
/// serves with it from its next start.
fn expire_peer_cert(ca: &Ca, host: &Host) -> Pem {
    let expired = ca
        .issue_for_days(
            &host.fqdn,
            Usage::Peer,
            &[host.ip, lab::layout::PEER_SOURCE_IP],
            &[&host.fqdn],
            -3,
        )
        .unwrap();
    std::fs::write(host.cert_dir().join("peer.crt"), &expired.cert).unwrap();
    std::fs::write(host.cert_dir().join("peer.key"), &expired.key).unwrap();
    expired
}

#[test]
fn an_expiring_certificate_is_renewed_one_member_at_a_time_with_quorum_kept() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    lab.put_keys("/certs/", 50).unwrap();
    let (ca_host, etcd2) = (lab.host("etcd1").unwrap(), lab.host("etcd2").unwrap());
    let ca = lab_ca(&lab);

    // etcd2's server certificate now expires in 5 days; etcd2 restarted serves it.
    let short = ca
        .issue_for_days(&etcd2.fqdn, Usage::Server, &[etcd2.ip], &[&etcd2.fqdn], 5)
        .unwrap();
    let (crt, key) = (
        etcd2.cert_dir().join("server.crt"),
        etcd2.cert_dir().join("server.key"),
    );
    std::fs::write(&crt, &short.cert).unwrap();
    std::fs::write(&key, &short.key).unwrap();
    let (uid, gid) = tree_user(&etcd2.root, "etcd").unwrap();
    for p in [&crt, &key] {
        std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
    }
    // etcd3's master client certificate (what its API server reaches etcd with) too.
    let etcd3 = lab.host("etcd3").unwrap();
    let master_crt = etcd3.master_dir().join("master.etcd-client.crt");
    let master_key = etcd3.master_dir().join("master.etcd-client.key");
    let master_cn = format!("{}-master-etcd-client", etcd3.fqdn);
    let short_client = ca
        .issue_for_days(&master_cn, Usage::Client, &[], &[], 5)
        .unwrap();
    std::fs::write(&master_crt, &short_client.cert).unwrap();
    std::fs::write(&master_key, &short_client.key).unwrap();
    let other_masters = |f: &str| -> Vec<Vec<u8>> {
        ["etcd1", "etcd2"]
            .iter()
            .map(|h| std::fs::read(lab.host(h).unwrap().master_dir().join(f)).unwrap())
            .collect()
    };
    let other_masters_before = other_masters("master.etcd-client.crt");
    // etcd3's peer certificate expired 3 days ago: restarted on it, etcd3 is cut off (its peers
    // refuse it), and its own client pair (peer.crt, the default) is refused everywhere.
    let expired = expire_peer_cert(&ca, etcd3);
    let peer3 = etcd3.cert_dir().join("peer.crt");
    let etcd3_server = std::fs::read(etcd3.cert_dir().join("server.crt")).unwrap();
    for h in ["etcd2", "etcd3"] {
        lab.stop(h).unwrap();
        lab.start(h).unwrap();
    }
    lab.wait_healthy(&["etcd1", "etcd2"], Duration::from_secs(30))
        .unwrap();
    assert!(
        !lab.is_healthy("etcd3").unwrap_or(false),
        "etcd3 is not cut off"
    );
    let old_cert = file_cert(&crt);
    let old_not_after = old_cert.not_after();
    assert_eq!(
        served_cert(&lab, etcd2).to_der().unwrap(),
        file_cert(&crt).to_der().unwrap()
    );
    let others_before = cert_files(&lab, &["etcd1"]);
    let inv = lab.inventory_path();

    // Report only: the expiring certificate named, nothing written; the expired one fails the
    // run, named.
    let run = ansible::playbook(&inv, "playbooks/certs.yml", &[]);
    assert!(!run.ok(), "{}", run.describe());
    assert!(
        run.stdout
            .contains("EXPIRED: etcd3: /etc/etcd/peer.crt: peer certificate"),
        "{}",
        run.stdout
    );
    let line = format!(
        "/etc/etcd/server.crt: server certificate for CN={}",
        etcd2.fqdn
    );
    assert!(run.stdout.contains(&line), "{}", run.stdout);
    assert!(run.stdout.contains("(4 days)"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("master.etcd-client.crt: client certificate"),
        "{}",
        run.stdout
    );
    assert_eq!(std::fs::read(&crt).unwrap(), short.cert);

    // Check mode: names what it would renew, writes nothing, restarts nothing.
    let pid = lab.pid("etcd2").unwrap();
    let run = ansible::playbook(
        &inv,
        "playbooks/certs.yml",
        &["--check", "-e", "etcd_certs_renew=true"],
    );
    assert!(run.ok(), "{}", run.describe());
    assert!(
        run.stdout
            .contains("would renew on etcd2: /etc/etcd/server.crt: expires in 4 days"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "would renew on etcd3: /etc/origin/master/master.etcd-client.crt: expires in 4 days"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("would renew on etcd3: /etc/etcd/peer.crt"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("would renew on etcd1"),
        "{}",
        run.stdout
    );
    assert_eq!(std::fs::read(&crt).unwrap(), short.cert);
    assert_eq!(std::fs::read(&master_crt).unwrap(), short_client.cert);
    assert_eq!(lab.pid("etcd2").unwrap(), pid, "check mode restarted etcd2");

    // Renewal, with every member's health polled while the play runs.
    let backup = lab.dir().join("ca-backup");
    let done = AtomicBool::new(false);
    let (run, samples) = std::thread::scope(|s| {
        let poller = s.spawn(|| {
            let mut samples = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let healthy = ["etcd1", "etcd2", "etcd3"]
                    .iter()
                    .filter(|h| lab.is_healthy(h).unwrap_or(false))
                    .count();
                samples.push(healthy);
                std::thread::sleep(Duration::from_millis(200));
            }
            samples
        });
        let run = ansible::playbook(
            &inv,
            "playbooks/certs.yml",
            &[
                "-e",
                "etcd_certs_renew=true",
                "-e",
                "etcd_cert_renew_days=30",
                "-e",
                &format!("etcd_ca_backup_fetch_dir={}", backup.display()),
            ],
        );
        done.store(true, Ordering::Relaxed);
        (run, poller.join().unwrap())
    });
    assert!(run.ok(), "{}", run.describe());
    // The member that was cut off first, before a healthy one was restarted.
    let at = |needle: &str| {
        run.stdout
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in {}", run.stdout))
    };
    assert!(
        at("renewing on etcd3: /etc/etcd/peer.crt") < at("renewing on etcd2: /etc/etcd/server.crt"),
        "{}",
        run.stdout
    );
    assert!(samples.len() > 5, "{samples:?}");
    // The cut-off member campaigned alone and comes back with a higher term, which makes the
    // leader step down (etcd 3.4 runs without pre-vote): one election, a few samples with no
    // leader. Quorum lost by a restart would last the restart: stop, start, election.
    let longest_gap = samples
        .split(|n| *n >= 2)
        .map(<[usize]>::len)
        .max()
        .unwrap_or(0);
    assert!(
        longest_gap <= 3,
        "quorum lost during the renewal: healthy members per sample {samples:?}"
    );

    // The new certificate: later not_after, signed by the CA, same SANs; etcd2 serves it.
    let renewed = file_cert(&crt);
    let diff = old_not_after.diff(renewed.not_after()).unwrap();
    assert!(diff.days > 1000, "{diff:?}");
    let ca_cert = X509::from_pem(&ca.pem().unwrap().cert).unwrap();
    assert!(
        renewed.verify(&ca_cert.public_key().unwrap()).unwrap(),
        "not signed by the lab CA"
    );
    let sans: Vec<String> = renewed
        .subject_alt_names()
        .unwrap()
        .iter()
        .map(|n| {
            n.ipaddress()
                .map(|ip| format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]))
                .or_else(|| n.dnsname().map(str::to_string))
                .unwrap()
        })
        .collect();
    assert!(
        sans.contains(&etcd2.ip.to_string()) && sans.contains(&etcd2.fqdn),
        "{sans:?}"
    );
    assert_eq!(mode(&key), 0o600);
    assert_eq!(
        served_cert(&lab, etcd2).to_der().unwrap(),
        renewed.to_der().unwrap(),
        "etcd2 does not serve the renewed certificate"
    );
    lab.wait_healthy(&["etcd1", "etcd2", "etcd3"], Duration::from_secs(30))
        .unwrap();
    assert_eq!(lab.count_keys("/certs/").unwrap(), 50);
    // etcd3 back with a peer certificate its peers take.
    let peer3_now = file_cert(&peer3);
    assert!(
        peer3_now.verify(&ca_cert.public_key().unwrap()).unwrap(),
        "etcd3's peer certificate is not signed by the lab CA"
    );
    assert_ne!(peer3_now.to_pem().unwrap(), expired.cert);
    assert!(lab.is_healthy("etcd3").unwrap(), "etcd3 did not rejoin");
    // Nothing that was not due was reissued.
    let others_after = cert_files(&lab, &["etcd1"]);
    assert_eq!(others_before, others_after);
    assert_eq!(
        std::fs::read(etcd3.cert_dir().join("server.crt")).unwrap(),
        etcd3_server
    );

    // etcd3's master: a new client certificate from the CA, its key with it, accepted by etcd;
    // its API and controllers restarted, no other master's.
    let renewed_client = file_cert(&master_crt);
    assert!(
        renewed_client
            .verify(&ca_cert.public_key().unwrap())
            .unwrap(),
        "the master's certificate is not signed by the lab CA"
    );
    let cn = renewed_client
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .next()
        .and_then(|e| e.data().to_string().ok());
    assert_eq!(cn.as_deref(), Some(master_cn.as_str()));
    assert!(
        file_cert(&master_crt)
            .not_after()
            .compare(X509::from_pem(&short_client.cert).unwrap().not_after())
            .unwrap()
            .is_gt(),
        "the master's certificate was not renewed"
    );
    assert_eq!(mode(&master_key), 0o600);
    let out = lab
        .etcdctl_as(
            &master_crt,
            &master_key,
            ["get", "/certs/", "--prefix", "--keys-only"],
        )
        .unwrap();
    assert!(
        out.status.success(),
        "etcd refuses the master's new pair: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .count(),
        50
    );
    let restarts =
        |h: &str| std::fs::read_to_string(lab.host(h).unwrap().restarts_log()).unwrap_or_default();
    let log = restarts("etcd3");
    assert!(
        log.contains("etcd3 master-api restarted")
            && log.contains("etcd3 master-controllers restarted"),
        "{log}"
    );
    for h in ["etcd1", "etcd2"] {
        assert!(!restarts(h).contains("master-api"), "{h}: {}", restarts(h));
    }
    assert_eq!(
        other_masters("master.etcd-client.crt"),
        other_masters_before
    );

    // The CA, on the controller, owner-only.
    let dir = backup.join("etcd1");
    assert_eq!(mode(&backup), 0o700);
    assert_eq!(mode(&dir), 0o700);
    for f in ["ca.crt", "ca.key"] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(ca_host.ca_dir().join(f)).unwrap()
        );
    }

    // Nothing due any more: a second run renews nothing.
    let run = ansible::playbook(
        &inv,
        "playbooks/certs.yml",
        &["-e", "etcd_certs_renew=true"],
    );
    assert!(run.ok(), "{}", run.describe());
    assert!(!run.stdout.contains("renewing on"), "{}", run.stdout);
    assert_eq!(file_cert(&crt).to_der().unwrap(), renewed.to_der().unwrap());
}

/// The day certificates take the control plane down: every member's peer certificate expired,
/// so no member takes another's and the cluster has no quorum. certs.yml renews each member
/// (none is in a quorum its restart could cost) and waits for the whole cluster once all are
/// back: every key there, each peer certificate new and signed by the CA.
#[test]
fn every_peer_certificate_expired_the_cluster_is_renewed_back() {
    let lab = Lab::up(LabOptions::machines()).expect("lab up");
    lab.put_keys("/certs/", 50).unwrap();
    let ca = lab_ca(&lab);
    let names = ["etcd1", "etcd2", "etcd3"];
    for name in names {
        expire_peer_cert(&ca, lab.host(name).unwrap());
    }
    for name in names {
        lab.stop(name).unwrap();
    }
    for name in names {
        lab.start(name).unwrap();
    }
    // The premise: all three run, none healthy (no quorum), for longer than an election.
    std::thread::sleep(Duration::from_secs(3));
    for name in names {
        assert!(lab.is_running(name).unwrap(), "{name} is not running");
        assert!(!lab.is_healthy(name).unwrap_or(false), "{name} is healthy");
    }

    let run = ansible::playbook(
        &lab.inventory_path(),
        "playbooks/certs.yml",
        &["-e", "etcd_certs_renew=true"],
    );
    assert!(run.ok(), "{}", run.describe());
    for name in names {
        assert!(
            run.stdout.contains(&format!(
                "renewing on {name}: /etc/etcd/peer.crt: expired on"
            )),
            "{}",
            run.stdout
        );
    }
    lab.wait_healthy(&names, Duration::from_secs(30)).unwrap();
    assert_eq!(lab.count_keys("/certs/").unwrap(), 50);
    let ca_cert = X509::from_pem(&ca.pem().unwrap().cert).unwrap();
    for name in names {
        let peer = file_cert(&lab.host(name).unwrap().cert_dir().join("peer.crt"));
        assert!(
            peer.verify(&ca_cert.public_key().unwrap()).unwrap(),
            "{name}"
        );
        assert!(
            peer.not_after()
                .compare(&openssl::asn1::Asn1Time::days_from_now(1000).unwrap())
                .unwrap()
                .is_gt(),
            "{name}: {}",
            peer.not_after()
        );
    }
}
