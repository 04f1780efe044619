#!/usr/bin/env bash
# Fetch a newer Docker engine (dockerd + containerd + shim + docker-proxy + docker-init) from a
# newer Debian suite WITHOUT installing it: a private apt configuration downloads the .debs, which
# are unpacked with `dpkg -x` into CACHE_DIR/engines/VERSION/root.
#
#   usage: lab/fetch_engine.sh VERSION CACHE_DIR      (VERSION: 26 -> trixie, 28 -> sid)
#
# stdout: one line, the root directory the packages were unpacked into. Progress goes to stderr.
# A second run, once CACHE_DIR/engines/VERSION/.complete exists, does nothing and is instant.
#
# Never touches the machine's apt configuration (/etc/apt), its package lists or its dpkg state.
# runc is deliberately NOT fetched: the system's runc (Debian 12: 1.1.5) is used; newer suites'
# runc needs a newer glibc than Debian 12 has.
# No mirror host name is written here: the mirror is taken from the machine's own apt sources.
set -euo pipefail

PROG=${0##*/}
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

usage() { printf 'usage: %s VERSION CACHE_DIR   (VERSION: 26 or 28)\n' "$PROG" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
VERSION=$1
CACHE_DIR=$2
case "$VERSION" in
  26) SUITE=trixie ;;
  28) SUITE=sid ;;
  *) die "unsupported VERSION '$VERSION' (supported: 26 -> trixie, 28 -> sid)" ;;
esac
[[ -n "$CACHE_DIR" ]] || usage

ENGINE_DIR="${CACHE_DIR%/}/engines/$VERSION"
ROOT="$ENGINE_DIR/root"
COMPLETE="$ENGINE_DIR/.complete"

# Binaries that must be present, with the places they may land inside root/.
BINARIES=(dockerd containerd containerd-shim-runc-v2 docker-proxy docker-init)
SEARCH_DIRS=(usr/sbin usr/bin usr/libexec/docker usr/lib/docker sbin bin)

find_bin() { # NAME -> relative path inside $ROOT (symlinks inside root/ are followed)
  local d
  for d in "${SEARCH_DIRS[@]}"; do
    if [[ -e "$ROOT/$d/$1" || -L "$ROOT/$d/$1" ]]; then
      printf '%s/%s\n' "$d" "$1"; return 0
    fi
  done
  return 1
}

# --- fast path ---------------------------------------------------------------------------------
if [[ -f "$COMPLETE" && -d "$ROOT" ]]; then
  log "engine $VERSION already present ($(head -n1 "$COMPLETE")), nothing to do"
  printf '%s\n' "$ROOT"
  exit 0
fi

# --- preconditions -----------------------------------------------------------------------------
[[ $EUID -eq 0 ]] || die "must run as root (apt-get update/download with a private configuration needs root)"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script needs a Debian system with apt"
command -v apt-cache >/dev/null 2>&1 || die "apt-cache not found"
command -v dpkg >/dev/null 2>&1 || die "dpkg not found"
command -v flock >/dev/null 2>&1 || die "flock not found (package util-linux)"

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -r "$KEYRING" ]] || die "$KEYRING not found (install package debian-archive-keyring); it is needed to check the $SUITE signatures"

# Codename of this machine's own release, used to recognise its Debian mirror in the apt sources.
HOST_CODENAME=bookworm
if [[ -r /etc/os-release ]]; then
  # shellcheck disable=SC1091
  HOST_CODENAME=$( . /etc/os-release; printf '%s' "${VERSION_CODENAME:-bookworm}" )
fi

# --- find the Debian mirror from the machine's apt configuration --------------------------------
# deb822 *.sources: the first URI of an enabled "Types: deb" stanza whose Suites contain exactly
# the host codename (so "bookworm-security" and "bookworm-updates" alone do not match).
mirror_from_deb822() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r "$f" ]] || continue
    awk -v want="$HOST_CODENAME" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled != "no" && uri != "") {
          n = split(suites, s, /[ \t]+/)
          for (i = 1; i <= n; i++) if (s[i] == want) { print uri; found = 1; exit }
        }
        types = ""; suites = ""; uri = ""; enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/ { next }   # continuation line (e.g. an inline Signed-By key block)
      {
        line = $0
        key = tolower(line); sub(/:.*/, "", key)
        val = line; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
        if (key == "types") types = val
        else if (key == "suites") suites = val
        else if (key == "uris") { split(val, u, /[ \t]+/); uri = u[1] }
        else if (key == "enabled") enabled = tolower(val)
      }
      END { if (!found) flush() }
    ' "$f"
  done | head -n1
}

# One-line format: "deb [options] URI SUITE COMPONENTS..." in sources.list and *.list.
mirror_from_list() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r "$f" ]] || continue
    awk -v want="$HOST_CODENAME" '
      /^[ \t]*deb[ \t]/ {
        line = $0
        sub(/^[ \t]*deb[ \t]+/, "", line)
        if (line ~ /^\[/) sub(/^\[[^]]*\][ \t]*/, "", line)
        n = split(line, w, /[ \t]+/)
        if (n >= 2 && w[2] == want) { print w[1]; exit }
      }
    ' "$f"
  done | head -n1
}

MIRROR=$(mirror_from_deb822 || true)
[[ -n "$MIRROR" ]] || MIRROR=$(mirror_from_list || true)
[[ -n "$MIRROR" ]] || die "no Debian mirror found in the apt configuration: expected a 'Types: deb' stanza with 'Suites: $HOST_CODENAME' in /etc/apt/sources.list.d/*.sources, or a 'deb URI $HOST_CODENAME ...' line in /etc/apt/sources.list(.d/*.list)"
MIRROR=${MIRROR%/}
log "Debian mirror (from this machine's apt sources): $MIRROR"

# --- private apt configuration -----------------------------------------------------------------
mkdir -p "$ENGINE_DIR"
exec 9>"$ENGINE_DIR/.lock"
flock 9   # serialise concurrent runs for the same VERSION
if [[ -f "$COMPLETE" && -d "$ROOT" ]]; then   # another run finished while we waited
  log "engine $VERSION already present ($(head -n1 "$COMPLETE")), nothing to do"
  printf '%s\n' "$ROOT"
  exit 0
fi

APT_DIR="$ENGINE_DIR/apt"
DEB_DIR="$ENGINE_DIR/debs"
rm -rf "$APT_DIR" "$DEB_DIR"
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial" "$DEB_DIR"
ARCH=$(dpkg --print-architecture)

printf 'deb [arch=%s signed-by=%s] %s %s main\n' "$ARCH" "$KEYRING" "$MIRROR" "$SUITE" \
  >"$APT_DIR/sources.list"

# Extra settings that cannot be expressed with -o (#clear): the machine's apt.conf.d hooks that
# run after `apt-get update` (PackageKit / AppStream refresh) concern the system's lists, not these
# private ones, so they are switched off here. The download sandbox user (_apt) cannot enter the
# cache when it lives under /root (mode 0700), so downloads run as root; signature checks (gpgv
# against $KEYRING) are unaffected.
cat >"$APT_DIR/apt.conf" <<'EOF'
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
APT::Sandbox::User "root";
Acquire::Languages "none";
EOF

APT_OPTS=(
  -c "$APT_DIR/apt.conf"
  -o "Dir::Etc::sourcelist=$APT_DIR/sources.list"
  -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$APT_DIR/lists"
  -o "Dir::Cache::archives=$APT_DIR/archives"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
  -o "APT::Get::List-Cleanup=0"
)

log "updating private package lists for $SUITE ..."
if ! apt-get "${APT_OPTS[@]}" -q --error-on=any update >&2; then
  die "apt-get update for suite $SUITE at $MIRROR failed (network, or signature not verifiable with $KEYRING)"
fi

pkg_field() { # PKG FIELD -> that field of PKG's version in $SUITE, empty if absent
  local out
  out=$(apt-cache "${APT_OPTS[@]}" show --no-all-versions "$1/$SUITE" 2>/dev/null) || return 0
  awk -v f="$2:" '$1 == f && !done { sub(/^[^:]*:[ \t]*/, ""); print; done = 1 }' <<<"$out"
}
candidate() { pkg_field "$1" Version; }

# docker-init is a symlink to tini-static: shipped in package tini (trixie) or tini-static (sid).
# Pick whichever docker.io depends on.
DOCKER_DEPENDS=$(pkg_field docker.io Depends)
[[ -n "$(candidate docker.io)" ]] || die "package docker.io not found in suite $SUITE at $MIRROR"
tini_static_re='(^|[ ,|])tini-static([ ,|(]|$)'
if [[ "$DOCKER_DEPENDS" =~ $tini_static_re ]]; then
  INIT_PKG=tini-static
else
  INIT_PKG=tini
fi
PACKAGES=(docker.io containerd "$INIT_PKG")

declare -A PKG_VERSION=()
for p in "${PACKAGES[@]}"; do
  v=$(candidate "$p")
  [[ -n "$v" ]] || die "package $p not found in suite $SUITE at $MIRROR"
  PKG_VERSION[$p]=$v
  log "  $p $v"
done

log "downloading ${PACKAGES[*]} from $SUITE ..."
dl_args=()
for p in "${PACKAGES[@]}"; do dl_args+=("$p=${PKG_VERSION[$p]}"); done
if ! ( cd "$DEB_DIR" && apt-get "${APT_OPTS[@]}" -q download "${dl_args[@]}" >&2 ); then
  die "apt-get download of ${dl_args[*]} from $SUITE failed"
fi

# --- unpack ------------------------------------------------------------------------------------
TMP_ROOT="$ENGINE_DIR/root.tmp"
rm -rf "$TMP_ROOT" "$ROOT"
mkdir -p "$TMP_ROOT"
shopt -s nullglob
debs=("$DEB_DIR"/*.deb)
shopt -u nullglob
[[ ${#debs[@]} -eq ${#PACKAGES[@]} ]] || die "expected ${#PACKAGES[@]} .deb files in $DEB_DIR, found ${#debs[@]}"
for deb in "${debs[@]}"; do
  log "unpacking ${deb##*/}"
  dpkg -x "$deb" "$TMP_ROOT"
done
mv "$TMP_ROOT" "$ROOT"

# --- verify ------------------------------------------------------------------------------------
log "binaries in $ROOT:"
missing=()
for b in "${BINARIES[@]}"; do
  if rel=$(find_bin "$b"); then
    if [[ -L "$ROOT/$rel" ]]; then
      log "  $b: $rel -> $(readlink "$ROOT/$rel")"
      [[ -e "$ROOT/$rel" ]] || missing+=("$b (dangling symlink)")
    else
      log "  $b: $rel"
    fi
  else
    log "  $b: MISSING"
    missing+=("$b")
  fi
done
[[ ${#missing[@]} -eq 0 ]] || die "missing from the unpacked packages: ${missing[*]}"

DOCKERD="$ROOT/$(find_bin dockerd)"
version_line=$("$DOCKERD" --version 2>&1) || die "'$DOCKERD --version' failed: $version_line"
found=$(sed -n 's/^Docker version \([0-9][0-9.]*\).*/\1/p' <<<"$version_line")
[[ -n "$found" ]] || die "cannot parse the version from '$version_line'"
if [[ "${found%%.*}" != "$VERSION" ]]; then
  die "requested Docker $VERSION but $SUITE provides dockerd $found ('$version_line')"
fi
log "dockerd: $version_line"
log "containerd: $("$ROOT/$(find_bin containerd)" --version 2>&1 || true)"

{
  for p in "${PACKAGES[@]}"; do printf '%s %s\n' "$p" "${PKG_VERSION[$p]}"; done
} >"$ENGINE_DIR/packages.txt"
rm -rf "$APT_DIR/lists" "$APT_DIR/archives"   # large and only useful for this run
printf '%s\n' "$version_line" >"$COMPLETE"

printf '%s\n' "$ROOT"
