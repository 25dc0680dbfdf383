// A child process of the bench that serves N fake hosts (src/fake-host) and nothing else, so the
// fleet's peak RSS is measured in ANOTHER process (bench/fleet-child.ts) without the hosts in it.
// Prints one JSON line with the hosts; on a stdin line "stats" prints each host's connection and
// command counts; closes every host and exits when stdin ends.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startFakeHost, type FakeHost } from '../src/fake-host/host.js';

export interface FakeHostEntry {
  host: string;
  port: number;
  user: string;
  identity: string;
  knownHosts: string;
  url: string;
}

const count = Number(process.argv[2] ?? '1');
const hosts: FakeHost[] = [];
for (let i = 0; i < count; i++) hosts.push(await startFakeHost());
const entries: FakeHostEntry[] = hosts.map((h) => ({ host: h.host, port: h.port, user: h.user, identity: h.privateKeyPath, knownHosts: h.knownHostsPath, url: h.publicUrl }));
process.stdout.write(`${JSON.stringify({ hosts: entries })}\n`);

const lines = createInterface({ input: process.stdin });
// CPU seconds of this process and of its waited-for children (the shells each exec runs), from /proc.
function cpuSeconds(): { self: number; children: number } {
  const usage = process.cpuUsage();
  const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
  const ticks = 100; // USER_HZ on Linux
  return { self: (usage.user + usage.system) / 1e6, children: (Number(fields[13]) + Number(fields[14])) / ticks };
}

let mark = cpuSeconds();
lines.on('line', (line) => {
  if (line.trim() === 'mark') mark = cpuSeconds();
  if (line.trim() === 'stats') {
    const now = cpuSeconds();
    const cpu = { self: now.self - mark.self, children: now.children - mark.children };
    process.stdout.write(`${JSON.stringify({ stats: hosts.map((h) => ({ connections: h.stats.connections, commands: h.stats.commands.length })), cpu })}\n`);
  }
});
lines.on('close', () => {
  void Promise.all(hosts.map((h) => h.close())).finally(() => process.exit(0));
});
