import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import ssh2, { type Connection, type AuthContext } from 'ssh2';
import { runExec, type ExecEnvironment, type RunningExec } from './exec.js';

// ssh2 is CommonJS: under Node's ESM loader only its default export carries Server and utils.
const { Server, utils } = ssh2;

/** What the fake sshd saw: connections, commands, and each session channel's open, exec and end, in order. */
export interface FakeHostStats {
  connections: number;
  commands: string[];
  peakSessions: number;
  sessionsOpened: number;
  /** `open N`, `exec N`, `end N` for session channel N. */
  channelLog: string[];
}

export interface SshServerOptions extends ExecEnvironment {
  hostPrivateKey: string;
  clientPublicKey: string;
  port: number;
  stats: FakeHostStats;
  /** Session channels open at once on one connection, as sshd_config's MaxSessions (OpenSSH's default: 10). */
  maxSessions: number;
  /** Consulted for every command received (for tests that break a run at a given command). */
  intercept: { current: ExecInterceptor | undefined };
}

/**
 * What to do with one received command: `fail` answers exit 1 without running it; `drop` runs it, then cuts the
 * connection before its exit status goes out (the command ran, the client never hears how); `before` runs first.
 */
export type ExecInterceptor = (command: string) => { before?: () => void; fail?: boolean; drop?: boolean } | undefined;

export interface SshServer {
  readonly port: number;
  close(): Promise<void>;
}

// A real SSH server on loopback, so the product's transport is tested against the real protocol.
export async function startSshServer(options: SshServerOptions): Promise<SshServer> {
  const allowed = parsePublicKey(options.clientPublicKey);
  const allowedBlob = allowed.getPublicSSH();
  const clients = new Set<Connection>();
  const running = new Set<RunningExec>();

  const server = new Server({ hostKeys: [options.hostPrivateKey] }, (client) => {
    clients.add(client);
    // Nagle + delayed ACKs would add ~40 ms to every small exchange; sshd sets TCP_NODELAY too.
    (client as Connection & { setNoDelay(noDelay: boolean): void }).setNoDelay(true);
    const mine = new Set<RunningExec>();
    client.on('error', () => {
      // a client that drops the TCP connection is not our failure
    });
    // sshd hangs up on the commands of a connection that is gone; so do we, harder.
    client.on('close', () => {
      clients.delete(client);
      for (const exec of mine) exec.kill();
    });
    client.on('authentication', (ctx) => authenticate(ctx, options.user, allowed, allowedBlob));
    client.on('ready', () => {
      options.stats.connections += 1;
      // Past MaxSessions, sshd refuses the channel open: reason 2 (connect failed), "open failed"; ssh2's reject()
      // sends the same reason, without the words. A session counts until both sides have closed it.
      let sessions = 0;
      client.on('session', (acceptSession, rejectSession) => {
        if (sessions >= options.maxSessions) {
          rejectSession();
          return;
        }
        const session = acceptSession();
        const id = ++options.stats.sessionsOpened;
        options.stats.channelLog.push(`open ${id}`);
        let exec: RunningExec | undefined;
        sessions += 1;
        options.stats.peakSessions = Math.max(options.stats.peakSessions, sessions);
        session.once('close', () => {
          sessions -= 1;
        });
        session.on('env', (accept) => accept?.());
        session.on('pty', (_accept, reject) => reject?.());
        session.on('shell', (_accept, reject) => reject());
        session.on('sftp', (_accept, reject) => reject());
        session.on('subsystem', (_accept, reject) => reject());
        session.on('signal', (accept, _reject, info) => {
          accept?.();
          exec?.signal(info.name);
        });
        session.once('exec', (accept, _reject, info) => {
          options.stats.commands.push(info.command);
          options.stats.channelLog.push(`exec ${id}`);
          const action = options.intercept.current?.(info.command);
          action?.before?.();
          const channel = accept();
          if (action?.fail) {
            channel.stderr.write('fake host: this command was made to fail\n');
            channel.exit(1);
            channel.end();
            return;
          }
          const started = runExec(channel, info.command, options, action?.drop ? () => (client as Connection & { _sock?: { destroy(): void } })._sock?.destroy() : undefined);
          exec = started;
          running.add(started);
          mine.add(started);
          void started.done.then(() => {
            options.stats.channelLog.push(`end ${id}`);
            running.delete(started);
            mine.delete(started);
          });
        });
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    close: async () => {
      for (const exec of running) exec.kill();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const client of clients) client.end();
      await Promise.race([closed, delay(2000)]);
      for (const exec of running) exec.kill();
    },
  };
}

// Public key only, for one user and one key, with the signature checked as ssh2's server example does.
function authenticate(
  ctx: AuthContext,
  user: string,
  allowed: ParsedKey,
  allowedBlob: Buffer,
): void {
  if (ctx.method !== 'publickey' || !sameBytes(Buffer.from(ctx.username), Buffer.from(user))) {
    ctx.reject(['publickey']);
    return;
  }
  if (ctx.key.algo !== allowed.type || !sameBytes(ctx.key.data, allowedBlob)) {
    ctx.reject(['publickey']);
    return;
  }
  if (ctx.signature && (!ctx.blob || allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true)) {
    ctx.reject(['publickey']);
    return;
  }
  ctx.accept();
}

type ParsedKey = Exclude<ReturnType<typeof utils.parseKey>, Error | unknown[]>;

// The one key allowed in, parsed once.
function parsePublicKey(text: string): ParsedKey {
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) throw new Error('fake host: unparsable client key');
  return key as ParsedKey;
}

// Constant-time comparison that also tolerates different lengths.
function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// A bounded wait, so close() cannot hang on a client that never says goodbye.
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
