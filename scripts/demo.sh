#!/usr/bin/env bash
# make demo: a real 3-member TLS etcd cluster on loopback loses quorum, etcd-ops says so, and
# restore-quorum.yml brings it back with every key.
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

say "Bringing up a 3-member etcd 3.4 cluster with mutual TLS on 127.0.0.11-13 (+2 spare hosts)"
# The playbooks' builtin tasks (stat, file, command, wait_for) run on the venv's Python.
INVENTORY=$(LAB_ANSIBLE_PYTHON=$PWD/.venv/bin/python3 "$LAB" up --dir "$LAB_DIR" --slot 0 --members 3 --spares 2)
echo "inventory: $INVENTORY"

say "Writing 1,000 keys under /demo/"
"$LAB" put --dir "$LAB_DIR" --prefix /demo/ --count 1000
echo "keys under /demo/: $("$LAB" count --dir "$LAB_DIR" --prefix /demo/)"

say "ansible-playbook playbooks/health.yml   (all members up)"
ansible-playbook -i "$INVENTORY" playbooks/health.yml

say "Killing etcd2 and etcd3 (SIGKILL by pid file): 1 of 3 members left"
"$LAB" kill --dir "$LAB_DIR" etcd2
"$LAB" kill --dir "$LAB_DIR" etcd3

say "ansible-playbook playbooks/health.yml   (quorum lost)"
ansible-playbook -i "$INVENTORY" playbooks/health.yml

say "ansible-playbook playbooks/restore-quorum.yml   (re-form from etcd1, re-add etcd2 and etcd3)"
ansible-playbook -i "$INVENTORY" playbooks/restore-quorum.yml

say "ansible-playbook playbooks/health.yml   (restored)"
ansible-playbook -i "$INVENTORY" playbooks/health.yml

KEYS=$("$LAB" count --dir "$LAB_DIR" --prefix /demo/)
say "Keys under /demo/ after the restore: $KEYS of 1000"
[ "$KEYS" = 1000 ]

cat <<EOT

The lab is still running, restored, for you to look at:
  inventory        $INVENTORY
  lab status       $LAB status --dir $LAB_DIR
  a host's files   $LAB_DIR/hosts/etcd1/etc/etcd/etcd.conf, .../var/log/etcd.log
  old data kept    $LAB_DIR/hosts/etcd2/var/lib/etcd.before-restore-*
  survivor backup  $LAB_DIR/hosts/etcd1/var/backup/etcd/
  health again     ansible-playbook -i $INVENTORY playbooks/health.yml
  tear it down     make lab-down
EOT
