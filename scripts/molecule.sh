#!/usr/bin/env bash
# Molecule scenarios on the lab: `scripts/molecule.sh` runs all, `scripts/molecule.sh host_info` one.
# Each scenario's create/destroy bring up and remove its own lab (LAB_NAME set in its molecule.yml).
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
failed=()
for s in "${scenarios[@]}"; do
  echo "molecule: scenario $s"
  molecule test -s "$s" || failed+=("$s")
done
if [ ${#failed[@]} -gt 0 ]; then echo "molecule: FAIL (${failed[*]})"; exit 1; fi
echo "molecule: PASS (${scenarios[*]})"
