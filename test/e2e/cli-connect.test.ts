// Bad input and bad hosts, against the real sshd: the built CLI refuses before it changes anything —
// wrong key, unknown or changed host key, no sshd, a silent port, and hostile flag values that must
// never reach a shell as code.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { allOutputs, cliMissing, explain, hostFlags, runCli, staleBuildWarning, type CliResult, type Flags } from './cli.js';
import { realHostPrerequisites, startRealHost, type ContainerState, type RealHost } from './harness/real-host.js';
import { freePort } from './harness/system.js';
import { backup, changingDockerCalls, dockerEvents, expectBrokenHost, template } from './host-state.js';

const missing = [...realHostPrerequisites(), ...[cliMissing()].filter((m): m is string => m !== undefined)];
const skip = missing.length > 0 && !process.env.CI;
if (skip) console.warn(`e2e connection tests skipped, missing: ${missing.join('; ')}`);
const stale = staleBuildWarning();
if (stale) console.warn(stale);

const PWNED = '/tmp/awf-pwned';

// OpenSSH's fingerprint of the key in a known_hosts line: SHA256:<unpadded base64 of the blob's sha256>.
function fingerprintOf(knownHostsLine: string): string {
  const blob = knownHostsLine.trim().split(/\s+/)[2] ?? '';
  return `SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

describe.skipIf(skip)('apply-ws-fix (built CLI): bad hosts and bad input change nothing', () => {
  let host: RealHost;
  let before: ContainerState | undefined;
  let since = 0;

  beforeAll(async () => {
    if (missing.length) throw new Error(`cannot run: ${missing.join('; ')}`);
    host = await startRealHost();
  });
  afterAll(async () => {
    await host?.close();
  });
  beforeEach(() => {
    before = host.container();
    since = Date.now();
    rmSync(PWNED, { force: true });
  });

  const apply = (flags: Flags, ...extra: string[]) => runCli([...hostFlags(host, flags), '--yes', '--json', ...extra]);
  // Nothing ran on the host: no engine event at all, not even an exec (or only reads), the same container, the original template and no backup.
  const expectUntouched = async (r: CliResult, o: { reads?: boolean } = {}) => {
    const calls = o.reads ? changingDockerCalls(host, since) : dockerEvents(host, since);
    expect(calls, explain(r)).toEqual([]);
    expect(host.container()).toEqual(before);
    expect(template(host)).toBe(host.originalTemplate);
    expect(backup(host)).toBeUndefined();
  };
  const expectCouldNotStart = (r: CliResult, code: string | RegExp) => {
    expect(r.exitCode, explain(r)).toBe(3);
    expect(r.report).toMatchObject({ outcome: 'could-not-start', exitCode: 3, rollback: null, recovery: null, steps: [] });
    expect(r.report?.error?.code).toMatch(code);
    expect(r.report?.error?.remedy ?? '').not.toBe('');
    expect(r.stderr).toMatch(/Could not start: nothing was changed/);
  };

  test('the right key and known_hosts connect (the baseline for the cases below)', async () => {
    const r = await runCli([...hostFlags(host), '--dry-run', '--json']);
    expect(r.exitCode, explain(r)).toBe(0);
    await expectUntouched(r, { reads: true });
  });

  test('a key the host does not accept: exit 3, authentication failed, nothing changed', async () => {
    const r = await apply({ identity: host.wrongPrivateKeyPath });
    expectCouldNotStart(r, 'auth');
    expect(r.report?.error?.message).toMatch(new RegExp(`authentication as ${host.user} failed`));
    await expectUntouched(r);
  });

  test('an unknown host key: exit 3, the SHA256 fingerprint to check in the message, nothing changed', async () => {
    const expected = fingerprintOf(readFileSync(host.knownHostsPath, 'utf8'));
    const r = await apply({ 'known-hosts': host.emptyKnownHostsPath });
    expectCouldNotStart(r, 'host-key-unknown');
    expect(r.report?.error?.message).toContain(expected);
    expect(r.stderr).toContain(expected);
    // Nothing was learnt behind the operator's back either.
    expect(readFileSync(host.emptyKnownHostsPath, 'utf8')).toBe('');
    await expectUntouched(r);
  });

  test('a changed host key: exit 3, refused loudly, nothing changed', async () => {
    const r = await apply({ 'known-hosts': host.mismatchedKnownHostsPath });
    expectCouldNotStart(r, 'host-key-changed');
    expect(r.report?.error?.message).toMatch(/CHANGED/);
    expect(r.report?.error?.message).toContain(fingerprintOf(readFileSync(host.knownHostsPath, 'utf8')));
    await expectUntouched(r);
  });

  test('a port with no sshd: exit 3 at once (connection refused), well within the connect timeout', async () => {
    const port = await freePort();
    const r = await apply({ port: String(port), 'connect-timeout': '5' });
    expectCouldNotStart(r, 'connect-refused');
    expect(r.ms).toBeLessThan(5000);
    await expectUntouched(r);
  });

  describe('a port that accepts TCP but never speaks SSH', () => {
    let server: Server;
    let port = 0;
    const sockets: Socket[] = [];
    beforeAll(async () => {
      server = createServer((s) => sockets.push(s.on('error', () => {})));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    });

    test('exit 3 after the connect timeout (2 s), not later', async () => {
      const r = await apply({ port: String(port), 'connect-timeout': '2' });
      expectCouldNotStart(r, /^connect/);
      expect(r.report?.error?.message).toMatch(/within 2 s|timed out|timeout/i);
      expect(r.ms).toBeGreaterThanOrEqual(1900);
      expect(r.ms).toBeLessThan(2000 + 3000);
      await expectUntouched(r);
    });
  });

  describe('hostile values never run as code', () => {
    test("--dir '~/$(touch /tmp/awf-pwned)': not executed (exit 3: no such directory), nothing changed", async () => {
      const r = await apply({ dir: `~/$(touch ${PWNED})` });
      expect([3, 64]).toContain(r.exitCode);
      expect(existsSync(PWNED), explain(r)).toBe(false);
      if (r.exitCode === 3) expect(r.report?.error?.code).toBe('precondition-dir');
      await expectUntouched(r);
    });

    test('--dir with backticks and a ; chain: not executed either', async () => {
      const r = await apply({ dir: `~/vaettir\`touch ${PWNED}\`; touch ${PWNED}` });
      expect([3, 64]).toContain(r.exitCode);
      expect(existsSync(PWNED), explain(r)).toBe(false);
      await expectUntouched(r);
    });

    test("--service 'x;touch /tmp/awf-pwned': refused as usage (exit 64) before connecting", async () => {
      const r = await apply({ service: `x;touch ${PWNED}` });
      expect(r.exitCode, explain(r)).toBe(64);
      expect(r.stderr).toMatch(/--service/);
      expect(existsSync(PWNED)).toBe(false);
      await expectUntouched(r);
    });

    test("--service '$(touch /tmp/awf-pwned)' and --user 'x$(touch /tmp/awf-pwned)': exit 64", async () => {
      for (const flags of [{ service: `$(touch ${PWNED})` }, { user: `x$(touch ${PWNED})` }] satisfies Flags[]) {
        const r = await runCli([...hostFlags(host, flags), '--yes']);
        expect(r.exitCode, explain(r)).toBe(64);
      }
      expect(existsSync(PWNED)).toBe(false);
      await expectUntouched({ exitCode: 64, signal: undefined, stdout: '', stderr: '', ms: 0, report: undefined });
    });

    test('--host that looks like an ssh option: exit 64', async () => {
      const r = await runCli([...hostFlags(host, { host: `-oProxyCommand=touch ${PWNED}` }), '--yes']);
      expect(r.exitCode, explain(r)).toBe(64);
      expect(existsSync(PWNED)).toBe(false);
    });
  });

  test('after all of it the host is as it was: the broken config runs', async () => {
    await expectBrokenHost(host);
  });

  test('the secret (OCAPISTAINE_API_TOKEN) is in no output of any run above', () => {
    expect(allOutputs.length).toBeGreaterThan(10);
    for (const out of allOutputs) expect(out.includes(host.secret), out).toBe(false);
  });
});
