// The CLI edge: parse, run, print the summary or the JSON report, and return the exit code.
import { createInterface } from 'node:readline/promises';
import type { InterruptState } from '../core/session.js';
import type { RunOptions } from '../core/options.js';
import type { LiveRun, RunIO } from '../core/tasks.js';
import type { FleetState } from '../core/fleet.js';
import type { Runbook } from '../core/types.js';
import { AppError, EXIT, InterruptedError, messageOf, type StopSignal } from '../errors.js';
import { FAULTS } from '../fake-host/faults.js';
import { REPORT_SCHEMA_VERSION, reportTool, toolVersion, type RunReport } from '../core/report.js';
import { printFleetEnd, printReport } from './output.js';
import { parseArgs, type Command } from './args.js';
import { DEFAULT_RUNBOOK } from './registry.js';
import { unknownEnvWarnings } from './suggest.js';
import { canRedraw, useColor } from './terminal.js';

export { printReport } from './output.js';

export interface CliIO {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  env: NodeJS.ProcessEnv;
  /** Registers a handler for SIGINT/SIGTERM/SIGHUP; returns the unregister function. */
  onSignal(handler: (signal: StopSignal) => void): () => void;
}

// A y/N question on the terminal; anything but y/yes is no, and so is Ctrl-C (readline catches it on a terminal,
// and without a listener the question would wait forever). A SIGTERM or SIGHUP (or a SIGINT sent by kill) while it
// waits ends the question at once: the run then stops as interrupted, releasing its lock (exit 143, 129, 130).
function terminalConfirm(io: CliIO, stopped: AbortSignal, interrupt: InterruptState): (question: string) => Promise<boolean> {
  return async (question) => {
    if (interrupt.signal !== null) throw new InterruptedError(interrupt.signal);
    const rl = createInterface({ input: io.stdin, output: io.stderr });
    const cancel = new AbortController();
    rl.on('SIGINT', () => cancel.abort());
    try {
      const answer = await rl.question(`${question} [y/N] `, { signal: AbortSignal.any([cancel.signal, stopped]) });
      return /^y(es)?$/i.test(answer.trim());
    } catch {
      io.stderr.write('\n');
      if (interrupt.signal !== null) throw new InterruptedError(interrupt.signal);
      return false;
    } finally {
      rl.close();
    }
  };
}

/** Signal handling for a run: the first signal asks for a rollback at the next safe point, the second stops at once. */
export function interruptHandler(io: CliIO, interrupt: InterruptState, hooks: { first?: () => void; second?: (signal: StopSignal) => number } = {}): () => void {
  return io.onSignal((signal) => {
    if (interrupt.signal === null) {
      interrupt.signal = signal;
      io.stderr.write(`\n${signal}: stopping at the next safe point and rolling back what this run changed. Press Ctrl-C again to stop at once.\n`);
      hooks.first?.();
      return;
    }
    io.stderr.write(`\nStopped at once by a second ${signal}. A host this run had changed may be half-changed: the report says which need --rollback.\n`);
    // Whatever printing the report so far does, the process stops here.
    let code: number = EXIT.notRestored;
    try {
      code = hooks.second?.(signal) ?? code;
    } finally {
      process.exit(code);
    }
  });
}

// `apply-ws-fix runbooks`: each runbook with its parameters, as text or JSON.
async function listRunbooks(io: CliIO, json: boolean): Promise<number> {
  const { allRunbooks } = await import('./registry.js');
  const runbooks = await allRunbooks();
  const described = runbooks.map((r) => ({
    id: r.id,
    title: r.title,
    description: r.description,
    params: Object.entries(r.params).map(([name, spec]) => ({ name, type: spec.type, description: spec.description, default: spec.default ?? null, required: spec.required ?? false, secret: spec.secret ?? false })),
  }));
  if (json) {
    io.stdout.write(`${JSON.stringify(described, null, 2)}\n`);
    return EXIT.ok;
  }
  for (const r of described) {
    io.stdout.write(`${r.id}: ${r.title}\n`);
    for (const p of r.params) io.stdout.write(`  --param ${p.name.padEnd(14)} ${p.type.padEnd(8)} ${p.description}${p.secret ? ' [secret]' : ''}${p.default !== null ? ` (default: ${String(p.default)})` : p.required ? ` (required${p.required === 'apply' ? ' to apply' : ''})` : ''}\n`);
    io.stdout.write('\n');
  }
  return EXIT.ok;
}

// The end of a fleet run: the JSON array, or the table and each failed host's summary.
// A shard of a fleet (--shard) prints its shard report instead of the array, and says which shard it was.
function printFleet(io: CliIO, reports: readonly RunReport[], json: boolean, runbook: Runbook, fleetTable: (r: readonly RunReport[]) => string, exitCode: number, shard?: { document: unknown; footer: string }): void {
  const footer = shard?.footer ?? `${reports.length} hosts, exit ${exitCode} (the worst host's)`;
  printFleetEnd(io, { json, document: shard?.document ?? reports, lines: [fleetTable(reports), footer], reports, headlines: runbook.headlines });
}

// Several hosts: a task group each, then each host's plan (a dry run or a check), then a table; --json prints one
// report per host, as an array.
async function runFleetCommand(io: CliIO, runIO: RunIO, command: Extract<Command, { kind: 'fleet' }>, state: FleetState): Promise<number> {
  const { fleetTable, hostLabel, runFleet, shardOutput, worstExitCode } = await import('../core/fleet.js');
  const [base] = command.runs;
  const reports = await runFleet(base!, command.runs, command.runbook, runIO, command.concurrency, state);
  const exitCode = worstExitCode(reports.map((r) => r.exitCode));
  if (base!.dryRun || base!.action === 'check') {
    state.texts.forEach((text, i) => {
      if (text !== '') runIO.output.write(`\n── ${hostLabel(command.runs[i]!)} ──\n${text}`);
    });
  }
  printFleet(io, reports, command.json, command.runbook, fleetTable, exitCode, shardOutput(command, reports, exitCode));
  return exitCode;
}

/** Whether the command line asks for --json (read before parsing, so a usage error can still be one JSON document). */
export function wantsJson(argv: readonly string[]): boolean {
  const own = argv.indexOf('--') >= 0 ? argv.slice(0, argv.indexOf('--')) : argv;
  if (own[0] === 'fake-host' || own.includes('--help') || own.includes('-h')) return false;
  let json = false;
  for (const arg of own) {
    if (arg === '--json' || arg === '--json=true') json = true;
    else if (arg === '--no-json' || arg === '--json=false') json = false;
  }
  return json;
}

// --json's document for a usage error (exit 64): report-shaped, outcome could-not-start, error code "usage". Nothing
// was parsed for sure, so host, port and user are null; the action is what the flags ask for.
export function usageReport(argv: readonly string[], error: AppError): Omit<RunReport, 'host' | 'port' | 'user'> & { host: null; port: null; user: null } {
  const has = (flag: string): boolean => argv.includes(flag);
  const runbookAt = argv.findIndex((a) => a === '--runbook' || a.startsWith('--runbook='));
  const runbook = runbookAt < 0 ? DEFAULT_RUNBOOK : argv[runbookAt]!.includes('=') ? argv[runbookAt]!.slice('--runbook='.length) : (argv[runbookAt + 1] ?? DEFAULT_RUNBOOK);
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: reportTool(),
    runbook,
    runId: null,
    host: null,
    port: null,
    user: null,
    dir: null,
    service: null,
    url: null,
    params: {},
    action: has('--check') ? 'check' : has('--rollback') ? 'rollback' : has('--dry-run') ? 'dry-run' : 'apply',
    dryRun: has('--dry-run'),
    outcome: 'could-not-start',
    exitCode: error.exitCode,
    startedAt: new Date().toISOString(),
    durationMs: 0,
    steps: [],
    diff: null,
    checksums: null,
    rollback: null,
    error: { message: error.message, code: error.code, remedy: error.remedy ?? null, step: null },
    recovery: null,
    diagnosis: null,
    unfinished: null,
    check: null,
  };
}

/** Runs the CLI with argv (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const interactive = Boolean(io.stdin.isTTY && io.stdout.isTTY);
  // A mistyped APPLY_WS_FIX_* variable would otherwise be ignored in silence (not while completing a word).
  if (!argv.includes('--get-yargs-completions')) for (const warning of unknownEnvWarnings(io.env)) io.stderr.write(`apply-ws-fix: warning: ${warning}\n`);
  try {
    const command = await parseArgs(argv, { env: io.env, interactive, faultNames: Object.keys(FAULTS), version: toolVersion(), readStdin: () => readAll(io.stdin) });
    if (command.kind === 'runbooks') return await listRunbooks(io, command.json);
    if (command.kind === 'explain') return await explain(io, command);
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
    if (command.kind === 'merge-reports') return await (await import('./shards.js')).mergeReports(io, command);
    if (command.kind === 'empty-shard') return (await import('./shards.js')).emptyShard(io, command);
    const [{ run, newReport }, { sshConnector }] = await Promise.all([import('../core/run.js'), import('../transport/connector.js')]);
    const json = command.json;
    const first = command.kind === 'fleet' ? command.runs[0]! : command.options;
    const output = json ? io.stderr : io.stdout;
    const plain = !canRedraw(output, io.env) || !io.stdout.isTTY || first.verbose;
    const interrupt: InterruptState = { signal: null };
    const stopped = new AbortController();
    const runIO: RunIO = {
      renderer: plain ? 'simple' : 'default',
      output,
      color: useColor(output, io.env),
      ...(first.yes || first.dryRun ? {} : { confirm: terminalConfirm(io, stopped.signal, interrupt) }),
      // On a terminal, passphrase prompts come now, before the task list draws (the demo's keys need none).
      connect: await sshConnector(io, command.kind === 'run' ? command.options : command.kind === 'fleet' ? command.runs : undefined),
      interrupt,
    };
    // A second signal stops at once: every run's report so far is printed first (one JSON document with --json),
    // saying which hosts may be half-changed and need --rollback; the exit code is the worst host's (2 if any).
    const lives: LiveRun[] = [];
    runIO.track = (live) => lives.push(live);
    const { FleetState, fleetTable, shardOutput, worstExitCode } = await import('../core/fleet.js');
    const { stoppedReport } = await import('../core/stopped.js');
    const fleet = command.kind === 'fleet' ? new FleetState(command.runs[0]!, command.runs, command.runbook, DEFAULT_RUNBOOK) : undefined;
    const stopNow = (signal: StopSignal): number => {
      if (fleet !== undefined) {
        const reports = fleet.soFar(signal);
        const exitCode = worstExitCode(reports.map((r) => r.exitCode));
        printFleet(io, reports, json, command.runbook, fleetTable, exitCode, command.kind === 'fleet' ? shardOutput(command, reports, exitCode) : undefined);
        return exitCode;
      }
      const live = lives.at(-1) ?? { report: newReport(first, command.runbook), changed: () => false, finished: false };
      const report = stoppedReport(live, signal, DEFAULT_RUNBOOK);
      printReport(io, report, json, { headlines: command.runbook.headlines });
      return report.exitCode;
    };
    const unregister = interruptHandler(io, interrupt, { first: () => stopped.abort(), second: stopNow });
    try {
      if (command.kind === 'demo') return await (await import('./demo.js')).runDemo(io, runIO, command);
      if (command.kind === 'fleet') return await runFleetCommand(io, runIO, command, fleet!);
      const report = await run(command.options, command.runbook, runIO);
      printReport(io, report, json, { headlines: command.runbook.headlines });
      return report.exitCode;
    } finally {
      unregister();
    }
  } catch (error) {
    // With --json, stdout carries one document whatever happens: a report-shaped object for a usage error too.
    if (wantsJson(argv)) {
      const shown = error instanceof AppError ? error : new AppError(`internal error: ${messageOf(error)}`, { code: 'internal', exitCode: EXIT.couldNotStart, remedy: 'This is a bug in apply-ws-fix: please report it with the --verbose output.' });
      // A command that names several hosts prints an array, whatever happens; its usage error is an array of one.
      const several = argv[0] === 'merge-reports' || argv.some((a) => a === '--hosts-file' || a.startsWith('--hosts-file=')) || argv.filter((a) => a === '--host' || a.startsWith('--host=')).length > 1;
      const document = several ? [usageReport(argv, shown)] : usageReport(argv, shown);
      io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    }
    if (error instanceof AppError) {
      io.stderr.write(`apply-ws-fix: ${error.message}\n${error.remedy ? `${error.remedy}\n` : ''}`);
      return error.exitCode;
    }
    io.stderr.write(`apply-ws-fix: internal error: ${messageOf(error)}\n`);
    return EXIT.couldNotStart;
  }
}

// `apply-ws-fix explain`: the Markdown procedure on stdout; with --host, planned against that host's facts (read-only).
async function explain(io: CliIO, command: { runbook: Runbook; options: RunOptions; host: boolean }): Promise<number> {
  const { explainMarkdown, planForHost } = await import('../core/explain.js');
  let plan: Awaited<ReturnType<typeof planForHost>> | undefined;
  if (command.host) {
    const { sshConnector } = await import('../transport/connector.js');
    plan = await planForHost(command.options, command.runbook, { connect: await sshConnector(io, command.options), interrupt: { signal: null } });
  }
  io.stdout.write(explainMarkdown(command.runbook, command.options, plan));
  return EXIT.ok;
}

// All of stdin as text, for `--param NAME=-` (a secret piped in, never on a command line).
async function readAll(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}
