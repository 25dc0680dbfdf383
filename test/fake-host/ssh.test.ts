import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { soundKeyPair } from '../../src/fake-host/keys.js';
import { connect, type TestSession } from './ssh-client.js';
import { pause } from './helpers.js';

let host: FakeHost;
let session: TestSession;

beforeAll(async () => {
  process.env.FAKE_HOST_PARENT_SECRET = 'must-not-leak';
  host = await startFakeHost();
  session = await connect(host);
});

afterAll(async () => {
  session?.end();
  await host?.close();
  delete process.env.FAKE_HOST_PARENT_SECRET;
});

describe('SSH server: authentication and host identity', () => {
  it('writes a 0600 OpenSSH client key and a known_hosts line for [127.0.0.1]:PORT', () => {
    expect(statSync(host.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(host.privateKeyPath, 'utf8')).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(host.knownHostsLine).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${host.port} ssh-ed25519 AAAA[A-Za-z0-9+/]+=*$`));
    expect(readFileSync(host.knownHostsPath, 'utf8')).toBe(`${host.knownHostsLine}\n`);
    expect(host.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('refuses another key, another user, and a client that pins another host key', async () => {
    const stranger = soundKeyPair().private;
    await expect(connect(host, { privateKey: stranger })).rejects.toThrow(/authentication methods failed/);
    await expect(connect(host, { username: 'root' })).rejects.toThrow(/authentication methods failed/);
    const other = await startFakeHost();
    try {
      // our key, but a host whose key is not the one we pinned
      await expect(connect({ ...other, hostKeyFingerprint: host.hostKeyFingerprint } as FakeHost, {
        privateKey: readFileSync(other.privateKeyPath, 'utf8'),
      })).rejects.toThrow();
    } finally {
      await other.close();
    }
  });

  it('counts accepted connections and records every command', async () => {
    const before = host.stats.connections;
    const extra = await connect(host);
    await extra.exec('true # recorded');
    extra.end();
    expect(host.stats.connections).toBe(before + 1);
    expect(host.stats.commands).toContain('true # recorded');
  });
});

describe('SSH server: exec like sshd', () => {
  it('returns exit codes, stdout and stderr separately', async () => {
    const r = await session.exec('printf out; printf err >&2; exit 7');
    expect(r).toMatchObject({ code: 7, out: 'out', err: 'err' });
    expect((await session.exec('true')).code).toBe(0);
    expect((await session.exec('no-such-command-here')).code).toBe(127);
  });

  it('passes stdin through byte for byte, EOF included, with non-UTF-8 bytes and no final newline', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0x41, 0xc3, 0x28, 0x0d]);
    const r = await session.exec('cat > blob && od -An -tx1 blob | tr -d " \\n" && cat blob >&2', bytes);
    expect(r.code).toBe(0);
    expect(r.out).toBe(bytes.toString('hex'));
    expect(r.stderr.equals(bytes)).toBe(true);
    const read = await session.exec('cat blob');
    expect(read.stdout.equals(bytes)).toBe(true);
    expect(readFileSync(join(host.home, 'blob')).equals(bytes)).toBe(true);
  });

  it('moves megabytes both ways without loss (flow control)', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    const r = await session.exec('cat > big.bin && cat big.bin && sha256sum big.bin >&2', big);
    expect(r.code).toBe(0);
    expect(r.stdout.equals(big)).toBe(true);
    expect(r.err).toContain(createHash('sha256').update(big).digest('hex'));
  });

  it('keeps stderr written while stdout waits for a client that does not read, and exits only after both', async () => {
    const { Client } = await import('ssh2');
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client
        .on('ready', () => resolve())
        .on('error', reject)
        .connect({ host: host.host, port: host.port, username: host.user, privateKey: readFileSync(host.privateKeyPath) });
    });
    try {
      const big = Buffer.alloc(8 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 253;
      await session.exec('cat > stalled.bin; rm -f stalled.mark', big);
      // cat blocks once the channel's window is used up; the stderr line and the mark come while it waits
      const command = 'cat stalled.bin & sleep 0.5; printf "while stalled" >&2; : > stalled.mark; wait; printf " and after" >&2';
      const result = await new Promise<{ code: number | null; stdout: Buffer; stderr: string; order: string[] }>((resolve, reject) => {
        client.exec(command, (error, channel) => {
          if (error) return reject(error);
          const out: Buffer[] = [];
          const err: Buffer[] = [];
          const order: string[] = [];
          let code: number | null = null;
          channel.pause();
          channel.on('data', (d: Buffer) => out.push(d));
          channel.stderr.on('data', (d: Buffer) => err.push(d));
          channel.on('exit', (c: number | null) => {
            code = c;
            order.push(`exit after ${Buffer.concat(out).length} bytes`);
          });
          channel.on('close', () => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString(), order }));
          channel.end();
          void (async () => {
            for (let i = 0; i < 500 && !existsSync(join(host.home, 'stalled.mark')); i++) await pause(10);
            channel.resume();
          })();
        });
      });
      expect(existsSync(join(host.home, 'stalled.mark'))).toBe(true);
      expect(result.stderr).toBe('while stalled and after');
      expect(result.stdout.length).toBe(big.length);
      expect(result.stdout.equals(big)).toBe(true);
      expect(result.code).toBe(0);
      expect(result.order).toEqual([`exit after ${big.length} bytes`]);
    } finally {
      client.end();
    }
  });

  it('reads a file with no trailing newline exactly', async () => {
    const r = await session.exec(`printf 'last line without newline' > f.txt && cat f.txt`);
    expect(r.stdout.toString('latin1')).toBe('last line without newline');
  });

  it('runs in HOME with a clean login environment and bash quoting intact', async () => {
    const r = await session.exec('pwd; echo "$USER $LOGNAME $SHELL $LANG"; echo "$PATH"; echo "[${FAKE_HOST_PARENT_SECRET-unset}]"; ls "$HOME"/\'vaettir\'/proxy-configs');
    const [pwd, ids, path, leak, ...files] = r.out.trim().split('\n');
    expect(pwd).toBe(host.home);
    expect(ids).toBe(`${host.user} ${host.user} /bin/bash C.UTF-8`);
    expect(path).toMatch(/\/bin:\/usr\/local\/bin:\/usr\/bin:\/bin$/);
    expect(leak).toBe('[unset]');
    expect(files).toContain('ocapistaine.conf.template');
    const quoted = await session.exec(`cd "$HOME"/'vaettir' && printf '%s\\n' "it's" 'a "b"' $'tab\\tx'`);
    expect(quoted.out).toBe(`it's\na "b"\ntab\tx\n`);
  });

  it('serves 10 concurrent exec channels on one connection', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => session.exec(`sleep 0.2; echo ${i}`)),
    );
    expect(results.map((r) => r.out.trim())).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
  });

  it('reports a command killed by a signal as OpenSSH does', async () => {
    const r = await session.exec('kill -TERM $$');
    expect(r.code).toBeNull();
    expect(r.signal).toBe('SIGTERM');
  });

  it('kills the process group when the client goes away mid-command', async () => {
    const doomed = await connect(host);
    const pending = doomed.exec('sleep 30 & echo $! > sleeper.pid; wait').catch(() => undefined);
    let pid = 0;
    for (let i = 0; i < 50 && !pid; i++) {
      await pause(20);
      pid = existsSync(join(host.home, 'sleeper.pid')) ? Number(readFileSync(join(host.home, 'sleeper.pid'), 'utf8')) : 0;
    }
    expect(pid).toBeGreaterThan(0);
    doomed.end();
    await pending;
    // gone, or a zombie nobody reaps yet: either way no longer running
    const running = (): boolean => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      await pause(20);
      alive = running();
    }
    expect(alive).toBe(false);
  });

  it('refuses shell, pty and sftp requests politely', async () => {
    const { Client } = await import('ssh2');
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client
        .on('ready', () => resolve())
        .on('error', reject)
        .connect({ host: host.host, port: host.port, username: host.user, privateKey: readFileSync(host.privateKeyPath) });
    });
    const shellError = await new Promise<Error | undefined>((resolve) => client.shell(false, (err) => resolve(err)));
    expect(shellError?.message).toMatch(/Unable to open shell/);
    const ptyError = await new Promise<Error | undefined>((resolve) => client.exec('true', { pty: true }, (err) => resolve(err)));
    expect(ptyError?.message).toMatch(/pseudo-tty|pty|terminal/i);
    const sftpError = await new Promise<Error | undefined>((resolve) => client.sftp((err) => resolve(err)));
    expect(sftpError).toBeInstanceOf(Error);
    client.end();
  });
});
