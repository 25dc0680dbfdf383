// One run against one host, in stages: connect → gather → plan (shown) → stop if dry → confirm →
// apply and verify → on failure, unwind what the journal recorded. Never throws: the report says it all.
import { readFile } from 'node:fs/promises';
import { Listr, ListrLogger, ListrLogLevels, ProcessOutput, type ListrTask, type LoggerFieldOptions } from 'listr2';
import { diagnose, type Diagnosis } from '../diagnosis/diagnose.js';
import { AppError, ConnectionLostError, EXIT, InterruptedError, StartError, StepError, messageOf } from '../errors.js';
import { sha256 } from '../report/checksum.js';
import { colorDiff } from '../report/diff-color.js';
import { toolVersion, type Outcome, type RollbackReport, type RunReport, type StepReport } from '../report/report.js';
import { backupOfOriginal } from '../steps/backup.js';
import { gatherFacts } from '../steps/gather.js';
import { planUndo } from '../steps/undo.js';
import type { Transport } from '../transport/transport.js';
import { createSession, execOn, type InterruptState, type RunContext, type Session } from './context.js';
import { HostRecord } from './host-record.js';
import { Journal } from './journal.js';
import { describeUnfinished, findUnfinished, type UnfinishedRun } from './run-journal.js';
import type { RunOptions } from './options.js';
import { recoveryCommands } from './recovery.js';
import type { Runbook } from './runbook.js';
import type { ChangeStep, CheckStep, StepPlan } from './step.js';
import { modeOf } from './modes.js';

export interface RunIO {
  /** 'default' on a terminal, 'simple' (one line an event) otherwise, 'silent' in tests. */
  renderer: 'default' | 'simple' | 'silent';
  /** Where the task list and the human-readable plan go (stderr when stdout carries --json). */
  output: NodeJS.WriteStream;
  /** Asks the operator; absent when no prompt may be shown (--yes). */
  confirm?: (question: string) => Promise<boolean>;
  connect(options: RunOptions): Promise<Transport>;
  interrupt: InterruptState;
  /** Colour the plan's diff (a terminal, or FORCE_COLOR; never with NO_COLOR). */
  color?: boolean;
  /** The title of each step as it starts, for a fleet's per-host task group. */
  onProgress?: (line: string) => void;
}

interface Planned {
  step: ChangeStep;
  plan: StepPlan;
}

// A failed task's line is "✖ title", without listr2's "[FAILED: message]": the message is said once, by the summary
// (or, for a run that could not start, by the two-line error on stderr).
class FailureOnceLogger extends ListrLogger {
  override log(level: ListrLogLevels, message: string | any[], options?: LoggerFieldOptions): void {
    super.log(level, message, level === ListrLogLevels.FAILED && options ? { ...options, suffix: undefined } : options);
  }
}

// The listr2 options of every stage: our own signal handling, and the renderer the CLI chose.
export function listrOptions(io: RunIO) {
  return {
    renderer: io.renderer === 'silent' ? ('silent' as const) : ('default' as const),
    fallbackRenderer: 'simple' as const,
    fallbackRendererCondition: io.renderer === 'simple',
    registerSignalListeners: false,
    exitOnError: true,
    rendererOptions: { logger: new ListrLogger({ processOutput: new ProcessOutput(io.output, io.output) }), collapseSubtasks: false, showErrorMessage: false },
    fallbackRendererOptions: { logger: new FailureOnceLogger({ useIcons: true, processOutput: new ProcessOutput(io.output, io.output) }) },
  };
}

function write(io: RunIO, text: string): void {
  if (io.renderer !== 'silent') io.output.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** The plan as an operator reads it before saying yes. */
export function describePlan(session: Session, planned: readonly Planned[], checks: readonly CheckStep[], after: readonly Planned[] = []): string {
  const { options } = session;
  const lines = [`Plan for ${session.label} (${options.dir}, service ${options.service}):`];
  for (const { step, plan } of planned) {
    lines.push(plan.kind === 'change' ? `  ~ ${step.title}: ${plan.summary}` : `  = ${step.title}: already done (${plan.reason})`);
  }
  lines.push(`  then verify: ${checks.map((check) => check.title.charAt(0).toLowerCase() + check.title.slice(1)).join('; ')}`);
  for (const { step, plan } of after) if (plan.kind === 'change') lines.push(`  then: ${step.title}: ${plan.summary}`);
  for (const { plan } of planned) {
    if (plan.kind === 'change' && 'diff' in plan && typeof plan.diff === 'string') lines.push('', plan.diff.trimEnd());
  }
  return lines.join('\n');
}

// Runs one step's work and fills its report entry; the entry is pushed before any await, so entries keep step order.
async function runStep(ctx: RunContext, step: { id: string; title: string }, run: () => Promise<string>, results: StepReport[]): Promise<string> {
  const started = Date.now();
  const report: StepReport = { id: step.id, title: step.title, status: 'failed', durationMs: 0, detail: '' };
  results.push(report);
  try {
    ctx.checkpoint();
    const detail = await run();
    Object.assign(report, { status: 'done', detail, durationMs: Date.now() - started });
    return detail;
  } catch (error) {
    Object.assign(report, { detail: messageOf(error), durationMs: Date.now() - started });
    throw error;
  }
}

function changeTask(ctx: RunContext, { step, plan }: Planned, results: StepReport[], progress?: (line: string) => void): ListrTask {
  return {
    title: step.title,
    task: async (_, task) => {
      progress?.(step.title);
      if (plan.kind === 'noop') {
        results.push({ id: step.id, title: step.title, status: 'skipped', durationMs: 0, detail: plan.reason });
        task.skip(`${step.title}: ${plan.reason}`);
        return;
      }
      task.title = `${step.title}: ${await runStep(ctx, step, () => step.apply(ctx, plan), results)}`;
    },
  };
}

/** Checks in waves: consecutive checks marked concurrent run together, the others one at a time. */
export function checkWaves(checks: readonly CheckStep[]): CheckStep[][] {
  const waves: CheckStep[][] = [];
  for (const check of checks) {
    const last = waves.at(-1);
    if (check.concurrent && last?.[0]?.concurrent) last.push(check);
    else waves.push([check]);
  }
  return waves;
}

// A wave: its checks run side by side as subtasks of an untitled task, so each check is a row with its own ✔/✖ (one
// task with a two-line title drew the second check without its icon). Every check of the wave finishes before the
// first failure is thrown, by an untitled task after it, so no check is still talking to the host when the rollback
// starts.
function checkWaveTasks(ctx: RunContext, wave: readonly CheckStep[], results: StepReport[], progress?: (line: string) => void): ListrTask[] {
  const failures: unknown[] = [];
  return [
    {
      task: (_, task) => {
        for (const check of wave) progress?.(check.title);
        return task.newListr(
          wave.map((check) => ({
            title: check.title,
            task: async (_, sub) => {
              try {
                sub.title = `${check.title}: ${await runStep(ctx, check, () => check.run(ctx), results)}`;
              } catch (error) {
                failures.push(error);
                throw error;
              }
            },
          })),
          { concurrent: true, exitOnError: false },
        );
      },
    },
    {
      task: () => {
        if (failures.length > 0) throw failures[0];
      },
    },
  ];
}

// Unwinds the journal as its own task list, so each undo action and its outcome show; never throws.
// An action that fails because the connection dropped is retried once on a new connection.
async function unwind(ctx: RunContext, io: RunIO): Promise<RollbackReport> {
  const actions = planUndo(ctx);
  const report: RollbackReport = { restored: true, actions: [] };
  // A second Ctrl-C during the rollback is handled by the CLI; the rollback itself must not be interrupted.
  const session: RunContext = {
    ...ctx,
    checkpoint: () => {},
    exec: (command, options) => execOn(ctx.link.transport, ctx.label, command, { timeoutMs: ctx.options.commandTimeoutMs, ...options }),
  };
  const tasks: ListrTask[] = actions.map((action) => ({
    title: action.title,
    task: async (_, task) => {
      try {
        let detail: string;
        try {
          detail = await action.run(session);
        } catch (error) {
          if (error instanceof AppError && !(error instanceof ConnectionLostError)) throw error;
          task.title = `${action.title}: the connection dropped (${messageOf(error)}); reconnecting`;
          await reconnect(ctx, io);
          detail = await action.run(session);
        }
        report.actions.push({ id: action.id, title: action.title, status: 'done', detail });
        task.title = `${action.title}: ${detail}`;
      } catch (error) {
        report.restored = false;
        report.actions.push({ id: action.id, title: action.title, status: 'failed', detail: messageOf(error) });
        throw error;
      }
    },
  }));
  await new Listr([{ title: 'Roll back this run\'s changes', task: (_, task) => task.newListr(tasks, { exitOnError: false }) }], { ...listrOptions(io), exitOnError: false })
    .run()
    .catch(() => {});
  return report;
}

// The seed's troubleshooting, read-only, as a task of its own; a diagnosis that fails is only a note.
async function diagnoseTask(ctx: RunContext, error: unknown, io: RunIO): Promise<Diagnosis | null> {
  let found: Diagnosis | null = null;
  await new Listr(
    [
      {
        title: 'Diagnose the failure',
        task: async (_, task) => {
          found = await diagnose(ctx, error);
          task.title = found ? `Likely cause: ${found.cause}` : 'Diagnose the failure: nothing to add to the error';
        },
      },
    ],
    { ...listrOptions(io), exitOnError: false },
  )
    .run()
    .catch(() => {});
  return found;
}

const RECONNECT_DELAYS_MS = [1_000, 2_000, 4_000];

// Bounded backoff: three tries, then the rollback reports the host as not restored (exit 2) with the commands.
async function reconnect(ctx: RunContext, io: RunIO): Promise<void> {
  let last: unknown;
  for (const delay of RECONNECT_DELAYS_MS) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      const fresh = await io.connect(ctx.options);
      const old = ctx.link.transport;
      ctx.link.transport = fresh;
      await old.close().catch(() => {});
      return;
    } catch (error) {
      last = error;
    }
  }
  throw new Error(`could not reconnect to ${ctx.label}: ${messageOf(last)}`);
}

function errorOf(error: unknown): RunReport['error'] {
  if (error instanceof AppError) return { message: error.message, code: error.code, remedy: error.remedy ?? null, step: error instanceof StepError ? error.stepId : null };
  return { message: messageOf(error), code: 'internal', remedy: 'This is a bug in apply-ws-fix: please report it with the --verbose output.', step: null };
}

/** Runs one action against one host and returns its report; the exit code is in the report. */
export async function run(options: RunOptions, runbook: Runbook, io: RunIO): Promise<RunReport> {
  const started = Date.now();
  const report: RunReport = {
    tool: { name: 'apply-ws-fix', version: toolVersion() },
    runbook: runbook.id,
    runId: null,
    host: options.host,
    port: options.port,
    user: options.user,
    dir: options.dir,
    service: options.service,
    url: options.url,
    action: options.dryRun && options.action === 'apply' ? 'dry-run' : options.action,
    dryRun: options.dryRun,
    outcome: 'could-not-start',
    exitCode: EXIT.couldNotStart,
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    steps: [],
    diff: null,
    checksums: null,
    rollback: null,
    error: null,
    recovery: null,
    unfinished: null,
    diagnosis: null,
  };
  const finish = (outcome: Outcome, exitCode: number, error?: unknown): RunReport => {
    report.outcome = outcome;
    report.exitCode = exitCode;
    if (error !== undefined) report.error = errorOf(error);
    report.durationMs = Date.now() - started;
    return report;
  };
  const mode = modeOf(options.action);
  let transport: Transport | undefined;
  let record: HostRecord | undefined;
  let ctx: RunContext | undefined;
  try {
    // Stage 1: connect once, take the run lock, read the host, check the preconditions. Writes nothing else.
    const desired = await readFile(runbook.desiredTemplateFile);
    let session: Session | undefined;
    await new Listr(
      [
        {
          title: `Connect to ${options.user}@${options.host}:${options.port}`,
          task: async () => {
            transport = await io.connect(options);
            session = createSession({ options, runbook, transport, desired, interrupt: io.interrupt, log: (line) => io.output.write(`${line}\n`) });
            report.runId = session.runId;
            record = new HostRecord(session);
          },
        },
        {
          title: 'Take the run lock on the host',
          skip: () => (options.dryRun ? 'Take the run lock: a dry-run reads only' : false),
          task: async (_, task) => {
            const note = await record!.lock();
            task.title = `Took the run lock ${session!.state.lock}${note ? ` (${note})` : ''}`;
          },
        },
        {
          title: 'Check the preconditions and read the host',
          task: async (_, task) => {
            const facts = await gatherFacts(session!);
            ctx = { ...session!, facts, journal: new Journal(record!.writer), deployed: false };
            task.title = `Preconditions hold: ${options.dir} has ${session!.paths.templateName}; ${facts.composeVersion}; service ${options.service} is ${facts.container?.status ?? 'not created'}`;
          },
        },
      ],
      listrOptions(io),
    ).run();
    const run = ctx!;
    const unfinished = findUnfinished(run.facts.journal, run.runId);
    if (unfinished !== undefined) {
      report.unfinished = { ...unfinished, resolution: resolutionOf(options) };
      write(io, `Found an unfinished run: ${describeUnfinished(unfinished)}.\n${report.unfinished.resolution}`);
      if (!options.dryRun) {
        adoptUnfinished(run, unfinished);
        await record!.takeOver(unfinished);
      }
    }
    const planned: Planned[] = mode.steps.map((step) => ({ step, plan: step.plan(run) }));
    const plannedAfter: Planned[] = mode.afterChecks.map((step) => ({ step, plan: step.plan(run) }));
    report.checksums = checksums(run);
    const diffs = planned.flatMap(({ plan }) => (plan.kind === 'change' && 'diff' in plan && typeof plan.diff === 'string' ? [plan.diff] : []));
    report.diff = diffs.length > 0 ? diffs.join('\n') : null;
    const plan = describePlan(run, planned, mode.checks, plannedAfter);
    write(io, io.color ? colorDiff(plan) : plan);
    const changes = planned.filter(({ plan }) => plan.kind === 'change');

    if (options.dryRun) {
      report.steps = [...planned, ...plannedAfter].map(({ step, plan }) => ({ id: step.id, title: step.title, status: plan.kind === 'change' ? 'would-change' : 'skipped', durationMs: 0, detail: plan.kind === 'change' ? plan.summary : plan.reason }));
      write(io, 'Dry run: nothing was changed on the host.');
      return finish('dry-run', EXIT.ok);
    }
    // Steps after the checks (a commit) count only when there is a change for them to follow.
    const asked = changes.length === 0 ? 0 : changes.length + plannedAfter.filter(({ plan }) => plan.kind === 'change').length;
    if (changes.length > 0 && io.confirm) {
      const verb = options.action === 'rollback' ? 'Roll back' : 'Apply';
      if (!(await io.confirm(`${verb} ${asked} change(s) on ${run.label}?`))) {
        write(io, 'Nothing was changed.');
        return finish('declined', EXIT.checkFailed);
      }
    }

    // Stage 2: apply the changes, then verify. A failure after any change unwinds the journal.
    try {
      await new Listr(
        [
          ...planned.map((entry) => changeTask(run, entry, report.steps, io.onProgress)),
          ...checkWaves(mode.checks).flatMap((wave) => checkWaveTasks(run, wave, report.steps, io.onProgress)),
          ...plannedAfter.map((entry) => changeTask(run, entry, report.steps, io.onProgress)),
        ],
        listrOptions(io),
      ).run();
    } catch (error) {
      markNotRun(report, planned, mode.checks, plannedAfter);
      if (!(error instanceof InterruptedError)) report.diagnosis = await diagnoseTask(run, error, io);
      const exitFor = (restored: boolean): number => (error instanceof InterruptedError ? error.exitCode : restored ? EXIT.checkFailed : EXIT.notRestored);
      if (run.journal.empty) return finish('failed-nothing-changed', exitFor(true), error);
      if (!mode.undo) {
        report.recovery = recoveryCommands(run);
        return finish('failed-not-restored', exitFor(false), error);
      }
      report.rollback = await unwind(run, io);
      if (report.rollback.restored) markRolledBack(report, planned);
      if (!report.rollback.restored) report.recovery = recoveryCommands(run);
      return finish(report.rollback.restored ? 'failed-and-restored' : 'failed-not-restored', exitFor(report.rollback.restored), error);
    }
    if (changes.length === 0) return finish(options.action === 'rollback' ? 'nothing-to-roll-back' : 'already-applied', EXIT.ok);
    return finish(options.action === 'rollback' ? 'rolled-back' : 'applied', EXIT.ok);
  } catch (error) {
    // Before stage 2 nothing was changed: connection, precondition, plan refusal or an interrupt.
    if (error instanceof InterruptedError) return finish('failed-nothing-changed', error.exitCode, error);
    const start = error instanceof StartError ? error : new StartError(messageOf(error), 'start', undefined, error);
    return finish('could-not-start', start.exitCode, error instanceof AppError ? error : start);
  } finally {
    await record?.close({ outcome: report.outcome, exitCode: report.exitCode, rollback: report.rollback });
    await transport?.close().catch(() => {});
  }
}

function resolutionOf(options: RunOptions): string {
  if (options.dryRun) return 'An apply would finish it (and undo its changes too if a check fails); --rollback would undo it.';
  return options.action === 'rollback' ? 'This rollback undoes its changes.' : 'This run finishes it; if a check fails, the rollback undoes its changes too.';
}

// The unfinished run's changes become this run's to undo: its backup holds the original template.
function adoptUnfinished(ctx: RunContext, unfinished: UnfinishedRun): void {
  const backup = ctx.facts.backups.find((b) => b.name === unfinished.backup);
  if (backup !== undefined) ctx.journal.adopt({ kind: 'template-written', backup: backup.path, original: backup.content });
  if (unfinished.imageBuilt) ctx.journal.adopt({ kind: 'image-built' });
  if (unfinished.containerRecreated) ctx.journal.adopt({ kind: 'container-recreated' });
}

// After a complete rollback, the changes this run made are reported as rolled back (a backup is kept).
function markRolledBack(report: RunReport, planned: readonly Planned[]): void {
  for (const { step } of planned) {
    const entry = report.steps.find((s) => s.id === step.id);
    if (entry !== undefined && !step.keptOnRollback && entry.status === 'done') entry.status = 'rolled-back';
  }
}

// Steps the failure kept from running are reported as not run, so the report lists every step.
function markNotRun(report: RunReport, planned: readonly Planned[], checks: readonly CheckStep[], after: readonly Planned[]): void {
  const seen = new Set(report.steps.map((step) => step.id));
  for (const { id, title } of [...planned.map((p) => p.step), ...checks, ...after.map((p) => p.step)]) {
    if (!seen.has(id)) report.steps.push({ id, title, status: 'not-run', durationMs: 0, detail: '' });
  }
}

// sha256 of the template before, its backup, and the new config, for the report.
function checksums(ctx: RunContext): RunReport['checksums'] {
  const backupName = ctx.options.action === 'apply' ? backupOfOriginal(ctx) : ctx.facts.backups.at(-1)?.name;
  const backup = ctx.facts.backups.find((b) => b.name === backupName);
  return {
    original: sha256(ctx.facts.template),
    ...(backup ? { backup: sha256(backup.content) } : backupName ? { backup: sha256(ctx.facts.template) } : {}),
    new: sha256(ctx.options.action === 'rollback' ? (ctx.facts.backups.at(-1)?.content ?? ctx.facts.template) : ctx.desired),
  };
}
