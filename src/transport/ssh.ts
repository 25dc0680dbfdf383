// The real transport: one SSH connection (node-ssh on ssh2) per run, every command a channel on it. Through bastions
// (ProxyJump) the connection is carried, OpenSSH-style, by a direct-tcpip channel of the previous hop.
import { Readable, type Duplex } from 'node:stream';
import { NodeSSH, type Config } from 'node-ssh';
import ssh2, { type AnyAuthMethod, type Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { AppError, CommandTimeoutError, ConnectionLostError, HostTimeoutError, StartError, messageOf } from '../errors.js';
import { underPosixShell } from '../shell/quote.js';
import { KeyRing, type CredentialSpec, type Credentials } from './credentials.js';
import { hostKeyAlgorithms } from './host-key-algorithms.js';
import { hostKeyError, hostKeyVerifier, lookupNameOf, type Endpoint, type HostKeyOutcome, type KnownHostsPolicy } from './host-key-check.js';
import { knownKeyTypesAs, readKnownHostsFiles } from './known-hosts.js';
import { proxyCommandLabel, spawnProxyCommand, type ProxyProcess } from './proxy-command.js';
import { assembleAlgorithms, forSsh2, type AlgorithmKind } from './ssh-config-algorithms.js';
import type { JumpHost, SshSettings } from './target.js';
import { ChannelSlots, DEFAULT_MAX_CHANNELS, channelRefused } from './channel-slots.js';
import { execOnSession, openSession, stillOpen, warmable } from './session-channel.js';
import { lostConnection } from './transport.js';

import type { ExecOptions, ExecResult, Transport } from './transport.js';

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** A private key file; else the agent (SSH_AUTH_SOCK) and the config's or the default key files. */
  identity?: string | undefined;
  /** The first known_hosts file: checked first, and where --accept-new-host-key records. */
  knownHosts: string;
  connectTimeoutMs: number;
  env: NodeJS.ProcessEnv;
  /** From ~/.ssh/config and the SSH flags (src/transport/target.ts); absent: no config, no jumps. */
  ssh?: SshSettings | undefined;
  /** Keys loaded (and passphrases asked for) once per run; default: the environment's, with no prompt. */
  keyring?: KeyRing | undefined;
  /** Where to say what the operator must know (a recorded host key, config lines not applied). */
  notify?: ((line: string) => void) | undefined;
}

const NO_SETTINGS: SshSettings = { identityFiles: [], certificateFiles: [], identitiesOnly: false, extraKnownHosts: [], acceptNewHostKey: false, hashKnownHosts: false, jumps: [], refusals: [], notes: [] };

interface Hop extends Endpoint {
  credentials: CredentialSpec;
  /** ssh's algorithm lists for this hop, less what ssh2 lacks. */
  algorithms: Record<AlgorithmKind, string[]>;
  /** This hop's own known_hosts files: the first is where an accepted key goes. */
  knownHosts: string;
  extraKnownHosts: readonly string[];
  acceptNew: boolean;
  acceptNewSource: string | undefined;
  hash: boolean;
}

// Each hop as OpenSSH's own `ssh -W` for it would connect: its own keys (IdentityFile, CertificateFile,
// IdentitiesOnly, IdentityAgent) and its own host-key files. --identity is the host's key alone and, for a bastion
// without IdentityFile, its key too (a flag of ours, documented); a bastion otherwise gets ssh's default key files.
function hopsOf(target: SshTarget, settings: SshSettings): Hop[] {
  const hostKeys: CredentialSpec = {
    identity: target.identity,
    identityFiles: settings.identityFiles,
    certificateFiles: settings.certificateFiles,
    identitiesOnly: settings.identitiesOnly,
    identityAgent: settings.identityAgent,
    pubkeyAlgorithms: settings.pubkeyAlgorithms,
  };
  const jumpKeys = (jump: JumpHost): CredentialSpec => ({
    identityFiles: jump.identityFiles.length > 0 || target.identity === undefined ? jump.identityFiles : [target.identity],
    certificateFiles: jump.certificateFiles,
    identitiesOnly: jump.identitiesOnly || (jump.identityFiles.length === 0 && target.identity !== undefined),
    identityAgent: jump.identityAgent,
    pubkeyAlgorithms: jump.pubkeyAlgorithms,
  });
  return [
    ...settings.jumps.map((jump): Hop => ({
      host: jump.host,
      port: jump.port,
      user: jump.user,
      role: 'the jump host',
      hostKeyAlias: jump.hostKeyAlias,
      credentials: jumpKeys(jump),
      knownHosts: jump.knownHosts,
      extraKnownHosts: jump.extraKnownHosts,
      acceptNew: jump.acceptNewHostKey,
      acceptNewSource: jump.acceptNewSource,
      hash: jump.hashKnownHosts,
      algorithms: jump.algorithms ?? DEFAULT_ALGORITHMS,
    })),
    {
      host: target.host,
      port: target.port,
      user: target.user,
      role: 'the host',
      hostKeyAlias: settings.hostKeyAlias,
      credentials: hostKeys,
      knownHosts: target.knownHosts,
      extraKnownHosts: settings.extraKnownHosts,
      acceptNew: settings.acceptNewHostKey,
      acceptNewSource: settings.acceptNewSource,
      hash: settings.hashKnownHosts,
      algorithms: settings.algorithms ?? DEFAULT_ALGORITHMS,
    },
  ];
}

/** Every key spec a connection to this target will ask the key ring for, so all prompts can come first. */
export function credentialSpecsOf(target: Pick<SshTarget, 'host' | 'port' | 'user' | 'identity' | 'knownHosts' | 'ssh'>): CredentialSpec[] {
  return hopsOf(target as SshTarget, { ...NO_SETTINGS, ...target.ssh }).map((hop) => hop.credentials);
}

function address(hop: Pick<Endpoint, 'user' | 'host' | 'port'>): string {
  return `${hop.user}@${hop.host}:${hop.port}`;
}

// ssh2's auth list: the agent first, then each key file, as OpenSSH orders them.
function authMethods(user: string, credentials: Credentials): AnyAuthMethod[] {
  const methods: AnyAuthMethod[] = [];
  if (credentials.agent !== undefined) methods.push({ type: 'agent', username: user, agent: credentials.agent });
  for (const { key } of credentials.keys) methods.push({ type: 'publickey', username: user, key });
  return methods;
}

const KEEPALIVE_COUNT_MAX = 3;
const keepaliveIntervalMs = (connectTimeoutMs: number): number => Math.max(1_000, Math.round(connectTimeoutMs / 3));

// OpenSSH 9.2's default lists, less what ssh2 lacks: with no config, ssh2 offers nothing ssh would not.
const DEFAULT_ALGORITHMS: Record<AlgorithmKind, string[]> = Object.fromEntries(
  (['cipher', 'hmac', 'kex', 'serverHostKey'] as const).map((kind) => [kind, forSsh2(kind, assembleAlgorithms(kind, undefined))]),
) as Record<AlgorithmKind, string[]>;

// The ssh2 settings of one hop; the host key check is ours, with the already-known key types asked for first, among
// the host key algorithms ssh would accept.
function connectConfig(hop: Hop, credentials: Credentials, policy: KnownHostsPolicy, outcome: HostKeyOutcome, timeoutMs: number, sock: Duplex | undefined): ConnectConfig {
  return {
    host: hop.host,
    port: hop.port,
    username: hop.user,
    ...(sock !== undefined ? { sock } : {}),
    authHandler: authMethods(hop.user, credentials),
    readyTimeout: timeoutMs,
    // A host that stops answering (hung, SIGSTOPped, a dead link) is found within about the connect timeout, not
    // only when a command's own timeout ends: four keepalives a third of it apart, none answered.
    keepaliveInterval: keepaliveIntervalMs(timeoutMs),
    keepaliveCountMax: KEEPALIVE_COUNT_MAX,
    algorithms: {
      cipher: hop.algorithms.cipher,
      hmac: hop.algorithms.hmac,
      kex: hop.algorithms.kex,
      serverHostKey: hostKeyAlgorithms(knownKeyTypesAs(policy.files, lookupNameOf(hop))).filter((name) => hop.algorithms.serverHostKey.includes(name)),
    } as ConnectConfig['algorithms'],
    hostVerifier: hostKeyVerifier(hop, policy, outcome),
  };
}

// Connection errors name the hop, the cause and the fix, never a stack trace.
function connectError(hop: Endpoint, error: unknown, credentials: Credentials, timeoutMs: number, via: Endpoint | undefined, proxy?: ProxyProcess): StartError {
  const message = messageOf(error);
  const code = (error as { code?: string }).code;
  const level = (error as { level?: string }).level;
  const who = hop.role === 'the host' ? address(hop) : `the jump host ${address(hop)}`;
  const place = via === undefined ? `${hop.host}:${hop.port}` : `${hop.host}:${hop.port} (through ${address(via)})`;
  if (code === 'ECONNREFUSED') return new StartError(`connection refused by ${place}: no SSH server listens there`, 'connect-refused', hop.role === 'the host' ? 'Check --host and --port (or HostName and Port in your ssh config).' : 'Check the ProxyJump host and port in your ssh config.', error);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new StartError(`cannot resolve host name ${hop.host}`, 'connect-dns', 'Check the host name and your DNS.', error);
  if (level === 'client-timeout' || /timed out/i.test(message) || code === 'ETIMEDOUT') return new StartError(`no SSH answer from ${place} within ${timeoutMs / 1000} s`, 'connect-timeout', 'Check that the host is up and reachable, or raise --connect-timeout.', error);
  if (level === 'client-authentication' || /authentication methods failed/i.test(message)) {
    const notOffered = credentials.skipped.length > 0 ? `; not offered: ${credentials.skipped.join('; ')}` : '';
    return new StartError(
      `authentication as ${hop.user} failed on ${who} (offered: ${credentials.offered.join(', ') || 'nothing'}${notOffered})`,
      'auth',
      hop.role === 'the host' ? 'Check --user and --identity (or the keys in your ssh-agent), and that the host\'s ~/.ssh/authorized_keys holds your public key.' : 'Check the user and keys for the jump host (User and IdentityFile in its Host block, or user@ in ProxyJump).',
      error,
    );
  }
  if (proxy !== undefined) return new StartError(`cannot connect to ${who} through ${proxy.describe()}: ${message}`, 'connect-proxy-command', 'Check the ProxyCommand in your ssh config: run it by hand, it must speak SSH on its stdout.', error);
  return new StartError(`cannot connect to ${who}: ${message}`, 'connect', 'Check the host, port, user and keys.', error);
}

// A bastion that will not open the next hop. RFC 4254 reason codes: 1 administratively prohibited (OpenSSH says only
// "open failed" for AllowTcpForwarding no or a PermitOpen miss), 2 connect failed (the next host refused or is down).
function forwardError(jump: Endpoint, next: Endpoint, error: unknown): StartError {
  const message = messageOf(error);
  const reason = (error as { reason?: unknown }).reason;
  const to = `${next.host}:${next.port}`;
  if (reason === 1 || /prohibited/i.test(message)) {
    return new StartError(`the jump host ${address(jump)} refused to forward to ${to} (${message})`, 'jump-forward', 'The bastion must allow TCP forwarding to the host for ProxyJump (sshd_config: AllowTcpForwarding yes, and PermitOpen if set).', error);
  }
  if (reason === 2 || /refused/i.test(message)) {
    return new StartError(`the jump host ${address(jump)} could not connect to ${to} (${message})`, 'jump-forward', 'Check HostName and Port for this host in your ssh config, and that the bastion can reach it.', error);
  }
  return new StartError(`the jump host ${address(jump)} could not open a connection to ${to}: ${message}`, 'jump-forward', 'Check that the bastion can reach the host, and the host name and port.', error);
}

// A raw ssh2 client for a bastion; an error after it is ready must not crash the process (the next hop reports it).
function openClient(config: ConnectConfig): Promise<Client> {
  const client = new ssh2.Client();
  return new Promise<Client>((resolve, reject) => {
    let ready = false;
    client.on('error', (error) => {
      if (!ready) reject(error);
    });
    client.on('close', () => {
      if (!ready) reject(new Error('the connection closed during the handshake'));
    });
    client.on('ready', () => {
      ready = true;
      resolve(client);
    });
    client.connect(config);
  });
}

// A direct-tcpip channel from the bastion to the next hop: the byte stream the next SSH connection runs over.
function forwardThrough(client: Client, host: string, port: number, timeoutMs: number): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    client.forwardOut('127.0.0.1', 0, host, port, (error, channel) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(deferredWrites(channel));
    });
  });
}

/**
 * Without its native addon (npm's install scripts not run), ssh2 encrypts chacha20-poly1305 packets with buffers shared
 * by every connection of the process (the nonce), and writes each packet in three pieces. Through a bastion, the inner
 * connection's first piece goes straight into the outer one, which encrypts its own packet with the same buffers
 * before the inner packet is done: the host then gets a garbled packet and hangs up ("incomplete message"). Writes
 * into the forwarded channel are therefore taken in a later microtask, in order, each chunk copied.
 */
function deferredWrites(channel: Duplex): Duplex {
  const write = channel.write.bind(channel) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const end = channel.end.bind(channel) as (...args: unknown[]) => Duplex;
  channel.write = ((chunk: unknown, ...rest: unknown[]) => {
    const copy = Buffer.isBuffer(chunk) ? Buffer.from(chunk) : chunk;
    queueMicrotask(() => void write(copy, ...rest));
    return true;
  }) as Duplex['write'];
  channel.end = ((...args: unknown[]) => {
    queueMicrotask(() => void end(...args));
    return channel;
  }) as Duplex['end'];
  return channel;
}

/** Opens the run's single SSH connection (through any bastions), verifying every host key against known_hosts first. */
export async function connectSsh(target: SshTarget): Promise<Transport> {
  const settings: SshSettings = { ...NO_SETTINGS, ...target.ssh };
  const notify = target.notify ?? (() => {});
  const keyring = target.keyring ?? new KeyRing({ env: target.env });
  // Where ssh would connect differently than we can, nothing is contacted at all.
  if (settings.refusals.length > 0) {
    throw new StartError(
      `the ssh config asks for what apply-ws-fix does not do, so it would not connect where or as ssh would: ${settings.refusals.join('; ')}`,
      'ssh-config-unsupported',
      'Change those lines (or put them in a Host block that does not apply to this host), or pass --ssh-config FILE with a config that only uses what apply-ws-fix supports (see SECURITY.md).',
    );
  }
  for (const note of settings.notes) notify(`apply-ws-fix: ssh config: ${note}`);
  const hops = hopsOf(target, settings);
  const policies: KnownHostsPolicy[] = [];
  for (const hop of hops) {
    const paths = [hop.knownHosts, ...hop.extraKnownHosts].filter((path) => path !== '');
    const files = await readKnownHostsFiles(paths).catch((error: unknown) => {
      throw new StartError(`cannot read the known_hosts files (${paths.join(', ')}): ${messageOf(error)}`, 'known-hosts', 'Check the permissions of those files, or pass --known-hosts FILE.', error);
    });
    policies.push({ files, paths, writeTo: hop.knownHosts, acceptNew: hop.acceptNew, hash: hop.hash, notify, ...(hop.acceptNewSource !== undefined ? { acceptNewSource: hop.acceptNewSource } : {}) });
  }
  const bastions: Client[] = [];
  let proxy: ProxyProcess | undefined;
  const closeBastions = (): void => {
    for (const client of bastions.reverse()) client.end();
    proxy?.close();
  };
  let sock: Duplex | undefined;
  try {
    for (const [index, hop] of hops.entries()) {
      const policy = policies[index]!;
      const via = index > 0 ? hops[index - 1] : undefined;
      const credentials = await keyring.credentials(hop.credentials);
      if (index === 0 && settings.proxyCommand !== undefined) {
        // ssh runs the outermost hop's ProxyCommand locally and speaks SSH over its stdin and stdout. Started only now,
        // with no await before ssh2 takes the socket, so that an early end of the command is not missed.
        proxy = spawnProxyCommand(settings.proxyCommand.command, target.env);
        sock = proxy.socket;
      }
      const outcome: HostKeyOutcome = {};
      const config = connectConfig(hop, credentials, policy, outcome, target.connectTimeoutMs, sock);
      const fail = (error: unknown): StartError => hostKeyError(hop, policy, outcome) ?? connectError(hop, error, credentials, target.connectTimeoutMs, via, index === 0 ? proxy : undefined);
      if (index < hops.length - 1) {
        const client = await openClient(config).catch(async (error: unknown) => {
          if (index === 0) await proxy?.settled();
          throw fail(error);
        });
        bastions.push(client);
        const next = hops[index + 1]!;
        sock = await forwardThrough(client, next.host, next.port, target.connectTimeoutMs).catch((error: unknown) => {
          throw forwardError(hop, next, error);
        });
        continue;
      }
      const ssh = new NodeSSH();
      try {
        await ssh.connect(config as Config);
      } catch (error) {
        ssh.dispose();
        if (index === 0) await proxy?.settled();
        throw fail(error);
      }
      // node-ssh stops listening for errors once connected; a dropped connection must fail the command, not the process.
      ssh.connection?.on('error', () => {});
      const route = [...(settings.proxyCommand !== undefined ? [`ProxyCommand ${proxyCommandLabel(settings.proxyCommand.command)}`] : []), ...settings.jumps.map((jump) => address(jump))];
      const label = `${address(hop)}${route.length > 0 ? ` via ${route.join(', ')}` : ''}`;
      const transport = new SshTransport(ssh, label, closeBastions, DEFAULT_MAX_CHANNELS, (KEEPALIVE_COUNT_MAX + 1) * keepaliveIntervalMs(target.connectTimeoutMs));
      transport.warmUp();
      return transport;
    }
    throw new Error('no host to connect to');
  } catch (error) {
    closeBastions();
    if (error instanceof AppError) throw error;
    throw new StartError(`cannot connect: ${messageOf(error)}`, 'connect', 'Check the host, port, user and keys.', error);
  }
}

class SshTransport implements Transport {
  readonly runsShell = true;
  private readonly channels: ChannelSlots;
  /** Set when the host stopped answering keepalives: every command from then on fails at once, as a timeout. */
  private hung: string | undefined;
  private closed = false;

  constructor(
    private readonly ssh: NodeSSH,
    readonly label: string,
    private readonly closeBastions: () => void,
    maxChannels: number = DEFAULT_MAX_CHANNELS,
    silenceMs = 0,
  ) {
    this.channels = new ChannelSlots(maxChannels);
    ssh.connection?.on('error', (error: Error & { level?: string }) => {
      if (error.level === 'client-timeout') this.hung = `${label} stopped answering: no reply to SSH keepalives for ${Math.round(silenceMs / 1000)} s`;
    });
    ssh.connection?.on('close', () => {
      this.closed = true;
    });
  }

  // A dead connection fails a command at once: as a timeout when the host went silent, else as a drop.
  private throwIfDead(command: string): void {
    if (this.hung !== undefined) throw new HostTimeoutError(this.hung);
    if (this.closed) throw new ConnectionLostError(this.label, command);
  }

  // At most maxChannels at once on the connection; a command waits for a free channel, and its timeout starts then.
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.throwIfDead(command);
    try {
      return await this.channels.run(() => this.execNow(command, options));
    } catch (error) {
      if (error instanceof CommandTimeoutError) throw error;
      // node-ssh says a dropped connection in plain words: it is a lost connection, not a bug.
      if (lostConnection(error)) throw new ConnectionLostError(this.label, command);
      if (!channelRefused(error)) throw error;
      throw new Error(`${this.label} refused to open a session channel even with none other open (${messageOf(error)}); its sshd_config may set MaxSessions 0`, { cause: error });
    } finally {
      // A burst used every slot and the spare: the next command finds one ready again.
      this.openSpare();
    }
  }

  // The next command's channel, opened while this one runs (one at most): its exec then costs one round trip, not two.
  private spare: Promise<ClientChannel | undefined> | undefined;
  /** Set once the server refused a spare channel (its MaxSessions is reached): no more spares on this connection. */
  private noSpares = false;

  // The spare counts against the channel limit: it is opened only while a slot is free.
  private openSpare(): void {
    const client = this.ssh.connection;
    if (this.spare !== undefined || this.noSpares || this.closed || this.hung !== undefined || this.channels.inUse >= this.channels.max) return;
    if (client === null || !warmable(client)) return;
    this.spare = openSession(client).catch(() => {
      this.noSpares = true;
      return undefined;
    });
  }

  /**
   * Runs `command` on the spare channel when there is one, else on one opened now. `attach` gets the channel before
   * any of its output can arrive (ssh2 emits the exit status as an event: a listener added later could miss it);
   * `feed` sends its stdin and EOF: right behind the exec request on a spare channel (the server has started the
   * command by the time it reads them), after the server's answer on a new one.
   */
  private async channelFor(command: string, attach: (channel: ClientChannel) => void, feed: (channel: ClientChannel) => void): Promise<ClientChannel> {
    const spare = this.spare;
    this.spare = undefined;
    const ready = spare === undefined ? undefined : await spare;
    this.openSpare();
    if (ready !== undefined && stillOpen(ready)) {
      attach(ready);
      return execOnSession(ready, command, feed);
    }
    const client = this.ssh.connection;
    if (client === null) throw new Error('Not connected to server');
    return new Promise((resolve, reject) => {
      client.exec(command, {}, (error, channel) => {
        if (error) {
          reject(error);
          return;
        }
        attach(channel);
        feed(channel);
        resolve(channel);
      });
    });
  }

  /** Opens the first spare channel: the first command then costs one round trip. */
  warmUp(): void {
    this.openSpare();
  }

  // One channel: the command under /bin/sh, raw bytes collected, the timeout enforced.
  private async execNow(command: string, options: ExecOptions): Promise<ExecResult> {
    const started = Date.now();
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let channel: ClientChannel | undefined;
    const run = (async () => {
      let code: number | null = null;
      let signal: string | null = null;
      let closed: () => void = () => {};
      const ended = new Promise<void>((resolve) => {
        closed = resolve;
      });
      const attach = (ch: ClientChannel): void => {
        channel = ch;
        ch.on('data', (chunk: Buffer) => {
          stdout.push(chunk);
          options.onOutput?.(chunk);
        });
        ch.stderr.on('data', (chunk: Buffer) => {
          stderr.push(chunk);
          options.onOutput?.(chunk);
        });
        ch.on('exit', (exitCode: number | null, exitSignal?: string) => {
          code = typeof exitCode === 'number' ? exitCode : null;
          signal = exitSignal ?? null;
        });
        ch.on('close', () => closed());
      };
      const feed = (ch: ClientChannel): void => {
        if (options.stdin === undefined) ch.end();
        else if (typeof options.stdin === 'string') ch.end(options.stdin);
        // Bytes go through a stream, so none of them changes.
        else Readable.from([options.stdin]).pipe(ch, { end: true });
      };
      try {
        await this.channelFor(underPosixShell(command), attach, feed);
      } catch (error) {
        // The connection went away while the channel opened: ssh2 says "Unable to exec" then.
        if (this.closed && !lostConnection(error)) throw new Error('Not connected to server', { cause: error });
        throw error;
      }
      await ended;
      return { code, signal };
    })();
    const timeout = new Promise<never>((_, reject) => {
      if (options.timeoutMs === undefined) return;
      timer = setTimeout(() => {
        channel?.signal('KILL');
        channel?.close();
        reject(new CommandTimeoutError(this.label, command, options.timeoutMs!));
      }, options.timeoutMs);
    });
    try {
      const result = await Promise.race([run, timeout]).catch((error: unknown) => {
        // The channel ended because the keepalives went unanswered: a timeout, not a failure of the command.
        if (this.hung !== undefined && !(error instanceof HostTimeoutError)) throw new HostTimeoutError(this.hung);
        throw error;
      });
      if (this.hung !== undefined && result.code === null) throw new HostTimeoutError(this.hung);
      return { command, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), code: result.code, signal: result.signal, durationMs: Date.now() - started };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.ssh.dispose();
    this.closeBastions();
  }
}
