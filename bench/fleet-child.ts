// A child process of the bench that runs the tool's fleet runner (runFleet, in-process) against fake
// hosts served by ANOTHER process, and reports its own wall time and peak RSS. Input: a JSON file
// { hosts, concurrency, settleMs }; output: one JSON line on stdout.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import { ocapistaineWsFix } from '../runbooks/ocapistaine-ws-fix/runbook.js';
import { runFleet } from '../src/core/fleet.js';
import { defaultRunOptions, type RunOptions } from '../src/core/options.js';
import { resolveParams } from '../src/core/params.js';
import { connectSsh } from '../src/transport/ssh.js';
import type { FakeHostEntry } from './fake-hosts.js';
import { loopDelayMs, runQueueSeconds, type LoopDelay } from './own-process.js';

export interface FleetResult {
  hosts: number;
  concurrency: number;
  wallMs: number;
  /** The kernel's high-water mark of this process (getrusage ru_maxrss), whole life included. */
  peakRssMiB: number;
  /** RSS just before the fleet started (modules loaded), and the highest 10 ms sample during it. */
  baselineRssMiB: number;
  sampledPeakRssMiB: number;
  /** CPU seconds this process used during the fleet (user + system). */
  cpuSeconds: number;
  outcomes: Record<string, number>;
  /** Seconds the main thread waited on a run queue for a CPU during the fleet (/proc/self/schedstat): the machine's doing. */
  waitedForCpuSeconds: number;
  /** This process's event-loop delay during the fleet (ms): high when the tool itself is the bottleneck. */
  loopDelayMs: LoopDelay;
  hostSeconds: { median: number; max: number };
  /** Each step's median duration over the hosts (ms), in the run's order: where a host's time went. */
  stepMedians: Record<string, number>;
}

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { hosts: FakeHostEntry[]; concurrency: number; settleMs: number };
const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
const byPort = new Map(input.hosts.map((h) => [h.port, h]));

const params = resolveParams(ocapistaineWsFix, {});
const base: RunOptions = defaultRunOptions(ocapistaineWsFix.connection, params, { settleMs: input.settleMs });

const baseline = process.memoryUsage.rss();
let sampled = baseline;
// memoryUsage.rss() alone: memoryUsage() also walks the V8 heap, and every 10 ms that was CPU billed to the tool.
const sampler = setInterval(() => {
  sampled = Math.max(sampled, process.memoryUsage.rss());
}, 10);
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
const waitedBefore = runQueueSeconds();
const cpuBefore = process.cpuUsage();
const started = performance.now();
const reports = await runFleet(
  base,
  input.hosts.map((h) => ({ host: h.host, port: h.port, user: h.user, params: { ...params, url: h.url } })),
  ocapistaineWsFix,
  {
    renderer: 'silent',
    output: new PassThrough() as unknown as NodeJS.WriteStream,
    interrupt: { signal: null },
    connect: (o: RunOptions) => {
      const h = byPort.get(o.port)!;
      return connectSsh({ ...o, identity: h.identity, knownHosts: h.knownHosts, env: {} });
    },
  },
  input.concurrency,
);
const wallMs = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
loop.disable();
const waitedForCpuSeconds = runQueueSeconds() - waitedBefore;
clearInterval(sampler);
sampled = Math.max(sampled, process.memoryUsage.rss());


const outcomes: Record<string, number> = {};
for (const r of reports) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
const durations = reports.map((r) => r.durationMs).sort((a, b) => a - b);
function stepMedians(): Record<string, number> {
  const byStep = new Map<string, number[]>();
  for (const r of reports) {
    // Before and between the steps: connect, the facts and the plan, the lock and the journal.
    byStep.set('(outside the steps)', [...(byStep.get('(outside the steps)') ?? []), r.durationMs - r.steps.reduce((sum, st) => sum + st.durationMs, 0)]);
    for (const st of r.steps) byStep.set(st.id, [...(byStep.get(st.id) ?? []), st.durationMs]);
  }
  const medians: Record<string, number> = {};
  for (const [id, values] of byStep) medians[id] = [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return medians;
}
const result: FleetResult = {
  hosts: input.hosts.length,
  concurrency: input.concurrency,
  wallMs: Math.round(wallMs),
  peakRssMiB: mib(process.resourceUsage().maxRSS * 1024),
  baselineRssMiB: mib(baseline),
  sampledPeakRssMiB: mib(sampled),
  cpuSeconds: Math.round(((cpu.user + cpu.system) / 1e6) * 100) / 100,
  outcomes,
  waitedForCpuSeconds: Math.round(waitedForCpuSeconds * 100) / 100,
  loopDelayMs: loopDelayMs(loop),
  stepMedians: stepMedians(),
  hostSeconds: { median: (durations[Math.floor(durations.length / 2)] ?? 0) / 1000, max: (durations.at(-1) ?? 0) / 1000 },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
