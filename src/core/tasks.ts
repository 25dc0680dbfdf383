// The task list an operator watches: each step and check a listr2 task, each with its report entry.
import { ListrLogger, ListrLogLevels, ProcessOutput, type ListrTask, type LoggerFieldOptions } from 'listr2';
import { messageOf } from '../errors.js';
import type { RunReport, StepReport } from './report.js';
import type { InterruptState } from './session.js';
import type { RunOptions } from './options.js';
import type { Transport } from '../transport/transport.js';
import type { ChangePlan, Check, ExecContext, Step, StepPlan } from './types.js';
import type { RunScope } from './scope.js';

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
  /** How often a step's progress may print a line of its own in a log (non-terminal); default 10 s. */
  progressEveryMs?: number;
  /** The title of each step as it starts, for a fleet's per-host task group. */
  onProgress?: (line: string) => void;
  /** Where the plan and other prose go instead of `output` (a fleet collects each host's, or labels its lines). */
  text?: (text: string) => void;
  /** Hears of each run as it starts, so a stop at once (a second Ctrl-C) can still print the report so far. */
  track?: (live: LiveRun) => void;
}

/** A run in progress: its report so far, and whether it has changed the host (or took over a run that had). */
export interface LiveRun {
  report: RunReport;
  changed(): boolean;
  /** Set once the run's report is final and its lock released. */
  finished: boolean;
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

export function write(io: RunIO, text: string): void {
  const line = text.endsWith('\n') ? text : `${text}\n`;
  if (io.text !== undefined) io.text(line);
  else if (io.renderer !== 'silent') io.output.write(line);
}

// Runs one step's work and fills its report entry; the entry is pushed before any await, so entries keep step order.
export async function runStep(checkpoint: () => void, step: { id: string; title: string }, run: () => Promise<string>, results: StepReport[]): Promise<string> {
  const started = Date.now();
  const report: StepReport = { id: step.id, title: step.title, status: 'failed', durationMs: 0, detail: '' };
  results.push(report);
  try {
    checkpoint();
    const detail = await run();
    Object.assign(report, { status: 'done', detail, durationMs: Date.now() - started });
    return detail;
  } catch (error) {
    Object.assign(report, { detail: messageOf(error), durationMs: Date.now() - started });
    throw error;
  }
}

export function changeTask(scope: RunScope, step: Step, plan: StepPlan, results: StepReport[], progress?: (line: string) => void, plainLog = false, progressEvery?: number): ListrTask {
  return {
    title: step.title,
    task: async (_, task) => {
      progress?.(step.title);
      if (plan.kind === 'noop') {
        results.push({ id: step.id, title: step.title, status: 'skipped', durationMs: 0, detail: plan.reason });
        task.skip(`${step.title}: ${plan.reason}`);
        return;
      }
      const ctx = scope.applyContext(step);
      // On a terminal the latest progress replaces the last; in a log, a line at most every progressEveryMs.
      let last = 0;
      scope.progressSink = (text) => {
        const now = Date.now();
        if (plainLog && now - last < (progressEvery ?? 10_000)) return;
        last = now;
        task.output = text;
      };
      try {
        const detail = await runStep(ctx.checkpoint, step, () => {
          scope.changed = true;
          return step.apply(ctx, plan as ChangePlan);
        }, results);
        task.title = `${step.title}: ${detail}`;
      } finally {
        scope.progressSink = () => {};
      }
    },
  };
}

/** Checks in waves: consecutive checks marked concurrent run together, the others one at a time. */
export function checkWaves(checks: readonly Check[]): Check[][] {
  const waves: Check[][] = [];
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
export function checkWaveTasks(ctx: ExecContext, wave: readonly Check[], results: StepReport[], progress?: (line: string) => void, scope?: RunScope, io?: RunIO): ListrTask[] {
  // By the check's place in the wave, not by which failed first: the error reported does not depend on timing.
  const failures: { at: number; error: unknown }[] = [];
  return [
    {
      task: (_, task) => {
        for (const check of wave) progress?.(check.title);
        return task.newListr(
          wave.map((check, at) => ({
            title: check.title,
            task: async (_, sub) => {
              // A check alone in its wave shows its progress (the settle countdown); side by side ones would clash.
              if (scope !== undefined && wave.length === 1) {
                let last = 0;
                scope.progressSink = (text) => {
                  const now = Date.now();
                  if (io?.renderer !== 'default' && now - last < (io?.progressEveryMs ?? 10_000)) return;
                  last = now;
                  sub.output = text;
                };
              }
              try {
                sub.title = `${check.title}: ${await runStep(ctx.checkpoint, check, () => check.run(ctx), results)}`;
              } catch (error) {
                failures.push({ at, error });
                throw error;
              } finally {
                if (scope !== undefined && wave.length === 1) scope.progressSink = () => {};
              }
            },
          })),
          { concurrent: true, exitOnError: false },
        );
      },
    },
    {
      task: () => {
        const first = failures.sort((a, b) => a.at - b.at)[0];
        if (first !== undefined) throw first.error;
      },
    },
  ];
}
