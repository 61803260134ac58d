// Stand-alone vitest config for the harness-based fast tests (the lead wires the same globalSetup
// into the project's vitest.config.ts). Run: npx vitest run -c test/harness/vitest.harness.config.ts
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/unit/filter-*.test.ts', 'test/unit/fuzz.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
