//! A stand-in for the kubelet of the `static_pod` runtime: runs a host's etcd while
//! `<static_pod_dir>/etcd.yaml` is there and stops it when the manifest leaves, which is all the
//! playbooks rely on (seed 001, 39.2: stop = move the manifest out, start = move it back;
//! docs/procedures.md).
//!
//! Unlike a real kubelet it does not restart an etcd that died on its own: a test that kills a
//! member means "this host is down", and the member stays down until its manifest is cycled.
//! It runs as a thread of the process that owns the [`crate::Lab`], so it can never outlive it.

use crate::layout::Host;
use crate::process;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The manifest's file name in the pods directory.
pub const MANIFEST: &str = "etcd.yaml";
const POLL: Duration = Duration::from_millis(100);

/// The manifest's text. The stand-in only looks at whether the file exists; the content says
/// what a real kubelet would run, so an operator reading the lab recognises it.
pub fn manifest(host: &Host) -> String {
    format!(
        "# etcd-lab static pod: the lab's kubelet stand-in runs etcd with this host's env file\n\
         # while this file is in the pods directory.\n\
         apiVersion: v1\nkind: Pod\nmetadata:\n  name: master-etcd-{name}\n  namespace: kube-system\n\
         spec:\n  hostNetwork: true\n  containers:\n  - name: etcd\n    image: etcd\n    \
         command: [/bin/sh, -c, \"set -a; . {conf}; exec etcd\"]\n",
        name = host.name,
        conf = host.seen("etc/etcd/etcd.conf").display()
    )
}

/// The masters' API server pod (machines only): its kubelet stand-in records when it starts and
/// stops, which is what restore-snapshot.yml's default stop and start commands cause.
pub fn apiserver_manifest(host: &Host) -> String {
    format!(
        "# etcd-lab static pod: the OpenShift 3.11 API server of {name}; the lab's kubelet\n\
         # stand-in records its coming and going in /var/log/pods.log.\n\
         apiVersion: v1\nkind: Pod\nmetadata:\n  name: master-api-{name}\n  namespace: kube-system\n\
         spec:\n  hostNetwork: true\n  containers:\n  - name: api\n    image: ose-control-plane\n    \
         command: [/bin/bash, -c, \"exec openshift start master api --config=/etc/origin/master/master-config.yaml\"]\n",
        name = host.name,
    )
}

/// One host's kubelet thread; dropping or [`Kubelet::stop`] ends the thread and leaves etcd as
/// it is (the lab stops etcds through their pid files).
#[derive(Debug)]
pub struct Kubelet {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Kubelet {
    /// Starts watching `host`'s pods directory; etcd starts at once when the manifest is there.
    pub fn spawn(host: Host) -> Kubelet {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || watch(&host, &flag));
        Kubelet {
            stop,
            thread: Some(thread),
        }
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Acts on the manifest's appearing and leaving only (edges), never on etcd's own exit.
fn watch(host: &Host, stop: &AtomicBool) {
    let path: PathBuf = host.static_pod_dir().join(MANIFEST);
    let mut present = false;
    while !stop.load(Ordering::SeqCst) {
        let now = path.exists();
        if now && !present {
            if process::running_pid(host).is_none() {
                if let Err(e) = process::start(host) {
                    eprintln!("etcd-lab kubelet {}: {e}", host.name);
                }
            }
        } else if !now && present {
            if let Err(e) = process::stop_host(host, process::STOP_GRACE) {
                eprintln!("etcd-lab kubelet {}: {e}", host.name);
            }
        }
        present = now;
        std::thread::sleep(POLL);
    }
}
