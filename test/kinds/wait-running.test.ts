// The settle wait after a change: the host polls `docker compose ps` in one command (one round trip for the whole
// wait, not one per poll), the client judges every sample, and a host whose answers carry no samples is polled by the
// client as before.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeCommands, type ComposeTarget } from '../../src/compose/commands.js';
import type { ExecContext } from '../../src/core/types.js';
import { StepError } from '../../src/errors.js';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { pollSamples, waitRunning } from '../../src/kinds/compose.js';
import { RemotePath } from '../../src/shell/quote.js';
import { connectSsh } from '../../src/transport/ssh.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/transport/transport.js';

let host: FakeHost;
let transport: Transport;
let target: ComposeTarget;

beforeEach(async () => {
  host = await startFakeHost({ crashWindowMs: 300 });
  transport = await connectSsh({ host: host.host, port: host.port, user: host.user, identity: host.privateKeyPath, knownHosts: host.knownHostsPath, connectTimeoutMs: 5000, env: {} });
  target = { dir: new RemotePath(host.projectDir), service: 'ocapistaine', profiles: ['production', 'proxy'] };
});
afterEach(async () => {
  await transport.close();
  await host.close();
});

function contextOf(exec: (command: string, options?: ExecOptions) => Promise<ExecResult>, progress: string[] = []): ExecContext {
  return { exec, progress: (text: string) => progress.push(text), options: { commandTimeoutMs: 30_000 } } as unknown as ExecContext;
}

const psCommands = () => host.stats.commands.filter((c) => c.includes('compose ps'));

describe('waitRunning', () => {
  it('a container that stays up settles in one remote command, with a countdown from its samples', async () => {
    const progress: string[] = [];
    const status = await waitRunning(contextOf((c, o) => transport.exec(c, o), progress), target, 1000, 10_000);
    expect(status).toMatchObject({ state: 'running', service: 'ocapistaine' });
    expect(psCommands()).toHaveLength(1);
    expect(progress.some((p) => /still running in 1 s counts as settled/.test(p))).toBe(true);
  });

  it('a crash loop after a recreate fails the wait, from the host-side samples, in one remote command', async () => {
    host.faults.add('crash-always');
    expect((await transport.exec(composeCommands.up(target, true))).code).toBe(0);
    const before = psCommands().length;
    const error = await waitRunning(contextOf((c, o) => transport.exec(c, o)), target, 1000, 10_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).message).toMatch(/is not running: Restarting/);
    expect(psCommands().length - before).toBe(1);
  });

  it('answers without samples (a stand-in exec): the client polls one ps at a time, as before', async () => {
    const seen: string[] = [];
    const plainPs = async (command: string): Promise<ExecResult> => {
      seen.push(command);
      // whatever was asked, the answer is one plain `ps`: no sample markers
      return transport.exec(composeCommands.ps(target));
    };
    const status = await waitRunning(contextOf(plainPs), target, 600, 10_000);
    expect(status.state).toBe('running');
    expect(seen[0]).toMatch(/@apply-ws-fix-ps-sample/);
    expect(seen.slice(1).every((c) => c === composeCommands.ps(target))).toBe(true);
    expect(seen.length).toBeGreaterThanOrEqual(3);
  });
});

describe('pollSamples', () => {
  it('splits the output into samples with their exit status, keeping an unfinished one for later', () => {
    const { samples, rest } = pollSamples('{"State":"running"}\n@apply-ws-fix-ps-sample 0\n\n@apply-ws-fix-ps-sample 1\n{"State":"exi');
    expect(samples.map((s) => [s.stdout.toString(), s.code])).toEqual([
      ['{"State":"running"}\n', 0],
      ['\n', 1],
    ]);
    expect(rest).toBe('{"State":"exi');
  });
});
