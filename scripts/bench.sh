#!/usr/bin/env bash
# make bench: figures for the README. Every comparison runs both sides in the same run, on a
# lab of its own (slot chosen automatically), and prints one line.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=${TARGET:-x86_64-unknown-linux-musl}
RUNS=${RUNS:-20}
export ANSIBLE_CONFIG=$PWD/ansible.cfg ANSIBLE_NOCOLOR=1
PATH=$PWD/.venv/bin:$PATH
cargo build -q --release --target "$TARGET" -p etcd-ops-tests --bin etcd-lab
LAB=$PWD/target/$TARGET/release/etcd-lab
LIB=$PWD/playbooks/library

WORK=$(mktemp -d /tmp/etcd-ops-bench.XXXXXX)
cleanup() { "$LAB" down --dir "$WORK/lab" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

now_ns() { date +%s%N; }
# seconds(cmd...): wall time of RUNS runs of a command, in seconds per run.
per_run() {
    local start end
    start=$(now_ns)
    for _ in $(seq "$RUNS"); do "$@" >/dev/null 2>&1 || true; done
    end=$(now_ns)
    echo "scale=4; ($end - $start) / $RUNS / 1000000000" | bc
}
ratio() { echo "scale=2; $1 / $2" | bc; }

command -v bc >/dev/null || { echo "bench: installing bc"; apt-get install -y -qq bc >/dev/null; }

INV=$("$LAB" up --dir "$WORK/lab" --slot auto --members 3)
C=$WORK/lab/client
EPS=$(sed -n 's/^etcd[0-9]* .*etcd_client_url=\([^ ]*\).*/\1/p' "$INV" | sort -u | paste -sd, -)
ARGS=$(printf '{"endpoints": "%s", "ca_cert": "%s", "client_cert": "%s", "client_key": "%s"}' \
    "$EPS" "$C/ca.crt" "$C/client.crt" "$C/client.key")

echo "== etcd_health vs etcdctl (3-member TLS lab, $RUNS runs each)"
ours=$(per_run "$LIB/etcd_health" --args "$ARGS")
etcdctl_both() {
    ETCDCTL_API=3 etcdctl --endpoints "$EPS" --cacert "$C/ca.crt" --cert "$C/client.crt" \
        --key "$C/client.key" endpoint health --cluster &&
    ETCDCTL_API=3 etcdctl --endpoints "$EPS" --cacert "$C/ca.crt" --cert "$C/client.crt" \
        --key "$C/client.key" endpoint status --cluster
}
theirs=$(per_run etcdctl_both)
echo "etcd_health: ${ours}s per run; etcdctl endpoint health --cluster + endpoint status --cluster: ${theirs}s; ratio $(ratio "$ours" "$theirs")"

echo "== per-task overhead: binary module vs ansible.builtin.ping (50 tasks, one playbook)"
# The endpoint refuses at once, so the module's own work is ~1 ms and what is measured is
# Ansible's per-task cost for a binary module: upload, args file, exec.
cat > "$WORK/fifty.yml" <<EOT
- hosts: etcd1
  gather_facts: false
  tasks:
$(for i in $(seq 50); do printf '    - etcd_health: {endpoints: "http://127.0.0.1:1"}\n'; done)
EOT
cat > "$WORK/ping.yml" <<EOT
- hosts: etcd1
  gather_facts: false
  tasks:
$(for i in $(seq 50); do echo "    - ansible.builtin.ping:"; done)
EOT
RUNS=1
t_mod=$(per_run ansible-playbook -i "$INV" "$WORK/fifty.yml")
t_ping=$(per_run ansible-playbook -i "$INV" "$WORK/ping.yml")
echo "50 x etcd_health: ${t_mod}s ($(echo "scale=1; $t_mod * 1000 / 50" | bc) ms/task); 50 x ping: ${t_ping}s ($(echo "scale=1; $t_ping * 1000 / 50" | bc) ms/task); ratio $(ratio "$t_mod" "$t_ping")"

echo "== binary sizes (bytes uploaded per task)"
for f in "$LIB"/*; do
    case "$f" in *.yml) continue ;; esac
    printf '%-16s %8d bytes (%s MiB)\n' "$(basename "$f")" "$(stat -c %s "$f")" \
        "$(echo "scale=2; $(stat -c %s "$f") / 1048576" | bc)"
done

for sub in scripts/bench-*.sh; do
    [ -e "$sub" ] || continue
    echo "== $sub"
    bash "$sub"
done
