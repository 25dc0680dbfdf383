// The new runbooks share the ws-fix's project, and so its lock and its journal: each --rollback undoes its own
// runbook's last run (never another's), a second run is refused while one holds the lock, and fleets run them.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import retarget from '../../runbooks/ocapistaine-retarget/runbook.js';
import rotateToken from '../../runbooks/ocapistaine-rotate-token/runbook.js';
import { runFleet, worstExitCode } from '../../src/core/fleet.js';
import { parseJournal } from '../../src/core/host-journal.js';
import type { RunOptions } from '../../src/core/options.js';
import type { Runbook } from '../../src/core/types.js';
import { UPSTREAMS, startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { connectSsh } from '../../src/transport/ssh.js';
import { BROKEN, DESIRED, runOptions } from '../helpers/context.js';
import { runAgainst } from '../helpers/fake-run.js';

const [OLD, NEW] = UPSTREAMS;
const TOKEN = 'fleet-token-0a1b2c3d4e5f';
let hosts: FakeHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.close()));
  hosts = [];
});

const base = { dir: '~/vaettir', service: 'ocapistaine', url: 'unused' };
const run = (host: FakeHost, runbook: Runbook, params: Record<string, string>, overrides: Partial<RunOptions> = {}) => runAgainst(host, { ...overrides, params: { ...base, ...params } }, {}, runbook);

describe('three runbooks on one project', () => {
  let host: FakeHost;
  beforeEach(async () => {
    host = await startFakeHost({ crashWindowMs: 150 });
    hosts.push(host);
  });
  const env = () => readFile(join(host.projectDir, '.env'), 'utf8');

  it('each --rollback undoes its own runbook\'s last run, and refuses to overwrite a later change of another', async () => {
    expect((await runAgainst(host)).report.outcome).toBe('applied');
    const original = await env();
    expect((await run(host, retarget, { 'target-url': NEW })).report.outcome).toBe('applied');
    const retargeted = await env();
    expect((await run(host, rotateToken, { token: TOKEN })).report.outcome).toBe('applied');

    // The retarget's .env was changed since (the token): its rollback refuses, and changes nothing.
    const refused = await run(host, retarget, {}, { action: 'rollback' });
    expect(refused.report).toMatchObject({ exitCode: 3, error: { code: 'file-edited' } });
    expect(await env()).toContain(TOKEN);

    // Last in, first out: the token, then the target, then the WebSocket fix.
    expect((await run(host, rotateToken, {}, { action: 'rollback' })).report.outcome).toBe('rolled-back');
    expect(await env()).toBe(retargeted);
    expect((await run(host, retarget, {}, { action: 'rollback' })).report.outcome).toBe('rolled-back');
    expect(await env()).toBe(original);
    expect(host.container()?.renderedConfig).toContain(`proxy_pass ${OLD};`);
    expect(await readFile(host.templatePath)).toEqual(DESIRED);
    expect((await runAgainst(host, { action: 'rollback' })).report.outcome).toBe('rolled-back');
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
    // Nothing left of the retarget's to undo.
    expect((await run(host, retarget, {}, { action: 'rollback' })).report.outcome).toBe('nothing-to-roll-back');

    // The journal names each run's runbook and keeps only checksums of the .env.
    const state = join(host.home, '.apply-ws-fix');
    const [dir] = await readdir(state);
    const events = parseJournal(await readFile(join(state, dir!, 'journal.jsonl'), 'utf8'));
    const runbooks = events.filter((e) => e.event === 'start').map((e) => (e as { runbook: string }).runbook);
    expect(new Set(runbooks)).toEqual(new Set(['ocapistaine-ws-fix', 'ocapistaine-retarget', 'ocapistaine-rotate-token']));
    const writes = events.filter((e) => e.event === 'step' && (e as { step: string }).step === 'write-env');
    expect(writes.length).toBe(2);
    for (const w of writes) expect(Object.keys((w as { record: object }).record).sort()).toEqual(['backup', 'newSha256', 'originalSha256', 'path']);
  });

  it('a second run is refused while the first holds the lock (exit 3), whichever runbook it is', async () => {
    expect((await runAgainst(host)).report.outcome).toBe('applied');
    // The second run starts while the first waits at its prompt, holding the lock: no race, whatever the load.
    let second: Awaited<ReturnType<typeof run>> | undefined;
    const confirm = async () => {
      second = await run(host, rotateToken, { token: TOKEN });
      return true;
    };
    const first = await runAgainst(host, { params: { ...base, 'target-url': NEW } }, { confirm }, retarget);
    expect(second?.report).toMatchObject({ exitCode: 3, error: { code: 'locked' } });
    expect(first.report.outcome).toBe('applied');
    expect(await env()).not.toContain(TOKEN);
    // Released: the next run takes it.
    expect((await run(host, rotateToken, { token: TOKEN })).report.outcome).toBe('applied');
  });
});

describe('fleets', () => {
  beforeEach(async () => {
    hosts = await Promise.all([0, 1, 2].map(() => startFakeHost({ crashWindowMs: 150 })));
  });
  const fleet = (runbook: Runbook, params: Record<string, string>, overrides: Partial<RunOptions> = {}) => {
    const byPort = new Map(hosts.map((h) => [h.port, h]));
    return runFleet(
      { ...runOptions({ settleMs: 300 }), ...overrides },
      hosts.map((h) => ({ host: h.host, port: h.port, user: h.user, params: { ...base, url: h.publicUrl, ...params } })),
      runbook,
      {
        renderer: 'silent',
        output: new PassThrough() as unknown as NodeJS.WriteStream,
        interrupt: { signal: null },
        connect: (o) => {
          const h = byPort.get(o.port)!;
          return connectSsh({ ...o, identity: h.privateKeyPath, knownHosts: h.knownHostsPath, env: {} });
        },
      },
      2,
    );
  };

  it('retargets every host; the one whose check fails rolls back alone; --rollback then undoes the others', async () => {
    for (const h of hosts) expect((await runAgainst(h)).report.outcome).toBe('applied');
    hosts[1]!.faults.add('no-handshake');
    const reports = await fleet(retarget, { 'target-url': NEW });
    expect(reports.map((r) => r.outcome)).toEqual(['applied', 'failed-and-restored', 'applied']);
    expect(worstExitCode(reports.map((r) => r.exitCode))).toBe(1);
    expect(hosts.map((h) => h.container()?.renderedConfig.includes(`proxy_pass ${NEW};`))).toEqual([true, false, true]);
    const back = await fleet(retarget, {}, { action: 'rollback' });
    // The host that rolled back by itself has no applied retarget in its journal (only the WebSocket fix's, not this one's).
    expect(back.map((r) => r.outcome)).toEqual(['rolled-back', 'could-not-start', 'rolled-back']);
    expect(back[1]?.error?.message).toMatch(/names no applied run to roll back/);
    expect(hosts.every((h) => h.container()?.renderedConfig.includes(`proxy_pass ${OLD};`))).toBe(true);
  });

  it('rotates the token on every host', async () => {
    const reports = await fleet(rotateToken, { token: TOKEN });
    expect(reports.map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied']);
    for (const h of hosts) expect(await readFile(join(h.projectDir, '.env'), 'utf8')).toContain(`OCAPISTAINE_API_TOKEN=${TOKEN}`);
  });
});

describe('an unfinished run of another runbook on the same project', () => {
  it('is said, not adopted: its step records are not this runbook\'s to undo', async () => {
    const { startFakeHost } = await import('../../src/fake-host/host.js');
    const { runAgainst } = await import('../helpers/fake-run.js');
    const { writeFile, mkdir, readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { stateDirOf } = await import('../helpers/fake-run.js');
    const host = await startFakeHost({ crashWindowMs: 150 });
    try {
      // A retarget that died after writing .env: its journal has a start and a step, no end.
      await mkdir(stateDirOf(host), { recursive: true });
      const at = new Date().toISOString();
      await writeFile(join(stateDirOf(host), 'journal.jsonl'), [
        { event: 'start', runId: '20261130T000000Z-0the12', at, action: 'apply', by: 'op@laptop', pid: 1, runbook: 'ocapistaine-retarget' },
        { event: 'step', runId: '20261130T000000Z-0the12', at, step: 'write-env', kind: 'file-replace', record: { path: '~/vaettir/.env', backup: '~/vaettir/.env.backup', originalSha256: 'a', newSha256: 'b' } },
      ].map((l) => JSON.stringify(l)).join('\n') + '\n');
      const { report, output } = await runAgainst(host, {}, { renderer: 'simple' });
      expect(report).toMatchObject({ outcome: 'applied', exitCode: 0, unfinished: null });
      expect(output).toMatch(/Note: a run of another runbook on this project did not finish: run 20261130T000000Z-0the12/);
      expect((await readFile(join(stateDirOf(host), 'journal.jsonl'), 'utf8'))).not.toMatch(/"taken-over","runId":"20261130T000000Z-0the12"/);
    } finally {
      await host.close();
    }
  });
});
