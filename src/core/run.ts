// One run against one host, in stages: connect → lock and read the host → plan (shown) → stop if dry → confirm →
// apply and verify → on failure, diagnose and unwind what the journal recorded. Never throws: the report says it all.
// Nothing here knows what a runbook changes: steps plan, apply and undo; checks verify; the runbook diagnoses.
import { Listr } from 'listr2';
import { AppError, EXIT, InterruptedError, StartError, StepError, messageOf } from '../errors.js';
import { RemotePath } from '../shell/quote.js';
import type { Transport } from '../transport/transport.js';
import { gatherFacts, type FactStore } from './facts.js';
import { HostJournal, findUnfinished, journalFact, lastApplied, type LegacyReader, type UnfinishedRun } from './host-journal.js';
import type { RunOptions } from './options.js';
import { printableParams, secretValues } from './params.js';
import { REPORT_SCHEMA_VERSION, reportAction, reportTool, type Outcome, type RunReport } from './report.js';
import { journalRollback } from './rollback.js';
import { RunScope } from './scope.js';
import { Session } from './session.js';
import { colorDiff } from '../lib/diff-color.js';
import { changeTask, checkWaveTasks, checkWaves, listrOptions, write, type LiveRun, type RunIO } from './tasks.js';
import type { ActionSpec, Check, Diagnosis, Fact, Runbook, Step, StepPlan } from './types.js';
import { recoveryCommands, sshLine, stepIndex, unwind } from './unwind.js';

export type { LiveRun, RunIO } from './tasks.js';

interface Planned {
  step: Step;
  plan: StepPlan;
}

const lower = (title: string): string => title.charAt(0).toLowerCase() + title.slice(1);

/** The plan as an operator reads it before saying yes. */
export function describePlan(header: string, planned: readonly Planned[], checks: readonly Check[], after: readonly Planned[] = []): string {
  const lines = [`Plan for ${header}:`];
  for (const { step, plan } of planned) {
    lines.push(plan.kind === 'change' ? `  ~ ${step.title}: ${plan.summary}` : `  = ${step.title}: already done (${plan.reason})`);
  }
  if (checks.length > 0) lines.push(`  then verify: ${checks.map((check) => lower(check.title)).join('; ')}`);
  for (const { step, plan } of after) if (plan.kind === 'change') lines.push(`  then: ${step.title}: ${plan.summary}`);
  for (const { plan } of planned) if (plan.kind === 'change' && plan.diff !== undefined) lines.push('', plan.diff.trimEnd());
  return lines.join('\n');
}

function errorOf(error: unknown): RunReport['error'] {
  if (error instanceof AppError) return { message: error.message, code: error.code, remedy: error.remedy ?? null, step: error instanceof StepError ? error.stepId : null };
  return { message: messageOf(error), code: 'internal', remedy: 'This is a bug in apply-ws-fix: please report it with the --verbose output.', step: null };
}

const paramOf = (options: RunOptions, name: string): string | null => (typeof options.params[name] === 'string' ? (options.params[name] as string) : null);

/** A report with nothing done yet. */
export function newReport(options: RunOptions, runbook: Runbook, started = Date.now()): RunReport {
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: reportTool(),
    runbook: runbook.id,
    runId: null,
    host: options.host,
    port: options.port,
    user: options.user,
    dir: paramOf(options, 'dir'),
    service: paramOf(options, 'service'),
    url: paramOf(options, 'url'),
    params: printableParams(runbook, options.params),
    action: reportAction(options),
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
    check: null,
  };
}

function resolutionOf(options: RunOptions): string {
  if (options.action === 'check') return 'An apply would finish it (and undo its changes too if a check fails); --rollback would undo it.';
  if (options.dryRun) return 'An apply would finish it (and undo its changes too if a check fails); --rollback would undo it.';
  return options.action === 'rollback' ? 'This rollback undoes its changes.' : 'This run finishes it; if a check fails, the rollback undoes its changes too.';
}

function describeUnfinished(run: UnfinishedRun): string {
  const did = [...new Set(run.entries.map((e) => e.step))];
  return `run ${run.runId} (${run.action} by ${run.by}, started ${run.startedAt}) did not finish${did.length ? `; it had started: ${did.join(', ')}` : ' and had changed nothing'}`;
}

// The runbook's diagnosis, read-only, as a task of its own; a diagnosis that fails is only a note.
async function diagnoseTask(runbook: Runbook, scope: RunScope, error: unknown, io: RunIO): Promise<Diagnosis | null> {
  if (runbook.diagnose === undefined || error instanceof InterruptedError) return null;
  let found: Diagnosis | null = null;
  await new Listr(
    [
      {
        title: 'Diagnose the failure',
        task: async (_, task) => {
          found = await runbook.diagnose!(scope.execContext(), error);
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

// After a complete rollback, the changes this run made are reported as rolled back (a backup is kept).
function markRolledBack(report: RunReport, planned: readonly Planned[]): void {
  for (const { step } of planned) {
    const entry = report.steps.find((s) => s.id === step.id);
    if (entry !== undefined && !step.keptOnRollback && entry.status === 'done') entry.status = 'rolled-back';
  }
}

// Steps the failure kept from running are reported as not run, so the report lists every step.
function markNotRun(report: RunReport, items: readonly { id: string; title: string }[]): void {
  const seen = new Set(report.steps.map((step) => step.id));
  for (const { id, title } of items) if (!seen.has(id)) report.steps.push({ id, title, status: 'not-run', durationMs: 0, detail: '' });
}

interface Started {
  session: Session;
  journal: HostJournal;
  store: FactStore;
}

// Stage 1: connect once, then take the lock while the host is read (one burst of channels). Writes nothing else.
// `opened` hears of the session as soon as there is one, so the caller can close it whatever happens next.
async function start(options: RunOptions, runbook: Runbook, io: RunIO, project: RemotePath, facts: readonly Fact<unknown>[], opened: (started: Omit<Started, 'store'>) => void): Promise<Started> {
  const { params } = options;
  const writes = options.action !== 'check' && !options.dryRun;
  const connect = async (): Promise<Omit<Started, 'store'>> => {
    const transport = await io.connect(options);
    const session = new Session({ options, transport, interrupt: io.interrupt, printable: runbook.printable ?? [], secrets: secretValues(runbook, params), log: (line) => io.output.write(`${line}\n`) });
    const journal = new HostJournal(session, project, { runbook: runbook.id, params: printableParams(runbook, params) });
    opened({ session, journal });
    return { session, journal };
  };
  const connected = connect();
  let store: FactStore | undefined;
  await new Listr(
    [
      { title: `Connect to ${options.user}@${options.host}:${options.port}`, task: async () => void (await connected) },
      {
        title: 'Take the lock and read the host',
        task: (_, task) =>
          task.newListr(
            [
              {
                title: 'Take the run lock on the host',
                skip: () => (writes ? false : 'Take the run lock: this run reads only'),
                task: async (_, sub) => {
                  const note = await (await connected).journal.lock();
                  sub.title = `Took the run lock${note ? ` (${note})` : ''}`;
                },
              },
              {
                title: 'Check the preconditions and read the host',
                task: async (_, sub) => {
                  const gathered = await gatherFacts((await connected).session.execAll, facts);
                  store = gathered;
                  sub.title = `Preconditions hold${runbook.describeFacts ? `: ${runbook.describeFacts(params, (fact) => gathered.get(fact), options.action)}` : ''}`;
                },
              },
            ],
            { concurrent: true, exitOnError: true },
          ),
      },
    ],
    listrOptions(io),
  ).run();
  // A failed connect rejects the listr run above; here both are settled.
  const { session, journal } = await connected;
  if (store === undefined) throw new Error('internal: the facts were not gathered');
  return { session, journal, store };
}

/** Runs one action of a runbook against one host and returns its report; the exit code is in the report. */
export async function run(options: RunOptions, runbook: Runbook, io: RunIO): Promise<RunReport> {
  const started = Date.now();
  const report = newReport(options, runbook, started);
  const finish = (outcome: Outcome, exitCode: number, error?: unknown): RunReport => {
    report.outcome = outcome;
    report.exitCode = exitCode;
    if (error !== undefined) report.error = errorOf(error);
    report.durationMs = Date.now() - started;
    return report;
  };
  const { params } = options;
  const writes = options.action !== 'check' && !options.dryRun;
  const transports: Transport[] = [];
  let open: Omit<Started, 'store'> | undefined;
  let scopeOf: RunScope | undefined;
  const live: LiveRun = { report, changed: () => scopeOf?.changed === true || (open !== undefined && !open.journal.empty), finished: false };
  io.track?.(live);
  try {
    const project = new RemotePath(runbook.project(params));
    const apply = runbook.apply(params);
    const ownRollback = options.action === 'rollback' ? runbook.rollback?.(params) : undefined;
    const rollbackChecks = runbook.rollbackChecks?.(params) ?? [];
    const journalRead = journalFact(project, runbook.legacyStateDirs?.(params) ?? []);
    const allSteps = [...apply.steps, ...(apply.after ?? []), ...(ownRollback?.steps ?? []), ...(ownRollback?.after ?? [])];
    const facts: Fact<unknown>[] = [
      ...(runbook.facts?.(params, options.action) ?? []),
      journalRead,
      ...allSteps.flatMap((s) => s.facts ?? []),
      ...[...apply.checks, ...rollbackChecks, ...(ownRollback?.checks ?? [])].flatMap((c) => c.facts ?? []),
    ];
    const { session, journal, store } = await start(options, runbook, io, project, facts, (opened) => {
      open = opened;
      transports.push(opened.session.transport);
      report.runId = opened.session.runId;
    });
    const read = store.get(journalRead);
    journal.learn(read.location);
    const scope = new RunScope(session, runbook, params, store, read.events, journal);
    scopeOf = scope;
    const legacy: LegacyReader | undefined = runbook.legacyJournal ? (event) => runbook.legacyJournal!(event, params) : undefined;

    const unfinished = findUnfinished(read.events, session.runId, legacy, runbook.id);
    // Another runbook's run on this project that never ended: said, not adopted (its own --rollback undoes it).
    const other = findUnfinished(read.events, session.runId, legacy);
    if (other !== undefined && other.runId !== unfinished?.runId) {
      write(io, `Note: a run of another runbook on this project did not finish: ${describeUnfinished(other)}. This run leaves its changes alone; that runbook's --rollback undoes them.`);
    }
    if (unfinished !== undefined) {
      report.unfinished = { runId: unfinished.runId, action: unfinished.action, by: unfinished.by, startedAt: unfinished.startedAt, changed: [...new Set(unfinished.entries.map((e) => e.step))], resolution: resolutionOf(options) };
      write(io, `Found an unfinished run: ${describeUnfinished(unfinished)}.\n${report.unfinished.resolution}`);
      if (writes) journal.adopt(unfinished.runId, unfinished.entries);
    }
    const index = stepIndex(apply.steps, apply.after ?? [], ownRollback?.steps ?? []);
    const spec: ActionSpec =
      options.action !== 'rollback'
        ? apply
        : (ownRollback ?? journalRollback(index, unfinished?.entries.length ? unfinished : lastApplied(read.events, legacy, runbook.id), rollbackChecks, session.label));

    // Plan every step in order, from the facts and the plans before it. Pure: nothing runs.
    const planCtx = scope.planContext();
    const planOne = (step: Step): Planned => {
      const plan = step.plan(planCtx);
      scope.plans.set(step.id, plan);
      return { step, plan };
    };
    const planned = spec.steps.map(planOne);
    const plannedAfter = (spec.after ?? []).map(planOne);
    report.checksums = planned.find(({ plan }) => plan.checksums !== undefined)?.plan.checksums ?? null;
    const diffs = planned.flatMap(({ plan }) => (plan.kind === 'change' && plan.diff !== undefined ? [plan.diff] : []));
    report.diff = diffs.length > 0 ? diffs.join('\n') : null;
    const header = `${session.label} (${runbook.describe?.(params) ?? project.path})`;
    const described = describePlan(header, planned, spec.checks, plannedAfter);
    write(io, io.color ? colorDiff(described) : described);
    const changes = planned.filter(({ plan }) => plan.kind === 'change');

    if (options.action === 'check') return await checkOnly(scope, spec.checks, changes.length > 0, report, io, finish);
    if (options.dryRun) {
      report.steps = [...planned, ...plannedAfter].map(({ step, plan }) => ({ id: step.id, title: step.title, status: plan.kind === 'change' ? 'would-change' : 'skipped', durationMs: 0, detail: plan.kind === 'change' ? plan.summary : plan.reason }));
      write(io, 'Dry run: nothing was changed on the host.');
      return finish('dry-run', EXIT.ok);
    }
    // Steps after the checks (a commit) count only when there is a change for them to follow.
    const asked = changes.length === 0 ? 0 : changes.length + plannedAfter.filter(({ plan }) => plan.kind === 'change').length;
    if (changes.length > 0 && io.confirm) {
      const verb = options.action === 'rollback' ? 'Roll back' : 'Apply';
      if (!(await io.confirm(`${verb} ${asked} change(s) on ${session.label}?`))) {
        write(io, 'Nothing was changed.');
        return finish('declined', EXIT.checkFailed);
      }
    }

    // Stage 2: apply the changes, then verify. A failure after any change unwinds the journal (an apply's).
    try {
      await new Listr(
        [
          ...planned.map(({ step, plan }) => changeTask(scope, step, plan, report.steps, io.onProgress, io.renderer !== 'default', io.progressEveryMs)),
          ...checkWaves(spec.checks).flatMap((wave) => checkWaveTasks(scope.execContext(), wave, report.steps, io.onProgress, scope, io)),
        ],
        listrOptions(io),
      ).run();
    } catch (error) {
      markNotRun(report, [...planned.map((p) => p.step), ...spec.checks, ...plannedAfter.map((p) => p.step)]);
      report.diagnosis = await diagnoseTask(runbook, scope, error, io);
      const exitFor = (restored: boolean): number => (error instanceof InterruptedError ? error.exitCode : restored ? EXIT.checkFailed : EXIT.notRestored);
      // A rollback is not undone: once one of its steps started, the host is between two states, and the
      // commands that finish it are the plan's own, from the step that failed on.
      if (options.action !== 'apply' && scope.changed) {
        const changes = planned.filter(({ plan }) => plan.kind === 'change');
        const unfinished = changes.filter(({ step }) => report.steps.find((s) => s.id === step.id)?.status !== 'done');
        // Every step done and a check failed: doing them again by hand is safe (each converges), and is what is left.
        report.recovery = [sshLine(options), ...(unfinished.length > 0 ? unfinished : changes).flatMap(({ plan }) => (plan.kind === 'change' ? plan.commands : []))];
        return finish('failed-not-restored', exitFor(false), error);
      }
      if (journal.empty) return finish('failed-nothing-changed', exitFor(true), error);
      report.rollback = await unwind(scope, io, index);
      if (report.rollback.restored) markRolledBack(report, planned);
      else {
        report.recovery = recoveryCommands(scope, index, spec.steps);
        const failed = report.rollback.actions.filter((a) => a.status === 'failed').map((a) => a.id);
        report.diagnosis = (await runbook.diagnose?.(scope.execContext(), error, { restored: false, failed }).catch(() => null)) ?? report.diagnosis;
      }
      return finish(report.rollback.restored ? 'failed-and-restored' : 'failed-not-restored', exitFor(report.rollback.restored), error);
    }
    const done: Outcome = changes.length === 0 ? (options.action === 'rollback' ? 'nothing-to-roll-back' : 'already-applied') : options.action === 'rollback' ? 'rolled-back' : 'applied';
    // Steps after passing checks (a commit) never undo the verified change: their failure is reported, not unwound.
    try {
      await new Listr(plannedAfter.map(({ step, plan }) => changeTask(scope, step, plan, report.steps, io.onProgress, io.renderer !== 'default', io.progressEveryMs)), listrOptions(io)).run();
    } catch (error) {
      return finish(done, EXIT.afterFailed, error);
    }
    return finish(done, EXIT.ok);
  } catch (error) {
    // Before stage 2 nothing was changed: connection, precondition, plan refusal or an interrupt.
    if (error instanceof InterruptedError) return finish('failed-nothing-changed', error.exitCode, error);
    const start = error instanceof StartError ? error : new StartError(messageOf(error), 'start', undefined, error);
    return finish('could-not-start', start.exitCode, error instanceof AppError ? error : start);
  } finally {
    await open?.journal.close({ outcome: report.outcome, exitCode: report.exitCode, rollback: report.rollback });
    // The run's connection may have been replaced by a reconnect: close the one in use, and the first.
    const current = open?.session.transport;
    for (const t of new Set([...transports, ...(current ? [current] : [])])) await t.close().catch(() => {});
    live.finished = true;
  }
}

// --check: every check runs (a monitor wants all verdicts, not the first), nothing is changed.
async function checkOnly(scope: RunScope, checks: readonly Check[], needsChange: boolean, report: RunReport, io: RunIO, finish: (outcome: Outcome, exitCode: number, error?: unknown) => RunReport): Promise<RunReport> {
  const ctx = scope.execContext();
  const errors: unknown[] = [];
  const kept = checks.map((check) => ({
    ...check,
    run: (c: typeof ctx) =>
      check.run(c).catch((error: unknown) => {
        errors.push(error);
        throw error;
      }),
  }));
  await new Listr(
    checkWaves(kept).flatMap((wave) => checkWaveTasks(ctx, wave, report.steps, io.onProgress)),
    { ...listrOptions(io), exitOnError: false },
  )
    .run()
    .catch(() => {});
  const failedChecks = report.steps.filter((s) => s.status === 'failed').map((s) => s.id);
  markNotRun(report, checks);
  report.check = { needsChange, failedChecks };
  const firstError = errors[0];
  if (needsChange) return finish('needs-change', EXIT.needsChange, firstError);
  if (firstError !== undefined) return finish('check-failed', EXIT.unhealthy, firstError);
  return finish('healthy', EXIT.ok);
}
