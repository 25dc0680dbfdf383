// Faults injected at a given remote command, against the fake host over real SSH: a drop, a timeout, a journal or
// lock that cannot be written, and someone else's edit in the middle of a rollback. Each asserts the exact error
// code and the host's bytes afterwards.
import { appendFile, mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { connectSsh } from '../../src/transport/ssh.js';
import type { Transport } from '../../src/transport/transport.js';
import { BROKEN, DESIRED } from '../helpers/context.js';
import { runAgainst, stateDirOf } from '../helpers/fake-run.js';
import { faulty, type FaultRule } from '../helpers/faulty-transport.js';

let host: FakeHost;
beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: 150 });
});
afterEach(async () => {
  await host.close();
});

// The first connection breaks as the rules say; a reconnect gets a sound one.
function connectWith(rules: FaultRule[], seen: string[] = []) {
  let connections = 0;
  return async (o: Parameters<typeof connectSsh>[0]): Promise<Transport> => {
    connections++;
    const transport = await connectSsh({ ...o, env: {} });
    return connections === 1 ? faulty(transport, rules, seen) : transport;
  };
}

const template = () => readFile(host.templatePath);

describe('faults at a remote command', () => {
  it('a channel closed without an exit status is a lost connection: reconnect, roll back, exit 1 (connection-lost)', async () => {
    const { report } = await runAgainst(host, {}, { connect: connectWith([{ match: 'compose build', fault: { kind: 'no-exit-status' } }]) });
    expect(report).toMatchObject({ outcome: 'failed-and-restored', exitCode: 1, error: { code: 'connection-lost' } });
    expect(await template()).toEqual(BROKEN);
  });

  it('node-ssh\'s plain "Not connected to server" is a lost connection, not a bug', async () => {
    const { report } = await runAgainst(host, {}, { connect: connectWith([{ match: 'compose build', fault: { kind: 'not-connected' } }]) });
    expect(report.error?.code).toBe('connection-lost');
    expect(report.error?.remedy).not.toMatch(/bug/);
    expect(await template()).toEqual(BROKEN);
  });

  it('a command past its timeout is a timeout (its effect unknown): not run again, no reconnect, the unwind reads again', async () => {
    const seen: string[] = [];
    const { report } = await runAgainst(host, {}, { connect: connectWith([{ match: ' up -d', fault: { kind: 'hang' } }], seen) });
    expect(report).toMatchObject({ error: { code: 'command-timeout' } });
    expect(seen.filter((c) => c.includes(' up -d ocapistaine') && !c.includes('--force-recreate'))).toHaveLength(1);
    expect(report.rollback?.restored).toBe(true);
    expect(await template()).toEqual(BROKEN);
    expect(host.stats.connections).toBe(1);
  });

  it('a journal line that cannot be written stops the change it announces: the template is not written', async () => {
    // The run's state directory exists once the lock is taken; its journal is then made a directory.
    const { report } = await runAgainst(host, {}, {
      connect: connectWith([{ match: 'cat > ', fault: { kind: 'before', run: async () => {
        await rm(join(stateDirOf(host), 'journal.jsonl'), { force: true });
        await mkdir(join(stateDirOf(host), 'journal.jsonl'));
      } } }]),
    });
    expect(report).toMatchObject({ exitCode: 1, error: { code: 'step:write-template', message: expect.stringMatching(/cannot write the run journal .*the change was not made/) } });
    expect(report.steps.find((s) => s.id === 'write-template')?.status).toBe('failed');
    expect(await template()).toEqual(BROKEN);
  });

  it('a lock whose holder record cannot be written is not taken: exit 3, and no lock is left for the next run', async () => {
    // A file where the holders directory must be: the holder's record cannot be written (as on a full disk).
    await mkdir(stateDirOf(host), { recursive: true });
    await writeFile(join(stateDirOf(host), 'holders'), 'not a directory');
    const first = await runAgainst(host);
    expect(first.report).toMatchObject({ exitCode: 3, error: { code: 'lock' } });
    await expect(readlink(join(stateDirOf(host), 'lock'))).rejects.toThrow(/ENOENT/);
    expect(await template()).toEqual(BROKEN);
    // Once the cause is gone, the next run takes the lock: nothing was left half-taken.
    await rm(join(stateDirOf(host), 'holders'));
    expect((await runAgainst(host)).report).toMatchObject({ exitCode: 0, outcome: 'applied' });
  });

  it('someone else\'s edit during the rollback: the restore refuses, nothing is rebuilt or recreated from it, exit 2 with the commands', async () => {
    host.faults.add('upstream-down');
    const seen: string[] = [];
    const edit = '# edited by someone else during the run\n';
    const { report } = await runAgainst(host, {}, {
      connect: connectWith([{ match: (c) => c.includes('sha256sum'), fault: { kind: 'before', run: () => appendFile(host.templatePath, edit) } }], seen),
    });
    expect(report).toMatchObject({ outcome: 'failed-not-restored', exitCode: 2, rollback: { restored: false } });
    expect(report.rollback?.actions.map((a) => [a.id, a.status])).toEqual([['restore-template', 'failed'], ['rebuild-image', 'skipped'], ['recreate-container', 'skipped']]);
    const afterRestore = seen.slice(seen.findIndex((c) => c.includes('sha256sum')) + 1);
    expect(afterRestore.filter((c) => /compose (build|up)/.test(c))).toEqual([]);
    expect((await template()).toString()).toBe(DESIRED.toString() + edit);
    expect(report.recovery?.[1]).toMatch(/^cp -p -- .*ocapistaine\.conf\.template\.backup .*ocapistaine\.conf\.template /);
  });
});
