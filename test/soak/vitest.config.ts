import { defineConfig } from 'vitest/config';

// `make soak` only (test/soak/soak.soak.test.ts): the product in the real mesh under load, faults
// and policy changes. Not part of `make test` (it runs for minutes); same set-up as the mesh project.
export default defineConfig({
  test: {
    include: ['test/soak/**/*.soak.test.ts'],
    globalSetup: ['test/harness/global-setup.ts', 'test/kube/global-setup.ts', 'test/mesh/global-setup.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 900_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
