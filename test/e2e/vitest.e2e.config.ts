import { defineConfig } from 'vitest/config';

// The e2e suite: a real sshd, Docker Engine, nginx container and TLS upstream per test file (root only;
// see README.md). Two files run at once: each has its own user (awf-e2e-w<pool id>), engine, network
// namespace and ports, and much of a file's time is spent waiting (builds, settle times, timeouts).
export const e2eProject = {
  name: 'e2e',
  include: ['test/e2e/**/*.test.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
  fileParallelism: true,
  maxWorkers: 2,
};

// Standalone: npx vitest run --config test/e2e/vitest.e2e.config.ts (the root config runs it as a project too).
export default defineConfig({ test: e2eProject });
