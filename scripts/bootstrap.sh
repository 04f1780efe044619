#!/usr/bin/env bash
# Installs what `make demo` and `make test` need on a fresh Debian 12 machine (root), then prints
# the path of the Python virtualenv to use. Idempotent: a second run installs nothing.
#   - Debian packages: docker.io (dockerd 20.10 for lab hosts), iproute2, iptables, busybox-static, ...
#     Installed with service starts disabled, so no dockerd ever runs in the machine's own namespace.
#   - A virtualenv with the pinned requirements-test.txt, cached by the file's hash.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${CROSSHOST_CACHE:-$HOME/.cache/crosshost-docker}
log() { printf 'bootstrap: %s\n' "$*" >&2; }

[ "$(id -u)" = 0 ] || { log "must run as root (the lab creates network namespaces)"; exit 1; }

apt_pkgs=(docker.io containerd runc iproute2 iptables busybox-static iperf3 ethtool util-linux procps
          etcd-server etcd-client python3-venv git make shellcheck iputils-ping
          debootstrap systemd-container socat openssh-client)  # the last line: LAB_OS=debian12 hosts
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  # Keep package scripts from starting services (dockerd, etcd) on this machine.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; created_policy=1
  fi
  trap '[ $created_policy = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  [ $created_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi

hash=$(cat "$here/requirements-test.txt" "$here/requirements.txt" | sha256sum | cut -c1-12)
venv="$cache/venv-$hash"
if [ ! -x "$venv/bin/ansible-playbook" ] || [ ! -f "$venv/.complete" ]; then
  log "creating virtualenv $venv"
  rm -rf "$venv"; mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements-test.txt" >&2
  touch "$venv/.complete"
fi
echo "$venv"
