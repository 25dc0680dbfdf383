// The demo's host is thrown away when the demo ends: its summary must not offer "the same command with --rollback".
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import type { RunReport } from '../../src/core/report.js';
import { summarize } from '../../src/core/summary.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli.js');

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does).`);
});

describe('--demo', () => {
  it('ends without "To undo: the same command with --rollback", and points at the rollback demo', async () => {
    const { exitCode, stdout } = await execa('node', [CLI, '--demo', '--settle', '0.3'], { reject: false, env: { NO_COLOR: '1' }, timeout: 60_000 });
    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/Applied: the WebSocket fix is live and verified/);
    expect(stdout).not.toMatch(/same command with --rollback/);
    expect(stdout).toMatch(/To see a rollback: apply-ws-fix --demo --rollback/);
  }, 60_000);
});

describe('summarize', () => {
  const applied = { outcome: 'applied', exitCode: 0, user: 'u', host: 'h', port: 22, durationMs: 1000, error: null, diagnosis: null, steps: [], rollback: null, recovery: null } as unknown as RunReport;

  it('a real host keeps its undo line; undoHint null leaves it out', () => {
    expect(summarize(applied)).toMatch(/To undo: the same command with --rollback/);
    expect(summarize(applied, { undoHint: null })).not.toMatch(/To undo/);
  });
});
