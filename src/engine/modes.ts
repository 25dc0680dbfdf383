// Which steps and checks each action runs, and whether a failure unwinds automatically.
import { backupStep } from '../steps/backup.js';
import { commitStep } from '../steps/commit.js';
import { endpointCheck } from '../steps/check-endpoint.js';
import { logsCheck } from '../steps/check-logs.js';
import { renderedCheck } from '../steps/check-rendered.js';
import { runningCheck } from '../steps/check-running.js';
import { buildStep, deployStep, validateStep } from '../steps/deploy.js';
import { redeployBackupStep, restoreBackupStep } from '../steps/restore-backup.js';
import { writeTemplateStep } from '../steps/write-template.js';
import type { Action } from './options.js';
import type { ChangeStep, CheckStep } from './step.js';

export interface Mode {
  steps: readonly ChangeStep[];
  checks: readonly CheckStep[];
  /** Steps that run only once every check passed (they are not undone). */
  afterChecks: readonly ChangeStep[];
  /** Whether a failed check rolls this run's changes back by itself. */
  undo: boolean;
}

const APPLY: Mode = {
  steps: [backupStep, writeTemplateStep, buildStep, validateStep, deployStep] as readonly ChangeStep[],
  checks: [runningCheck, logsCheck, renderedCheck, endpointCheck],
  afterChecks: [commitStep] as readonly ChangeStep[],
  undo: true,
};

// A rollback verifies that the old config runs; its endpoint is expected to fail the handshake again.
const ROLLBACK: Mode = {
  steps: [restoreBackupStep, redeployBackupStep] as readonly ChangeStep[],
  checks: [runningCheck, logsCheck],
  afterChecks: [commitStep] as readonly ChangeStep[],
  undo: false,
};

/** The steps of an action; a dry-run plans the apply. */
export function modeOf(action: Action): Mode {
  return action === 'rollback' ? ROLLBACK : APPLY;
}
