#!/usr/bin/env bash
# 50 edits of an etcd.conf through ansible-playbook: the etcd_conf binary module against
# ansible.builtin.lineinfile (a Python module), on fresh copies of the same file. Prints
#   etcd_conf 50 edits: X.XXs, lineinfile: Y.YYs, ratio Z.ZZ
# (ratio = etcd_conf time / lineinfile time). Needs `make build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PLAYBOOK_BIN="$REPO/.venv/bin/ansible-playbook"
LIBRARY="$REPO/playbooks/library"
N=50

[ -x "$PLAYBOOK_BIN" ] || { echo "bench-conf: $PLAYBOOK_BIN missing; run make setup" >&2; exit 1; }
[ -x "$LIBRARY/etcd_conf" ] || { echo "bench-conf: $LIBRARY/etcd_conf missing; run make build" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FIXTURE=modules/confedit/tests/fixtures/etcd-ocp311.conf
cp "$FIXTURE" "$WORK/etcd_conf.conf"
cp "$FIXTURE" "$WORK/lineinfile.conf"

play() {
    cat <<YAML
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: $N edits
      $1
      loop: "{{ range(1, $((N + 1))) | list }}"
YAML
}
# Ansible does not template dict keys, so the settings dict is built by an expression.
play "etcd_conf: {path: '$WORK/etcd_conf.conf', settings: \"{{ {'ETCD_BENCH_' ~ item: 'value-' ~ item} }}\"}" \
    > "$WORK/etcd_conf.yml"
play "ansible.builtin.lineinfile: {path: '$WORK/lineinfile.conf', regexp: '^ETCD_BENCH_{{ item }}=', line: 'ETCD_BENCH_{{ item }}=value-{{ item }}'}" \
    > "$WORK/lineinfile.yml"

run() {
    local start end
    start=$(date +%s.%N)
    # lineinfile needs a Python on the target; the venv's is the one known to work here.
    ANSIBLE_LIBRARY="$LIBRARY" ANSIBLE_CONFIG="$REPO/ansible.cfg" \
        ANSIBLE_PYTHON_INTERPRETER="$REPO/.venv/bin/python3" \
        "$PLAYBOOK_BIN" -i localhost, "$WORK/$1.yml" > "$WORK/$1.log" 2>&1 \
        || { cat "$WORK/$1.log" >&2; exit 1; }
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}
t_mod=$(run etcd_conf)
t_lif=$(run lineinfile)

# Both must have produced the same file, or the comparison means nothing.
cmp -s "$WORK/etcd_conf.conf" "$WORK/lineinfile.conf" \
    || { echo "bench-conf: the two runs produced different files" >&2; diff "$WORK/etcd_conf.conf" "$WORK/lineinfile.conf" >&2; exit 1; }

printf 'etcd_conf %d edits: %.2fs, lineinfile: %.2fs, ratio %.2f\n' \
    "$N" "$t_mod" "$t_lif" "$(echo "$t_mod / $t_lif" | bc -l)"
