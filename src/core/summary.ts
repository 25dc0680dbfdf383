// The closing lines an operator reads at 2 a.m.: what happened, what state the host is in, what to do next.
import type { RunReport } from './report.js';

const HEADLINES: Record<RunReport['outcome'], string> = {
  applied: 'Applied: the change is live and verified',
  'already-applied': 'Already applied: nothing to change, and the checks pass',
  'dry-run': 'Dry run: nothing was changed',
  'rolled-back': 'Rolled back: the previous state is back',
  'nothing-to-roll-back': 'Nothing to roll back: the previous state is already in place',
  healthy: 'Healthy: nothing to change, and every check passes',
  'needs-change': 'Needs the change: the host is not as the runbook leaves it (nothing was changed)',
  'check-failed': 'A check fails although there is nothing to change (nothing was changed)',
  declined: 'Declined: nothing was changed',
  'failed-nothing-changed': 'Failed, and nothing had been changed on the host',
  'failed-and-restored': 'Failed, and the host was rolled back to its previous state',
  'failed-not-restored': 'FAILED, and the host is NOT back to its previous state',
  'could-not-start': 'Could not start: nothing was changed',
  'not-started': 'Not started: never contacted (a signal came while it waited its turn)',
};

export interface SummaryOptions {
  /** The line after a successful apply that says how to undo it; null leaves it out (the demo's host is gone by then). */
  undoHint?: string | null;
  /** Headlines a runbook words better than the core ("the WebSocket fix is live"). */
  headlines?: Partial<Record<string, string>> | undefined;
}

/** The human summary of a report, a few lines long. */
export function summarize(report: RunReport, options: SummaryOptions = {}): string {
  const headlines = options.headlines ?? {};
  const ok = report.exitCode === 0;
  const lines = [`${ok ? '✔' : '✖'} ${headlines[report.outcome] ?? HEADLINES[report.outcome]} (${report.user}@${report.host}:${report.port}, ${(report.durationMs / 1000).toFixed(1)} s, exit ${report.exitCode})`];
  if (report.error) {
    lines.push(`  What failed: ${report.error.message.replace(/\n/g, '\n    ')}`);
    if (report.error.remedy) lines.push(`  What to do: ${report.error.remedy}`);
  }
  if (report.diagnosis) {
    lines.push(`  Likely cause: ${report.diagnosis.cause}`);
    for (const item of report.diagnosis.evidence) lines.push(`    - ${item.replace(/\n/g, '\n      ')}`);
    lines.push(`  Remedy: ${report.diagnosis.remedy}`);
  }
  for (const step of report.steps) {
    if (step.status === 'not-run') continue;
    // Skips say why; done steps were detailed in the task list, so only their time shows here.
    const why = step.status === 'done' || step.status === 'rolled-back' || !step.detail ? '' : `: ${step.detail.split('\n')[0]}`;
    lines.push(`  ${step.status.padEnd(12)} ${step.title}${why}${step.durationMs > 0 ? ` (${(step.durationMs / 1000).toFixed(1)} s)` : ''}`);
  }
  if (report.rollback) {
    lines.push(`  Rollback: ${report.rollback.restored ? 'complete' : 'INCOMPLETE'}`);
    for (const action of report.rollback.actions) lines.push(`    ${action.status === 'done' ? '✔' : '✖'} ${action.title}: ${action.detail.split('\n')[0]}`);
  }
  if (report.recovery) {
    lines.push('  To put the host back by hand:');
    for (const command of report.recovery) lines.push(`    ${command}`);
  }
  const undoHint = options.undoHint === undefined ? 'To undo: the same command with --rollback' : options.undoHint;
  if (report.outcome === 'applied' && undoHint !== null) lines.push(`  ${undoHint}`);
  return lines.join('\n');
}
