#!/usr/bin/env bash
# Molecule scenarios on the lab: `scripts/molecule.sh` runs all, `scripts/molecule.sh host_info` one.
# Each scenario's create/destroy bring up and remove its own lab (LAB_NAME set in its molecule.yml).
# Every scenario runs once per lab kind in CROSSHOST_MOLECULE_OS (default "ns debian12"): namespace
# hosts reached through nsenter as root, then Debian 12 hosts with systemd reached over SSH as `ops`
# with become (the way AWX reaches real machines). The kind reaches molecule.yml as CROSSHOST_LAB_OS,
# and its first letter ends the lab's name, so the two runs never share a lab.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(scripts/bootstrap.sh)
export PATH="$venv/bin:$PATH" ANSIBLE_DEPRECATION_WARNINGS=false ANSIBLE_NOCOLOR=1 PY_COLORS=0
# Nothing in the user's ~/.ansible: the scenarios have `prerun: false` (no install of this collection
# into ~/.ansible/collections), and Ansible's and molecule's own caches and temp files go to .cache/.
export ANSIBLE_HOME="$PWD/.cache/ansible-home" ANSIBLE_REMOTE_TMP="$PWD/.cache/ansible-home/remote-tmp" \
       ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/collections"
mkdir -p .cache/collections/ansible_collections/crosshost
ln -sfn "$PWD" .cache/collections/ansible_collections/crosshost/docker
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  for f in molecule/*/molecule.yml; do scenarios+=("$(basename "$(dirname "$f")")"); done
fi
failed=(); passed=()
for os in ${CROSSHOST_MOLECULE_OS:-ns debian12}; do
  for s in "${scenarios[@]}"; do
    echo "molecule: scenario $s on LAB_OS=$os hosts"
    t0=$(date +%s)
    if CROSSHOST_LAB_OS=$os CROSSHOST_LAB_OS_TAG=${os:0:1} molecule test -s "$s"; then
      passed+=("$s/$os $(( $(date +%s) - t0 ))s")
    else
      failed+=("$s/$os")
    fi
  done
done
if [ ${#failed[@]} -gt 0 ]; then echo "molecule: FAIL (${failed[*]})"; exit 1; fi
echo "molecule: PASS (${passed[*]})"
