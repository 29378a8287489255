#!/usr/bin/env bash
# The module cache (playbooks/plugin_utils/etcd_ops_module_cache.py) on the machine lab, over
# SSH as users run Ansible, with the local connection beside it:
#   - per task: a cached etcd-ops module vs a pipelined ansible.builtin.ping vs the plain
#     binary-module path (etcd_ops_module_cache=false), as the marginal cost of TASKS more tasks
#     in one playbook (so Ansible's start-up is not counted);
#   - time to recover: restore-quorum.yml over SSH vs the same steps as a shell script with ssh
#     and etcdctl (same ssh options, ControlPersist as Ansible uses);
#   - bytes uploaded during restore-quorum.yml: on fresh hosts (cold cache) and on the same
#     hosts broken again (warm cache), counted from -vvv's upload lines (plain PUTs and cache
#     stores), each PUT or store sized by the binary it sends.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=${TARGET:-x86_64-unknown-linux-musl}
TASKS=${TASKS:-20}
KEYS=${KEYS:-100000}
export ANSIBLE_CONFIG=$PWD/ansible.cfg ANSIBLE_NOCOLOR=1
PATH=$PWD/.venv/bin:$PATH
cargo build -q --release --target "$TARGET" -p etcd-ops-tests --bin etcd-lab
LAB=$PWD/${CARGO_TARGET_DIR:-target}/$TARGET/release/etcd-lab
LIB=$PWD/playbooks/library
WORK=$(mktemp -d /tmp/etcd-ops-bench-cache.XXXXXX)
cleanup() {
    for d in "$WORK"/lab-*; do [ -d "$d" ] && "$LAB" down --dir "$d" >/dev/null 2>&1; done
    for s in "$WORK"/cm-*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x >/dev/null 2>&1; done
    rm -rf "$WORK"
}
trap cleanup EXIT
command -v bc >/dev/null || { echo "bench: installing bc"; apt-get install -y -qq bc >/dev/null; }
now_ms() { date +%s%3N; }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# play FILE N TASK: a playbook on etcd1 of N copies of TASK (a YAML flow mapping).
play() {
    { echo "- hosts: etcd1"; echo "  gather_facts: false"; echo "  tasks:"
      for _ in $(seq "$2"); do echo "    - $3"; done; } >"$1"
}
# best_ms INV PLAYBOOK ARGS...: the faster of two runs, in ms.
best_ms() {
    local inv=$1 pb=$2 best= t start; shift 2
    for _ in 1 2; do
        start=$(now_ms)
        ansible-playbook -i "$inv" "$pb" "$@" >"$WORK/last.log" 2>&1 || { tail -20 "$WORK/last.log" >&2; exit 1; }
        t=$(( $(now_ms) - start ))
        if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
    done
    echo "$best"
}
# per_task INV TASK ARGS...: ms per task, the marginal cost of TASKS more tasks.
per_task() {
    local inv=$1 task=$2 one many; shift 2
    play "$WORK/one.yml" 1 "$task"
    play "$WORK/many.yml" $((TASKS + 1)) "$task"
    ansible-playbook -i "$inv" "$WORK/one.yml" "$@" >/dev/null 2>&1 || true   # warms the cache
    one=$(best_ms "$inv" "$WORK/one.yml" "$@")
    many=$(best_ms "$inv" "$WORK/many.yml" "$@")
    echo "scale=1; ($many - $one) / $TASKS" | bc
}

per_task_table() { # per_task_table INV LABEL CONF_TASK
    local inv=$1 label=$2 conf_task=$3 ping conf conf_plain health health_plain
    local health_task='etcd_health: {endpoints: "http://127.0.0.1:1", timeout: 1}'
    ping=$(per_task "$inv" 'ansible.builtin.ping:')
    conf=$(per_task "$inv" "$conf_task")
    conf_plain=$(per_task "$inv" "$conf_task" -e etcd_ops_module_cache=false)
    health=$(per_task "$inv" "$health_task")
    health_plain=$(per_task "$inv" "$health_task" -e etcd_ops_module_cache=false)
    echo "per task, $label ($TASKS tasks, marginal, best of 2): ping ${ping} ms"
    echo "  etcd_conf   cached ${conf} ms ($(echo "scale=2; $conf / $ping" | bc)x ping), plain ${conf_plain} ms ($(echo "scale=2; $conf_plain / $ping" | bc)x ping); cached/plain $(echo "scale=2; $conf / $conf_plain" | bc)"
    echo "  etcd_health cached ${health} ms ($(echo "scale=2; $health / $ping" | bc)x ping), plain ${health_plain} ms ($(echo "scale=2; $health_plain / $ping" | bc)x ping); cached/plain $(echo "scale=2; $health / $health_plain" | bc)"
}

SECTIONS=${SECTIONS:-ssh local recovery bytes}
on_section() { [[ " $SECTIONS " == *" $1 "* ]]; }
if on_section ssh; then
    echo "== module cache: per task over SSH (machine lab)"
    INV=$("$LAB" up --dir "$WORK/lab-task" --slot auto --members 1 --machines)
    per_task_table "$INV" "over SSH" 'etcd_conf: {state: read}'
    "$LAB" down --dir "$WORK/lab-task" >/dev/null
fi
if on_section local; then
    echo "== module cache: per task on the local connection (this machine, cache in its /var/cache)"
    cat >"$WORK/local.ini" <<EOF
etcd1 ansible_connection=local ansible_python_interpreter=$PWD/.venv/bin/python3
EOF
    printf 'ETCD_NAME=bench\nETCD_DATA_DIR=/var/lib/etcd\n' >"$WORK/etcd.conf"
    per_task_table "$WORK/local.ini" "local connection" "etcd_conf: {state: read, path: $WORK/etcd.conf}"
fi

# -- recovery ---------------------------------------------------------------------------------
# A machine's etcd listens on its own address (the inventory's ansible_host), at the usual ports.
ip() { sed -n "s/^$2 .*ansible_host=\([^ ]*\).*/\1/p" "$1/hosts.ini" | head -1; }
url() { echo "https://$(ip "$1" "$2"):2379"; }
peer() { echo "https://$(ip "$1" "$2"):2380"; }
# shellcheck source=scripts/bench-etcdctl.sh
. scripts/bench-etcdctl.sh
count() { ctl "$1" "$(url "$1" etcd3)" get /bench/ --prefix --limit 1 -w json | sed -n 's/.*"count":\([0-9]*\).*/\1/p' || echo "?"; }
on() { # on DIR HOST COMMAND: one ssh round trip, as Ansible logs in (ControlPersist)
    local dir=$1 host=$2; shift 2
    # shellcheck disable=SC2046
    $("$LAB" ssh --dir "$dir" "$host") -o BatchMode=yes -o ControlMaster=auto -o ControlPersist=60s \
        -o ControlPath="$WORK/cm-%h" "$@"
}
break_lab() { "$LAB" kill --dir "$1" etcd1 >/dev/null; "$LAB" kill --dir "$1" etcd2 >/dev/null; }
broken_lab() {
    local dir=$WORK/lab-$1
    "$LAB" up --dir "$dir" --slot auto --members 3 --machines >/dev/null
    "$LAB" put --dir "$dir" --prefix /bench/ --count "$KEYS" >/dev/null
    break_lab "$dir"
    echo "$dir"
}
# bytes LOG: what -vvv says was sent: a plain PUT of AnsiballZ_<module> (the whole binary), or
# a cache store (the bytes it says it sent, gzip-compressed where the host has gzip).
bytes() {
    local total=0 n m
    while read -r m; do
        case $m in
            sent:*) total=$((total + ${m#sent:})) ;;
            *) total=$((total + $(stat -c %s "$LIB/$m"))) ;;
        esac
    done < <(sed -n -e 's/.*PUT .* TO .*AnsiballZ_\([a-z_]*\).*/\1/p' \
                    -e 's/.*etcd-ops module cache: uploading [a-z_]* (.*; \([0-9]*\) bytes sent.*/sent:\1/p' "$1")
    n=$(grep -c -e 'PUT .*AnsiballZ_' -e 'etcd-ops module cache: uploading' "$1" || true)
    echo "$n uploads, $total bytes ($(echo "scale=1; $total / 1048576" | bc) MiB)"
}
recover() { # recover DIR LOG ARGS...: restore-quorum.yml; its ms
    local start
    start=$(now_ms)
    ansible-playbook -i "$1/hosts.ini" playbooks/restore-quorum.yml "${@:3}" >"$2" 2>&1 || { tail -30 "$2"; exit 1; }
    echo $(( $(now_ms) - start ))
}

shell_recovery() {
    local dir=$1 e3 h
    e3=$(url "$dir" etcd3)
    on "$dir" etcd3 'systemctl stop etcd && cp -a /var/lib/etcd /var/lib/etcd.before-restore'
    on "$dir" etcd3 'echo ETCD_FORCE_NEW_CLUSTER=true >> /etc/etcd/etcd.conf && systemctl reset-failed etcd; systemctl start --no-block etcd'
    healthy "$dir" "$e3"
    on "$dir" etcd3 "sed -i '/^ETCD_FORCE_NEW_CLUSTER=/d' /etc/etcd/etcd.conf && systemctl restart --no-block etcd"
    sleep 0.5
    healthy "$dir" "$e3"
    for h in etcd1 etcd2; do
        on "$dir" "$h" 'mv /var/lib/etcd /var/lib/etcd.aside && install -d -m 0700 -o etcd -g etcd /var/lib/etcd'
        add_learner "$dir" "$e3" "$h" "$(peer "$dir" "$h")"
        on "$dir" "$h" "sed -i -e 's|^ETCD_INITIAL_CLUSTER=.*|ETCD_INITIAL_CLUSTER=$LEARNER_CLUSTER|' \
            -e 's|^ETCD_INITIAL_CLUSTER_STATE=.*|ETCD_INITIAL_CLUSTER_STATE=existing|' /etc/etcd/etcd.conf \
            && systemctl reset-failed etcd; systemctl start --no-block etcd"
        promote "$dir" "$e3" "$LEARNER_ID"
        healthy "$dir" "$(url "$dir" "$h")"
    done
}

if on_section recovery; then
echo "== time to recover over SSH: 3-member TLS machine lab, $KEYS keys, 2 members killed"
dir=$(broken_lab play)
t_cold=$(recover "$dir" "$WORK/cold.log")
keys_play=$(count "$dir")
break_lab "$dir"
t_warm=$(recover "$dir" "$WORK/warm.log")
dir=$(broken_lab shell)
start=$(now_ms)
shell_recovery "$dir"
t_shell=$(( $(now_ms) - start ))
keys_shell=$(count "$dir")
echo "restore-quorum.yml, fresh hosts (cold cache): $(secs "$t_cold")s ($keys_play keys back); same hosts broken again (warm cache): $(secs "$t_warm")s"
echo "shell + ssh + etcdctl: $(secs "$t_shell")s ($keys_shell keys back); ratio cold $(echo "scale=2; $t_cold / $t_shell" | bc), warm $(echo "scale=2; $t_warm / $t_shell" | bc)"

fi
if on_section bytes; then
echo "== bytes uploaded by restore-quorum.yml (-vvv runs on a lab of their own)"
dir=$(broken_lab bytes)
recover "$dir" "$WORK/bytes-cold.log" -vvv >/dev/null
echo "fresh hosts (cold cache): $(bytes "$WORK/bytes-cold.log")"
break_lab "$dir"
recover "$dir" "$WORK/bytes-warm.log" -vvv >/dev/null
echo "same hosts broken again (warm cache): $(bytes "$WORK/bytes-warm.log")"
break_lab "$dir"
recover "$dir" "$WORK/bytes-plain.log" -vvv -e etcd_ops_module_cache=false >/dev/null
echo "broken again, etcd_ops_module_cache=false (the plain path): $(bytes "$WORK/bytes-plain.log")"
fi
