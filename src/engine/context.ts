// Everything one run against one host needs, passed explicitly: the session, then the facts and the journal.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { ComposeTarget } from '../compose/commands.js';
import { ConnectionLostError, InterruptedError } from '../errors.js';
import { maskSecrets } from '../shell/mask.js';
import { RemotePath } from '../shell/quote.js';
import type { ExecOptions, ExecResult, Transport } from '../transport/transport.js';
import { hostStatePaths, type HostStatePaths } from './host-state.js';
import type { Journal } from './journal.js';
import type { RunOptions } from './options.js';
import type { Runbook } from './runbook.js';
import type { HostFacts } from '../steps/gather.js';

export interface RunPaths {
  dir: RemotePath;
  configDir: RemotePath;
  template: RemotePath;
  templateName: string;
}

/** Set by the signal handler; checked at every safe point. */
export interface InterruptState {
  signal: 'SIGINT' | 'SIGTERM' | null;
}

/** The run's connection; replaced when a dropped connection is re-established for the rollback. */
export interface TransportLink {
  transport: Transport;
}

export interface Session {
  options: RunOptions;
  runbook: Runbook;
  /** user@host:port, for messages. */
  label: string;
  link: TransportLink;
  runId: string;
  paths: RunPaths;
  /** The lock and journal on the host. */
  state: HostStatePaths;
  target: ComposeTarget;
  desired: Buffer;
  interrupt: InterruptState;
  /** Verbose lines (remote commands and their output, secrets masked); a no-op unless --verbose. */
  log(line: string): void;
  /** Runs a remote command after checking for an interrupt, with the default timeout. */
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Throws if the operator interrupted the run: called between steps. */
  checkpoint(): void;
}

export interface RunContext extends Session {
  facts: HostFacts;
  journal: Journal;
  /** True once this run ran `up`: the checks then wait for the container to settle. */
  deployed: boolean;
}

/** A short id naming this run in temp files, backups and reports. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

/** The remote paths of a run, from --dir and the runbook's template path. */
export function runPaths(options: RunOptions, runbook: Runbook): RunPaths {
  const dir = new RemotePath(options.dir);
  const relative = runbook.templatePath(options.service);
  const template = dir.join(relative);
  const relativeDir = posix.dirname(relative);
  return {
    dir,
    template,
    configDir: relativeDir === '.' ? dir : dir.join(relativeDir),
    templateName: posix.basename(relative),
  };
}

const VERBOSE_LINES = 40;

// A command's output in --verbose: indented, and cut after 40 lines (a file read is long; its diff is shown anyway).
function indentTail(text: string): string {
  const lines = text.split('\n');
  const shown = lines.slice(0, VERBOSE_LINES).map((line) => `  ${line}`);
  if (lines.length > VERBOSE_LINES) shown.push(`  … ${lines.length - VERBOSE_LINES} more lines`);
  return shown.join('\n');
}

/** Runs a command; a channel that closed without an exit status means the connection dropped. */
export async function execOn(transport: Transport, label: string, command: string, options: ExecOptions): Promise<ExecResult> {
  const result = await transport.exec(command, options);
  if (result.code === null && result.signal === null) throw new ConnectionLostError(label, command);
  return result;
}

export interface SessionInit {
  options: RunOptions;
  runbook: Runbook;
  transport: Transport;
  desired: Buffer;
  interrupt: InterruptState;
  log?: (line: string) => void;
  runId?: string;
}

/** Wraps a transport with the run's policies: interrupts, timeouts, verbose logging with secrets masked. */
export function createSession(init: SessionInit): Session {
  const { options, runbook, interrupt } = init;
  const link: TransportLink = { transport: init.transport };
  const allowed = [runbook.targetVariable];
  const log = options.verbose && init.log ? init.log : () => {};
  const checkpoint = (): void => {
    if (interrupt.signal !== null) throw new InterruptedError(interrupt.signal);
  };
  return {
    options,
    runbook,
    label: init.transport.label,
    link,
    runId: init.runId ?? newRunId(),
    paths: runPaths(options, runbook),
    state: hostStatePaths(options.dir, options.service),
    target: { dir: new RemotePath(options.dir), service: options.service, profiles: runbook.composeProfiles },
    desired: init.desired,
    interrupt,
    log,
    checkpoint,
    async exec(command, execOptions = {}) {
      checkpoint();
      log(`$ ${command}`);
      const result = await execOn(link.transport, init.transport.label, command, { timeoutMs: options.commandTimeoutMs, ...execOptions });
      const output = [result.stdout, result.stderr].map((b) => b.toString('utf8').trimEnd()).filter(Boolean).join('\n');
      if (output !== '') log(indentTail(maskSecrets(output, allowed)));
      log(`  (exit ${result.code ?? result.signal ?? '?'}, ${result.durationMs} ms)`);
      return result;
    },
  };
}
