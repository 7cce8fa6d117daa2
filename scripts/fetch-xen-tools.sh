#!/usr/bin/env bash
# Fetch Xen's reference migration-stream tools (verify-stream-v2,
# convert-legacy-stream and their python modules) from Debian's
# xen-utils-4.17 package WITHOUT installing it: the .deb is downloaded with
# `apt-get download` and unpacked with `dpkg -x` into a cache folder.
#
#   cache folder: $XEN_TOOLS_DIR, default <repo>/.cache/xen-tools
#   tools:        <cache>/usr/lib/xen-4.17/bin/{verify-stream-v2,convert-legacy-stream}
#   python path:  <cache>/usr/lib/xen-4.17/lib/python
#
# The tools need only python3 (>= 3.6, standard library) besides what is in
# the .deb. Idempotent: exits 0 at once when the tools are already there.
# Prints one line on stdout saying where the tools are; progress goes to stderr.
set -euo pipefail

PKG=xen-utils-4.17
REL=usr/lib/xen-4.17
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${XEN_TOOLS_DIR:-$REPO_ROOT/.cache/xen-tools}"
MARKER="$DIR/$REL/bin/verify-stream-v2"

die() { echo "fetch-xen-tools: error: $*" >&2; exit 1; }
say_where() { echo "xen tools: $DIR/$REL/bin (PYTHONPATH=$DIR/$REL/lib/python)"; }

if [[ -f "$MARKER" ]]; then
  say_where
  exit 0
fi

command -v apt-get >/dev/null 2>&1 \
  || die "apt-get not found: a Debian/Ubuntu machine is needed to obtain $PKG (or unpack its .deb into $DIR yourself)"
command -v dpkg >/dev/null 2>&1 || die "dpkg not found (needed for 'dpkg -x')"
command -v python3 >/dev/null 2>&1 \
  || echo "fetch-xen-tools: warning: python3 not found; the tools are python3 scripts" >&2

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Let apt's unprivileged download user write here (avoids the "unsandboxed" warning).
if [[ "$(id -u)" == 0 ]] && getent passwd _apt >/dev/null 2>&1; then
  chown _apt "$tmp" 2>/dev/null || true
fi

download() { (cd "$tmp" && apt-get download -q "$PKG") >&2; }

if ! download; then
  echo "fetch-xen-tools: 'apt-get download $PKG' failed; running 'apt-get update' and retrying" >&2
  if [[ "$(id -u)" == 0 ]]; then
    apt-get update -q >&2 || die "'apt-get update' failed"
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -q >&2 || die "'sudo apt-get update' failed"
  else
    die "'apt-get update' needs root"
  fi
  download || die "'apt-get download $PKG' failed even after 'apt-get update'"
fi

shopt -s nullglob
debs=("$tmp"/"$PKG"_*.deb)
[[ ${#debs[@]} -eq 1 ]] || die "expected one $PKG .deb in $tmp, found ${#debs[@]}"
deb="${debs[0]}"

# Unpack to a staging folder first so a failed unpack never leaves a half-filled cache.
stage="$tmp/stage"
mkdir -p "$stage"
dpkg -x "$deb" "$stage" || die "'dpkg -x $deb' failed"

for f in bin/verify-stream-v2 bin/convert-legacy-stream \
         lib/python/xen/__init__.py lib/python/xen/util.py \
         lib/python/xen/migration/__init__.py lib/python/xen/migration/verify.py \
         lib/python/xen/migration/libxc.py lib/python/xen/migration/libxl.py \
         lib/python/xen/migration/xl.py lib/python/xen/migration/legacy.py \
         lib/python/xen/migration/public.py; do
  [[ -f "$stage/$REL/$f" ]] || die "$(basename "$deb") lacks $REL/$f"
done
dpkg-deb -f "$deb" Package Version > "$stage/$REL/DEB-VERSION"

mkdir -p "$DIR"
cp -a "$stage/." "$DIR/"
[[ -f "$MARKER" ]] || die "unpacked, but $MARKER is missing"
say_where
