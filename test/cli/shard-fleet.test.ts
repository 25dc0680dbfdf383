// A fleet run in shards by the built CLI, as CI jobs would (one process a shard), against fake hosts: the shards'
// --json reports cover every host once, merge-reports gives the table and the exit code of the same fleet run in one
// process, and refuses a missing, repeated or foreign shard.
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport, ShardReport } from '../../src/core/report.js';
import { cutShard, shardOf, shardReport, targetIdentity } from '../../src/core/shard.js';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { packageRoot } from '../../src/paths.js';
import { assertReportMatchesSchema } from '../helpers/report-schema.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli.js');
const env = { NO_COLOR: '1', PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir() };
const cli = (args: string[]) => execa('node', [CLI, ...args], { reject: false, env, extendEnv: false, timeout: 90_000 });

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does).`);
});

// A port nothing listens on: a host there cannot be reached (exit 3).
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Per-host row of a report, for comparing a merged fleet with the one run in one process.
const row = (r: RunReport): [string, string, number] => [targetIdentity(r), r.outcome, r.exitCode];

describe('a fleet in shards, against fake hosts', () => {
  let hosts: FakeHost[] = [];
  let dir = '';
  let common: string[] = [];
  let deadPort = 0;
  // The --json files of the --check shards of the fleet with the unreachable host, by N.
  const checkFiles = new Map<number, string[]>();
  let checkExit = -1;

  beforeAll(async () => {
    hosts = await Promise.all([0, 1, 2, 3, 4].map(() => startFakeHost({ crashWindowMs: 150 })));
    hosts[1]!.faults.add('health-fails');
    deadPort = await closedPort();
    dir = await mkdtemp(join(tmpdir(), 'awf-shard-'));
    const aliases = hosts.map((h, i) => `Host proxy-${i}\n  HostName 127.0.0.1\n  Port ${h.port}\n  User ${h.user}\n  IdentityFile ${h.privateKeyPath}\n`);
    aliases.push(`Host dead\n  HostName 127.0.0.1\n  Port ${deadPort}\n  User jnxmas\n  IdentityFile ${hosts[0]!.privateKeyPath}\n`);
    await writeFile(join(dir, 'ssh_config'), aliases.join('\n'));
    await writeFile(join(dir, 'known_hosts'), hosts.map((h) => h.knownHostsLine).join('\n') + '\n');
    const lines = hosts.map((h, i) => `proxy-${i} ${h.publicUrl}`);
    await writeFile(join(dir, 'live'), `${lines.join('\n')}\n`);
    await writeFile(join(dir, 'all'), `# the live hosts, and one that is down\n${lines.slice(0, 3).join('\n')}\ndead http://127.0.0.1:9\n${lines.slice(3).join('\n')}\n`);
    // A loaded machine (2 cores, shared) must not make a live host look unreachable: a long connect timeout.
    common = ['--ssh-config', join(dir, 'ssh_config'), '--known-hosts', join(dir, 'known_hosts'), '--settle', '0.2', '--connect-timeout', '30'];
  });
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.close()));
  });

  // Runs every shard of N with the flags given; returns the files of their --json reports, each checked.
  async function shards(file: string, count: number, flags: string[], tag: string): Promise<{ files: string[]; docs: ShardReport[] }> {
    const files: string[] = [];
    const docs: ShardReport[] = [];
    for (let index = 1; index <= count; index++) {
      const { exitCode, stdout, stderr } = await cli(['--hosts-file', join(dir, file), ...common, ...flags, '--json', '--shard', `${index}/${count}`]);
      const doc = JSON.parse(stdout) as ShardReport;
      assertReportMatchesSchema(doc);
      expect(doc).toMatchObject({ shard: { index, count }, fleet: { hosts: file === 'all' ? 6 : 5 } });
      expect(doc.positions).toHaveLength(doc.reports.length);
      for (const r of doc.reports) expect(shardOf(targetIdentity(r), count)).toBe(index);
      const worst = doc.reports.length === 0 ? 0 : Math.max(...doc.reports.map((r) => r.exitCode));
      expect(exitCode, stderr).toBe(doc.exitCode);
      if (doc.reports.length > 0) {
        expect(doc.reports.map((r) => r.exitCode)).toContain(doc.exitCode);
        expect(stderr).toContain(`${doc.reports.length} hosts in shard ${index}/${count} (of ${doc.fleet.hosts} in the fleet), exit ${doc.exitCode} (the worst host's)`);
      }
      else {
        expect(worst).toBe(0);
        expect(stderr).toContain(`Shard ${index}/${count}: none of the fleet's ${doc.fleet.hosts} hosts falls in this shard; nothing to do (exit 0).`);
      }
      const path = join(dir, `${tag}-${count}-${index}.json`);
      await writeFile(path, stdout);
      files.push(path);
      docs.push(doc);
    }
    return { files, docs };
  }

  it('--check in shards: every host once, and the merge has the exit code and the rows of the fleet run in one process', async () => {
    const whole = await cli(['--hosts-file', join(dir, 'all'), ...common, '--check', '--json']);
    const fleet = JSON.parse(whole.stdout) as RunReport[];
    expect(fleet, whole.stderr).toHaveLength(6);
    // Every host needs the fix (4); the one down could not start (3), which is worse.
    expect(fleet.find((r) => r.port === deadPort)).toMatchObject({ outcome: 'could-not-start', exitCode: 3 });
    expect(whole.exitCode).toBe(3);
    checkExit = whole.exitCode;
    // 7 shards for 6 hosts: at least one is empty.
    for (const count of [2, 7]) {
      const { files, docs } = await shards('all', count, ['--check'], 'check');
      checkFiles.set(count, files);
      const reported = docs.flatMap((d) => d.reports.map((r) => targetIdentity(r)));
      expect([...reported].sort()).toEqual(fleet.map((r) => targetIdentity(r)).sort());
      expect(new Set(docs.map((d) => d.fleet.digest)).size).toBe(1);
      if (count === 7) expect(docs.some((d) => d.reports.length === 0)).toBe(true);

      const merged = await cli(['merge-reports', '--json', ...files]);
      expect(merged.exitCode, merged.stderr).toBe(whole.exitCode);
      const reports = JSON.parse(merged.stdout) as RunReport[];
      assertReportMatchesSchema(reports);
      // In the hosts file's order, as the fleet run in one process prints them.
      expect(reports.map(row)).toEqual(fleet.map(row));
      expect(merged.stderr).toContain(`6 hosts from ${count} of ${count} shards, exit 3 (the worst host's)`);

      const table = await cli(['merge-reports', ...[...files].reverse()]);
      expect(table.exitCode).toBe(3);
      for (const r of fleet) expect(table.stdout).toMatch(new RegExp(`^jnxmas@127\\.0\\.0\\.1:${r.port} +${r.outcome} +${r.exitCode} `, 'm'));
      expect(table.stdout).toContain('Needs the fix: the host does not have the WebSocket config yet');
    }
  }, 240_000);

  it('apply in shards, then --check: merged exit codes equal the one-process fleet\'s', async () => {
    const { files } = await shards('live', 3, ['--yes'], 'apply');
    const applied = await cli(['merge-reports', '--json', ...files]);
    const reports = JSON.parse(applied.stdout) as RunReport[];
    // The host whose health check fails is rolled back alone (exit 1); the others are applied.
    expect(reports.map((r) => [r.port, r.outcome]), JSON.stringify(reports.map((r) => r.error))).toEqual(hosts.map((h, i) => [h.port, i === 1 ? 'failed-and-restored' : 'applied']));
    expect(applied.exitCode).toBe(1);

    const whole = await cli(['--hosts-file', join(dir, 'live'), ...common, '--check', '--json']);
    const fleet = JSON.parse(whole.stdout) as RunReport[];
    expect(fleet.map((r) => r.exitCode), JSON.stringify(fleet.map((r) => r.error))).toEqual([0, 4, 0, 0, 0]);
    expect(whole.exitCode).toBe(4);
    const checked = await shards('live', 3, ['--check'], 'recheck');
    const merged = await cli(['merge-reports', '--json', ...checked.files]);
    expect(merged.exitCode).toBe(whole.exitCode);
    expect((JSON.parse(merged.stdout) as RunReport[]).map(row)).toEqual(fleet.map(row));
  }, 240_000);

  it('merge-reports refuses a missing, repeated or foreign shard (exit 64); --partial merges what is there', async () => {
    const files = checkFiles.get(2)!;
    expect(files, 'the --check test ran first').toHaveLength(2);
    const second = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(files[1]!, 'utf8'))) as ShardReport;

    const missing = await cli(['merge-reports', files[0]!]);
    expect(missing.exitCode).toBe(64);
    expect(missing.stderr).toContain(`apply-ws-fix: shard 2 of 2 missing: ${second.reports.length} of the fleet's 6 hosts are not reported`);
    expect(missing.stderr).toMatch(/--partial/);
    expect(missing.stdout).toBe('');

    const partial = await cli(['merge-reports', '--partial', files[0]!]);
    const first = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(files[0]!, 'utf8'))) as ShardReport;
    expect(partial.exitCode).toBe(first.exitCode);
    expect(partial.stdout).toContain(`PARTIAL: shard 2 of 2 not given: ${second.reports.length} host${second.reports.length === 1 ? '' : 's'} not reported, and not counted in the exit code`);

    const twice = await cli(['merge-reports', files[0]!, files[1]!, files[1]!]);
    expect(twice.exitCode).toBe(64);
    expect(twice.stderr).toContain(`shard 2/2 is given twice: ${files[1]} and ${files[1]}`);

    // A shard of the live-only fleet is not a shard of the fleet with the host that is down.
    const foreign = await cli(['merge-reports', files[0]!, join(dir, 'recheck-3-2.json')]);
    expect(foreign.exitCode).toBe(64);
    expect(foreign.stderr).toMatch(/are not shards of one fleet run: shard counts 3 and 2/);

    // With --json, a refusal is still one JSON document on stdout: an array of one, as a fleet's errors are.
    const json = await cli(['merge-reports', '--json', files[0]!]);
    expect(json.exitCode).toBe(64);
    const [usage] = JSON.parse(json.stdout) as RunReport[];
    expect(usage).toMatchObject({ outcome: 'could-not-start', exitCode: 64, error: { code: 'usage', message: expect.stringMatching(/shard 2 of 2 missing/) } });

    const unreadable = await cli(['merge-reports', join(dir, 'nope.json')]);
    expect(unreadable.exitCode).toBe(64);
    expect(unreadable.stderr).toMatch(/cannot read .*nope\.json/);
  }, 60_000);

  it('--shard with a usage error prints the fleet\'s array of one with --json; merge-reports says what it is', async () => {
    const bad = await cli(['--hosts-file', join(dir, 'all'), ...common, '--check', '--json', '--shard', '3/2']);
    expect(bad.exitCode).toBe(64);
    const path = join(dir, 'bad.json');
    await writeFile(path, bad.stdout);
    const merged = await cli(['merge-reports', path]);
    expect(merged.exitCode).toBe(64);
    expect(merged.stderr).toContain('is an array of reports, not a shard\'s report: it holds a usage error (--shard 3/2: shard 3 of 2 does not exist');
  });
});

// A whole report, as a run writes it, for a host that was only planned.
function plannedReport(t: { user: string; host: string; port: number }): RunReport {
  return {
    schemaVersion: 1, tool: { name: 'apply-ws-fix', version: '0.1.0' }, runbook: 'ocapistaine-ws-fix', runId: null, host: t.host, port: t.port, user: t.user,
    dir: '~/vaettir', service: 'ocapistaine', url: 'https://ocapistaine.vaettir.locki.io', params: {}, action: 'dry-run', dryRun: true, outcome: 'dry-run',
    exitCode: 0, startedAt: '2026-11-30T00:00:00.000Z', durationMs: 1234, steps: [], diff: null, checksums: null, rollback: null, error: null,
    recovery: null, diagnosis: null, unfinished: null, check: null,
  };
}

describe('a fleet of thousands', () => {
  it('merge-reports --json into a pipe gives every host\'s report, whole (MiBs, not cut at 64 KiB by the exit)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awf-shard-big-'));
    const fleet = Array.from({ length: 3000 }, (_, i) => ({ user: 'deploy', host: `10.${i >> 8}.${i & 255}.7`, port: 22 }));
    const files: string[] = [];
    for (let index = 1; index <= 8; index++) {
      const shard = cutShard(fleet, { index, count: 8 });
      const doc = shardReport(shard, shard.positions.map((p) => plannedReport(fleet[p]!)), { runbook: 'ocapistaine-ws-fix', action: 'dry-run', dryRun: true, tool: { name: 'apply-ws-fix', version: '0.1.0' } }, 0);
      files.push(join(dir, `shard-${index}.json`));
      await writeFile(files.at(-1)!, JSON.stringify(doc));
    }
    // Through a pipe, as `| jq` reads it (execa's own stdout is a socket, which Node writes at once).
    const { exitCode, stdout, stderr } = await execa('sh', ['-c', '"$@" | cat', 'sh', 'node', CLI, 'merge-reports', '--json', ...files], { reject: false, env, extendEnv: false, timeout: 60_000 });
    expect(exitCode, stderr.slice(-500)).toBe(0);
    expect(stdout.length).toBeGreaterThan(1 << 20);
    const reports = JSON.parse(stdout) as RunReport[];
    expect(reports.map((r) => targetIdentity(r))).toEqual(fleet.map(targetIdentity));
    assertReportMatchesSchema(reports);
    expect(stderr).toContain('3000 hosts from 8 of 8 shards, exit 0 (the worst host\'s)');
  }, 60_000);
});

describe('a shard stopped at once', () => {
  let hosts: FakeHost[] = [];
  beforeAll(async () => {
    hosts = await Promise.all([0, 1].map(() => startFakeHost({ crashWindowMs: 150 })));
  });
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.close()));
  });

  it('a second SIGINT prints the shard\'s report so far, as a shard report, exit 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awf-shard-sig-'));
    await writeFile(join(dir, 'ssh_config'), hosts.map((h, i) => `Host proxy-${i}\n  HostName 127.0.0.1\n  Port ${h.port}\n  User ${h.user}\n  IdentityFile ${h.privateKeyPath}\n`).join('\n'));
    await writeFile(join(dir, 'known_hosts'), hosts.map((h) => h.knownHostsLine).join('\n') + '\n');
    await writeFile(join(dir, 'hosts'), hosts.map((h, i) => `proxy-${i} ${h.publicUrl}`).join('\n') + '\n');
    const child = cli(['--hosts-file', join(dir, 'hosts'), '--ssh-config', join(dir, 'ssh_config'), '--known-hosts', join(dir, 'known_hosts'), '--shard', '1/1', '--yes', '--json', '--settle', '20']);
    let stderrSoFar = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderrSoFar += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (!hosts.every((h) => h.stats.commands.some((c) => /compose .*up -d/.test(c)))) {
      if (Date.now() > deadline) throw new Error(`the hosts never deployed:\n${stderrSoFar}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGINT');
    while (!stderrSoFar.includes('SIGINT: stopping')) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGINT');
    const { exitCode, stdout } = await child;
    expect(exitCode, stderrSoFar).toBe(2);
    const doc = JSON.parse(stdout) as ShardReport;
    assertReportMatchesSchema(doc);
    expect(doc).toMatchObject({ shard: { index: 1, count: 1 }, fleet: { hosts: 2 }, exitCode: 2, positions: [0, 1] });
    expect(doc.reports.map((r) => [r.port, r.outcome])).toEqual(hosts.map((h) => [h.port, 'failed-not-restored']));
  }, 90_000);
});
