import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InterruptedError, StartError } from '../../src/errors.js';
import { KeyRing, PASSPHRASE_ENV, type Credentials, type PassphrasePrompt } from '../../src/transport/credentials.js';
import { parsePrivateKey, publicBlobOfLine, publicBlobOfPrivateKey } from '../../src/transport/key-file.js';
import { readHidden, terminalPassphrasePrompt } from '../../src/transport/passphrase-prompt.js';
import { encryptedCopy, makeKey, startAgent, type Agent } from './key-helpers.js';

const PASS = 'correct horse battery staple';
const scratch = mkdtempSync(join(tmpdir(), 'credentials-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const plain = makeKey(scratch, 'plain');
const locked = { path: encryptedCopy(plain.path, join(scratch, 'locked'), PASS), pub: plain.pub };
const other = makeKey(scratch, 'other');
writeFileSync(join(scratch, 'not-a-key'), 'hello\n');

// Every passphrase prompt call, with scripted answers; fails the test if asked more than scripted.
function scriptedPrompt(answers: string[]): PassphrasePrompt & { questions: string[] } {
  const questions: string[] = [];
  const prompt = async (question: string): Promise<string> => {
    questions.push(question);
    const answer = answers.shift();
    if (answer === undefined) throw new Error(`unexpected prompt: ${question}`);
    return answer;
  };
  return Object.assign(prompt, { questions });
}

async function startError(promise: Promise<unknown>): Promise<StartError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StartError);
  return error as StartError;
}

// No message may carry the passphrase, wherever it came from.
function expectNoSecret(error: StartError): void {
  expect(`${error.message} ${error.remedy ?? ''}`).not.toContain(PASS);
  expect(JSON.stringify(error)).not.toContain(PASS);
}

describe('key files', () => {
  it('tells a plain key, an encrypted one, a wrong passphrase and a non-key apart', () => {
    const text = readFileSync(locked.path, 'utf8');
    expect(parsePrivateKey(readFileSync(plain.path, 'utf8')).kind).toBe('key');
    expect(parsePrivateKey(text).kind).toBe('encrypted');
    expect(parsePrivateKey(text, 'wrong').kind).toBe('wrong-passphrase');
    expect(parsePrivateKey(text, PASS).kind).toBe('key');
    expect(parsePrivateKey('hello').kind).toBe('unreadable');
  });

  it('reads the public key of an encrypted OpenSSH key without its passphrase', () => {
    expect(publicBlobOfPrivateKey(readFileSync(locked.path, 'utf8'))).toEqual(publicBlobOfLine(plain.pub));
    expect(publicBlobOfPrivateKey('-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----')).toBeUndefined();
  });
});

describe('KeyRing: --identity', () => {
  const ring = (env: NodeJS.ProcessEnv = {}, prompt?: PassphrasePrompt) => new KeyRing({ env: { HOME: scratch, ...env }, prompt });

  it('offers that key alone, and a plain key never even asks the agent', async () => {
    const socket = join(scratch, 'watched.sock');
    let asked = 0;
    const watcher = createServer((connection) => {
      asked += 1;
      connection.destroy();
    });
    await new Promise<void>((resolve) => watcher.listen(socket, resolve));
    try {
      const credentials = await ring({ SSH_AUTH_SOCK: socket }).credentials({ identity: plain.path, identityFiles: [] });
      expect(credentials.agent).toBeUndefined();
      expect(credentials.offered).toEqual([plain.path]);
      expect(asked).toBe(0);
    } finally {
      await new Promise((resolve) => watcher.close(resolve));
    }
  });

  it('a missing file or a non-key is exit 3 naming the file', async () => {
    const missing = await startError(ring().credentials({ identity: join(scratch, 'nope'), identityFiles: [] }));
    expect(missing).toMatchObject({ code: 'identity', exitCode: 3 });
    expect(missing.message).toMatch(/nope: no such file/);
    const notKey = await startError(ring().credentials({ identity: join(scratch, 'not-a-key'), identityFiles: [] }));
    expect(notKey).toMatchObject({ code: 'identity' });
  });

  it(`an encrypted key opens with ${PASSPHRASE_ENV}`, async () => {
    const credentials = await ring({ [PASSPHRASE_ENV]: PASS }).credentials({ identity: locked.path, identityFiles: [] });
    expect(credentials.keys.map((k) => k.key.getPublicSSH())).toEqual([publicBlobOfLine(plain.pub)]);
  });

  it(`a wrong ${PASSPHRASE_ENV}: exit 3, a clear remedy, and the passphrase in no message`, async () => {
    const error = await startError(ring({ [PASSPHRASE_ENV]: `${PASS}!` }).credentials({ identity: locked.path, identityFiles: [] }));
    expect(error).toMatchObject({ code: 'key-passphrase', exitCode: 3 });
    expect(error.message).toMatch(/APPLY_WS_FIX_PASSPHRASE does not decrypt it/);
    expect(error.remedy).toMatch(/ssh-add/);
    expect(`${error.message}${error.remedy}`).not.toContain(`${PASS}!`);
  });

  it('no passphrase and no terminal: exit 3 saying how to give one', async () => {
    const error = await startError(ring().credentials({ identity: locked.path, identityFiles: [] }));
    expect(error).toMatchObject({ code: 'key-encrypted' });
    expect(error.remedy).toMatch(/terminal.*APPLY_WS_FIX_PASSPHRASE.*ssh-add/);
  });

  it('on a terminal: asks (OpenSSH\'s wording), again after a wrong answer, and once per file per run', async () => {
    const prompt = scriptedPrompt(['wrong', PASS]);
    const keys = ring({}, prompt);
    await keys.credentials({ identity: locked.path, identityFiles: [] });
    await keys.credentials({ identity: locked.path, identityFiles: [] });
    expect(prompt.questions).toEqual([`Enter passphrase for key '${locked.path}': `, `Bad passphrase, try again for key '${locked.path}': `]);
  });

  it('three wrong answers: exit 3, key-passphrase, no passphrase in the message', async () => {
    const error = await startError(ring({}, scriptedPrompt(['a', 'b', PASS.toUpperCase()])).credentials({ identity: locked.path, identityFiles: [] }));
    expect(error).toMatchObject({ code: 'key-passphrase' });
    expect(error.message).toMatch(/wrong passphrase .* \(3 tries\)/);
    expectNoSecret(error);
  });

  it('an empty answer passes the key over: then --identity has nothing to offer', async () => {
    const error = await startError(ring({}, scriptedPrompt([''])).credentials({ identity: locked.path, identityFiles: [] }));
    expect(error).toMatchObject({ code: 'key-encrypted' });
  });

  it('Ctrl-C at the prompt is an interrupt (exit 130), not a key error', async () => {
    const keys = ring({}, async () => {
      throw new InterruptedError('SIGINT');
    });
    await expect(keys.credentials({ identity: locked.path, identityFiles: [] })).rejects.toBeInstanceOf(InterruptedError);
  });
});

describe('KeyRing: default key files and IdentityFile', () => {
  const home = join(scratch, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  encryptedCopy(plain.path, join(home, '.ssh', 'id_ed25519'), PASS);
  makeKey(join(home, '.ssh'), 'id_ecdsa');

  it('offers every default file it can open, and says which it passed over', async () => {
    const credentials = await new KeyRing({ env: { HOME: home } }).credentials({ identityFiles: [] });
    expect(credentials.offered).toEqual([join(home, '.ssh', 'id_ecdsa')]);
    expect(credentials.skipped.join('\n')).toMatch(/id_ed25519: encrypted, and no passphrase/);
  });

  it('opens the encrypted default file with the passphrase; the defaults come in OpenSSH\'s order (rsa, ecdsa, ed25519)', async () => {
    const credentials = await new KeyRing({ env: { HOME: home, [PASSPHRASE_ENV]: PASS } }).credentials({ identityFiles: [] });
    expect(credentials.offered).toEqual([join(home, '.ssh', 'id_ecdsa'), join(home, '.ssh', 'id_ed25519')]);
  });

  it('IdentityFile entries replace the defaults; missing ones are passed over silently', async () => {
    const credentials = await new KeyRing({ env: { HOME: home } }).credentials({ identityFiles: [join(scratch, 'nope'), other.path] });
    expect(credentials).toMatchObject({ offered: [other.path], skipped: [] });
  });

  it('nothing to offer at all: exit 3, no-credentials, or the encrypted key\'s remedy when one was passed over', async () => {
    const empty = await startError(new KeyRing({ env: { HOME: join(scratch, 'nobody') } }).credentials({ identityFiles: [] }));
    expect(empty).toMatchObject({ code: 'no-credentials' });
    expect(empty.remedy).toMatch(/--identity/);
    const lockedOnly = await startError(new KeyRing({ env: { HOME: scratch } }).credentials({ identityFiles: [locked.path] }));
    expect(lockedOnly).toMatchObject({ code: 'key-encrypted' });
    const wrong = await startError(new KeyRing({ env: { HOME: scratch, [PASSPHRASE_ENV]: 'nope' } }).credentials({ identityFiles: [locked.path] }));
    expect(wrong).toMatchObject({ code: 'key-passphrase' });
  });
});

describe('KeyRing: each key once, and certificates', () => {
  it('the same key under two file names is offered once', async () => {
    const { copyFileSync } = await import('node:fs');
    copyFileSync(plain.path, join(scratch, 'plain-again'));
    const credentials = await new KeyRing({ env: { HOME: scratch } }).credentials({ identityFiles: [plain.path, join(scratch, 'plain-again'), plain.path] });
    expect(credentials.offered).toEqual([plain.path]);
  });

  it('KEY-cert.pub beside a key is offered after it as a certificate; CertificateFile replaces that lookup', async () => {
    const { execFileSync } = await import('node:child_process');
    const ca = makeKey(scratch, 'ca');
    const user = makeKey(scratch, 'certified');
    execFileSync('ssh-keygen', ['-q', '-s', ca.path, '-I', 'unit', '-n', 'someone', `${user.path}.pub`]);
    const beside = await new KeyRing({ env: { HOME: scratch } }).credentials({ identityFiles: [user.path] });
    expect(beside.offered).toEqual([user.path, `${user.path}-cert.pub (certificate)`]);
    const certKey = beside.keys[1]!.key;
    expect(certKey.type).toBe('ssh-ed25519-cert-v01@openssh.com');
    expect(certKey.getPublicSSH().equals(Buffer.from(readFileSync(`${user.path}-cert.pub`, 'utf8').split(/\s+/)[1]!, 'base64'))).toBe(true);
    // It signs with the plain key.
    const data = Buffer.from('to be signed');
    expect(certKey.sign(data)).toEqual(beside.keys[0]!.key.sign(data));
    const { renameSync } = await import('node:fs');
    renameSync(`${user.path}-cert.pub`, join(scratch, 'named.cert'));
    const named = await new KeyRing({ env: { HOME: scratch } }).credentials({ identityFiles: [user.path], certificateFiles: [join(scratch, 'named.cert')] });
    expect(named.offered).toEqual([user.path, `${join(scratch, 'named.cert')} (certificate)`]);
    const orphan = await new KeyRing({ env: { HOME: scratch } }).credentials({ identityFiles: [other.path], certificateFiles: [join(scratch, 'named.cert')] });
    expect(orphan.skipped.join('\n')).toMatch(/named\.cert: no private key for this certificate/);
    writeFileSync(join(scratch, 'not.cert'), `${plain.pub}\n`);
    const notCert = await new KeyRing({ env: { HOME: scratch } }).credentials({ identityFiles: [plain.path], certificateFiles: [join(scratch, 'not.cert')] });
    expect(notCert.skipped.join('\n')).toMatch(/not\.cert: not an OpenSSH user certificate/);
  });
});

describe('KeyRing with an ssh-agent', () => {
  let agent: Agent;
  beforeAll(async () => {
    agent = await startAgent();
    agent.add(plain.path);
    agent.add(other.path);
  });
  afterAll(() => agent?.stop());

  it('offers the agent first; an encrypted file whose key the agent holds is not opened (no prompt)', async () => {
    const home = join(scratch, 'agent-home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    encryptedCopy(plain.path, join(home, '.ssh', 'id_ed25519'), PASS);
    const credentials = await new KeyRing({ env: { HOME: home, SSH_AUTH_SOCK: agent.socket }, prompt: scriptedPrompt([]) }).credentials({ identityFiles: [] });
    expect(credentials.agent).toBe(agent.socket);
    expect(credentials.keys).toEqual([]);
    expect(credentials.offered).toEqual(["the ssh-agent's 2 key(s)"]);
  });

  it('--identity of an encrypted key the agent holds: the agent signs, showing that one key only', async () => {
    const credentials: Credentials = await new KeyRing({ env: { SSH_AUTH_SOCK: agent.socket }, prompt: scriptedPrompt([]) }).credentials({ identity: locked.path, identityFiles: [] });
    expect(typeof credentials.agent).toBe('object');
    const shown = await new Promise<Buffer[]>((resolve, reject) =>
      (credentials.agent as { getIdentities(cb: (e: Error | undefined, k?: { getPublicSSH(): Buffer }[]) => void): void }).getIdentities((e, keys) => (e ? reject(e) : resolve((keys ?? []).map((k) => k.getPublicSSH())))),
    );
    expect(shown).toEqual([publicBlobOfLine(plain.pub)]);
  });

  it('IdentitiesOnly: the agent shows only the keys of the named files (here: plain, not other)', async () => {
    const credentials = await new KeyRing({ env: { HOME: scratch, SSH_AUTH_SOCK: agent.socket } }).credentials({ identityFiles: [plain.path], identitiesOnly: true });
    expect(credentials.offered).toEqual(["the ssh-agent's copy of 1 named key(s) (IdentitiesOnly)"]);
    // The file's own key is not offered again after the agent's copy of it: one attempt per key.
    expect(credentials.keys).toEqual([]);
    const shown = await new Promise<Buffer[]>((resolve, reject) =>
      (credentials.agent as { getIdentities(cb: (e: Error | undefined, k?: { getPublicSSH(): Buffer }[]) => void): void }).getIdentities((e, keys) => (e ? reject(e) : resolve((keys ?? []).map((k) => k.getPublicSSH())))),
    );
    expect(shown).toEqual([publicBlobOfLine(plain.pub)]);
  });

  it('IdentitiesOnly with a file the agent does not hold: no agent at all, the file alone, and the agent\'s keys said not offered', async () => {
    const third = makeKey(scratch, 'third');
    const credentials = await new KeyRing({ env: { HOME: scratch, SSH_AUTH_SOCK: agent.socket } }).credentials({ identityFiles: [third.path], identitiesOnly: true });
    expect(credentials.agent).toBeUndefined();
    expect(credentials.offered).toEqual([third.path]);
    expect(credentials.skipped).toEqual(["the ssh-agent's 2 key(s): not named by IdentityFile (IdentitiesOnly yes)"]);
  });

  it('IdentityAgent none: the agent is not asked', async () => {
    const credentials = await new KeyRing({ env: { HOME: scratch, SSH_AUTH_SOCK: agent.socket } }).credentials({ identityFiles: [other.path], identityAgent: 'none' });
    expect(credentials.agent).toBeUndefined();
    expect(credentials.offered).toEqual([other.path]);
  });

  it('IdentityAgent PATH: that socket, not SSH_AUTH_SOCK', async () => {
    const credentials = await new KeyRing({ env: { HOME: scratch, SSH_AUTH_SOCK: join(scratch, 'dead.sock') } }).credentials({ identityFiles: [], identityAgent: agent.socket });
    expect(credentials.agent).toBe(agent.socket);
  });

  it('a certificate the agent holds is listed and offered through the agent (ssh2 alone would drop it)', async () => {
    const { execFileSync } = await import('node:child_process');
    const ca = makeKey(scratch, 'agent-ca');
    const user = makeKey(scratch, 'agent-certified');
    execFileSync('ssh-keygen', ['-q', '-s', ca.path, '-I', 'unit', '-n', 'someone', `${user.path}.pub`]);
    const own = await startAgent();
    try {
      own.add(user.path);
      const credentials = await new KeyRing({ env: { HOME: join(scratch, 'nobody'), SSH_AUTH_SOCK: own.socket } }).credentials({ identityFiles: [] });
      expect(credentials.offered).toEqual(["the ssh-agent's 1 key(s) and 1 certificate(s)"]);
      const shown = await new Promise<{ type: string; getPublicSSH(): Buffer }[]>((resolve, reject) =>
        (credentials.agent as { getIdentities(cb: (e: Error | undefined, k?: { type: string; getPublicSSH(): Buffer }[]) => void): void }).getIdentities((e, keys) => (e ? reject(e) : resolve(keys ?? []))),
      );
      expect(shown.map((key) => key.type)).toEqual(['ssh-ed25519', 'ssh-ed25519-cert-v01@openssh.com']);
    } finally {
      own.stop();
    }
  });

  it('PubkeyAcceptedAlgorithms: keys of other algorithms are offered neither from files nor from the agent', async () => {
    const error = await startError(new KeyRing({ env: { HOME: scratch, SSH_AUTH_SOCK: agent.socket } }).credentials({ identityFiles: [other.path], pubkeyAlgorithms: ['rsa-sha2-512', 'ecdsa-sha2-nistp256'] }));
    // Nothing left to offer: the agent's ed25519 keys do not count either.
    expect(error.code).toBe('no-credentials');
    expect(error.message).toContain(`${other.path}: ssh-ed25519 is not in PubkeyAcceptedAlgorithms`);
    const allowed = await new KeyRing({ env: { HOME: scratch, SSH_AUTH_SOCK: agent.socket } }).credentials({ identityFiles: [other.path], pubkeyAlgorithms: ['ssh-ed25519'] });
    expect(allowed.offered).toEqual(["the ssh-agent's 2 key(s)"]);
  });

  it('an agent socket that does not answer is noted, not offered', async () => {
    const credentials = await new KeyRing({ env: { HOME: scratch, SSH_AUTH_SOCK: join(scratch, 'dead.sock') } }).credentials({ identityFiles: [other.path] });
    expect(credentials.agent).toBeUndefined();
    expect(credentials.skipped.join('\n')).toMatch(/ssh-agent at .*dead\.sock/);
  });
});

// A stand-in terminal: a stream with isTTY and a raw-mode switch that records its calls.
function fakeTerminal() {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, modes: [] as boolean[] });
  Object.assign(stdin, {
    setRawMode(mode: boolean) {
      stdin.modes.push(mode);
      stdin.isRaw = mode;
      return stdin;
    },
  });
  const written: string[] = [];
  const stderr = Object.assign(new PassThrough(), { isTTY: true });
  stderr.on('data', (chunk: Buffer) => written.push(chunk.toString()));
  return { stdin: stdin as typeof stdin & { setRawMode(mode: boolean): unknown }, stderr, written };
}

describe('the terminal prompt', () => {
  it('reads a line in raw mode, echoes nothing, restores the mode; backspace and Ctrl-U edit', async () => {
    const term = fakeTerminal();
    const answer = readHidden(term, 'Enter passphrase: ');
    term.stdin.write('xx\u0015sec');
    term.stdin.write('rett\u007f\r');
    await expect(answer).resolves.toBe('secret');
    await new Promise((r) => setImmediate(r));
    expect(term.written.join('')).toBe('Enter passphrase: \n');
    expect(term.stdin.modes).toEqual([true, false]);
  });

  it('Ctrl-C rejects as SIGINT; Ctrl-D on an empty line answers empty', async () => {
    const term = fakeTerminal();
    const interrupted = readHidden(term, 'q: ');
    term.stdin.write('ab\u0003');
    await expect(interrupted).rejects.toBeInstanceOf(InterruptedError);
    const empty = readHidden(term, 'q: ');
    term.stdin.write('\u0004');
    await expect(empty).resolves.toBe('');
  });

  it('exists only when stdin and stderr are both terminals', () => {
    const term = fakeTerminal();
    expect(terminalPassphrasePrompt(term)).toBeTypeOf('function');
    expect(terminalPassphrasePrompt({ ...term, stderr: Object.assign(new PassThrough(), { isTTY: false }) })).toBeUndefined();
    expect(terminalPassphrasePrompt({ stdin: new PassThrough(), stderr: term.stderr })).toBeUndefined();
  });
});
