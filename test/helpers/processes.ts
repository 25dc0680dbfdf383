// Run a process tree under a time limit and find every process of it that outlived it, reparented or not.
// Each tree carries a unique marker in its environment; children inherit it, so /proc/*/environ finds them all,
// even one that left the process group or was reparented to PID 1.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

export interface TreeResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
  /** The marker every process of the tree carries (MARK=value in its environment). */
  marker: string;
  pid: number;
}

export const MARK = 'AWF_TEST_PROCESS_TREE';

/** Live processes (other than zombies) whose environment carries marker, with their command lines. */
export function processesWithMarker(marker: string): { pid: number; cmdline: string }[] {
  const needle = `${MARK}=${marker}`;
  const found: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`, 'latin1').split('\0');
      if (!environ.includes(needle)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      if (/\) Z /.test(stat)) continue;
      found.push({ pid: Number(name), cmdline: readFileSync(`/proc/${name}/cmdline`, 'latin1').replaceAll('\0', ' ').trim() });
    } catch {
      // Gone while we looked, or not ours to read.
    }
  }
  return found;
}

/** Spawns file args in a process group of its own; after limitMs the whole group is SIGKILLed and timedOut is set. */
export function runTree(
  file: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; limitMs: number; onSpawn?: (pid: number) => void },
): Promise<TreeResult> {
  const marker = randomBytes(8).toString('hex');
  const started = Date.now();
  const child = spawn(file, args, { cwd: options.cwd, env: { ...(options.env ?? process.env), [MARK]: marker }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, options.limitMs);
  if (child.pid !== undefined) options.onSpawn?.(child.pid);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    let ms = 0;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout, stderr, ms: ms || Date.now() - started, timedOut, marker, pid: child.pid! });
    };
    // 'close' comes once both pipes are drained too; a survivor that holds them open must not hold the test, so the
    // exit is enough after 2 s (the survivor is then found by its marker).
    child.once('exit', (exitCode, signal) => {
      ms = Date.now() - started;
      setTimeout(() => finish(exitCode, signal), 2_000).unref();
    });
    child.once('close', finish);
  });
}

/** Waits up to ms for the marker's processes to go (a SIGKILLed process takes a moment to be reaped). */
export async function survivorsAfter(marker: string, ms = 1_000): Promise<{ pid: number; cmdline: string }[]> {
  const deadline = Date.now() + ms;
  let left = processesWithMarker(marker);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = processesWithMarker(marker);
  }
  return left;
}

/** Kills what survived, so one failing test does not leave load behind for the next. */
export function killAll(processes: readonly { pid: number }[]): void {
  for (const { pid } of processes) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
}
