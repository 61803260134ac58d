import { defineConfig } from "vitest/config";

// Two projects: `fast` runs the real .wasm in a Node host (and the pure TypeScript units);
// `e2e` runs it inside real Envoy. Both build the plugin once first (globalSetup).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "fast",
          include: ["test/unit/**/*.test.ts", "operator/**/*.test.ts"],
          globalSetup: ["test/harness/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.e2e.test.ts"],
          globalSetup: ["test/harness/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
