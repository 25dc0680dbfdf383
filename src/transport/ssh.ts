// The real transport: one SSH connection (node-ssh on ssh2) per run, every command a channel on it. Through bastions
// (ProxyJump) the connection is carried, OpenSSH-style, by a direct-tcpip channel of the previous hop.
import { EventEmitter } from 'node:events';
import { Readable, type Duplex } from 'node:stream';
import { NodeSSH, type Config } from 'node-ssh';
import ssh2, { type AnyAuthMethod, type Client, type ConnectConfig } from 'ssh2';
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
      else resolve(channel);
    });
  });
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
      return new SshTransport(ssh, label, closeBastions, DEFAULT_MAX_CHANNELS, (KEEPALIVE_COUNT_MAX + 1) * keepaliveIntervalMs(target.connectTimeoutMs));
    }
    throw new Error('no host to connect to');
  } catch (error) {
    closeBastions();
    if (error instanceof AppError) throw error;
    throw new StartError(`cannot connect: ${messageOf(error)}`, 'connect', 'Check the host, port, user and keys.', error);
  }
}

class SshTransport implements Transport {
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
    // node-ssh listens for 'error' on the connection while each channel opens, and drops the listener only once the
    // open is answered. maxChannels opening at once plus our two listeners is exactly Node's leak-warning threshold
    // (10), so one more, such as a command that timed out before its channel opened, printed
    // MaxListenersExceededWarning. Those listeners are bounded by design: allow them.
    ssh.connection?.setMaxListeners(maxChannels + EventEmitter.defaultMaxListeners);
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
    }
  }

  // One channel: the command under /bin/sh, raw bytes collected (node-ssh would trim strings), the timeout enforced.
  private async execNow(command: string, options: ExecOptions): Promise<ExecResult> {
    const started = Date.now();
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let channel: { close(): void; signal?(name: string): void } | undefined;
    const run = this.ssh.execCommand(underPosixShell(command), {
      ...(options.stdin !== undefined ? { stdin: toStdin(options.stdin) } : {}),
      noTrim: true,
      onStdout: (chunk) => {
        stdout.push(chunk);
        options.onOutput?.(chunk);
      },
      onStderr: (chunk) => {
        stderr.push(chunk);
        options.onOutput?.(chunk);
      },
      onChannel: (c) => {
        channel = c;
      },
    });
    const timeout = new Promise<never>((_, reject) => {
      if (options.timeoutMs === undefined) return;
      timer = setTimeout(() => {
        channel?.signal?.('KILL');
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
      if (this.hung !== undefined && typeof result.code !== 'number') throw new HostTimeoutError(this.hung);
      return {
        command,
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr),
        code: typeof result.code === 'number' ? result.code : null,
        signal: result.signal ?? null,
        durationMs: Date.now() - started,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.ssh.dispose();
    this.closeBastions();
  }
}

// node-ssh writes a string stdin as utf8; bytes go through a stream so none of them changes.
function toStdin(data: Buffer | string): string | Readable {
  return typeof data === 'string' ? data : Readable.from([data]);
}
