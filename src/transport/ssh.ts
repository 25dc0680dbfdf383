// The real transport: one SSH connection (node-ssh on ssh2) per run, every command a channel on it.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { NodeSSH, type Config } from 'node-ssh';
import { StartError, messageOf } from '../errors.js';
import { hostLookupName, keyTypeOfBlob, readKnownHostsFiles, verifyHostKey, type KnownHostsVerdict } from './known-hosts.js';
import type { ExecOptions, ExecResult, Transport } from './transport.js';

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** A private key file; else the agent (SSH_AUTH_SOCK) and the default key files. */
  identity?: string | undefined;
  knownHosts: string;
  connectTimeoutMs: number;
  env: NodeJS.ProcessEnv;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

// The key material to offer: --identity, else agent plus the first default key file that exists.
async function credentials(target: SshTarget): Promise<Pick<Config, 'privateKey' | 'passphrase' | 'agent'>> {
  const passphrase = target.env['APPLY_WS_FIX_PASSPHRASE'];
  if (target.identity !== undefined) {
    const privateKey = await readFile(target.identity, 'utf8').catch((error: unknown) => {
      throw new StartError(`cannot read the identity file ${target.identity}: ${messageOf(error)}`, 'identity', 'Check the path given to --identity.', error);
    });
    return { privateKey, ...(passphrase ? { passphrase } : {}) };
  }
  const agent = target.env['SSH_AUTH_SOCK'] || undefined;
  const home = target.env['HOME'] ?? homedir();
  for (const name of DEFAULT_KEYS) {
    const privateKey = await readFile(join(home, '.ssh', name), 'utf8').catch(() => undefined);
    if (privateKey !== undefined) return { privateKey, agent, ...(passphrase ? { passphrase } : {}) };
  }
  if (agent === undefined) {
    throw new StartError('no SSH key to offer: no --identity, no ssh-agent (SSH_AUTH_SOCK) and no ~/.ssh/id_ed25519, id_ecdsa or id_rsa', 'no-credentials', 'Pass --identity FILE or start ssh-agent and add your key (ssh-add).');
  }
  return { agent };
}

// Host-key failures become instructions: unknown keys show the fingerprint to check, changed keys are refused loudly.
function hostKeyError(target: SshTarget, verdict: KnownHostsVerdict): StartError {
  const where = hostLookupName(target.host, target.port);
  switch (verdict.kind) {
    case 'unknown':
      return new StartError(
        `the host key of ${where} is not in ${target.knownHosts} (${verdict.fingerprint})`,
        'host-key-unknown',
        `Check that fingerprint with the host's owner, then add the key: ssh -o UserKnownHostsFile=${target.knownHosts} -p ${target.port} ${target.user}@${target.host} true`,
      );
    case 'mismatch':
      return new StartError(
        `WARNING: the host key of ${where} has CHANGED (${verdict.fingerprint}; known: ${verdict.expected.map((e) => `${e.fingerprint} at ${e.file}:${e.line}`).join(', ')}). Someone may be intercepting the connection; nothing was done.`,
        'host-key-changed',
        `If the host was really re-keyed, remove the old entry (ssh-keygen -R '${where}' -f ${target.knownHosts}) and check the new fingerprint.`,
      );
    case 'revoked':
      return new StartError(`the host key of ${where} is marked @revoked in ${verdict.file}:${verdict.line}`, 'host-key-revoked', 'Do not connect to this host until its key is replaced.');
    case 'match':
      return new StartError('host key matched', 'host-key');
  }
}

// Connection errors name the cause and the fix, never a stack trace.
function connectError(target: SshTarget, error: unknown, verdict: KnownHostsVerdict | undefined): StartError {
  if (verdict !== undefined && verdict.kind !== 'match') return hostKeyError(target, verdict);
  const message = messageOf(error);
  const code = (error as { code?: string }).code;
  const address = `${target.user}@${target.host}:${target.port}`;
  if (code === 'ECONNREFUSED') return new StartError(`connection refused by ${target.host}:${target.port}: no SSH server listens there`, 'connect-refused', 'Check --host and --port.', error);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new StartError(`cannot resolve host name ${target.host}`, 'connect-dns', 'Check --host and your DNS.', error);
  if (/timed out/i.test(message) || code === 'ETIMEDOUT') return new StartError(`no SSH answer from ${target.host}:${target.port} within ${target.connectTimeoutMs / 1000} s`, 'connect-timeout', 'Check that the host is up and reachable, or raise --connect-timeout.', error);
  if (/authentication methods failed/i.test(message)) return new StartError(`authentication as ${target.user} failed on ${address}`, 'auth', 'Check --user and --identity (or the keys in your ssh-agent).', error);
  if (/encrypted private key/i.test(message) || /passphrase/i.test(message)) return new StartError('the private key is encrypted and no passphrase was given', 'key-encrypted', 'Set APPLY_WS_FIX_PASSPHRASE, or load the key into ssh-agent (ssh-add) and omit --identity.', error);
  return new StartError(`cannot connect to ${address}: ${message}`, 'connect', 'Check --host, --port, --user and --identity.', error);
}

/** Opens the run's single SSH connection, verifying the host key against known_hosts first. */
export async function connectSsh(target: SshTarget): Promise<Transport> {
  const knownHosts = await readKnownHostsFiles([target.knownHosts]);
  let verdict: KnownHostsVerdict | undefined;
  const ssh = new NodeSSH();
  try {
    await ssh.connect({
      host: target.host,
      port: target.port,
      username: target.user,
      ...(await credentials(target)),
      readyTimeout: target.connectTimeoutMs,
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        verdict = verifyHostKey(knownHosts, target.host, target.port, { type: keyTypeOfBlob(key), blob: key });
        return verdict.kind === 'match';
      },
    });
  } catch (error) {
    ssh.dispose();
    if (error instanceof StartError) throw error;
    throw connectError(target, error, verdict);
  }
  // Without TCP_NODELAY each small exec request waits ~40 ms for Nagle's algorithm.
  ssh.connection?.setNoDelay(true);
  return new SshTransport(ssh, `${target.user}@${target.host}:${target.port}`);
}

class SshTransport implements Transport {
  constructor(
    private readonly ssh: NodeSSH,
    readonly label: string,
  ) {}

  // Collects raw bytes (node-ssh would trim strings) and enforces the command's timeout.
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const started = Date.now();
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let channel: { close(): void; signal?(name: string): void } | undefined;
    const run = this.ssh.execCommand(command, {
      ...(options.stdin !== undefined ? { stdin: toStdin(options.stdin) } : {}),
      noTrim: true,
      onStdout: (chunk) => stdout.push(chunk),
      onStderr: (chunk) => stderr.push(chunk),
      onChannel: (c) => {
        channel = c;
      },
    });
    const timeout = new Promise<never>((_, reject) => {
      if (options.timeoutMs === undefined) return;
      timer = setTimeout(() => {
        channel?.signal?.('KILL');
        channel?.close();
        reject(new Error(`remote command timed out after ${Math.round(options.timeoutMs! / 1000)} s: ${command}`));
      }, options.timeoutMs);
    });
    try {
      const result = await Promise.race([run, timeout]);
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
  }
}

// node-ssh writes a string stdin as utf8; bytes go through a stream so none of them changes.
function toStdin(data: Buffer | string): string | Readable {
  return typeof data === 'string' ? data : Readable.from([data]);
}
