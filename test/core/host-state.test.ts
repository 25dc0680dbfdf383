// The lock and the run journal on the host: a second run is refused, a dead run is found and finished, and the
// project is one project however --dir spells it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { findUnfinished, parseJournal } from '../../src/core/host-journal.js';
import { whoAmI } from '../../src/core/process-identity.js';
import { connectSsh } from '../../src/transport/ssh.js';
import type { Transport } from '../../src/transport/transport.js';
import { BROKEN, DESIRED } from '../helpers/context.js';
import { runAgainst, stateDirOf } from '../helpers/fake-run.js';

let host: FakeHost;
beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: 150 });
});
afterEach(async () => {
  await host.close();
});

const stateDir = () => stateDirOf(host);
const journal = async () => parseJournal(await readFile(join(stateDir(), 'journal.jsonl'), 'utf8').catch(() => ''));
const lockExists = () => readlink(join(stateDir(), 'lock')).then(() => true, () => false);

async function holdLock(holder: { runId: string } & Record<string, unknown>): Promise<void> {
  await mkdir(join(stateDir(), 'holders'), { recursive: true });
  await writeFile(join(stateDir(), 'holders', `${holder.runId}.json`), JSON.stringify(holder));
  await symlink(holder.runId, join(stateDir(), 'lock'));
}

// A connection that drops right after the template is written, as a lost network would; later connections work unless `down`.
function droppingConnect(down = false) {
  let connections = 0;
  return async (o: Parameters<typeof connectSsh>[0]): Promise<Transport> => {
    connections++;
    if (connections > 1 && down) throw new Error('connect ECONNREFUSED');
    const transport = await connectSsh({ ...o, env: {} });
    if (connections > 1) return transport;
    let dropped = false;
    return {
      label: transport.label,
      close: () => transport.close(),
      async exec(command, options) {
        if (dropped) throw new Error('Not connected to server');
        const result = await transport.exec(command, options);
        if (command.includes('cat > ')) {
          dropped = true;
          await transport.close();
        }
        return result;
      },
    };
  };
}

const alice = () => ({ runId: '20261126T010000Z-aaaaaa', action: 'apply', by: 'alice@laptop', pid: 4242, startedAt: new Date().toISOString() });

describe('the run lock', () => {
  it('is held during the run and released after it, also after a failure', async () => {
    await runAgainst(host);
    expect(await lockExists()).toBe(false);
    host.faults.add('upstream-down');
    await runAgainst(host, { action: 'rollback' });
    expect(await lockExists()).toBe(false);
  });

  it('refuses a second run while another holds it: exit 3, holder named, nothing changed', async () => {
    await holdLock(alice());
    const { report } = await runAgainst(host);
    expect(report).toMatchObject({ exitCode: 3, error: { code: 'locked', message: expect.stringContaining('alice@laptop'), remedy: expect.stringContaining('--force-unlock') } });
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
    expect(await lockExists()).toBe(true);
  });

  it('--force-unlock removes a lock whose holder is not provably alive, and goes on', async () => {
    await holdLock(alice());
    const { report } = await runAgainst(host, { forceUnlock: true });
    expect(report).toMatchObject({ exitCode: 0, outcome: 'applied' });
    expect(await lockExists()).toBe(false);
  });

  it('takes over the lock of a process of this machine that is gone (no --force-unlock), and says so', async () => {
    const child = spawn('true');
    await new Promise((resolve) => child.on('exit', resolve));
    const me = whoAmI();
    await holdLock({ runId: '20261126T010000Z-dead00', action: 'apply', by: me.by, pid: child.pid!, bootId: me.bootId, pidNamespace: me.pidNamespace, startTime: '1', startedAt: new Date().toISOString() });
    const { report, output } = await runAgainst(host, {}, { renderer: 'simple' });
    expect(report).toMatchObject({ exitCode: 0, outcome: 'applied' });
    expect(output).toMatch(/took over the lock of run 20261126T010000Z-dead00 .*that process on this machine is gone/);
  });

  it('--force-unlock refuses the lock of a holder that is provably alive on this machine', async () => {
    const child = spawn('sleep', ['30']);
    try {
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const me = whoAmI();
      await holdLock({ runId: '20261126T010000Z-a11ve0', action: 'apply', by: me.by, pid: child.pid!, bootId: me.bootId, pidNamespace: me.pidNamespace, startTime: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19], startedAt: new Date().toISOString() });
      const { report } = await runAgainst(host, { forceUnlock: true });
      expect(report).toMatchObject({ exitCode: 3, error: { code: 'locked', message: expect.stringMatching(/alive on this machine/) } });
      expect(await lockExists()).toBe(true);
      expect(await readFile(host.templatePath)).toEqual(BROKEN);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a dry-run takes no lock and writes no journal', async () => {
    await holdLock(alice());
    const { report } = await runAgainst(host, { dryRun: true });
    expect(report.exitCode).toBe(0);
    expect(await journal()).toEqual([]);
  });

  it('is one lock however --dir spells the project: ~/vaettir, ~/vaettir/, the absolute path, a symlink to it', async () => {
    await holdLock(alice());
    await symlink(host.projectDir, join(host.home, 'alias'));
    for (const dir of ['~/vaettir', '~/vaettir/', host.projectDir, `${host.projectDir}/./`, '~/alias']) {
      const { report } = await runAgainst(host, { params: { dir, service: 'ocapistaine', url: host.publicUrl } });
      expect(report, dir).toMatchObject({ exitCode: 3, error: { code: 'locked' } });
    }
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
  });

  it('a project directory that does not exist: exit 3, and nothing is left under ~/.apply-ws-fix', async () => {
    const { report } = await runAgainst(host, { params: { dir: '~/nowhere', service: 'ocapistaine', url: host.publicUrl } });
    expect(report).toMatchObject({ exitCode: 3, error: { code: 'precondition-dir' } });
    await expect(readFile(join(host.home, '.apply-ws-fix'))).rejects.toThrow(/ENOENT/);
  });
});

describe('the run journal', () => {
  it('records the start, each change (with its undo record) before it is made, and the end', async () => {
    const { report } = await runAgainst(host);
    const events = await journal();
    expect(events.map((e) => (e.event === 'step' ? `step:${(e as { step: string }).step}` : e.event))).toEqual(['start', 'step:write-template', 'step:build', 'step:deploy', 'end']);
    expect(new Set(events.map((e) => e.runId))).toEqual(new Set([report.runId]));
    expect(events[1]).toMatchObject({ kind: 'file-replace', record: { backup: '~/vaettir/proxy-configs/ocapistaine.conf.template.backup', originalSha256: report.checksums?.original, newSha256: report.checksums?.new } });
    expect(events.at(-1)).toMatchObject({ outcome: 'applied', exitCode: 0 });
  });

  it('a run that changes nothing writes nothing', async () => {
    await runAgainst(host);
    const before = await journal();
    await runAgainst(host);
    expect(await journal()).toEqual(before);
  });

  it('records the rollback of a failed run', async () => {
    host.faults.add('health-fails');
    await runAgainst(host);
    const events = await journal();
    expect(events.map((e) => e.event).slice(-2)).toEqual(['rollback', 'end']);
    expect(events.at(-1)).toMatchObject({ outcome: 'failed-and-restored', exitCode: 1 });
  });
});

describe('a dropped connection', () => {
  it('after the template was written: reconnects and rolls back, exit 1', async () => {
    const { report } = await runAgainst(host, {}, { connect: droppingConnect() });
    expect(report).toMatchObject({ exitCode: 1, outcome: 'failed-and-restored' });
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
    expect(await lockExists()).toBe(false);
  });

  it('when the host stays unreachable: exit 2 with the commands; the next run finds the unfinished run and finishes it', async () => {
    const first = await runAgainst(host, {}, { connect: droppingConnect(true) });
    expect(first.report).toMatchObject({ exitCode: 2, outcome: 'failed-not-restored' });
    expect(first.report.recovery?.some((c) => c.includes('ocapistaine.conf.template.backup'))).toBe(true);
    expect(await readFile(host.templatePath)).toEqual(DESIRED);
    expect(findUnfinished(await journal(), 'none')).toMatchObject({ runId: first.report.runId, entries: [{ step: 'write-template', record: { backup: '~/vaettir/proxy-configs/ocapistaine.conf.template.backup' } }] });

    // The dead run's lock is still there. Its process (this one) lives on, but the run has ended: it is taken over.
    const second = await runAgainst(host);
    expect(second.report).toMatchObject({ exitCode: 0, outcome: 'applied', unfinished: { runId: first.report.runId, changed: ['write-template'] } });
    expect(findUnfinished(await journal(), 'none')).toBeUndefined();
  });

  it('a run that finds an unfinished run and then fails a check restores the template from before that run', async () => {
    await runAgainst(host, {}, { connect: droppingConnect(true) });
    host.faults.add('health-fails');
    const second = await runAgainst(host);
    expect(second.report).toMatchObject({ exitCode: 1, outcome: 'failed-and-restored' });
    expect(await readFile(host.templatePath)).toEqual(BROKEN);
  });
}, 60_000);
