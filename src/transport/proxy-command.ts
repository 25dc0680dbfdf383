// ProxyCommand, as OpenSSH runs it: `exec <command>` through the user's shell, locally; the SSH connection then runs
// over the command's stdin and stdout. The command comes from the operator's own ssh config, as it would for ssh.
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';

export interface ProxyProcess {
  socket: Duplex;
  /** What the command said on stderr (last lines), and how it ended, for messages. */
  describe(): string;
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
  child.on('exit', (code, signal) => {
    ended = signal !== null ? `killed by ${signal}` : `exit ${code}`;
  });
  const socket = Duplex.from({ readable: child.stdout, writable: child.stdin });
  // A command that cannot start (no such shell) must fail the connection, not the process.
  child.on('error', (error) => socket.destroy(error));
  socket.on('error', () => {});
  child.stdin.on('error', () => {});
  return {
    socket,
    describe: () => {
      const said = stderr.trim().split('\n').slice(-3).join(' / ');
      return `the ProxyCommand (${command})${ended !== undefined ? ` ended (${ended})` : ''}${said !== '' ? `: ${said}` : ''}`;
    },
    close: () => {
      socket.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
