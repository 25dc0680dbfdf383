// A real OpenSSH sshd on 127.0.0.1 with its own config and host key, in the foreground (-D -e):
// never the machine's /etc/ssh/sshd_config, never the machine's own sshd.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { descendantsOf, freePort, isAlive, sleep, terminate, terminateLeavesFirst } from './system.js';

export const SSHD = '/usr/sbin/sshd';

export interface SshdOptions {
  dir: string; // private to the harness: config, log
  hostKeyPath: string;
  user: string;
  home: string;
  path: string; // PATH for sessions (SetEnv): the user's ~/bin first
  maxSessions?: number; // MaxSessions; default: OpenSSH's own (10), as a stock sshd
}

export interface Sshd {
  port: number;
  pid: number;
  configPath: string;
  logPath: string;
  log(): string;
  // Cuts every open SSH connection (their per-connection sshd processes), keeps listening.
  dropConnections(): Promise<number>;
  stop(): Promise<void>;
}

// OpenSSH's defaults wherever the test host does not need otherwise: the session and connection limits
// (MaxSessions, MaxStartups, LoginGraceTime) are stock, so the tool meets what users' hosts allow.
// Set here: where and who (port, host key, user, keys only), PATH, and no TCP forwarding (the jump-host tests).
function config(o: SshdOptions, port: number): string {
  return `# sshd of the apply-ws-fix e2e test host (not the machine's sshd)
Port ${port}
ListenAddress 127.0.0.1
AddressFamily inet
HostKey ${o.hostKeyPath}
PidFile ${join(o.dir, 'sshd.pid')}
AllowUsers ${o.user}
AuthenticationMethods publickey
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
StrictModes yes
PermitUserEnvironment no
SetEnv PATH=${o.path}
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY yes
PrintMotd no
PrintLastLog no
UseDNS no
LogLevel VERBOSE
Subsystem sftp internal-sftp
${o.maxSessions !== undefined ? `MaxSessions ${o.maxSessions}\n` : ''}`;
}

export async function startSshd(o: SshdOptions): Promise<Sshd> {
  // Privilege separation needs /run/sshd (root-owned, not group/world-writable).
  mkdirSync('/run/sshd', { recursive: true });
  chmodSync('/run/sshd', 0o755);
  const configPath = join(o.dir, 'sshd_config');
  const logPath = join(o.dir, 'sshd.log');
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    writeFileSync(configPath, config(o, port), { mode: 0o600 });
    const logFd = openSync(logPath, 'a');
    const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', configPath], {
      stdio: ['ignore', logFd, logFd],
    });
    closeSync(logFd);
    const started = await waitListening(child, logPath, port);
    if (started === 'ok' && child.pid) {
      return handle(child, port, configPath, logPath);
    }
    lastError = readFileSync(logPath, 'utf8').split('\n').slice(-10).join('\n');
    if (child.pid) await terminate([child.pid], 1000);
    if (started !== 'in-use') break;
  }
  throw new Error(`sshd did not start; its log ends:\n${lastError}`);
}

async function waitListening(child: ChildProcess, logPath: string, port: number): Promise<'ok' | 'in-use' | 'failed'> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const log = readFileSync(logPath, 'utf8');
    if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) return 'ok';
    if (/Address already in use/.test(log)) return 'in-use';
    if (child.exitCode !== null || child.signalCode !== null) return 'failed';
    await sleep(25);
  }
  return 'failed';
}

function handle(child: ChildProcess, port: number, configPath: string, logPath: string): Sshd {
  const pid = child.pid as number;
  return {
    port,
    pid,
    configPath,
    logPath,
    log: () => readFileSync(logPath, 'utf8'),
    async dropConnections() {
      const sessions = descendantsOf(pid).filter((p) => p.ppid === pid);
      await terminate(sessions.map((p) => p.pid), 1000);
      return sessions.length;
    },
    async stop() {
      // Sessions first, leaves first (a per-connection sshd outlives the listener otherwise).
      await terminateLeavesFirst(() => descendantsOf(pid), 2000);
      await terminate([pid], 2000);
      if (isAlive(pid)) throw new Error(`sshd ${pid} would not stop`);
    },
  };
}
