#!/usr/bin/env bash
# Downloads the Debian packages pinned in tools/image/debian-packages.lock into the git-ignored
# .cache/image-debs/, with `apt-get download` (apt checks each file against the signed package
# index), then checks each file's SHA-256 against the lock too. Idempotent: a package already
# there with the right hash is not fetched again, and when all are there nothing touches the
# network. Prints the cache folder.
#
# Environment:
#   IMAGE_DEBS_DIR   the cache folder (default: <repo>/.cache/image-debs)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCK="$ROOT/tools/image/debian-packages.lock"
DEBS_DIR="${IMAGE_DEBS_DIR:-$ROOT/.cache/image-debs}"

log() { printf '[image-debs] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=apt.sh
source "$ROOT/tools/image/apt.sh"

# apt-get download's file name: the epoch's colon is written %3a.
deb_file() { printf '%s/%s_%s_%s.deb' "$DEBS_DIR" "$1" "${2//:/%3a}" "$3"; }
has_hash() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

mkdir -p "$DEBS_DIR"
missing=()
while read -r name version arch sha; do
  has_hash "$(deb_file "$name" "$version" "$arch")" "$sha" || missing+=("$name=$version")
done < <(grep -v '^#' "$LOCK")

if [ ${#missing[@]} -gt 0 ]; then
  apt_update
  log "downloading ${#missing[@]} package(s) from deb.debian.org"
  (cd "$DEBS_DIR" && apt_private -qq download "${missing[@]}") >&2 ||
    die "apt-get download failed: a pinned version gone from the archive means Debian shipped an update; run tools/image/resolve-debs.sh and commit the new lock"
  while read -r name version arch sha; do
    has_hash "$(deb_file "$name" "$version" "$arch")" "$sha" || die "$name $version: the file's SHA-256 is not the lock's"
  done < <(grep -v '^#' "$LOCK")
fi
echo "$DEBS_DIR"
