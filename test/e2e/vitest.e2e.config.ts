import { defineConfig } from 'vitest/config';

// The e2e suite: a real sshd, nginx and TLS upstream per test file (root only; see README.md).
// Files run one after another: each starts its own host, and the machine has two cores.
export const e2eProject = {
  name: 'e2e',
  include: ['test/e2e/**/*.test.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
  fileParallelism: false,
  maxWorkers: 1,
};

// Standalone: npx vitest run --config test/e2e/vitest.e2e.config.ts (the root config runs it as a project too).
export default defineConfig({ test: e2eProject });
