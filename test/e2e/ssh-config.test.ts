// ~/.ssh/config, default key files and default known_hosts against real OpenSSH: the built CLI as an operator with a
// config runs it (`--host box`), explicit flags winning over the config, and an encrypted key whose passphrase never
// shows in any output.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { cliMissing, explain, staleBuildWarning, type CliResult } from './cli.js';
import { realHostPrerequisites, startRealHost, type RealHost } from './harness/real-host.js';
import { freePort, mustRun } from './harness/system.js';
import { changingDockerCalls, expectBrokenHost } from './host-state.js';
import { cliHome, runCliIn, type CliHome } from './ssh-home.js';

const missing = [...realHostPrerequisites(), ...[cliMissing()].filter((m): m is string => m !== undefined)];
const skip = missing.length > 0 && !process.env.CI;
if (skip) console.warn(`e2e ssh config tests skipped, missing: ${missing.join('; ')}`);
const stale = staleBuildWarning();
if (stale) console.warn(stale);

const PASSPHRASE = 'e2e passphrase, never printed';

describe.skipIf(skip)('apply-ws-fix (built CLI) with ~/.ssh/config against real OpenSSH', () => {
  let host: RealHost;
  let home: CliHome;
  const outputs: string[] = [];

  beforeAll(async () => {
    if (missing.length) throw new Error(`cannot run: ${missing.join('; ')}`);
    // A user of its own, so this file never waits for (or blocks) another e2e file's host.
    host = await startRealHost({ user: 'awf-e2e-sshcfg' });
  });
  afterAll(async () => {
    await host?.close();
  });
  beforeEach(() => {
    home?.remove();
    home = cliHome();
  });

  // The flags a config cannot give: what to fix and how long to wait.
  const runbookFlags = () => ['--url', host.publicUrl, '--settle', '0.5', '--start-timeout', '15', '--connect-timeout', '5'];
  const cli = async (args: string[], env: Record<string, string> = {}): Promise<CliResult> => {
    const r = await runCliIn(home, [...args, ...runbookFlags(), '--json'], env);
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const boxBlock = (extra: string[] = []) => ['Host box', '  HostName 127.0.0.1', `  Port ${host.port}`, `  User ${host.user}`, ...extra.map((line) => `  ${line}`), ''].join('\n');
  const knownHostsText = () => readFileSync(host.knownHostsPath, 'utf8');

  test('--host box: HostName, Port, User, IdentityFile and UserKnownHostsFile from ~/.ssh/config (a dry run connects)', async () => {
    const knownHosts = home.write('box_known_hosts', knownHostsText());
    home.write('config', boxBlock([`IdentityFile ${host.privateKeyPath}`, `UserKnownHostsFile ${knownHosts}`]));
    const r = await cli(['--host', 'box', '--dry-run']);
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.report).toMatchObject({ host: '127.0.0.1', port: host.port, user: host.user, outcome: 'dry-run' });
  });

  test('no IdentityFile and no known_hosts setting: ~/.ssh/id_ed25519 and ~/.ssh/known_hosts, as ssh reads them', async () => {
    home.copy(host.privateKeyPath, 'id_ed25519');
    home.write('known_hosts', knownHostsText());
    home.write('config', boxBlock());
    const r = await cli(['--host', 'box', '--dry-run']);
    expect(r.exitCode, explain(r)).toBe(0);
  });

  test('the key may be in ~/.ssh/known_hosts2 only', async () => {
    home.copy(host.privateKeyPath, 'id_ed25519');
    home.write('known_hosts2', knownHostsText());
    home.write('config', boxBlock());
    const r = await cli(['--host', 'box', '--dry-run']);
    expect(r.exitCode, explain(r)).toBe(0);
  });

  test('explicit flags win over the config: --user and --port are used, not the config\'s', async () => {
    home.copy(host.privateKeyPath, 'id_ed25519');
    home.write('known_hosts', knownHostsText());
    home.write('config', boxBlock());
    const since = Date.now();
    const asOther = await cli(['--host', 'box', '--user', 'nobody', '--dry-run']);
    expect(asOther.exitCode, explain(asOther)).toBe(3);
    expect(asOther.report?.error?.code).toBe('auth');
    expect(asOther.report?.error?.message).toMatch(/authentication as nobody failed/);
    const closed = await freePort();
    const elsewhere = await cli(['--host', 'box', '--port', String(closed), '--dry-run']);
    expect(elsewhere.exitCode, explain(elsewhere)).toBe(3);
    expect(elsewhere.report).toMatchObject({ port: closed, error: { code: 'connect-refused' } });
    expect(changingDockerCalls(host, since)).toEqual([]);
  });

  test('--ssh-config FILE replaces ~/.ssh/config; --ssh-config none reads no config at all', async () => {
    const knownHosts = home.write('kh', knownHostsText());
    home.copy(host.privateKeyPath, 'id_ed25519');
    const closed = await freePort();
    home.write('config', `Host 127.0.0.1\n  Port ${closed}\n`);
    const other = home.write('other_config', ['Host 127.0.0.1', `  Port ${host.port}`, `  User ${host.user}`, `  IdentityFile ${host.privateKeyPath}`, `  UserKnownHostsFile ${knownHosts}`, ''].join('\n'));
    const byDefault = await cli(['--host', '127.0.0.1', '--dry-run']);
    expect(byDefault.report, explain(byDefault)).toMatchObject({ port: closed, error: { code: 'connect-refused' } });
    const r = await cli(['--host', '127.0.0.1', '--ssh-config', other, '--dry-run']);
    expect(r.exitCode, explain(r)).toBe(0);
    // Only loopback is ever dialled: with no config, the runbook's port 22 and user on 127.0.0.1.
    const none = await cli(['--host', '127.0.0.1', '--ssh-config', 'none', '--dry-run']);
    expect(none.exitCode, explain(none)).toBe(3);
    expect(none.report).toMatchObject({ port: 22, user: 'jnxmas' });
  });

  test('a broken config line is a usage error (exit 64) naming the file and line; nothing connects', async () => {
    const config = home.write('config', 'Host box\n  Port eighty\n');
    const r = await cli(['--host', 'box', '--dry-run']);
    expect(r.exitCode, explain(r)).toBe(64);
    expect(r.stderr).toContain(`${config} line 2: Port "eighty"`);
  });

  describe('an encrypted default key', () => {
    beforeEach(async () => {
      const key = home.copy(host.privateKeyPath, 'id_ed25519');
      await mustRun('ssh-keygen', ['-q', '-p', '-a', '2', '-P', '', '-N', PASSPHRASE, '-f', key]);
      home.write('known_hosts', knownHostsText());
      home.write('config', boxBlock());
    });

    test('opens with APPLY_WS_FIX_PASSPHRASE', async () => {
      const r = await cli(['--host', 'box', '--dry-run'], { APPLY_WS_FIX_PASSPHRASE: PASSPHRASE });
      expect(r.exitCode, explain(r)).toBe(0);
    });

    test('without a passphrase and without a terminal: exit 3 saying how to give one', async () => {
      const r = await cli(['--host', 'box', '--dry-run']);
      expect(r.exitCode, explain(r)).toBe(3);
      expect(r.report?.error).toMatchObject({ code: 'key-encrypted' });
      expect(r.report?.error?.remedy).toMatch(/APPLY_WS_FIX_PASSPHRASE/);
    });

    test('a wrong passphrase: exit 3 with the remedy, before any SSH login', async () => {
      const before = readFileSync(host.logs.sshd, 'utf8').split('Accepted publickey').length;
      const r = await cli(['--host', 'box', '--dry-run'], { APPLY_WS_FIX_PASSPHRASE: `${PASSPHRASE} (wrong)` });
      expect(r.exitCode, explain(r)).toBe(3);
      expect(r.report?.error).toMatchObject({ code: 'key-passphrase' });
      expect(readFileSync(host.logs.sshd, 'utf8').split('Accepted publickey').length).toBe(before);
    });
  });

  test('after all of it the host is as it was, and no passphrase is in any output', async () => {
    await expectBrokenHost(host);
    expect(outputs.length).toBeGreaterThan(10);
    for (const out of outputs) expect(out.includes('e2e passphrase'), out).toBe(false);
  });
});
