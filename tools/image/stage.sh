#!/usr/bin/env bash
# Stages what the operator image is made of, into STAGE_DIR (git-ignored, under build/):
#   rootfs/        the Debian base (rootfs.sh), redone when the lock or rootfs.sh changed
#   deps/          `npm ci --omit=dev --ignore-scripts` from package-lock.json (node_modules/
#                  without type declarations and source maps), redone when package.json or
#                  package-lock.json changed
#   operator/      the operator compiled by tsc, JavaScript only (always redone: it is quick)
# Only the first run (or a changed lock) uses the network: deb.debian.org and the npm registry.
# Usage: tools/image/stage.sh STAGE_DIR [--no-operator]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STAGE="${1:?usage: stage.sh STAGE_DIR [--no-operator]}"
log() { printf '[image-stage] %s\n' "$*" >&2; }

mkdir -p "$STAGE"
STAGE="$(cd "$STAGE" && pwd)"
stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
current() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

rootfs_stamp="$(stamp_of "$ROOT/tools/image/debian-packages.lock" "$ROOT/tools/image/rootfs.sh")"
if ! current "$STAGE/rootfs.stamp" "$rootfs_stamp"; then
  rm -f "$STAGE/rootfs.stamp"
  bash "$ROOT/tools/image/rootfs.sh" "$STAGE/rootfs"
  echo "$rootfs_stamp" >"$STAGE/rootfs.stamp"
fi

deps_stamp="$(stamp_of "$ROOT/package.json" "$ROOT/package-lock.json")"
if ! current "$STAGE/deps.stamp" "$deps_stamp"; then
  rm -rf "$STAGE/deps" "$STAGE/deps.stamp"
  mkdir -p "$STAGE/deps"
  cp "$ROOT/package.json" "$ROOT/package-lock.json" "$STAGE/deps/"
  log "npm ci --omit=dev (the operator's production dependencies)"
  (cd "$STAGE/deps" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
  # Type declarations and source maps are never read at run time (about half of client-node).
  find "$STAGE/deps/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete
  echo "$deps_stamp" >"$STAGE/deps.stamp"
fi

if [ "${2:-}" != --no-operator ]; then
  rm -rf "$STAGE/operator"
  log "tsc -p operator/tsconfig.json (JavaScript only)"
  (cd "$ROOT" && npx tsc -p operator/tsconfig.json --outDir "$STAGE/operator" --declaration false --sourceMap false)
fi
