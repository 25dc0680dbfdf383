import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { basename } from 'node:path';
import type { ServerChannel } from 'ssh2';

export interface ExecEnvironment {
  home: string;
  user: string;
  binDir: string;
  /** The user's login shell, which sshd runs every command with (`shell -c command`). */
  shell: string;
}

// What sshd hands a non-interactive command: a clean login-like environment, not the server's own.
export function remoteEnv({ home, user, binDir, shell }: ExecEnvironment): Record<string, string> {
  return {
    HOME: home,
    USER: user,
    LOGNAME: user,
    SHELL: shell,
    PATH: `${binDir}:/usr/local/bin:/usr/bin:/bin`,
    LANG: 'C.UTF-8',
  };
}

export interface RunningExec {
  signal(name: string): void;
  kill(): void;
  readonly done: Promise<void>;
}

// Runs one exec request like sshd does: `<login shell> -c <command>`, raw bytes both ways, exit status last.
export function runExec(channel: ServerChannel, command: string, env: ExecEnvironment, dropInsteadOfExit?: () => void): RunningExec {
  const child = spawn(env.shell, ['-c', command], {
    cwd: env.home,
    env: remoteEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let finished = false;
  const killGroup = (signal: NodeJS.Signals): void => {
    if (finished || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is already gone
    }
  };

  child.stdin.on('error', () => {
    // the command exited without reading all of its stdin, as `true < big` does
  });
  channel.pipe(child.stdin);
  const output = new ChannelOutput(channel, [child.stdout, child.stderr]);
  child.stdout.on('data', (chunk: Buffer) => output.push('stdout', chunk));
  child.stderr.on('data', (chunk: Buffer) => output.push('stderr', chunk));
  let channelGone = false;
  const gone = new Promise<void>((resolve) => {
    const onGone = (): void => {
      channelGone = true;
      killGroup('SIGKILL');
      resolve();
    };
    channel.on('close', onGone);
    channel.on('error', onGone);
  });

  // The exit status, EOF and close go out only once every byte of stdout and stderr has left, as the client counts
  // the command finished at close; a channel the client already closed just ends the wait.
  const finish = async (code: number | null, signal: NodeJS.Signals | null): Promise<void> => {
    finished = true;
    await Promise.race([output.drained(), gone]);
    // A test's dropped connection: the command ran, and its exit status never leaves.
    if (dropInsteadOfExit !== undefined) dropInsteadOfExit();
    else if (!channelGone) sendExit(channel, code, signal);
  };
  const done = new Promise<void>((resolve) => {
    child.on('error', (error) => {
      output.push('stderr', Buffer.from(`${basename(env.shell)}: ${error.message}\n`));
      void finish(127, null).then(resolve);
    });
    child.on('close', (code, signal) => {
      void finish(code, signal).then(resolve);
    });
  });

  return {
    signal: (name) => {
      const full = (name.startsWith('SIG') ? name : `SIG${name}`) as NodeJS.Signals;
      if (full in constants.signals) killGroup(full);
    },
    kill: () => killGroup('SIGKILL'),
    done,
  };
}

// Exit status (or the signal, as OpenSSH reports it) and then EOF + close, in that order.
function sendExit(channel: ServerChannel, code: number | null, signal: NodeJS.Signals | null): void {
  try {
    if (signal !== null) {
      try {
        channel.exit(signal.replace(/^SIG/, ''), false, '');
      } catch {
        channel.exit(128 + (constants.signals[signal] ?? 0));
      }
    } else {
      channel.exit(code ?? 255);
    }
    channel.end();
  } catch {
    // the client is gone; nothing left to tell it
  }
}

type StreamName = 'stdout' | 'stderr';

// What ssh2 1.17 keeps of a server channel's write that waits for the peer's window (lib/Channel.js): one pending
// chunk for stdout, one for stderr, never cleared once sent.
interface Ssh2PendingWrites {
  _chunk?: Buffer | undefined;
  _chunkcb?: (() => void) | undefined;
  _chunkErr?: Buffer | undefined;
  _chunkcbErr?: (() => void) | undefined;
}

/**
 * A command's stdout and stderr onto one SSH channel, in the order the command wrote them, one chunk at a time.
 *
 * stdout and stderr share the channel's window. ssh2 1.17's server channel, when a window adjust arrives, resumes the
 * stdout chunk it remembers if it has one, even one already sent, and only otherwise the stderr one. So stderr
 * written while stdout waits for the window stayed queued for good and was lost at close, and a later adjust could
 * send stdout bytes twice. Here only one chunk is ever in flight, the next goes once ssh2 has sent the last byte of
 * the previous one, and ssh2's record of a finished chunk is cleared first. The command's pipes are paused while
 * too much waits, so a slow client slows the command down instead of filling memory.
 */
class ChannelOutput {
  private readonly queue: { stream: StreamName; data: Buffer }[] = [];
  private queuedBytes = 0;
  private writing = false;
  private paused = false;
  private waiters: (() => void)[] = [];

  static readonly HIGH_WATER = 256 * 1024;

  constructor(
    private readonly channel: ServerChannel,
    private readonly sources: readonly NodeJS.ReadableStream[],
  ) {}

  push(stream: StreamName, data: Buffer): void {
    if (data.length === 0) return;
    this.queue.push({ stream, data });
    this.queuedBytes += data.length;
    if (this.queuedBytes >= ChannelOutput.HIGH_WATER && !this.paused) {
      this.paused = true;
      for (const source of this.sources) source.pause();
    }
    this.next();
  }

  /** Resolves once everything pushed so far has been handed to the SSH connection. */
  drained(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private next(): void {
    if (this.writing) return;
    const item = this.queue.shift();
    if (item === undefined) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const resolve of waiters) resolve();
      return;
    }
    this.writing = true;
    this.forgetSentChunks();
    const target = item.stream === 'stdout' ? this.channel : this.channel.stderr;
    target.write(item.data, () => {
      this.writing = false;
      this.queuedBytes -= item.data.length;
      if (this.paused && this.queuedBytes < ChannelOutput.HIGH_WATER / 2) {
        this.paused = false;
        for (const source of this.sources) source.resume();
      }
      this.next();
    });
  }

  // Nothing is in flight here, so whatever ssh2 still remembers was sent already.
  private forgetSentChunks(): void {
    const pending = this.channel as unknown as Ssh2PendingWrites;
    pending._chunk = undefined;
    pending._chunkcb = undefined;
    pending._chunkErr = undefined;
    pending._chunkcbErr = undefined;
  }
}
