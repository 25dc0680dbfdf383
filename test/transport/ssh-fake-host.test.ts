// connectSsh against the fake host (a real ssh2 server on 127.0.0.1): host keys as OpenSSH judges them, with and
// without --accept-new-host-key, and every way of offering a key, encrypted ones included.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartError } from '../../src/errors.js';
import { startFakeHost, type FakeHost } from '../../src/fake-host/host.js';
import { sshConnector } from '../../src/transport/connector.js';
import { KeyRing, PASSPHRASE_ENV } from '../../src/transport/credentials.js';
import { connectSsh, type SshTarget } from '../../src/transport/ssh.js';
import type { SshSettings } from '../../src/transport/target.js';
import type { RunOptions } from '../../src/core/options.js';
import { encryptedCopy, makeKey, startAgent, type Agent } from './key-helpers.js';

const PASS = 'fake host passphrase';
const scratch = mkdtempSync(join(tmpdir(), 'ssh-fake-host-test-'));
let host: FakeHost;
let n = 0;

beforeAll(async () => {
  host = await startFakeHost();
});
afterAll(async () => {
  await host?.close();
  rmSync(scratch, { recursive: true, force: true });
});

// A fresh directory per test: its own HOME, known_hosts and keys.
function sandbox(): string {
  const dir = join(scratch, `t${++n}`);
  mkdirSync(dir);
  return dir;
}

function settings(over: Partial<SshSettings> = {}): SshSettings {
  return { identityFiles: [], certificateFiles: [], identitiesOnly: false, extraKnownHosts: [], acceptNewHostKey: false, hashKnownHosts: false, jumps: [], refusals: [], notes: [], ...over };
}

function target(dir: string, over: Partial<SshTarget> = {}): SshTarget {
  return { host: host.host, port: host.port, user: host.user, identity: host.privateKeyPath, knownHosts: host.knownHostsPath, connectTimeoutMs: 5000, env: { HOME: dir }, ...over };
}

async function refused(promise: Promise<unknown>): Promise<StartError> {
  const error = await promise.then(
    (transport) => {
      void (transport as { close?: () => Promise<void> }).close?.();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StartError);
  expect((error as StartError).exitCode).toBe(3);
  return error as StartError;
}

// Connects, runs one command, and closes: the connection really works.
async function works(t: SshTarget): Promise<void> {
  const transport = await connectSsh(t);
  try {
    const result = await transport.exec('echo connected');
    expect(result.stdout.toString()).toBe('connected\n');
  } finally {
    await transport.close();
  }
}

// Another key of another type, for "known by another key type" and "changed".
function otherKeyLine(type: 'ed25519' | 'ecdsa'): string {
  const pair = type === 'ecdsa' ? ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }) : ssh2.utils.generateKeyPairSync('ed25519');
  const [keyType, data] = pair.public.split(' ');
  return `[127.0.0.1]:${host.port} ${keyType} ${data}`;
}

describe('host keys', () => {
  it('a known host connects', async () => {
    await works(target(sandbox()));
  });

  it('an unknown host is refused with its SHA256 fingerprint and the way to accept it; nothing is written', async () => {
    const dir = sandbox();
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, '');
    const error = await refused(connectSsh(target(dir, { knownHosts })));
    expect(error.code).toBe('host-key-unknown');
    expect(error.message).toContain(host.hostKeyFingerprint);
    expect(error.remedy).toMatch(/--accept-new-host-key/);
    expect(readFileSync(knownHosts, 'utf8')).toBe('');
  });

  it('--accept-new-host-key records a new host in the first file, says so, and the next run matches it', async () => {
    const dir = sandbox();
    const knownHosts = join(dir, '.ssh', 'known_hosts');
    const said: string[] = [];
    await works(target(dir, { knownHosts, ssh: settings({ acceptNewHostKey: true, extraKnownHosts: [join(dir, 'other')] }), notify: (line) => said.push(line) }));
    expect(readFileSync(knownHosts, 'utf8')).toBe(`${host.knownHostsLine}\n`);
    expect(statSync(knownHosts).mode & 0o777).toBe(0o600);
    expect(existsSync(join(dir, 'other'))).toBe(false);
    expect(said).toEqual([`Warning: permanently added '[127.0.0.1]:${host.port}' (ED25519 ${host.hostKeyFingerprint}) to ${knownHosts} (--accept-new-host-key).`]);
    said.length = 0;
    await works(target(dir, { knownHosts, notify: (line) => said.push(line) }));
    expect(said).toEqual([]);
  });

  it('a changed key is refused loudly, even with --accept-new-host-key, and nothing is written', async () => {
    const dir = sandbox();
    const knownHosts = join(dir, 'known_hosts');
    const line = otherKeyLine('ed25519');
    writeFileSync(knownHosts, `${line}\n`);
    const error = await refused(connectSsh(target(dir, { knownHosts, ssh: settings({ acceptNewHostKey: true }) })));
    expect(error.code).toBe('host-key-changed');
    expect(error.message).toMatch(/^WARNING: .* has CHANGED/);
    expect(error.message).toContain(host.hostKeyFingerprint);
    expect(error.message).toMatch(/--accept-new-host-key does not change that/);
    expect(readFileSync(knownHosts, 'utf8')).toBe(`${line}\n`);
  });

  it('a revoked key is refused, even with --accept-new-host-key and a line that accepts it', async () => {
    const dir = sandbox();
    const knownHosts = join(dir, 'known_hosts');
    const key = host.knownHostsLine.split(' ').slice(1).join(' ');
    writeFileSync(knownHosts, `${host.knownHostsLine}\n@revoked * ${key}\n`);
    const error = await refused(connectSsh(target(dir, { knownHosts, ssh: settings({ acceptNewHostKey: true }) })));
    expect(error.code).toBe('host-key-revoked');
    expect(error.message).toMatch(/REVOKED .*known_hosts:2/);
  });

  it('a host known only by another key type is not "new": refused even with --accept-new-host-key', async () => {
    const dir = sandbox();
    const knownHosts = join(dir, 'known_hosts');
    const line = otherKeyLine('ecdsa');
    writeFileSync(knownHosts, `${line}\n`);
    const error = await refused(connectSsh(target(dir, { knownHosts, ssh: settings({ acceptNewHostKey: true }) })));
    expect(error.code).toBe('host-key-changed');
    expect(error.message).toMatch(/known by its ECDSA key/);
    expect(readFileSync(knownHosts, 'utf8')).toBe(`${line}\n`);
  });

  it('a portless entry with the very key is accepted for another port, as OpenSSH 9.2 does; another key there is not', async () => {
    const dir = sandbox();
    const known = join(dir, 'known_hosts');
    const [, type, data] = readFileSync(host.knownHostsPath, 'utf8').trim().split(/\s+/);
    writeFileSync(known, `${host.host} ${type} ${data}\n`);
    await works(target(dir, { knownHosts: known }));
    const other = otherKeyLine('ed25519').split(' ').slice(1).join(' ');
    writeFileSync(known, `${host.host} ${other}\n`);
    const error = await refused(connectSsh(target(dir, { knownHosts: known })));
    expect(error.code).toBe('host-key-unknown');
  });

  it('passes the ssh config\'s notes on to the operator', async () => {
    const said: string[] = [];
    await works(target(sandbox(), { ssh: settings({ notes: ['~/.ssh/config line 3: "~other/key": ~user is not expanded'] }), notify: (line) => said.push(line) }));
    expect(said).toEqual(['apply-ws-fix: ssh config: ~/.ssh/config line 3: "~other/key": ~user is not expanded']);
  });

  it('a config refusal stops before any connection (exit 3, ssh-config-unsupported), naming the lines', async () => {
    const before = host.stats.connections;
    const error = await refused(connectSsh(target(sandbox(), { ssh: settings({ refusals: ['cfg line 2: StrictHostKeyChecking no: …'] }) })));
    expect(error.code).toBe('ssh-config-unsupported');
    expect(error.message).toContain('cfg line 2: StrictHostKeyChecking no');
    expect(host.stats.connections).toBe(before);
  });

  it('HostKeyAlias: the alias\'s entry is what is checked, and accept-new records under the alias, hashed with HashKnownHosts', async () => {
    const dir = sandbox();
    const known = join(dir, 'known_hosts');
    const keyOf = readFileSync(host.knownHostsPath, 'utf8').trim().split(/\s+/).slice(1, 3).join(' ');
    writeFileSync(known, `alias-of-fake ${keyOf}\n`);
    await works(target(dir, { knownHosts: known, ssh: settings({ hostKeyAlias: 'alias-of-fake' }) }));
    writeFileSync(known, `${readFileSync(host.knownHostsPath, 'utf8')}`);
    const unknown = await refused(connectSsh(target(dir, { knownHosts: known, ssh: settings({ hostKeyAlias: 'alias-of-fake' }) })));
    expect(unknown.code).toBe('host-key-unknown');
    expect(unknown.message).toContain('alias-of-fake');
    const said: string[] = [];
    await works(target(dir, { knownHosts: known, notify: (line) => said.push(line), ssh: settings({ hostKeyAlias: 'alias-of-fake', acceptNewHostKey: true, hashKnownHosts: true, acceptNewSource: 'cfg line 4: StrictHostKeyChecking accept-new' }) }));
    expect(said.join('\n')).toContain("permanently added 'alias-of-fake'");
    expect(said.join('\n')).toContain('(cfg line 4: StrictHostKeyChecking accept-new)');
    expect(readFileSync(known, 'utf8').trim().split('\n').at(-1)).toMatch(/^\|1\|/);
    await works(target(dir, { knownHosts: known, ssh: settings({ hostKeyAlias: 'alias-of-fake' }) }));
  });

  it('ProxyCommand: the connection runs over a local command\'s stdin and stdout', async () => {
    const dir = sandbox();
    const pipe = join(dir, 'pipe.mjs');
    writeFileSync(join(dir, 'kh'), `via-proxy ${readFileSync(host.knownHostsPath, 'utf8').trim().split(/\s+/).slice(1, 3).join(' ')}\n`);
    writeFileSync(pipe, "import { connect } from 'node:net';\nconst s = connect(Number(process.argv[3]), process.argv[2]);\nprocess.stdin.pipe(s); s.pipe(process.stdout);\ns.on('close', () => process.exit(0));\n");
    const before = host.stats.connections;
    // The port given to ssh2 is closed: only the ProxyCommand's own connection can reach the fake host.
    await works(target(dir, { port: 1, env: { HOME: dir, PATH: process.env['PATH'] ?? '' }, knownHosts: join(dir, 'kh'), ssh: settings({ hostKeyAlias: 'via-proxy', proxyCommand: { command: `${process.execPath} ${pipe} ${host.host} ${host.port}`, hop: 'x' } }) }));
    expect(host.stats.connections).toBe(before + 1);
  });

  it('a ProxyCommand that fails is reported with what it said', async () => {
    const dir = sandbox();
    const command = "sh -c 'echo no route to the bastion >&2; exit 7'";
    const error = await refused(connectSsh(target(dir, { ssh: settings({ proxyCommand: { command, hop: 'x' } }) })));
    expect(error.code).toBe('connect-proxy-command');
    expect(error.message).toContain('the ProxyCommand (sh …) ended (exit 7): no route to the bastion');
    // Its arguments (which may hold a token) are not repeated.
    expect(error.message).not.toContain('echo no route');
  });

  it('what a ProxyCommand says on stderr after its exit is still in the message', async () => {
    // The exit comes first here, its stderr 200 ms later (a child of it holds stderr open): the message waits for both.
    const dir = sandbox();
    const command = "sh -c '(exec >/dev/null; sleep 0.2; echo said after the exit >&2) & exit 7'";
    const error = await refused(connectSsh(target(dir, { ssh: settings({ proxyCommand: { command, hop: 'x' } }) })));
    expect(error.code).toBe('connect-proxy-command');
    expect(error.message).toContain('the ProxyCommand (sh …) ended (exit 7): said after the exit');
  });

  it('the key may be in a later file (known_hosts2, a global file), read but never written', async () => {
    const dir = sandbox();
    await works(target(dir, { knownHosts: join(dir, 'missing'), ssh: settings({ extraKnownHosts: [join(dir, 'also-missing'), host.knownHostsPath] }) }));
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });
});

describe('credentials', () => {
  it(`an encrypted --identity opens with ${PASSPHRASE_ENV}`, async () => {
    const dir = sandbox();
    const identity = encryptedCopy(host.privateKeyPath, join(dir, 'locked'), PASS);
    await works(target(dir, { identity, env: { HOME: dir, [PASSPHRASE_ENV]: PASS } }));
  });

  it('a wrong passphrase is exit 3 with a remedy, before any connection, and the passphrase in no message', async () => {
    const dir = sandbox();
    const identity = encryptedCopy(host.privateKeyPath, join(dir, 'locked'), PASS);
    const before = host.stats.connections;
    const error = await refused(connectSsh(target(dir, { identity, env: { HOME: dir, [PASSPHRASE_ENV]: 'not it' } })));
    expect(error.code).toBe('key-passphrase');
    expect(error.remedy).toMatch(/APPLY_WS_FIX_PASSPHRASE/);
    expect(`${error.message} ${error.remedy}`).not.toMatch(/not it/);
    expect(host.stats.connections).toBe(before);
  });

  it('an encrypted key with the injected prompt: asked once, then connected', async () => {
    const dir = sandbox();
    const identity = encryptedCopy(host.privateKeyPath, join(dir, 'locked'), PASS);
    const questions: string[] = [];
    const keyring = new KeyRing({ env: {}, prompt: async (q) => (questions.push(q), PASS) });
    await works(target(dir, { identity, keyring }));
    await works(target(dir, { identity, keyring }));
    expect(questions).toEqual([`Enter passphrase for key '${identity}': `]);
  });

  it('no --identity: the first default key file that opens (~/.ssh/id_ed25519 here)', async () => {
    const dir = sandbox();
    mkdirSync(join(dir, '.ssh'));
    makeKey(join(dir, '.ssh'), 'id_ecdsa');
    copyFileSync(host.privateKeyPath, join(dir, '.ssh', 'id_ed25519'));
    await works(target(dir, { identity: undefined }));
  });

  it('no --identity: an IdentityFile from the config', async () => {
    const dir = sandbox();
    await works(target(dir, { identity: undefined, ssh: settings({ identityFiles: [host.privateKeyPath] }) }));
  });

  it('a key the host does not accept: exit 3 naming the user and what was offered', async () => {
    const dir = sandbox();
    const wrong = makeKey(dir, 'wrong');
    const error = await refused(connectSsh(target(dir, { identity: wrong.path })));
    expect(error.code).toBe('auth');
    expect(error.message).toContain(`authentication as ${host.user} failed`);
    expect(error.message).toContain(`offered: ${wrong.path}`);
  });

  describe('with an ssh-agent', () => {
    let agent: Agent;
    beforeAll(async () => {
      agent = await startAgent();
    });
    afterAll(() => agent?.stop());

    it('no --identity and no key files: the agent\'s key gets in; an encrypted --identity it holds needs no passphrase', async () => {
      const dir = sandbox();
      agent.add(makeKey(dir, 'unrelated').path);
      agent.add(host.privateKeyPath);
      const noPrompt = new KeyRing({ env: { SSH_AUTH_SOCK: agent.socket }, prompt: async () => expect.fail('asked for a passphrase') });
      await works(target(dir, { identity: undefined, env: { HOME: dir, SSH_AUTH_SOCK: agent.socket } }));
      const identity = encryptedCopy(host.privateKeyPath, join(dir, 'locked'), PASS);
      await works(target(dir, { identity, keyring: noPrompt }));
    });
  });
});

describe('the CLI connector', () => {
  it('asks for the passphrase before the run (preload), then connects without asking again; says what it records', async () => {
    const dir = sandbox();
    const identity = encryptedCopy(host.privateKeyPath, join(dir, 'locked'), PASS);
    const stdin = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, setRawMode: () => stdin });
    const stderr = Object.assign(new PassThrough(), { isTTY: true });
    const written: string[] = [];
    stderr.on('data', (chunk: Buffer) => written.push(chunk.toString()));
    const knownHosts = join(dir, 'known_hosts');
    const options = {
      host: host.host,
      port: host.port,
      user: host.user,
      identity,
      knownHosts,
      connectTimeoutMs: 5000,
      ssh: settings({ acceptNewHostKey: true }),
    } as RunOptions;
    const pending = sshConnector({ env: { HOME: dir }, stdin, stderr }, options);
    await new Promise((r) => setTimeout(r, 50));
    stdin.write(`${PASS}\r`);
    const connect = await pending;
    expect(written.join('')).toBe(`Enter passphrase for key '${identity}': \n`);
    const transport = await connect(options);
    await transport.close();
    expect(written.join('')).toMatch(/Warning: permanently added/);
    expect(written.join('')).not.toContain(PASS);
  });

  it('a fleet: every run\'s keys are loaded up front, a key file shared by runs is asked for once', async () => {
    const dir = sandbox();
    const identity = encryptedCopy(host.privateKeyPath, join(dir, 'locked'), PASS);
    const stdin = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, setRawMode: () => stdin });
    const stderr = Object.assign(new PassThrough(), { isTTY: true });
    const written: string[] = [];
    stderr.on('data', (chunk: Buffer) => written.push(chunk.toString()));
    const run = { host: host.host, port: host.port, user: host.user, identity, knownHosts: host.knownHostsPath, connectTimeoutMs: 5000 } as RunOptions;
    const pending = sshConnector({ env: { HOME: dir }, stdin, stderr }, [run, { ...run }]);
    await new Promise((r) => setTimeout(r, 50));
    stdin.write(`${PASS}\r`);
    const connect = await pending;
    for (const options of [run, run]) await (await connect(options)).close();
    expect(written.join('').match(/Enter passphrase/g)).toHaveLength(1);
  });
});
