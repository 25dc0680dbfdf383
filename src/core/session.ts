// One run's link to one host: every remote command goes through here, with the run's policies applied
// (interrupts, timeouts, --verbose logging with secrets masked, a dropped connection told from a failed command).
import { randomBytes } from 'node:crypto';
import { ConnectionLostError, InterruptedError } from '../errors.js';
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

  /**
   * Read-only commands side by side, each result as if it ran alone. On a host shell they go as one remote command
   * (one round trip, not one per command, and one channel); a host where that cannot run gets them one by one.
   */
  readonly execAll = async (commands: readonly string[]): Promise<ExecResult[]> => {
    if (commands.length < 2 || this.transport.runsShell !== true) return settledInOrder(commands.map((command) => this.exec(command)));
    this.checkpoint();
    const numbers = commands.map((command) => {
      const n = ++this.execs;
      this.log(`$ [${n}] ${command}`);
      return n;
    });
    const batch = await execOn(this.transport, this.label, batchCommand(commands), { timeoutMs: this.options.commandTimeoutMs });
    if (batch.code === BATCH_UNAVAILABLE && batch.stdout.length === 0) {
      this.log(`[${numbers.join(', ')}] could not run together (no temp directory on the host: ${batch.stderr.toString('utf8').trim() || 'mktemp failed'}); one by one`);
      return settledInOrder(commands.map((command) => this.exec(command)));
    }
    const results = splitBatch(batch, commands);
    const together = ` (run together: [${numbers[0]}]–[${numbers.at(-1)}])`;
    results.forEach((result, i) => this.logResult(numbers[i]!, result, false, together));
    return results;
  };

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
  };

  private logResult(n: number, result: ExecResult, streamed: boolean, note = ''): void {
    const output = streamed ? '' : [result.stdout, result.stderr].map((b) => b.toString('utf8').trimEnd()).filter(Boolean).join('\n');
    this.log(`[${n}] exit ${result.code ?? result.signal ?? '?'}, ${result.durationMs} ms${note}${output !== '' ? ':' : ''}`);
    if (output !== '') this.log(indentTail(output));
  }
}
