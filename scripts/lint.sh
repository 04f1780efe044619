#!/usr/bin/env bash
# Runs ansible-lint (production profile, offline; see .ansible-lint) on the repository.
#   scripts/lint.sh [extra ansible-lint arguments]
# crosshost.docker must resolve to this tree and community.docker / ansible.posix to the venv's
# ansible bundle (Galaxy is unreachable): a temp collections dir holds
# ansible_collections/crosshost/docker -> <repo> (ansible-lint accepts a symlink; ansible-test does
# not), ANSIBLE_HOME points into the temp dir so no cache lands in the repository or in ~/.ansible.
# Last line: `lint: PASS` or `lint: FAIL`. Leaves nothing in the repository.
set -euo pipefail
tmp=
# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
  local rc=$?
  [ -z "$tmp" ] || rm -rf "$tmp"
  if [ "$rc" = 0 ]; then echo "lint: PASS"; else echo "lint: FAIL"; fi
  exit "$rc"
}
trap on_exit EXIT
here=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$here/scripts/bootstrap.sh")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crosshost-lint.XXXXXX")

mkdir -p "$tmp/collections/ansible_collections/crosshost" "$tmp/home"
ln -s "$here" "$tmp/collections/ansible_collections/crosshost/docker"
bundle=$("$venv/bin/python" -c 'import ansible_collections, os; print(os.path.dirname(next(iter(ansible_collections.__path__))))')
export ANSIBLE_COLLECTIONS_PATH=$tmp/collections:$bundle
export ANSIBLE_HOME=$tmp/home
export PATH=$venv/bin:$PATH
unset VIRTUAL_ENV  # ansible-lint would otherwise keep its cache in $VIRTUAL_ENV/.ansible

color=()
[ -t 1 ] || color=(--nocolor)
cd "$here"
"$venv/bin/ansible-lint" "${color[@]}" "$@"
