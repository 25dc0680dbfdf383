// The options of one run against one host: no globals, so several runs can share a process.
import type { SshSettings } from '../transport/target.js';
import type { AnyParams } from './types.js';

/** apply and rollback change the host; check only reads and runs the checks. */
export type Action = 'apply' | 'rollback' | 'check';

export interface RunOptions {
  action: Action;
  /** Plan and diff only: read-only commands, nothing changed. */
  dryRun: boolean;
  host: string;
  port: number;
  user: string;
  identity: string | undefined;
  knownHosts: string;
  /** ~/.ssh/config and the SSH flags beyond the above (src/transport/target.ts); absent: no config, no jumps. */
  ssh?: SshSettings | undefined;
  /** The runbook's parameter values, validated. */
  params: AnyParams;
  yes: boolean;
  verbose: boolean;
  /** Remove a lock left on the host by a run that died, then go on. */
  forceUnlock: boolean;
  /** Commit the changed files in the host's git repository once the checks pass. */
  commit?: boolean;
  /** How long a container must stay running after a restart before it counts as up (crash loops show Up first). */
  settleMs: number;
  /** The longest wait for the container to run after `up`. */
  startTimeoutMs: number;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  buildTimeoutMs: number;
  probeTimeoutMs: number;
}

export const TIMING_DEFAULTS = {
  settleMs: 3_000,
  startTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  commandTimeoutMs: 60_000,
  buildTimeoutMs: 600_000,
  probeTimeoutMs: 10_000,
} as const;

/** Options for an apply with the given connection and parameters and no prompt, for code that drives the core directly. */
export function defaultRunOptions(connection: { host: string; port: number; user: string }, params: AnyParams, overrides: Partial<RunOptions> = {}): RunOptions {
  return {
    action: 'apply',
    dryRun: false,
    ...connection,
    params,
    identity: undefined,
    knownHosts: '/dev/null',
    yes: true,
    verbose: false,
    forceUnlock: false,
    commit: false,
    ...TIMING_DEFAULTS,
    ...overrides,
  };
}
