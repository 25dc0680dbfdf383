// The keys to offer a host, as OpenSSH picks them: the ssh-agent first, then key files; encrypted key files are opened
// with APPLY_WS_FIX_PASSPHRASE or a passphrase typed at a terminal prompt, and the passphrase goes nowhere else.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2, { type BaseAgent, type ParsedKey } from 'ssh2';
import { StartError, messageOf } from '../errors.js';
import { parsePrivateKey, publicBlobOfLine, publicBlobOfPrivateKey } from './key-file.js';
import { pubkeyAccepted } from './ssh-config-algorithms.js';
import { agentCertificateKey, agentSignRequest, certificateKey, certificatesSupported, listAgentBlobs, parseCertificateBlob, parseCertificateLine, type ParsedCertificate } from './ssh-cert-auth.js';

// ssh2 is CommonJS: under Node's ESM loader only its default export carries the agent classes.
const { OpenSSHAgent } = ssh2;

/** Asks for a passphrase without echoing it; resolves to what was typed ('' when the operator just pressed Enter). */
export type PassphrasePrompt = (question: string) => Promise<string>;

export const PASSPHRASE_ENV = 'APPLY_WS_FIX_PASSPHRASE';
/**
 * Tried in this order when neither --identity nor an IdentityFile names a key: OpenSSH's own default list and order
 * (ssh -G prints it), without the kinds ssh2 cannot use (security keys, XMSS, DSA).
 */
export const DEFAULT_KEY_FILES = ['id_rsa', 'id_ecdsa', 'id_ed25519'] as const;
const PROMPT_TRIES = 3;

export interface KeyRingOptions {
  env: NodeJS.ProcessEnv;
  /** Present only when stdin and stderr are a terminal. */
  prompt?: PassphrasePrompt | undefined;
  agentTimeoutMs?: number;
}

/** What a run offers one host. */
export interface Credentials {
  agent?: string | BaseAgent;
  keys: { path: string; key: ParsedKey }[];
  /** What is offered, in order, for messages. */
  offered: string[];
  /** Key files not offered, and why, for messages. */
  skipped: string[];
}

export interface CredentialSpec {
  /** --identity: only this key (or the agent's copy of it); an unusable file is an error. */
  identity?: string | undefined;
  /** IdentityFile entries: offered after the agent; missing files are passed over, as ssh does. */
  identityFiles: readonly string[];
  /** CertificateFile entries; without them, `<key>-cert.pub` beside each key file is used, as ssh does. */
  certificateFiles?: readonly string[] | undefined;
  /** IdentitiesOnly: no agent key but those of the files above (the agent may still sign for them). */
  identitiesOnly?: boolean | undefined;
  /** IdentityAgent: `none`, or a socket path; undefined: SSH_AUTH_SOCK. */
  identityAgent?: string | undefined;
  /** PubkeyAcceptedAlgorithms: only keys (and certificates) of these algorithms are offered. */
  pubkeyAlgorithms?: readonly string[] | undefined;
}

type Loaded =
  | { kind: 'key'; key: ParsedKey; blob: Buffer }
  /** Encrypted, but the ssh-agent holds the same key: the agent signs instead. */
  | { kind: 'in-agent'; socket: string; blob: Buffer }
  | { kind: 'absent' }
  | { kind: 'skipped'; code: SkipCode; reason: string };

type SkipCode = 'identity' | 'key-encrypted' | 'key-passphrase';

// Each reason a key was passed over, and what to do about it.
function remedyFor(code: SkipCode, path: string): string {
  switch (code) {
    case 'key-encrypted':
      return `Run on a terminal to be asked for the passphrase, set ${PASSPHRASE_ENV}, or load the key into ssh-agent (ssh-add ${path}).`;
    case 'key-passphrase':
      return `Set ${PASSPHRASE_ENV} to that key's passphrase (or unset it to be asked on a terminal), or load the key into ssh-agent (ssh-add ${path}).`;
    case 'identity':
      return 'Check the path given to --identity: it must be a private key (OpenSSH, PEM or PuTTY format).';
  }
}

/** blobs: the agent's plain keys; certificates: the certificates it holds (with their private keys). */
type AgentState = { socket: string; blobs: Buffer[]; certificates: ParsedCertificate[] } | { socket: string; error: string };

// An agent that did not answer is worth a line in an authentication failure.
function noteOf(agent: AgentState | undefined): string[] {
  return agent !== undefined && 'error' in agent ? [`the ssh-agent at ${agent.socket}: ${agent.error}`] : [];
}

// The agent as ssh uses it: with IdentitiesOnly (or --identity) it shows only the named keys, so that an agent full of
// others neither uses up the server's MaxAuthTries nor logs in with another key than ssh would; and it offers the
// certificates it holds (ssh2's own listing drops them), asking the agent to sign with the certificate blob.
class ToolAgent extends OpenSSHAgent {
  constructor(
    socket: string,
    private readonly only: readonly Buffer[] | undefined,
    private readonly certificates: readonly ParsedKey[],
    private readonly accepted?: readonly string[] | undefined,
  ) {
    super(socket);
  }

  override getIdentities(cb: Parameters<InstanceType<typeof OpenSSHAgent>['getIdentities']>[0]): void {
    super.getIdentities((err, keys) => {
      if (err) return cb(err);
      const plain = (keys ?? []).filter((key) => (this.only === undefined || this.only.some((blob) => blobOfAgentKey(key)?.equals(blob))) && pubkeyAccepted((key as { type?: string }).type ?? '', this.accepted));
      cb(undefined, [...plain, ...this.certificates]);
    });
  }

  // Overloads of ssh2's typings; ssh2 itself always calls sign(key, data, options, cb).
  override sign(pubKey: Parameters<InstanceType<typeof OpenSSHAgent>['sign']>[0], data: Buffer, options?: unknown, cb?: unknown): boolean {
    const callback = (typeof options === 'function' ? options : cb) as (err?: Error | null, signature?: Buffer) => void;
    const request = agentSignRequest(pubKey, typeof options === 'object' && options !== null ? (options as { hash?: string }) : undefined);
    return super.sign(request.key as typeof pubKey, data, (request.options ?? {}) as never, callback);
  }
}

// The agent hands back parsed keys; the typings also allow wrapped entries, which carry no blob we would trust.
function blobOfAgentKey(key: unknown): Buffer | undefined {
  const candidate = key as { getPublicSSH?: () => Buffer };
  return typeof candidate.getPublicSSH === 'function' ? candidate.getPublicSSH() : undefined;
}

const sameBlob = (blobs: readonly Buffer[], blob: Buffer): boolean => blobs.some((held) => held.equals(blob));

// The key type a blob starts with (`ssh-ed25519`, `ssh-rsa`…), '' when unreadable.
function typeOfBlob(blob: Buffer): string {
  if (blob.length < 4) return '';
  const length = blob.readUInt32BE(0);
  return blob.length >= 4 + length ? blob.subarray(4, 4 + length).toString('latin1') : '';
}

/** Loads each key file once per run, so a passphrase is asked for at most once, and remembers the agent's keys. */
export class KeyRing {
  private readonly agents = new Map<string, Promise<AgentState>>();
  private readonly files = new Map<string, Promise<Loaded>>();
  private readonly certificates = new Map<string, Promise<ParsedCertificate | 'absent' | 'unsupported'>>();

  constructor(private readonly options: KeyRingOptions) {}

  // IdentityAgent none: no agent; a path: that socket; else SSH_AUTH_SOCK.
  private socketFor(spec: CredentialSpec): string | undefined {
    if (spec.identityAgent === 'none') return undefined;
    return spec.identityAgent ?? (this.options.env['SSH_AUTH_SOCK'] || undefined);
  }

  /**
   * What OpenSSH's pubkey_prepare() would offer, in its order: the agent's keys (only those of the named files with
   * IdentitiesOnly), then the key files the agent does not hold, each key once, each followed by its certificate.
   * An error (exit 3) when there is nothing usable to offer.
   */
  async credentials(spec: CredentialSpec): Promise<Credentials> {
    const socket = this.socketFor(spec);
    // --identity asks the agent only about an encrypted key: a plain key file needs no agent at all.
    if (spec.identity !== undefined) return this.identityCredentials(spec.identity, socket);
    const agent = socket === undefined ? undefined : await this.agentState(socket);
    const credentials: Credentials = { keys: [], offered: [], skipped: [...noteOf(agent)] };

    const home = this.options.env['HOME'] ?? homedir();
    const files = spec.identityFiles.length > 0 ? spec.identityFiles : DEFAULT_KEY_FILES.map((name) => join(home, '.ssh', name));
    const loadedKeys: { path: string; key: ParsedKey; blob: Buffer }[] = [];
    const namedBlobs: Buffer[] = [];
    const passedOver: { path: string; code: SkipCode }[] = [];
    for (const path of files) {
      const loaded = await this.load(path, socket);
      if (loaded.kind === 'key' && !pubkeyAccepted(loaded.key.type, spec.pubkeyAlgorithms)) {
        credentials.skipped.push(`${path}: ${loaded.key.type} is not in PubkeyAcceptedAlgorithms`);
      } else if (loaded.kind === 'key') {
        loadedKeys.push({ path, key: loaded.key, blob: loaded.blob });
        namedBlobs.push(loaded.blob);
      } else if (loaded.kind === 'in-agent') {
        namedBlobs.push(loaded.blob);
      } else if (loaded.kind === 'skipped') {
        credentials.skipped.push(`${path}: ${loaded.reason}`);
        passedOver.push({ path, code: loaded.code });
      }
    }
    const agentBlobs = agent !== undefined && 'blobs' in agent ? agent.blobs.filter((blob) => (!spec.identitiesOnly || sameBlob(namedBlobs, blob)) && pubkeyAccepted(typeOfBlob(blob), spec.pubkeyAlgorithms)) : [];
    // The agent's certificates, for the named keys only with IdentitiesOnly.
    const agentCertificates = agent !== undefined && 'blobs' in agent ? agent.certificates.filter((certificate) => !spec.identitiesOnly || sameBlob(namedBlobs, certificate.publicBlob)) : [];
    const certificateKeys = agentCertificates.flatMap((certificate) => agentCertificateKey(certificate) ?? []).filter((key) => pubkeyAccepted(key.type, spec.pubkeyAlgorithms));
    if (agent !== undefined && 'blobs' in agent && agentBlobs.length + certificateKeys.length > 0) {
      const filtered = spec.identitiesOnly || certificateKeys.length > 0 || spec.pubkeyAlgorithms !== undefined;
      credentials.agent = filtered ? new ToolAgent(agent.socket, spec.identitiesOnly || spec.pubkeyAlgorithms !== undefined ? agentBlobs : undefined, certificateKeys, spec.pubkeyAlgorithms) : agent.socket;
      const certificates = certificateKeys.length > 0 ? ` and ${certificateKeys.length} certificate(s)` : '';
      credentials.offered.push(spec.identitiesOnly ? `the ssh-agent's copy of ${agentBlobs.length} named key(s)${certificates} (IdentitiesOnly)` : `the ssh-agent's ${agent.blobs.length} key(s)${certificates}`);
    } else if (spec.identitiesOnly && agent !== undefined && 'blobs' in agent && agent.blobs.length > 0) {
      credentials.skipped.push(`the ssh-agent's ${agent.blobs.length} key(s): not named by IdentityFile (IdentitiesOnly yes)`);
    }
    // A key the agent already offers, or a second file with the same key, is not offered again (MaxAuthTries).
    const offeredBlobs = [...agentBlobs, ...certificateKeys.map((key) => key.getPublicSSH())];
    const certificatePaths = (spec.certificateFiles?.length ?? 0) > 0 ? spec.certificateFiles! : files.map((path) => `${path}-cert.pub`);
    const certificates: { path: string; certificate: ParsedCertificate }[] = [];
    for (const path of certificatePaths) {
      const read = await this.certificate(path);
      if (read === 'absent') continue;
      if (read === 'unsupported') credentials.skipped.push(`${path}: not an OpenSSH user certificate apply-ws-fix can use (ed25519, ECDSA or RSA)`);
      else certificates.push({ path, certificate: read });
    }
    for (const { path, key, blob } of loadedKeys) {
      if (!sameBlob(offeredBlobs, blob)) {
        offeredBlobs.push(blob);
        credentials.keys.push({ path, key });
        credentials.offered.push(path);
      }
      for (const { path: certPath, certificate } of certificates.filter((entry) => entry.certificate.publicBlob.equals(blob))) {
        if (sameBlob(offeredBlobs, certificate.blob)) continue;
        const certAlgorithm = certificate.keyType === 'ssh-rsa' ? 'rsa-sha2-512-cert-v01@openssh.com' : certificate.type;
        if (!pubkeyAccepted(certAlgorithm, spec.pubkeyAlgorithms)) {
          offeredBlobs.push(certificate.blob);
          credentials.skipped.push(`${certPath}: ${certAlgorithm} is not in PubkeyAcceptedAlgorithms`);
          continue;
        }
        if (!certificatesSupported()) {
          credentials.skipped.push(`${certPath}: certificates are not supported with this version of ssh2`);
          continue;
        }
        offeredBlobs.push(certificate.blob);
        credentials.keys.push({ path: certPath, key: certificateKey(key, certificate) });
        credentials.offered.push(`${certPath} (certificate)`);
      }
    }
    for (const { path, certificate } of certificates) {
      if (sameBlob(offeredBlobs, certificate.blob)) continue;
      // (A certificate file whose key is only in the agent: ssh asks the agent to sign with it; ssh-add KEY loads KEY-cert.pub too.)
      const inAgent = agent !== undefined && 'blobs' in agent && sameBlob(agent.blobs, certificate.publicBlob);
      credentials.skipped.push(
        inAgent
          ? `${path}: its private key is in the ssh-agent without this certificate (load both: ssh-add KEY with KEY-cert.pub beside it)`
          : `${path}: no private key for this certificate among ${files.join(', ')}`,
      );
    }
    if (credentials.agent === undefined && credentials.keys.length === 0) {
      const tried = spec.identityFiles.length > 0 ? spec.identityFiles.join(', ') : `~/.ssh/${DEFAULT_KEY_FILES.join(', ')}`;
      const why = credentials.skipped.length > 0 ? `; ${credentials.skipped.join('; ')}` : '';
      // The most telling reason wins: a passphrase that failed, then an encrypted key, then "nothing there".
      const blocked = (['key-passphrase', 'key-encrypted'] as const).map((code) => passedOver.find((entry) => entry.code === code)).find((entry) => entry !== undefined);
      const agentWord = socket === undefined ? (spec.identityAgent === 'none' ? 'no ssh-agent (IdentityAgent none)' : 'no ssh-agent (SSH_AUTH_SOCK)') : spec.identitiesOnly ? 'no named key in the ssh-agent (IdentitiesOnly)' : 'no key in the ssh-agent';
      throw new StartError(
        `no SSH key to offer: no --identity, ${agentWord} and no usable key in ${tried}${why}`,
        blocked?.code ?? 'no-credentials',
        blocked !== undefined ? remedyFor(blocked.code, blocked.path) : 'Pass --identity FILE, or start ssh-agent and add your key (ssh-add).',
      );
    }
    return credentials;
  }

  /** Loads what credentials() would, so that every prompt comes before the task list draws on the terminal. */
  async preload(specs: readonly CredentialSpec[]): Promise<void> {
    for (const spec of specs) await this.credentials(spec);
  }

  // --identity: that key, or the agent's copy of it when the file is encrypted and the agent holds it.
  private async identityCredentials(path: string, socket: string | undefined): Promise<Credentials> {
    const loaded = await this.load(path, socket);
    switch (loaded.kind) {
      case 'key':
        return { keys: [{ path, key: loaded.key }], offered: [path], skipped: [] };
      case 'in-agent':
        return { agent: new ToolAgent(loaded.socket, [loaded.blob], []), keys: [], offered: [`the ssh-agent's copy of ${path}`], skipped: [] };
      case 'absent':
        throw new StartError(`cannot read the identity file ${path}: no such file`, 'identity', 'Check the path given to --identity.');
      case 'skipped':
        throw new StartError(`cannot use the identity file ${path}: ${loaded.reason}`, loaded.code, remedyFor(loaded.code, path));
    }
  }

  // One look at each agent per run; an agent that does not answer is reported, not fatal.
  private agentState(socket: string): Promise<AgentState> {
    let state = this.agents.get(socket);
    if (state === undefined) {
      state = new Promise<AgentState>((resolve) => {
        const timer = setTimeout(() => resolve({ socket, error: 'no answer' }), this.options.agentTimeoutMs ?? 5000);
        listAgentBlobs(socket, this.options.agentTimeoutMs ?? 5000).then(
          (blobs) => {
            clearTimeout(timer);
            const certificates = blobs.flatMap((blob) => parseCertificateBlob(blob) ?? []);
            resolve({ socket, blobs: blobs.filter((blob) => !certificates.some((certificate) => certificate.blob.equals(blob))), certificates });
          },
          (err: Error) => {
            clearTimeout(timer);
            resolve({ socket, error: `did not answer (${err.message})` });
          },
        );
      });
      this.agents.set(socket, state);
    }
    return state;
  }

  private load(path: string, socket: string | undefined): Promise<Loaded> {
    const cacheKey = `${socket ?? ''}\0${path}`;
    let loaded = this.files.get(cacheKey);
    if (loaded === undefined) {
      loaded = this.read(path, socket);
      this.files.set(cacheKey, loaded);
    }
    return loaded;
  }

  private certificate(path: string): Promise<ParsedCertificate | 'absent' | 'unsupported'> {
    let read = this.certificates.get(path);
    if (read === undefined) {
      read = readFile(path, 'utf8').then(
        (text) => parseCertificateLine(text) ?? 'unsupported',
        () => 'absent' as const,
      );
      this.certificates.set(path, read);
    }
    return read;
  }

  private async read(path: string, socket: string | undefined): Promise<Loaded> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
      return { kind: 'skipped', code: 'identity', reason: `cannot read it (${messageOf(error)})` };
    }
    const plain = parsePrivateKey(text);
    if (plain.kind === 'key') return { ...plain, blob: plain.key.getPublicSSH() };
    if (plain.kind !== 'encrypted') return { kind: 'skipped', code: 'identity', reason: plain.kind === 'unreadable' ? `not a private key ssh2 can read (${plain.reason})` : 'unreadable' };

    const blob = publicBlobOfPrivateKey(text) ?? (await readFile(`${path}.pub`, 'utf8').then(publicBlobOfLine, () => undefined));
    const agent = socket === undefined ? undefined : await this.agentState(socket);
    if (blob !== undefined && agent !== undefined && 'blobs' in agent && sameBlob(agent.blobs, blob)) return { kind: 'in-agent', socket: agent.socket, blob };

    const fromEnv = this.options.env[PASSPHRASE_ENV];
    if (fromEnv !== undefined && fromEnv !== '') {
      const opened = parsePrivateKey(text, fromEnv);
      if (opened.kind === 'key') return { ...opened, blob: opened.key.getPublicSSH() };
      return { kind: 'skipped', code: 'key-passphrase', reason: `encrypted, and ${PASSPHRASE_ENV} does not decrypt it` };
    }
    const prompt = this.options.prompt;
    if (prompt === undefined) return { kind: 'skipped', code: 'key-encrypted', reason: 'encrypted, and no passphrase (no terminal to ask on, no ' + PASSPHRASE_ENV + ')' };
    for (let attempt = 1; attempt <= PROMPT_TRIES; attempt++) {
      const typed = await prompt(attempt === 1 ? `Enter passphrase for key '${path}': ` : `Bad passphrase, try again for key '${path}': `);
      // An empty answer passes this key over, as ssh does.
      if (typed === '') return { kind: 'skipped', code: 'key-encrypted', reason: 'encrypted, and no passphrase was typed' };
      const opened = parsePrivateKey(text, typed);
      if (opened.kind === 'key') return { ...opened, blob: opened.key.getPublicSSH() };
    }
    throw new StartError(
      `wrong passphrase for the private key ${path} (${PROMPT_TRIES} tries)`,
      'key-passphrase',
      `Type that key's passphrase, load the key into ssh-agent (ssh-add ${path}), or pick another key with --identity.`,
    );
  }
}
