// A host that stops answering mid-run (its sshd process SIGSTOPped) is reported as a timeout, with exit 2 and the
// commands to recover, within seconds of the connect timeout; the other host of the fleet finishes and is reported.
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../src/core/report.js';
import { packageRoot } from '../../src/paths.js';

const CLI = join(packageRoot(), 'dist', 'src', 'cli.js');

interface HostInfo { host: string; port: number; user: string; identity: string; knownHostsLine: string; url: string }

describe.skipIf(!existsSync(CLI))('a hung host in a fleet', () => {
  const servers: ResultPromise[] = [];
  const infos: HostInfo[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const server = execa('node', [CLI, 'fake-host', '--json'], { reject: false });
      servers.push(server);
      const lines = createInterface({ input: server.stdout! });
      infos.push(await new Promise((resolve) => lines.once('line', (line) => resolve(JSON.parse(line) as HostInfo))));
    }
  });
  afterAll(async () => {
    for (const server of servers) {
      server.kill('SIGCONT');
      server.kill('SIGTERM');
    }
    await Promise.all(servers);
  });

  it('is reported as a timeout (not internal), not restored, with every host in the array', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awf-hung-'));
    await writeFile(join(dir, 'ssh_config'), infos.map((h, i) => `Host proxy-${i}\n  HostName 127.0.0.1\n  Port ${h.port}\n  User ${h.user}\n  IdentityFile ${h.identity}\n`).join('\n'));
    await writeFile(join(dir, 'known_hosts'), infos.map((h) => h.knownHostsLine).join('\n') + '\n');
    await writeFile(join(dir, 'hosts'), infos.map((h, i) => `proxy-${i} ${h.url}`).join('\n') + '\n');
    const child = execa('node', [CLI, '--hosts-file', join(dir, 'hosts'), '--ssh-config', join(dir, 'ssh_config'), '--known-hosts', join(dir, 'known_hosts'), '--yes', '--json', '--settle', '4', '--connect-timeout', '2', '--concurrency', '2'], {
      reject: false,
      env: { NO_COLOR: '1' },
      timeout: 120_000,
    });
    let stderr = '';
    const hung = `jnxmas@127.0.0.1:${infos[1]!.port}`;
    const stopped = new Promise<void>((resolve) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        // The second host's sshd stops dead once its deploy has started (its checks then wait on it).
        if (stderr.includes(`${hung}: Restart the service with the new image`) && !servers[1]!.killed) {
          servers[1]!.kill('SIGSTOP');
          resolve();
        }
      });
    });
    const { exitCode, stdout } = await child;
    await stopped;
    const reports = JSON.parse(stdout) as RunReport[];
    expect(reports).toHaveLength(2);
    expect(reports[0]).toMatchObject({ port: infos[0]!.port, outcome: 'applied', exitCode: 0 });
    expect(reports[1], stderr).toMatchObject({ port: infos[1]!.port, outcome: 'failed-not-restored', exitCode: 2, error: { code: 'timeout' } });
    expect(reports[1]!.error!.message).toMatch(/stopped answering|timed out/);
    expect(reports[1]!.recovery?.length).toBeGreaterThan(0);
    // Found by the keepalives within a few connect timeouts, and the rollback does not retry a dead host per action.
    expect(reports[1]!.durationMs).toBeLessThan(30_000);
    expect(exitCode).toBe(2);
    expect(stderr).not.toMatch(/This is a bug/);
  });
});
