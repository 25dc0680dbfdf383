// Several hosts in one command: each host its own run (own connection, lock, journal and rollback),
// at most `concurrency` at a time; a failure on one host never touches the others.
import { Writable } from 'node:stream';
import { Listr } from 'listr2';
import { EXIT, type StopSignal } from '../errors.js';
import type { RunReport } from './report.js';
import type { RunOptions } from './options.js';
import { run } from './run.js';
import { notStartedReport, stoppedReport } from './stopped.js';
import { listrOptions, type LiveRun, type RunIO } from './tasks.js';
import type { Runbook } from './types.js';

export { shardOutput } from './shard.js';

export interface FleetTarget extends Partial<RunOptions> {
  host: string;
  port: number;
  user: string;
}

// Worst first: a host not restored outranks an interrupt, which outranks a failed start or check.
const SEVERITY: readonly number[] = [EXIT.notRestored, EXIT.terminated, EXIT.hangup, EXIT.interrupted, EXIT.couldNotStart, EXIT.checkFailed, EXIT.unhealthy, EXIT.needsChange, EXIT.afterFailed, EXIT.usage, EXIT.ok];

/** The exit code of a fleet run: the worst host's. */
export function worstExitCode(codes: readonly number[]): number {
  for (const code of SEVERITY) if (codes.includes(code)) return code;
  return codes[0] ?? EXIT.ok;
}

/** `user@host:port`, the label of a host in a fleet's lines. */
export const hostLabel = (t: { user: string; host: string; port: number }): string => `${t.user}@${t.host}:${t.port}`;

// A stream that puts `label: ` before every line written to `out` (--verbose and the simple renderer of a fleet, where
// the lines of every host interleave).
function labelled(out: NodeJS.WritableStream, label: string): NodeJS.WriteStream {
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      if (lines.length > 0) out.write(lines.map((line) => `${label}: ${line}\n`).join(''));
      done();
    },
  });
  return stream as unknown as NodeJS.WriteStream;
}

/**
 * What a fleet knows while it runs: each host's report once finished, its run while running, or nothing yet. A stop
 * at once (a second signal) reads it to print every host's report so far.
 */
export class FleetState {
  readonly reports: (RunReport | undefined)[];
  readonly lives: (LiveRun | undefined)[];
  /** Each host's plan and other prose, when it is collected to be printed after the task list (a redrawing terminal). */
  readonly texts: string[];

  constructor(
    readonly base: RunOptions,
    readonly targets: readonly FleetTarget[],
    readonly runbook: Runbook,
    readonly defaultRunbook: string,
  ) {
    this.reports = new Array<RunReport | undefined>(targets.length).fill(undefined);
    this.lives = new Array<LiveRun | undefined>(targets.length).fill(undefined);
    this.texts = targets.map(() => '');
  }

  /** Every host's report as of now: finished, stopped at once, or not started. */
  soFar(signal: StopSignal): RunReport[] {
    return this.targets.map((target, i) => {
      const live = this.lives[i];
      return this.reports[i] ?? (live !== undefined ? stoppedReport(live, signal, this.defaultRunbook) : notStartedReport({ ...this.base, ...target }, this.runbook, signal));
    });
  }
}

/**
 * Runs the action on every target, each in its own task group; returns one report per target, in order. Once a signal
 * has come, a host still waiting its turn is not contacted: it is reported not started.
 */
export async function runFleet(base: RunOptions, targets: readonly FleetTarget[], runbook: Runbook, io: RunIO, concurrency: number, state = new FleetState(base, targets, runbook, runbook.id)): Promise<RunReport[]> {
  // On a redrawing terminal each host's prose waits for the end; otherwise (CI, --verbose, a pipe) its lines go out as
  // they come, each with the host's label.
  const immediate = io.renderer === 'simple';
  const tasks = targets.map((target, index) => ({
    title: hostLabel(target),
    task: async (_: unknown, task: { title: string; output?: string; skip(message?: string): void }) => {
      const label = hostLabel(target);
      if (io.interrupt.signal !== null) {
        state.reports[index] = notStartedReport({ ...base, ...target }, runbook, io.interrupt.signal);
        task.skip(`${label}: not started (${io.interrupt.signal} came first)`);
        return;
      }
      const output = io.renderer === 'silent' ? io.output : labelled(io.output, label);
      const report = await run({ ...base, ...target }, runbook, {
        ...io,
        renderer: 'silent',
        output,
        confirm: undefined,
        ...(io.renderer === 'silent' ? {} : { text: immediate ? (text: string) => output.write(text) : (text: string) => (state.texts[index] += text) }),
        track: (live) => {
          state.lives[index] = live;
          io.track?.(live);
        },
        onProgress: (line: string) => (task.output = immediate ? `${label}: ${line}` : line),
      });
      state.reports[index] = report;
      task.title = `${label}: ${report.outcome} (exit ${report.exitCode}, ${(report.durationMs / 1000).toFixed(1)} s)`;
      if (report.exitCode !== EXIT.ok) throw new Error(task.title);
    },
  }));
  await new Listr(tasks, { ...listrOptions(io), concurrent: Math.max(1, concurrency), exitOnError: false })
    .run()
    .catch(() => {});
  return state.reports.map((report, i) => report ?? notStartedReport({ ...base, ...targets[i]! }, runbook, io.interrupt.signal ?? 'SIGINT'));
}

/** One line a host, for the end of a fleet run. */
export function fleetTable(reports: readonly RunReport[]): string {
  const rows = reports.map((r) => [hostLabel(r), r.outcome, String(r.exitCode), `${(r.durationMs / 1000).toFixed(1)} s`, r.error ? r.error.message.split('\n')[0]! : '']);
  const header = ['host', 'outcome', 'exit', 'time', 'what failed'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const table = [line(header), ...rows.map(line)];
  const needRollback = reports.filter((r) => r.outcome === 'failed-not-restored');
  if (needRollback.length > 0) table.push('', `Need --rollback (not back to their previous state): ${needRollback.map(hostLabel).join(', ')}`);
  return table.join('\n');
}
