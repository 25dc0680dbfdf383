// What a runbook is made of, as the core sees it: parameters, facts, steps that own their undo, checks.
// The core runs these without knowing what they change; a runbook composes them (see src/kinds/).
import type { ExecOptions, ExecResult } from '../transport/transport.js';
import type { RunOptions } from './options.js';

// ---- Parameters -------------------------------------------------------------------------------------------

export type ParamType = 'string' | 'url' | 'path' | 'name' | 'number' | 'boolean';

export interface ParamSpec {
  type: ParamType;
  description: string;
  /** Used when no flag, environment variable or config file gives a value. */
  default?: string | number | boolean;
  /**
   * The run refuses to start (exit 64) without a value. 'apply': only an apply or a check needs it; `--rollback`
   * (which undoes from the journal's records) runs without it, and the runbook then sees no value.
   */
  required?: boolean | 'apply';
  /**
   * Never taken from a flag (`ps` shows command lines): only from APPLY_WS_FIX_PARAM_<NAME> or stdin (`--param name=-`).
   * Never printed, logged or journaled: the plan and the report show `<secret, sha256 …>`.
   */
  secret?: boolean;
  /** A problem with the value in words, or undefined when it is fine (checked after the type). */
  validate?: (value: string) => string | undefined;
}

// A spec of any type (a runbook with its types erased) holds any value; a typed one holds its own.
type ValueOf<S extends ParamSpec> = ParamSpec extends S ? string | number | boolean : S['type'] extends 'number' ? number : S['type'] extends 'boolean' ? boolean : string;

/** A runbook's parameter values, typed from its specs. */
export type ParamValues<P extends Record<string, ParamSpec>> = { readonly [K in keyof P]: ValueOf<P[K]> };

/** Parameter values as the core holds them, without the runbook's typing. */
export type AnyParams = Readonly<Record<string, string | number | boolean>>;

// ---- Facts ------------------------------------------------------------------------------------------------

/**
 * A read-only probe: one remote command and how to read its answer. The core runs every fact of a run in one burst
 * of concurrent channels, once (facts with the same id are one fact), before anything is planned. `parse` may throw
 * a StartError: that is a failed precondition, and nothing is changed.
 */
export interface Fact<T> {
  id: string;
  command: string;
  parse(result: ExecResult): T;
}

// ---- Plans ------------------------------------------------------------------------------------------------

/** sha256 of a file before, of its backup, and of what it becomes: for the report. */
export interface Checksums {
  original?: string;
  backup?: string;
  new?: string;
}

export interface NoopPlan {
  kind: 'noop';
  reason: string;
  checksums?: Checksums;
}

/** A planned change, as data: what the operator reads, and what apply runs. */
export interface ChangePlan<D = unknown> {
  kind: 'change';
  summary: string;
  /** A unified diff, shown before the operator says yes. */
  diff?: string;
  /** The remote commands apply will run, exactly as sent (stdin aside), for the plan and `explain`. */
  commands: string[];
  checksums?: Checksums;
  /**
   * What a command reads on stdin, by its index in `commands`, for `explain`. `sensitive` bytes (a file that holds
   * secrets) are described there by their checksum, never printed.
   */
  stdin?: { command: number; bytes: Buffer; sensitive?: boolean; what: string };
  /** The undo record apply will journal, when the plan already knows it: `explain` gives the undo's commands from it. */
  record?: unknown;
  /** What apply needs beyond the facts. */
  data: D;
}

export type StepPlan<D = unknown> = NoopPlan | ChangePlan<D>;

// ---- Contexts ---------------------------------------------------------------------------------------------

/** What a step or check sees while planning: the parameters, the facts, the plans made before it. Pure. */
export interface PlanContext<P = AnyParams> {
  params: P;
  options: RunOptions;
  runId: string;
  /** user@host:port, for messages. */
  label: string;
  /** The value of a fact gathered for this run. */
  fact<T>(fact: Fact<T>): T;
  /** The host's journal, newest last: what earlier runs did. */
  history: readonly JournalEvent[];
  /** The plan of an earlier step of this action, by id (steps plan in order; a later one is undefined). */
  planOf(stepId: string): StepPlan | undefined;
}

/** What a step can do to the host while it applies. */
export interface ExecContext<P = AnyParams> extends PlanContext<P> {
  /** Runs a remote command (interrupts and timeouts applied, logged with secrets masked under --verbose). */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Throws if the operator interrupted the run: call it between remote commands that change things. */
  checkpoint(): void;
  /** A --verbose line (secrets masked). */
  log(line: string): void;
  /**
   * Progress of a long step, in a few words (elapsed time, the last line of a build, a countdown): shown under the
   * step on a terminal, and at most every few seconds as a line of its own in a log, so a CI log never looks hung.
   */
  progress(text: string): void;
  /** True once a step of this run changed the host: the facts may be stale, read again. */
  readonly changed: boolean;
  /** Whether this run (or an unfinished run it took over) journaled a change of the step with this id. */
  journaled(stepId: string): boolean;
}

export interface ApplyContext<P = AnyParams, R = unknown> extends ExecContext<P> {
  /**
   * Writes this step's undo record into the host's journal. Call it BEFORE the change it stands for: a run that dies
   * mid-change is then undone by the next one. The record must be plain JSON and hold no secret.
   */
  record(undo: R): Promise<void>;
  /** Drops this step's record again when the change is known not to have happened (a failed guard). */
  forget(): void;
}

// ---- Steps and checks -------------------------------------------------------------------------------------

/**
 * How a step's change is undone, from its journal record alone (so a later run, on any machine, can undo it).
 * 'restore' undos put bytes back: they run first, the newest first. 'rederive' undos rebuild what is derived from
 * those bytes (an image, a container): they run after every restore succeeded, in the order their steps ran, and
 * not at all when a restore failed, so nothing is ever built or deployed from bytes the rollback did not restore.
 */
export interface Undo<R = unknown, P = AnyParams> {
  id: string;
  title: string;
  order: 'restore' | 'rederive';
  run(ctx: ExecContext<P>, record: R): Promise<string>;
  /**
   * The commands a person types to do the same by hand (exit 2's recovery, and `explain`). A 'rederive' undo is
   * also asked without a record, for a step whose command may have run though its record was never seen.
   */
  manual(record: R | undefined, params: P): string[];
  /**
   * `--rollback` from the journal: what this undo would do on the host as the facts show it. `restoring` says
   * whether a restore before it changes anything. Without it, the undo is planned as a change.
   */
  plan?(ctx: PlanContext<P>, record: R, restoring: boolean): StepPlan;
}

/** A step that may change the host: it plans from facts, applies its plan, and owns its undo. */
export interface Step<D = unknown, R = unknown, P = AnyParams> {
  id: string;
  title: string;
  /** The step kind (file-replace, compose-up, …), for the journal and `explain`. */
  kind: string;
  /** Facts this step plans from; gathered with the others. */
  facts?: readonly Fact<unknown>[];
  plan(ctx: PlanContext<P>): StepPlan<D>;
  apply(ctx: ApplyContext<P, R>, plan: ChangePlan<D>): Promise<string>;
  undo?: Undo<R, P>;
  /** Its change stays when the run rolls back (a backup is never removed). */
  keptOnRollback?: boolean;
  /** How its plan depends on facts, in words, for `explain` ("only if the template differs"). */
  condition?: string;
}

/** A read-only check: throws a StepError when the host fails it, returns the detail otherwise. */
export interface Check<P = AnyParams> {
  id: string;
  title: string;
  /** Runs side by side with the concurrent checks next to it (read-only, and independent of them). */
  concurrent?: boolean;
  facts?: readonly Fact<unknown>[];
  /** What it expects, in words, for `explain`. */
  expects?: string;
  run(ctx: ExecContext<P>): Promise<string>;
}

/** The likely cause of a failed step, with the evidence and the remedy. */
export interface Diagnosis {
  cause: string;
  remedy: string;
  evidence: string[];
}

/** What an action runs: its steps, the checks that verify them, and the steps that follow passing checks. */
export interface ActionSpec {
  steps: readonly Step[];
  checks: readonly Check[];
  /** Steps run only once every check passed (a commit); they are not undone. */
  after?: readonly Step[];
}

// ---- Runbooks ---------------------------------------------------------------------------------------------

export interface RunbookDefinition<P extends Record<string, ParamSpec> = Record<string, ParamSpec>> {
  /** The name `--runbook` takes: lower case, digits and dashes. */
  id: string;
  title: string;
  /** One paragraph: what it changes and why. */
  description: string;
  /** Where to connect when neither flags nor ~/.ssh/config say. */
  connection: { host: string; port: number; user: string };
  params: P;
  /** The project directory on the host: the lock and the journal are keyed by where it resolves (`pwd -P`). */
  project(params: ParamValues<P>): string;
  /** The plan's header after the host, e.g. "~/app, service web" (the project directory without it). */
  describe?(params: ParamValues<P>): string;
  /** What the preconditions found, in a few words, for the task list (from the facts gathered for `action`). */
  describeFacts?(params: ParamValues<P>, fact: <T>(fact: Fact<T>) => T, action: RunOptions['action']): string;
  /** Read-only preconditions, checked in this order before the steps' own facts; `action` is what the run does. */
  facts?(params: ParamValues<P>, action: RunOptions['action']): readonly Fact<unknown>[];
  apply(params: ParamValues<P>): ActionSpec;
  /**
   * `--rollback`. Without it, the core rolls back from the journal alone: it undoes the changes of the last run that
   * applied, with the apply's own undos, then runs `rollbackChecks`.
   */
  rollback?(params: ParamValues<P>): ActionSpec;
  rollbackChecks?(params: ParamValues<P>): readonly Check[];
  /**
   * Read-only: the likely cause of a failed step or check, or null. Asked before the rollback, and again after a
   * rollback that could not put the host back (`after.restored` false): what the old state does then is evidence too.
   */
  diagnose?(ctx: ExecContext<ParamValues<P>>, error: unknown, after?: { restored: boolean; failed: string[] }): Promise<Diagnosis | null>;
  /** Environment variable names whose values may be printed; every other NAME=value is masked. */
  printable?: readonly string[];
  /** Headlines of the summary, where the runbook says it better than the core ("the fix is live"). */
  headlines?: Partial<Record<string, string>>;
  /** Journal events written by an older release, read as step records (see the core's journal). */
  legacyJournal?(event: Record<string, unknown>, params: ParamValues<P>): { step: string; record: unknown } | undefined;
  /** State directories an older release kept for this project, relative to the remote home, whose journals still count. */
  legacyStateDirs?(params: ParamValues<P>): string[];
}

/** A runbook with its parameter types erased, as the core and the CLI hold it. */
export type Runbook = RunbookDefinition<Record<string, ParamSpec>>;

/**
 * What a runbook says about itself without its code: enough for --help. A built-in runbook keeps it in its meta.ts
 * (no import heavier than `param`), spread into its defineRunbook, so --help loads none of the runbook's code.
 */
export type RunbookMeta<P extends Record<string, ParamSpec> = Record<string, ParamSpec>> = Pick<RunbookDefinition<P>, 'id' | 'title' | 'description' | 'connection' | 'params'>;

// ---- The journal on the host ------------------------------------------------------------------------------

export type JournalEvent =
  | { event: 'start'; runId: string; at: string; action: string; by: string; pid: number; runbook: string; project?: string; params?: Record<string, unknown> }
  | { event: 'step'; runId: string; at: string; step: string; kind: string; record: unknown }
  | { event: 'rollback'; runId: string; at: string; restored: boolean; actions: { id: string; status: string }[] }
  | { event: 'taken-over'; runId: string; at: string; by: string }
  | { event: 'end'; runId: string; at: string; outcome: string; exitCode: number };
