import { defineConfig } from 'vitest/config';

// CI reads a plain "N passed, N failed" line, so under CI the results are also written as JSON for .ci/run.
const ci = Boolean(process.env['CI']);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Fake hosts and the real sshd are real processes on loopback; two cores here.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ci ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
  },
});
