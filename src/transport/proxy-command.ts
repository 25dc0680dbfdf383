// ProxyCommand, as OpenSSH runs it: `exec <command>` through the user's shell, locally; the SSH connection then runs
// over the command's stdin and stdout. The command comes from the operator's own ssh config, as it would for ssh.
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';

/**
 * How messages name a ProxyCommand: its program only, since its arguments may carry a token (the command is the
 * operator's own, in their ssh config; it need not be repeated in logs).
 */
export function proxyCommandLabel(command: string): string {
  const program = command.trim().split(/\s+/)[0] ?? '';
  return command.trim() === program ? program : `${program} …`;
}

export interface ProxyProcess {
  socket: Duplex;
  /** What the command said on stderr (last lines), and how it ended, for messages. */
  describe(): string;
  /**
   * Resolves once the command has exited and its stdout and stderr have closed (or after waitMs), so that describe()
   * can say how it ended and everything it said: its exit can come before the last of its stderr has been read.
   */
  settled(waitMs?: number): Promise<void>;
  close(): void;
}

export function spawnProxyCommand(command: string, env: NodeJS.ProcessEnv): ProxyProcess {
  const shell = env['SHELL'] || '/bin/sh';
  // ssh's ssh_proxy_connect(): argv = [shell, "-c", "exec " + command]; no other quoting is added.
  const child = spawn(shell, ['-c', `exec ${command}`], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let ended: string | undefined;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const socket = Duplex.from({ readable: child.stdout, writable: child.stdin });
  // The command ending is the connection ending: say so at once, rather than let the handshake wait for its timeout.
  // That is its exit and the last of its stdout; not its 'close', which also waits for stderr, which a child of the
  // command may hold open. 'close' comes after the exit and stdout and stderr closing (not stdin, which is ours):
  // settled() waits for it, bounded, so that describe() has everything the command said.
  let outputEnded = false;
  let closed = false;
  child.once('close', () => {
    closed = true;
  });
  const finish = (): void => {
    if (ended !== undefined && outputEnded && !socket.destroyed) socket.destroy(new Error(`the ProxyCommand ended (${ended})`));
  };
  child.on('exit', (code, signal) => {
    ended = signal !== null ? `killed by ${signal}` : `exit ${code}`;
    finish();
  });
  child.stdout.on('end', () => {
    outputEnded = true;
    finish();
  });
  // A command that cannot start (no such shell) must fail the connection, not the process.
  child.on('error', (error) => socket.destroy(error));
  socket.on('error', () => {});
  child.stdin.on('error', () => {});
  return {
    socket,
    describe: () => {
      const said = stderr.trim().split('\n').slice(-3).join(' / ');
      return `the ProxyCommand (${proxyCommandLabel(command)})${ended !== undefined ? ` ended (${ended})` : ''}${said !== '' ? `: ${said}` : ''}`;
    },
    settled: (waitMs = 1000) =>
      closed
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, waitMs);
            child.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
    close: () => {
      socket.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
