// The run's report: one object, the same for the terminal summary and --json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';

export type StepStatus = 'done' | 'skipped' | 'failed' | 'rolled-back' | 'would-change' | 'not-run';

export interface StepReport {
  id: string;
  title: string;
  status: StepStatus;
  durationMs: number;
  detail: string;
}

export type Outcome =
  | 'applied'
  | 'already-applied'
  | 'dry-run'
  | 'rolled-back'
  | 'nothing-to-roll-back'
  | 'declined'
  | 'failed-nothing-changed'
  | 'failed-and-restored'
  | 'failed-not-restored'
  | 'could-not-start'
  /** A fleet's host never contacted: a signal came while it waited its turn. */
  | 'not-started'
  /** --check: the host is as the runbook leaves it, and every check passes. */
  | 'healthy'
  /** --check: the runbook would change the host. */
  | 'needs-change'
  /** --check: nothing to change, but a check fails. */
  | 'check-failed';

export interface RollbackReport {
  restored: boolean;
  /** skipped: not run because a restore before it failed (nothing is rebuilt from bytes that were not restored). */
  actions: { id: string; title: string; status: 'done' | 'failed' | 'skipped'; detail: string }[];
}

/** The version of the report's shape; the JSON Schema shipped with the package describes it. */
export const REPORT_SCHEMA_VERSION = 1 as const;

export interface RunReport {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  tool: { name: string; version: string };
  runbook: string;
  runId: string | null;
  host: string;
  port: number;
  user: string;
  /** The runbook's dir, service and url parameters (null for a runbook without one). */
  dir: string | null;
  service: string | null;
  url: string | null;
  /** Every parameter of the runbook; a secret shows as `<secret, sha256 …>`, never its value. */
  params: Record<string, string | number | boolean>;
  /** apply, rollback, check, or dry-run (a planned apply); a planned rollback is action rollback with dryRun. */
  action: 'apply' | 'rollback' | 'dry-run' | 'check';
  dryRun: boolean;
  outcome: Outcome;
  exitCode: number;
  startedAt: string;
  durationMs: number;
  steps: StepReport[];
  diff: string | null;
  checksums: { original?: string; backup?: string; new?: string } | null;
  rollback: RollbackReport | null;
  error: { message: string; code: string; remedy: string | null; step: string | null } | null;
  /** Exact commands that put the host back by hand, when the tool could not. */
  recovery: string[] | null;
  /** When a check failed: the likely cause, the remedy and the evidence, from the runbook's diagnosis. */
  diagnosis: { cause: string; remedy: string; evidence: string[] } | null;
  /** An earlier run this one found unfinished in the host's journal: what it had changed (step ids), and what this run does about it. */
  unfinished: { runId: string; action: string; by: string; startedAt: string; changed: string[]; resolution: string } | null;
  /** --check: the checks' verdicts (null otherwise). */
  check: { needsChange: boolean; failedChecks: string[] } | null;
}

let version: string | undefined;

/** This package's version, read once from package.json. */
export function toolVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}

/** The tool a report names: this package and its version. */
export function reportTool(): RunReport['tool'] {
  return { name: 'apply-ws-fix', version: toolVersion() };
}

/** The action a report names for a run's action and --dry-run: a planned apply is 'dry-run'; a planned rollback stays 'rollback'. */
export function reportAction(run: { action: 'apply' | 'rollback' | 'check'; dryRun: boolean }): RunReport['action'] {
  return run.action === 'apply' && run.dryRun ? 'dry-run' : run.action;
}

/**
 * The --json document of one shard of a fleet (`--shard I/N`): which shard, the whole fleet it was cut from, and its
 * hosts' reports. `apply-ws-fix merge-reports` puts the shards back together into the fleet's array of reports.
 */
export interface ShardReport {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  tool: { name: string; version: string };
  runbook: string;
  /** This shard: index from 1 to count. */
  shard: { index: number; count: number };
  /** The whole fleet: how many hosts, and `sha256:` of their identities (user@host:port), sorted, one a line. */
  fleet: { hosts: number; digest: string };
  action: RunReport['action'];
  dryRun: boolean;
  /** The worst host's exit code; 0 for a shard with no host. */
  exitCode: number;
  /** Each report's host's place in the whole fleet (0-based, in the order the hosts were given). */
  positions: number[];
  /** One report per host of this shard, in fleet order; empty when no host falls in this shard. */
  reports: RunReport[];
}
