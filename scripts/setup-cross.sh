#!/usr/bin/env bash
# Idempotent cross-build setup for `make build TARGET=<triple>`: installs only what is missing, and
# only when a foreign target is asked for, so the x86_64 `make build` / `make test` never pay for it.
# With --emulator it also installs what `make check-aarch64` needs: qemu-user to run the binaries.
#
# usage: scripts/setup-cross.sh TARGET [--emulator]
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: scripts/setup-cross.sh TARGET [--emulator]}
emulator=false
[ "${2:-}" = --emulator ] && emulator=true

case "$target" in
    aarch64-unknown-linux-musl)
        # The C code (vendored OpenSSL) must be compiled against musl's headers, not glibc's: with
        # glibc's (libc6-dev-arm64-cross) libcrypto would reference glibc-only symbols and struct
        # layouts that the static musl link does not have. Debian ships aarch64 musl only as the
        # multiarch package musl-dev:arm64, whose aarch64-linux-musl-gcc wraps the Debian cross gcc;
        # that cross gcc also links (.cargo/config.toml).
        deb_arch=arm64 gnu=aarch64-linux-gnu musl=aarch64-linux-musl qemu=qemu-aarch64
        ;;
    *)
        echo "setup-cross: no cross toolchain recipe for $target (known: aarch64-unknown-linux-musl)" >&2
        exit 2
        ;;
esac

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

need_apt=()
command -v "$gnu-gcc" >/dev/null || need_apt+=("gcc-$gnu")
command -v "$musl-gcc" >/dev/null || need_apt+=("musl-dev:$deb_arch")
if $emulator; then
    command -v "$qemu" >/dev/null || need_apt+=(qemu-user)
    # scripts/check-cross.sh reads the binaries' ELF headers and their JSON.
    command -v file >/dev/null || need_apt+=(file)
    command -v jq >/dev/null || need_apt+=(jq)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    if [[ " ${need_apt[*]} " == *":$deb_arch "* ]] \
        && ! dpkg --print-foreign-architectures | grep -qx "$deb_arch"; then
        # Only the foreign architecture's package lists are added; no foreign binary runs here.
        echo "setup-cross: enabling the Debian architecture $deb_arch for musl-dev:$deb_arch"
        $SUDO dpkg --add-architecture "$deb_arch"
    fi
    echo "setup-cross: installing Debian packages: ${need_apt[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! grep -qx "$target" <<<"$(rustup target list --installed)"; then
    echo "setup-cross: adding rustup target $target"
    rustup target add "$target"
fi
