import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Fake hosts and the real sshd are real processes on loopback; two cores here.
    pool: 'forks',
    maxWorkers: 2,
  },
});
