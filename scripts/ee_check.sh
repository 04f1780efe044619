#!/usr/bin/env bash
# Checks the execution-environment definition (meta/execution-environment.yml) without building an
# image (no container engine needed):
#   1. `ansible-builder create` from a staged copy (the definition's paths are relative to the
#      collection root, see the file's header) must produce a build context with a Containerfile,
#      the base image, and byte-identical copies of requirements.txt, bindep.txt and the galaxy
#      requirements.
#   2. `ansible-builder introspect`, the step that runs when this collection is installed into any
#      EE, must find requirements.txt and bindep.txt through meta/execution-environment.yml.
# Last line: `ee_check: PASS` or `ee_check: FAIL`. Leaves nothing in the repository.
set -euo pipefail
tmp=
# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
  local rc=$?
  [ -z "$tmp" ] || rm -rf "$tmp"
  if [ "$rc" = 0 ]; then echo "ee_check: PASS"; else echo "ee_check: FAIL"; fi
  exit "$rc"
}
trap on_exit EXIT
here=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$here/scripts/bootstrap.sh")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/crosshost-ee.XXXXXX")

fail=0
err() { printf 'ee_check: %s\n' "$*" >&2; fail=1; }
finish() { exit "$fail"; }

def=$here/meta/execution-environment.yml
# The three dependency files, relative to the collection root: galaxy, python, system.
mapfile -t deps < <("$venv/bin/python" - "$def" <<'EOF'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert d.get("version") == 3, "version must be 3"
deps = d["dependencies"]
for k in ("galaxy", "python", "system"):
    assert isinstance(deps.get(k), str), f"dependencies.{k} must be a file path"
    print(deps[k])
EOF
)
[ ${#deps[@]} = 3 ] || { err "cannot read version 3 and dependencies galaxy/python/system from $def"; finish; }
galaxy_req=${deps[0]}
# ansible-builder introspect (collection installed in an EE) reads these two relative to the root.
[ "${deps[1]}" = requirements.txt ] || err "dependencies.python should be requirements.txt"
[ "${deps[2]}" = bindep.txt ] || err "dependencies.system should be bindep.txt"

# 1. Build context from a staged copy laid out like the collection root.
src=$tmp/src
mkdir -p "$src"
cp "$def" "$src/execution-environment.yml"
for f in "${deps[@]}"; do
  [ -f "$here/$f" ] || { err "dependency file $f does not exist"; continue; }
  mkdir -p "$src/$(dirname "$f")"; cp "$here/$f" "$src/$f"
done
[ "$fail" = 0 ] || finish
ctx=$tmp/context
if ! "$venv/bin/ansible-builder" create -f "$src/execution-environment.yml" -c "$ctx" \
     --output-filename Containerfile -v 1 >"$tmp/create.log" 2>&1; then
  cat "$tmp/create.log" >&2; err "ansible-builder create failed"; finish
fi
[ -f "$ctx/Containerfile" ] || err "context has no Containerfile"
base=$("$venv/bin/python" -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))["images"]["base_image"]["name"])' "$def")
grep -qF "EE_BASE_IMAGE=\"$base\"" "$ctx/Containerfile" 2>/dev/null || err "Containerfile does not use base image $base"
for pair in "requirements.txt:$here/requirements.txt" "bindep.txt:$here/bindep.txt" \
            "requirements.yml:$here/$galaxy_req"; do
  f=${pair%%:*}; orig=${pair#*:}
  if [ ! -f "$ctx/_build/$f" ]; then err "context lacks _build/$f"
  elif ! cmp -s "$ctx/_build/$f" "$orig"; then err "_build/$f differs from ${orig#"$here"/}"
  fi
done
for s in assemble install-from-bindep introspect.py; do
  [ -f "$ctx/_build/scripts/$s" ] || err "context lacks _build/scripts/$s"
done
grep -q 'collection install .*-r requirements.yml' "$ctx/Containerfile" 2>/dev/null \
  || err "Containerfile does not install the galaxy requirements"

# 2. What ansible-builder sees when crosshost.docker is inside some EE.
col=$tmp/collections/ansible_collections/crosshost/docker
mkdir -p "$col/meta"
cp "$here/galaxy.yml" "$here/requirements.txt" "$here/bindep.txt" "$col/"
cp "$def" "$col/meta/"
if "$venv/bin/ansible-builder" introspect "$tmp/collections" >"$tmp/introspect.yml" 2>"$tmp/introspect.err"; then
  "$venv/bin/python" - "$tmp/introspect.yml" "$here/requirements.txt" "$here/bindep.txt" <<'EOF' \
    || err "ansible-builder introspect does not pick up the collection's requirements"
import sys, yaml
data = yaml.safe_load(open(sys.argv[1]))
def lines(path):
    out = []
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out
# Lines look like 'docker>=7.0,<8  # from collection crosshost.docker'.
def ours(key):
    return [l.split("#", 1)[0].strip() for l in data.get(key) or []
            if l.endswith("from collection crosshost.docker")]
ok = True
for key, path in (("python", sys.argv[2]), ("system", sys.argv[3])):
    missing = [w for w in lines(path) if w not in ours(key)]
    if missing:
        print(f"ee_check: introspect {key}: missing {missing}; got {ours(key)}", file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
EOF
else
  cat "$tmp/introspect.err" >&2; err "ansible-builder introspect failed"
fi

echo "ee_check: context files: $(cd "$ctx" && find . -type f | sort | tr '\n' ' ')"
finish
