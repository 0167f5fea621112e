import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure code and in-process integration on 127.0.0.1) needs no build; `e2e` drives
// the built CLI (bin/p2prc.js over dist/), real frp binaries and network namespaces where present.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests open real sockets and child processes; two cores, so keep parallelism modest.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/e2e/**'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
});
