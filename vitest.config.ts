import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most test files wait on real processes and sockets, not on the CPU: three at a time keep two
    // cores busy without starving the timing-sensitive ones.
    maxWorkers: 3,
    // One real S3 server (Ceph RGW) for the whole run; see test/setup/rgw.ts.
    globalSetup: ['test/setup/rgw.ts'],
  },
});
