// A fleet cut into shards (--shard I/N), for CI systems that run one job per shard, and the merge of the shards'
// --json reports back into one fleet. Kept light (node:crypto only): the CLI parses --shard before it loads the engine.
//
// A host's shard is a hash of its identity (user@host:port as the run resolved it, the host in lower case), never of
// its line number: moving, reordering or adding lines moves no other host to another shard. Changing N re-splits.
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import { REPORT_SCHEMA_VERSION, reportAction, reportTool, type RunReport, type ShardReport } from './report.js';

/** --shard I/N: shard `index` (from 1) of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** What a sharded fleet run knows about the whole fleet it was cut from. */
export interface FleetShard extends ShardSpec {
  /** How many hosts the whole fleet has. */
  hosts: number;
  /** sha256 of every host's identity, sorted, one a line: the same for shards of one fleet, whatever its order. */
  digest: string;
  /** Each of this shard's hosts' place in the whole fleet (0-based, in the order given). */
  positions: number[];
}

/** The most shards a fleet may be cut into (GitHub Actions runs at most 256 jobs of a matrix, GitLab 200). */
export const MAX_SHARDS = 10_000;

const SHARD_REMEDY = 'Give --shard I/N: two whole numbers, 1 ≤ I ≤ N, such as --shard 2/4 (GitLab parallel: --shard "$CI_NODE_INDEX/$CI_NODE_TOTAL").';

/** Parses `I/N` strictly: plain decimal, no sign, no spaces, no leading zero, 1 ≤ I ≤ N ≤ MAX_SHARDS. */
export function parseShard(value: unknown): ShardSpec {
  const text = String(value);
  const match = /^([1-9][0-9]{0,5})\/([1-9][0-9]{0,5})$/.exec(text);
  if (match === null) {
    const zero = /^0+\/|\/0+$/.test(text);
    throw new UsageError(`--shard ${JSON.stringify(text)} is not I/N${zero ? ': shards are numbered from 1, and N is at least 1' : ''}`, SHARD_REMEDY);
  }
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count > MAX_SHARDS) throw new UsageError(`--shard ${text}: at most ${MAX_SHARDS} shards`, SHARD_REMEDY);
  if (index > count) throw new UsageError(`--shard ${text}: shard ${index} of ${count} does not exist (shards are numbered 1 to ${count})`, SHARD_REMEDY);
  return { index, count };
}

/** A host's identity in a fleet: `user@host:port`, the host in lower case (an IPv6 address in brackets). */
export function targetIdentity(t: { user: string; host: string; port: number }): string {
  const host = t.host.toLowerCase();
  return `${t.user}@${host.includes(':') ? `[${host}]` : host}:${t.port}`;
}

/** The shard (1 to count) a host identity falls in: the first 48 bits of its sha256, modulo count, plus one. */
export function shardOf(identity: string, count: number): number {
  return (createHash('sha256').update(identity).digest().readUIntBE(0, 6) % count) + 1;
}

/** The digest of a fleet: sha256 of its identities, sorted, one a line; its order does not change it. */
export function fleetDigest(identities: readonly string[]): string {
  return `sha256:${createHash('sha256').update([...identities].sort().map((id) => `${id}\n`).join('')).digest('hex')}`;
}

/** Cuts a fleet: which of `targets` fall in the shard, by position, and what the whole fleet is. */
export function cutShard(targets: readonly { user: string; host: string; port: number }[], spec: ShardSpec): FleetShard {
  const identities = targets.map(targetIdentity);
  const positions = identities.flatMap((id, i) => (shardOf(id, spec.count) === spec.index ? [i] : []));
  return { ...spec, hosts: targets.length, digest: fleetDigest(identities), positions };
}

/** The --json document of a sharded fleet run: the shard, the whole fleet's size and digest, and its hosts' reports. */
export function shardReport(shard: FleetShard, reports: readonly RunReport[], base: { runbook: string; action: RunReport['action']; dryRun: boolean; tool: RunReport['tool'] }, exitCode: number): ShardReport {
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: base.tool,
    runbook: base.runbook,
    shard: { index: shard.index, count: shard.count },
    fleet: { hosts: shard.hosts, digest: shard.digest },
    action: base.action,
    dryRun: base.dryRun,
    exitCode,
    positions: [...shard.positions],
    reports: [...reports],
  };
}

/** The line under a sharded fleet's table. */
export function shardFooter(shard: FleetShard, hosts: number, exitCode: number): string {
  return `${hosts} hosts in shard ${shard.index}/${shard.count} (of ${shard.hosts} in the fleet), exit ${exitCode} (the worst host's)`;
}

/** What a shard with no host says: not an error, nothing to do. */
export function emptyShardMessage(shard: FleetShard): string {
  return `Shard ${shard.index}/${shard.count}: none of the fleet's ${shard.hosts} hosts falls in this shard; nothing to do (exit 0).`;
}

/** One file given to merge-reports, parsed. */
export interface ShardFile {
  /** The name it was given by, for messages. */
  file: string;
  document: unknown;
}

/** The fleet put back together from its shards' reports. */
export interface MergedFleet {
  runbook: string;
  shards: number;
  /** Every host's report, in fleet order. */
  reports: RunReport[];
  /** Shards not given (only with partial), and how many hosts they held. */
  missing: { shards: number[]; hosts: number };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

// A shard report, checked for the fields the merge relies on; anything else is refused with what it looks like.
function asShardReport({ file, document }: ShardFile): ShardReport {
  if (Array.isArray(document)) {
    const [first] = document as unknown[];
    const usage = isObject(first) && isObject(first['error']) && first['error']['code'] === 'usage' ? `: it holds a usage error (${String(first['error']['message'])})` : '';
    throw new UsageError(`${file} is an array of reports, not a shard's report${usage}`, 'Give the --json output of each `apply-ws-fix --shard I/N --json` run (a fleet run without --shard prints an array).');
  }
  const bad = (what: string): never => {
    throw new UsageError(`${file} is not a shard's --json report: ${what}`, 'Give the --json output of each `apply-ws-fix --shard I/N --json` run.');
  };
  if (!isObject(document)) return bad('not a JSON object');
  if (document['schemaVersion'] !== REPORT_SCHEMA_VERSION) return bad(`schemaVersion ${JSON.stringify(document['schemaVersion'])}, this version reads ${REPORT_SCHEMA_VERSION}`);
  const shard = document['shard'];
  const fleet = document['fleet'];
  if (!isObject(shard) || !isCount(shard['index']) || !isCount(shard['count']) || shard['index'] < 1 || shard['index'] > shard['count']) return bad('no shard {index, count}');
  if (!isObject(fleet) || !isCount(fleet['hosts']) || typeof fleet['digest'] !== 'string') return bad('no fleet {hosts, digest}');
  if (typeof document['runbook'] !== 'string' || typeof document['action'] !== 'string' || typeof document['dryRun'] !== 'boolean') return bad('no runbook, action or dryRun');
  const reports = document['reports'];
  const positions = document['positions'];
  if (!Array.isArray(reports) || !Array.isArray(positions) || reports.length !== positions.length || !positions.every(isCount)) return bad('reports and positions do not match');
  for (const report of reports as unknown[]) {
    if (!isObject(report) || typeof report['host'] !== 'string' || typeof report['user'] !== 'string' || !isCount(report['port']) || !isCount(report['exitCode']) || typeof report['outcome'] !== 'string') return bad('a report without host, user, port, outcome or exitCode');
  }
  return document as unknown as ShardReport;
}

const list = (numbers: readonly number[]): string => numbers.join(', ');

/**
 * Merges the --json reports of a fleet's shards into the fleet's reports, in fleet order. Refused (a usage error) when
 * they are not all of one fleet (its size and digest, the runbook, the action), when a shard is given twice, when a
 * host is not in the shard that reported it, or when a shard is missing (unless partial: then the missing shards are
 * listed). With every shard given, the hosts reported must be exactly the fleet's (by its digest).
 */
export function mergeShardReports(files: readonly ShardFile[], options: { partial: boolean }): MergedFleet {
  if (files.length === 0) throw new UsageError('merge-reports needs the shards\' report files', 'For example: apply-ws-fix merge-reports shard-*.json');
  const docs = files.map((f) => ({ file: f.file, doc: asShardReport(f) }));
  const [first] = docs;
  const { count } = first!.doc.shard;
  for (const { file, doc } of docs.slice(1)) {
    const differs = (what: string, mine: unknown, theirs: unknown): never => {
      throw new UsageError(`${file} and ${first!.file} are not shards of one fleet run: ${what} ${JSON.stringify(theirs)} and ${JSON.stringify(mine)}`, 'Merge the reports of one run of every shard, made with the same hosts file, flags and shard count.');
    };
    if (doc.shard.count !== count) differs('shard counts', count, doc.shard.count);
    if (doc.fleet.digest !== first!.doc.fleet.digest || doc.fleet.hosts !== first!.doc.fleet.hosts) differs('the fleets differ (hosts and digest)', `${first!.doc.fleet.hosts} hosts, ${first!.doc.fleet.digest}`, `${doc.fleet.hosts} hosts, ${doc.fleet.digest}`);
    if (doc.runbook !== first!.doc.runbook) differs('runbooks', first!.doc.runbook, doc.runbook);
    if (doc.action !== first!.doc.action || doc.dryRun !== first!.doc.dryRun) differs('actions', `${first!.doc.action}${first!.doc.dryRun ? ' (dry run)' : ''}`, `${doc.action}${doc.dryRun ? ' (dry run)' : ''}`);
  }
  const byIndex = new Map<number, string>();
  for (const { file, doc } of docs) {
    const other = byIndex.get(doc.shard.index);
    if (other !== undefined) throw new UsageError(`shard ${doc.shard.index}/${count} is given twice: ${other} and ${file}`, 'Give each shard\'s report once.');
    byIndex.set(doc.shard.index, file);
    for (const report of doc.reports) {
      const identity = targetIdentity(report);
      const belongs = shardOf(identity, count);
      if (belongs !== doc.shard.index) throw new UsageError(`${file}: ${identity} is reported by shard ${doc.shard.index}/${count}, but it falls in shard ${belongs}/${count}`, 'The file was not written by apply-ws-fix --shard for this shard: give each shard\'s own --json output.');
    }
  }
  const entries = docs.flatMap(({ doc }) => doc.reports.map((report, i) => ({ report, position: doc.positions[i]!, shard: doc.shard.index })));
  const seen = new Map<string, number>();
  for (const { report, shard } of entries) {
    const identity = targetIdentity(report);
    const other = seen.get(identity);
    if (other !== undefined) throw new UsageError(`${identity} is reported twice (shards ${other} and ${shard})`, 'Merge the reports of one run of every shard.');
    seen.set(identity, shard);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((index) => !byIndex.has(index));
  const { hosts, digest } = first!.doc.fleet;
  if (missing.length > 0 && !options.partial) {
    throw new UsageError(`shard${missing.length > 1 ? 's' : ''} ${list(missing)} of ${count} missing: ${hosts - entries.length} of the fleet's ${hosts} hosts are not reported`, `Give every shard's report (1 to ${count}), or --partial to merge those given.`);
  }
  if (missing.length === 0 && (entries.length !== hosts || fleetDigest(entries.map((e) => targetIdentity(e.report))) !== digest)) {
    throw new UsageError(`the shards report ${entries.length} hosts, not the fleet's ${hosts} (its digest differs)`, 'Merge the reports of one run of every shard, made with the same hosts file.');
  }
  entries.sort((a, b) => a.position - b.position || a.shard - b.shard);
  return { runbook: first!.doc.runbook, shards: count, reports: entries.map((e) => e.report), missing: { shards: missing, hosts: hosts - entries.length } };
}

/** What a sharded fleet run prints instead of a fleet's: its shard report (for --json) and the line under its table. */
export function shardOutput(command: { runbook: { id: string }; runs: readonly { action: 'apply' | 'rollback' | 'check'; dryRun: boolean }[]; shard?: FleetShard | undefined }, reports: readonly RunReport[], exitCode: number): { document: ShardReport; footer: string } | undefined {
  const { shard, runs } = command;
  if (shard === undefined) return undefined;
  const first = runs[0] ?? { action: 'apply', dryRun: false };
  const document = shardReport(shard, reports, { runbook: command.runbook.id, action: reportAction(first), dryRun: first.dryRun, tool: reportTool() }, exitCode);
  return { document, footer: shardFooter(shard, reports.length, exitCode) };
}
