#!/usr/bin/env bash
# make demo: three real machines (systemd-nspawn hosts reached over SSH) with a TLS etcd cluster lose
# quorum the hard way (a stale member, a dead machine), etcd-ops says so, and restore-quorum.yml
# brings it back with every acknowledged key, choosing the survivor by the data on disk.
set -euo pipefail
cd "$(dirname "$0")/.."

LAB_DIR=${LAB_DIR:-lab}
TARGET=${TARGET:-x86_64-unknown-linux-musl}
export ANSIBLE_CONFIG=$PWD/ansible.cfg
PATH=$PWD/.venv/bin:$PATH

cargo build -q --release --target "$TARGET" -p etcd-ops-tests --bin etcd-lab
LAB=${CARGO_TARGET_DIR:-target}/$TARGET/release/etcd-lab

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ -f "$LAB_DIR/lab.json" ]; then
    say "Stopping the previous demo lab in $LAB_DIR"
    "$LAB" down --dir "$LAB_DIR"
    rm -rf "$LAB_DIR"
fi

say "Bringing up 3 etcd 3.4 machines (systemd, sshd, etcd as the RPM's unit) on 127.0.0.11-13 (+2 spares)"
INVENTORY=$("$LAB" up --machines --dir "$LAB_DIR" --slot 0 --members 3 --spares 2)
echo "inventory: $INVENTORY   (Ansible reaches every host over SSH)"

say "Writing 1,000 keys under /demo/"
"$LAB" put --dir "$LAB_DIR" --prefix /demo/ --count 1000
echo "keys under /demo/: $("$LAB" count --dir "$LAB_DIR" --prefix /demo/)"

say "ansible-playbook playbooks/health.yml   (all members up)"
ansible-playbook -i "$INVENTORY" playbooks/health.yml

say "etcd1 crashes; 500 more keys are acknowledged by etcd2 and etcd3: etcd1 is now stale"
"$LAB" kill --dir "$LAB_DIR" etcd1
"$LAB" put --dir "$LAB_DIR" --prefix /late/ --count 500
echo "keys under /late/: $("$LAB" count --dir "$LAB_DIR" --prefix /late/)"

say "etcd3's whole machine dies, then etcd2 crashes: nothing answers"
"$LAB" kill-host --dir "$LAB_DIR" etcd3
"$LAB" kill --dir "$LAB_DIR" etcd2

say "ansible-playbook playbooks/health.yml   (quorum lost; etcd3 UNREACHABLE)"
ansible-playbook -i "$INVENTORY" playbooks/health.yml || true

say "ansible-playbook playbooks/restore-quorum.yml   (the survivor chosen by the data on disk, not by inventory order)"
# Exit 4 is Ansible's "a host was unreachable": etcd3 is, and the play says it must come back.
rc=0
ansible-playbook -i "$INVENTORY" playbooks/restore-quorum.yml || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 4 ]

say "etcd3's machine boots again; restore-quorum.yml re-adds it"
"$LAB" revive-host --dir "$LAB_DIR" etcd3
ansible-playbook -i "$INVENTORY" playbooks/restore-quorum.yml

say "ansible-playbook playbooks/health.yml   (restored)"
ansible-playbook -i "$INVENTORY" playbooks/health.yml

KEYS=$("$LAB" count --dir "$LAB_DIR" --prefix /demo/)
LATE=$("$LAB" count --dir "$LAB_DIR" --prefix /late/)
say "Keys after the restore: /demo/ $KEYS of 1000, /late/ $LATE of 500 (the writes etcd1 never saw)"
[ "$KEYS" = 1000 ] && [ "$LATE" = 500 ]

cat <<EOT

The lab is still running, restored, for you to look at:
  inventory        $INVENTORY
  lab status       $LAB status --dir $LAB_DIR
  log into a host  $("$LAB" ssh --dir "$LAB_DIR" etcd1)
  a host's disk    $LAB_DIR/machines/etcd1/root/etc/etcd/etcd.conf (its journal: journalctl -u etcd, on it)
  old data kept    $LAB_DIR/machines/etcd1/root/var/lib/etcd.before-restore-*
  survivor backup  $LAB_DIR/machines/etcd2/root/var/backup/etcd/
  health again     ansible-playbook -i $INVENTORY playbooks/health.yml
  tear it down     make lab-down
EOT
