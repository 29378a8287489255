#!/usr/bin/env bash
# etcd_snapshot against etcdctl on a lab whose database holds at least 256 MiB:
#   saved    vs `etcdctl snapshot save`    (wall time ratio, peak RSS of each)
#   verified vs `etcdctl snapshot status`  (wall time ratio, peak RSS of each)
# Each command runs RUNS times; the fastest wall time and the largest RSS are reported.
# `saved` includes what etcdctl skips: the sha256 check while streaming and reading the file
# back with the native reader for the status numbers.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODULE=$ROOT/playbooks/library/etcd_snapshot
ETCDCTL=${LAB_ETCDCTL_BIN:-/usr/bin/etcdctl}
TARGET=${TARGET:-x86_64-unknown-linux-musl}
MIN_DB=$((256 * 1024 * 1024))
RUNS=${RUNS:-3}

[ -x "$MODULE" ] || { echo "bench-snapshot: $MODULE is missing: run make build" >&2; exit 1; }
if [ ! -x /usr/bin/time ]; then
    # GNU time reports peak RSS; Debian ships it in the package `time`.
    apt-get install -y -q time >/dev/null
fi

WORK=$(mktemp -d /tmp/etcd-ops-bench.XXXXXX)
LAB_DIR=$WORK/lab
lab() { cargo run -q --release --target "$TARGET" -p etcd-ops-tests --bin etcd-lab -- "$@"; }
cleanup() {
    lab down --dir "$LAB_DIR" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# One member: the comparison is about one endpoint's stream, and replication would only
# slow the fill. etcd 3.4's default quota (2 GiB; ETCD_QUOTA_BACKEND_BYTES is commented out
# in the lab's etcd.conf) leaves room for 256 MiB, so the quota needs no raising.
lab up --slot auto --members 1 --dir "$LAB_DIR" >/dev/null
CLIENT=$LAB_DIR/client
ENDPOINT=$(sed -n 's/.*etcd_client_url=\([^ ]*\).*/\1/p' "$LAB_DIR/hosts.ini" | head -1)
ctl() {
    ETCDCTL_API=3 "$ETCDCTL" --endpoints="$ENDPOINT" --cacert="$CLIENT/ca.crt" \
        --cert="$CLIENT/client.crt" --key="$CLIENT/client.key" "$@"
}
db_size() { ctl endpoint status -w json | sed -n 's/.*"dbSize":\([0-9]*\).*/\1/p'; }

# 1 MiB values (etcd's request limit is 1.5 MiB), fed on stdin: argv cannot carry them.
head -c $((1024 * 1024)) /dev/urandom >"$WORK/value"
i=0
while [ "$(db_size)" -lt "$MIN_DB" ]; do
    for _ in $(seq 1 16); do
        ctl put "/bench/$(printf %06d $i)" <"$WORK/value" >/dev/null &
        i=$((i + 1))
    done
    wait
done
DB=$(db_size)
echo "lab: 1 member at $ENDPOINT, db $((DB / 1024 / 1024)) MiB ($DB bytes), $i values of 1 MiB"

# Prints "<fastest seconds> <largest RSS KiB>" over RUNS runs of the command.
measure() {
    local best="" rss=0 out
    for _ in $(seq 1 "$RUNS"); do
        out=$(/usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -1)
        local t=${out% *} m=${out#* }
        if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
        [ "$m" -gt "$rss" ] && rss=$m
    done
    echo "$best $rss"
}

ARGS=$(printf '{"state":"saved","path":"%s","endpoints":["%s"],"ca_cert":"%s","client_cert":"%s","client_key":"%s","timeout":30}' \
    "$WORK/module.db" "$ENDPOINT" "$CLIENT/ca.crt" "$CLIENT/client.crt" "$CLIENT/client.key")
read -r ms mr < <(measure "$MODULE" --args "$ARGS")
read -r es er < <(measure env ETCDCTL_API=3 "$ETCDCTL" --endpoints="$ENDPOINT" --cacert="$CLIENT/ca.crt" \
    --cert="$CLIENT/client.crt" --key="$CLIENT/client.key" snapshot save "$WORK/etcdctl.db")
"$MODULE" --args "$(printf '{"state":"verified","path":"%s"}' "$WORK/module.db")" | grep -q '"failed":false' \
    || { echo "bench-snapshot: the module's snapshot does not verify" >&2; exit 1; }

VARGS=$(printf '{"state":"verified","path":"%s"}' "$WORK/etcdctl.db")
read -r mv mvr < <(measure "$MODULE" --args "$VARGS")
read -r ev evr < <(measure env ETCDCTL_API=3 "$ETCDCTL" snapshot status "$WORK/etcdctl.db")

ratio() { awk "BEGIN{ if ($2 > 0) printf \"%.2f\", $1 / $2; else print \"n/a\" }"; }
printf 'saved    %6.2fs %7d KiB | etcdctl snapshot save   %6.2fs %7d KiB | time ratio %s, RSS ratio %s\n' \
    "$ms" "$mr" "$es" "$er" "$(ratio "$ms" "$es")" "$(ratio "$mr" "$er")"
printf 'verified %6.2fs %7d KiB | etcdctl snapshot status %6.2fs %7d KiB | time ratio %s, RSS ratio %s\n' \
    "$mv" "$mvr" "$ev" "$evr" "$(ratio "$mv" "$ev")" "$(ratio "$mvr" "$evr")"
echo "module binary: $(stat -c %s "$MODULE") bytes"
