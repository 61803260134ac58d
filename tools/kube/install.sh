#!/usr/bin/env bash
# Installs the real Kubernetes control-plane binaries that the operator's integration tests
# start (test/kube/control_plane.ts), into the git-ignored .tools/kube/bin/:
#
#   kube-apiserver, kube-controller-manager (for garbage collection of owned objects), kubectl,
#   etcd                            built from the Go module proxy by the wrapper module
#                                   tools/kube/apiserver (go.mod pins k8s.io/kubernetes and
#                                   replaces every k8s.io/* staging module by its v0.Y.Z
#                                   release; etcd is go.etcd.io/etcd/server/v3 at the version
#                                   k8s.io/kubernetes itself requires).
#
# Idempotent: a binary is rebuilt only when go.mod/go.sum, the Go version or the build flags
# changed (stamp files in .tools/kube/bin/.stamps). Uses the default Go caches (GOMODCACHE,
# GOCACHE), so a rebuild after `rm -rf .tools` is fast.
#
# Environment:
#   KUBE_TOOLS_BIN    install folder (default: <repo>/.tools/kube/bin)
#   KUBE_TOOLS_JOBS   go build -p (default 1: the machine is shared with other test runs)
#   KUBE_ETCD_SOURCE  go (default) | debian: Debian's etcd-server package, extracted (not
#                     installed, so no system service starts). Bookworm ships 3.4.23, older
#                     than the 3.4.29 / 3.5.11 that kube-apiserver >= 1.31 documents as minimum.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MOD_DIR="$ROOT/tools/kube/apiserver"
BIN_DIR="${KUBE_TOOLS_BIN:-$ROOT/.tools/kube/bin}"
STAMP_DIR="$BIN_DIR/.stamps"
JOBS="${KUBE_TOOLS_JOBS:-1}"
ETCD_SOURCE="${KUBE_ETCD_SOURCE:-go}"

log() { printf '[kube-tools] %s\n' "$*" >&2; }
# shellcheck source=../go_build.sh
source "$ROOT/tools/go_build.sh"
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "go is not on PATH (needed to build kube-apiserver, kubectl and etcd)"
mkdir -p "$BIN_DIR" "$STAMP_DIR"
cd "$MOD_DIR"
K8S_VERSION="$(modver k8s.io/kubernetes)"     # e.g. v1.36.2
ETCD_VERSION="$(modver go.etcd.io/etcd/server/v3)"
[[ "$K8S_VERSION" =~ ^v([0-9]+)\.([0-9]+)\. ]] || die "unexpected k8s.io/kubernetes version '$K8S_VERSION'"
K8S_MAJOR="${BASH_REMATCH[1]}"
K8S_MINOR="${BASH_REMATCH[2]}"
# The release's own date (from the module proxy) keeps the binaries and the stamps reproducible.
BUILD_DATE="$(go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)"
BUILD_DATE="${BUILD_DATE:-1970-01-01T00:00:00Z}"

# What `kubectl version` / the apiserver's /version report, as in Kubernetes' own release builds
# (hack/lib/version.sh); without it they claim v0.0.0-master.
kube_ldflags() {
	local flags="-s -w" pkg
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$K8S_MAJOR -X $pkg.gitMinor=$K8S_MINOR"
		flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
	done
	printf '%s' "$flags"
}

install_debian_etcd() {
	local stamp="$STAMP_DIR/etcd" want tmp deb
	command -v apt-get >/dev/null || die "KUBE_ETCD_SOURCE=debian needs apt-get"
	want="debian:$(apt-cache policy etcd-server 2>/dev/null | awk '/Candidate:/{print $2}')"
	if [[ "$want" == "debian:" || "$want" == "debian:(none)" ]]; then
		log "apt-get update (etcd-server not in the package lists)"
		apt-get update -qq
		want="debian:$(apt-cache policy etcd-server | awk '/Candidate:/{print $2}')"
	fi
	if [[ -x "$BIN_DIR/etcd" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
		log "etcd is up to date"
		return
	fi
	tmp="$(mktemp -d)"
	chmod 755 "$tmp" # apt-get download runs as _apt
	(cd "$tmp" && apt-get download -q etcd-server >/dev/null)
	deb="$(ls "$tmp"/etcd-server_*.deb)"
	dpkg-deb -x "$deb" "$tmp/x"
	install -m 0755 "$tmp/x/usr/bin/etcd" "$BIN_DIR/etcd"
	rm -rf "$tmp"
	printf '%s\n' "$want" >"$stamp"
}

go_build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$(kube_ldflags)"
go_build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$(kube_ldflags)"
go_build kubectl k8s.io/kubernetes/cmd/kubectl "$(kube_ldflags)"
case "$ETCD_SOURCE" in
go) go_build etcd go.etcd.io/etcd/server/v3 "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-${ETCD_VERSION}" ;;
debian) install_debian_etcd ;;
*) die "KUBE_ETCD_SOURCE must be go or debian, not '$ETCD_SOURCE'" ;;
esac

first_line() { local out; out="$("$@")"; printf '%s\n' "${out%%$'\n'*}"; }
log "installed in $BIN_DIR:"
first_line "$BIN_DIR/kube-apiserver" --version
first_line "$BIN_DIR/kube-controller-manager" --version
first_line "$BIN_DIR/kubectl" version --client=true
first_line "$BIN_DIR/etcd" --version
