// What the engine needs from a connection to one host: run a command line, feed it bytes, get bytes back.

export interface ExecResult {
  command: string;
  stdout: Buffer;
  stderr: Buffer;
  /** The exit status; null when the command ended by a signal or the channel closed without one. */
  code: number | null;
  signal: string | null;
  durationMs: number;
}

export interface ExecOptions {
  /** Bytes for the command's standard input; it gets EOF after them. */
  stdin?: Buffer | string;
  /** The command is stopped and the call rejects after this long. */
  timeoutMs?: number;
  /** Output as it arrives (stdout and stderr), for progress on a long command; the result still holds it all. */
  onOutput?: (chunk: Buffer) => void;
}

export interface Transport {
  /** user@host:port, for messages. */
  readonly label: string;
  /** True when every command runs in a POSIX shell on the host, so several read-only ones can go as one. */
  readonly runsShell?: boolean;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
}

/** First line of a command's stderr (or stdout), for error messages. */
export function firstLine(result: ExecResult): string {
  const text = result.stderr.toString('utf8').trim() || result.stdout.toString('utf8').trim();
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  return lines.at(-1) ?? `exit ${result.code ?? result.signal ?? 'unknown'}`;
}

/** Whether the command exited 0. */
export function succeeded(result: ExecResult): boolean {
  return result.code === 0;
}

// How node-ssh and ssh2 say the connection is gone (after a drop, exec throws these plain Errors).
const LOST = /Not connected to server|No response from server|Connection lost before handshake|socket (hang up|closed)|ECONNRESET|EPIPE|Channel open failure: (Connection|Not) /i;

/** Whether an exec failed because the connection went away (reconnecting may help), not because of the command. */
export function lostConnection(error: unknown): boolean {
  return error instanceof Error && !('exitCode' in error) && LOST.test(error.message);
}
