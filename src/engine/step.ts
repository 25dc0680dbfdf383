// The shape of a step: read facts, plan a pure noop-or-change, and apply only the change.
import type { RunContext } from './context.js';

export type StepPlan<Change extends object = object> =
  | { kind: 'noop'; reason: string }
  | ({ kind: 'change'; summary: string } & Change);

/** A step that may change the host. Its plan is pure: facts in, plan out. */
export interface ChangeStep<Change extends object = object> {
  id: string;
  title: string;
  /** True for a step whose change is kept when the run rolls back (a backup is never removed). */
  keptOnRollback?: boolean;
  plan(ctx: RunContext): StepPlan<Change>;
  /** Applies a change plan; returns the detail shown and reported. */
  apply(ctx: RunContext, plan: Extract<StepPlan<Change>, { kind: 'change' }>): Promise<string>;
}

/** A read-only check; throws a StepError when the host fails it, returns the detail otherwise. */
export interface CheckStep {
  id: string;
  title: string;
  /** Runs side by side with the concurrent checks next to it (read-only, and independent of them). */
  concurrent?: boolean;
  run(ctx: RunContext): Promise<string>;
}

/** Typed identity for step definitions. */
export function defineStep<Change extends object>(step: ChangeStep<Change>): ChangeStep<Change> {
  return step;
}

/** Typed identity for check definitions. */
export function defineCheck(check: CheckStep): CheckStep {
  return check;
}
