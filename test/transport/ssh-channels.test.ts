// The transport's channel limit against the fake host, whose sshd refuses session channels past MaxSessions as
// OpenSSH does (channel open failure, reason 2): never more than 8 at once, and a refused channel waits, not fails.
import { writeFile } from 'node:fs/promises';
import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { connectSsh } from '../../src/transport/ssh.js';
import type { Transport } from '../../src/transport/transport.js';
import { runAgainst } from '../helpers/fake-run.js';

let host: FakeHost | undefined;
let transport: Transport | undefined;

afterEach(async () => {
  await transport?.close();
  await host?.close();
  transport = undefined;
  host = undefined;
});

async function connectTo(h: FakeHost): Promise<Transport> {
  return connectSsh({ host: h.host, port: h.port, user: h.user, identity: h.privateKeyPath, knownHosts: h.knownHostsPath, connectTimeoutMs: 5000, env: {} });
}

// n commands at once, each holding its channel a while; their outputs in order.
async function burst(t: Transport, n: number): Promise<string[]> {
  const results = await Promise.all(Array.from({ length: n }, (_, i) => t.exec(`sleep 0.15; echo ${i}`)));
  for (const result of results) expect(result.code).toBe(0);
  return results.map((result) => result.stdout.toString().trim());
}

const numbers = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i));

describe('channels on one connection', () => {
  it('never opens more than 8 at once on a stock sshd (MaxSessions 10): the rest queue', async () => {
    host = await startFakeHost();
    transport = await connectTo(host);
    expect(await burst(transport, 20)).toEqual(numbers(20));
    expect(host.stats.peakSessions).toBe(8);
  });

  // A command on a fresh channel waits for the open to be confirmed, then for the exec: two round trips. The
  // transport keeps one channel opened ahead, so the next command's exec goes out at once.
  it('each command after the first runs on a channel opened while the one before ran', async () => {
    host = await startFakeHost();
    transport = await connectTo(host);
    for (let i = 0; i < 3; i++) expect((await transport.exec(`sleep 0.1; echo ${i}`)).stdout.toString()).toBe(`${i}\n`);
    const log = host.stats.channelLog;
    const at = (event: string): number => log.indexOf(event);
    const ran = log.filter((e) => e.startsWith('exec ')).map((e) => Number(e.slice(5)));
    expect(ran).toHaveLength(3);
    for (const [k, session] of ran.entries()) {
      if (k === 0) continue;
      // opened before the previous command ended, and never used by another
      expect(at(`open ${session}`)).toBeLessThan(at(`end ${ran[k - 1]}`));
      expect(log.filter((e) => e === `exec ${session}`)).toHaveLength(1);
    }
    // one spare stays open for the next command: no more
    expect(host.stats.sessionsOpened).toBe(4);
  });

  it('a spare channel counts against the limit: a burst of 20 still has at most 8 open', async () => {
    host = await startFakeHost();
    transport = await connectTo(host);
    await transport.exec('true');
    expect(await burst(transport, 20)).toEqual(numbers(20));
    expect(host.stats.peakSessions).toBe(8);
    expect((await transport.exec('echo after')).stdout.toString()).toBe('after\n');
  });

  it('the fake host refuses a channel past its MaxSessions, as OpenSSH does', async () => {
    host = await startFakeHost({ maxSessions: 2 });
    const { connect } = await import('../fake-host/ssh-client.js');
    const raw = await connect(host);
    try {
      const outcomes = await Promise.allSettled([raw.exec('sleep 0.3'), raw.exec('sleep 0.3'), raw.exec('true')]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
      expect(((outcomes[2] as PromiseRejectedResult).reason as { reason?: number }).reason).toBe(2); // OpenSSH's reason (connect failed)
    } finally {
      raw.end();
    }
  });

  it('with MaxSessions 2, a burst of 12 all run: refused channels wait for a free one', async () => {
    host = await startFakeHost({ maxSessions: 2 });
    transport = await connectTo(host);
    expect(await burst(transport, 12)).toEqual(numbers(12));
    expect(host.stats.peakSessions).toBe(2);
    // and the next burst knows the limit already
    expect(await burst(transport, 5)).toEqual(numbers(5));
  });

  it('with MaxSessions 2, the whole runbook runs: dry-run, apply, rollback', async () => {
    host = await startFakeHost({ maxSessions: 2, crashWindowMs: 150 });
    for (const overrides of [{ dryRun: true }, {}, { action: 'rollback' as const }]) {
      const { report } = await runAgainst(host, overrides);
      expect(report.error).toBeNull();
      expect(report.exitCode).toBe(0);
    }
    expect(host.stats.peakSessions).toBe(2);
  });
});

// A TCP relay to the fake host that can go silent: from then on, nothing passes either way (a host that hangs).
async function silenceableRelay(target: FakeHost): Promise<{ port: number; silence(): void; close(): Promise<void> }> {
  let silent = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect({ host: target.host, port: target.port });
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from);
      from.on('data', (data: Buffer) => void (silent || to.write(data)));
      from.on('error', () => to.destroy());
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    silence: () => void (silent = true),
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

describe('listeners on the connection', () => {
  it('commands that time out before their channel opens, then one more, print no MaxListenersExceededWarning', async () => {
    host = await startFakeHost();
    const relay = await silenceableRelay(host);
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const knownHosts = `${host.knownHostsPath}.relay`;
      await writeFile(knownHosts, `${host.knownHostsLine.replace(/^\[127\.0\.0\.1\]:\d+/, `[127.0.0.1]:${relay.port}`)}\n`);
      transport = await connectSsh({ host: host.host, port: relay.port, user: host.user, identity: host.privateKeyPath, knownHosts, connectTimeoutMs: 30_000, env: {} });
      expect((await transport.exec('echo up')).code).toBe(0);
      relay.silence();
      // Eight channel opens that never get an answer (every slot), timed out; then the next command opens one more.
      const timedOut = await Promise.allSettled(Array.from({ length: 8 }, () => transport!.exec('true', { timeoutMs: 300 })));
      expect(timedOut.every((o) => o.status === 'rejected')).toBe(true);
      await expect(transport.exec('true', { timeoutMs: 300 })).rejects.toThrow(/ran past its .* timeout/);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await transport?.close();
      transport = undefined;
      await relay.close();
    }
  });
});
