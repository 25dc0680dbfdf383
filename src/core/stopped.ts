// Reports for runs that never got to finish: stopped at once by a second signal, or never started because the first
// came while they were queued. The report so far is kept; what it says about the host is what is known for sure.
import { EXIT, exitCodeOf, type StopSignal } from '../errors.js';
import { shellJoin } from '../shell/quote.js';
import type { RunOptions } from './options.js';
import type { RunReport } from './report.js';
import { newReport } from './run.js';
import type { LiveRun } from './tasks.js';
import type { Runbook } from './types.js';

/** The tool's own rollback for the host of a report, as a command line (secret parameters come from the environment). */
export function rollbackCommand(report: RunReport, defaultRunbook: string): string {
  const params = Object.entries(report.params).filter(([, value]) => !String(value).startsWith('<secret'));
  return shellJoin([
    'apply-ws-fix',
    ...(report.runbook !== defaultRunbook ? ['--runbook', report.runbook] : []),
    '--host', report.host, '--port', String(report.port), '--user', report.user,
    ...params.flatMap(([name, value]) => ['--param', `${name}=${String(value)}`]),
    '--rollback', '--yes',
  ]);
}

/** The report of a run stopped at once: failed-not-restored (exit 2) if it had changed the host, else nothing changed. */
export function stoppedReport(live: LiveRun, signal: StopSignal, defaultRunbook: string, now = Date.now()): RunReport {
  const report = structuredClone(live.report);
  if (live.finished) return report;
  const changed = live.changed();
  report.outcome = changed ? 'failed-not-restored' : 'failed-nothing-changed';
  report.exitCode = changed ? EXIT.notRestored : exitCodeOf(signal);
  report.durationMs = now - Date.parse(report.startedAt);
  for (const step of report.steps) if (step.status === 'failed' && step.detail === '') step.detail = `stopped at once by a second ${signal} while it ran`;
  report.error = changed
    ? { message: `stopped at once by a second ${signal}: the host may be half-changed`, code: 'stopped', remedy: 'Look with --dry-run, then put the host back with --rollback --yes: the next run finds this one unfinished in the host\'s journal.', step: null }
    : { message: `stopped at once by a second ${signal}, before this run changed anything`, code: 'stopped', remedy: 'Run it again: a lock this run may have left is taken over, since its holder is gone.', step: null };
  if (changed) report.recovery = [rollbackCommand(report, defaultRunbook)];
  return report;
}

/** The report of a host a fleet never contacted: the first signal came while it waited its turn. */
export function notStartedReport(options: RunOptions, runbook: Runbook, signal: StopSignal): RunReport {
  const report = newReport(options, runbook);
  report.outcome = 'not-started';
  report.exitCode = exitCodeOf(signal);
  report.error = { message: `not started: ${signal} came while this host waited its turn, and it was never contacted`, code: 'not-started', remedy: 'Run the fleet again for this host.', step: null };
  return report;
}
