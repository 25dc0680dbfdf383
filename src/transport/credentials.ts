// The keys to offer a host, as OpenSSH picks them: the ssh-agent first, then key files; encrypted key files are opened
// with APPLY_WS_FIX_PASSPHRASE or a passphrase typed at a terminal prompt, and the passphrase goes nowhere else.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2, { type BaseAgent, type ParsedKey } from 'ssh2';
import { StartError, messageOf } from '../errors.js';
import { parsePrivateKey, publicBlobOfLine, publicBlobOfPrivateKey } from './key-file.js';

// ssh2 is CommonJS: under Node's ESM loader only its default export carries the agent classes.
const { OpenSSHAgent } = ssh2;

/** Asks for a passphrase without echoing it; resolves to what was typed ('' when the operator just pressed Enter). */
export type PassphrasePrompt = (question: string) => Promise<string>;

export const PASSPHRASE_ENV = 'APPLY_WS_FIX_PASSPHRASE';
/** Tried in this order when neither --identity nor an IdentityFile names a key (README: the options table). */
export const DEFAULT_KEY_FILES = ['id_ed25519', 'id_ecdsa', 'id_rsa'] as const;
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
}

type Loaded =
  | { kind: 'key'; key: ParsedKey }
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

type AgentState = { socket: string; blobs: Buffer[] } | { socket: string; error: string };

// An agent that did not answer is worth a line in an authentication failure.
function noteOf(agent: AgentState | undefined): string[] {
  return agent !== undefined && 'error' in agent ? [`the ssh-agent at ${agent.socket}: ${agent.error}`] : [];
}

// An agent that shows only one of its keys: --identity names one key, and an agent full of others must not use up
// the server's MaxAuthTries before it (OpenSSH's IdentitiesOnly, with the agent still signing for an encrypted file).
class OneKeyAgent extends OpenSSHAgent {
  constructor(
    socket: string,
    private readonly blob: Buffer,
  ) {
    super(socket);
  }

  override getIdentities(cb: Parameters<InstanceType<typeof OpenSSHAgent>['getIdentities']>[0]): void {
    super.getIdentities((err, keys) => (err ? cb(err) : cb(undefined, (keys ?? []).filter((key) => blobOfAgentKey(key)?.equals(this.blob)))));
  }
}

// The agent hands back parsed keys; the typings also allow wrapped entries, which carry no blob we would trust.
function blobOfAgentKey(key: unknown): Buffer | undefined {
  const candidate = key as { getPublicSSH?: () => Buffer };
  return typeof candidate.getPublicSSH === 'function' ? candidate.getPublicSSH() : undefined;
}

/** Loads each key file once per run, so a passphrase is asked for at most once, and remembers the agent's keys. */
export class KeyRing {
  private agent: Promise<AgentState | undefined> | undefined;
  private readonly files = new Map<string, Promise<Loaded>>();

  constructor(private readonly options: KeyRingOptions) {}

  /** The agent, then the key files; an error (exit 3) when there is nothing usable to offer. */
  async credentials(spec: CredentialSpec): Promise<Credentials> {
    // --identity asks the agent only about an encrypted key: a plain key file needs no agent at all.
    if (spec.identity !== undefined) return this.identityCredentials(spec.identity);
    const agent = await this.agentState();
    const agentNote = noteOf(agent);

    const home = this.options.env['HOME'] ?? homedir();
    const files = spec.identityFiles.length > 0 ? spec.identityFiles : DEFAULT_KEY_FILES.map((name) => join(home, '.ssh', name));
    const credentials: Credentials = { keys: [], offered: [], skipped: [...agentNote] };
    if (agent !== undefined && 'blobs' in agent) {
      credentials.agent = agent.socket;
      credentials.offered.push(`the ssh-agent's ${agent.blobs.length} key(s)`);
    }
    const passedOver: { path: string; code: SkipCode }[] = [];
    for (const path of files) {
      const loaded = await this.load(path);
      if (loaded.kind === 'key') {
        credentials.keys.push({ path, key: loaded.key });
        credentials.offered.push(path);
      } else if (loaded.kind === 'skipped') {
        credentials.skipped.push(`${path}: ${loaded.reason}`);
        passedOver.push({ path, code: loaded.code });
      }
    }
    if (credentials.agent === undefined && credentials.keys.length === 0) {
      const tried = spec.identityFiles.length > 0 ? spec.identityFiles.join(', ') : `~/.ssh/${DEFAULT_KEY_FILES.join(', ')}`;
      const why = credentials.skipped.length > 0 ? `; ${credentials.skipped.join('; ')}` : '';
      // The most telling reason wins: a passphrase that failed, then an encrypted key, then "nothing there".
      const blocked = (['key-passphrase', 'key-encrypted'] as const).map((code) => passedOver.find((entry) => entry.code === code)).find((entry) => entry !== undefined);
      throw new StartError(
        `no SSH key to offer: no --identity, no ssh-agent (SSH_AUTH_SOCK) and no usable key in ${tried}${why}`,
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
  private async identityCredentials(path: string): Promise<Credentials> {
    const loaded = await this.load(path);
    switch (loaded.kind) {
      case 'key':
        return { keys: [{ path, key: loaded.key }], offered: [path], skipped: [] };
      case 'in-agent':
        return { agent: new OneKeyAgent(loaded.socket, loaded.blob), keys: [], offered: [`the ssh-agent's copy of ${path}`], skipped: [] };
      case 'absent':
        throw new StartError(`cannot read the identity file ${path}: no such file`, 'identity', 'Check the path given to --identity.');
      case 'skipped':
        throw new StartError(`cannot use the identity file ${path}: ${loaded.reason}`, loaded.code, remedyFor(loaded.code, path));
    }
  }

  // One look at the agent per run; an agent that does not answer is reported, not fatal.
  private agentState(): Promise<AgentState | undefined> {
    const socket = this.options.env['SSH_AUTH_SOCK'] || undefined;
    if (socket === undefined) return Promise.resolve(undefined);
    this.agent ??= new Promise<AgentState>((resolve) => {
      const timer = setTimeout(() => resolve({ socket, error: 'no answer' }), this.options.agentTimeoutMs ?? 5000);
      new OpenSSHAgent(socket).getIdentities((err, keys) => {
        clearTimeout(timer);
        resolve(err ? { socket, error: `did not answer (${err.message})` } : { socket, blobs: (keys ?? []).flatMap((key) => blobOfAgentKey(key) ?? []) });
      });
    });
    return this.agent;
  }

  private load(path: string): Promise<Loaded> {
    let loaded = this.files.get(path);
    if (loaded === undefined) {
      loaded = this.read(path);
      this.files.set(path, loaded);
    }
    return loaded;
  }

  private async read(path: string): Promise<Loaded> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
      return { kind: 'skipped', code: 'identity', reason: `cannot read it (${messageOf(error)})` };
    }
    const plain = parsePrivateKey(text);
    if (plain.kind === 'key') return plain;
    if (plain.kind !== 'encrypted') return { kind: 'skipped', code: 'identity', reason: plain.kind === 'unreadable' ? `not a private key ssh2 can read (${plain.reason})` : 'unreadable' };

    const blob = publicBlobOfPrivateKey(text) ?? (await readFile(`${path}.pub`, 'utf8').then(publicBlobOfLine, () => undefined));
    const agent = await this.agentState();
    if (blob !== undefined && agent !== undefined && 'blobs' in agent && agent.blobs.some((held) => held.equals(blob))) return { kind: 'in-agent', socket: agent.socket, blob };

    const fromEnv = this.options.env[PASSPHRASE_ENV];
    if (fromEnv !== undefined && fromEnv !== '') {
      const opened = parsePrivateKey(text, fromEnv);
      if (opened.kind === 'key') return opened;
      return { kind: 'skipped', code: 'key-passphrase', reason: `encrypted, and ${PASSPHRASE_ENV} does not decrypt it` };
    }
    const prompt = this.options.prompt;
    if (prompt === undefined) return { kind: 'skipped', code: 'key-encrypted', reason: 'encrypted, and no passphrase (no terminal to ask on, no ' + PASSPHRASE_ENV + ')' };
    for (let attempt = 1; attempt <= PROMPT_TRIES; attempt++) {
      const typed = await prompt(attempt === 1 ? `Enter passphrase for key '${path}': ` : `Bad passphrase, try again for key '${path}': `);
      // An empty answer passes this key over, as ssh does.
      if (typed === '') return { kind: 'skipped', code: 'key-encrypted', reason: 'encrypted, and no passphrase was typed' };
      const opened = parsePrivateKey(text, typed);
      if (opened.kind === 'key') return opened;
    }
    throw new StartError(
      `wrong passphrase for the private key ${path} (${PROMPT_TRIES} tries)`,
      'key-passphrase',
      `Type that key's passphrase, load the key into ssh-agent (ssh-add ${path}), or pick another key with --identity.`,
    );
  }
}
