#!/usr/bin/env bash
# Builds a legacy etcd (3.2.x / 3.3.x, what OpenShift 3.x ran) from its release-tag source tarball
# into build/etcd-<version>/{etcd,etcdctl}, offline, with Debian's golang-go.
#
#   scripts/build-legacy-etcd.sh VERSION...      e.g. 3.3.11 3.2.32
#
# ETCD_SRC (default ../shared/etcd-src beside the repository) holds etcd-v<version>.tar.gz.
# A version whose tarball is missing is skipped with a plain message and does not fail the run:
# the tests that need it fail later, saying to run `make legacy-etcd`.
# Cached: a build is redone only when the tarball's sha256 differs from the one recorded beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ETCD_SRC=${ETCD_SRC:-$ROOT/../shared/etcd-src}
[ $# -gt 0 ] || { echo "usage: $0 VERSION..." >&2; exit 2; }

skipped=()
built=()
for version in "$@"; do
    case $version in
        3.2.*|3.3.*) ;;
        *) echo "build-legacy-etcd: $version is not a legacy version this script builds (3.2.x, 3.3.x)" >&2; exit 2 ;;
    esac
    tarball=$ETCD_SRC/etcd-v$version.tar.gz
    if [ ! -f "$tarball" ]; then
        skipped+=("$version")
        continue
    fi
    out=$ROOT/build/etcd-$version
    sum=$(sha256sum "$tarball" | cut -d' ' -f1)
    if [ -x "$out/etcd" ] && [ -x "$out/etcdctl" ] && [ "$(cat "$out/.source-sha256" 2>/dev/null)" = "$sum" ]; then
        echo "build-legacy-etcd: $version up to date in build/etcd-$version"
        built+=("$version")
        continue
    fi

    # golang-go only when a legacy build is asked for: the rest of the project needs no Go.
    if ! command -v go >/dev/null; then
        SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
        echo "build-legacy-etcd: installing golang-go"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends golang-go >/dev/null
    fi

    # The trees import themselves as github.com/coreos/etcd and keep their dependencies vendored,
    # so they build in GOPATH mode with modules and the proxy off (offline). 3.2 is placed at that
    # import path and finds its deps in cmd/vendor as a vendor directory. 3.3's cmd/vendor is not
    # a vendor directory of the packages it serves: upstream's build script makes it the GOPATH's
    # src/, where github.com/coreos/etcd is a symlink back to the tree; that is done here too.
    work=$(mktemp -d)
    trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
    tar -xzf "$tarball" -C "$work"
    mkdir -p "$work/gopath"
    case $version in
        3.2.*) mkdir -p "$work/gopath/src/github.com/coreos"
               mv "$work/etcd-v$version" "$work/gopath/src/github.com/coreos/etcd"
               tree=$work/gopath/src/github.com/coreos/etcd ;;
        3.3.*) ln -s "$work/etcd-v$version/cmd/vendor" "$work/gopath/src"
               tree=$work/gopath/src/github.com/coreos/etcd ;;
    esac
    # git archive records the tag's commit in the pax header; the binaries report it as GitSHA.
    sha=$(zcat "$tarball" | git get-tar-commit-id 2>/dev/null | cut -c1-9 || true)
    sha=${sha:-unknown}
    case $version in
        3.2.*) server=github.com/coreos/etcd/cmd/etcd; ctl=github.com/coreos/etcd/cmd/etcdctl
               stamp=github.com/coreos/etcd/cmd/vendor/github.com/coreos/etcd/version.GitSHA ;;
        3.3.*) server=github.com/coreos/etcd; ctl=github.com/coreos/etcd/etcdctl
               stamp=github.com/coreos/etcd/version.GitSHA ;;
    esac
    echo "build-legacy-etcd: building etcd $version (GitSHA $sha) from $tarball"
    mkdir -p "$work/bin"
    (
        cd "$tree"
        export GOPATH=$work/gopath GO111MODULE=off GOPROXY=off CGO_ENABLED=0 GOFLAGS=
        export GOCACHE=$work/gocache
        go build -o "$work/bin/etcd" -ldflags "-X $stamp=$sha" "$server"
        go build -o "$work/bin/etcdctl" -ldflags "-X $stamp=$sha" "$ctl"
    )
    # Read whole before matching: `etcd --version | grep -q` under pipefail fails whenever grep
    # exits at the first line and etcd then dies of SIGPIPE writing the next.
    reported=$("$work/bin/etcd" --version 2>&1 || true)
    case $reported in
        *"etcd Version: $version"*) ;;
        *) echo "build-legacy-etcd: built etcd does not report version $version; it printed: $reported" >&2; exit 1 ;;
    esac
    mkdir -p "$out"
    install -m 0755 "$work/bin/etcd" "$work/bin/etcdctl" "$out/"
    echo "$sum" >"$out/.source-sha256"
    chmod -R u+w "$work"; rm -rf "$work"; trap - EXIT
    echo "build-legacy-etcd: $version built into build/etcd-$version"
    built+=("$version")
done

if [ ${#skipped[@]} -gt 0 ]; then
    echo "build-legacy-etcd: SKIPPED etcd ${skipped[*]}: no source tarball in ETCD_SRC=$ETCD_SRC" \
         "(put etcd-v<version>.tar.gz, the release tag's source, there); tests on these versions will fail"
fi
