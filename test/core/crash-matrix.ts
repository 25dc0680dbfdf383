// The crash matrix: a fault at every remote command k of a real run, then the next apply and the next --rollback
// must leave the project byte-identical to the fixed or the original state, with mode and links as before, the
// service running, no lock, no temp file, and a journal with nothing unfinished.
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { findUnfinished, parseJournal } from '../../src/core/host-journal.js';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { packageRoot } from '../../src/paths.js';
import { BROKEN, DESIRED } from '../helpers/context.js';
import { runAgainst, stateDirOf } from '../helpers/fake-run.js';

export type CrashFault = 'fail' | 'drop' | 'kill';
export type CrashAction = 'apply' | 'rollback';

const FAST = { settleMs: 100, startTimeoutMs: 5_000, commandTimeoutMs: 20_000 };
const CLI = join(packageRoot(), 'dist', 'src', 'cli.js');

/** A fake host as the action finds it: broken for an apply, fixed (by an apply) for a rollback. */
export async function hostFor(action: CrashAction): Promise<FakeHost> {
  const host = await startFakeHost({ crashWindowMs: 100 });
  if (action === 'rollback') expect((await runAgainst(host, FAST)).report.exitCode).toBe(0);
  return host;
}

/** How many remote commands a clean run of the action sends. */
export async function commandCount(action: CrashAction): Promise<number> {
  const host = await hostFor(action);
  try {
    const before = host.stats.commands.length;
    const { report } = await runAgainst(host, { ...FAST, action });
    expect(report.exitCode).toBe(0);
    return host.stats.commands.length - before;
  } finally {
    await host.close();
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => join(e.parentPath, e.name));
}

/** Runs the action with the fault at its k-th command; returns whether the fault struck and the run's exit code. */
async function faultedRun(host: FakeHost, action: CrashAction, fault: CrashFault, k: number): Promise<{ struck: boolean; exitCode: number | undefined; recovery: string[] | null }> {
  let seen = 0;
  let struck = false;
  if (fault === 'kill') {
    const child = execa('node', [CLI, '--host', host.host, '--port', String(host.port), '--user', host.user, '--identity', host.privateKeyPath, '--known-hosts', host.knownHostsPath, '--ssh-config', 'none', '--url', host.publicUrl, '--yes', '--json', '--settle', '0.1', ...(action === 'rollback' ? ['--rollback'] : [])], { reject: false, env: { HOME: host.home, NO_COLOR: '1' }, timeout: 60_000 });
    host.intercept.current = () => (++seen === k ? { before: () => ((struck = true), child.kill('SIGKILL')) } : undefined);
    const result = await child;
    host.intercept.current = undefined;
    return { struck, exitCode: result.exitCode, recovery: null };
  }
  host.intercept.current = () => (++seen === k ? ((struck = true), fault === 'fail' ? { fail: true } : { drop: true }) : undefined);
  const { report } = await runAgainst(host, { ...FAST, action });
  host.intercept.current = undefined;
  return { struck, exitCode: report.exitCode, recovery: report.recovery };
}

/** One case of the matrix, with every assertion; returns whether the fault struck (k within the run). */
export async function crashCase(action: CrashAction, fault: CrashFault, k: number): Promise<boolean> {
  const host = await hostFor(action);
  try {
    const mode = (await stat(host.templatePath)).mode;
    const before = await readFile(host.templatePath);
    const { struck, exitCode, recovery } = await faultedRun(host, action, fault, k);
    // A run that ends by itself leaves the file as it was, or says it could not, with the commands (exit 2).
    if (fault !== 'kill' && exitCode !== 0) {
      if (exitCode === 2) expect(recovery?.length, `k=${k}: exit 2 without recovery commands`).toBeGreaterThan(1);
      else expect(await readFile(host.templatePath), `k=${k}: exit ${exitCode} changed the template`).toEqual(before);
    }
    // The next apply brings the fix; the next rollback the original. Each from whatever the fault left.
    const apply = await runAgainst(host, FAST);
    expect(apply.report.exitCode, `k=${k} ${fault}: the next apply: ${apply.report.error?.message}`).toBe(0);
    expect(await readFile(host.templatePath)).toEqual(DESIRED);
    expect(host.container()?.state).toBe('running');
    const back = await runAgainst(host, { ...FAST, action: 'rollback' });
    expect(back.report.exitCode, `k=${k} ${fault}: the next rollback: ${back.report.error?.message}`).toBe(0);
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
    expect(host.container()?.state).toBe('running');
    expect((await stat(host.templatePath)).mode).toBe(mode);
    // No lock, no temp file, and nothing unfinished in the journal.
    await expect(readlink(join(stateDirOf(host), 'lock'))).rejects.toThrow(/ENOENT/);
    expect((await filesUnder(host.projectDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const journal = parseJournal(await readFile(join(stateDirOf(host), 'journal.jsonl'), 'utf8'));
    expect(findUnfinished(journal, 'none')).toBeUndefined();
    return struck;
  } finally {
    await host.close();
  }
}

/** The whole matrix for one action: every command k of a clean run, with each fault. */
export function crashMatrix(action: CrashAction): void {
  describe(`a crash at every remote command of ${action === 'apply' ? 'an apply' : 'a --rollback'}`, () => {
    it('leaves nothing lost: the next apply and rollback converge', async () => {
      const n = await commandCount(action);
      // A clean run's remote commands (bursts of reads and checks go as one command each): the matrix is not empty.
      expect(n).toBeGreaterThan(5);
      let struck = 0;
      let cases = 0;
      for (const fault of ['fail', 'drop', 'kill'] as CrashFault[]) {
        for (let k = 1; k <= n; k++) {
          cases++;
          if (await crashCase(action, fault, k)) struck++;
        }
      }
      console.log(`crash matrix (${action}): ${cases} cases over ${n} commands, the fault struck in ${struck}`);
      expect(struck).toBeGreaterThan(cases * 0.8);
    }, 900_000);
  });
}
