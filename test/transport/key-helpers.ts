// Test helper: real key files made by ssh-keygen, and a real ssh-agent of our own (never the tester's).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh ed25519 key pair in dir/name (+ .pub), unencrypted unless a passphrase is given. */
export function makeKey(dir: string, name: string, passphrase = ''): { path: string; pub: string } {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', name, '-f', path]);
  return { path, pub: readFileSync(`${path}.pub`, 'utf8').trim() };
}

/** A copy of an unencrypted key file, encrypted with ssh-keygen -p: the same key, locked. */
export function encryptedCopy(source: string, target: string, passphrase: string): string {
  copyFileSync(source, target);
  // -a 2: few KDF rounds, so the JS bcrypt in ssh2 opens it in milliseconds, not half a second.
  execFileSync('ssh-keygen', ['-q', '-p', '-a', '2', '-P', '', '-N', passphrase, '-f', target]);
  return target;
}

export interface Agent {
  socket: string;
  add(keyFile: string): void;
  stop(): void;
}

/** A private ssh-agent in the foreground (-D) on its own socket; stop() ends that process only. */
export async function startAgent(): Promise<Agent> {
  const dir = mkdtempSync(join(tmpdir(), 'awf-agent-'));
  const socket = join(dir, 'agent.sock');
  const child: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
  if (!existsSync(socket)) throw new Error('ssh-agent did not start');
  return {
    socket,
    add: (keyFile) => execFileSync('ssh-add', ['-q', keyFile], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', SSH_AUTH_SOCK: socket }, stdio: 'ignore' }),
    stop: () => {
      if (child.pid !== undefined && child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
