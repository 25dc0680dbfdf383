// The options of one run against one host: no globals, so several runs can share a process.
import type { RunbookDefaults } from './runbook.js';
import type { SshSettings } from '../transport/target.js';

export type Action = 'apply' | 'rollback';

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
  dir: string;
  service: string;
  url: string;
  yes: boolean;
  verbose: boolean;
  /** Remove a lock left on the host by a run that died, then go on. */
  forceUnlock: boolean;
  /** Commit the template change in the host's git repository once the checks pass. */
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

/** Options for an apply with the runbook's defaults and no prompt, for code that drives the engine directly. */
export function defaultRunOptions(defaults: RunbookDefaults, overrides: Partial<RunOptions> = {}): RunOptions {
  return {
    action: 'apply',
    dryRun: false,
    ...defaults,
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
