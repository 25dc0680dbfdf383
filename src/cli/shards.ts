// The ends of a sharded fleet that run nothing: a shard no host falls in, and `apply-ws-fix merge-reports`.
import { readFile } from 'node:fs/promises';
import type { RunOptions } from '../core/options.js';
import { reportAction, reportTool } from '../core/report.js';
import { emptyShardMessage, mergeShardReports, shardReport, type FleetShard, type ShardFile } from '../core/shard.js';
import type { Runbook } from '../core/types.js';
import { EXIT, UsageError } from '../errors.js';
import { printFleetEnd, type OutputStreams } from './output.js';
import type { MergeReportsCommand } from './merge-reports-args.js';

/** A shard no host falls in: not an error. It says so, and with --json prints its (empty) shard report. */
export function emptyShard(io: OutputStreams, command: { runbook: Runbook; json: boolean; shard: FleetShard; action: RunOptions['action']; dryRun: boolean }): number {
  if (command.json) {
    const document = shardReport(command.shard, [], { runbook: command.runbook.id, tool: reportTool(), action: reportAction(command), dryRun: command.dryRun }, EXIT.ok);
    io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  }
  (command.json ? io.stderr : io.stdout).write(`${emptyShardMessage(command.shard)}\n`);
  return EXIT.ok;
}

// A report file as JSON; a file that cannot be read or parsed is named.
async function readShardFile(file: string): Promise<ShardFile> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`, 'Give the files each shard\'s --json run wrote.');
  });
  try {
    return { file, document: JSON.parse(text) as unknown };
  } catch (error) {
    throw new UsageError(`${file} is not JSON: ${(error as Error).message}`, text.trim() === '' ? 'It is empty: did its shard\'s job run, and with --json?' : 'Give the --json output alone (progress goes to stderr, not into the file).');
  }
}

// The runbook's own headlines for the summaries, when it is one of this package's (a runbook from a path is not known here).
async function headlinesOf(runbookId: string): Promise<Runbook['headlines']> {
  const { builtInIds, loadRunbook } = await import('./registry.js');
  if (!builtInIds().includes(runbookId)) return undefined;
  return (await loadRunbook(runbookId, process.cwd()).catch(() => undefined))?.headlines;
}

/**
 * `apply-ws-fix merge-reports FILE…`: the shards' reports as one fleet. The table and the exit code are the fleet's:
 * what a run of the whole fleet in one process would print. With --json, the fleet's array of reports on stdout.
 */
export async function mergeReports(io: OutputStreams, command: MergeReportsCommand): Promise<number> {
  const files = await Promise.all(command.files.map(readShardFile));
  const merged = mergeShardReports(files, { partial: command.partial });
  const { fleetTable, worstExitCode } = await import('../core/fleet.js');
  const exitCode = worstExitCode(merged.reports.map((r) => r.exitCode));
  const given = merged.shards - merged.missing.shards.length;
  const { shards: missing, hosts: unreported } = merged.missing;
  const lines = [
    ...(merged.reports.length > 0 ? [fleetTable(merged.reports)] : []),
    `${merged.reports.length} hosts from ${given} of ${merged.shards} shards, exit ${exitCode} (the worst host's)`,
    ...(missing.length > 0 ? [`PARTIAL: shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${merged.shards} not given: ${unreported} host${unreported === 1 ? '' : 's'} not reported, and not counted in the exit code`] : []),
  ];
  printFleetEnd(io, { json: command.json, document: merged.reports, lines, reports: merged.reports, headlines: await headlinesOf(merged.runbook) });
  return exitCode;
}
