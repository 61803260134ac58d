import { defineConfig } from "vitest/config";

// Four projects (tests sit beside the code they test; test/ holds the suites that span the
// system and the fixtures):
//   fast  the real .wasm in the in-process host (plugin/**), and the operator's units;
//   e2e   the .wasm inside real Envoy;
//   kube  the operator against a real kube-apiserver and etcd (started by the tests);
//   mesh  the product from `kubectl apply` to the provider: istiod, pilot-agent, a registry; and
//         the soak, short here (`make soak` runs it long: test/soak/README.md).
// fast and e2e build the plugin once first (globalSetup; `make test` builds it before and skips it).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "fast",
          // Projects run one group after another: fast, e2e, kube, mesh (2 cores).
          sequence: { groupOrder: 0 },
          include: ["plugin/**/*.test.ts", "operator/**/*.test.ts"],
          exclude: ["**/node_modules/**", "operator/**/*.int.test.ts"],
          globalSetup: ["test/harness/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: "e2e",
          sequence: { groupOrder: 1 },
          include: ["test/e2e/**/*.e2e.test.ts"],
          globalSetup: ["test/harness/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "kube",
          sequence: { groupOrder: 2 },
          include: ["test/kube/**/*.test.ts", "operator/**/*.int.test.ts"],
          globalSetup: ["test/harness/global-setup.ts", "test/kube/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          pool: "forks",
          // Each file starts its own etcd + kube-apiserver: two at a time at most on 2 cores.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "mesh",
          sequence: { groupOrder: 3 },
          include: ["test/mesh/**/*.mesh.test.ts", "test/soak/**/*.soak.test.ts"],
          globalSetup: ["test/harness/global-setup.ts", "test/kube/global-setup.ts", "test/mesh/global-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          pool: "forks",
          // One sidecar at a time: pilot-agent's ports (15000, 15020, 15021, 15090...) are fixed.
          fileParallelism: false,
        },
      },
    ],
  },
});
