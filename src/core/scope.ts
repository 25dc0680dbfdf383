// The state one run shares between its stages: facts, plans made so far, the journal, and the contexts
// that steps and checks see (built here, so no stage passes state out of a closure).
import { StepError } from '../errors.js';
import type { ExecOptions, ExecResult } from '../transport/transport.js';
import type { FactStore } from './facts.js';
import { HostJournal, type LegacyEvent } from './host-journal.js';
import type { Session } from './session.js';
import type { AnyParams, ApplyContext, ExecContext, Fact, JournalEvent, PlanContext, Runbook, Step, StepPlan } from './types.js';

export class RunScope {
  readonly plans = new Map<string, StepPlan>();
  /** True once a step of this run started to change the host. */
  changed = false;

  constructor(
    readonly session: Session,
    readonly runbook: Runbook,
    readonly params: AnyParams,
    readonly facts: FactStore,
    readonly history: readonly (JournalEvent | LegacyEvent)[],
    readonly journal: HostJournal,
  ) {}

  planContext(): PlanContext {
    const { session, params, facts, plans } = this;
    return {
      params,
      options: session.options,
      runId: session.runId,
      label: session.label,
      fact: <T>(fact: Fact<T>) => facts.get(fact),
      history: this.history as readonly JournalEvent[],
      planOf: (stepId) => plans.get(stepId),
    };
  }

  /** Where a step's progress goes: the task on screen, set by the task list while the step runs. */
  progressSink: (text: string) => void = () => {};

  /** What checks and undos see: the plan context and the session, with an exec of their choosing. */
  execContext(exec: (command: string, options?: ExecOptions) => Promise<ExecResult> = this.session.exec): ExecContext {
    const scope = this;
    return {
      ...this.planContext(),
      exec,
      checkpoint: this.session.checkpoint,
      log: this.session.log,
      progress: (text) => scope.progressSink(this.session.mask(text)),
      get changed() {
        return scope.changed;
      },
      journaled: (stepId) => this.journal.has(stepId),
    };
  }

  /** What a step sees while it applies: its records ride on its next command, and a failed journal write stops it. */
  applyContext(step: Step): ApplyContext {
    const exec = async (command: string, options?: ExecOptions): Promise<ExecResult> => {
      this.journal.begin();
      const prefix = this.journal.takePrefix();
      const result = await this.session.exec(prefix + command, options);
      if (prefix !== '') HostJournal.check(result, step.id, this.journal.state?.dir);
      return result;
    };
    return {
      ...this.execContext(exec),
      record: async (undo) => {
        if (step.undo === undefined) throw new StepError(step.id, `internal: step ${step.id} journaled a change but has no undo`);
        this.journal.record(step.id, step.kind, undo);
      },
      forget: () => this.journal.forget(step.id),
    };
  }
}
