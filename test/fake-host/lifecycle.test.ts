import { existsSync, readFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFakeHost, startFakeHost } from '../../src/fake-host/host.js';
import { connect } from './ssh-client.js';

// A free loopback port, to test the fixed-port option.
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('fake host lifecycle', () => {
  it('copies the project into HOME, then close() stops everything and removes the temp dir', async () => {
    const host = await startFakeHost();
    expect(host.projectDir).toBe(join(host.home, 'vaettir'));
    expect(readFileSync(host.templatePath)).toEqual(readFileSync('fixtures/fake-host/vaettir/proxy-configs/ocapistaine.conf.template'));
    expect(readFileSync(join(host.projectDir, '.env'), 'utf8')).toContain('OCAPISTAINE_API_TOKEN=');
    const session = await connect(host);
    await session.exec('true');
    const root = dirname(dirname(host.home));
    expect(existsSync(host.privateKeyPath)).toBe(true);
    await host.close();
    await host.close();
    expect(existsSync(root)).toBe(false);
    expect(existsSync(host.home)).toBe(false);
    await expect(connect(host)).rejects.toThrow();
    await expect(fetch(host.publicUrl)).rejects.toThrow();
    session.end();
  });

  it('listens on a given port with a given user, and describes how to reach it', async () => {
    const port = await freePort();
    const host = await startFakeHost({ port, user: 'deploy', faults: ['forbidden'] });
    try {
      expect(host.port).toBe(port);
      expect(host.user).toBe('deploy');
      expect(host.home.endsWith('/deploy')).toBe(true);
      const session = await connect(host);
      expect((await session.exec('echo $USER')).out).toBe('deploy\n');
      session.end();
      const text = describeFakeHost(host);
      for (const part of [host.knownHostsLine, host.privateKeyPath, host.knownHostsPath, host.publicUrl, host.hostKeyFingerprint, 'forbidden']) {
        expect(text).toContain(part);
      }
      expect(text).toContain(
        `apply-ws-fix --host 127.0.0.1 --port ${port} --user deploy --identity ${host.privateKeyPath} --known-hosts ${host.knownHostsPath} --url ${host.publicUrl} --dry-run`,
      );
      expect(text).not.toContain('fake-secret-token');
    } finally {
      await host.close();
    }
  });

  it('the docker bridge refuses a caller without the token', async () => {
    const host = await startFakeHost();
    try {
      const script = readFileSync(join(dirname(dirname(host.home)), 'bin', 'docker'), 'utf8');
      const port = Number(/dev\/tcp\/127\.0\.0\.1\/(\d+)/.exec(script)?.[1]);
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = tcpConnect(port, '127.0.0.1', () => socket.write('wrong-token\0/\x000\0'));
        const chunks: Buffer[] = [];
        socket.on('data', (d) => chunks.push(d));
        socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        socket.on('error', reject);
      });
      expect(reply).toMatch(/permission denied/);
      expect(reply.endsWith('x1\0')).toBe(true);
    } finally {
      await host.close();
    }
  });
});
