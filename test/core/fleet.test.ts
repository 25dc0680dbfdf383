// Several hosts: each its own run; a failure rolls back that host only and the others finish.
import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ocapistaineWsFix from '../../runbooks/ocapistaine-ws-fix/runbook.js';
import { fleetTable, runFleet, worstExitCode } from '../../src/core/fleet.js';
import { hostsFileLines, parseTargetLine } from '../../src/core/targets.js';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { connectSsh } from '../../src/transport/ssh.js';
import { BROKEN, DESIRED, params, runOptions } from '../helpers/context.js';

describe('targets', () => {
  it.each([
    ['h.example', { host: 'h.example' }],
    ['op@h.example:2222', { user: 'op', host: 'h.example', port: '2222' }],
    ['[::1]:2200', { host: '::1', port: '2200' }],
    ['::1', { host: '::1' }],
    ['proxy-2 https://two.example', { host: 'proxy-2', url: 'https://two.example' }],
  ])('%s', (text, target) => expect(parseTargetLine(text)).toEqual(target));

  it('reads a hosts file with comments and blank lines', () => {
    expect(hostsFileLines('# proxies\nproxy-1\n\n op@proxy-2:2222 https://two.example # the second\n')).toEqual([{ text: 'proxy-1', line: 2 }, { text: 'op@proxy-2:2222 https://two.example', line: 4 }]);
  });

  it('the exit code is the worst host\'s', () => {
    expect(worstExitCode([0, 1, 0])).toBe(1);
    expect(worstExitCode([0, 3, 1])).toBe(3);
    expect(worstExitCode([1, 2, 130])).toBe(2);
    expect(worstExitCode([0, 0])).toBe(0);
  });
});

describe('runFleet against three fake hosts', () => {
  const hosts: FakeHost[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) hosts.push(await startFakeHost({ crashWindowMs: 150 }));
    hosts[1]!.faults.add('health-fails');
  });
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.close()));
  });

  it('rolls back the failing host only; the others finish; one connection each', async () => {
    // The fake hosts share a key type but not keys: each run gets its own identity and known_hosts.
    const byPort = new Map(hosts.map((h) => [h.port, h]));
    const output = new PassThrough();
    const reports = await runFleet(
      runOptions({ settleMs: 300 }),
      hosts.map((h) => ({ host: h.host, port: h.port, user: h.user, params: params({ url: h.publicUrl }) })),
      ocapistaineWsFix,
      {
        renderer: 'silent',
        output: output as unknown as NodeJS.WriteStream,
        interrupt: { signal: null },
        connect: (o) => {
          const h = byPort.get(o.port)!;
          return connectSsh({ ...o, identity: h.privateKeyPath, knownHosts: h.knownHostsPath, env: {} });
        },
      },
      2,
    );
    expect(reports.map((r) => r.port)).toEqual(hosts.map((h) => h.port));
    expect(reports[1]).toMatchObject({ exitCode: 1, outcome: 'failed-and-restored' });
    expect(await readFile(hosts[1]!.templatePath)).toEqual(BROKEN);
    for (const i of [0, 2]) {
      expect(await readFile(hosts[i]!.templatePath)).toEqual(DESIRED);
      expect(hosts[i]!.stats.connections).toBe(1);
    }
    expect(worstExitCode(reports.map((r) => r.exitCode))).toBe(1);
    expect(fleetTable(reports).split('\n')).toHaveLength(4);
  });
});

describe('checkWaves', () => {
  it('groups consecutive concurrent checks, keeping order', async () => {
    const { checkWaves } = await import('../../src/core/tasks.js');
    const p = params();
    expect(checkWaves(ocapistaineWsFix.apply(p).checks).map((wave) => wave.map((c) => c.id))).toEqual([['running'], ['logs', 'rendered'], ['endpoint']]);
    expect(checkWaves(ocapistaineWsFix.rollback!(p).checks).map((wave) => wave.map((c) => c.id))).toEqual([['running'], ['logs']]);
  });
});
