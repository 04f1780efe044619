#!/usr/bin/env bash
# `make demo`: install what is needed, bring up the local lab, run playbooks/main.yml against it.
# The lab stays up afterwards so that you can look around (`make lab-status`, `make lab-down`).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(scripts/bootstrap.sh)
export LAB_NAME=${LAB_NAME:-lab} LAB_HOSTS=${LAB_HOSTS:-3} LAB_ENGINES=${LAB_ENGINES:-20.10 26 28}
inventory=$(LAB_PYTHON="$venv/bin/python" python3 lab/lab.py up)
python3 lab/lab.py status
# The collection as installed from this tree (a symlink, so edits show at once).
mkdir -p .cache/collections/ansible_collections/crosshost
ln -sfn "$PWD" .cache/collections/ansible_collections/crosshost/docker
# Ansible's own caches and temp files in .cache/ too: the demo writes nothing into ~/.ansible.
export ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/collections" ANSIBLE_HOME="$PWD/.cache/ansible-home" \
       ANSIBLE_REMOTE_TMP="$PWD/.cache/ansible-home/remote-tmp" ANSIBLE_CALLBACK_RESULT_FORMAT=yaml \
       ANSIBLE_DEPRECATION_WARNINGS=false ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
"$venv/bin/ansible-playbook" -i "$inventory" playbooks/main.yml
echo
echo "demo: done. The lab '$LAB_NAME' is still up: 'make lab-status', 'make lab-down' (LAB_NAME=$LAB_NAME)."
