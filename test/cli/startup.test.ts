// --help and --version load yargs, the option definitions and a runbook's meta at most (the plain --help, where the
// build saved its text, not even yargs): never the SSH client, the task list renderer, the diff library or the
// WebSocket client, which only a run needs. A behaviour test: it lists what the process loads
// (test/helpers/module-trace.mjs), it does not time it (the bench does: npm run bench).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

const ROOT = packageRoot();
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const TRACE = join(ROOT, 'test', 'helpers', 'module-trace.mjs');
const HEAVY = ['listr2', 'ssh2', 'node-ssh', 'diff', 'ws'] as const;
const work = mkdtempSync(join(tmpdir(), 'awf-startup-'));
let traces = 0;

// The packages (under node_modules/) and the files of this package that one node process loaded.
async function loaded(nodeArgs: string[], env: NodeJS.ProcessEnv = {}): Promise<{ exitCode: number | undefined; stdout: string; packages: Set<string>; own: Set<string> }> {
  const file = join(work, `trace-${traces++}.txt`);
  // cwd: an empty folder, so no apply-ws-fix.config.json of the checkout is read.
  // LC_ALL=C: yargs' help in English, whatever this machine's locale (another language renders live).
  const r = await execa('node', ['--import', TRACE, ...nodeArgs], { cwd: work, reject: false, env: { NO_COLOR: '1', LC_ALL: 'C', ...env, MODULE_TRACE_FILE: file }, extendEnv: true, timeout: 30_000 });
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  const paths = lines.map((line) => (line.startsWith('file://') ? new URL(line).pathname : line));
  const packages = new Set(paths.flatMap((path) => [...path.matchAll(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((m) => m[1]!)));
  const own = new Set(paths.filter((path) => path.startsWith(`${ROOT}/dist/`)).map((path) => path.slice(ROOT.length + 1)));
  return { exitCode: r.exitCode, stdout: r.stdout, packages, own };
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does).`);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('what a command loads', () => {
  it('the trace sees each of those packages when something does load them (ssh2 too, required from inside node-ssh)', async () => {
    // Bare names resolve from the checkout's node_modules, whatever the cwd.
    const control = join(work, 'control.mjs');
    const imports = HEAVY.filter((name) => name !== 'ssh2').map((name) => `await import(require.resolve(${JSON.stringify(name)}));`);
    writeFileSync(control, [`import { createRequire } from 'node:module';`, `const require = createRequire(${JSON.stringify(join(ROOT, 'package.json'))});`, ...imports].join('\n'));
    const { exitCode, packages } = await loaded([control]);
    expect(exitCode).toBe(0);
    for (const name of HEAVY) expect(packages, name).toContain(name);
  });

  it.each([['--help'], ['-h'], ['help']].map((argv) => ({ argv, shown: argv.join(' ') })))('$shown prints the help the build saved: no yargs, no runbook, none of the heavy packages', async ({ argv }) => {
    const { exitCode, stdout, packages, own } = await loaded([CLI, ...argv]);
    expect(exitCode).toBe(0);
    expect(stdout).toContain('Options:');
    expect(stdout).toContain('Runbook: ocapistaine-ws-fix:');
    expect([...packages]).toEqual([]);
    expect([...own].filter((path) => path.startsWith('dist/runbooks/'))).toEqual([]);
  });

  const rendered = [
    { argv: ['--runbook', 'ocapistaine-retarget', '--help'], env: {}, says: 'Options:' },
    { argv: ['--runbook', 'ocapistaine-rotate-token', '--help'], env: {}, says: 'Options:' },
    { argv: ['--help'], env: { LC_ALL: 'de_DE.UTF-8' }, says: 'Optionen:' },
    { argv: ['--help'], env: { APPLY_WS_FIX_SETTLE: '7' }, says: 'Options:' },
  ].map((c) => ({ ...c, shown: [...Object.entries(c.env).map(([k, v]) => `${k}=${v}`), ...c.argv].join(' ') }));
  it.each(rendered)('$shown renders with yargs and the runbook\'s meta, not its code nor the heavy packages', async ({ argv, env, says }) => {
    const { exitCode, stdout, packages, own } = await loaded([CLI, ...argv], env);
    expect(exitCode).toBe(0);
    expect(stdout).toContain(says);
    expect(packages).toContain('yargs');
    for (const name of HEAVY) expect(packages, `${argv.join(' ')} loaded ${name}`).not.toContain(name);
    const runbook = argv.includes('--runbook') ? argv[argv.indexOf('--runbook') + 1]! : 'ocapistaine-ws-fix';
    expect(own).toContain(`dist/runbooks/${runbook}/meta.js`);
    expect([...own].filter((path) => path.startsWith('dist/runbooks/') && !path.endsWith('/meta.js'))).toEqual([]);
  });

  it.each([['--version'], ['-V']])('%s loads no parser, no runbook and none of the heavy packages', async (flag) => {
    const { exitCode, stdout, packages, own } = await loaded([CLI, flag]);
    expect(exitCode).toBe(0);
    expect(stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    expect(own).toContain('dist/src/cli/main.js');
    expect([...packages]).toEqual([]);
    expect([...own].filter((path) => path.startsWith('dist/runbooks/'))).toEqual([]);
  });

  it('--version beside another flag is still parsed, and an unknown flag still refused', async () => {
    const { exitCode, packages } = await loaded([CLI, '--version', '--bogus']);
    expect(exitCode).toBe(64);
    for (const name of HEAVY) expect(packages, name).not.toContain(name);
  });

  it('a run loads the runbook itself: explain prints the procedure from its code', async () => {
    const { exitCode, stdout, own } = await loaded([CLI, 'explain']);
    expect(exitCode).toBe(0);
    expect(stdout).toMatch(/^# /m);
    expect(own).toContain('dist/runbooks/ocapistaine-ws-fix/runbook.js');
  });
});
