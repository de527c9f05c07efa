import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites start real servers; two cores do not run many at once.
    maxWorkers: 2,
    fileParallelism: true,
    // The SDK warns once per process that its 2027 releases need Node 22; the Lambda runs nodejs22.x.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
