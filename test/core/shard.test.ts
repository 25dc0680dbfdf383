// --shard I/N: every host of a fleet falls in exactly one shard, whatever N and whatever the list; a host stays in its
// shard when lines move or are added; bad values are refused (exit 64); duplicates are found over the whole file; and
// merge-reports refuses shards that are missing, repeated or cut from another fleet.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, type Command } from '../../src/cli/args.js';
import type { RunReport, ShardReport } from '../../src/core/report.js';
import { cutShard, fleetDigest, mergeShardReports, parseShard, shardOf, shardReport, targetIdentity, type ShardFile } from '../../src/core/shard.js';
import { UsageError } from '../../src/errors.js';

// A seeded generator (mulberry32): the same lists on every run, and a failure names its seed.
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Target { user: string; host: string; port: number }

// Distinct targets: IPv4 and IPv6 addresses, names, a few users and ports.
function targets(rand: () => number, n: number): Target[] {
  const seen = new Set<string>();
  const out: Target[] = [];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  while (out.length < n) {
    const kind = rand();
    const host = kind < 0.5 ? `10.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${1 + Math.floor(rand() * 254)}` : kind < 0.6 ? `fd00::${Math.floor(rand() * 65535).toString(16)}` : `proxy-${Math.floor(rand() * 100000)}.example`;
    const t = { user: pick(['jnxmas', 'op', 'deploy']), host, port: pick([22, 22, 22, 2222, 2200]) };
    if (seen.has(targetIdentity(t))) continue;
    seen.add(targetIdentity(t));
    out.push(t);
  }
  return out;
}

function shuffle<T>(rand: () => number, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('parseShard', () => {
  it.each([
    ['1/1', 1, 1],
    ['2/4', 2, 4],
    ['4/4', 4, 4],
    ['10000/10000', 10000, 10000],
  ])('%s is shard %i of %i', (text, index, count) => expect(parseShard(text)).toEqual({ index, count }));

  it.each(['0/4', '5/4', '1/0', '0/0', '0x1/4', '1/0x10', ' 1/4', '1/4 ', '1 /4', '1/ 4', '01/4', '1/04', '-1/4', '+1/4', '1.0/4', '1/4/2', '1', '4', '', '/', '1/', '/4', '1e1/20', '10001/10001', 'a/b', '1\\4', '１/４', '1/4\n'])('%j is refused, with the form and an example', (text) => {
    let error: unknown;
    try {
      parseShard(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(64);
    expect((error as UsageError).message).toContain('--shard');
    expect((error as UsageError).remedy).toMatch(/--shard 2\/4/);
  });

  it('says why a shard out of range is refused', () => {
    expect(() => parseShard('5/4')).toThrow(/numbered 1 to 4/);
    expect(() => parseShard('0/4')).toThrow(/numbered from 1/);
  });
});

describe('the split (property-style over generated fleets)', () => {
  const COUNTS = [1, 2, 3, 5, 8, 13, 64];
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: every host in exactly one shard, for every N', (seed) => {
    const rand = random(seed);
    const fleet = targets(rand, 1 + Math.floor(rand() * 200));
    for (const count of COUNTS) {
      const shards = Array.from({ length: count }, (_, i) => cutShard(fleet, { index: i + 1, count }));
      const positions = shards.flatMap((s) => s.positions).sort((a, b) => a - b);
      expect(positions, `seed ${seed}, N ${count}`).toEqual(fleet.map((_, i) => i));
      // Every shard agrees on the fleet it was cut from.
      expect(new Set(shards.map((s) => `${s.hosts} ${s.digest}`)).size).toBe(1);
      for (const s of shards) for (const p of s.positions) expect(shardOf(targetIdentity(fleet[p]!), count)).toBe(s.index);
    }
  });

  it.each([1, 2, 3, 4])('seed %i: shuffling, adding and removing lines moves no other host', (seed) => {
    const rand = random(100 + seed);
    const fleet = targets(rand, 150);
    const more = targets(random(900 + seed), 40).filter((t) => !fleet.some((f) => targetIdentity(f) === targetIdentity(t)));
    const changed = shuffle(rand, [...fleet.slice(10), ...more]);
    for (const count of [2, 3, 7]) {
      const before = new Map<string, number>();
      const after = new Map<string, number>();
      for (let index = 1; index <= count; index++) {
        for (const p of cutShard(fleet, { index, count }).positions) before.set(targetIdentity(fleet[p]!), index);
        for (const p of cutShard(changed, { index, count }).positions) after.set(targetIdentity(changed[p]!), index);
      }
      for (const t of fleet.slice(10)) expect(after.get(targetIdentity(t))).toBe(before.get(targetIdentity(t)));
    }
    expect(fleetDigest(shuffle(rand, fleet).map(targetIdentity))).toBe(fleetDigest(fleet.map(targetIdentity)));
    expect(fleetDigest(changed.map(targetIdentity))).not.toBe(fleetDigest(fleet.map(targetIdentity)));
  });

  it('spreads a fleet over the shards', () => {
    const fleet = targets(random(42), 2000);
    const sizes = [1, 2, 3, 4].map((index) => cutShard(fleet, { index, count: 4 }).positions.length);
    for (const size of sizes) expect(size).toBeGreaterThan(400); // 500 each, give or take
  });

  it('is the identity as the run resolved it: the host name in lower case, IPv6 in brackets', () => {
    expect(targetIdentity({ user: 'op', host: 'Proxy-1.Example', port: 22 })).toBe('op@proxy-1.example:22');
    expect(targetIdentity({ user: 'op', host: 'FD00::1', port: 2222 })).toBe('op@[fd00::1]:2222');
  });
});

// parseArgs in a fresh directory with a hosts file, HOME set and no ssh config.
async function parseWith(hosts: string, argv: string[]): Promise<Command> {
  const dir = await mkdtemp(join(tmpdir(), 'awf-shard-'));
  await writeFile(join(dir, 'hosts'), hosts);
  return parseArgs(['--hosts-file', 'hosts', '--ssh-config', 'none', ...argv], { env: { HOME: '/home/op' }, interactive: false, faultNames: ['build-fails'], version: '0.1.0', cwd: dir });
}

async function refusedWith(hosts: string, argv: string[]): Promise<UsageError> {
  const error = await parseWith(hosts, argv).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `${JSON.stringify(argv)} was accepted`).toBeInstanceOf(UsageError);
  expect((error as UsageError).exitCode).toBe(64);
  return error as UsageError;
}

// The labels of the hosts a shard's command runs (none for an empty shard).
function labelsOf(command: Command): string[] {
  if (command.kind === 'empty-shard') return [];
  if (command.kind !== 'fleet') throw new Error(`not a fleet: ${command.kind}`);
  return command.runs.map((r) => `${r.user}@${r.host}:${r.port}`);
}

describe('--shard on the command line', () => {
  // IP addresses only: the duplicate check resolves names, and these resolve without DNS.
  const lines = targets(random(7), 23)
    .filter((t) => !t.host.includes('.example'))
    .map((t) => `${t.user}@${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`);
  const HOSTS = `# proxies\n${lines.join('\n')}\n`;

  it.each([1, 2, 3, 7, 30])('N=%i: the shards run every host of the file exactly once', async (count) => {
    const all = labelsOf(await parseWith(HOSTS, ['--dry-run']));
    expect(all).toHaveLength(lines.length);
    const seen: string[] = [];
    const fleets = new Set<string>();
    for (let index = 1; index <= count; index++) {
      const command = await parseWith(HOSTS, ['--dry-run', '--shard', `${index}/${count}`]);
      seen.push(...labelsOf(command));
      if (command.kind === 'fleet' || command.kind === 'empty-shard') {
        expect(command.shard).toMatchObject({ index, count, hosts: lines.length });
        fleets.add(command.shard!.digest);
      }
    }
    expect([...seen].sort()).toEqual([...all].sort());
    expect(fleets.size).toBe(1);
  });

  it('a shard keeps its hosts when the file is reordered, commented and grows', async () => {
    const rand = random(11);
    const grown = `${shuffle(rand, [...lines, '10.200.0.1', 'op@10.200.0.2:2222', '# later', '']).join('\n')}\n`;
    for (let index = 1; index <= 3; index++) {
      const before = labelsOf(await parseWith(HOSTS, ['--dry-run', '--shard', `${index}/3`]));
      const after = labelsOf(await parseWith(grown, ['--dry-run', '--shard', `${index}/3`]));
      expect(after.filter((l) => !l.includes('10.200.0.')).sort()).toEqual([...before].sort());
    }
  });

  it('a shard no host falls in is a command of its own, not an error', async () => {
    // 3 hosts in 50 shards: most shards are empty.
    const three = '10.1.0.1\n10.1.0.2\n10.1.0.3\n';
    const busy = new Set(['10.1.0.1', '10.1.0.2', '10.1.0.3'].map((h) => shardOf(`jnxmas@${h}:22`, 50)));
    const empty = Array.from({ length: 50 }, (_, i) => i + 1).find((i) => !busy.has(i))!;
    await expect(parseWith(three, ['--dry-run', '--json', '--shard', `${empty}/50`])).resolves.toMatchObject({ kind: 'empty-shard', json: true, action: 'apply', dryRun: true, shard: { index: empty, count: 50, hosts: 3, positions: [] } });
    // Still only with --yes to change hosts, as for the whole fleet: every shard of one command line behaves alike.
    expect((await refusedWith(three, ['--shard', `${empty}/50`])).message).toMatch(/without --yes/);
  });

  it('duplicates by spelling are refused by every shard, wherever they would fall', async () => {
    const hosts = '10.9.0.1\n127.0.0.1\n10.9.0.2\njnxmas@localhost:22\n';
    for (const shard of ['1/1', '1/2', '2/2', '1/3', '2/3', '3/3']) {
      const error = await refusedWith(hosts, ['--dry-run', '--shard', shard]);
      expect(error.message).toMatch(/hosts:2 .*hosts:4 .*are one target/);
    }
  });

  it.each([
    [['--shard', '0/2'], /numbered from 1/],
    [['--shard', '3/2'], /numbered 1 to 2/],
    [['--shard', '0x1/2'], /is not I\/N/],
    [['--shard', '1/2', '--shard', '2/2'], /--shard was given more than once/],
    [['--shard'], /--shard needs a value/],
    [['--shard='], /--shard needs a value/],
  ])('%j is refused (exit 64)', async (argv, message) => {
    expect((await refusedWith('10.1.0.1\n10.1.0.2\n', ['--dry-run', ...argv])).message).toMatch(message);
  });

  it('--shard needs a fleet', async () => {
    const error = await refusedWith('', ['--dry-run', '--shard', '1/2']).catch(() => undefined);
    expect(error?.message).toMatch(/names no host|needs --hosts-file/);
    const single = await parseArgs(['--host', '10.1.0.1', '--ssh-config', 'none', '--dry-run', '--shard', '1/2'], { env: { HOME: '/home/op' }, interactive: false, faultNames: [], version: '0.1.0' }).catch((e: unknown) => e);
    expect(single).toBeInstanceOf(UsageError);
    expect((single as UsageError).message).toMatch(/--shard splits a fleet: it needs --hosts-file/);
    expect((single as UsageError).remedy).toMatch(/--hosts-file proxies.txt --shard 2\/4/);
    await expect(parseArgs(['--host', '10.1.0.1', '--host', '10.1.0.2', '--ssh-config', 'none', '--dry-run', '--shard', '1/1'], { env: { HOME: '/home/op' }, interactive: false, faultNames: [], version: '0.1.0' })).resolves.toMatchObject({ kind: 'fleet', shard: { hosts: 2 } });
  });
});

// A report with what the merge reads; the rest of a RunReport does not matter to it.
function report(t: Target, exitCode: number, outcome: RunReport['outcome'] = exitCode === 0 ? 'dry-run' : 'could-not-start'): RunReport {
  return { schemaVersion: 1, host: t.host, port: t.port, user: t.user, exitCode, outcome, action: 'dry-run', dryRun: true } as RunReport;
}

// Every shard's report of a fleet, each host's exit code from `codes`.
function shardFiles(fleet: readonly Target[], count: number, codes: (t: Target, i: number) => number = () => 0, action: RunReport['action'] = 'dry-run'): ShardFile[] {
  return Array.from({ length: count }, (_, i) => {
    const shard = cutShard(fleet, { index: i + 1, count });
    const reports = shard.positions.map((p) => report(fleet[p]!, codes(fleet[p]!, p)));
    const exitCode = Math.max(0, ...reports.map((r) => r.exitCode));
    return { file: `shard-${i + 1}.json`, document: JSON.parse(JSON.stringify(shardReport(shard, reports, { runbook: 'ocapistaine-ws-fix', action, dryRun: action === 'dry-run', tool: { name: 'apply-ws-fix', version: '0.1.0' } }, exitCode))) as ShardReport };
  });
}

function mergeRefused(files: ShardFile[], partial = false): UsageError {
  let error: unknown;
  try {
    mergeShardReports(files, { partial });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(UsageError);
  return error as UsageError;
}

describe('mergeShardReports', () => {
  const fleet = targets(random(3), 40);

  it('puts every host back, in fleet order, whatever order the files come in', () => {
    for (const count of [1, 3, 9, 60]) {
      const files = shuffle(random(count), shardFiles(fleet, count, (_, i) => (i === 17 ? 2 : i % 5 === 0 ? 1 : 0)));
      const merged = mergeShardReports(files, { partial: false });
      expect(merged.reports.map((r) => targetIdentity(r))).toEqual(fleet.map(targetIdentity));
      expect(merged.missing).toEqual({ shards: [], hosts: 0 });
      expect(merged.shards).toBe(count);
    }
  });

  it('refuses a missing shard, naming it and how many hosts it held; --partial merges the rest', () => {
    const files = shardFiles(fleet, 4);
    const dropped = files.find((f) => (f.document as ShardReport).reports.length > 0 && (f.document as ShardReport).shard.index === 3) ?? files[2]!;
    const held = (dropped.document as ShardReport).reports.length;
    const rest = files.filter((f) => f !== dropped);
    const error = mergeRefused(rest);
    expect(error.message).toBe(`shard 3 of 4 missing: ${held} of the fleet's 40 hosts are not reported`);
    expect(error.remedy).toMatch(/--partial/);
    const merged = mergeShardReports(rest, { partial: true });
    expect(merged.missing).toEqual({ shards: [3], hosts: held });
    expect(merged.reports).toHaveLength(40 - held);
  });

  it('refuses a shard given twice, even with --partial', () => {
    const files = shardFiles(fleet, 3);
    const error = mergeRefused([...files, { ...files[1]!, file: 'copy.json' }], true);
    expect(error.message).toBe('shard 2/3 is given twice: shard-2.json and copy.json');
  });

  it('refuses shards of another fleet, another N, another action', () => {
    const other = [...fleet.slice(1), { user: 'op', host: '10.255.0.9', port: 22 }];
    expect(mergeRefused([...shardFiles(fleet, 3).slice(0, 2), shardFiles(other, 3)[2]!]).message).toMatch(/shard-3.json and shard-1.json are not shards of one fleet run: the fleets differ/);
    expect(mergeRefused([shardFiles(fleet, 3)[0]!, shardFiles(fleet, 2)[1]!]).message).toMatch(/shard counts 2 and 3/);
    expect(mergeRefused([...shardFiles(fleet, 2).slice(0, 1), shardFiles(fleet, 2, () => 0, 'check')[1]!]).message).toMatch(/actions "check" and "dry-run \(dry run\)"/);
  });

  it('refuses a report that is not in the shard that carries it, and a host reported twice', () => {
    const files = shardFiles(fleet, 3);
    const [a, b] = files.map((f) => f.document as ShardReport);
    a!.reports.push(b!.reports[0]!);
    a!.positions.push(b!.positions[0]!);
    expect(mergeRefused(files).message).toMatch(/is reported by shard 1\/3, but it falls in shard 2\/3/);
  });

  it('refuses a complete set of shards that lost a host', () => {
    const files = shardFiles(fleet, 3);
    const doc = files.find((f) => (f.document as ShardReport).reports.length > 0)!.document as ShardReport;
    doc.reports.pop();
    doc.positions.pop();
    expect(mergeRefused(files).message).toMatch(/the shards report 39 hosts, not the fleet's 40/);
  });

  it('refuses what is not a shard report: an unsharded fleet\'s array, a usage error, other JSON', () => {
    const files = shardFiles(fleet, 2);
    expect(mergeRefused([files[0]!, { file: 'fleet.json', document: [report(fleet[0]!, 0)] }]).message).toMatch(/fleet.json is an array of reports, not a shard's report/);
    const usage = [{ outcome: 'could-not-start', exitCode: 64, error: { code: 'usage', message: '--shard "0/2" is not I/N' } }];
    expect(mergeRefused([files[0]!, { file: 'b.json', document: usage }]).message).toMatch(/usage error \(--shard "0\/2" is not I\/N\)/);
    expect(mergeRefused([{ file: 'x.json', document: { schemaVersion: 1 } }]).message).toMatch(/x.json is not a shard's --json report: no shard/);
    expect(mergeRefused([{ file: 'y.json', document: { ...(files[0]!.document as object), schemaVersion: 2 } }]).message).toMatch(/schemaVersion 2/);
    expect(mergeRefused([]).message).toMatch(/needs the shards' report files/);
  });
});

describe("the README's CI examples", () => {
  it('run commands this version parses: each shard of the matrix, and the merge', async () => {
    const { readFile } = await import('node:fs/promises');
    const { packageRoot } = await import('../../src/paths.js');
    const root = packageRoot();
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    const section = readme.split('### A fleet in shards')[1]!.split('\n### ')[0]!;
    const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(2);
    const commands = blocks.flatMap((block) => block.split('\n').filter((line) => line.includes('npx --yes apply-ws-fix@')));
    expect(commands).toHaveLength(4);
    const dir = await mkdtemp(join(tmpdir(), 'awf-shard-readme-'));
    await writeFile(join(dir, 'proxies.txt'), '10.1.0.1\n10.1.0.2\n');
    for (const line of commands) {
      // The CI's own variables for shard 2 of 4; the redirect is the shell's.
      const text = line.replace(/^.*?npx --yes /, '').replaceAll('${{ matrix.shard }}', '2').replaceAll('$CI_NODE_INDEX', '2').replaceAll('$CI_NODE_TOTAL', '4').replace(/\s+>\s+\S+$/, '');
      const [tool, ...argv] = text.split(/\s+/).map((word) => word.replace(/^"(.*)"$/, '$1'));
      expect(tool, 'the examples pin this version: every shard and the merge must split alike').toBe(`apply-ws-fix@${version}`);
      const command = await parseArgs([...argv, ...(argv[0] === 'merge-reports' ? [] : ['--ssh-config', 'none'])], { env: { HOME: '/home/op' }, interactive: false, faultNames: [], version, cwd: dir });
      if (argv[0] === 'merge-reports') expect(command).toMatchObject({ kind: 'merge-reports', files: ['shard-*.json'] });
      else expect(['fleet', 'empty-shard']).toContain(command.kind);
      if (command.kind === 'fleet' || command.kind === 'empty-shard') expect(command.shard).toMatchObject({ index: 2, count: 4, hosts: 2 });
    }
  });
});

describe('merge-reports on the command line', () => {
  const parse = (argv: string[]): Promise<Command> => parseArgs(argv, { env: { HOME: '/home/op' }, interactive: false, faultNames: [], version: '0.1.0' });
  const refused = async (argv: string[]): Promise<UsageError> => {
    const error = await parse(argv).then(() => undefined, (e: unknown) => e);
    expect(error, `${JSON.stringify(argv)} was accepted`).toBeInstanceOf(UsageError);
    return error as UsageError;
  };

  it('takes the files, --json and --partial', async () => {
    await expect(parse(['merge-reports', 'a.json', 'b.json'])).resolves.toEqual({ kind: 'merge-reports', files: ['a.json', 'b.json'], json: false, partial: false });
    await expect(parse(['merge-reports', '--json', '--partial', 'a.json'])).resolves.toEqual({ kind: 'merge-reports', files: ['a.json'], json: true, partial: true });
    await expect(parse(['help', 'merge-reports'])).resolves.toMatchObject({ kind: 'help', text: expect.stringContaining('apply-ws-fix merge-reports [--json] [--partial] FILE…') });
    await expect(parse(['--help'])).resolves.toMatchObject({ kind: 'help', text: expect.stringMatching(/--shard[\s\S]*I\/N/) });
  });

  it.each([
    [['merge-reports'], /needs the shards' report files/, /shard-\*\.json/],
    [['merge-report', 'a.json'], /Unknown arguments: merge-report/, /Did you mean merge-reports\?/],
    [['merge-reports', '--jsn', 'a.json'], /Unknown argument: jsn/, /Did you mean --json\?/],
    [['merge-reports', '--hosts-file', 'h', 'a.json'], /^Unknown argument: hosts-file$/, /merge-reports --help/],
    [['--dry-run', 'merge-reports', 'a.json'], /merge-reports comes first/, /merge-reports --help/],
  ])('%j is refused with a remedy', async (argv, message, remedy) => {
    const error = await refused(argv);
    expect(error.exitCode).toBe(64);
    expect(error.message).toMatch(message);
    expect(error.remedy).toMatch(remedy);
  });
});
