# Sourced by the recovery benches: the runbook's etcdctl steps, as an operator's shell script
# would take them, each wait bounded so a bench fails instead of hanging.

ctl() { # ctl DIR ENDPOINT ARGS...: etcdctl with the lab's client certificate
    local dir=$1 ep=$2; shift 2
    ETCDCTL_API=3 etcdctl --endpoints "$ep" --cacert "$dir/client/ca.crt" --cert "$dir/client/client.crt" \
        --key "$dir/client/client.key" "$@"
}

# retry EVERY COMMAND...: COMMAND every EVERY seconds until it succeeds; fails after two minutes.
retry() {
    local every=$1 until=$(( $(date +%s) + 120 )); shift
    until "$@"; do
        [ "$(date +%s)" -lt "$until" ] || { echo "bench: gave up on: $*" >&2; return 1; }
        sleep "$every"
    done
}

healthy() { retry 0.1 ctl "$1" "$2" endpoint health >/dev/null 2>&1; }

# add_learner DIR ENDPOINT NAME PEER_URL: sets LEARNER_ID and LEARNER_CLUSTER (the new member's
# ETCD_INITIAL_CLUSTER). etcd refuses adds until its leader has seen every member for 5 s.
add_learner() {
    local out
    out=$(retry 0.3 ctl "$1" "$2" member add "$3" --learner --peer-urls="$4" 2>/dev/null)
    LEARNER_CLUSTER=$(echo "$out" | sed -n 's/^ETCD_INITIAL_CLUSTER="\(.*\)"$/\1/p')
    # etcdctl pads the id to 16 columns: one with a leading zero digit follows two spaces.
    LEARNER_ID=$(echo "$out" | sed -n 's/^Member  *\([0-9a-f]*\) added.*/\1/p')
    [ -n "$LEARNER_ID" ] || { echo "bench: no member id in: $out" >&2; return 1; }
}

promote() { retry 0.3 ctl "$1" "$2" member promote "$3" >/dev/null 2>&1; }
