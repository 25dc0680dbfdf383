// One run's link to one host: every remote command goes through here, with the run's policies applied
// (interrupts, timeouts, --verbose logging with secrets masked, a dropped connection told from a failed command).
import { randomBytes } from 'node:crypto';
import { CommandTimeoutError, ConnectionLostError, InterruptedError } from '../errors.js';
import { BATCH_UNAVAILABLE, batchCommand, splitBatch } from '../shell/batch.js';
import { maskSecrets } from '../shell/mask.js';
import { lostConnection, type ExecOptions, type ExecResult, type Transport } from '../transport/transport.js';
import type { RunOptions } from './options.js';

/** Set by the signal handler; checked at every safe point. */
export interface InterruptState {
  signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP' | null;
}

/** A short id naming this run in temp files, backups and reports. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

/** Runs a command; a channel that closed without an exit status means the connection dropped. */
export async function execOn(transport: Transport, label: string, command: string, options: ExecOptions): Promise<ExecResult> {
  let result: ExecResult;
  try {
    result = await transport.exec(command, options);
  } catch (error) {
    if (lostConnection(error)) throw new ConnectionLostError(label, command);
    throw error;
  }
  if (result.code === null && result.signal === null) throw new ConnectionLostError(label, command);
  return result;
}

/** Every promise settled, then the first rejection in order thrown (a lost connection is the real reason, whichever came first). */
async function settledInOrder<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

interface Pending {
  command: string;
  n: number;
  resolve: (result: ExecResult) => void;
  reject: (error: unknown) => void;
}

const VERBOSE_LINES = 40;

// A command's output in --verbose: indented, and cut after 40 lines (a file read is long; its diff is shown anyway).
function indentTail(text: string): string {
  const lines = text.split('\n');
  const shown = lines.slice(0, VERBOSE_LINES).map((line) => `  ${line}`);
  if (lines.length > VERBOSE_LINES) shown.push(`  … ${lines.length - VERBOSE_LINES} more lines`);
  return shown.join('\n');
}

export interface SessionInit {
  options: RunOptions;
  transport: Transport;
  interrupt: InterruptState;
  /** NAME=value pairs whose value may be shown; every other is masked. */
  printable: readonly string[];
  /** Values never shown anywhere (secret parameters). */
  secrets: readonly string[];
  log?: (line: string) => void;
  runId?: string;
}

export class Session {
  readonly options: RunOptions;
  readonly runId: string;
  readonly label: string;
  readonly interrupt: InterruptState;
  /** The run's connection; replaced when a dropped connection is re-established for the rollback. */
  transport: Transport;
  private readonly printable: readonly string[];
  private readonly secrets: readonly string[];
  private readonly sink: (line: string) => void;
  private execs = 0;

  constructor(init: SessionInit) {
    this.options = init.options;
    this.runId = init.runId ?? newRunId();
    this.transport = init.transport;
    this.label = init.transport.label;
    this.interrupt = init.interrupt;
    this.printable = init.printable;
    this.secrets = init.secrets;
    this.sink = init.options.verbose && init.log ? init.log : () => {};
  }

  /** Masks secret values and NAME=value pairs that are not printable. */
  mask(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('<secret>');
    return maskSecrets(out, this.printable);
  }

  /** A --verbose line, masked. */
  readonly log = (line: string): void => {
    this.sink(this.mask(line));
  };

  /** Throws if the operator interrupted the run. */
  readonly checkpoint = (): void => {
    if (this.interrupt.signal !== null) throw new InterruptedError(this.interrupt.signal);
  };

  /** Commands side by side, each result as if it ran alone (they go as one remote command: see execAlways). */
  readonly execAll = async (commands: readonly string[]): Promise<ExecResult[]> => settledInOrder(commands.map((command) => this.exec(command)));

  /** Runs a command after checking for an interrupt, with the default timeout; logged under --verbose. */
  readonly exec = async (command: string, options: ExecOptions = {}): Promise<ExecResult> => {
    this.checkpoint();
    return this.execAlways(command, options);
  };

  /** The same, without the interrupt check: for the rollback, which an interrupt must not stop. */
  readonly execAlways = async (command: string, options: ExecOptions = {}): Promise<ExecResult> => {
    // Commands of a burst run side by side: each output block carries its command's number.
    const n = ++this.execs;
    this.log(`$ [${n}] ${command}`);
    // Plain commands issued together (a burst of reads, a wave of checks) go as one remote command.
    if (this.transport.runsShell === true && options.stdin === undefined && options.onOutput === undefined && options.timeoutMs === undefined) return this.together(command, n);
    return this.alone(command, n, options);
  };

  // One command as a remote command of its own (the default timeout unless one is given), its result logged.
  private async alone(command: string, n: number, options: ExecOptions = {}): Promise<ExecResult> {
    // A command that streams (a build) shows its output under --verbose as it comes, each line with its number.
    const streaming = this.options.verbose && options.onOutput !== undefined;
    let partial = '';
    const onOutput = streaming
      ? (chunk: Buffer): void => {
          const lines = (partial + chunk.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) this.log(`[${n}]   ${line}`);
          options.onOutput?.(chunk);
        }
      : options.onOutput;
    const result = await execOn(this.transport, this.label, command, { timeoutMs: this.options.commandTimeoutMs, ...options, ...(onOutput ? { onOutput } : {}) });
    if (streaming && partial !== '') this.log(`[${n}]   ${partial}`);
    this.logResult(n, result, streaming);
    return result;
  }

  private pending: Pending[] = [];

  // Waits for the other commands issued in this turn of the event loop, then runs them all.
  private together(command: string, n: number): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ command, n, resolve, reject });
      if (this.pending.length === 1) setImmediate(() => void this.flush());
    });
  }

  /**
   * One command runs as it is. Several run as one remote command, side by side, each in a subshell of its own
   * (one round trip and one channel instead of one each): a burst of concurrent channels, folded. A host without a
   * usable temp directory (a full disk) gets them one by one; a lost connection or a timeout fails each of them,
   * named by its own command.
   */
  private async flush(): Promise<void> {
    const group = this.pending;
    this.pending = [];
    const alone = (one: Pending): Promise<void> => this.alone(one.command, one.n).then(one.resolve, one.reject);
    if (group.length === 1) return alone(group[0]!);
    const commands = group.map((one) => one.command);
    let batch: ExecResult;
    try {
      batch = await execOn(this.transport, this.label, batchCommand(commands), { timeoutMs: this.options.commandTimeoutMs });
    } catch (error) {
      for (const one of group) one.reject(error instanceof ConnectionLostError ? new ConnectionLostError(this.label, one.command) : error instanceof CommandTimeoutError ? new CommandTimeoutError(this.label, one.command, this.options.commandTimeoutMs) : error);
      return;
    }
    if (batch.code === BATCH_UNAVAILABLE && batch.stdout.length === 0) {
      this.log(`[${group.map((one) => one.n).join(', ')}] could not run together (no temp directory on the host: ${batch.stderr.toString('utf8').trim() || 'mktemp failed'}); one by one`);
      await Promise.all(group.map(alone));
      return;
    }
    const together = ` (run together: ${group.map((one) => `[${one.n}]`).join(' ')})`;
    splitBatch(batch, commands).forEach((result, i) => {
      this.logResult(group[i]!.n, result, false, together);
      group[i]!.resolve(result);
    });
  }

  private logResult(n: number, result: ExecResult, streamed: boolean, note = ''): void {
    const output = streamed ? '' : [result.stdout, result.stderr].map((b) => b.toString('utf8').trimEnd()).filter(Boolean).join('\n');
    this.log(`[${n}] exit ${result.code ?? result.signal ?? '?'}, ${result.durationMs} ms${note}${output !== '' ? ':' : ''}`);
    if (output !== '') this.log(indentTail(output));
  }
}
