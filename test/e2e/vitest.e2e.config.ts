import { defineConfig } from 'vitest/config';

// The e2e suite: a real sshd, nginx and TLS upstream per test file (root only; see README.md).
// Files run one after another: each starts its own host, and the machine has two cores.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
