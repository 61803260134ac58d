#!/usr/bin/env bash
# Installs the load generator `make bench` drives Envoy with, into the git-ignored .tools/bench/:
#
#   bin/fortio    fortio.org/fortio, built from the Go module proxy by the wrapper module
#                 tools/bench/fortio (go.mod pins v1.68.2, the last release the proxy builds)
#
# Idempotent: rebuilt only when go.mod/go.sum, the Go version or the flags changed (a stamp in
# .tools/bench/bin/.stamps).
#
# Environment:
#   BENCH_TOOLS_DIR    install folder (default: <repo>/.tools/bench)
#   BENCH_TOOLS_JOBS   go build -p (default 2)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT_DIR="${BENCH_TOOLS_DIR:-$ROOT/.tools/bench}"
BIN_DIR="$OUT_DIR/bin"
JOBS="${BENCH_TOOLS_JOBS:-2}"

log() { printf '[bench-tools] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=../go_build.sh
source "$ROOT/tools/go_build.sh"

command -v go >/dev/null || die "go is not on PATH (needed to build fortio)"
mkdir -p "$BIN_DIR"

MOD_DIR="$ROOT/tools/bench/fortio"
cd "$MOD_DIR"
go_build fortio fortio.org/fortio "-s -w"
log "installed in $OUT_DIR: fortio $(modver fortio.org/fortio)"
