#!/usr/bin/env bash
# Builds the Ansible collection etcd_ops.etcd from the repository's own files: the installed
# module binaries with their sidecar docs, the playbooks (renamed: an FQCN playbook name cannot
# contain '-'), their task files, the defaults role and collection/'s metadata. The tree is
# generated under build/ (git-ignored) so the playbooks exist once, in playbooks/.
#
#   scripts/collection.sh [OUT_DIR]    (default build; `make collection` runs `make build` first)
#
# Leaves OUT_DIR/collection/ (the tree), OUT_DIR/etcd_ops-etcd-<version>.tar.gz (what
# ansible-galaxy built) and OUT_DIR/etcd_ops-etcd.tar.gz (the same file under the version-free
# name execution-environment.yml refers to).
set -euo pipefail
# OUT_DIR is taken from where the caller stands, before moving to the repository root.
out=$(realpath -m "${1:-$(dirname "$0")/../build}")
cd "$(dirname "$0")/.."

tree=$out/collection
library=playbooks/library
galaxy=${ANSIBLE_GALAXY:-.venv/bin/ansible-galaxy}

# The workspace version is the collection's: one number for binaries and collection.
version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)
[ -n "$version" ] || { echo "collection: no [workspace.package] version in Cargo.toml" >&2; exit 1; }
# Collections declare the ansible-core they run on; the one the tests run is that range.
requires=$(sed -n 's/^ansible-core *\([<>=!~].*\)$/\1/p' requirements-dev.txt)
[ -n "$requires" ] || { echo "collection: no ansible-core range in requirements-dev.txt" >&2; exit 1; }

rm -rf "$tree" "$out"/etcd_ops-etcd-*.tar.gz "$out/etcd_ops-etcd.tar.gz"
mkdir -p "$tree/plugins/modules" "$tree/plugins/action" "$tree/plugins/plugin_utils" "$tree/playbooks" \
    "$tree/meta" "$tree/roles"

# A module is a crate shipping a sidecar doc named after it (as in the Makefile). The playbooks'
# short names (etcd_health:) find these: ansible-playbook searches a collection playbook's own
# collection before ansible.legacy (ANSIBLE_LIBRARY, library=).
for doc in modules/*/*.yml; do
    m=$(basename "$doc" .yml)
    [ "$doc" = "modules/$m/$m.yml" ] || continue
    [ -x "$library/$m" ] || { echo "collection: $library/$m is missing: run \`make build\`" >&2; exit 1; }
    install -m 0755 "$library/$m" "$tree/plugins/modules/$m"
    install -m 0644 "$doc" "$tree/plugins/modules/$m.yml"
    # Its action plugin (the module cache shim), found by the module's name in the collection.
    install -m 0644 "playbooks/action_plugins/$m.py" "$tree/plugins/action/$m.py"
done
# The shims' shared implementation, at the path they find it by (../plugin_utils/).
install -m 0644 playbooks/plugin_utils/*.py "$tree/plugins/plugin_utils/"

for pb in playbooks/*.yml; do
    dest="$tree/playbooks/$(basename "$pb" | tr - _)"
    install -m 0644 "$pb" "$dest"
    # A playbook that imports another (replace-member.yml) names it by its renamed file.
    sed -i -E ':a; s/(import_playbook: [A-Za-z0-9_]*)-/\1_/; ta' "$dest"
done
# Task files (and anything else the playbooks read relative to themselves) stay beside them:
# a collection playbook's base directory is the collection's playbooks/.
for d in playbooks/*/; do
    case $d in playbooks/library/ | playbooks/roles/ | playbooks/action_plugins/ | playbooks/plugin_utils/) continue ;; esac
    cp -R "$d" "$tree/playbooks/"
done
# The playbooks name the role by its short name; in a collection playbook the collection itself
# is searched for roles first, so it ships as a collection role (etcd_ops.etcd.etcd_ops_defaults
# for plays of one's own), not as a playbook-adjacent roles/.
cp -R playbooks/roles/. "$tree/roles/"

sed "s/@VERSION@/$version/" collection/galaxy.yml.in >"$tree/galaxy.yml"
printf -- '---\nrequires_ansible: "%s"\n' "$requires" >"$tree/meta/runtime.yml"
cp collection/README.md collection/CHANGELOG.md "$tree/"

"$galaxy" collection build "$tree" --output-path "$out" --force >/dev/null
cp "$out/etcd_ops-etcd-$version.tar.gz" "$out/etcd_ops-etcd.tar.gz"
echo "collection: $out/etcd_ops-etcd-$version.tar.gz (tree in $tree)"
