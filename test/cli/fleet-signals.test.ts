// --json is one JSON document on stdout whatever happens (a usage error, a stop at once), and a fleet reports every
// host: finished, stopped at once (saying which need --rollback) or never started. The built CLI against fake hosts.
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/core/report.js';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { packageRoot } from '../../src/paths.js';
import { hasScript, underTerminal } from '../helpers/terminal.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli.js');
const env = { NO_COLOR: '1', PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir() };
const cli = (args: string[]) => execa('node', [CLI, ...args], { reject: false, env, extendEnv: false, timeout: 60_000 });

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does).`);
});

describe('--json with a usage error', () => {
  it.each([
    [['--port', '0x10']],
    [['--bogus']],
    [['--known-hosts', 'a', '--known-hosts', 'b']],
    [['--host', 'a.example']],
  ])('%j: stdout is one report-shaped JSON object, outcome could-not-start, error code usage, exit 64', async (argv) => {
    const { exitCode, stdout, stderr } = await cli([...argv, '--json']);
    expect(exitCode).toBe(64);
    const report = JSON.parse(stdout) as RunReport;
    expect(report).toMatchObject({ schemaVersion: 1, tool: { name: 'apply-ws-fix' }, runbook: 'ocapistaine-ws-fix', outcome: 'could-not-start', exitCode: 64, host: null, error: { code: 'usage' } });
    expect(report.error!.message.length).toBeGreaterThan(0);
    expect(stderr).toMatch(/^apply-ws-fix: /);
  });

  it('a fleet command\'s usage error is an array of one report (a fleet\'s --json is always an array)', async () => {
    const { exitCode, stdout } = await cli(['--host', '127.0.0.1', '--host', 'localhost', '--dry-run', '--json']);
    expect(exitCode).toBe(64);
    const reports = JSON.parse(stdout) as RunReport[];
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ outcome: 'could-not-start', exitCode: 64, error: { code: 'usage' } });
    expect(reports[0]!.error!.message).toMatch(/are one target/);
  });

  it('without --json, stdout stays empty', async () => {
    const { exitCode, stdout } = await cli(['--port', '0x10']);
    expect(exitCode).toBe(64);
    expect(stdout).toBe('');
  });
});

// Fake hosts served in this process; the CLI reaches each through an ssh config alias with its own key.
async function fleetFiles(hosts: readonly FakeHost[]): Promise<{ dir: string; args: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'awf-fleet-sig-'));
  await writeFile(join(dir, 'ssh_config'), hosts.map((h, i) => `Host proxy-${i}\n  HostName 127.0.0.1\n  Port ${h.port}\n  User ${h.user}\n  IdentityFile ${h.privateKeyPath}\n`).join('\n'));
  await writeFile(join(dir, 'known_hosts'), hosts.map((h) => h.knownHostsLine).join('\n') + '\n');
  await writeFile(join(dir, 'hosts'), hosts.map((h, i) => `proxy-${i} ${h.publicUrl}`).join('\n') + '\n');
  return { dir, args: ['--hosts-file', join(dir, 'hosts'), '--ssh-config', join(dir, 'ssh_config'), '--known-hosts', join(dir, 'known_hosts')] };
}

const deploying = (h: FakeHost): boolean => h.stats.commands.some((c) => /compose .*up -d/.test(c));

async function until(condition: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('signals against fake hosts', () => {
  let hosts: FakeHost[] = [];
  beforeEach(async () => {
    hosts = await Promise.all([0, 1, 2].map(() => startFakeHost({ crashWindowMs: 150 })));
  });
  afterEach(async () => {
    await Promise.all(hosts.map((h) => h.close()));
  });

  it('one host, a second SIGINT during the settle wait: the report so far on stdout, failed-not-restored, exit 2', async () => {
    const h = hosts[0]!;
    const child = cli(['--host', h.host, '--port', String(h.port), '--user', h.user, '--identity', h.privateKeyPath, '--known-hosts', h.knownHostsPath, '--ssh-config', 'none', '--url', h.publicUrl, '--yes', '--json', '--settle', '20']);
    let stderrSoFar = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderrSoFar += chunk.toString()));
    await until(() => deploying(h));
    // Two signals sent back to back may arrive as one (a pending signal is a bit): the second waits for the first's word.
    child.kill('SIGINT');
    await until(() => stderrSoFar.includes('SIGINT: stopping'));
    child.kill('SIGINT');
    const { exitCode, stdout, stderr } = await child;
    expect(exitCode, stderr).toBe(2);
    const report = JSON.parse(stdout) as RunReport;
    expect(report).toMatchObject({ outcome: 'failed-not-restored', exitCode: 2, error: { code: 'stopped' } });
    expect(report.steps.map((s) => s.id)).toContain('deploy');
    expect(report.recovery?.[0]).toMatch(/^apply-ws-fix --host 127\.0\.0\.1 --port \d+ --user jnxmas .*--rollback --yes$/);
  });

  it('a fleet, one SIGINT while the first host runs: it rolls back, the queued hosts are not started and never contacted', async () => {
    const { args } = await fleetFiles(hosts);
    const child = cli([...args, '--yes', '--json', '--settle', '3', '--concurrency', '1']);
    await until(() => deploying(hosts[0]!));
    child.kill('SIGINT');
    const { exitCode, stdout, stderr } = await child;
    const reports = JSON.parse(stdout) as RunReport[];
    expect(reports.map((r) => [r.port, r.outcome, r.exitCode]), stderr).toEqual([
      [hosts[0]!.port, 'failed-and-restored', 130],
      [hosts[1]!.port, 'not-started', 130],
      [hosts[2]!.port, 'not-started', 130],
    ]);
    expect(exitCode).toBe(130);
    expect(hosts[1]!.stats.connections).toBe(0);
    expect(hosts[2]!.stats.connections).toBe(0);
  });

  it('a fleet, a second SIGINT: every host\'s report is printed, the changed one needs --rollback, exit 2', async () => {
    const { args } = await fleetFiles(hosts);
    const child = cli([...args, '--yes', '--settle', '20', '--concurrency', '2']);
    let stderrSoFar = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderrSoFar += chunk.toString()));
    await until(() => deploying(hosts[0]!) && deploying(hosts[1]!));
    child.kill('SIGINT');
    await until(() => stderrSoFar.includes('SIGINT: stopping'));
    child.kill('SIGINT');
    const { exitCode, stdout } = await child;
    expect(exitCode, stdout).toBe(2);
    const label = (h: FakeHost): string => `jnxmas@127.0.0.1:${h.port}`;
    expect(stdout).toMatch(new RegExp(`^${label(hosts[0]!)} +failed-not-restored +2 `, 'm'));
    expect(stdout).toMatch(new RegExp(`^${label(hosts[1]!)} +failed-not-restored +2 `, 'm'));
    expect(stdout).toMatch(new RegExp(`^${label(hosts[2]!)} +not-started +130 `, 'm'));
    expect(stdout).toContain(`Need --rollback (not back to their previous state): ${label(hosts[0]!)}, ${label(hosts[1]!)}`);
    expect(hosts[2]!.stats.connections).toBe(0);
  });

  it('a fleet --dry-run shows every host\'s plan and diff in text mode, each line labelled with its host (CI)', async () => {
    const { args } = await fleetFiles(hosts.slice(0, 2));
    const { exitCode, stdout } = await cli([...args, '--dry-run']);
    expect(exitCode, stdout).toBe(0);
    for (const h of hosts.slice(0, 2)) {
      const label = `jnxmas@127\\.0\\.0\\.1:${h.port}`;
      expect(stdout).toMatch(new RegExp(`^${label}: Plan for ${label}`, 'm'));
      expect(stdout).toMatch(new RegExp(`^${label}: \\+map \\$http_upgrade \\$connection_upgrade \\{$`, 'm'));
      expect(stdout).toMatch(new RegExp(`^${label}: Dry run: nothing was changed`, 'm'));
    }
  });

  it.skipIf(!hasScript)('a fleet --dry-run on a redrawing terminal prints each host\'s plan and diff after the task list, under its name', async () => {
    const { dir, args } = await fleetFiles(hosts.slice(0, 2));
    // A pty with a size, so the task list redraws (a 0-column pty gets the line renderer).
    const command = ['sh', '-c', `stty cols 120 rows 50; exec "$@"`, 'sh', process.execPath, CLI, ...args, '--dry-run'];
    const { code, output } = await underTerminal(command, 'never shown', '', { PATH: env.PATH, HOME: dir, TERM: 'xterm', LANG: 'C.UTF-8', NO_COLOR: '1' });
    expect(code, output).toBe(0);
    expect(output, 'the line renderer was used').not.toMatch(/^jnxmas@127\.0\.0\.1:\d+: Plan for/m);
    for (const h of hosts.slice(0, 2)) {
      const label = `jnxmas@127.0.0.1:${h.port}`;
      const section = output.split(`── ${label} ──`)[1]?.split('── ')[0] ?? '';
      expect(section, output).toContain(`Plan for ${label}`);
      expect(section).toContain('+map $http_upgrade $connection_upgrade {');
      expect(section).toContain('Dry run: nothing was changed');
    }
  });

  it('a fleet --verbose labels every line of a host with the host', async () => {
    const { args } = await fleetFiles(hosts.slice(0, 2));
    const { exitCode, stdout } = await cli([...args, '--dry-run', '--verbose']);
    expect(exitCode, stdout).toBe(0);
    const commandLines = stdout.split('\n').filter((line) => line.includes('$ '));
    expect(commandLines.length).toBeGreaterThan(4);
    for (const line of commandLines) expect(line).toMatch(/^jnxmas@127\.0\.0\.1:\d+: \$ /);
    for (const h of hosts.slice(0, 2)) expect(stdout).toMatch(new RegExp(`^jnxmas@127\\.0\\.0\\.1:${h.port}: Plan for`, 'm'));
  });
});
