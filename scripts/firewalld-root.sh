#!/usr/bin/env bash
# Unpacks Debian's firewalld, and whatever of its dependencies this machine lacks, into
# build/firewalld-root/{usr,etc} WITHOUT installing them: etcd_firewall's firewalld tests lay this
# tree over /usr and /etc inside private mount, network and pid namespaces and run the real daemon
# there. Installing the package would enable and start firewalld on a developer's systemd host,
# filtering that host's own network; unpacked, it never runs outside a test's namespaces.
#
# Cached: redone only when the list of packages (name=version) apt would install changes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/firewalld-root

plan() { apt-get install -s --no-install-recommends firewalld 2>/dev/null | awk '/^Inst /{v=$3; gsub(/[()]/, "", v); print $2 "=" v}'; }
if ! pkgs=$(plan) || [ -z "$pkgs" ]; then
    if dpkg -s firewalld >/dev/null 2>&1; then
        echo "firewalld-root: firewalld is installed on this machine; nothing to unpack"
        mkdir -p "$out/usr" "$out/etc"; : >"$out/.packages"; exit 0
    fi
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    pkgs=$(plan) || true
    [ -n "$pkgs" ] || { echo "firewalld-root: apt cannot plan firewalld (is the Debian mirror reachable?)" >&2; exit 1; }
fi
if [ -d "$out/usr" ] && [ "$(cat "$out/.packages" 2>/dev/null)" = "$pkgs" ]; then
    echo "firewalld-root: up to date in $out"
    exit 0
fi

work=$(mktemp -d); chmod 755 "$work"   # apt downloads as _apt
trap 'rm -rf "$work"' EXIT
echo "firewalld-root: unpacking $(echo "$pkgs" | wc -l) packages into $out"
(cd "$work" && mkdir debs root && cd debs && apt-get download -qq $pkgs)
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
# Merged /usr: what a package ships under /lib or /bin lives under /usr on this system.
for d in lib lib64 bin sbin; do
    if [ -d "$work/root/$d" ] && [ ! -L "$work/root/$d" ]; then
        mkdir -p "$work/root/usr/$d" && cp -a "$work/root/$d/." "$work/root/usr/$d/" && rm -rf "${work:?}/root/$d"
    fi
done
mkdir -p "$work/root/usr" "$work/root/etc"
rm -rf "$out" && mkdir -p build && mv "$work/root" "$out"
echo "$pkgs" >"$out/.packages"
echo "firewalld-root: done ($(du -sh "$out" | cut -f1))"
