// The CLI edge: parse, run, print the summary or the JSON report, and return the exit code.
import { createInterface } from 'node:readline/promises';
import { ocapistaineWsFix } from '../../runbooks/ocapistaine-ws-fix/runbook.js';
import type { InterruptState } from '../engine/context.js';
import type { RunOptions } from '../engine/options.js';
import type { RunIO } from '../engine/run.js';
import { AppError, EXIT, messageOf } from '../errors.js';
import { FAULTS } from '../fake-host/faults.js';
import { toolVersion, type RunReport } from '../report/report.js';
import { summarize, type SummaryOptions } from '../report/summary.js';
import { parseArgs } from './args.js';
import { unknownEnvWarnings } from './suggest.js';
import { canRedraw, useColor } from './terminal.js';

export interface CliIO {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
  /** Registers a handler for SIGINT/SIGTERM; returns the unregister function. */
  onSignal(handler: (signal: 'SIGINT' | 'SIGTERM') => void): () => void;
}

// A y/N question on the terminal; anything but y/yes is no, and so is Ctrl-C (readline catches it on a terminal,
// and without a listener the question would wait forever).
function terminalConfirm(io: CliIO): (question: string) => Promise<boolean> {
  return async (question) => {
    const rl = createInterface({ input: io.stdin, output: io.stderr });
    const cancel = new AbortController();
    rl.on('SIGINT', () => cancel.abort());
    try {
      const answer = await rl.question(`${question} [y/N] `, { signal: cancel.signal });
      return /^y(es)?$/i.test(answer.trim());
    } catch {
      io.stderr.write('\n');
      return false;
    } finally {
      rl.close();
    }
  };
}

/** Signal handling for a run: the first signal asks for a rollback at the next safe point, the second stops at once. */
export function interruptHandler(io: CliIO, interrupt: InterruptState): () => void {
  return io.onSignal((signal) => {
    if (interrupt.signal === null) {
      interrupt.signal = signal;
      io.stderr.write(`\n${signal}: stopping at the next safe point and rolling back what this run changed. Press Ctrl-C again to stop at once.\n`);
      return;
    }
    io.stderr.write(
      `\nStopped at once. The host may be half-changed: check it with\n  apply-ws-fix --dry-run …   (same --host/--dir/--service)\nand put the previous config back with\n  apply-ws-fix --rollback --yes …\n`,
    );
    process.exit(signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated);
  });
}

/** The output of a finished run: JSON on stdout with --json, else the summary; a run that could not start is an error. */
export function printReport(io: CliIO, report: RunReport, json: boolean, summary: SummaryOptions = {}): void {
  if (json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (report.outcome === 'could-not-start' && report.error) {
    // Nothing ran, so there is no summary to give: what failed, and the fix, on stderr like any other error.
    io.stderr.write(`${couldNotStart(report)}\n`);
    return;
  }
  (json ? io.stderr : io.stdout).write(`\n${summarize(report, summary)}\n`);
}

/** Two lines for a run that could not start: the error with where it happened, then the remedy. */
export function couldNotStart(report: RunReport): string {
  const where = `${report.user}@${report.host}:${report.port}`;
  const message = report.error!.message.replace(/\n/g, ' ');
  return `apply-ws-fix: could not start on ${where} (nothing was changed): ${message}${report.error!.remedy ? `\n${report.error!.remedy}` : ''}`;
}

// Several hosts: a task group each, then a table; --json prints one report per host, as an array.
async function runFleetCommand(io: CliIO, runIO: RunIO, command: { runs: RunOptions[]; json: boolean; concurrency: number }): Promise<number> {
  const { fleetTable, runFleet, worstExitCode } = await import('../engine/fleet.js');
  const [base, ...rest] = command.runs;
  const reports = await runFleet(base!, [base!, ...rest], ocapistaineWsFix, runIO, command.concurrency);
  if (command.json) io.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
  const exitCode = worstExitCode(reports.map((r) => r.exitCode));
  (command.json ? io.stderr : io.stdout).write(`\n${fleetTable(reports)}\n${reports.length} hosts, exit ${exitCode} (the worst host's)\n`);
  for (const report of reports.filter((r) => r.exitCode !== EXIT.ok)) (command.json ? io.stderr : io.stdout).write(`\n${summarize(report)}\n`);
  return exitCode;
}

/** Runs the CLI with argv (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const interactive = Boolean(io.stdin.isTTY && io.stdout.isTTY);
  // A mistyped APPLY_WS_FIX_* variable would otherwise be ignored in silence (not while completing a word).
  if (!argv.includes('--get-yargs-completions')) for (const warning of unknownEnvWarnings(io.env)) io.stderr.write(`apply-ws-fix: warning: ${warning}\n`);
  try {
    const command = await parseArgs(argv, ocapistaineWsFix.defaults, { env: io.env, interactive, faultNames: Object.keys(FAULTS), version: toolVersion() });
    if (command.kind === 'help') {
      io.stdout.write(`${command.text}\n`);
      return EXIT.ok;
    }
    if (command.kind === 'done') return EXIT.ok;
    if (command.kind === 'print-config') {
      io.stdout.write(`${command.text}\n`);
      return EXIT.ok;
    }
    if (command.kind === 'version') {
      io.stdout.write(`${toolVersion()}\n`);
      return EXIT.ok;
    }
    // The engine, SSH and the fake host load only when a run needs them: --help and --version stay fast.
    if (command.kind === 'fake-host') return await (await import('./fake-host-run.js')).fakeHostCommand(io, command);
    const [{ run }, { sshConnector }] = await Promise.all([import('../engine/run.js'), import('../transport/connector.js')]);
    const json = command.json;
    const first = command.kind === 'fleet' ? command.runs[0]! : command.options;
    const output = json ? io.stderr : io.stdout;
    const plain = !canRedraw(output, io.env) || !io.stdout.isTTY || first.verbose;
    const interrupt: InterruptState = { signal: null };
    const runIO: RunIO = {
      renderer: plain ? 'simple' : 'default',
      output,
      color: useColor(output, io.env),
      ...(first.yes || first.dryRun ? {} : { confirm: terminalConfirm(io) }),
      // On a terminal, passphrase prompts come now, before the task list draws (the demo's keys need none).
      connect: await sshConnector(io, command.kind === 'run' ? command.options : command.kind === 'fleet' ? command.runs : undefined),
      interrupt,
    };
    const unregister = interruptHandler(io, interrupt);
    try {
      if (command.kind === 'demo') return await (await import('./demo.js')).runDemo(io, runIO, command);
      if (command.kind === 'fleet') return await runFleetCommand(io, runIO, command);
      const report = await run(command.options, ocapistaineWsFix, runIO);
      printReport(io, report, json);
      return report.exitCode;
    } finally {
      unregister();
    }
  } catch (error) {
    if (error instanceof AppError) {
      io.stderr.write(`apply-ws-fix: ${error.message}\n${error.remedy ? `${error.remedy}\n` : ''}`);
      return error.exitCode;
    }
    io.stderr.write(`apply-ws-fix: internal error: ${messageOf(error)}\n`);
    return EXIT.couldNotStart;
  }
}
