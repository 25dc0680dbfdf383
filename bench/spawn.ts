// Spawns a program as a user would and times it from spawn to exit, keeping each stderr line with the
// moment it arrived (the bench reads the CLI's --verbose "(exit N, M ms)" lines as they come).
import { spawn } from 'node:child_process';

export interface TimedLine {
  /** ms after spawn */
  t: number;
  text: string;
}

export interface Timed {
  wallMs: number;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  lines: TimedLine[];
}

export function spawnTimed(cmd: string, args: readonly string[], o: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, [...args], { env: o.env ?? process.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const lines: TimedLine[] = [];
    let partial = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      const t = performance.now() - started;
      err.push(d);
      const parts = (partial + d.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) lines.push({ t, text });
    });
    const timer = o.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), o.timeoutMs) : undefined;
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      if (partial !== '') lines.push({ t: wallMs, text: partial });
      resolve({ wallMs, code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), lines });
    });
  });
}

/** The environment without an ssh-agent, so every tool authenticates with the given key only. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env['SSH_AUTH_SOCK'];
  delete env['CI'];
  return env;
}
