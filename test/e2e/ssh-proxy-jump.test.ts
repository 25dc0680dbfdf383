// ProxyJump through a real bastion: two OpenSSH sshd's on loopback, the test host (which forwards nothing) and a bare
// bastion that may forward only to it. The built CLI reaches the host through the bastion's direct-tcpip channel,
// checks the bastion's host key as well as the host's, and runs the whole runbook over the hop.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { cliMissing, explain, staleBuildWarning, type CliResult } from './cli.js';
import { realHostPrerequisites, startRealHost, type RealHost } from './harness/real-host.js';
import { freePort } from './harness/system.js';
import { SEED_CONFIG, changingDockerCalls, expectBrokenHost, template } from './host-state.js';
import { cliHome, knownHostsLine, runCliIn, startBastion, type Bastion, type CliHome } from './ssh-home.js';

const missing = [...realHostPrerequisites(), ...[cliMissing()].filter((m): m is string => m !== undefined)];
const skip = missing.length > 0 && !process.env.CI;
if (skip) console.warn(`e2e ProxyJump tests skipped, missing: ${missing.join('; ')}`);
const stale = staleBuildWarning();
if (stale) console.warn(stale);

// OpenSSH's fingerprint of a public key line.
async function fingerprint(publicKey: string): Promise<string> {
  const { createHash } = await import('node:crypto');
  const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

describe.skipIf(skip)('apply-ws-fix (built CLI) through a ProxyJump bastion, two real sshd\'s', () => {
  let host: RealHost;
  let bastion: Bastion;
  let home: CliHome;
  let since = 0;
  // A port nothing listens on, which the bastion may forward to: "connect failed" rather than "prohibited".
  let closedPort = 0;

  beforeAll(async () => {
    if (missing.length) throw new Error(`cannot run: ${missing.join('; ')}`);
    // A user of its own, so this file never waits for (or blocks) another e2e file's host.
    host = await startRealHost({ user: 'awf-e2e-sshjump' });
    closedPort = await freePort();
    bastion = await startBastion({ user: host.user, targetPort: host.port, alsoPermit: [closedPort] });
  });
  afterAll(async () => {
    await bastion?.stop();
    await host?.close();
  });
  beforeEach(() => {
    home?.remove();
    home = cliHome();
    home.copy(host.privateKeyPath, 'id_ed25519');
    since = Date.now();
  });

  const hostLine = () => readFileSync(host.knownHostsPath, 'utf8').trim().split(/\s+/).slice(0, 3).join(' ');
  const hostPublicKey = () => hostLine().split(' ').slice(1).join(' ');
  // Host box is the test host, reached through `jump` (the bastion, by alias) unless another ProxyJump is given.
  const config = (proxyJump = 'jump') =>
    home.write(
      'config',
      [
        'Host box',
        '  HostName 127.0.0.1',
        `  Port ${host.port}`,
        `  ProxyJump ${proxyJump}`,
        'Host jump',
        '  HostName 127.0.0.1',
        `  Port ${bastion.port}`,
        'Host *',
        `  User ${host.user}`,
        // Debian's /etc/ssh/ssh_config says HashKnownHosts yes, which ssh (and so the tool) would follow.
        '  HashKnownHosts no',
        '',
      ].join('\n'),
    );
  const knownHosts = (...lines: string[]) => home.write('known_hosts', lines.map((line) => `${line}\n`).join(''));
  const cli = (...args: string[]): Promise<CliResult> =>
    runCliIn(home, ['--host', 'box', '--url', host.publicUrl, '--settle', '0.5', '--start-timeout', '15', '--connect-timeout', '5', '--json', ...args]);
  // sshd -e at DEBUG1 logs each forwarding request (lines end in \r\n): `server_request_direct_tcpip: originator …, target 127.0.0.1 port N`.
  const directTcpip = () => bastion.log().split(/\r?\n/).filter((line) => line.includes('server_request_direct_tcpip') && line.endsWith(`target 127.0.0.1 port ${host.port}`));

  test('a dry run through the bastion: both host keys checked (the bastion\'s known only by its ECDSA key), the hop seen in its log', async () => {
    // The bastion has ed25519 and ECDSA keys: asking for the known type first is what makes this connect.
    knownHosts(hostLine(), knownHostsLine(bastion.port, bastion.ecdsa));
    config();
    const before = directTcpip().length;
    const r = await cli('--dry-run');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.report).toMatchObject({ host: '127.0.0.1', port: host.port, user: host.user, outcome: 'dry-run' });
    expect(directTcpip().length, bastion.log()).toBeGreaterThan(before);
    expect(r.stderr).toContain(`via ${host.user}@127.0.0.1:${bastion.port}`);
  });

  test('apply and roll back through the bastion: every command, stdin included, runs over the hop', async () => {
    knownHosts(hostLine(), knownHostsLine(bastion.port, bastion.ed25519));
    config(`${host.user}@127.0.0.1:${bastion.port}`);
    const applied = await cli('--yes');
    expect(applied.exitCode, explain(applied)).toBe(0);
    expect(applied.report?.outcome).toBe('applied');
    expect(template(host)).toBe(SEED_CONFIG);
    const rolledBack = await cli('--rollback', '--yes');
    expect(rolledBack.exitCode, explain(rolledBack)).toBe(0);
    expect(template(host)).toBe(host.originalTemplate);
  });

  // Installed without npm's install scripts, ssh2 has no native addon, and its JavaScript chacha20-poly1305 shares
  // its nonce buffer between connections: through a bastion the inner packets came out garbled and the run hung.
  test('apply and roll back through the bastion with ssh2\'s JavaScript ciphers (no native addon)', async () => {
    knownHosts(hostLine(), knownHostsLine(bastion.port, bastion.ed25519));
    config(`${host.user}@127.0.0.1:${bastion.port}`);
    const mark = join(home.home, 'addon-refused');
    const env = { NODE_OPTIONS: `--require ${fileURLToPath(new URL('./no-ssh2-addon.cjs', import.meta.url))}`, AWF_NO_ADDON_MARK: mark };
    const args = ['--host', 'box', '--url', host.publicUrl, '--settle', '0.5', '--start-timeout', '15', '--connect-timeout', '5', '--json'];
    const applied = await runCliIn(home, [...args, '--yes'], env);
    expect(applied.exitCode, explain(applied)).toBe(0);
    expect(existsSync(mark)).toBe(true);
    expect(template(host)).toBe(SEED_CONFIG);
    const rolledBack = await runCliIn(home, [...args, '--rollback', '--yes'], env);
    expect(rolledBack.exitCode, explain(rolledBack)).toBe(0);
    expect(template(host)).toBe(host.originalTemplate);
  });

  test('an unknown bastion: exit 3 naming the jump host and its fingerprint; the host is never reached', async () => {
    knownHosts(hostLine());
    config();
    const before = directTcpip().length;
    const r = await cli('--dry-run');
    expect(r.exitCode, explain(r)).toBe(3);
    expect(r.report?.error?.code).toBe('host-key-unknown');
    expect(r.report?.error?.message).toContain(`the host key of the jump host [127.0.0.1]:${bastion.port}`);
    expect(r.report?.error?.message).toContain(await fingerprint(bastion.ed25519));
    expect(directTcpip().length).toBe(before);
    expect(readFileSync(`${home.ssh}/known_hosts`, 'utf8')).toBe(`${hostLine()}\n`);
  });

  test('--accept-new-host-key records the new bastion (and only it), says so, and goes on', async () => {
    knownHosts(hostLine());
    config();
    const r = await cli('--dry-run', '--accept-new-host-key');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(readFileSync(`${home.ssh}/known_hosts`, 'utf8')).toBe(`${hostLine()}\n${knownHostsLine(bastion.port, bastion.ed25519)}\n`);
    expect(r.stderr).toContain(`Warning: permanently added '[127.0.0.1]:${bastion.port}' (ED25519 ${await fingerprint(bastion.ed25519)})`);
    expect(r.stdout).not.toContain('permanently added');
  });

  test('--accept-new-host-key records a new host behind a known bastion', async () => {
    knownHosts(knownHostsLine(bastion.port, bastion.ed25519));
    config();
    const r = await cli('--dry-run', '--accept-new-host-key');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(readFileSync(`${home.ssh}/known_hosts`, 'utf8')).toContain(`[127.0.0.1]:${host.port} ${hostPublicKey()}`);
  });

  test('a changed bastion key is refused loudly, even with --accept-new-host-key', async () => {
    // The test host's own key, claimed for the bastion's address: a key of the same type that is not the bastion's.
    const wrong = knownHostsLine(bastion.port, hostPublicKey());
    knownHosts(hostLine(), wrong);
    config();
    const r = await cli('--dry-run', '--accept-new-host-key');
    expect(r.exitCode, explain(r)).toBe(3);
    expect(r.report?.error?.code).toBe('host-key-changed');
    expect(r.report?.error?.message).toMatch(/^WARNING: the host key of the jump host .* has CHANGED/);
    expect(readFileSync(`${home.ssh}/known_hosts`, 'utf8')).toBe(`${hostLine()}\n${wrong}\n`);
  });

  test('a bastion that does not forward (the test host itself: AllowTcpForwarding no): exit 3, said plainly', async () => {
    knownHosts(hostLine());
    config(`${host.user}@127.0.0.1:${host.port}`);
    const r = await cli('--dry-run');
    expect(r.exitCode, explain(r)).toBe(3);
    expect(r.report?.error?.code).toBe('jump-forward');
    expect(r.report?.error?.message).toMatch(/refused to forward to 127\.0\.0\.1:\d+/);
    expect(r.report?.error?.remedy).toMatch(/AllowTcpForwarding/);
  });

  test('a bastion that may not forward there (PermitOpen): exit 3, jump-forward', async () => {
    knownHosts(hostLine(), knownHostsLine(bastion.port, bastion.ed25519));
    home.write('config', ['Host box', '  HostName 127.0.0.2', `  Port ${host.port}`, `  User ${host.user}`, `  ProxyJump ${host.user}@127.0.0.1:${bastion.port}`, ''].join('\n'));
    const r = await cli('--dry-run');
    expect(r.exitCode, explain(r)).toBe(3);
    expect(r.report?.error).toMatchObject({ code: 'jump-forward', message: expect.stringMatching(/refused to forward to 127\.0\.0\.2:/) });
  });

  test('a bastion that cannot reach the host (nothing listens there): exit 3, said plainly', async () => {
    knownHosts(hostLine(), knownHostsLine(bastion.port, bastion.ed25519));
    home.write('config', ['Host box', '  HostName 127.0.0.1', `  Port ${closedPort}`, `  User ${host.user}`, `  ProxyJump ${host.user}@127.0.0.1:${bastion.port}`, ''].join('\n'));
    const r = await cli('--dry-run');
    expect(r.exitCode, explain(r)).toBe(3);
    expect(r.report?.error).toMatchObject({ code: 'jump-forward', message: expect.stringMatching(new RegExp(`could not connect to 127\\.0\\.0\\.1:${closedPort}`)) });
  });

  test('the bastion\'s host key is checked against its own UserKnownHostsFile, not the host\'s files', async () => {
    knownHosts(hostLine());
    const jumpFile = home.write('kh_jump', `${knownHostsLine(bastion.port, bastion.ed25519)}\n`);
    home.write('config', ['Host box', '  HostName 127.0.0.1', `  Port ${host.port}`, '  ProxyJump jump', 'Host jump', '  HostName 127.0.0.1', `  Port ${bastion.port}`, `  UserKnownHostsFile ${jumpFile}`, 'Host *', `  User ${host.user}`, '  HashKnownHosts no', ''].join('\n'));
    const ok = await cli('--dry-run');
    expect(ok.exitCode, explain(ok)).toBe(0);
    // The bastion's key in the host's file only: the bastion is unknown, as ssh -W would find it.
    knownHosts(hostLine(), knownHostsLine(bastion.port, bastion.ed25519));
    home.write('kh_jump', '');
    const unknown = await cli('--dry-run');
    expect(unknown.exitCode, explain(unknown)).toBe(3);
    expect(unknown.report?.error).toMatchObject({ code: 'host-key-unknown', message: expect.stringContaining('the jump host') });
  });

  test('--print-config --json names the bastion and each hop\'s known_hosts files, with the ssh-config line they came from', async () => {
    config();
    const r = await runCliIn(home, ['--host', 'box', '--print-config', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as { runs: { settings: Record<string, { value: unknown; source: string }> }[] };
    const settings = printed.runs[0]!.settings;
    expect(settings['host']).toMatchObject({ value: '127.0.0.1', source: expect.stringMatching(/^ssh-config .*config line 2 \(HostName of box\)/) });
    expect(settings['port']).toMatchObject({ value: host.port, source: expect.stringMatching(/config line 3$/) });
    expect(settings['jumps']!.value).toEqual([expect.stringContaining(`${host.user}@127.0.0.1:${bastion.port} (jump; known_hosts ${home.ssh}/known_hosts`)]);
    expect(settings['jumps']!.source).toMatch(/config line 4$/);
  });

  test('no changing Compose call in the refused runs, and the host is back to broken after the rollback', async () => {
    expect(changingDockerCalls(host, since)).toEqual([]);
    await expectBrokenHost(host);
  });
});
