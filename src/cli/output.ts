// What a finished run prints: the JSON report on stdout with --json, else the summary; a run that could not start
// is an error on stderr.
import type { RunReport } from '../core/report.js';
import { summarize, type SummaryOptions } from '../core/summary.js';
import { EXIT } from '../errors.js';

export interface OutputStreams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** The output of a finished run: JSON on stdout with --json, else the summary; a run that could not start is an error. */
export function printReport(io: OutputStreams, report: RunReport, json: boolean, summary: SummaryOptions = {}): void {
  if (json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (report.outcome === 'could-not-start' && report.error) {
    // Nothing ran, so there is no summary to give: what failed, and the fix, on stderr like any other error.
    io.stderr.write(`${couldNotStart(report)}\n`);
    return;
  }
  (json ? io.stderr : io.stdout).write(`\n${summarize(report, summary)}\n`);
}

/**
 * The end of a fleet's output (a fleet run, a shard of one, or merged shards): with --json, `document` on stdout and
 * the rest on stderr; the lines (the table, the line under it), then a summary of each host that did not end well.
 */
export function printFleetEnd(io: OutputStreams, end: { json: boolean; document: unknown; lines: readonly string[]; reports: readonly RunReport[]; headlines: SummaryOptions['headlines'] }): void {
  if (end.json) io.stdout.write(`${JSON.stringify(end.document, null, 2)}\n`);
  const out = end.json ? io.stderr : io.stdout;
  out.write(`\n${end.lines.join('\n')}\n`);
  for (const report of end.reports.filter((r) => r.exitCode !== EXIT.ok)) out.write(`\n${summarize(report, { headlines: end.headlines })}\n`);
}

/** Two lines for a run that could not start: the error with where it happened, then the remedy. */
export function couldNotStart(report: RunReport): string {
  const where = `${report.user}@${report.host}:${report.port}`;
  const message = report.error!.message.replace(/\n/g, ' ');
  return `apply-ws-fix: could not start on ${where} (nothing was changed): ${message}${report.error!.remedy ? `\n${report.error!.remedy}` : ''}`;
}

