#!/usr/bin/env bash
# Builds (once) the read-only Debian tree every lab machine boots from, and prints its path.
#
#   scripts/machine-tree.sh            build if missing, print the tree's path
#   scripts/machine-tree.sh --check    print the path if it is built, else exit 1
#
# The tree is cached outside the work tree (LAB_MACHINE_CACHE, default /var/cache/etcd-ops),
# under a name that hashes this script: a change to the recipe builds a new tree, an unchanged
# one is reused by every clone, CI run and later session on this machine. Concurrent callers
# (test binaries running side by side) wait on one lock and build it once.
#
# Inside, etcd comes from Debian's package but is laid out as the RHEL 7 RPM lays it out: the
# RPM's unit (EnvironmentFile=/etc/etcd/etcd.conf, User=etcd), not enabled until the lab
# configures a member. Nothing that would bind a port or reach out by itself is left enabled:
# the machines share this machine's network stack.
set -euo pipefail

CACHE=${LAB_MACHINE_CACHE:-/var/cache/etcd-ops}
SUITE=bookworm
# sudo: hosts reached as an ordinary user that becomes root, as cloud images are.
PACKAGES=systemd,systemd-sysv,dbus,openssh-server,etcd-server,etcd-client,procps,iproute2,python3,util-linux,sudo
KEY=$(sha256sum "$0" | cut -c1-12)
TREE="$CACHE/machine-$SUITE-$KEY"

if [ "${1:-}" = --check ]; then
    [ -f "$TREE/.etcd-ops-tree" ] && { echo "$TREE"; exit 0; }
    exit 1
fi

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
if [ ${#need[@]} -gt 0 ]; then
    echo "machine-tree: installing ${need[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ -f "$TREE/.etcd-ops-tree" ]; then
    echo "$TREE"
    exit 0
fi

# The mirror apt already uses here (deb822 or one-line sources), so no address is invented.
mirror=$(grep -h -m1 -oP '^URIs:\s*\K\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(grep -h -m1 -oP '^deb\s+(\[[^]]*\]\s+)?\K\S+' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { echo "machine-tree: no Debian mirror found in /etc/apt/sources.list*" >&2; exit 1; }

work="$TREE.building.$$"
rm -rf "$work"
trap 'rm -rf "$work"' EXIT
echo "machine-tree: debootstrap $SUITE from $mirror into $work (1-2 minutes, once)" >&2
# The maintainer scripts must not start anything on this machine.
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$work" "$mirror" >"$CACHE/debootstrap.log" 2>&1 || {
    tail -20 "$CACHE/debootstrap.log" >&2
    exit 1
}

# The etcd RPM's unit, word for word where it matters: seed 001's drop-in (39.1.3.2,
# docs/procedures.md) edits its ExecStart
# line with sed, so its shape must be the RPM's. RHEL 7's 3.3 RPM also passed --name, --data-dir
# and --listen-client-urls as flags; etcd 3.4 refuses a flag that shadows an ETCD_* variable, so
# the line is the one the RPM ships for 3.4 (everything from etcd.conf).
cat >"$work/usr/lib/systemd/system/etcd.service" <<'EOF'
[Unit]
Description=Etcd Server
After=network.target
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
WorkingDirectory=/var/lib/etcd/
EnvironmentFile=-/etc/etcd/etcd.conf
User=etcd
# set GOMAXPROCS to number of processors
ExecStart=/bin/bash -c "GOMAXPROCS=$(nproc) /usr/bin/etcd"
Restart=on-failure
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
EOF
rm -f "$work"/etc/systemd/system/multi-user.target.wants/etcd.service
rm -f "$work"/etc/default/etcd
# The RPM keeps etcd.conf in /etc/etcd; the lab writes each machine's own.
mkdir -p "$work/etc/etcd" "$work/etc/sysconfig" "$work/etc/origin/master" "$work/etc/origin/node/pods"

# The master API, controllers and flanneld: real units that only record that they were
# (re)started, so a test can tell that (and when) a playbook restarted them.
cat >"$work/usr/local/sbin/lab-record-restart" <<'EOF'
#!/bin/sh
echo "$(hostname -s) $1 restarted $(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" >>/var/log/restarts.log
EOF
chmod 0755 "$work/usr/local/sbin/lab-record-restart"
for unit in master-api master-controllers flanneld; do
    name=$unit
    [ "$unit" = flanneld ] || name=atomic-openshift-$unit
    cat >"$work/usr/lib/systemd/system/$name.service" <<EOF
[Unit]
Description=lab stand-in for $unit (records each start in /var/log/restarts.log)

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/lab-record-restart $unit
EOF
done
# OpenShift 3.11's master-restart restarts the API or controllers static pod; here their units.
cat >"$work/usr/local/bin/master-restart" <<'EOF'
#!/bin/sh
case "$1" in
    api|controllers) exec systemctl restart "atomic-openshift-master-$1" ;;
    etcd) exec systemctl restart etcd ;;
    *) echo "usage: master-restart api|controllers|etcd" >&2; exit 2 ;;
esac
EOF
chmod 0755 "$work/usr/local/bin/master-restart"

# A kubelet stand-in (the node service of OpenShift 3.11, on every host): it runs the static pods
# in /etc/origin/node/pods. etcd.yaml is run as openshift-ansible's manifest runs it (source
# etcd.conf, exec etcd, as root like the pod); every other manifest (the masters' apiserver.yaml)
# only has its coming and going recorded in /var/log/pods.log. It acts on those edges only: an
# etcd the lab killed means "this member is down" and stays down until its manifest is cycled
# (the process lab's stand-in agrees).
cat >"$work/usr/local/sbin/lab-kubelet" <<'EOF'
#!/bin/bash
pods=/etc/origin/node/pods
pid=
etcd=false
declare -A running
record() { echo "$(hostname -s) $1 $2 $(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" >>/var/log/pods.log; }
stop_etcd() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
    pid=
    rm -f /run/etcd-pod.pid
}
trap 'stop_etcd; exit 0' TERM INT
while :; do
    if [ -f "$pods/etcd.yaml" ]; then
        if ! $etcd; then
            (cd /var/lib/etcd && set -a && . /etc/etcd/etcd.conf && exec /usr/bin/etcd) >>/var/log/etcd.log 2>&1 &
            pid=$!
            echo "$pid" >/run/etcd-pod.pid
            etcd=true
            record etcd started
        fi
    elif $etcd; then
        stop_etcd
        etcd=false
        record etcd stopped
    fi
    for f in "$pods"/*.yaml; do
        [ -f "$f" ] || continue
        n=${f##*/}; n=${n%.yaml}
        [ "$n" = etcd ] && continue
        [ -n "${running[$n]:-}" ] || { running[$n]=1; record "$n" started; }
    done
    for n in "${!running[@]}"; do
        [ -f "$pods/$n.yaml" ] || { unset "running[$n]"; record "$n" stopped; }
    done
    sleep 0.1 &
    wait $!
done
EOF
chmod 0755 "$work/usr/local/sbin/lab-kubelet"
cat >"$work/usr/lib/systemd/system/atomic-openshift-node.service" <<'EOF'
[Unit]
Description=lab kubelet stand-in: runs etcd from the static pod manifest in /etc/origin/node/pods

[Service]
ExecStart=/usr/local/sbin/lab-kubelet
KillMode=mixed

[Install]
WantedBy=multi-user.target
EOF

# sshd: key login for root only; each machine gets its own ListenAddress and host keys.
rm -f "$work"/etc/ssh/ssh_host_*
cat >"$work/etc/ssh/sshd_config.d/lab.conf" <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
HostKey /etc/ssh/ssh_host_ed25519_key
EOF
# Debian's ssh.service would regenerate host keys of its own on a missing key; the lab writes them.
# Nothing here may bind or reach out by itself, and a console getty has no console.
for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
    fstrim.timer systemd-networkd.service systemd-networkd.socket systemd-resolved.service \
    systemd-timesyncd.service console-getty.service getty@tty1.service ssh.socket \
    systemd-networkd-wait-online.service; do
    ln -sfn /dev/null "$work/etc/systemd/system/$unit"
done
# A machine's identity is its own: no machine-id, hostname or host keys in the shared tree.
: >"$work/etc/machine-id"
rm -f "$work/var/lib/dbus/machine-id" "$work/etc/hostname"
# A persistent journal: a dead machine's units' output stays on its disk for the post-mortem
# (journalctl -D <machine>/root/var/log/journal).
mkdir -p "$work/var/log/journal"
echo "built $(date -u +%FT%TZ) from $mirror, packages $PACKAGES" >"$work/.etcd-ops-tree"
trap - EXIT
mv "$work" "$TREE"
# Trees of older recipes go, unless a lab still has one mounted as its lower layer.
for old in "$CACHE"/machine-*; do
    [ "$old" = "$TREE" ] && continue
    grep -qF "lowerdir=$old," /proc/self/mountinfo && continue
    rm -rf "$old"
done
echo "$TREE"
