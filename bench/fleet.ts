// The fleet measurement: fake hosts served by one child process (bench/fake-hosts.ts), the tool's
// runFleet in another (bench/fleet-child.ts), so the fleet's peak RSS holds the tool only.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FakeHostEntry } from './fake-hosts.js';
import type { FleetResult } from './fleet-child.js';
import { spawnTimed } from './spawn.js';

const FAKE_HOSTS = fileURLToPath(new URL('./fake-hosts.js', import.meta.url));
const FLEET_CHILD = fileURLToPath(new URL('./fleet-child.js', import.meta.url));

export interface FleetRun extends FleetResult {
  /** Per host, from the fake hosts' own counters. */
  connectionsPerHost: number[];
  commandsPerHost: number[];
  /** CPU seconds of the fake hosts' process and of the shells it ran, during the fleet. */
  hostsCpuSeconds: number;
}

export async function runFleetOnce(count: number, concurrency: number, settleMs: number): Promise<FleetRun> {
  const hostsProc = spawn(process.execPath, [FAKE_HOSTS, String(count)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const replies = createInterface({ input: hostsProc.stdout });
  const iterator = replies[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await iterator.next();
    if (line.done) throw new Error('the fake hosts process ended early');
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const dir = mkdtempSync(join(tmpdir(), 'awf-bench-fleet-'));
  try {
    const { hosts } = (await next()) as { hosts: FakeHostEntry[] };
    const input = join(dir, 'fleet.json');
    writeFileSync(input, JSON.stringify({ hosts, concurrency, settleMs }));
    hostsProc.stdin.write('mark\n');
    const timed = await spawnTimed(process.execPath, [FLEET_CHILD, input], { timeoutMs: 600_000 });
    if (timed.code !== 0) throw new Error(`fleet child exited ${timed.code}: ${timed.stderr.slice(-2000)}`);
    const result = JSON.parse(timed.stdout.trim().split('\n').at(-1)!) as FleetResult;
    hostsProc.stdin.write('stats\n');
    const { stats, cpu } = (await next()) as { stats: Array<{ connections: number; commands: number }>; cpu: { self: number; children: number } };
    if ((result.outcomes['applied'] ?? 0) !== count) throw new Error(`fleet of ${count}: outcomes ${JSON.stringify(result.outcomes)}`);
    return {
      ...result,
      connectionsPerHost: stats.map((s) => s.connections),
      commandsPerHost: stats.map((s) => s.commands),
      hostsCpuSeconds: Math.round((cpu.self + cpu.children) * 100) / 100,
    };
  } finally {
    hostsProc.stdin.end();
    await new Promise<void>((resolve) => {
      if (hostsProc.exitCode !== null) return resolve();
      const timer = setTimeout(() => hostsProc.kill('SIGKILL'), 10_000);
      hostsProc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    rmSync(dir, { recursive: true, force: true });
  }
}
