#!/usr/bin/env bash
# Builds the collection tarball, installs it (--no-deps: Galaxy is unreachable; community.docker and
# ansible.posix come from the venv's ansible bundle), then checks that
#   - `ansible-doc -l crosshost.docker` lists every module in plugins/modules/,
#   - the tarball carries none of the lab's or the tools' working directories.
# Last line: `collection_check: PASS` or `collection_check: FAIL`. Leaves nothing in the repository.
set -euo pipefail
tmp=
# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
  local rc=$?
  [ -z "$tmp" ] || rm -rf "$tmp"
  if [ "$rc" = 0 ]; then echo "collection_check: PASS"; else echo "collection_check: FAIL"; fi
  exit "$rc"
}
trap on_exit EXIT
here=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$here/scripts/bootstrap.sh")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crosshost-collection.XXXXXX")
# ANSIBLE_HOME in the temp dir: ansible-galaxy's galaxy_cache and tmp never land in ~/.ansible.
export ANSIBLE_HOME=$tmp/home ANSIBLE_LOCAL_TEMP=$tmp/ansible-tmp ANSIBLE_NOCOLOR=1

fail=0
err() { printf 'collection_check: %s\n' "$*" >&2; fail=1; }
finish() { exit "$fail"; }

# Build from the repository itself; build_ignore in galaxy.yml keeps working dirs out.
if ! "$venv/bin/ansible-galaxy" collection build "$here" --output-path "$tmp/dist" >"$tmp/build.log" 2>&1; then
  cat "$tmp/build.log" >&2; err "ansible-galaxy collection build failed"; finish
fi
tarball=$(ls "$tmp"/dist/crosshost-docker-*.tar.gz)
echo "collection_check: built $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"

# Forbidden content: the lab's state, caches, ansible-test output, nested tarballs, VCS/CI dirs.
tar -tzf "$tarball" | sed 's#^\./##' >"$tmp/contents"
bad=$(grep -E '^(\.lab|\.cache|tests/output|\.ansible|\.git|\.ci|build|\.pytest_cache)(/|$)|\.tar\.gz$|(^|/)__pycache__(/|$)' \
      "$tmp/contents" || true)
[ -z "$bad" ] || err "tarball contains files it must not: $(echo "$bad" | head -20 | tr '\n' ' ')"
for f in MANIFEST.json FILES.json LICENSE meta/runtime.yml; do
  grep -qx "$f" "$tmp/contents" || err "tarball lacks $f"
done

# --force and a collections path of just the temp dir: a crosshost.docker installed elsewhere (e.g.
# ~/.ansible/collections) must neither satisfy the install nor be the copy ansible-doc reads.
if ! ANSIBLE_COLLECTIONS_PATH=$tmp/collections "$venv/bin/ansible-galaxy" collection install \
     --no-deps --force -p "$tmp/collections" "$tarball" >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log" >&2; err "ansible-galaxy collection install failed"; finish
fi
installed=$tmp/collections/ansible_collections/crosshost/docker
[ -f "$installed/MANIFEST.json" ] || err "installed collection has no MANIFEST.json"

# Modules expected: every plugins/modules/*.py except __init__.py and private helpers.
expected=()
if [ -d "$here/plugins/modules" ]; then
  while IFS= read -r f; do
    expected+=("crosshost.docker.$(basename "$f" .py)")
  done < <(find "$here/plugins/modules" -maxdepth 1 -name '*.py' ! -name '__init__.py' ! -name '_*' | sort)
fi

# Only the installed copy (plus the venv's bundle for dependencies) may resolve crosshost.docker.
bundle=$("$venv/bin/python" -c 'import ansible_collections, os; print(os.path.dirname(next(iter(ansible_collections.__path__))))')
export ANSIBLE_COLLECTIONS_PATH=$tmp/collections:$bundle
if ! "$venv/bin/ansible-doc" -t module -l crosshost.docker >"$tmp/doc.list" 2>"$tmp/doc.err"; then
  cat "$tmp/doc.err" >&2; err "ansible-doc -l crosshost.docker failed"
fi
if [ -s "$tmp/doc.err" ]; then
  echo "collection_check: ansible-doc warnings:" >&2; cat "$tmp/doc.err" >&2
fi
missing=()
for m in ${expected[@]+"${expected[@]}"}; do
  grep -q "^${m}[[:space:]]" "$tmp/doc.list" || missing+=("$m")
  # A module that lists but cannot render its documentation is as broken as a missing one.
  if "$venv/bin/ansible-doc" -t module "$m" >"$tmp/doc1.out" 2>"$tmp/doc1.err"; then
    grep -qF "$installed/plugins/modules/" "$tmp/doc1.out" \
      || err "ansible-doc $m does not read the installed tarball's copy"
  else
    cat "$tmp/doc1.err" >&2; err "ansible-doc $m failed"
  fi
done
[ ${#missing[@]} = 0 ] || err "ansible-doc -l crosshost.docker does not list: ${missing[*]}"
echo "collection_check: modules listed: ${#expected[@]} expected, $(grep -c '^crosshost\.docker\.' "$tmp/doc.list" || true) listed"
finish
