#!/usr/bin/env bash
# Installs the real mesh the end-to-end tests run (test/mesh), into the git-ignored .tools/mesh/:
#
#   bin/pilot-discovery, bin/pilot-agent   istiod and the sidecar agent, built from the Go module
#                                          proxy by tools/mesh/istio (go.mod pins istio.io/istio; the
#                                          proxy serves it only as pseudo-versions of master)
#   bin/registry                           the CNCF distribution registry (tools/mesh/registry)
#   istio/envoy_bootstrap.json             the bootstrap template pilot-agent renders, from the
#                                          same istio.io/istio module
#   istio/crds.yaml                        Istio's CRDs, from the istio.io/api version that istio.io/istio
#                                          itself requires (so istiod and its CRDs agree)
#   istio/gateway-api-crds.yaml            the Kubernetes Gateway API's standard CRDs, from the
#                                          sigs.k8s.io/gateway-api version istio.io/istio requires
#   istio/version                          the pinned istio.io/istio version
#
# Idempotent: a binary is rebuilt only when its go.mod/go.sum, the Go version or the flags changed.
#
# Environment:
#   MESH_TOOLS_DIR    install folder (default: <repo>/.tools/mesh)
#   MESH_TOOLS_JOBS   go build -p (default 2)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT_DIR="${MESH_TOOLS_DIR:-$ROOT/.tools/mesh}"
BIN_DIR="$OUT_DIR/bin"
JOBS="${MESH_TOOLS_JOBS:-2}"

log() { printf '[mesh-tools] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=../go_build.sh
source "$ROOT/tools/go_build.sh"

command -v go >/dev/null || die "go is not on PATH (needed to build istiod, pilot-agent and the registry)"
mkdir -p "$BIN_DIR" "$OUT_DIR/istio"

MOD_DIR="$ROOT/tools/mesh/istio"
cd "$MOD_DIR"
ISTIO_VERSION="$(modver istio.io/istio)"
ISTIO_DIR="$(go list -m -f '{{.Dir}}' istio.io/istio)"
[[ -d "$ISTIO_DIR" ]] || go mod download istio.io/istio
ISTIO_DIR="$(go list -m -f '{{.Dir}}' istio.io/istio)"
# The version the proxy reports to istiod (ISTIO_VERSION), as a dev build of the pinned master.
istio_ldflags="-s -w -X istio.io/istio/pkg/version.buildVersion=$(cat "$ISTIO_DIR/VERSION")-dev"
go_build pilot-discovery istio.io/istio/pilot/cmd/pilot-discovery "$istio_ldflags"
go_build pilot-agent istio.io/istio/pilot/cmd/pilot-agent "$istio_ldflags"
install -m 0644 "$ISTIO_DIR/tools/packaging/common/envoy_bootstrap.json" "$OUT_DIR/istio/envoy_bootstrap.json"
[[ -d "$(go list -m -f '{{.Dir}}' istio.io/api)" ]] || go mod download istio.io/api
install -m 0644 "$(go list -m -f '{{.Dir}}' istio.io/api)/kubernetes/customresourcedefinitions.gen.yaml" "$OUT_DIR/istio/crds.yaml"
GATEWAY_API_DIR="$(go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)"
[[ -d "$GATEWAY_API_DIR" ]] || go mod download sigs.k8s.io/gateway-api
GATEWAY_API_DIR="$(go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)"
for f in "$GATEWAY_API_DIR"/config/crd/standard/gateway.networking.k8s.io_*.yaml; do
  printf -- '---\n'
  cat "$f"
done >"$OUT_DIR/istio/gateway-api-crds.yaml"
printf '%s\n' "$ISTIO_VERSION" >"$OUT_DIR/istio/version"

MOD_DIR="$ROOT/tools/mesh/registry"
cd "$MOD_DIR"
go_build registry github.com/distribution/distribution/v3/cmd/registry "-s -w"

log "installed in $OUT_DIR: istio.io/istio $ISTIO_VERSION, distribution $(cd "$MOD_DIR" && modver github.com/distribution/distribution/v3)"
"$BIN_DIR/pilot-agent" version --short 2>/dev/null | head -1 >&2 || true
