// A child process of the bench that serves N fake hosts (src/fake-host), each behind its own delay proxy
// (bench/delay-proxy.ts, the same one-way delay both ways), and nothing else: the fleet's tool runs in ANOTHER
// process (bench/fleet-child.ts), so its CPU and peak RSS hold the tool only, and this process can be pinned to a
// core of its own. The host entries it prints point at the proxies (port, and a known_hosts naming the proxy's port).
// Argument: a JSON { count, delayMs, crashWindowMs }. Prints one JSON line with the hosts; on a stdin line "mark"
// restarts its CPU count; on "stats" prints each host's connection and command counts and its CPU since the mark;
// closes every host and exits when stdin ends.
import { readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { startFakeHost, type FakeHost } from '../src/fake-host/host.js';
import { startDelayProxy, type DelayProxy } from './delay-proxy.js';
import { loopDelayMs, runQueueSeconds, type LoopDelay } from './own-process.js';

export interface FakeHostEntry {
  host: string;
  /** The delay proxy's port (the fake host's own port when the delay is 0 and no proxy is wanted). */
  port: number;
  user: string;
  identity: string;
  knownHosts: string;
  url: string;
}

export interface FakeHostsConfig {
  count: number;
  /** One-way delay of each host's proxy; 0 = no proxy, the tool talks to the fake host directly. */
  delayMs: number;
  crashWindowMs?: number;
}

export interface FakeHostsStats {
  stats: Array<{ connections: number; commands: number }>;
  /** CPU seconds since the mark: this process (hosts and proxies) and the shells it ran and waited for. */
  cpu: { self: number; children: number };
  /** Seconds since the mark this process's main thread waited on a run queue for a CPU (/proc/self/schedstat). */
  waitedForCpuSeconds: number;
  /** This process's getrusage high-water mark, whole life. */
  peakRssMiB: number;
  /** This process's event-loop delay since the mark (ms): high when the hosts are the bottleneck. */
  loopDelayMs: LoopDelay;
}

const config = JSON.parse(process.argv[2] ?? '{"count":1,"delayMs":0}') as FakeHostsConfig;

// Each host: its temp HOME, keys, SSH server, docker bridge, endpoint, and the proxy in front. Started a few at a
// time: one by one, 500 hosts take a minute before anything is measured.
const hosts: FakeHost[] = new Array<FakeHost>(config.count);
const proxies: DelayProxy[] = [];
const entries: FakeHostEntry[] = new Array<FakeHostEntry>(config.count);
const startOne = async (i: number): Promise<void> => {
  const h = await startFakeHost(config.crashWindowMs === undefined ? {} : { crashWindowMs: config.crashWindowMs });
  hosts[i] = h;
  let port = h.port;
  let knownHosts = h.knownHostsPath;
  if (config.delayMs > 0) {
    const proxy = await startDelayProxy({ host: h.host, port: h.port }, config.delayMs);
    proxies.push(proxy);
    port = proxy.port;
    // The host key is the fake host's, known under the proxy's port.
    knownHosts = `${h.knownHostsPath}.proxy`;
    writeFileSync(knownHosts, `${h.knownHostsLine.replace(/^\[127\.0\.0\.1\]:\d+/, `[127.0.0.1]:${port}`)}\n`);
  }
  entries[i] = { host: h.host, port, user: h.user, identity: h.privateKeyPath, knownHosts, url: h.publicUrl };
};
const PARALLEL = 8;
let nextIndex = 0;
await Promise.all(
  Array.from({ length: Math.min(PARALLEL, config.count) }, async () => {
    while (nextIndex < config.count) await startOne(nextIndex++);
  }),
);
process.stdout.write(`${JSON.stringify({ hosts: entries })}\n`);

// CPU seconds of this process and of its waited-for children (the shells each exec runs), from /proc.
function cpuSeconds(): { self: number; children: number } {
  const usage = process.cpuUsage();
  const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
  const ticks = 100; // USER_HZ on Linux
  return { self: (usage.user + usage.system) / 1e6, children: (Number(fields[13]) + Number(fields[14])) / ticks };
}

const lines = createInterface({ input: process.stdin });

let mark = cpuSeconds();
let waitedMark = runQueueSeconds();
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
lines.on('line', (line) => {
  if (line.trim() === 'mark') {
    mark = cpuSeconds();
    waitedMark = runQueueSeconds();
    loop.reset();
  }
  if (line.trim() === 'stats') {
    const now = cpuSeconds();
    const reply: FakeHostsStats = {
      stats: hosts.map((h) => ({ connections: h.stats.connections, commands: h.stats.commands.length })),
      cpu: { self: now.self - mark.self, children: now.children - mark.children },
      waitedForCpuSeconds: runQueueSeconds() - waitedMark,
      peakRssMiB: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
      loopDelayMs: loopDelayMs(loop),
    };
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
});
lines.on('close', () => {
  void Promise.all([...proxies.map((p) => p.close()), ...hosts.map((h) => h.close())]).finally(() => process.exit(0));
});
