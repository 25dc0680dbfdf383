// The fleet measurement: fake hosts, each behind its own delay proxy, served by child processes
// (bench/fake-hosts.ts, HOSTS_PER_PROCESS each) pinned to one core; the tool's runFleet in another (bench/fleet-child.ts) pinned to the other,
// so the hosts' CPU does not slow the tool down, and the tool's CPU and peak RSS are its own.
// Knobs (environment): BENCH_FLEET_SIZES=1,10,50,500 (the rows to run), BENCH_FLEET_PIN=0|tool (not pinned; only the
// tool), BENCH_FLEET_PROF=<dir> (V8 CPU profiles of both sides), BENCH_CRASH_WINDOW=<ms> (the fake hosts' crash window),
// BENCH_FLEET_HOSTS_PER_PROCESS (default 25; 5 measured no better at 50 hosts, and cost ~25% more hosts CPU).
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FakeHostEntry, FakeHostsConfig, FakeHostsStats } from './fake-hosts.js';
import type { FleetResult } from './fleet-child.js';
import { spawnTimed } from './spawn.js';

const FAKE_HOSTS = fileURLToPath(new URL('./fake-hosts.js', import.meta.url));
const FLEET_CHILD = fileURLToPath(new URL('./fleet-child.js', import.meta.url));

export interface FleetRun extends FleetResult {
  /** Per host, from the fake hosts' own counters. */
  connectionsPerHost: number[];
  commandsPerHost: number[];
  /** CPU seconds of the fake hosts' process (hosts and their proxies) and of the shells it ran, during the fleet. */
  hostsCpuSeconds: number;
  hostsSelfCpuSeconds: number;
  hostsShellsCpuSeconds: number;
  /** The fake hosts' processes: how many, and the sum of their getrusage high-water marks. */
  hostsProcesses: number;
  hostsPeakRssMiB: number;
  /** Seconds the hosts processes' main threads waited on a run queue for a CPU, summed. */
  hostsWaitedForCpuSeconds: number;
  /** The hosts processes' event-loop delay: the worst p99 and max among them (ms). */
  hostsLoopDelayMs: { p99: number; max: number };
  /** The machine's 1-minute load average when the run started. */
  loadAverage: number;
}

export interface FleetPinning {
  /** The cores (taskset -c lists) of the tool's process and of the fake hosts' process, or null: not pinned. */
  tool: string | null;
  hosts: string | null;
  /** Why not pinned, when not. */
  why: string | null;
}

/**
 * The tool on core 0, the fake hosts on core 1: with two cores, each side gets one and neither's CPU is billed to the
 * other's wall time. Not pinned when taskset is missing or the machine has a single core.
 */
export function fleetPinning(): FleetPinning {
  // BENCH_FLEET_PIN=0: nothing pinned; =tool: the tool on core 0, the hosts on any core (to compare).
  if (process.env['BENCH_FLEET_PIN'] === '0') return { tool: null, hosts: null, why: 'BENCH_FLEET_PIN=0' };
  if (process.env['BENCH_FLEET_PIN'] === 'tool') return { tool: '0', hosts: null, why: null };
  if (availableParallelism() < 2) return { tool: null, hosts: null, why: `only ${availableParallelism()} core available` };
  const probe = spawnSync('taskset', ['-c', '0', 'true']);
  if (probe.error !== undefined || probe.status !== 0) return { tool: null, hosts: null, why: `taskset not usable (${probe.error?.message ?? `exit ${probe.status}`})` };
  return { tool: '0', hosts: '1', why: null };
}

// BENCH_FLEET_PROF=<dir>: both children write a V8 CPU profile there (node --cpu-prof), to see where the time goes.
const PROF = process.env['BENCH_FLEET_PROF'];
const nodeArgs = (name: string): string[] => (PROF ? ['--cpu-prof', '--cpu-prof-dir', PROF, '--cpu-prof-name', `${name}-${Date.now()}.cpuprofile`] : []);

const pinned = (cores: string | null, args: string[]): [string, string[]] => (cores === null ? [args[0]!, args.slice(1)] : ['taskset', ['-c', cores, ...args]]);

export interface FleetOptions {
  count: number;
  concurrency: number;
  settleMs: number;
  delayMs: number;
  crashWindowMs?: number;
  pinning: FleetPinning;
}

/**
 * Fake hosts per hosts process. Every command a fake host runs is a child process, and Node's spawn() forks the whole
 * process on its main thread: measured here at ~1.8 ms from a 54 MiB process, ~3.6 ms at 170 MiB, ~7.3 ms at 411 MiB
 * (each host adds ~1 MiB). One process for 50 hosts spent 1.3 s of its 3.3 s of CPU in spawn(), blocking every
 * other host's SSH server and proxy meanwhile; so the hosts are spread over processes of at most this many, all on the
 * hosts' core.
 */
const HOSTS_PER_PROCESS = Number(process.env['BENCH_FLEET_HOSTS_PER_PROCESS'] ?? 25);

// One fake hosts process: its hosts, then "mark" and "stats" over its stdin/stdout.
class HostsProcess {
  private readonly next: () => Promise<Record<string, unknown>>;
  private constructor(private readonly proc: ChildProcessByStdio<Writable, Readable, null>) {
    const iterator = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    this.next = async () => {
      const line = await iterator.next();
      if (line.done) throw new Error('a fake hosts process ended early');
      return JSON.parse(line.value) as Record<string, unknown>;
    };
  }

  static start(config: FakeHostsConfig, pinning: FleetPinning): HostsProcess {
    const [cmd, args] = pinned(pinning.hosts, [process.execPath, ...nodeArgs('hosts'), FAKE_HOSTS, JSON.stringify(config)]);
    return new HostsProcess(spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] }) as ChildProcessByStdio<Writable, Readable, null>);
  }

  async hosts(): Promise<FakeHostEntry[]> {
    return ((await this.next()) as { hosts: FakeHostEntry[] }).hosts;
  }

  mark(): void {
    this.proc.stdin.write('mark\n');
  }

  async stats(): Promise<FakeHostsStats> {
    this.proc.stdin.write('stats\n');
    return (await this.next()) as unknown as FakeHostsStats;
  }

  async close(): Promise<void> {
    this.proc.stdin.end();
    await new Promise<void>((resolve) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) return resolve();
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 30_000);
      this.proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export async function runFleetOnce(o: FleetOptions): Promise<FleetRun> {
  const loadAverage = Math.round(loadavg()[0]! * 10) / 10;
  const shards: HostsProcess[] = [];
  for (let start = 0; start < o.count; start += HOSTS_PER_PROCESS) {
    const count = Math.min(HOSTS_PER_PROCESS, o.count - start);
    shards.push(HostsProcess.start({ count, delayMs: o.delayMs, ...(o.crashWindowMs === undefined ? {} : { crashWindowMs: o.crashWindowMs }) }, o.pinning));
  }
  const dir = mkdtempSync(join(tmpdir(), 'awf-bench-fleet-'));
  try {
    const hosts = (await Promise.all(shards.map((s) => s.hosts()))).flat();
    const input = join(dir, 'fleet.json');
    writeFileSync(input, JSON.stringify({ hosts, concurrency: o.concurrency, settleMs: o.settleMs }));
    for (const s of shards) s.mark();
    const [cmd, args] = pinned(o.pinning.tool, [process.execPath, ...nodeArgs('tool'), FLEET_CHILD, input]);
    const timed = await spawnTimed(cmd, args, { timeoutMs: 600_000 });
    if (timed.code !== 0) throw new Error(`fleet child exited ${timed.code}: ${timed.stderr.slice(-2000)}`);
    if (timed.stderr.trim() !== '') process.stderr.write(timed.stderr.replace(/^/gm, '  fleet child: '));
    const result = JSON.parse(timed.stdout.trim().split('\n').at(-1)!) as FleetResult;
    const replies = await Promise.all(shards.map((s) => s.stats()));
    if ((result.outcomes['applied'] ?? 0) !== o.count) throw new Error(`fleet of ${o.count}: outcomes ${JSON.stringify(result.outcomes)}`);
    const round = (v: number): number => Math.round(v * 100) / 100;
    const sum = (f: (r: FakeHostsStats) => number): number => replies.reduce((total, r) => total + f(r), 0);
    return {
      ...result,
      loadAverage,
      connectionsPerHost: replies.flatMap((r) => r.stats.map((s) => s.connections)),
      commandsPerHost: replies.flatMap((r) => r.stats.map((s) => s.commands)),
      hostsProcesses: shards.length,
      hostsCpuSeconds: round(sum((r) => r.cpu.self + r.cpu.children)),
      hostsSelfCpuSeconds: round(sum((r) => r.cpu.self)),
      hostsShellsCpuSeconds: round(sum((r) => r.cpu.children)),
      hostsPeakRssMiB: Math.round(sum((r) => r.peakRssMiB)),
      hostsWaitedForCpuSeconds: round(sum((r) => r.waitedForCpuSeconds)),
      hostsLoopDelayMs: { p99: Math.max(...replies.map((r) => r.loopDelayMs.p99)), max: Math.max(...replies.map((r) => r.loopDelayMs.max)) },
    };
  } finally {
    await Promise.all(shards.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}
