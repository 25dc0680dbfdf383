// Error classes carry the exit code and the remedy, so only the CLI edge decides how to print and exit.

/** The exit-code table, documented in --help and the README. */
export const EXIT = {
  ok: 0,
  checkFailed: 1,
  notRestored: 2,
  couldNotStart: 3,
  /** --check: the host needs the runbook's change. */
  needsChange: 4,
  /** --check: nothing to change, but a check fails. */
  unhealthy: 5,
  /** Applied and verified, but a step after the checks (--commit) failed: the change stays live. */
  afterFailed: 6,
  usage: 64,
  hangup: 129,
  interrupted: 130,
  terminated: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface AppErrorOptions {
  code: string;
  exitCode: ExitCode;
  remedy?: string | undefined;
  cause?: unknown;
}

// A runbook module outside this package may import its own copy of apply-ws-fix: its errors are recognised by a
// brand that names their class chain, so `instanceof` holds across copies.
const BRAND = Symbol.for('apply-ws-fix/error-classes');

/** An error the operator can act on: what went wrong, and how to resolve it. */
export class AppError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly remedy: string | undefined;

  static override [Symbol.hasInstance](value: unknown): boolean {
    const chain = (value as { [BRAND]?: unknown } | null)?.[BRAND];
    return Array.isArray(chain) && chain.includes(this.name);
  }

  constructor(message: string, options: AppErrorOptions) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    const chain: string[] = [];
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) chain.push((c as { name: string }).name);
    Object.defineProperty(this, BRAND, { value: chain });
    this.code = options.code;
    this.exitCode = options.exitCode;
    this.remedy = options.remedy;
  }
}

/** A bad flag or value: refused before anything connects. */
export class UsageError extends AppError {
  constructor(message: string, remedy?: string) {
    super(message, { code: 'usage', exitCode: EXIT.usage, remedy });
  }
}

/** Connection, authentication, host key or a precondition: nothing was changed. */
export class StartError extends AppError {
  constructor(message: string, code: string, remedy?: string, cause?: unknown) {
    super(message, { code, exitCode: EXIT.couldNotStart, remedy, cause });
  }
}

/** A step or check failed after the run started; the engine decides between exit 1 and 2. */
export class StepError extends AppError {
  readonly stepId: string;

  constructor(stepId: string, message: string, remedy?: string, cause?: unknown) {
    super(message, { code: `step:${stepId}`, exitCode: EXIT.checkFailed, remedy, cause });
    this.stepId = stepId;
  }
}

/** The SSH channel closed without an exit status: the connection dropped mid-command. */
export class ConnectionLostError extends AppError {
  constructor(label: string, command: string) {
    super(`the SSH connection to ${label} was lost while running: ${command}`, {
      code: 'connection-lost',
      exitCode: EXIT.notRestored,
      remedy: 'Check the network and the host; run again: the next run finds this one unfinished in the host\'s journal.',
    });
  }
}

/**
 * The host stopped answering: a command ran past its timeout, or the connection missed its keepalives. What the
 * command did is unknown, so nothing is run again; the engine decides between exit 1 and 2 from its journal.
 */
export class HostTimeoutError extends AppError {
  constructor(message: string) {
    super(message, {
      code: 'timeout',
      exitCode: EXIT.notRestored,
      remedy: 'The host, or the network to it, stopped answering, and what its last command did is unknown. Once it answers, look with --dry-run; the next run finds this one unfinished in the host\'s journal (--rollback puts it back).',
    });
  }
}

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** The exit code after a signal, once what the run changed is rolled back. */
export function exitCodeOf(signal: StopSignal): ExitCode {
  return signal === 'SIGINT' ? EXIT.interrupted : signal === 'SIGHUP' ? EXIT.hangup : EXIT.terminated;
}

/**
 * A remote command ran past its timeout. Its effect is unknown (it may have finished on the host, or be running
 * still): the connection is not re-used for it, and the unwind decides from facts it reads again.
 */
export class CommandTimeoutError extends AppError {
  constructor(label: string, command: string, timeoutMs: number) {
    super(`a remote command on ${label} ran past its ${Math.round(timeoutMs / 1000)} s timeout, and what it did is unknown: ${command}`, {
      code: 'command-timeout',
      exitCode: EXIT.notRestored,
      remedy: 'Check the host (docker compose ps, the template) and run again; a slow build needs a longer timeout.',
    });
  }
}

/** The operator pressed Ctrl-C (or the process got SIGTERM or SIGHUP): stop at the next safe point. */
export class InterruptedError extends AppError {
  readonly signal: StopSignal;

  constructor(signal: StopSignal) {
    super(`interrupted by ${signal}`, {
      code: 'interrupted',
      exitCode: exitCodeOf(signal),
    });
    this.signal = signal;
  }
}

/** A message for any thrown value, without assuming it is an Error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
