import { defineConfig } from 'vitest/config';
import { e2eProject } from './test/e2e/vitest.e2e.config.js';

// CI reads a plain "N passed, N failed" line, so under CI the results are also written as JSON for .ci/run.
const ci = Boolean(process.env['CI']);

export default defineConfig({
  test: {
    reporters: ci ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', '**/node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // Fake hosts are real SSH servers and shells on loopback; two cores here.
          pool: 'forks',
          maxWorkers: 2,
        },
      },
      // The real sshd + Docker Engine host: each file starts its own (see test/e2e/README.md); two at once.
      { test: e2eProject },
    ],
  },
});
