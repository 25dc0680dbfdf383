// The public API: what a runbook written outside this package imports (`import { defineRunbook } from 'apply-ws-fix'`).
// The core runs what these build; see the README's "Write a runbook".
export { defineCheck, defineFact, defineRunbook, defineStep } from './core/define.js';
export { param } from './core/params.js';
export type {
  ActionSpec,
  AnyParams,
  ApplyContext,
  ChangePlan,
  Check,
  Checksums,
  Diagnosis,
  ExecContext,
  Fact,
  NoopPlan,
  ParamSpec,
  ParamValues,
  PlanContext,
  Runbook,
  RunbookDefinition,
  Step,
  StepPlan,
  Undo,
} from './core/types.js';
export type { RunOptions } from './core/options.js';
export type { RunReport } from './core/report.js';
export { StartError, StepError } from './errors.js';
export { RemotePath, shellJoin, shellQuote } from './shell/quote.js';
export { all, atomicWriteCommand, catCommand, inDir } from './lib/file-commands.js';
export { unifiedDiff } from './lib/diff.js';
export { sha256 } from './lib/checksum.js';
export { succeeded, firstLine, type ExecResult } from './transport/transport.js';
export { composeCommands, type ComposeTarget } from './compose/commands.js';
export { backupsFact, fileFact, fileReplace, type BackupFile, type FileRecord, type FileReplaceOptions } from './kinds/file-replace.js';
export { dotenvComposeProject, dotenvKey, dotenvValue, setDotenvKey, type DotenvComposeProject } from './kinds/dotenv-key.js';
export { blockInFile, type BlockInFileOptions } from './kinds/block-in-file.js';
export {
  composeBuild,
  composeServicesFact,
  composeUp,
  composeValidate,
  composeVersionFact,
  containerEnvFact,
  containerFact,
  containerFileFact,
  execInContainer,
  logsFact,
  waitRunning,
  type When,
} from './kinds/compose.js';
export { containerEnv, containerRunning, httpCheck, logScan, wsHandshake } from './kinds/checks.js';
export { gitCommit } from './kinds/git-commit.js';
