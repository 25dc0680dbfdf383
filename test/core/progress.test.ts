// A long step shows its progress: on a terminal under the step, in a log (CI) as a line at most every so often, so a
// log never looks hung; --verbose streams a command's output as it comes, each line with the command's number.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineRunbook, param, type Step } from '../../src/index.js';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { runAgainst } from '../helpers/fake-run.js';

const slowStep: Step = {
  id: 'slow',
  title: 'A slow step',
  kind: 'test-slow',
  plan: () => ({ kind: 'change', summary: 'print three lines, slowly', commands: [], data: null }),
  async apply(ctx) {
    const started = Date.now();
    const timer = setInterval(() => ctx.progress(`${((Date.now() - started) / 1000).toFixed(1)} s elapsed`), 100);
    try {
      await ctx.exec('for i in 1 2 3; do echo "line $i"; sleep 0.5; done', { onOutput: () => {} });
    } finally {
      clearInterval(timer);
    }
    return 'done';
  },
};

const slow = defineRunbook({
  id: 'test-slow',
  title: 'A slow step',
  description: 'for tests',
  connection: { host: 'localhost', port: 22, user: 'jnxmas' },
  params: { dir: param.path({ default: '~/vaettir', description: 'the project' }) },
  project: (p) => p.dir,
  apply: () => ({ steps: [slowStep], checks: [] }),
});

let host: FakeHost;
beforeAll(async () => {
  host = await startFakeHost();
});
afterAll(async () => {
  await host.close();
});

describe('progress of a long step', () => {
  it('in a log: a progress line at most every progressEveryMs, while the step runs', async () => {
    const { report, output } = await runAgainst(host, { params: { dir: '~/vaettir' } }, { renderer: 'simple', progressEveryMs: 400 }, slow);
    expect(report.exitCode).toBe(0);
    const lines = output.split('\n').filter((l) => /s elapsed/.test(l));
    // About 1.5 s of work: more than one line, and not one every 100 ms.
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(6);
  });

  it('--verbose streams the output as it comes, numbered, before the command ends', async () => {
    const { output } = await runAgainst(host, { verbose: true, params: { dir: '~/vaettir' } }, { renderer: 'simple', progressEveryMs: 60_000 }, slow);
    const numbered = /\$ \[(\d+)\] .*for i in 1 2 3/.exec(output)?.[1];
    expect(numbered).toBeDefined();
    const at = (s: string) => output.indexOf(s);
    expect(at(`[${numbered}]   line 1`)).toBeGreaterThan(-1);
    expect(at(`[${numbered}]   line 3`)).toBeGreaterThan(at(`[${numbered}]   line 1`));
    expect(at(`[${numbered}] exit 0`)).toBeGreaterThan(at(`[${numbered}]   line 3`));
  });
});
