//! etcd_firewall through its real binary against real iptables (Debian's, nf_tables backend),
//! every run inside a network namespace the test creates and deletes, never against this
//! machine's own ruleset. Needs root (`ip netns add`) and the iptables package
//! (`scripts/setup.sh` installs it); the firewalld test runs the real daemon, unpacked by
//! `make firewalld-root`, in private namespaces of its own.

use modtest::{replace_once, snapshot, Run, TempDir};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_etcd_firewall");
const RHEL7: &str = include_str!("fixtures/iptables-rhel7");
const OPENSHIFT: &str = include_str!("fixtures/iptables-openshift");
const R2379: &str =
    "-A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT\n";
const R2380: &str =
    "-A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2380 -j ACCEPT\n";

/// A network namespace of our own, deleted on drop (also when an assertion fails): a named one
/// (`ip netns add`), or the private network, mount and pid namespaces of a real firewalld
/// ([`Netns::with_firewalld`]), which die with the process holding them.
struct Netns {
    /// What `ip link ... netns <target>` takes: the namespace's name, or a pid inside it.
    name: String,
    /// The command prefix that runs a program inside.
    enter: Vec<String>,
    firewalld: Option<Firewalld>,
}

/// The process holding a firewalld namespace, and the scratch dir under its /etc and /run.
struct Firewalld {
    holder: std::process::Child,
    _dir: TempDir,
}

impl Netns {
    fn new() -> Netns {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "etcdops-fw-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("running ip");
        assert!(
            out.status.success(),
            "ip netns add {name} failed (these tests need root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Netns {
            enter: vec!["ip".into(), "netns".into(), "exec".into(), name.clone()],
            name,
            firewalld: None,
        }
    }

    /// A namespace where Debian's firewalld really runs, as on a RHEL 7 host with firewalld
    /// active: its own system bus (no polkit, so firewalld authorizes by uid 0), its permanent
    /// configuration in an /etc overlay, nothing of it visible outside. The packages come
    /// unpacked from `make firewalld-root` and are laid over /usr and /etc only in here.
    fn with_firewalld() -> Netns {
        use std::io::BufRead;
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/firewalld-root");
        assert!(
            root.join("usr").is_dir(),
            "{} is missing: run `make firewalld-root` (make test does)",
            root.display()
        );
        let dir = TempDir::new("firewalld");
        // --kill-child: when the test drops (or dies), the namespace's PID 1 is killed, and with
        // it the bus and firewalld; the mounts go with the mount namespace.
        let mut holder = Command::new("unshare")
            .args([
                "--fork",
                "--pid",
                "--kill-child",
                "--net",
                "--mount",
                "bash",
                "-c",
            ])
            .arg(FIREWALLD_NS)
            .arg("firewalld-ns")
            .arg(&root)
            .arg(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("running unshare");
        let mut first = String::new();
        std::io::BufReader::new(holder.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        if first != "ready\n" {
            let _ = holder.kill();
            let out = holder.wait_with_output().unwrap();
            panic!(
                "firewalld did not come up in its namespace: {first}{}\nfirewalld's log: {}\nthe bus's log: {}",
                String::from_utf8_lossy(&out.stderr),
                fs::read_to_string(dir.join("firewalld.log")).unwrap_or_default(),
                fs::read_to_string(dir.join("dbus.log")).unwrap_or_default()
            );
        }
        let pid = holder.id().to_string();
        Netns {
            enter: ["nsenter", "-t", &pid, "--net", "--mount"]
                .map(String::from)
                .to_vec(),
            name: pid,
            firewalld: Some(Firewalld { holder, _dir: dir }),
        }
    }

    /// Stops the namespace's firewalld (as `systemctl stop firewalld` would), keeping the
    /// namespace; its rules go with it (CleanupOnExit).
    fn stop_firewalld(&self) {
        let holder = self
            .firewalld
            .as_ref()
            .expect("a firewalld namespace")
            .holder
            .id();
        let inner = fs::read_to_string(format!("/proc/{holder}/task/{holder}/children")).unwrap();
        let inner = inner.trim();
        let out = Command::new("kill")
            .args(["-USR1", inner])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "signalling the namespace's PID 1 ({inner})"
        );
        for _ in 0..100 {
            if !self.firewall_cmd(&["--state"]).status.success() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("firewalld still running after its stop");
    }

    fn firewall_cmd(&self, args: &[&str]) -> std::process::Output {
        let mut argv = vec!["firewall-cmd"];
        argv.extend_from_slice(args);
        self.exec(&argv, None)
    }

    /// Whether `firewall-cmd <scope...> --query-port=<port>` says yes.
    fn open(&self, scope: &[&str], port: &str) -> bool {
        let query = format!("--query-port={port}");
        let mut args = scope.to_vec();
        args.push(&query);
        let out = self.firewall_cmd(&args);
        match out.status.code() {
            Some(0) => true,
            Some(1) => false,
            _ => panic!(
                "firewall-cmd {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }

    fn exec(&self, argv: &[&str], stdin: Option<&str>) -> std::process::Output {
        use std::io::Write;
        let mut child = Command::new(&self.enter[0])
            .args(&self.enter[1..])
            .args(argv)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("running ip netns exec");
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        drop(pipe);
        child.wait_with_output().unwrap()
    }

    /// Loads a ruleset, as iptables-services does at boot.
    fn restore(&self, rules: &str) {
        let out = self.exec(&["iptables-restore"], Some(rules));
        assert!(
            out.status.success(),
            "iptables-restore: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The whole live ruleset (every table), without iptables-save's timestamped comments.
    fn save(&self) -> String {
        let out = self.exec(&["iptables-save"], None);
        assert!(
            out.status.success(),
            "iptables-save: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// The module run as Ansible runs it (args file as argv[1]), inside the namespace.
    fn run(&self, args: &Value) -> Run {
        let dir = TempDir::new("fw-args");
        let file = dir.join("args");
        fs::write(&file, args.to_string()).unwrap();
        let out = self.exec(&[BIN, file.to_str().unwrap()], None);
        let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
        let json: Value = serde_json::from_str(stdout.trim_end())
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {stdout}"));
        assert_eq!(
            json["failed"].as_bool(),
            Some(!out.status.success()),
            "{json}"
        );
        Run {
            json,
            success: out.status.success(),
        }
    }
}

/// `a` and `b` joined by a veth pair (created inside them, so the host sees no interface):
/// a is 10.254.0.1, b is 10.254.0.2.
fn wire(a: &Netns, b: &Netns) {
    let ip = |args: &[&str]| {
        let out = Command::new("ip").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ip(&[
        "link", "add", "fw0", "netns", &a.name, "type", "veth", "peer", "name", "fw1", "netns",
        &b.name,
    ]);
    for (ns, dev, addr) in [(a, "fw0", "10.254.0.1/30"), (b, "fw1", "10.254.0.2/30")] {
        for args in [
            &["ip", "addr", "add", addr, "dev", dev][..],
            &["ip", "link", "set", dev, "up"],
        ] {
            let out = ns.exec(args, None);
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// What a TCP connect from `from` to 10.254.0.1:`port` meets. Nothing listens there, so a
/// packet that gets through the firewall is answered by the TCP stack ("Connection refused");
/// one RHEL's final REJECT catches gets icmp-host-prohibited ("No route to host"; an ARP
/// failure would read the same, but the "reached" answers over the same wire rule that out).
/// Both are answers, not timeouts.
fn probe(from: &Netns, port: u16) -> &'static str {
    let out = from.exec(
        &["bash", "-c", &format!("exec 3<>/dev/tcp/10.254.0.1/{port}")],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("Connection refused") {
        "reached"
    } else if err.contains("No route to host") {
        "rejected"
    } else {
        panic!("unexpected probe result: {err}")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        match &mut self.firewalld {
            Some(f) => {
                let _ = f.holder.kill();
                let _ = f.holder.wait();
            }
            None => {
                let _ = Command::new("ip")
                    .args(["netns", "delete", &self.name])
                    .status();
            }
        }
    }
}

/// Run by `unshare` as the firewalld namespace's PID 1 (args: the unpacked packages, a scratch
/// dir). Prints `ready` once `firewall-cmd --state` says running; SIGUSR1 stops firewalld.
const FIREWALLD_NS: &str = r#"
set -euo pipefail
root=$1 t=$2
mount --make-rprivate /
mkdir -p "$t/etc-upper" "$t/etc-work"
mount -t overlay overlay -o "lowerdir=$root/usr:/usr" /usr
mount -t overlay overlay -o "lowerdir=$root/etc:/etc,upperdir=$t/etc-upper,workdir=$t/etc-work" /etc
mount -t tmpfs tmpfs /run
mkdir -p /run/dbus
cat >"$t/bus.conf" <<'BUS'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/> <allow own="*"/> <allow send_destination="*"/> <allow receive_sender="*"/>
  </policy>
</busconfig>
BUS
ip link set lo up
# Their output goes to files: the test stops reading stdout after `ready`, and a write to that
# pipe would then kill them with SIGPIPE.
dbus-daemon --config-file="$t/bus.conf" --nofork --nopidfile >"$t/dbus.log" 2>&1 &
firewalld --nofork --nopid --log-file "$t/firewalld.log" >>"$t/firewalld.log" 2>&1 &
fw=$!
trap 'kill $fw; wait $fw || true' USR1
for _ in $(seq 300); do
    firewall-cmd --state >/dev/null 2>&1 && { echo ready; break; }
    kill -0 $fw 2>/dev/null || { echo "firewalld exited"; exit 1; }
    sleep 0.1
done
firewall-cmd --state >/dev/null 2>&1 || { echo "firewalld not running after 30 s"; exit 1; }
exec 1>&-
while :; do wait || true; sleep 1; done
"#;

/// iptables-save's live filter table of `rules` (nf_tables prints every chain counter as [0:0]).
fn live_form(rules: &str) -> String {
    rules
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| match l.split_once(" [") {
            Some((decl, _)) if l.starts_with(':') => format!("{decl} [0:0]\n"),
            _ => format!("{l}\n"),
        })
        .collect()
}

/// The RHEL 7 default with the chain, the jump before the REJECT and the two rules.
fn rhel7_opened(text: &str) -> String {
    let t = replace_once(
        text,
        ":OUTPUT ACCEPT [0:0]\n",
        ":OUTPUT ACCEPT [0:0]\n:OS_FIREWALL_ALLOW - [0:0]\n",
    );
    let t = replace_once(
        &t,
        "-A INPUT -j REJECT",
        "-A INPUT -j OS_FIREWALL_ALLOW\n-A INPUT -j REJECT",
    );
    replace_once(&t, "COMMIT\n", &format!("{R2379}{R2380}COMMIT\n"))
}

fn openshift_opened(text: &str) -> String {
    let last = "-A OS_FIREWALL_ALLOW -p udp -m state --state NEW -m udp --dport 8053 -j ACCEPT\n";
    replace_once(text, last, &format!("{last}{R2379}{R2380}"))
}

fn args(saved: &Path, extra: Value) -> Value {
    let mut a = json!({"saved_file": saved});
    for (k, v) in extra.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

fn saved_copy(dir: &TempDir, text: &str) -> PathBuf {
    let p = dir.join("iptables");
    fs::write(&p, text).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    p
}

#[test]
fn rhel7_host_gets_the_seed_003_rules_live_and_saved_then_nothing_on_a_second_run() {
    let ns = Netns::new();
    ns.restore(RHEL7);
    let dir = TempDir::new("fw-rhel7");
    let saved = saved_copy(&dir, RHEL7);
    std::os::unix::fs::chown(&saved, Some(997), Some(996)).unwrap();
    let live_before = ns.save();
    assert_eq!(live_before, live_form(RHEL7));

    let out = ns.run(&args(&saved, json!({}))).ok();
    assert!(out.changed());
    assert_eq!(out.json["backend"], "iptables");
    assert_eq!(
        out.json["commands"],
        json!([
            "iptables -w -N OS_FIREWALL_ALLOW",
            "iptables -w -I INPUT 5 -j OS_FIREWALL_ALLOW",
            "iptables -w -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT",
            "iptables -w -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2380 -j ACCEPT",
        ])
    );
    assert_eq!(
        out.msg(),
        format!(
            "created chain OS_FIREWALL_ALLOW; jumped to it from INPUT; accepted 2379/tcp, 2380/tcp live; edited {}",
            saved.display()
        )
    );
    assert_eq!(out.json["saved_file_changed"], json!(true));
    assert!(out.json.get("warnings").is_none(), "{}", out.json);
    assert_eq!(ns.save(), rhel7_opened(&live_before));
    assert_eq!(fs::read_to_string(&saved).unwrap(), rhel7_opened(RHEL7));
    let m = fs::metadata(&saved).unwrap();
    assert_eq!(
        (m.mode() & 0o7777, m.uid(), m.gid()),
        (0o600, 997, 996),
        "mode and owner kept"
    );
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );

    // What the saved file holds is what iptables-restore loads at boot: the same live ruleset.
    let fresh = Netns::new();
    fresh.restore(&fs::read_to_string(&saved).unwrap());
    assert_eq!(fresh.save(), ns.save());

    let (bytes, mtime) = snapshot(&saved);
    let again = ns.run(&args(&saved, json!({}))).ok();
    assert!(!again.changed(), "{}", again.json);
    assert_eq!(again.json["commands"], json!([]));
    assert_eq!(
        again.msg(),
        format!(
            "2379/tcp, 2380/tcp already open: iptables chain OS_FIREWALL_ALLOW, live and in {}",
            saved.display()
        )
    );
    assert_eq!(
        snapshot(&saved),
        (bytes, mtime),
        "an unchanged file is not rewritten"
    );
    assert_eq!(ns.save(), rhel7_opened(&live_before));
}

#[test]
fn openshift_ruleset_keeps_every_other_table_chain_and_rule() {
    let ns = Netns::new();
    ns.restore(OPENSHIFT);
    let dir = TempDir::new("fw-ocp");
    let saved = saved_copy(&dir, OPENSHIFT);
    let before = ns.save();
    assert!(
        before.contains("*nat\n") && before.contains(":KUBE-FIREWALL - [0:0]\n"),
        "{before}"
    );

    let out = ns.run(&args(&saved, json!({"backup": true}))).ok();
    assert_eq!(
        out.json["commands"],
        json!([
            "iptables -w -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT",
            "iptables -w -A OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2380 -j ACCEPT",
        ])
    );
    // Every table, chain and rule as it was; only the two rules added, where -A puts them.
    assert_eq!(ns.save(), openshift_opened(&before));
    assert_eq!(
        fs::read_to_string(&saved).unwrap(),
        openshift_opened(OPENSHIFT)
    );
    let backup = out.json["backup_file"].as_str().expect("backup_file");
    assert_eq!(fs::read_to_string(backup).unwrap(), OPENSHIFT);
    assert!(!ns.run(&args(&saved, json!({}))).ok().changed());
}

#[test]
fn check_mode_lists_the_commands_shows_the_diff_and_changes_nothing() {
    let ns = Netns::new();
    ns.restore(RHEL7);
    let dir = TempDir::new("fw-check");
    let saved = saved_copy(&dir, RHEL7);
    let live = ns.save();
    let snap = snapshot(&saved);
    let out = ns
        .run(&args(
            &saved,
            json!({"_ansible_check_mode": true, "_ansible_diff": true}),
        ))
        .ok();
    assert!(out.changed());
    assert_eq!(
        out.json["commands"].as_array().unwrap().len(),
        4,
        "{}",
        out.json
    );
    assert!(
        out.msg()
            .starts_with("would have: created chain OS_FIREWALL_ALLOW; "),
        "{}",
        out.msg()
    );
    let header = saved.display().to_string();
    assert_eq!(
        out.json["diff"],
        json!({"before": RHEL7, "after": rhel7_opened(RHEL7), "before_header": header, "after_header": header})
    );
    assert_eq!(ns.save(), live, "live ruleset untouched");
    assert_eq!(snapshot(&saved), snap, "saved file untouched");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn absent_removes_the_port_rules_live_and_saved_and_keeps_chain_and_jump() {
    let ns = Netns::new();
    ns.restore(RHEL7);
    let dir = TempDir::new("fw-absent");
    let saved = saved_copy(&dir, RHEL7);
    let live_before = ns.save();
    ns.run(&args(&saved, json!({}))).ok();

    let out = ns
        .run(&args(&saved, json!({"state": "absent", "ports": [2379]})))
        .ok();
    assert!(out.changed());
    assert_eq!(
        out.json["commands"],
        json!(["iptables -w -D OS_FIREWALL_ALLOW -p tcp -m state --state NEW -m tcp --dport 2379 -j ACCEPT"])
    );
    assert_eq!(
        ns.save(),
        replace_once(&rhel7_opened(&live_before), R2379, "")
    );
    assert_eq!(
        fs::read_to_string(&saved).unwrap(),
        replace_once(&rhel7_opened(RHEL7), R2379, "")
    );

    let out = ns.run(&args(&saved, json!({"state": "absent"}))).ok();
    assert_eq!(
        out.msg(),
        format!(
            "removed the rules for 2380/tcp live; edited {}",
            saved.display()
        )
    );
    let closed = replace_once(&rhel7_opened(&live_before), &format!("{R2379}{R2380}"), "");
    assert_eq!(ns.save(), closed);
    let again = ns.run(&args(&saved, json!({"state": "absent"}))).ok();
    assert!(!again.changed(), "{}", again.json);
    assert!(
        again.msg().starts_with("2379/tcp, 2380/tcp already closed"),
        "{}",
        again.msg()
    );
}

#[test]
fn a_host_where_nothing_filters_is_left_alone_unless_iptables_is_asked_for() {
    let ns = Netns::new();
    let dir = TempDir::new("fw-none");
    let saved = dir.join("iptables");
    let empty = ns.save();
    let out = ns.run(&args(&saved, json!({}))).ok();
    assert!(!out.changed());
    assert_eq!(out.json["backend"], "none");
    assert_eq!(
        out.msg(),
        format!(
            "no firewall on this host: iptables' INPUT chain has no rules and policy ACCEPT, {} does not exist and \
             firewalld is not running; nothing filters, so nothing to open",
            saved.display()
        )
    );
    assert_eq!(ns.save(), empty);
    assert!(!saved.exists());

    // INPUT policy DROP with no rule: that filters everything, so the ports are opened.
    ns.exec(&["iptables", "-P", "INPUT", "DROP"], None);
    let out = ns.run(&args(&saved, json!({}))).ok();
    assert_eq!(out.json["backend"], "iptables");
    assert_eq!(
        out.json["commands"][1],
        "iptables -w -A INPUT -j OS_FIREWALL_ALLOW"
    );
    // The missing file is created from the live filter table, owner-only like iptables-services'.
    let text = fs::read_to_string(&saved).unwrap();
    assert_eq!(fs::metadata(&saved).unwrap().mode() & 0o7777, 0o600);
    assert!(text.contains(":INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:OS_FIREWALL_ALLOW - [0:0]\n"), "{text}");
    assert!(
        text.contains(&format!(
            "-A INPUT -j OS_FIREWALL_ALLOW\n{R2379}{R2380}COMMIT\n"
        )),
        "{text}"
    );
    assert!(
        out.msg()
            .ends_with(&format!("; created {}", saved.display())),
        "{}",
        out.msg()
    );

    // No /etc/sysconfig (not an iptables-services host): live only, and said so.
    let ns2 = Netns::new();
    let nowhere = dir.join("sysconfig/iptables");
    let out = ns2
        .run(&args(&nowhere, json!({"backend": "iptables"})))
        .ok();
    assert!(out.changed());
    assert_eq!(out.json["saved_file"], Value::Null);
    let warning = out.json["warnings"][0].as_str().unwrap();
    assert!(
        warning.starts_with(&format!(
            "{} does not exist (not an iptables-services host)",
            dir.join("sysconfig").display()
        )),
        "{warning}"
    );
    assert!(ns2
        .save()
        .contains(&format!("-A INPUT -j OS_FIREWALL_ALLOW\n{R2379}{R2380}")));
    assert!(!nowhere.exists());
}

#[test]
fn a_saved_file_that_does_not_parse_is_refused_and_nothing_changes() {
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "garbage",
            b"\x7fELF\x02\x01\x01\x00\xff\xfe",
            "line 1: invalid UTF-8: this is not a text file",
        ),
        (
            "no COMMIT",
            b"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n",
            "line 1: *filter has no COMMIT",
        ),
        (
            "no *filter",
            b"*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n",
            "no *filter table: not a saved iptables ruleset",
        ),
        (
            "not iptables-save",
            b"*filter\nallow 2379\nCOMMIT\n",
            "line 2: `allow 2379` is not an iptables-save line",
        ),
    ];
    let ns = Netns::new();
    ns.restore(RHEL7);
    let live = ns.save();
    for (what, bytes, why) in cases {
        let dir = TempDir::new("fw-bad");
        let saved = dir.join("iptables");
        fs::write(&saved, bytes).unwrap();
        let snap = snapshot(&saved);
        let msg = ns.run(&args(&saved, json!({}))).err();
        assert_eq!(
            msg,
            format!("refusing to edit {}, left as it is: {why}", saved.display()),
            "{what}"
        );
        assert_eq!(snapshot(&saved), snap, "{what}: file touched");
        assert_eq!(
            ns.save(),
            live,
            "{what}: live rules changed before the refusal"
        );
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "{what}: temp file left"
        );
    }
}

#[test]
fn bad_options_fail_clearly_before_anything_runs() {
    let ns = Netns::new();
    ns.restore(RHEL7);
    let live = ns.save();
    let cases = [
        (
            json!({"ports": [0]}),
            "ports: 0 is not a port number (1-65535)",
        ),
        (
            json!({"ports": [70000]}),
            "ports: 70000 is not a port number (1-65535)",
        ),
        (json!({"ports": []}), "ports: give at least one port"),
        (
            json!({"ports": "2379,x"}),
            "Elements value for option 'ports' is of type str",
        ),
        (
            json!({"chain": "INPUT"}),
            "chain: `INPUT` is a built-in chain or target; name a chain of its own",
        ),
        (
            json!({"chain": "a b"}),
            "chain: `a b` is not an iptables chain name (1-28 letters, digits, _ - .)",
        ),
        (
            json!({"zone": "pub lic"}),
            "zone: `pub lic` is not a firewalld zone name",
        ),
        (
            json!({"backend": "nftables"}),
            "value of backend must be one of: auto, iptables, firewalld, none, got: nftables",
        ),
        (
            json!({"iptables": "/nonexistent/iptables", "backend": "iptables"}),
            "backend iptables: `/nonexistent/iptables` not found",
        ),
        (
            json!({"firewall_cmd": "/nonexistent/firewall-cmd", "backend": "firewalld"}),
            "backend firewalld: `/nonexistent/firewall-cmd` not found",
        ),
        (
            json!({"port": 2379}),
            "Unsupported parameters for (etcd_firewall) module: port.",
        ),
    ];
    for (a, want) in cases {
        let msg = ns.run(&a).err();
        assert!(msg.starts_with(want), "{a}:\n got {msg}\nwant {want}");
    }
    assert_eq!(ns.save(), live);
    let none = ns.run(&json!({"backend": "none"})).ok();
    assert!(!none.changed());
    assert_eq!(none.msg(), "backend none: the firewall is left alone");
}

#[test]
fn the_opened_ports_are_reachable_from_a_peer_and_closed_again_by_absent() {
    let host = Netns::new();
    let peer = Netns::new();
    wire(&host, &peer);
    host.restore(RHEL7);
    let dir = TempDir::new("fw-probe");
    let saved = saved_copy(&dir, RHEL7);
    assert_eq!(
        (probe(&peer, 2379), probe(&peer, 2380)),
        ("rejected", "rejected")
    );

    host.run(&args(&saved, json!({}))).ok();
    assert_eq!(
        (probe(&peer, 2379), probe(&peer, 2380)),
        ("reached", "reached")
    );
    assert_eq!(
        probe(&peer, 2381),
        "rejected",
        "only etcd's ports are opened"
    );

    host.run(&args(&saved, json!({"state": "absent"}))).ok();
    assert_eq!(
        (probe(&peer, 2379), probe(&peer, 2380)),
        ("rejected", "rejected")
    );
}

#[test]
fn firewalld_really_running_gets_the_ports_runtime_and_permanent_and_iptables_is_left_alone() {
    let host = Netns::with_firewalld();
    let peer = Netns::new();
    wire(&host, &peer);
    let internal = ["--zone=internal"];
    let permanent = ["--permanent", "--zone=internal"];
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        )
    };
    ok(host.firewall_cmd(&["--zone=internal", "--change-interface=fw0"]));
    // 2379 opened by hand earlier, at runtime only: the module completes it, not repeats it.
    ok(host.firewall_cmd(&["--zone=internal", "--add-port=2379/tcp"]));
    let live = host.save();
    let saved_dir = TempDir::new("fw-firewalld-saved");
    let saved = saved_copy(&saved_dir, RHEL7);
    let a = args(&saved, json!({"zone": "internal"}));
    assert_eq!(
        (probe(&peer, 2379), probe(&peer, 2380)),
        ("reached", "rejected")
    );

    let mut check = a.clone();
    check["_ansible_check_mode"] = json!(true);
    let out = host.run(&check).ok();
    assert!(out.changed());
    assert_eq!(out.msg(), "would open 2379/tcp, 2380/tcp in firewalld zone internal: 3 change(s) to runtime and permanent configuration");
    assert!(!host.open(&internal, "2380/tcp") && !host.open(&permanent, "2379/tcp"));

    let out = host.run(&a).ok();
    assert_eq!(out.json["backend"], "firewalld");
    assert_eq!(out.json["zone"], "internal");
    let commands: Vec<String> = out.json["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c.as_str()
                .unwrap()
                .rsplit_once("firewall-cmd ")
                .unwrap()
                .1
                .to_string()
        })
        .collect();
    assert_eq!(
        commands,
        [
            "--permanent --zone=internal --add-port=2379/tcp",
            "--zone=internal --add-port=2380/tcp",
            "--permanent --zone=internal --add-port=2380/tcp",
        ]
    );
    for port in ["2379/tcp", "2380/tcp"] {
        assert!(
            host.open(&internal, port) && host.open(&permanent, port),
            "{port}"
        );
        assert!(!host.open(&[], port), "{port} not in the default zone");
    }
    let zone = host.exec(&["cat", "/etc/firewalld/zones/internal.xml"], None);
    let zone = String::from_utf8_lossy(&zone.stdout);
    for port in ["2379", "2380"] {
        assert!(
            zone.contains(&format!(r#"<port port="{port}" protocol="tcp"/>"#)),
            "permanent zone file lacks {port}: {zone}"
        );
    }
    assert_eq!(
        (probe(&peer, 2379), probe(&peer, 2380), probe(&peer, 2381)),
        ("reached", "reached", "rejected"),
        "etcd's ports, and only those, reachable from the peer"
    );
    assert_eq!(
        host.save(),
        live,
        "with firewalld running, iptables is not touched"
    );
    assert_eq!(
        fs::read_to_string(&saved).unwrap(),
        RHEL7,
        "nor the iptables-services file"
    );

    let again = host.run(&a).ok();
    assert!(!again.changed(), "{}", again.json);
    assert_eq!(
        again.msg(),
        "2379/tcp, 2380/tcp already open in firewalld zone internal (runtime and permanent)"
    );

    let out = host
        .run(&args(
            &saved,
            json!({"zone": "internal", "state": "absent", "ports": [2380]}),
        ))
        .ok();
    assert_eq!(out.json["commands"].as_array().unwrap().len(), 2);
    assert!(!host.open(&internal, "2380/tcp") && !host.open(&permanent, "2380/tcp"));
    assert!(host.open(&permanent, "2379/tcp"));
    assert_eq!(
        (probe(&peer, 2379), probe(&peer, 2380)),
        ("reached", "rejected")
    );

    // Installed but stopped: asking for firewalld fails, saying so; auto falls back to iptables.
    host.stop_firewalld();
    let msg = host
        .run(&args(&saved, json!({"backend": "firewalld"})))
        .err();
    assert!(
        msg.starts_with("backend firewalld: firewalld is not running (`")
            && msg.ends_with("firewall-cmd --state` says so)"),
        "{msg}"
    );
    host.restore(RHEL7);
    let live = host.save();
    let out = host.run(&args(&saved, json!({}))).ok();
    assert_eq!(out.json["backend"], "iptables");
    assert_eq!(host.save(), rhel7_opened(&live));
}
