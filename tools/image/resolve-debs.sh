#!/usr/bin/env bash
# Pins the Debian packages of the operator image: resolves, once, what nodejs needs to run
# (Depends and Pre-Depends, recursively) plus packages taken for their data alone, and writes
# each one's current version and SHA-256 (from the signed package index) to debian-packages.lock.
# Run it by hand to take Debian's updates (a security fix in bookworm-security replaces the old
# version on deb.debian.org, so the old lock can no longer be fetched); commit the new lock.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCK="$ROOT/tools/image/debian-packages.lock"
# The runtime: Debian's Node.js and its shared libraries.
CLOSURE_OF=(nodejs)
# Files only, never their dependencies (no maintainer script runs in the image): os-release and
# the base directories, /etc/services and /etc/protocols, Mozilla's CA certificates.
DATA_ONLY=(base-files netbase ca-certificates)

log() { printf '[image-debs] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=apt.sh
source "$ROOT/tools/image/apt.sh"

apt_update
closure=$(apt_cache_private depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances "${CLOSURE_OF[@]}" | grep -v '^[ <]')
{
  echo '# The operator image'"'"'s Debian packages, one a line: name version architecture sha256.'
  echo '# Written by tools/image/resolve-debs.sh (the closure of nodejs, plus base-files, netbase and'
  echo '# ca-certificates for their files); tools/image/fetch-debs.sh downloads exactly these.'
  for pkg in $(printf '%s\n' $closure "${DATA_ONLY[@]}" | sort -u); do
    apt_cache_private show --no-all-versions "$pkg" |
      awk -v pkg="$pkg" '/^Version: /{v=$2} /^Architecture: /{a=$2} /^SHA256: /{s=$2} END{if(!v||!a||!s) exit 1; print pkg, v, a, s}' ||
      die "no candidate for $pkg"
  done
} >"$LOCK"
log "wrote $(grep -vc '^#' "$LOCK") packages to tools/image/debian-packages.lock"
