// Any login shell and a stock sshd. sshd runs every command with the remote user's login shell; the tool must get
// POSIX sh all the same (with zsh, a read used to stop at "no matches found"; with fish, an apply failed with a false
// "the template changed"). And a stock OpenSSH allows 10 sessions per connection; with MaxSessions 2 the first read
// burst is refused channels, which must wait for a free one instead of failing.
import { existsSync, readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectSsh } from '../../src/transport/ssh.js';
import { allOutputs, cliMissing, explain, hostFlags, runCli, staleBuildWarning, stepStatus } from './cli.js';
import { realHostPrerequisites, startRealHost, type RealHost } from './harness/real-host.js';
import { backup, expectBrokenHost, expectFixedHost, SEED_CONFIG, template } from './host-state.js';

const SHELLS = ['/bin/bash', '/bin/dash', '/usr/bin/zsh', '/usr/bin/fish'];
const missing = [
  ...realHostPrerequisites(),
  ...[cliMissing()].filter((m): m is string => m !== undefined),
  ...SHELLS.filter((shell) => !existsSync(shell)).map((shell) => `${shell} (bash test/e2e/install-deps.sh)`),
];
// In CI a missing prerequisite fails the suite; elsewhere the file is skipped with the reason.
const skip = missing.length > 0 && !process.env.CI;
if (skip) console.warn(`e2e login-shell tests skipped, missing: ${missing.join('; ')}`);
const stale = staleBuildWarning();
if (stale) console.warn(stale);

// The whole life cycle an operator runs: dry-run, apply, rollback, each read back from the host.
async function lifeCycle(host: RealHost): Promise<void> {
  const flags = hostFlags(host);
  const dry = await runCli([...flags, '--dry-run', '--json']);
  expect(dry.exitCode, explain(dry)).toBe(0);
  expect(dry.report).toMatchObject({ outcome: 'dry-run', error: null });
  expect(dry.report?.diff).toMatch(/^\+map \$http_upgrade \$connection_upgrade \{$/m);
  expect(template(host)).toBe(host.originalTemplate);

  const apply = await runCli([...flags, '--yes', '--json']);
  expect(apply.exitCode, explain(apply)).toBe(0);
  expect(apply.report).toMatchObject({ outcome: 'applied', error: null, rollback: null });
  expect(stepStatus(apply, 'endpoint')).toBe('done');
  await expectFixedHost(host);
  expect(template(host)).toBe(SEED_CONFIG);
  expect(backup(host)).toBe(host.originalTemplate);

  const rollback = await runCli([...flags, '--rollback', '--yes', '--json']);
  expect(rollback.exitCode, explain(rollback)).toBe(0);
  expect(rollback.report).toMatchObject({ outcome: 'rolled-back', error: null });
  await expectBrokenHost(host);
}

describe.skipIf(skip)('any login shell (real sshd, stock settings)', () => {
  let host: RealHost;

  beforeAll(async () => {
    if (missing.length) throw new Error(`cannot run: ${missing.join('; ')}`);
    host = await startRealHost();
  });
  afterAll(async () => {
    await host?.close();
  });

  test.each(SHELLS)('%s: dry-run, apply and rollback', async (shell) => {
    await host.setLoginShell(shell);
    await host.reset();
    // sshd really hands commands to this shell now
    const seen = await host.ssh('printf %s "$SHELL"');
    expect(seen.stdout).toBe(shell);
    await lifeCycle(host);
  });

  test('a glob that matches nothing stays itself, as in sh (zsh would stop the command)', async () => {
    await host.setLoginShell('/usr/bin/zsh');
    const transport = await connectSsh({ host: '127.0.0.1', port: host.port, user: host.user, identity: host.privateKeyPath, knownHosts: host.knownHostsPath, connectTimeoutMs: 5000, env: {} });
    try {
      const result = await transport.exec('for f in ~/vaettir/nothing.*; do printf "%s" "$f"; done; echo " $0"');
      expect(result.code).toBe(0);
      expect(result.stdout.toString()).toBe(`${host.home}/vaettir/nothing.* /bin/sh\n`);
    } finally {
      await transport.close();
      await host.setLoginShell('/bin/bash');
    }
  });

  test('no secret in any output', () => {
    for (const output of allOutputs) expect(output).not.toContain(host.secret);
  });
});

describe.skipIf(skip)('sshd with MaxSessions 2: refused channels wait for a free one', () => {
  let host: RealHost;

  beforeAll(async () => {
    if (missing.length) throw new Error(`cannot run: ${missing.join('; ')}`);
    host = await startRealHost({ maxSessions: 2 });
  });
  afterAll(async () => {
    await host?.close();
  });

  test('12 commands at once on one connection: all run, never more than 2 at a time', async () => {
    const transport = await connectSsh({ host: '127.0.0.1', port: host.port, user: host.user, identity: host.privateKeyPath, knownHosts: host.knownHostsPath, connectTimeoutMs: 5000, env: {} });
    host.writeFile('sessions.log', '');
    try {
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => transport.exec(`echo + >> ~/sessions.log; sleep 0.2; echo - >> ~/sessions.log; echo ${i}`)),
      );
      for (const result of results) expect(result.code, result.stderr.toString()).toBe(0);
      expect(results.map((r) => r.stdout.toString().trim())).toEqual(Array.from({ length: 12 }, (_, i) => String(i)));
      let open = 0;
      let peak = 0;
      for (const mark of host.readFile('sessions.log').split('\n').filter(Boolean)) {
        open += mark === '+' ? 1 : -1;
        peak = Math.max(peak, open);
      }
      expect(peak).toBe(2);
    } finally {
      await transport.close();
    }
  });

  test('this sshd does refuse a third channel, as OpenSSH words it (what the transport waits out)', async () => {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.on('ready', () => resolve()).on('error', reject);
      client.connect({ host: '127.0.0.1', port: host.port, username: host.user, privateKey: readFileSync(host.privateKeyPath) });
    });
    try {
      const open = () =>
        new Promise<ssh2.ClientChannel>((resolve, reject) => client.exec('sleep 1', (error, channel) => (error ? reject(error) : resolve(channel))));
      const outcomes = await Promise.allSettled([open(), open(), open()]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
      const refusal = (outcomes[2] as PromiseRejectedResult).reason as Error & { reason?: number };
      expect(refusal.message).toBe('(SSH) Channel open failure: open failed');
      expect(refusal.reason).toBe(2); // SSH2_OPEN_CONNECT_FAILED, which OpenSSH gives a session past MaxSessions
    } finally {
      client.end();
    }
  });

  test('the whole life cycle: dry-run (its first read burst asks for 9 channels), apply, rollback', async () => {
    await host.reset();
    await lifeCycle(host);
  });
});
