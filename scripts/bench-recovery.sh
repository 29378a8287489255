#!/usr/bin/env bash
# Time to recover from quorum loss: restore-quorum.yml on a 3-member TLS lab holding 100,000
# keys with 2 members killed, from the start of the play to a healthy full-size cluster, beside
# the same steps done by a plain shell script calling etcdctl (the floor etcd itself sets).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=${TARGET:-x86_64-unknown-linux-musl}
KEYS=${KEYS:-100000}
export ANSIBLE_CONFIG=$PWD/ansible.cfg ANSIBLE_NOCOLOR=1 LAB_ANSIBLE_PYTHON=$PWD/.venv/bin/python3
PATH=$PWD/.venv/bin:$PATH
cargo build -q --release --target "$TARGET" -p etcd-ops-tests --bin etcd-lab
LAB=$PWD/${CARGO_TARGET_DIR:-target}/$TARGET/release/etcd-lab
WORK=$(mktemp -d /tmp/etcd-ops-bench-recovery.XXXXXX)
cleanup() { for d in "$WORK"/lab-*; do [ -d "$d" ] && "$LAB" down --dir "$d" >/dev/null 2>&1; done; rm -rf "$WORK"; }
trap cleanup EXIT
now_ms() { date +%s%3N; }

# A lab with KEYS keys and etcd1, etcd2 killed: etcd3 is the survivor.
broken_lab() {
    local dir=$WORK/lab-$1
    "$LAB" up --dir "$dir" --slot auto --members 3 >/dev/null
    "$LAB" put --dir "$dir" --prefix /bench/ --count "$KEYS" >/dev/null
    "$LAB" kill --dir "$dir" etcd1 >/dev/null
    "$LAB" kill --dir "$dir" etcd2 >/dev/null
    echo "$dir"
}

# shellcheck source=scripts/bench-etcdctl.sh
. scripts/bench-etcdctl.sh
url() { sed -n "s/^$2 .*etcd_client_url=\([^ ]*\).*/\1/p" "$1/hosts.ini" | head -1; }
peer() { sed -n "s/^$2 .*etcd_peer_url=\([^ ]*\).*/\1/p" "$1/hosts.ini" | head -1; }
conf() { echo "$1/hosts/$2/etc/etcd/etcd.conf"; }
setenv() { # setenv FILE KEY VALUE: replace or append KEY=VALUE
    if grep -q "^$2=" "$1"; then sed -i "s|^$2=.*|$2=$3|" "$1"; else echo "$2=$3" >> "$1"; fi
}

# start_etcd DIR HOST: etcd from the host's env file, as a runbook would start it by hand (a
# learner serves no health reads, so nothing here waits for health). The pid file lets
# `etcd-lab down` stop it.
start_etcd() {
    local root=$1/hosts/$2
    setsid env -i PATH="$PATH" bash -c "set -a; . '$root/etc/etcd/etcd.conf'; exec etcd" \
        >>"$root/var/log/etcd.log" 2>&1 < /dev/null &
    echo $! > "$root/run/etcd.pid"
}

shell_recovery() {
    local dir=$1 e3
    e3=$(url "$dir" etcd3)
    cp -a "$dir/hosts/etcd3/var/lib/etcd" "$WORK/etcd3-data-backup"
    "$LAB" stop --dir "$dir" etcd3 >/dev/null
    setenv "$(conf "$dir" etcd3)" ETCD_FORCE_NEW_CLUSTER true
    "$LAB" start --dir "$dir" etcd3 >/dev/null
    healthy "$dir" "$e3"
    sed -i '/^ETCD_FORCE_NEW_CLUSTER=/d' "$(conf "$dir" etcd3)"
    "$LAB" stop --dir "$dir" etcd3 >/dev/null
    "$LAB" start --dir "$dir" etcd3 >/dev/null
    healthy "$dir" "$e3"
    for h in etcd1 etcd2; do
        local data=$dir/hosts/$h/var/lib/etcd
        mv "$data" "$data.aside" && mkdir -m 0700 "$data"
        add_learner "$dir" "$e3" "$h" "$(peer "$dir" "$h")"
        setenv "$(conf "$dir" "$h")" ETCD_INITIAL_CLUSTER "$LEARNER_CLUSTER"
        setenv "$(conf "$dir" "$h")" ETCD_INITIAL_CLUSTER_STATE existing
        start_etcd "$dir" "$h"
        promote "$dir" "$e3" "$LEARNER_ID"
        healthy "$dir" "$(url "$dir" "$h")"
    done
}

count() { ctl "$1" "$(url "$1" etcd3)" get /bench/ --prefix --limit 1 -w json | sed -n 's/.*"count":\([0-9]*\).*/\1/p'; }

echo "== time to recover: 3-member TLS lab, $KEYS keys, 2 members killed"
dir=$(broken_lab play)
start=$(now_ms)
ansible-playbook -i "$dir/hosts.ini" playbooks/restore-quorum.yml >"$WORK/play.log" 2>&1 || { tail -30 "$WORK/play.log"; exit 1; }
t_play=$(( $(now_ms) - start ))
keys_play=$(count "$dir")

dir=$(broken_lab shell)
start=$(now_ms)
shell_recovery "$dir"
t_shell=$(( $(now_ms) - start ))
keys_shell=$(count "$dir")

printf 'restore-quorum.yml: %d.%03ds (%s keys back); shell + etcdctl: %d.%03ds (%s keys back); ratio %s\n' \
    $((t_play / 1000)) $((t_play % 1000)) "$keys_play" $((t_shell / 1000)) $((t_shell % 1000)) "$keys_shell" \
    "$(echo "scale=2; $t_play / $t_shell" | bc)"
