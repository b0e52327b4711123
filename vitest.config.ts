import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One real S3 server (Ceph RGW) for the whole run; see test/setup/rgw.ts.
    globalSetup: ['test/setup/rgw.ts'],
  },
});
