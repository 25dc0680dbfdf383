import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { ServerChannel } from 'ssh2';

export interface ExecEnvironment {
  home: string;
  user: string;
  binDir: string;
}

// What sshd hands a non-interactive command: a clean login-like environment, not the server's own.
export function remoteEnv({ home, user, binDir }: ExecEnvironment): Record<string, string> {
  return {
    HOME: home,
    USER: user,
    LOGNAME: user,
    SHELL: '/bin/bash',
    PATH: `${binDir}:/usr/local/bin:/usr/bin:/bin`,
    LANG: 'C.UTF-8',
  };
}

export interface RunningExec {
  signal(name: string): void;
  kill(): void;
  readonly done: Promise<void>;
}

// Runs one exec request like sshd does: `bash -c <command>`, raw bytes both ways, exit status last.
export function runExec(channel: ServerChannel, command: string, env: ExecEnvironment): RunningExec {
  const child = spawn('/bin/bash', ['-c', command], {
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
  child.stdout.pipe(channel, { end: false });
  child.stderr.pipe(channel.stderr, { end: false });
  channel.on('close', () => killGroup('SIGKILL'));
  channel.on('error', () => killGroup('SIGKILL'));

  const done = new Promise<void>((resolve) => {
    child.on('error', (error) => {
      finished = true;
      channel.stderr.write(`bash: ${error.message}\n`);
      sendExit(channel, 127, null);
      resolve();
    });
    child.on('close', (code, signal) => {
      finished = true;
      sendExit(channel, code, signal);
      resolve();
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
