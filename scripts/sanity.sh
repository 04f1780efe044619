#!/usr/bin/env bash
# Runs `ansible-test sanity` on a copy of the collection, offline except for PyPI.
#   scripts/sanity.sh                       every sanity test that applies
#   scripts/sanity.sh --test validate-modules   (any extra arguments go to ansible-test sanity)
#
# - ansible-test wants the tree at .../ansible_collections/crosshost/docker/ and refuses symlinks:
#   the files git knows about (tracked + untracked-not-ignored) are copied into a temp dir, with
#   community.docker and ansible.posix from the venv's ansible bundle next to it for imports.
# - `--local --python 3.11`: no containers. ansible-test still runs most tests in its own pinned
#   virtualenvs (~/.ansible/test/venv/sanity.<test>/), created with `venv --without-pip` and then
#   bootstrapped with a get-pip.py downloaded from a host that is unreachable here. We seed
#   ~/.ansible/test/cache/get_pip_<ver>.py with a stand-in that runs ensurepip and then
#   `pip install` of its arguments from PyPI. The shared project venv is never modified.
# - shellcheck is a Debian package (installed here if missing and we are root).
# Last line: `sanity: PASS` or `sanity: FAIL`. Leaves nothing in the repository.
set -euo pipefail
tmp=
# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
  local rc=$?
  [ -z "$tmp" ] || rm -rf "$tmp"
  if [ "$rc" = 0 ]; then echo "sanity: PASS"; else echo "sanity: FAIL"; fi
  exit "$rc"
}
trap on_exit EXIT
here=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$here/scripts/bootstrap.sh")
py=$venv/bin/python
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crosshost-sanity.XXXXXX")
log() { printf 'sanity: %s\n' "$*" >&2; }
finish() { exit "$1"; }

# --- 1. Offline stand-in for get-pip.py, under the exact name ansible-test 2.19 looks for.
at_dir=$("$py" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')
pip_ver=$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" "$at_dir/_internal/python_requirements.py" | head -1)
[ -n "$pip_ver" ] || { log "cannot find ansible-test's pip version in python_requirements.py"; finish 1; }
get_pip=$HOME/.ansible/test/cache/get_pip_${pip_ver//./_}.py
if [ ! -s "$get_pip" ]; then
  mkdir -p "$(dirname "$get_pip")"
  cat >"$get_pip" <<'EOF'
# Offline stand-in for the get-pip-X.Y.py that ansible-test downloads
# written by crosshost.docker scripts/sanity.sh. ansible-test runs it (via runpy) inside a fresh
# `venv --without-pip` with pip options and `pip==X.Y` as arguments.
import subprocess
import sys

args = sys.argv[1:]
res = subprocess.run([sys.executable, '-m', 'ensurepip', '--default-pip'],
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
if res.returncode:
    sys.stdout.write(res.stdout)
    sys.exit(res.returncode)
rc = subprocess.call([sys.executable, '-m', 'pip', 'install', '-q']
                     + [a for a in args if a not in ('--no-setuptools', '--no-wheel')])
if rc == 0 and '--no-setuptools' in args:
    # get-pip.py would not have installed setuptools; ensurepip of Python < 3.12 does.
    rc = subprocess.call([sys.executable, '-m', 'pip', 'uninstall', '-q', '-y', 'setuptools'])
sys.exit(rc)
EOF
  log "seeded $get_pip (offline get-pip stand-in)"
fi

# --- 2. shellcheck for the shellcheck test.
if ! command -v shellcheck >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  log "installing shellcheck (Debian package) for the shellcheck sanity test"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive \
         apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1; } || true
fi

# --- 3. Copy of the collection (no symlinks), plus its dependencies for the import test.
root=$tmp/ansible_collections
dest=$root/crosshost/docker
mkdir -p "$dest"
if git -C "$here" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$here" && git ls-files -co --exclude-standard -z) | while IFS= read -r -d '' f; do
    # Deleted-but-tracked files are listed too; skip what is not there.
    [ -e "$here/$f" ] || [ -L "$here/$f" ] || continue
    mkdir -p "$dest/$(dirname "$f")"; cp -P "$here/$f" "$dest/$f"
  done
else
  tar -C "$here" --exclude=./.lab --exclude=./.cache --exclude=./tests/output --exclude=./.ansible \
      --exclude=./.git --exclude='__pycache__' -cf - . | tar -C "$dest" -xf -
fi
bundle=$("$py" -c 'import ansible_collections, os; print(next(iter(ansible_collections.__path__)))')
for c in community/docker ansible/posix; do
  mkdir -p "$root/$(dirname "$c")"; cp -r "$bundle/$c" "$root/$c"
done
# ansible-test lists files through git when the tree is a repository; make it one so that only the
# copied files count (no commit needed, an index is enough).
(cd "$dest" && git init -q && git add -A)

# --- 4. Which tests run, which are skipped and why.
cd "$dest"
mapfile -t all_tests < <("$venv/bin/ansible-test" sanity --list-tests 2>/dev/null)
skip=()
declare -A why=()
if ! command -v shellcheck >/dev/null 2>&1; then
  skip+=(shellcheck); why[shellcheck]="shellcheck not installed and cannot be installed (not root / no apt)"
fi
if ! command -v pwsh >/dev/null 2>&1; then
  if [ -n "$(git ls-files '*.ps1' '*.psm1' '*.psd1')" ]; then
    skip+=(pslint); why[pslint]="PowerShell files exist but pwsh is not installed"
  else
    skip+=(pslint); why[pslint]="no PowerShell files (and no pwsh on this machine)"
  fi
fi
args=(sanity --local --python 3.11 --color no -v)
for t in "${skip[@]}"; do args+=(--skip-test "$t"); done
log "ansible-core $("$py" -c 'import ansible; print(ansible.__version__)'), tests available: ${all_tests[*]}"
for t in "${skip[@]}"; do log "skipped: $t (${why[$t]})"; done

# -v makes ansible-test say "No tests applicable." for tests without targets; the pip chatter of
# its venv set-up is filtered from the screen. On failure the full log is kept outside the repository.
full_log=$tmp/sanity.log
noise='^(Run command|Stream command|Execute command|Created Python|Installing requirements|Using cached pip|Initializing "|Processing /|Looking in|Collecting |Downloading |Installing collected|Successfully installed|WARNING: Location .* is ignored|Read [0-9]+ sanity test ignore|Checking [0-9]+ file\(s\)|Configured locale|Creating container database)|━'
set +e
"$venv/bin/ansible-test" "${args[@]}" "$@" 2>&1 | tee "$full_log" | grep -Ev "$noise"
rc=${PIPESTATUS[0]}
set -e

ran=$(grep -c '^Running sanity test "' "$full_log" || true)
na=$(awk '/^Running sanity test "/{t=$4; gsub(/"/,"",t)} /^No tests applicable\./{print t}' "$full_log" | tr '\n' ' ' | sed 's/ $//')
log "tests run: $ran${na:+; nothing to check yet (no matching files): $na}"
if [ "$rc" != 0 ]; then
  kept=$(mktemp "${TMPDIR:-/tmp}/crosshost-sanity-log.XXXXXX")
  cp "$full_log" "$kept"; log "full log: $kept"
fi
finish "$rc"
