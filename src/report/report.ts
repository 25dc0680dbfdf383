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
  | 'could-not-start';

export interface RollbackReport {
  restored: boolean;
  actions: { id: string; title: string; status: 'done' | 'failed'; detail: string }[];
}

export interface RunReport {
  tool: { name: string; version: string };
  runbook: string;
  runId: string | null;
  host: string;
  port: number;
  user: string;
  dir: string;
  service: string;
  url: string;
  /** apply, rollback, or dry-run (a planned apply); a planned rollback is action rollback with dryRun. */
  action: 'apply' | 'rollback' | 'dry-run';
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
  /** An earlier run this one found unfinished in the host's journal, and what this run does about it. */
  /** When a check failed: the likely cause, the remedy and the evidence, from the seed's troubleshooting. */
  diagnosis: { cause: string; remedy: string; evidence: string[] } | null;
  unfinished: { runId: string; action: string; by: string; startedAt: string; backup: string | undefined; imageBuilt: boolean; containerRecreated: boolean; resolution: string } | null;
}

let version: string | undefined;

/** This package's version, read once from package.json. */
export function toolVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
