// Process, user and port plumbing for the real test host. Root only: the harness creates a user,
// runs sshd and starts processes as that user.
import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  timeoutMs?: number;
}

// Runs a program to completion and keeps its output; never throws on a non-zero exit.
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    };
    if (options.uid !== undefined) spawnOptions.uid = options.uid;
    if (options.gid !== undefined) spawnOptions.gid = options.gid;
    const child = spawn(cmd, [...args], spawnOptions);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    const timer = options.timeoutMs
      ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
      : undefined;
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${error.message}`, { cause: error }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 + 9 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input);
  });
}

// Like run(), but a non-zero exit is an error that shows the command and its stderr.
export async function mustRun(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<ExecResult> {
  const result = await run(cmd, args, options);
  if (result.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${result.code}: ${result.stderr || result.stdout}`);
  }
  return result;
}

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function passwdEntry(name: string): UserInfo | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] && f[3] && f[5]) {
      return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] };
    }
  }
  return undefined;
}

// The dedicated remote user: created once, with an unlocked (but password-less) account, since sshd
// without PAM refuses a locked one ("!" in shadow); its login shell is set on every start.
export async function ensureUser(name: string, shell = '/bin/bash'): Promise<UserInfo> {
  let user = passwdEntry(name);
  if (!user) {
    for (let attempt = 0; ; attempt++) {
      const r = await run('useradd', ['--create-home', '--home-dir', `/home/${name}`, '--shell', '/bin/bash', '--user-group', name]);
      if (r.code === 0 || r.code === 9) break; // 9: already exists (a concurrent harness won)
      // 10: cannot lock /etc/passwd, another useradd is running
      if (r.code !== 10 || attempt > 20) throw new Error(`useradd ${name} failed (${r.code}): ${r.stderr}`);
      await sleep(200);
    }
    user = passwdEntry(name);
    if (!user) throw new Error(`useradd ${name} succeeded but ${name} is not in /etc/passwd`);
  }
  await mustRun('usermod', ['-p', '*', '-s', shell, name]);
  return user;
}

// The login shell sshd runs the user's commands with (`shell -c command`), from the next connection on.
export async function setLoginShell(name: string, shell: string): Promise<void> {
  await mustRun('usermod', ['-s', shell, name]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A loopback port nobody listens on right now.
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  state: string;
  cmdline: string;
}

// Every process on the machine, read from /proc (zombies included; their state is 'Z').
export function listProcesses(): ProcInfo[] {
  const result: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const field = (name: string) => status.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1] ?? '';
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {}
      result.push({
        pid: Number(entry),
        ppid: Number(field('PPid')),
        uid: Number(field('Uid').split(/\s+/)[0]),
        comm: field('Name'),
        state: field('State').charAt(0),
        cmdline,
      });
    } catch {
      // the process ended while we looked
    }
  }
  return result;
}

export function isAlive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/status`)) return false;
  try {
    const state = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s*(\S)/m)?.[1];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

// Live (non-zombie) processes of a uid.
export function processesOfUid(uid: number): ProcInfo[] {
  return listProcesses().filter((p) => p.uid === uid && p.state !== 'Z' && p.state !== 'X');
}

// All live descendants of pid (children first found by walking the PPid links).
export function descendantsOf(pid: number): ProcInfo[] {
  const all = listProcesses().filter((p) => p.state !== 'Z' && p.state !== 'X');
  const found: ProcInfo[] = [];
  const frontier = [pid];
  while (frontier.length) {
    const parent = frontier.pop();
    for (const p of all) {
      if (p.ppid === parent) {
        found.push(p);
        frontier.push(p.pid);
      }
    }
  }
  return found;
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

// SIGTERM, then SIGKILL whatever still lives after graceMs; resolves when all are gone.
export async function terminate(pids: readonly number[], graceMs = 3000): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(50);
  for (const pid of pids.filter(isAlive)) signal(pid, 'SIGKILL');
  const hardDeadline = Date.now() + 3000;
  while (pids.some(isAlive) && Date.now() < hardDeadline) await sleep(50);
}

// Terminates a set of processes children-first, so each parent still lives to reap its children:
// PID 1 on these machines does not reap orphans, and a top-down kill would leave zombies.
// `select` picks the processes to end from the current process table; roots go last.
export async function terminateLeavesFirst(select: (all: ProcInfo[]) => ProcInfo[], graceMs = 3000): Promise<void> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const live = listProcesses().filter((p) => p.state !== 'Z' && p.state !== 'X');
    const targets = select(live);
    if (!targets.length) return;
    const ids = new Set(targets.map((p) => p.pid));
    const leaves = targets.filter((p) => !live.some((c) => c.ppid === p.pid && ids.has(c.pid)));
    const sig: NodeJS.Signals = Date.now() > deadline ? 'SIGKILL' : 'SIGTERM';
    for (const p of leaves) signal(p.pid, sig);
    const until = Date.now() + 300;
    while (leaves.some((p) => isAlive(p.pid)) && Date.now() < until) await sleep(20);
    if (Date.now() > deadline + 5000) return;
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await sleep(intervalMs);
  }
}
