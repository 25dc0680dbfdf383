// Undoing what the journal says this run (and any unfinished run it took over) changed: restores first, newest
// first; then what is derived from the restored bytes, in the order it was made, and only when every restore
// succeeded. Each step owns its undo; this module only orders them, runs them and reports.
import { Listr, type ListrTask } from 'listr2';
import { AppError, ConnectionLostError, messageOf } from '../errors.js';
import { shellJoin } from '../shell/quote.js';
import type { JournalEntry } from './host-journal.js';
import type { RollbackReport } from './report.js';
import type { RunScope } from './scope.js';
import { listrOptions, type RunIO } from './tasks.js';
import type { AnyParams, ExecContext, Step, Undo } from './types.js';

export interface UndoAction {
  step: Step;
  undo: Undo;
  record: unknown;
}

/** The steps a journal entry may belong to, by id: this action's first, then every other the runbook has. */
export type StepIndex = ReadonlyMap<string, Step>;

export function stepIndex(...lists: readonly (readonly Step[])[]): StepIndex {
  const index = new Map<string, Step>();
  for (const list of lists) for (const step of list) if (!index.has(step.id)) index.set(step.id, step);
  return index;
}

/** The undo actions of journal entries, in the order they must run. */
export function undoActions(index: StepIndex, entries: readonly Pick<JournalEntry, 'step' | 'record'>[]): { restores: UndoAction[]; rederives: UndoAction[] } {
  const restores: UndoAction[] = [];
  const rederives = new Map<string, UndoAction>();
  for (const entry of entries) {
    const step = index.get(entry.step);
    if (step?.undo === undefined) continue;
    const action = { step, undo: step.undo, record: entry.record };
    if (step.undo.order === 'restore') restores.unshift(action);
    else {
      // One rebuild of a derived thing is enough, made where its last change stood.
      rederives.delete(step.id);
      rederives.set(step.id, action);
    }
  }
  return { restores, rederives: [...rederives.values()] };
}

const RECONNECT_DELAYS_MS = [1_000, 2_000, 4_000];

// Bounded backoff: three tries, then the rollback reports the host as not restored (exit 2) with the commands.
async function reconnect(scope: RunScope, io: RunIO): Promise<void> {
  let last: unknown;
  for (const delay of RECONNECT_DELAYS_MS) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      const fresh = await io.connect(scope.session.options);
      const old = scope.session.transport;
      scope.session.transport = fresh;
      await old.close().catch(() => {});
      return;
    } catch (error) {
      last = error;
    }
  }
  throw new Error(`could not reconnect to ${scope.session.label}: ${messageOf(last)}`);
}

/** Runs the undo actions as their own task list, so each and its outcome show; never throws. */
export async function unwind(scope: RunScope, io: RunIO, index: StepIndex): Promise<RollbackReport> {
  const { restores, rederives } = undoActions(index, scope.journal.entries);
  const report: RollbackReport = { restored: true, actions: [] };
  // A second signal during the rollback is handled by the CLI; the rollback itself must not be interrupted.
  const ctx: ExecContext = { ...scope.execContext(scope.session.execAlways), checkpoint: () => {} };
  let restoreFailed = false;
  let unreachable: unknown;
  const task = (action: UndoAction): ListrTask => ({
    title: action.undo.title,
    task: async (_, task) => {
      const { id, title } = action.undo;
      if (action.undo.order === 'rederive' && restoreFailed) {
        report.restored = false;
        report.actions.push({ id, title, status: 'skipped', detail: 'not run: a restore before it failed, and nothing is built or deployed from bytes the rollback did not restore' });
        task.skip(`${title}: not run (a restore before it failed)`);
        return;
      }
      try {
        let detail: string;
        try {
          detail = await action.undo.run(ctx, action.record);
        } catch (error) {
          if (error instanceof AppError && !(error instanceof ConnectionLostError)) throw error;
          // One reconnect cycle per rollback: once it failed, the host is unreachable and each later action fails at
          // once (a dead host must not cost a full backoff per action).
          if (unreachable !== undefined) throw unreachable;
          task.title = `${title}: the connection dropped (${messageOf(error)}); reconnecting`;
          try {
            await reconnect(scope, io);
          } catch (failed) {
            unreachable = failed;
            throw failed;
          }
          detail = await action.undo.run(ctx, action.record);
        }
        report.actions.push({ id, title, status: 'done', detail });
        task.title = `${title}: ${detail}`;
      } catch (error) {
        report.restored = false;
        if (action.undo.order === 'restore') restoreFailed = true;
        report.actions.push({ id, title, status: 'failed', detail: messageOf(error) });
        throw error;
      }
    },
  });
  // The verdict comes last, as a row of its own: an incomplete rollback shows ✖, never a ✔ over a failed action.
  const verdict: ListrTask = {
    title: 'Roll back this run\'s changes',
    task: (_, row) => {
      if (!report.restored) throw new Error('the rollback is incomplete: see the failed action above');
      row.title = 'Roll back this run\'s changes: complete';
    },
  };
  await new Listr([...[...restores, ...rederives].map(task), verdict], { ...listrOptions(io), exitOnError: false })
    .run()
    .catch(() => {});
  return report;
}

/** How an operator reaches the host, as the first line of commands to type. */
export function sshLine(options: { port: number; user: string; host: string }): string {
  return `ssh -p ${options.port} ${shellJoin([`${options.user}@${options.host}`])}`;
}

/**
 * The exact commands that put the host back by hand: the journaled restores, newest first, then every rebuild
 * downstream of the first journaled step of the action (what was derived from the changed bytes may have been
 * rebuilt by a command whose end was never seen).
 */
export function recoveryCommands(scope: RunScope, index: StepIndex, actionSteps: readonly Step[]): string[] {
  const { options } = scope.session;
  const params: AnyParams = scope.params;
  const entries = scope.journal.entries;
  const { restores, rederives } = undoActions(index, entries);
  const first = Math.min(...entries.map((e) => actionSteps.findIndex((s) => s.id === e.step)).filter((i) => i >= 0));
  const downstream = Number.isFinite(first) ? actionSteps.slice(first).filter((s) => s.undo?.order === 'rederive') : [];
  const rebuilds = [...new Map<string, { step: Step; record: unknown }>([...downstream.map((s): [string, { step: Step; record: unknown }] => [s.id, { step: s, record: undefined }]), ...rederives.map((a): [string, UndoAction] => [a.step.id, a])]).values()];
  rebuilds.sort((a, b) => actionSteps.indexOf(a.step) - actionSteps.indexOf(b.step));
  return [
    sshLine(options),
    ...restores.flatMap((a) => a.undo.manual(a.record, params)),
    ...rebuilds.flatMap((a) => a.step.undo!.manual(a.record, params)),
  ];
}
