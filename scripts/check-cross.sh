#!/usr/bin/env bash
# `make check-aarch64`: the cross-built modules are what a host of that architecture needs, and they
# work there, shown under qemu-user on this machine. Checks, one line each:
#  - every module is a static ELF of the target's architecture, with its sidecar doc beside it;
#  - every module answers --spec with JSON, and an unknown option with failure JSON naming it;
#  - etcd_cert issues a server and a client certificate from a CA (the cross-compiled OpenSSL),
#    and the host's openssl verifies both;
#  - a throwaway etcd on 127.0.0.1 serves with those certificates: etcd_health over mutual TLS
#    sees it healthy, etcd_snapshot saves a snapshot and verifies it against etcd's sha256;
#  - ansible-playbook picks these modules from the per-architecture tree: the same health.yml
#    and inventory succeed from playbooks/ and hit `Exec format error` from the tree (unless this
#    machine runs foreign binaries through binfmt_misc, when it succeeds there too).
# The last line counts passes and failures; any failure makes the exit status 1.
#
# usage: scripts/check-cross.sh TARGET LIBRARY_DIR
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: scripts/check-cross.sh TARGET LIBRARY_DIR}
lib=${2:?usage: scripts/check-cross.sh TARGET LIBRARY_DIR}
case "$target" in
    aarch64-unknown-linux-musl) qemu=qemu-aarch64 elf_arch="ARM aarch64" ;;
    *) echo "check-cross: no emulator known for $target" >&2; exit 2 ;;
esac
bash scripts/setup-cross.sh "$target" --emulator

modules=()
for doc in modules/*/*.yml; do
    m=$(basename "$doc" .yml)
    [ "$doc" = "modules/$m/$m.yml" ] && modules+=("$m")
done
[ ${#modules[@]} -gt 0 ] || { echo "check-cross: no modules found under modules/" >&2; exit 2; }

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

work=$(mktemp -d /tmp/check-cross.XXXXXX)
etcd_pid=""
cleanup() {
    # Only the etcd this script started, by its pid.
    if [ -n "$etcd_pid" ] && kill -0 "$etcd_pid" 2>/dev/null; then
        kill "$etcd_pid" && wait "$etcd_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A module run the way a host would run it, under the emulator; prints its one JSON line.
run() { local m=$1; shift; "$qemu" "$lib/$m" "$@" 2>"$work/stderr" || true; }
# Whether JSON satisfies a jq filter. jq -e alone is true on empty input, and a module that
# printed nothing must not pass.
holds() {
    local json=$1 filter=$2
    shift 2
    [ -n "$json" ] && jq -e "$@" "$filter" >/dev/null 2>&1 <<<"$json"
}

echo "check-cross: $target modules in $lib, run with $qemu"
for m in "${modules[@]}"; do
    bin=$lib/$m
    if [ ! -f "$bin" ]; then fail "$m: $bin missing (make build TARGET=$target)"; continue; fi
    desc=$(file -b "$bin")
    size=$(stat -c %s "$bin")
    if [[ "$desc" == *"ELF 64-bit"*"$elf_arch"* && "$desc" == *"statically linked"* || "$desc" == *"$elf_arch"*"static-pie linked"* ]]; then
        pass "$m: static $elf_arch ELF, $(awk -v s="$size" 'BEGIN { printf "%.2f MiB", s / 1048576 }')"
    else
        fail "$m: not a static $elf_arch ELF: $desc"
    fi
    [ -f "$lib/$m.yml" ] && pass "$m: sidecar doc $m.yml installed" || fail "$m: $lib/$m.yml missing"

    spec=$(run "$m" --spec)
    if holds "$spec" 'type == "object"'; then
        pass "$m: --spec answers JSON ($(jq -r 'keys | join(",")' <<<"$spec" | cut -c1-60))"
    else
        fail "$m: --spec: ${spec:0:200} $(head -c 300 "$work/stderr")"
    fi

    out=$(run "$m" --args '{"no_such_option": 1}')
    if holds "$out" '.failed == true and (.msg | test("no_such_option"))'; then
        pass "$m: unknown option refused: $(jq -r .msg <<<"$out" | cut -c1-90)"
    else
        fail "$m: unknown option: ${out:0:200} $(head -c 300 "$work/stderr")"
    fi
done

# A free port pair on 127.0.0.1, chosen by the kernel (never a fixed port that another run holds).
read -r client_port peer_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
url=https://127.0.0.1:$client_port

pki=$work/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=check-cross-ca \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>"$work/openssl.log" \
    || { cat "$work/openssl.log" >&2; exit 1; }
for usage in peer client; do
    args=$(jq -nc --arg pki "$pki" --arg u "$usage" '{ca_cert: "\($pki)/ca.crt", ca_key: "\($pki)/ca.key",
        common_name: "check-\($u)", subject_alt_names: ["IP:127.0.0.1", "DNS:localhost"], usage: $u,
        key_type: "ec-p256", cert_path: "\($pki)/\($u).crt", key_path: "\($pki)/\($u).key"}')
    out=$(run etcd_cert --args "$args")
    if holds "$out" '.changed == true and (.failed | not)' \
        && verify=$(openssl verify -CAfile "$pki/ca.crt" "$pki/$usage.crt" 2>&1); then
        pass "etcd_cert: $usage certificate issued; host openssl: $verify"
    else
        fail "etcd_cert $usage: ${out:0:300} ${verify:-} $(head -c 300 "$work/stderr")"
    fi
done

if [ ! -f "$pki/peer.crt" ] || [ ! -f "$pki/client.crt" ]; then
    echo "check-cross: $passed passed, $failed failed (the etcd checks need etcd_cert's certificates)"
    exit 1
fi

etcd --name check-cross --data-dir "$work/data" \
    --listen-client-urls "$url" --advertise-client-urls "$url" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "check-cross=http://127.0.0.1:$peer_port" \
    --cert-file "$pki/peer.crt" --key-file "$pki/peer.key" --trusted-ca-file "$pki/ca.crt" --client-cert-auth \
    >"$work/etcd.log" 2>&1 &
etcd_pid=$!
etcdctl() { ETCDCTL_API=3 command etcdctl --endpoints "$url" --cacert "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" "$@"; }
for _ in $(seq 100); do
    etcdctl endpoint health >/dev/null 2>&1 && break
    kill -0 "$etcd_pid" 2>/dev/null || { echo "check-cross: etcd exited:" >&2; tail -20 "$work/etcd.log" >&2; exit 1; }
    sleep 0.1
done
for i in $(seq 50); do etcdctl put "check/$i" "value $i" >/dev/null; done

tls=$(jq -nc --arg pki "$pki" --arg url "$url" '{endpoints: [$url], ca_cert: "\($pki)/ca.crt",
    client_cert: "\($pki)/client.crt", client_key: "\($pki)/client.key"}')
out=$(run etcd_health --args "$tls")
if holds "$out" '.quorum == true and .endpoints[0].healthy == true and (.failed | not)'; then
    pass "etcd_health over mutual TLS: $(jq -r .msg <<<"$out")"
else
    fail "etcd_health: ${out:0:400} $(head -c 300 "$work/stderr")"
fi

out=$(run etcd_snapshot --args "$(jq -c --arg p "$work/snap.db" '. + {state: "saved", path: $p}' <<<"$tls")")
if holds "$out" '.changed == true and (.failed | not)'; then
    out=$(run etcd_snapshot --args "$(jq -nc --arg p "$work/snap.db" '{state: "verified", path: $p}')")
    want=$(etcdctl get check/1 -w json | jq .header.revision)
    if holds "$out" '.hash_ok == true and .revision == $rev' --argjson rev "$want"; then
        pass "etcd_snapshot: saved and verified, revision $want, sha256 trailer ok"
    else
        fail "etcd_snapshot verified (want revision $want): ${out:0:400} $(head -c 300 "$work/stderr")"
    fi
else
    fail "etcd_snapshot saved: ${out:0:400} $(head -c 300 "$work/stderr")"
fi

# The per-architecture tree's playbooks must use its own library, not playbooks/library (x86_64),
# which Ansible would also find through ansible.cfg.
tree=$(dirname "$lib")
cat >"$work/hosts.ini" <<EOF
[etcd]
check-cross ansible_connection=local ansible_host=127.0.0.1 etcd_client_port=$client_port etcd_cert_dir=$pki etcd_client_cert=$pki/client.crt etcd_client_key=$pki/client.key
EOF
if [ -f playbooks/library/etcd_health ] && [ "$(uname -m)" = x86_64 ]; then
    if ansible-playbook -i "$work/hosts.ini" playbooks/health.yml >"$work/native.log" 2>&1; then
        pass "ansible-playbook playbooks/health.yml (x86_64 library): the inventory works"
    else
        fail "ansible-playbook playbooks/health.yml: $(tail -20 "$work/native.log")"
    fi
else
    echo "SKIP ansible-playbook playbooks/health.yml as the control run: no x86_64 playbooks/library here (make build)"
fi
if ansible-playbook -i "$work/hosts.ini" "$tree/health.yml" >"$work/tree.log" 2>&1; then
    if [ -e "/proc/sys/fs/binfmt_misc/qemu-${target%%-*}" ]; then
        pass "ansible-playbook $tree/health.yml: ran through binfmt_misc"
    else
        fail "ansible-playbook $tree/health.yml succeeded here, so it cannot have used $lib"
    fi
elif grep -q "Exec format error" "$work/tree.log"; then
    pass "ansible-playbook $tree/health.yml picked $lib/etcd_health: Exec format error on this $(uname -m) host"
else
    fail "ansible-playbook $tree/health.yml: $(tail -20 "$work/tree.log")"
fi

echo "check-cross: $passed passed, $failed failed"
[ "$failed" = 0 ]
