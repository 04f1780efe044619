#!/bin/sh
# Anchor of one lab host. Started by lab.py as
#   ip netns exec NS unshare -mu --propagation private -- sh anchor.sh HOSTDIR HOSTNAME CGROUP_SPEC
# inside the host's network namespace, with a new private mount + UTS namespace. It builds the
# host's own view of the file system, then becomes a `sleep` that holds the namespaces: its PID is
# the host's `ansible_nsenter_pid`.
#
# What is private to this host (nothing below ever reaches the machine's own files):
#   /etc, /var/lib   overlayfs: reads fall through to the machine, writes land in HOSTDIR/upper-*
#                    (/etc/resolv.conf is the lab's: lookups go to the lab router, never off the lab)
#   /var/lib/docker  bind of HOSTDIR/docker (a plain directory: overlay2 cannot sit on overlayfs)
#   /var/log         bind of HOSTDIR/log
#   /run             tmpfs (docker.sock, docker.pid, containerd state, xtables lock)
#   /sys/fs/cgroup   the machine's cgroup hierarchies mounted again (`ip netns exec` hid them)
set -eu
hostdir=$1
name=$2
cgroups=$3   # space separated "fstype:mountpoint:options" items read from the machine's mountinfo

fail() { echo "anchor $name: $*" >"$hostdir/anchor.err"; exit 1; }

mount --make-rprivate / || fail "cannot make / private"
hostname "$name"

for d in etc varlib; do
  mkdir -p "$hostdir/upper-$d" "$hostdir/work-$d"
done
mount -t overlay "overlay-$name-etc" \
  -o "lowerdir=/etc,upperdir=$hostdir/upper-etc,workdir=$hostdir/work-etc" /etc || fail "overlay /etc"
mount -t overlay "overlay-$name-varlib" \
  -o "lowerdir=/var/lib,upperdir=$hostdir/upper-varlib,workdir=$hostdir/work-varlib" /var/lib \
  || fail "overlay /var/lib"
# The lab's resolv.conf (lab.py RESOLV_CONF) in the host's own /etc: a link or file of the machine's
# is replaced in the overlay only.
rm -f /etc/resolv.conf || fail "remove /etc/resolv.conf"
cp "$hostdir/resolv.conf" /etc/resolv.conf || fail "write /etc/resolv.conf"
mkdir -p /var/lib/docker "$hostdir/docker" "$hostdir/log"
mount --bind "$hostdir/docker" /var/lib/docker || fail "bind /var/lib/docker"
mount --bind "$hostdir/log" /var/log || fail "bind /var/log"
mount -t tmpfs -o mode=755 "run-$name" /run || fail "tmpfs /run"
mkdir -p /run/lock

if [ -n "$cgroups" ]; then
  mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup 2>/dev/null || true
  for item in $cgroups; do
    fstype=${item%%:*}; rest=${item#*:}; mp=${rest%%:*}; opts=${rest#*:}
    mkdir -p "$mp"
    if [ "$fstype" = cgroup2 ]; then
      mount -t cgroup2 cgroup2 "$mp" || fail "mount cgroup2 on $mp"
    else
      mount -t cgroup -o "$opts" cgroup "$mp" || fail "mount cgroup $opts on $mp"
    fi
  done
fi

touch "$hostdir/anchor.ready"
exec sleep infinity
