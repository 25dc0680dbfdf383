// `--rollback` for a runbook that does not define its own: the last applied run's journaled changes, undone with
// the apply's own undos, each planned (and shown) before anything runs.
import { StartError } from '../errors.js';
import type { UnfinishedRun } from './host-journal.js';
import { undoActions, type StepIndex } from './unwind.js';
import type { ActionSpec, Check, Step } from './types.js';

export function journalRollback(index: StepIndex, target: UnfinishedRun | null | undefined, checks: readonly Check[], label: string): ActionSpec {
  // Rolled back already: nothing to undo, and the checks say whether the previous state runs.
  if (target === null) return { steps: [], checks };
  if (target === undefined || target.entries.length === 0) {
    throw new StartError(`the journal on ${label} names no applied run to roll back`, 'no-backup', 'Nothing this tool applied is left to undo here; a change made by hand is undone by hand.');
  }
  const { restores, rederives } = undoActions(index, target.entries);
  const restoreIds = restores.map((a) => a.undo.id);
  const steps: Step[] = [...restores, ...rederives].map(({ step, undo, record }) => ({
    id: undo.id,
    title: undo.title,
    kind: `undo:${step.kind}`,
    ...(step.facts ? { facts: step.facts } : {}),
    plan(ctx) {
      const restoring = restoreIds.some((id) => id !== undo.id && ctx.planOf(id)?.kind === 'change');
      return undo.plan?.(ctx, record, restoring) ?? { kind: 'change', summary: undo.title, commands: undo.manual(record, ctx.params), data: null };
    },
    apply: (ctx) => undo.run(ctx, record),
  }));
  return { steps, checks };
}
