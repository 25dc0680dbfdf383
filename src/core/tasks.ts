// The task list an operator watches: each step and check a listr2 task, each with its report entry.
import { ListrLogger, ProcessOutput, type ListrTask } from 'listr2';
import { messageOf } from '../errors.js';
import type { StepReport } from './report.js';
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
  /** The title of each step as it starts, for a fleet's per-host task group. */
  onProgress?: (line: string) => void;
}

// The listr2 options of every stage: our own signal handling, and the renderer the CLI chose.
export function listrOptions(io: RunIO) {
  return {
    renderer: io.renderer === 'silent' ? ('silent' as const) : ('default' as const),
    fallbackRenderer: 'simple' as const,
    fallbackRendererCondition: io.renderer === 'simple',
    registerSignalListeners: false,
    exitOnError: true,
    rendererOptions: { logger: new ListrLogger({ processOutput: new ProcessOutput(io.output, io.output) }), collapseSubtasks: false },
    fallbackRendererOptions: { logger: new ListrLogger({ useIcons: true, processOutput: new ProcessOutput(io.output, io.output) }) },
  };
}

export function write(io: RunIO, text: string): void {
  if (io.renderer !== 'silent') io.output.write(text.endsWith('\n') ? text : `${text}\n`);
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

export function changeTask(scope: RunScope, step: Step, plan: StepPlan, results: StepReport[], progress?: (line: string) => void): ListrTask {
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
      const detail = await runStep(ctx.checkpoint, step, () => {
        scope.changed = true;
        return step.apply(ctx, plan as ChangePlan);
      }, results);
      task.title = `${step.title}: ${detail}`;
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

// One task a wave: its checks run side by side, and every one of them finishes before the first failure is thrown,
// so no check is still talking to the host when the rollback starts.
export function checkWaveTask(ctx: ExecContext, wave: readonly Check[], results: StepReport[], progress?: (line: string) => void): ListrTask {
  return {
    title: wave.map((check) => check.title).join(' · '),
    task: async (_, task) => {
      for (const check of wave) progress?.(check.title);
      const settled = await Promise.allSettled(wave.map((check) => runStep(ctx.checkpoint, check, () => check.run(ctx), results)));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      task.title = wave.map((check, i) => `${check.title}: ${(settled[i] as PromiseFulfilledResult<string>).value}`).join('\n');
    },
  };
}
