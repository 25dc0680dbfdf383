// Helpers of the ssh-*.test.ts files: a CLI with its own HOME (so ~/.ssh/config, keys and known_hosts are the test's),
// and a bastion: a second, bare OpenSSH sshd on loopback that only forwards to the test host.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI_PATH, REPO, finish, type CliResult } from './cli.js';
import { descendantsOf, freePort, isAlive, mustRun, sleep, terminate, terminateLeavesFirst } from './harness/system.js';

export interface CliHome {
  home: string;
  ssh: string;
  /** Writes ~/.ssh/<name>. */
  write(name: string, content: string, mode?: number): string;
  /** Copies a file into ~/.ssh/<name> (0600). */
  copy(from: string, name: string): string;
  remove(): void;
}

/** A fresh HOME with an empty ~/.ssh (0700), as a user's would be. */
export function cliHome(): CliHome {
  const home = mkdtempSync(join(tmpdir(), 'awf-e2e-ssh-home-'));
  const ssh = join(home, '.ssh');
  mkdirSync(ssh, { mode: 0o700 });
  return {
    home,
    ssh,
    write: (name, content, mode = 0o600) => {
      const path = join(ssh, name);
      writeFileSync(path, content, { mode });
      return path;
    },
    copy: (from, name) => {
      const path = join(ssh, name);
      copyFileSync(from, path);
      chmodSync(path, 0o600);
      return path;
    },
    remove: () => rmSync(home, { recursive: true, force: true }),
  };
}

/** The built CLI with this HOME and nothing else of the tester's: no agent, no CI flag, no terminal. */
export async function runCliIn(home: CliHome, args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const started = Date.now();
  const child = execa(process.execPath, [CLI_PATH, ...args], {
    reject: false,
    stdin: 'ignore',
    timeout: 90_000,
    cwd: REPO,
    extendEnv: false,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home.home, LANG: 'C.UTF-8', TERM: 'dumb', ...env },
    stripFinalNewline: false,
  });
  return finish(child, args, started);
}

/** `[127.0.0.1]:port type base64` for a public key line (`type base64 comment`). */
export function knownHostsLine(port: number, publicKey: string): string {
  const [type, data] = publicKey.trim().split(/\s+/);
  return `[127.0.0.1]:${port} ${type} ${data}`;
}

export interface Bastion {
  port: number;
  /** Its host keys' public lines, ed25519 and ECDSA: it has both, so which one is asked for matters. */
  ed25519: string;
  ecdsa: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * A bastion sshd: publickey only, for one user (whose ~/.ssh/authorized_keys it reads), TCP forwarding allowed only to
 * 127.0.0.1:<targetPort> and the `alsoPermit` ports (PermitOpen), LogLevel DEBUG1 so its log shows each direct-tcpip request.
 */
export async function startBastion(o: { user: string; targetPort: number; alsoPermit?: number[] }): Promise<Bastion> {
  const dir = mkdtempSync(join(tmpdir(), 'awf-e2e-bastion-'));
  chmodSync(dir, 0o711);
  const keygen = async (type: 'ed25519' | 'ecdsa'): Promise<string> => {
    const path = join(dir, `ssh_host_${type}_key`);
    await mustRun('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `bastion-${type}`, '-f', path]);
    return readFileSync(`${path}.pub`, 'utf8').trim();
  };
  const [ed25519, ecdsa] = await Promise.all([keygen('ed25519'), keygen('ecdsa')]);
  mkdirSync('/run/sshd', { recursive: true });
  const logPath = join(dir, 'sshd.log');
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = [
      '# the apply-ws-fix e2e bastion (not the machine\'s sshd)',
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      'AddressFamily inet',
      `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
      `HostKey ${join(dir, 'ssh_host_ecdsa_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AllowUsers ${o.user}`,
      'AuthenticationMethods publickey',
      'PubkeyAuthentication yes',
      'AuthorizedKeysFile .ssh/authorized_keys',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin no',
      'UsePAM no',
      'StrictModes yes',
      'AllowTcpForwarding yes',
      `PermitOpen ${[o.targetPort, ...(o.alsoPermit ?? [])].map((port) => `127.0.0.1:${port}`).join(' ')}`,
      'AllowAgentForwarding no',
      'X11Forwarding no',
      'PermitTTY no',
      'UseDNS no',
      'LogLevel DEBUG1',
      '',
    ].join('\n');
    const configPath = join(dir, 'sshd_config');
    writeFileSync(configPath, config, { mode: 0o600 });
    writeFileSync(logPath, '');
    const fd = openSync(logPath, 'a');
    const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', configPath], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const deadline = Date.now() + 10_000;
    let state: 'ok' | 'in-use' | 'failed' = 'failed';
    while (Date.now() < deadline) {
      const log = readFileSync(logPath, 'utf8');
      if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) {
        state = 'ok';
        break;
      }
      if (/Address already in use/.test(log)) {
        state = 'in-use';
        break;
      }
      if (child.exitCode !== null || child.signalCode !== null) break;
      await sleep(25);
    }
    const pid = child.pid;
    if (state === 'ok' && pid !== undefined) {
      return {
        port,
        ed25519,
        ecdsa,
        log: () => readFileSync(logPath, 'utf8'),
        stop: async () => {
          // Its per-connection processes first, then the listener: only this sshd's tree.
          await terminateLeavesFirst(() => descendantsOf(pid), 2000);
          await terminate([pid], 2000);
          if (isAlive(pid)) throw new Error(`bastion sshd ${pid} would not stop`);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    if (pid !== undefined) await terminate([pid], 1000);
    if (state !== 'in-use') break;
  }
  throw new Error(`the bastion sshd did not start; its log ends:\n${readFileSync(logPath, 'utf8').split('\n').slice(-10).join('\n')}`);
}
