#!/usr/bin/env bash
# Installs what `make chart` and the chart's tests (test/kube/chart*.test.ts) run, into the
# git-ignored .tools/chart/:
#
#   bin/helm    helm.sh/helm/v4, built from the Go module proxy by the wrapper module
#               tools/chart/helm (go.mod pins v4.3.2)
#
# Idempotent: rebuilt only when go.mod/go.sum, the Go version or the flags changed (a stamp in
# .tools/chart/bin/.stamps).
#
# Environment:
#   CHART_TOOLS_DIR    install folder (default: <repo>/.tools/chart)
#   CHART_TOOLS_JOBS   go build -p (default 2)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT_DIR="${CHART_TOOLS_DIR:-$ROOT/.tools/chart}"
BIN_DIR="$OUT_DIR/bin"
JOBS="${CHART_TOOLS_JOBS:-2}"

log() { printf '[chart-tools] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=../go_build.sh
source "$ROOT/tools/go_build.sh"

command -v go >/dev/null || die "go is not on PATH (needed to build helm)"
mkdir -p "$BIN_DIR"

MOD_DIR="$ROOT/tools/chart/helm"
cd "$MOD_DIR"
HELM_VERSION="$(modver helm.sh/helm/v4)"
# What `helm version` reports, as Helm's own release builds set it (its Makefile's LDFLAGS).
helm_ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
helm_ldflags+=" -X helm.sh/helm/v4/internal/version.metadata= -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
go_build helm helm.sh/helm/v4/cmd/helm "$helm_ldflags"
log "installed in $OUT_DIR: helm $("$BIN_DIR/helm" version --short)"
