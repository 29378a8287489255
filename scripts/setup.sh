#!/usr/bin/env bash
# Idempotent setup: installs only what is missing, so `make demo` / `make test` work on a fresh
# Debian machine and cost nothing on a prepared one.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v protoc >/dev/null || need_apt+=(protobuf-compiler)
# etcd-client's build script imports google/protobuf/*.proto, which Debian ships separately.
[ -e /usr/include/google/protobuf/descriptor.proto ] || need_apt+=(libprotobuf-dev)
command -v musl-gcc >/dev/null || need_apt+=(musl-tools)
command -v etcd >/dev/null || need_apt+=(etcd-server)
command -v etcdctl >/dev/null || need_apt+=(etcd-client)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v perl >/dev/null || need_apt+=(perl)   # openssl-src (vendored OpenSSL) builds with perl
[ -x /usr/sbin/iptables ] || need_apt+=(iptables)   # etcd_firewall's tests, in network namespaces
if [ ${#need_apt[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "setup: installing Debian packages: ${need_apt[*]}"
    $SUDO apt-get update -qq
    # etcd-server's maintainer scripts try to start a service; there is no init here and we do
    # not want a system etcd on 127.0.0.1:2379 anyway.
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! grep -qx x86_64-unknown-linux-musl <<<"$(rustup target list --installed)"; then
    echo "setup: adding rustup target x86_64-unknown-linux-musl"
    rustup target add x86_64-unknown-linux-musl
fi

VENV=.venv
# One check per tool requirements-dev.txt brings, so a venv made before a tool joined the list
# gains it; pip leaves what is already satisfied alone.
venv_ok=true
for tool in ansible-playbook ansible-lint ansible-builder ansible-runner; do
    [ -x "$VENV/bin/$tool" ] || venv_ok=false
done
if ! $venv_ok; then
    echo "setup: installing ansible-core, ansible-lint, ansible-builder, ansible-runner into $VENV"
    [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -r requirements-dev.txt
fi
