// The built CLI spawned as a user runs it: help, exit codes, --json, the demo, and the fake-host recipe for CI.
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import type { RunReport } from '../../src/core/report.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli.js');
const cli = (args: string[], env: Record<string, string> = {}) => execa('node', [CLI, ...args], { reject: false, env: { NO_COLOR: '1', ...env }, timeout: 60_000 });

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does).`);
});

describe('the built CLI', () => {
  it('--help documents every mode, option and exit code', async () => {
    const { exitCode, stdout } = await cli(['--help']);
    expect(exitCode).toBe(0);
    for (const word of ['--host', '--port', '--user', '--identity', '--known-hosts', '--dir', '--service', '--url', '--dry-run', '--rollback', '--yes', '--json', '--verbose', '--demo', '--version', 'fake-host']) {
      expect(stdout).toContain(word);
    }
    expect(stdout).toMatch(/Exit codes:\n\s+0 .*\n\s+1 [\s\S]*\n\s+2 [\s\S]*\n\s+3 [\s\S]*\n\s+64 /);
  });

  it('--version prints the package version', async () => {
    const { exitCode, stdout } = await cli(['--version']);
    expect(exitCode).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('a bad flag is a usage error: exit 64 with the reason on stderr', async () => {
    const { exitCode, stderr, stdout } = await cli(['--bogus']);
    expect(exitCode).toBe(64);
    expect(stderr).toMatch(/Unknown argument: bogus/);
    expect(stdout).toBe('');
  });

  it('without a terminal, applying needs --yes (exit 64), before any connection', async () => {
    const { exitCode, stderr } = await cli(['--host', '127.0.0.1', '--port', '9']);
    expect(exitCode).toBe(64);
    expect(stderr).toMatch(/without a terminal[\s\S]*--yes/);
  });

  it('--demo --json prints one JSON report on stdout and the task list on stderr', async () => {
    const { exitCode, stdout, stderr } = await cli(['--demo', '--json', '--settle', '0.5']);
    expect(exitCode).toBe(0);
    const report = JSON.parse(stdout) as RunReport;
    expect(report).toMatchObject({ outcome: 'applied', exitCode: 0, action: 'apply', tool: { name: 'apply-ws-fix' } });
    expect(report.steps.map((s) => `${s.id}:${s.status}`)).toEqual(['backup:done', 'write-template:done', 'build:done', 'validate:done', 'deploy:done', 'running:done', 'logs:done', 'rendered:done', 'endpoint:done', 'commit:skipped', 'prune-backups:skipped']);
    expect(report.steps.every((s) => typeof s.durationMs === 'number')).toBe(true);
    expect(stderr).toContain('The public endpoint upgrades WebSockets');
  });

  it('--demo --fault shows an automatic rollback: exit 1', async () => {
    const { exitCode, stdout } = await cli(['--demo', '--fault', 'upstream-down', '--settle', '0.5']);
    expect(exitCode).toBe(1);
    expect(stdout).toContain('Roll back this run\'s changes');
    expect(stdout).toMatch(/Failed, and the host was rolled back to its previous state/);
  });

  it('--demo --dry-run shows the plan and the diff, exit 0', async () => {
    const { exitCode, stdout } = await cli(['--demo', '--dry-run']);
    expect(exitCode).toBe(0);
    expect(stdout).toContain('~ Write the new template');
    expect(stdout).toContain('+map $http_upgrade $connection_upgrade {');
    expect(stdout).toContain('Dry run: nothing was changed');
  });

  it('a port with no SSH server: exit 3 and what to check', async () => {
    const { exitCode, stderr } = await cli(['--host', '127.0.0.1', '--port', '9', '--dry-run', '--known-hosts', '/dev/null', '--identity', CLI]);
    expect(exitCode).toBe(3);
    expect(stderr).toMatch(/^apply-ws-fix: could not start on jnxmas@127\.0\.0\.1:9 \(nothing was changed\)/);
  });
});

describe('fake-host: the mocked SSH host for CI pipelines', () => {
  let server: ResultPromise | undefined;
  let info: { host: string; port: number; user: string; identity: string; knownHosts: string; url: string; hostKeyFingerprint: string };
  const target = () => ['--host', info.host, '--port', String(info.port), '--user', info.user, '--identity', info.identity, '--known-hosts', info.knownHosts, '--url', info.url, '--settle', '0.5'];

  beforeAll(async () => {
    server = execa('node', [CLI, 'fake-host', '--json'], { reject: false });
    const lines = createInterface({ input: server.stdout! });
    info = await new Promise((resolve) => lines.once('line', (line) => resolve(JSON.parse(line))));
  });
  afterAll(async () => {
    server?.kill('SIGTERM');
    const result = await server;
    expect(result?.exitCode).toBe(0);
  });

  it('dry-run, apply, re-run and rollback through the ordinary --host/--port path', async () => {
    const dry = await cli([...target(), '--dry-run', '--json']);
    expect(JSON.parse(dry.stdout)).toMatchObject({ outcome: 'dry-run', exitCode: 0 });
    const apply = await cli([...target(), '--yes', '--json']);
    expect(JSON.parse(apply.stdout)).toMatchObject({ outcome: 'applied', exitCode: 0 });
    const again = await cli([...target(), '--yes', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'already-applied', exitCode: 0 });
    const rollback = await cli([...target(), '--rollback', '--yes', '--json']);
    expect(JSON.parse(rollback.stdout)).toMatchObject({ outcome: 'rolled-back', exitCode: 0 });
  });

  it('an unknown host key is refused with its fingerprint: exit 3', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awf-kh-'));
    const empty = join(dir, 'known_hosts');
    await writeFile(empty, '');
    const args = target();
    args[args.indexOf('--known-hosts') + 1] = empty;
    const { exitCode, stderr } = await cli([...args, '--dry-run']);
    expect(exitCode).toBe(3);
    expect(stderr).toContain(info.hostKeyFingerprint);
  });
});

describe('several hosts', () => {
  const servers: ResultPromise[] = [];
  const infos: { host: string; port: number; user: string; identity: string; knownHostsLine: string; url: string }[] = [];

  beforeAll(async () => {
    for (const faults of [[], ['health-fails']]) {
      const server = execa('node', [CLI, 'fake-host', '--json', ...faults.flatMap((f) => ['--fault', f])], { reject: false });
      servers.push(server);
      const lines = createInterface({ input: server.stdout! });
      infos.push(await new Promise((resolve) => lines.once('line', (line) => resolve(JSON.parse(line)))));
    }
  });
  afterAll(async () => {
    for (const server of servers) server.kill('SIGTERM');
    await Promise.all(servers);
  });

  it('a hosts file and an ssh config: each host its own run; the failing one is rolled back; exit is the worst', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awf-fleet-'));
    const config = infos.map((h, i) => `Host proxy-${i}\n  HostName 127.0.0.1\n  Port ${h.port}\n  User ${h.user}\n  IdentityFile ${h.identity}\n`).join('\n');
    await writeFile(join(dir, 'ssh_config'), config);
    await writeFile(join(dir, 'known_hosts'), infos.map((h) => h.knownHostsLine).join('\n') + '\n');
    await writeFile(join(dir, 'hosts'), `# the proxies\n${infos.map((h, i) => `proxy-${i} ${h.url}`).join('\n')}\n`);
    const { exitCode, stdout } = await cli(['--hosts-file', join(dir, 'hosts'), '--ssh-config', join(dir, 'ssh_config'), '--known-hosts', join(dir, 'known_hosts'), '--yes', '--json', '--settle', '0.3', '--concurrency', '2']);
    const reports = JSON.parse(stdout) as RunReport[];
    expect(reports.map((r) => [r.port, r.outcome, r.exitCode])).toEqual([
      [infos[0]!.port, 'applied', 0],
      [infos[1]!.port, 'failed-and-restored', 1],
    ]);
    expect(exitCode).toBe(1);
  });

  it('changing several hosts needs --yes', async () => {
    const { exitCode, stderr } = await cli(['--host', 'a.example', '--host', 'b.example']);
    expect(exitCode).toBe(64);
    expect(stderr).toMatch(/refusing to change 2 hosts without --yes/);
  });
});

describe('shell completion', () => {
  it('prints a bash completion script that asks the CLI for its options', async () => {
    const script = await cli(['completion']);
    expect(script.exitCode).toBe(0);
    expect(script.stdout).toContain('--get-yargs-completions');
    const bash = await execa('bash', ['-n'], { input: script.stdout, reject: false });
    expect(bash.exitCode).toBe(0);
    const words = await cli(['--get-yargs-completions', 'apply-ws-fix', '--']);
    expect(words.stdout.split('\n')).toEqual(expect.arrayContaining(['--host', '--dry-run', '--rollback', '--demo', '--hosts-file']));
  });
});

describe('colours', () => {
  it('follow FORCE_COLOR and NO_COLOR (NO_COLOR wins)', async () => {
    const ESC = '\u001b[';
    const plain = await execa('node', [CLI, '--demo', '--dry-run'], { reject: false, env: { NO_COLOR: undefined, FORCE_COLOR: undefined } });
    const forced = await execa('node', [CLI, '--demo', '--dry-run'], { reject: false, env: { NO_COLOR: undefined, FORCE_COLOR: '1' } });
    const both = await execa('node', [CLI, '--demo', '--dry-run'], { reject: false, env: { NO_COLOR: '1', FORCE_COLOR: '1' } });
    expect(plain.stdout).not.toContain(ESC);
    expect(forced.stdout).toContain(ESC);
    expect(both.stdout).not.toContain(ESC);
  });
});

describe('the JSON report and the README', () => {
  it('every top-level key the README documents is in a real report, and no other', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(join(packageRoot(), 'README.md'), 'utf8');
    const block = readme.slice(readme.indexOf('## The JSON report')).match(/```jsonc\n([\s\S]*?)```/)?.[1] ?? '';
    // The keys at depth 1 of the documented object (comments dropped; several keys may share a line).
    const documented: string[] = [];
    let depth = 0;
    for (const token of block.replace(/(^|\s)\/\/[^\n]*/gm, '$1').matchAll(/"(\w+)"\s*:|[{[]|[}\]]|"(?:[^"\\]|\\.)*"/g)) {
      if (token[0] === '{' || token[0] === '[') depth++;
      else if (token[0] === '}' || token[0] === ']') depth--;
      else if (token[1] !== undefined && depth === 1) documented.push(token[1]);
    }
    const { stdout } = await cli(['--demo', '--json', '--settle', '0.3', '--fault', 'health-fails']);
    const report = JSON.parse(stdout) as Record<string, unknown>;
    expect([...new Set(documented)].sort()).toEqual(Object.keys(report).sort());
    expect(report['diagnosis']).toMatchObject({ cause: expect.any(String), remedy: expect.any(String), evidence: expect.any(Array) });
    expect(report['rollback']).toMatchObject({ restored: true, actions: expect.any(Array) });
  });
});
