// Several hosts in one command: each host its own run (own connection, lock, journal and rollback),
// at most `concurrency` at a time; a failure on one host never touches the others.
import { Listr } from 'listr2';
import { EXIT } from '../errors.js';
import type { RunReport } from './report.js';
import type { RunOptions } from './options.js';
import { run } from './run.js';
import { listrOptions, type RunIO } from './tasks.js';
import type { Runbook } from './types.js';

export interface FleetTarget extends Partial<RunOptions> {
  host: string;
  port: number;
  user: string;
}

// Worst first: a host not restored outranks an interrupt, which outranks a failed start or check.
const SEVERITY: readonly number[] = [EXIT.notRestored, EXIT.terminated, EXIT.hangup, EXIT.interrupted, EXIT.couldNotStart, EXIT.checkFailed, EXIT.unhealthy, EXIT.needsChange, EXIT.usage, EXIT.ok];

/** The exit code of a fleet run: the worst host's. */
export function worstExitCode(codes: readonly number[]): number {
  for (const code of SEVERITY) if (codes.includes(code)) return code;
  return codes[0] ?? EXIT.ok;
}

/** Runs the action on every target, each in its own task group; returns one report per target, in order. */
export async function runFleet(base: RunOptions, targets: readonly FleetTarget[], runbook: Runbook, io: RunIO, concurrency: number): Promise<RunReport[]> {
  const reports: RunReport[] = new Array(targets.length);
  const tasks = targets.map((target, index) => ({
    title: `${target.user}@${target.host}:${target.port}`,
    task: async (_: unknown, task: { title: string; output?: string }) => {
      const report = await run({ ...base, ...target }, runbook, { ...io, renderer: 'silent', confirm: undefined, onProgress: (line: string) => (task.output = line) });
      reports[index] = report;
      task.title = `${target.user}@${target.host}:${target.port}: ${report.outcome} (exit ${report.exitCode}, ${(report.durationMs / 1000).toFixed(1)} s)`;
      if (report.exitCode !== EXIT.ok) throw new Error(task.title);
    },
  }));
  await new Listr(tasks, { ...listrOptions(io), concurrent: Math.max(1, concurrency), exitOnError: false })
    .run()
    .catch(() => {});
  return reports;
}

/** One line a host, for the end of a fleet run. */
export function fleetTable(reports: readonly RunReport[]): string {
  const rows = reports.map((r) => [`${r.user}@${r.host}:${r.port}`, r.outcome, String(r.exitCode), `${(r.durationMs / 1000).toFixed(1)} s`, r.error ? r.error.message.split('\n')[0]! : '']);
  const header = ['host', 'outcome', 'exit', 'time', 'what failed'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
