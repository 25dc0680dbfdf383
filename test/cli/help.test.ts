// --help as a reader sees it (numbers typed as numbers), and shell completion offering the fault names after --fault.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAULTS } from '../../src/fake-host/faults.js';
import { packageRoot } from '../../src/paths.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli.js');
const cli = (args: string[]) => execa('node', [CLI, ...args], { reject: false, env: { NO_COLOR: '1', COLUMNS: '200' }, timeout: 30_000 });

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does).`);
});

describe('--help', () => {
  it('shows the numeric options as [number], not [string]', async () => {
    const { exitCode, stdout } = await cli(['--help']);
    expect(exitCode).toBe(0);
    for (const flag of ['--port', '--concurrency', '--settle', '--start-timeout', '--connect-timeout']) {
      // An option's row: its name, its description, then the [type] yargs shows (the row may wrap before it).
      const row = new RegExp(`^\\s+${flag}\\s[\\s\\S]*?\\[(\\w+)\\]`, 'm').exec(stdout);
      expect(row?.[1], `${flag}'s type in --help`).toBe('number');
    }
  });
});

describe('completion', () => {
  const complete = async (...words: string[]) => (await cli(['--get-yargs-completions', 'apply-ws-fix', ...words])).stdout.split('\n').filter(Boolean);

  it('offers every fault name after --fault', async () => {
    expect((await complete('--demo', '--fault', '')).sort()).toEqual(Object.keys(FAULTS).sort());
  });

  it('narrows to the names that start with what was typed, also after a comma', async () => {
    expect((await complete('--demo', '--fault', 'up')).sort()).toEqual(['up-fails', 'upstream-down']);
    expect((await complete('--demo', '--fault', 'build-fails,cr')).sort()).toEqual(['build-fails,crash-always', 'build-fails,crash-on-start']);
  });

  it('still offers the flags elsewhere', async () => {
    expect(await complete('--')).toContain('--dry-run');
  });
});
