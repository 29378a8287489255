#!/usr/bin/env bash
# make dist: the playbooks as an AWX/Tower project, dist/etcd-ops-<version>.tar.gz. AWX runs a
# playbook from the project's root, so the playbooks sit there with library/ (the module
# binaries and their docs), tasks/ and roles/ beside them, where Ansible finds them without any
# configuration. Built from the work tree's files each time: nothing here is a second copy.
#
#   scripts/dist.sh [--out DIR]      (prints the tarball's path)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=dist
while [ $# -gt 0 ]; do
    case $1 in
        --out) OUT=${2:?--out needs a directory}; shift 2 ;;
        *) echo "usage: $0 [--out DIR]" >&2; exit 2 ;;
    esac
done

VERSION=$(awk '/^\[workspace\.package\]/ { s = 1; next } /^\[/ { s = 0 }
               s && $1 == "version" { gsub(/^[^"]*"|".*$/, ""); print; exit }' Cargo.toml)
[ -n "$VERSION" ] || { echo "dist: no version in [workspace.package] of Cargo.toml" >&2; exit 1; }
NAME=etcd-ops-$VERSION

# The Makefile's rule: a module is a crate under modules/ with a sidecar doc named after it.
modules=()
for doc in modules/*/*.yml; do
    m=$(basename "$(dirname "$doc")")
    [ "$doc" = "modules/$m/$m.yml" ] && modules+=("$m")
done
for m in "${modules[@]}"; do
    if [ ! -x "playbooks/library/$m" ] || ! cmp -s "modules/$m/$m.yml" "playbooks/library/$m.yml"; then
        echo "dist: playbooks/library/$m is missing or stale: run \`make build\` first" >&2
        exit 1
    fi
done

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
ROOT=$STAGE/$NAME
mkdir -p "$ROOT/library" "$ROOT/collections"

# Files git tracks or would track (new ones included, ignored ones such as *.retry left out),
# as they are in the work tree.
ship() { # ship SRC_DIR DEST_DIR
    [ -d "$1" ] || return 0
    git ls-files -z --cached --others --exclude-standard -- "$1" |
        while IFS= read -r -d '' f; do
            case $f in playbooks/library/*) continue ;; esac
            [ -f "$f" ] && install -D -m 0644 "$f" "$2/${f#"$1"/}"
        done
}
ship playbooks "$ROOT"
ship inventory-examples "$ROOT/inventory-examples"
ship awx "$ROOT/awx"
install -m 0644 README.md "$ROOT/README.md"
for m in "${modules[@]}"; do
    install -m 0755 "playbooks/library/$m" "$ROOT/library/$m"
    install -m 0644 "playbooks/library/$m.yml" "$ROOT/library/$m.yml"
done

# AWX installs collections/requirements.yml before every job; etcd-ops needs none. No
# ansible.cfg: library/ and roles/ beside the playbooks need none, and a project's ansible.cfg
# would override settings the AWX administrator made.
cat > "$ROOT/collections/requirements.yml" <<'EOF'
---
# Everything etcd-ops needs is in this project: the modules in library/, the defaults in roles/.
collections: []
EOF

mkdir -p "$OUT"
TARBALL=$OUT/$NAME.tar.gz
# Same files, same bytes: sorted, owned by root, stamped with the last commit's time.
STAMP=$(git log -1 --format=%ct 2>/dev/null || echo 0)
tar -C "$STAGE" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$STAMP" -cf - "$NAME" |
    gzip -n -9 > "$TARBALL.part"
mv "$TARBALL.part" "$TARBALL"
echo "$TARBALL"
