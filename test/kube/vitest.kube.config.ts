// Stand-alone vitest config for the real-control-plane tests (the lead wires the same settings
// into the project's vitest.config.ts as the `kube` project).
// Run: npx vitest run -c test/kube/vitest.kube.config.ts
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/kube/**/*.test.ts', 'operator/**/*.int.test.ts'],
    globalSetup: ['test/kube/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Each file starts its own etcd + kube-apiserver (~0.5-1 GiB RSS, a lot of CPU at start):
    // two at a time at most on a 2-core machine.
    maxWorkers: 2,
  },
});
