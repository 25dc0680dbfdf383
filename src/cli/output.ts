// What a finished run prints: the JSON report on stdout with --json, else the summary.
import type { RunReport } from '../core/report.js';
import { summarize } from '../core/summary.js';
import type { Runbook } from '../core/types.js';

export interface OutputStreams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** The output of a finished run: JSON on stdout with --json, else the summary. */
export function printReport(io: OutputStreams, report: RunReport, json: boolean, runbook?: Runbook): void {
  if (json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  (json ? io.stderr : io.stdout).write(`\n${summarize(report, runbook?.headlines)}\n`);
}

