// Test helper: a real ssh2 client for the fake host, with host-key pinning by fingerprint.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from 'ssh2';
import type { FakeHost } from '../../src/fake-host/host.js';

export interface ExecResult {
  code: number | null;
  signal: string | undefined;
  stdout: Buffer;
  stderr: Buffer;
  out: string;
  err: string;
}

export interface TestSession {
  exec(command: string, stdin?: Buffer | string): Promise<ExecResult>;
  end(): void;
}

// Connects with the host's client key and refuses any host key but the fake host's.
export function connect(host: FakeHost, overrides: { privateKey?: string; username?: string } = {}): Promise<TestSession> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      .on('ready', () => {
        client.setNoDelay(true);
        resolve(session(client));
      })
      .on('error', reject)
      .connect({
        host: host.host,
        port: host.port,
        username: overrides.username ?? host.user,
        privateKey: overrides.privateKey ?? readFileSync(host.privateKeyPath, 'utf8'),
        hostVerifier: (key: Buffer) =>
          `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}` === host.hostKeyFingerprint,
        readyTimeout: 10_000,
      });
  });
}

// Runs commands on the connected client, collecting raw bytes.
function session(client: Client): TestSession {
  return {
    exec: (command, stdin) =>
      new Promise((resolve, reject) => {
        client.exec(command, (error, channel) => {
          if (error) return reject(error);
          const out: Buffer[] = [];
          const err: Buffer[] = [];
          let code: number | null = null;
          let signal: string | undefined;
          channel.on('data', (d: Buffer) => out.push(d));
          channel.stderr.on('data', (d: Buffer) => err.push(d));
          channel.on('exit', (c: number | null, s?: string) => {
            code = c;
            signal = s;
          });
          channel.on('close', () => {
            const stdout = Buffer.concat(out);
            const stderr = Buffer.concat(err);
            resolve({ code, signal, stdout, stderr, out: stdout.toString('utf8'), err: stderr.toString('utf8') });
          });
          if (stdin !== undefined) channel.end(stdin);
          else channel.end();
        });
      }),
    end: () => client.end(),
  };
}
